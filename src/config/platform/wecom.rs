//! WeCom: a group robot, and the AI bot behind commands.

use super::{ChannelSettings, Keys, PlatformKeys, PlatformSettings};
use crate::secret::Secret;

/// A WeCom group robot, and the AI bot behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeComSettings {
    pub token: Option<Secret>,
    pub encoding_aes_key: Option<Secret>,
    /// `msgtype = "text"`.
    pub text: bool,
}

pub(super) type Settings = WeComSettings;

impl ChannelSettings for WeComSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "token", "encoding_aes_key", "msgtype"],
        required: &["webhook"],
        inbound_secrets: &["token", "encoding_aes_key"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        WeComSettings {
            token: keys.secret("token"),
            encoding_aes_key: keys.secret("encoding_aes_key"),
            text: keys.text_msgtype(),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("token", self.token.as_ref()),
            ("encoding_aes_key", self.encoding_aes_key.as_ref()),
        ]
    }

    fn text_msgtype(&self) -> bool {
        self.text
    }
}

impl PlatformSettings {
    /// The settings of a Wecom channel; `None` for another platform's.
    pub fn wecom(&self) -> Option<&WeComSettings> {
        match self {
            PlatformSettings::Wecom(s) => Some(s),
            _ => None,
        }
    }
}

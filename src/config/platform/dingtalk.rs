//! DingTalk: a custom robot, and the app robot behind commands (callbacks or Stream mode).

use super::{ChannelSettings, Keys, PlatformKeys, connection_needs};
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A DingTalk custom robot, and the app robot behind commands (callbacks or Stream mode).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DingTalkSettings {
    pub app_key: Option<Secret>,
    pub app_secret: Option<Secret>,
    /// `msgtype = "text"`: plain `text` messages instead of `markdown`.
    pub text: bool,
    pub api_base: Option<String>,
    /// Commands over Stream mode (an outbound WebSocket) instead of HTTP callbacks.
    pub stream: bool,
}

pub(super) type Settings = DingTalkSettings;

impl ChannelSettings for DingTalkSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &[
            "webhook",
            "secret",
            "app_key",
            "app_secret",
            "msgtype",
            "api_base",
            "stream",
        ],
        required: &["webhook"],
        inbound_secrets: &["app_secret"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        DingTalkSettings {
            app_key: keys.secret("app_key"),
            app_secret: keys.secret("app_secret"),
            text: keys.text_msgtype(),
            api_base: keys.option("api_base"),
            stream: keys.flag("stream"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("app_key", self.app_key.as_ref()),
            ("app_secret", self.app_secret.as_ref()),
        ]
    }

    fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    fn text_msgtype(&self) -> bool {
        self.text
    }

    /// Stream mode opens its connection with the app's own credentials, not the robot's.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        _credentials: &BTreeMap<String, Secret>,
        _options: &mut BTreeMap<String, String>,
    ) {
        connection_needs(
            v,
            ch.stream.as_ref(),
            ch.app_key.is_some() && ch.app_secret.is_some(),
            "Stream mode needs `app_key` and `app_secret`",
            "copy the app's AppKey and AppSecret from the DingTalk developer console (应用开发 → 凭证与基础信息)",
        );
    }
}

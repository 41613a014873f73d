//! The generic signed webhook, and the JSON API behind commands.

use super::{ChannelSettings, Keys, PlatformKeys, PlatformSettings};
use crate::secret::Secret;

/// The generic signed webhook.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookSettings {
    /// A minijinja template for the request body, instead of the default JSON.
    pub template: Option<String>,
    /// HMAC key for the `X-Weekbell-Signature` of outbound requests.
    pub signing_secret: Option<Secret>,
    /// Bearer token the JSON API's inbound requests must carry.
    pub token: Option<Secret>,
}

pub(super) type Settings = WebhookSettings;

impl ChannelSettings for WebhookSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "template", "signing_secret", "token"],
        required: &["webhook"],
        inbound_secrets: &["token"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        WebhookSettings {
            template: keys.option("template"),
            signing_secret: keys.secret("signing_secret"),
            token: keys.secret("token"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("signing_secret", self.signing_secret.as_ref()),
            ("token", self.token.as_ref()),
        ]
    }
}

impl PlatformSettings {
    /// The settings of a Webhook channel; `None` for another platform's.
    pub fn webhook(&self) -> Option<&WebhookSettings> {
        match self {
            PlatformSettings::Webhook(s) => Some(s),
            _ => None,
        }
    }
}

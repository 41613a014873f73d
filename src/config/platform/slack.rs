//! Slack: an incoming webhook, and the app behind commands (HTTP or Socket Mode).

use super::{ChannelSettings, Keys, PlatformKeys, connection_needs};
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A Slack incoming webhook, and the app behind commands (HTTP or Socket Mode).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlackSettings {
    pub signing_secret: Option<Secret>,
    pub app_token: Option<Secret>,
    /// The app's bot token (`xoxb-…`), for looking people up by email (`users:read.email`).
    pub bot_token: Option<Secret>,
    pub socket_mode: bool,
    pub api_base: Option<String>,
}

pub(super) type Settings = SlackSettings;

impl ChannelSettings for SlackSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &[
            "webhook",
            "signing_secret",
            "app_token",
            "bot_token",
            "socket_mode",
            "api_base",
        ],
        required: &["webhook"],
        inbound_secrets: &["signing_secret"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        SlackSettings {
            signing_secret: keys.secret("signing_secret"),
            app_token: keys.secret("app_token"),
            bot_token: keys.secret("bot_token"),
            socket_mode: keys.flag("socket_mode"),
            api_base: keys.option("api_base"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("signing_secret", self.signing_secret.as_ref()),
            ("app_token", self.app_token.as_ref()),
            ("bot_token", self.bot_token.as_ref()),
        ]
    }

    fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// Socket Mode connects with an app-level token, which the webhook does not carry.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        _credentials: &BTreeMap<String, Secret>,
        _options: &mut BTreeMap<String, String>,
    ) {
        connection_needs(
            v,
            ch.socket_mode.as_ref(),
            ch.app_token.is_some(),
            "Socket Mode needs `app_token`",
            "generate an app-level token with the connections:write scope (the app's Basic \
             Information → App-Level Tokens) and set app_token = \"${SLACK_APP_TOKEN}\"",
        );
    }
}

//! What a channel of each platform takes, typed: one struct per platform, built once when the
//! config loads (after the validator has checked every key), so that the code using a setting
//! reads a field instead of looking a key up by its name.

use crate::secret::Secret;
use crate::types::Platform;
use std::collections::BTreeMap;

/// A channel's platform-specific settings. The webhook URL and the outbound signing secret,
/// which most platforms share, stay on [`ChannelConfig`](super::ChannelConfig).
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformSettings {
    Console,
    Webhook(WebhookSettings),
    Dingtalk(DingTalkSettings),
    Wecom(WeComSettings),
    Feishu(FeishuSettings),
    Slack(SlackSettings),
    Discord(DiscordSettings),
    Teams(TeamsSettings),
    Mattermost(MattermostSettings),
    Telegram(TelegramSettings),
    Googlechat(GoogleChatSettings),
}

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

/// A WeCom group robot, and the AI bot behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeComSettings {
    pub token: Option<Secret>,
    pub encoding_aes_key: Option<Secret>,
    /// `msgtype = "text"`.
    pub text: bool,
}

/// A Feishu/Lark custom bot, and the app behind commands (events or the long connection).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeishuSettings {
    pub app_id: Option<Secret>,
    pub app_secret: Option<Secret>,
    pub verification_token: Option<Secret>,
    pub encrypt_key: Option<Secret>,
    pub api_base: Option<String>,
    pub long_connection: bool,
}

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

/// A Discord webhook, and the application whose interactions carry commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscordSettings {
    /// Hex Ed25519 key (its syntax checked at load, see `discord_public_key`).
    pub public_key: Option<Secret>,
    pub api_base: Option<String>,
}

/// A Teams Workflows (or connector) webhook, and the outgoing webhook behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamsSettings {
    pub security_token: Option<Secret>,
}

/// A Mattermost incoming webhook, and the slash command or outgoing webhook behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MattermostSettings {
    pub token: Option<Secret>,
}

/// A Telegram bot in one chat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelegramSettings {
    pub bot_token: Option<Secret>,
    /// A numeric chat id or a public channel's `@username`, as written.
    pub chat_id: String,
    pub secret_token: Option<Secret>,
    pub polling: bool,
    pub bot_username: Option<String>,
    pub api_base: Option<String>,
}

/// A Google Chat incoming webhook, and the Chat app behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoogleChatSettings {
    /// A project number or an endpoint URL (its syntax checked at load, see `Audience`).
    pub audience: Option<String>,
    /// Google's keys saved as a file, for offices that cannot reach googleapis.com.
    pub certs: Option<String>,
    pub service_account: Option<String>,
}

impl PlatformSettings {
    /// The settings of a `platform` channel from the keys the validator accepted:
    /// credentials (secrets) and options (the rest), by the platform's own key names.
    pub fn from_keys(
        platform: Platform,
        mut credentials: BTreeMap<String, Secret>,
        mut options: BTreeMap<String, String>,
    ) -> PlatformSettings {
        let mut secret = |key: &str| credentials.remove(key);
        let flag = |options: &mut BTreeMap<String, String>, key: &str| {
            options.remove(key).is_some_and(|v| v == "true")
        };
        let text = options.get("msgtype").is_some_and(|m| m == "text");
        let api_base = options.remove("api_base");
        match platform {
            Platform::Console => PlatformSettings::Console,
            Platform::Webhook => PlatformSettings::Webhook(WebhookSettings {
                template: options.remove("template"),
                signing_secret: secret("signing_secret"),
                token: secret("token"),
            }),
            Platform::Dingtalk => PlatformSettings::Dingtalk(DingTalkSettings {
                app_key: secret("app_key"),
                app_secret: secret("app_secret"),
                text,
                api_base,
                stream: flag(&mut options, "stream"),
            }),
            Platform::Wecom => PlatformSettings::Wecom(WeComSettings {
                token: secret("token"),
                encoding_aes_key: secret("encoding_aes_key"),
                text,
            }),
            Platform::Feishu => PlatformSettings::Feishu(FeishuSettings {
                app_id: secret("app_id"),
                app_secret: secret("app_secret"),
                verification_token: secret("verification_token"),
                encrypt_key: secret("encrypt_key"),
                api_base,
                long_connection: flag(&mut options, "long_connection"),
            }),
            Platform::Slack => PlatformSettings::Slack(SlackSettings {
                signing_secret: secret("signing_secret"),
                app_token: secret("app_token"),
                bot_token: secret("bot_token"),
                socket_mode: flag(&mut options, "socket_mode"),
                api_base,
            }),
            Platform::Discord => PlatformSettings::Discord(DiscordSettings {
                public_key: secret("public_key"),
                api_base,
            }),
            Platform::Teams => PlatformSettings::Teams(TeamsSettings {
                security_token: secret("security_token"),
            }),
            Platform::Mattermost => PlatformSettings::Mattermost(MattermostSettings {
                token: secret("token"),
            }),
            Platform::Telegram => PlatformSettings::Telegram(TelegramSettings {
                bot_token: secret("bot_token"),
                chat_id: options.remove("chat_id").unwrap_or_default(),
                secret_token: secret("secret_token"),
                polling: flag(&mut options, "polling"),
                bot_username: options.remove("bot_username"),
                api_base,
            }),
            Platform::Googlechat => PlatformSettings::Googlechat(GoogleChatSettings {
                audience: options.remove("audience"),
                certs: options.remove("certs"),
                service_account: options.remove("service_account"),
            }),
        }
    }

    /// The settings of a Webhook channel; `None` for another platform's.
    pub fn webhook(&self) -> Option<&WebhookSettings> {
        match self {
            PlatformSettings::Webhook(s) => Some(s),
            _ => None,
        }
    }

    /// The settings of a Wecom channel; `None` for another platform's.
    pub fn wecom(&self) -> Option<&WeComSettings> {
        match self {
            PlatformSettings::Wecom(s) => Some(s),
            _ => None,
        }
    }

    /// The settings of a Feishu channel; `None` for another platform's.
    pub fn feishu(&self) -> Option<&FeishuSettings> {
        match self {
            PlatformSettings::Feishu(s) => Some(s),
            _ => None,
        }
    }

    /// The settings of a Telegram channel; `None` for another platform's.
    pub fn telegram(&self) -> Option<&TelegramSettings> {
        match self {
            PlatformSettings::Telegram(s) => Some(s),
            _ => None,
        }
    }

    /// The settings of a Googlechat channel; `None` for another platform's.
    pub fn googlechat(&self) -> Option<&GoogleChatSettings> {
        match self {
            PlatformSettings::Googlechat(s) => Some(s),
            _ => None,
        }
    }

    /// A `platform` channel with none of its optional settings: what a channel built without a
    /// config file (a test, a tool) starts from.
    pub fn empty(platform: Platform) -> PlatformSettings {
        PlatformSettings::from_keys(platform, BTreeMap::new(), BTreeMap::new())
    }

    /// The platform API's base URL as configured, for the platforms that take one.
    pub(super) fn api_base(&self) -> Option<&str> {
        match self {
            PlatformSettings::Dingtalk(s) => s.api_base.as_deref(),
            PlatformSettings::Feishu(s) => s.api_base.as_deref(),
            PlatformSettings::Slack(s) => s.api_base.as_deref(),
            PlatformSettings::Discord(s) => s.api_base.as_deref(),
            PlatformSettings::Telegram(s) => s.api_base.as_deref(),
            _ => None,
        }
    }

    /// Whether the channel chose its platform's plain `text` message type.
    pub(super) fn text_msgtype(&self) -> bool {
        match self {
            PlatformSettings::Dingtalk(s) => s.text,
            PlatformSettings::Wecom(s) => s.text,
            _ => false,
        }
    }

    /// Every credential with its key name: what redaction hides and the one-secret-per-channel
    /// rule compares.
    pub fn credentials(&self) -> Vec<(&'static str, &Secret)> {
        let pairs: Vec<(&'static str, Option<&Secret>)> = match self {
            PlatformSettings::Console => Vec::new(),
            PlatformSettings::Webhook(s) => vec![
                ("signing_secret", s.signing_secret.as_ref()),
                ("token", s.token.as_ref()),
            ],
            PlatformSettings::Dingtalk(s) => vec![
                ("app_key", s.app_key.as_ref()),
                ("app_secret", s.app_secret.as_ref()),
            ],
            PlatformSettings::Wecom(s) => vec![
                ("token", s.token.as_ref()),
                ("encoding_aes_key", s.encoding_aes_key.as_ref()),
            ],
            PlatformSettings::Feishu(s) => vec![
                ("app_id", s.app_id.as_ref()),
                ("app_secret", s.app_secret.as_ref()),
                ("verification_token", s.verification_token.as_ref()),
                ("encrypt_key", s.encrypt_key.as_ref()),
            ],
            PlatformSettings::Slack(s) => vec![
                ("signing_secret", s.signing_secret.as_ref()),
                ("app_token", s.app_token.as_ref()),
                ("bot_token", s.bot_token.as_ref()),
            ],
            PlatformSettings::Discord(s) => vec![("public_key", s.public_key.as_ref())],
            PlatformSettings::Teams(s) => vec![("security_token", s.security_token.as_ref())],
            PlatformSettings::Mattermost(s) => vec![("token", s.token.as_ref())],
            PlatformSettings::Telegram(s) => vec![
                ("bot_token", s.bot_token.as_ref()),
                ("secret_token", s.secret_token.as_ref()),
            ],
            PlatformSettings::Googlechat(_) => Vec::new(),
        };
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    /// The credential named `key`, for the validator's rules that speak of keys by name.
    pub fn credential(&self, key: &str) -> Option<&Secret> {
        self.credentials()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

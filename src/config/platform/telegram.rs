//! Telegram: a bot in one chat, taking commands by webhook or long polling.

use super::{ChannelSettings, Keys, PlatformKeys, PlatformSettings};
use crate::config::error::Problem;
use crate::config::load::Validator;
use crate::config::model::ChannelConfig;
use crate::config::raw::{RawChannel, S};
use crate::config::values::{is_telegram_chat, is_telegram_user_id, is_telegram_username};
use crate::secret::Secret;
use std::collections::BTreeMap;
use toml::Spanned;

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

pub(super) type Settings = TelegramSettings;

impl ChannelSettings for TelegramSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &[
            "bot_token",
            "chat_id",
            "secret_token",
            "polling",
            "bot_username",
            "api_base",
        ],
        required: &["bot_token", "chat_id"],
        inbound_secrets: &["secret_token"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        TelegramSettings {
            bot_token: keys.secret("bot_token"),
            chat_id: keys.option("chat_id").unwrap_or_default(),
            secret_token: keys.secret("secret_token"),
            polling: keys.flag("polling"),
            bot_username: keys.option("bot_username"),
            api_base: keys.option("api_base"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("bot_token", self.bot_token.as_ref()),
            ("secret_token", self.secret_token.as_ref()),
        ]
    }

    fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// Telegram's values have shapes the Bot API insists on; a mistake is cheaper to show here
    /// than as a refused message or a `setWebhook` error later.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        credentials: &BTreeMap<String, Secret>,
        options: &mut BTreeMap<String, String>,
    ) {
        let filled = |value: Option<&String>| {
            value
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if let (Some(raw), Some(token)) = (
            &ch.bot_token,
            filled(
                credentials
                    .get("bot_token")
                    .map(|s| s.expose().to_string())
                    .as_ref(),
            ),
        ) && !looks_like_bot_token(&token)
        {
            v.problem(
                Problem::new(raw.span(), "this is not a Telegram bot token").help(
                    "BotFather gives tokens like 123456789:AAH…: the bot's id, a colon and 35 \
                     letters, digits, `_` or `-`",
                ),
            );
        }
        if let (Some(raw), Some(chat)) = (&ch.chat_id, filled(options.get("chat_id")))
            && !is_telegram_chat(&chat)
        {
            v.problem(
                Problem::new(raw.span(), format!("`{chat}` is not a Telegram chat id")).help(
                    "write the chat's numeric id (a group's is negative, e.g. \"-1001234567890\") \
                     or a public channel's \"@username\"",
                ),
            );
        }
        if let (Some(raw), Some(secret)) = (
            &ch.secret_token,
            credentials
                .get("secret_token")
                .map(|s| s.expose().to_string()),
        ) && (secret.is_empty()
            || secret.len() > 256
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            v.problem(
                Problem::new(raw.span(), "Telegram refuses this secret_token").help(
                    "use 1 to 256 letters, digits, `_` or `-`; for example the output of \
                     `openssl rand -hex 32`",
                ),
            );
        }
        if let (Some(raw), Some(name)) = (&ch.bot_username, filled(options.get("bot_username"))) {
            if is_telegram_username(&name) {
                options.insert(
                    "bot_username".into(),
                    name.trim_start_matches('@').to_string(),
                );
            } else {
                v.problem(
                    Problem::new(raw.span(), format!("`{name}` is not a Telegram username"))
                        .help("the bot's username as BotFather shows it, such as weekbell_bot"),
                );
            }
        }
    }

    /// Telegram hands a bot's updates to one `getUpdates` caller at a time: two channels
    /// polling one bot would take each other's commands (and answer 409 to each other).
    fn check_across_channels(
        v: &mut Validator<'_>,
        raw: &BTreeMap<S, Spanned<RawChannel>>,
        channels: &BTreeMap<String, ChannelConfig>,
    ) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (name, ch) in raw {
            let Some(config) = channels.get(name.get_ref()) else {
                continue;
            };
            let PlatformSettings::Telegram(telegram) = &config.settings else {
                continue;
            };
            let token = telegram
                .bot_token
                .as_ref()
                .map(|t| t.expose().trim().to_string());
            let (true, Some(token), Some(span)) = (
                telegram.polling,
                token,
                ch.get_ref().polling.as_ref().map(|p| p.span()),
            ) else {
                continue;
            };
            if let Some(first) = seen.get(&token) {
                let message = format!(
                    "channels `{first}` and `{}` both poll the same Telegram bot",
                    name.get_ref()
                );
                v.problem(Problem::new(span, message).help(
                    "a bot's updates go to one poller: give each channel its own bot, or take \
                     commands on one of them only",
                ));
            } else {
                seen.insert(token, name.get_ref().clone());
            }
        }
    }
}

impl PlatformSettings {
    /// The settings of a Telegram channel; `None` for another platform's.
    pub fn telegram(&self) -> Option<&TelegramSettings> {
        match self {
            PlatformSettings::Telegram(s) => Some(s),
            _ => None,
        }
    }
}

/// `<bot id>:<secret part>`, as BotFather issues them (the secret part is 35 characters today;
/// any length of 20 or more is accepted, in case that changes).
fn looks_like_bot_token(token: &str) -> bool {
    let Some((id, secret)) = token.split_once(':') else {
        return false;
    };
    is_telegram_user_id(id)
        && secret.len() >= 20
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

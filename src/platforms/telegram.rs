//! Telegram Bot API: outbound wire format (`sendMessage`), and the Bot API addressing the
//! inbound side shares (`{api_base}/bot{token}/{method}`).
//!
//! The bot token sits in the URL path, so every URL built here is held in a [`Secret`], and
//! the token is a channel credential that [`deliver`](super::deliver)'s redactor replaces in
//! every reason.

use super::driver::{Driver, documented};
use super::{
    DEFAULT_WAIT, MAX_WAIT, PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, by_status,
    configured, exchange, int_field, json_body, json_headers, str_field, with_quote, without_code,
};
use crate::config::{ChannelConfig, is_telegram_user_id, is_telegram_username};
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

pub(super) const DIALECT: Dialect = Dialect::TelegramHtml;

/// `text` may hold 4,096 characters after entity parsing, counted in UTF-16 code units as the
/// Bot API server (TDLib) counts them. The splitter measures the HTML as written, tags and
/// `&amp;` included, which can only be longer than what Telegram counts: tags vanish and an
/// entity becomes one character. So a part that fits here always fits there, with no spare
/// needed; measuring in UTF-16 rather than characters keeps emoji (two units each) honest.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Utf16(4_096);

/// Where the Bot API lives; a self-hosted Bot API server (or a test) is set with `api_base`.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Telegram's guidance for bots: at most one message a second in one chat, and 20 a minute in
/// a group. One every three seconds keeps both in a group (weekbell's usual chat) and never
/// bursts; a private chat or channel may set `rate_limit = "1/s"`.
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(1, Duration::from_secs(3));

/// `<a href="tg://user?id=123">Name</a>` by numeric user id (notifies even people without a
/// username), or `@username`. A handle that is neither (Telegram usernames are 5–32 letters,
/// digits and `_`, starting with a letter) is not written as markup: the person is named.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Telegram)?;
    (is_telegram_user_id(&handle) || is_telegram_username(&handle)).then(|| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// The `sendMessage` fields of one part, less `chat_id` (the channel's, or the chat of the
/// message being answered). Link previews are off: a digest that quotes a task's URL would
/// otherwise end in a large preview card of it.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({
        "text": part.text,
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    })
}

// ---------------------------------------------------------------------------------------------
// Addressing.

/// The channel's `api_base` (no trailing `/`), or [`DEFAULT_API_BASE`].
pub fn api_base(channel: &ChannelConfig) -> String {
    channel.api_base().unwrap_or(DEFAULT_API_BASE).to_string()
}

/// `{base}/bot{token}/{method}`, as a [`Secret`] because it holds the token.
pub fn method_url(base: &str, token: &str, method: &str) -> Secret {
    Secret::new(format!("{base}/bot{token}/{method}"))
}

/// The bot's own user id: the part of the token before `:`. It is public (it is the bot's
/// id in every chat), unlike the rest of the token.
pub fn bot_id(token: &str) -> Option<&str> {
    token
        .trim()
        .split_once(':')
        .map(|(id, _)| id)
        .filter(|id| is_telegram_user_id(id))
}

fn bot_token(channel: &ChannelConfig) -> Result<&str, Outcome> {
    configured(
        channel
            .settings
            .telegram()
            .and_then(|t| t.bot_token.as_ref()),
    )
    .map(str::trim)
    .ok_or_else(|| Outcome::Permanent {
        reason: format!("channel `{}` has no bot token", channel.name),
        hint: format!(
            "add `bot_token = \"${{TELEGRAM_BOT_TOKEN}}\"` to [channels.{}], with the token \
                 BotFather gave",
            channel.name
        ),
    })
}

/// The base URL, checked: a typo here would otherwise send the token somewhere unexpected.
fn checked_api_base(channel: &ChannelConfig) -> Result<String, Outcome> {
    let base = api_base(channel);
    match reqwest::Url::parse(&base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(base),
        _ => Err(Outcome::Permanent {
            reason: format!(
                "channel `{}`'s api_base is not an http:// or https:// address",
                channel.name
            ),
            hint: format!("remove `api_base` to use {DEFAULT_API_BASE}, or fix the address"),
        }),
    }
}

/// `chat_id` as the Bot API takes it: a number (groups are negative), or `@channelusername`.
fn chat_id(channel: &ChannelConfig) -> Result<Value, Outcome> {
    let raw = channel.settings.telegram().map_or("", |t| t.chat_id.trim());
    chat_id_value(raw).ok_or_else(|| Outcome::Permanent {
        reason: format!(
            "channel `{}`'s chat_id is not a Telegram chat id or @channelusername",
            channel.name
        ),
        hint: "write the chat's numeric id, e.g. chat_id = \"-1001234567890\" for a group".into(),
    })
}

// ---------------------------------------------------------------------------------------------
// Groups that became supergroups.

/// Old chat id → new, as Telegram said: learned from a `sendMessage` refused with
/// `parameters.migrate_to_chat_id` and from the service messages a migration puts in the
/// updates. Kept in memory rather than in the store: Telegram answers every later send to the
/// old id with the new one, so a restarted process learns it again with its first message
/// (one extra request), no schema change is needed for a fact that `chat_id` in the config
/// should state, and the warning keeps asking for that edit. Until the first send after a
/// restart, commands from the new chat are ignored as from another chat.
static MIGRATED: LazyLock<Mutex<HashMap<i64, i64>>> = LazyLock::new(Default::default);
/// A migration happens once per group and only chats weekbell writes to or hears from are
/// learned, so this is far more than any office has; it bounds what a misbehaving server
/// could make us keep.
const MAX_MIGRATIONS: usize = 1024;

/// The supergroup that group `chat` became, if Telegram said so.
pub fn migrated_chat(chat: i64) -> Option<i64> {
    MIGRATED.lock().ok()?.get(&chat).copied()
}

/// Remembers that group `from` is now supergroup `to`, and warns the first time: weekbell
/// follows it, but only until it restarts, so `chat_id` should say so. `channel` names the
/// channel when it is known.
pub fn learn_migration(from: i64, to: i64, channel: Option<&str>) {
    if from == to {
        return;
    }
    let Ok(mut migrated) = MIGRATED.lock() else {
        return;
    };
    if migrated.get(&from) == Some(&to) || migrated.len() >= MAX_MIGRATIONS {
        return;
    }
    migrated.insert(from, to);
    drop(migrated);
    tracing::warn!(
        channel = channel.unwrap_or(""),
        old_chat_id = from,
        new_chat_id = to,
        "Telegram: group {from} was upgraded to the supergroup {to}; weekbell sends to it and          takes commands from it from now on, but only until it restarts: set          `chat_id = \"{to}\"` on the channel"
    );
}

/// A chat id as JSON: an integer, or an `@username` string.
pub fn chat_id_value(raw: &str) -> Option<Value> {
    if let Ok(id) = raw.parse::<i64>() {
        return Some(Value::from(id));
    }
    (raw.starts_with('@') && is_telegram_username(raw)).then(|| Value::String(raw.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table.

const TOKEN_HINT: &str = "put the token BotFather gave (/mybots → the bot → API Token) in \
    `bot_token`; after /revoke only the new token works";

const BUG_HINT: &str = "this is a weekbell bug unless the channel's templates write their own \
    HTML with |safe (Telegram accepts only balanced <b>, <i>, <u>, <s>, <a href>, <code>, <pre>, \
    <blockquote>, <tg-spoiler>); please report it with the reason above";

const ADD_BOT_HINT: &str = "add the bot to the chat again (group settings → Add members), or \
    point `chat_id` at a chat it is in";

const RIGHTS_HINT: &str = "let the bot post: make it an administrator, or allow members to \
    send messages in the group's permissions";

/// Every reply `sendMessage` is known to give. The Bot API answers JSON
/// `{"ok": false, "error_code": N, "description": "…", "parameters": {…}}` with HTTP status N;
/// the rows match on the start of `description`, as Telegram writes it.
///
/// Sources: the Bot API documentation (response object, `ResponseParameters`), TDLib's HTML
/// parser and its tests (the `can't parse entities` texts), and the description strings the
/// client libraries match on (telebot, aiogram, python-telegram-bot, Telegram.Bot).
pub(super) const REPLIES: &[ReplyRow<&str>] = &[
    ReplyRow {
        code: "ok",
        platform_message: r#"HTTP 200 {"ok":true,"result":{…}}"#,
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: "Too Many Requests: retry after",
        platform_message: "HTTP 429 with parameters.retry_after",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Telegram is rate-limiting this bot (about one message a second per chat and \
                 20 a minute per group)",
        hint: "",
    },
    ReplyRow {
        code: "Bad Request: can't parse entities",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Telegram could not read the message's HTML",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "Bad Request: chat not found",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Telegram knows no chat with this chat_id that the bot can see",
        hint: "check `chat_id` (a group's id is negative, such as -1001234567890) and that the \
               bot was added to the chat",
    },
    ReplyRow {
        code: "Bad Request: group chat was upgraded to a supergroup chat",
        platform_message: "HTTP 400 with parameters.migrate_to_chat_id",
        verdict: ReplyVerdict::Permanent,
        reason: "the Telegram group was upgraded to a supergroup, which has a new chat id",
        hint: "set `chat_id` to the supergroup's id (Telegram names it in its reply as \
               migrate_to_chat_id)",
    },
    ReplyRow {
        code: "Bad Request: message is too long",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the message is longer than Telegram's 4,096 characters",
        hint: "set a smaller `max_message_size` on the channel so long messages are split into \
               smaller parts",
    },
    ReplyRow {
        code: "Bad Request: message text is empty",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Telegram refused a message without text",
        hint: "the channel's template rendered nothing; check the templates in its `templates` \
               directory",
    },
    ReplyRow {
        code: "Bad Request: not enough rights to send text messages to the chat",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot may not send messages in this Telegram chat",
        hint: RIGHTS_HINT,
    },
    ReplyRow {
        code: "Bad Request: have no rights to send a message",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot may not send messages in this Telegram chat",
        hint: RIGHTS_HINT,
    },
    ReplyRow {
        code: "Bad Request: CHAT_WRITE_FORBIDDEN",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot may not send messages in this Telegram chat",
        hint: RIGHTS_HINT,
    },
    ReplyRow {
        code: "Bad Request: group chat was deactivated",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the Telegram group was deleted",
        hint: "point `chat_id` at a chat that exists",
    },
    ReplyRow {
        code: "Unauthorized",
        platform_message: "HTTP 401",
        verdict: ReplyVerdict::Permanent,
        reason: "Telegram does not accept the bot token: it is wrong or was revoked",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: "Not Found",
        platform_message: "HTTP 404",
        verdict: ReplyVerdict::Permanent,
        reason: "Telegram has no bot at this address: the bot token is malformed, or `api_base` \
                 is not a Bot API server",
        hint: TOKEN_HINT,
    },
    ReplyRow {
        code: "Forbidden: bot was blocked by the user",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the Telegram user blocked the bot",
        hint: "ask them to unblock the bot (open its chat → Restart), or point `chat_id` at a \
               group",
    },
    ReplyRow {
        code: "Forbidden: bot can't initiate conversation with a user",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "a bot may only write to people who started a chat with it",
        hint: "ask the person to open the bot and press Start, or point `chat_id` at a group",
    },
    ReplyRow {
        code: "Forbidden: user is deactivated",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the Telegram account of this chat was deleted",
        hint: "point `chat_id` at another chat",
    },
    ReplyRow {
        code: "Forbidden: bot was kicked from the group chat",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot was removed from the Telegram group",
        hint: ADD_BOT_HINT,
    },
    ReplyRow {
        code: "Forbidden: bot was kicked from the supergroup chat",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot was removed from the Telegram group",
        hint: ADD_BOT_HINT,
    },
    ReplyRow {
        code: "Forbidden: bot was kicked from the channel chat",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot was removed from the Telegram channel",
        hint: ADD_BOT_HINT,
    },
    ReplyRow {
        code: "Forbidden: bot is not a member of the supergroup chat",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot is not a member of the Telegram group",
        hint: ADD_BOT_HINT,
    },
    ReplyRow {
        code: "Forbidden: bot is not a member of the channel chat",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the bot is not a member of the Telegram channel",
        hint: "add the bot to the channel as an administrator that may post messages",
    },
    ReplyRow {
        code: "Forbidden: the group chat was deleted",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the Telegram group was deleted",
        hint: "point `chat_id` at a chat that exists",
    },
];

/// `POST {api_base}/bot{token}/sendMessage` with the channel's `chat_id`.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    _now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    send_message(channel, &channel_body(channel, part)?)
}

/// The `sendMessage` body of a part for the channel's chat (or the supergroup it became).
fn channel_body(channel: &ChannelConfig, part: &OutboundPart) -> Result<Value, Outcome> {
    let mut body = request_body(part);
    body["chat_id"] = match chat_id(channel)? {
        Value::Number(n) => n
            .as_i64()
            .and_then(migrated_chat)
            .map_or(Value::Number(n), Value::from),
        named => named,
    };
    Ok(body)
}

/// Sends a part to the channel's chat; see [`post`] for a group that became a supergroup.
pub(super) async fn deliver(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    part: &OutboundPart,
    now: DateTime<Utc>,
) -> Outcome {
    match channel_body(channel, part) {
        Ok(body) => post(client, channel, body, now).await,
        Err(outcome) => outcome,
    }
}

/// `sendMessage` with `body`. A group upgraded to a supergroup keeps its history under a new
/// id, and Telegram refuses a send to the old one with 400 and `parameters.migrate_to_chat_id`
/// (Bot API, `ResponseParameters`; the Bot API server's `check_chat` answers so for every
/// method that writes to an upgraded group, while reads such as `getChat` still succeed, so
/// there is no quiet way to ask): the new id is remembered ([`learn_migration`]) and the
/// message sent there at once, instead of waiting as a dead letter for someone to edit the
/// config. Only one such hop is followed.
async fn post(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    mut body: Value,
    now: DateTime<Utc>,
) -> Outcome {
    let request = match send_message(channel, &body) {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let reply = match exchange(client, request, now).await {
        Ok(reply) => reply,
        Err(outcome) => return outcome,
    };
    let moved = body["chat_id"]
        .as_i64()
        .zip(migrate_to_chat_id(&reply.body))
        .filter(|(from, to)| from != to);
    let Some((from, to)) = moved else {
        return classify(reply.status, reply.retry_after, &reply.body);
    };
    learn_migration(from, to, Some(&channel.name));
    body["chat_id"] = Value::from(to);
    match send_message(channel, &body) {
        Ok(request) => super::sending::send(client, Platform::Telegram, request, now).await,
        Err(outcome) => outcome,
    }
}

/// `parameters.migrate_to_chat_id` of a Bot API refusal.
fn migrate_to_chat_id(body: &[u8]) -> Option<i64> {
    let reply: Value = serde_json::from_slice(body).ok()?;
    reply
        .get("parameters")
        .and_then(|p| int_field(p, "migrate_to_chat_id"))
}

/// The answer to a command: into the chat it came from, as a reply to it. The reply holds
/// even if the command was deleted meanwhile (`allow_sending_without_reply`), and stays in
/// its forum topic.
pub(super) async fn reply(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    part: &OutboundPart,
    to: &TelegramReply,
    now: DateTime<Utc>,
) -> Outcome {
    post(client, channel, reply_body(part, to), now).await
}

/// Where an answer goes: the chat, the message answered and its forum topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TelegramReply {
    pub chat_id: i64,
    pub message_id: i64,
    pub message_thread_id: Option<i64>,
}

fn reply_body(part: &OutboundPart, to: &TelegramReply) -> Value {
    let mut body = request_body(part);
    body["chat_id"] = Value::from(migrated_chat(to.chat_id).unwrap_or(to.chat_id));
    body["reply_parameters"] = json!({
        "message_id": to.message_id,
        "allow_sending_without_reply": true,
    });
    if let Some(thread) = to.message_thread_id {
        body["message_thread_id"] = Value::from(thread);
    }
    body
}

fn send_message(channel: &ChannelConfig, body: &Value) -> Result<PreparedRequest, Outcome> {
    let token = bot_token(channel)?;
    let base = checked_api_base(channel)?;
    Ok(PreparedRequest {
        url: method_url(&base, token, "sendMessage"),
        headers: json_headers(),
        body: json_body(body)?,
    })
}

/// The Bot API's answer is JSON whatever the status: `ok: true` is sent. A failure is read
/// from `parameters` first (`migrate_to_chat_id` names the supergroup to configure,
/// `retry_after` how long to wait), then from [`REPLIES`] by its description, then by its
/// `error_code`. A reply that is not the Bot API's JSON (a proxy's page) is judged by status,
/// and a 2xx of that kind is retried: nothing says the message was posted.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let reply: Option<Value> = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|v| v.get("ok").is_some_and(Value::is_boolean));
    let Some(reply) = reply else {
        return without_code("Telegram", status, retry_after, body);
    };
    if reply.get("ok") == Some(&Value::Bool(true)) {
        return Outcome::Sent;
    }
    let code = int_field(&reply, "error_code").unwrap_or(i64::from(status));
    // Older Bot API servers prefix descriptions with `[Error]: `.
    let description = str_field(&reply, "description").unwrap_or("");
    let description = description.strip_prefix("[Error]: ").unwrap_or(description);
    let parameters = reply.get("parameters");
    let retry_after = parameters
        .and_then(|p| p.get("retry_after"))
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .or(retry_after);
    if let Some(new_id) = parameters.and_then(|p| int_field(p, "migrate_to_chat_id")) {
        return Outcome::Permanent {
            reason: with_quote(
                "the Telegram group was upgraded to a supergroup, which has a new chat id",
                "Telegram",
                code,
                Some(description),
            ),
            hint: format!("set `chat_id = \"{new_id}\"` on the channel: the supergroup's id"),
        };
    }
    if code == 429 {
        return Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: with_quote(
                "Telegram is rate-limiting this bot (about one message a second per chat and 20 \
                 a minute per group)",
                "Telegram",
                code,
                Some(description),
            ),
        };
    }
    let known = REPLIES.iter().find(|row| {
        row.verdict != ReplyVerdict::Sent
            && description
                .get(..row.code.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(row.code))
    });
    if let Some(row) = known {
        return row.outcome("Telegram", code, Some(description), retry_after);
    }
    let quoted = Some(description);
    match code {
        500..=599 => Outcome::Retry {
            reason: with_quote("Telegram had a server error", "Telegram", code, quoted),
        },
        401 => Outcome::Permanent {
            reason: with_quote(
                "Telegram does not accept the bot token",
                "Telegram",
                code,
                quoted,
            ),
            hint: TOKEN_HINT.into(),
        },
        403 => Outcome::Permanent {
            reason: with_quote(
                "Telegram forbids the bot to post in this chat",
                "Telegram",
                code,
                quoted,
            ),
            hint: ADD_BOT_HINT.into(),
        },
        400..=499 => Outcome::Permanent {
            reason: with_quote("Telegram refused the message", "Telegram", code, quoted),
            hint: "look the description up in the Bot API documentation \
                   (core.telegram.org/bots/api); the message is not resent as is"
                .into(),
        },
        _ => by_status("Telegram", status, retry_after, body),
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    size_limit: Some(SIZE_LIMIT),
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, _| mention_for(person),
    request_body: |part, _| request_body(part),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlatformSettings, TelegramSettings};
    use crate::platforms::test_support::{channel, header, now, part};

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

    fn telegram_channel() -> ChannelConfig {
        let mut ch = channel(Platform::Telegram, "https://unused.example/", None);
        ch.webhook = None;
        ch.settings = PlatformSettings::Telegram(TelegramSettings {
            bot_token: Some(Secret::new(TOKEN)),
            chat_id: "-1001234567890".into(),
            ..Default::default()
        });
        ch
    }

    /// The channel's Telegram settings, to change one.
    fn bot(ch: &mut ChannelConfig) -> &mut TelegramSettings {
        match &mut ch.settings {
            PlatformSettings::Telegram(t) => t,
            other => panic!("not a Telegram channel: {other:?}"),
        }
    }

    fn reply(code: u16, description: &str) -> Vec<u8> {
        json!({ "ok": false, "error_code": code, "description": description })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn prepare_posts_html_to_send_message() {
        let req = Platform::Telegram.prepare(&telegram_channel(), &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(
            req.url.expose(),
            format!("https://api.telegram.org/bot{TOKEN}/sendMessage")
        );
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["chat_id"], json!(-1_001_234_567_890_i64));
        assert_eq!(body["parse_mode"], "HTML");
        assert_eq!(body["link_preview_options"]["is_disabled"], true);
        assert!(body["text"].is_string());
        assert!(!format!("{req:?}").contains("AAHdqTcv"));
    }

    #[test]
    fn chat_ids_api_base_and_token_are_checked() {
        let mut ch = telegram_channel();
        bot(&mut ch).chat_id = "@weekbell_news".into();
        bot(&mut ch).api_base = Some("http://127.0.0.1:8081/".into());
        let req = Platform::Telegram
            .prepare(&ch, &part(), now())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(req.url.expose().starts_with("http://127.0.0.1:8081/bot"));
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["chat_id"], "@weekbell_news");

        for bad in ["", "weekbell group", "@x"] {
            bot(&mut ch).chat_id = bad.into();
            assert!(matches!(
                Platform::Telegram.prepare(&ch, &part(), now()),
                Err(Outcome::Permanent { .. })
            ));
        }
        let mut ch = telegram_channel();
        bot(&mut ch).api_base = Some("ftp://x".into());
        assert!(Platform::Telegram.prepare(&ch, &part(), now()).is_err());
        let mut ch = telegram_channel();
        bot(&mut ch).bot_token = None;
        assert!(Platform::Telegram.prepare(&ch, &part(), now()).is_err());
    }

    #[test]
    fn a_reply_answers_the_message_in_its_chat_and_topic() {
        let to = TelegramReply {
            chat_id: -100_777,
            message_id: 45,
            message_thread_id: Some(9),
        };
        let body = reply_body(&part(), &to);
        assert_eq!(body["chat_id"], json!(-100_777));
        assert_eq!(body["reply_parameters"]["message_id"], 45);
        assert_eq!(
            body["reply_parameters"]["allow_sending_without_reply"],
            true
        );
        assert_eq!(body["message_thread_id"], 9);
    }

    #[test]
    fn ids_and_usernames() {
        assert!(is_telegram_user_id("123456789"));
        assert!(!is_telegram_user_id("-1"));
        assert!(is_telegram_username("@alice_tg") && is_telegram_username("Alice_TG"));
        assert!(
            !is_telegram_username("al")
                && !is_telegram_username("1alice")
                && !is_telegram_username("alice.w")
        );
        assert_eq!(bot_id(TOKEN), Some("123456789"));
        assert_eq!(bot_id("no-colon"), None);
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let (status, body) = match row.code {
                "ok" => (200, br#"{"ok":true,"result":{"message_id":1}}"#.to_vec()),
                "Too Many Requests: retry after" => {
                    (429, reply(429, "Too Many Requests: retry after 60"))
                }
                "Unauthorized" => (401, reply(401, row.code)),
                "Not Found" => (404, reply(404, row.code)),
                c if c.starts_with("Forbidden") => (403, reply(403, c)),
                c => (400, reply(400, c)),
            };
            let got = classify(status, None, &body);
            crate::platforms::replies::assert_verdict(row.code, row.verdict, &got);
            if let Outcome::Permanent { reason, .. } = &got {
                assert!(reason.starts_with(row.reason), "{reason}");
            }
        }
    }

    #[test]
    fn parameters_decide_waits_and_migrations() {
        let body = json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 35", "parameters": {"retry_after": 35}});
        assert_eq!(
            classify(429, None, body.to_string().as_bytes()),
            Outcome::Wait {
                after: Duration::from_secs(35),
                reason: "Telegram is rate-limiting this bot (about one message a second per chat \
                         and 20 a minute per group) (Telegram 429: Too Many Requests: retry after \
                         35)"
                .into()
            }
        );
        let body = json!({"ok": false, "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1_001_557_912_345_i64}});
        let Outcome::Permanent { reason, hint } = classify(400, None, body.to_string().as_bytes())
        else {
            panic!("a migration is permanent")
        };
        assert!(reason.contains("supergroup"), "{reason}");
        assert!(hint.contains("chat_id = \"-1001557912345\""), "{hint}");
    }

    #[test]
    fn unknown_and_foreign_replies() {
        let got = classify(400, None, &reply(400, "Bad Request: something new"));
        assert!(matches!(got, Outcome::Permanent { .. }), "{got:?}");
        let got = classify(403, None, &reply(403, "Forbidden: something new"));
        assert!(matches!(got, Outcome::Permanent { .. }), "{got:?}");
        let got = classify(500, None, &reply(500, "Internal Server Error"));
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
        // nginx in front of a self-hosted server, and a captive portal.
        assert!(matches!(
            classify(502, None, b"<html>502 Bad Gateway</html>"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(200, None, b"<html>login</html>"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), b""),
            Outcome::Wait { after, .. } if after == Duration::from_secs(3)
        ));
        // Descriptions are matched without regard to case, and without an old `[Error]: `.
        for description in [
            "Bad Request: Chat not found",
            "[Error]: Bad Request: chat not found",
        ] {
            let got = classify(400, None, &reply(400, description));
            assert!(
                matches!(&got, Outcome::Permanent { reason, .. } if reason.starts_with("Telegram knows no chat")),
                "{got:?}"
            );
        }
    }
}

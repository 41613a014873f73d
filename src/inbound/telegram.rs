//! Telegram: updates from the Bot API, pushed to a webhook (`setWebhook`) or fetched by long
//! polling ([`super::telegram_poll`]); both read the same `Update` JSON with [`parse_update`].
//!
//! A webhook request carries `X-Telegram-Bot-Api-Secret-Token`, the `secret_token` given to
//! `setWebhook`; it is compared in constant time before the body is read. Telegram signs
//! nothing else, so the secret token is the whole check: without one configured every request
//! is refused.
//!
//! Which messages are commands:
//! - in a private chat with the bot, every text message;
//! - in a group, a command (`/done 12`, or `/done@weekbell_bot 12` — one addressed to another
//!   bot, `/done@other_bot`, is ignored), a message that starts by mentioning the bot
//!   (`@weekbell_bot done 12`), and a reply to one of the bot's messages. With privacy mode
//!   off the bot sees every group message; plain text then counts only when it is a whole
//!   command (`done 12`), so ordinary talk in the group is never answered with a help text;
//! - only from the channel's own chat (`chat_id`) or a private chat: a group the bot was added
//!   to elsewhere is not a place weekbell answers in.
//!
//! Edits (`edited_message`) are ignored: the command ran when it was sent, and running an
//! edited `done 12` → `done 13` would surprise more than it helps. Channel posts, bots'
//! messages (weekbell's own included) and messages without text are ignored too.
//!
//! The dedupe key is the bot, the chat and the message id. `update_id` would not do: after a
//! week without updates Telegram starts its ids afresh at a random value, while a message id
//! never repeats in its chat.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, configured, ct_eq,
    missing_credentials,
};
use crate::commands::{self, Parsed};
use crate::config::{ChannelConfig, TelegramSettings};
use crate::secret::Secret;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// A webhook endpoint's check and the channel the updates are for.
#[derive(Debug, Clone)]
pub struct TelegramInbound {
    /// The `secret_token` given to `setWebhook`.
    pub secret_token: Secret,
    pub addressee: Addressee,
}

/// Who a message must be for: this bot, in this chat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressee {
    /// The bot's username without `@`; `None` while it is not known, in which case a group
    /// command naming any bot (`/done@x`) is ignored, since it may be another bot's.
    pub bot_username: Option<String>,
    /// The bot's user id (the token before `:`), for dedupe keys and replies to the bot.
    pub bot_id: Option<String>,
    /// The channel's `chat_id`: a numeric id or `@channelusername`.
    pub chat: String,
}

impl Addressee {
    /// The channel's chat and bot: `bot_username` as configured, else as learned from
    /// `getMe` ([`learn_username`]).
    pub fn for_channel(channel: &ChannelConfig) -> Addressee {
        let bot = channel.settings.telegram();
        let bot_id = bot
            .and_then(|b| b.bot_token.as_ref())
            .and_then(|t| crate::platforms::telegram::bot_id(t.expose()))
            .map(str::to_string);
        let bot_username = bot
            .and_then(|b| b.bot_username.as_deref())
            .map(|n| n.trim().trim_start_matches('@').to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| bot_id.as_deref().and_then(learned_username));
        Addressee {
            bot_username,
            bot_id,
            chat: bot.map(|b| b.chat_id.clone()).unwrap_or_default(),
        }
    }
}

impl TelegramInbound {
    /// The channel's webhook check; `None` without a `secret_token`.
    pub fn for_channel(channel: &ChannelConfig) -> Option<TelegramInbound> {
        Some(TelegramInbound {
            secret_token: channel.settings.telegram()?.secret_token.clone()?,
            addressee: Addressee::for_channel(channel),
        })
    }

    pub fn verify_and_parse(&self, req: &Request, _now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        let expected = configured(Some(&self.secret_token))
            .ok_or(Refusal::Misconfigured("Telegram secret_token"))?;
        let given = req.required_header(SECRET_HEADER)?;
        if !ct_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(Refusal::BadToken);
        }
        let update = super::parse_json(req.body, "Telegram update")?;
        parse_update(&update, &self.addressee)
    }
}

/// Usernames learned from `getMe`, by bot id: the webhook's verifier is built per request
/// from the config, which may not name the bot.
static LEARNED: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

/// Remembers the username `getMe` gave for bot `bot_id`.
pub fn learn_username(bot_id: &str, username: &str) {
    if let Ok(mut names) = LEARNED.lock() {
        names.insert(
            bot_id.to_string(),
            username.trim_start_matches('@').to_string(),
        );
    }
}

/// The username learned for bot `bot_id`, if any.
pub fn learned_username(bot_id: &str) -> Option<String> {
    LEARNED.lock().ok()?.get(bot_id).cloned()
}

/// Reads one `Update`: a [`Verdict::Message`] for a command addressed to the bot, otherwise
/// [`Verdict::Ignore`] with the reason. Only a body that is not an update at all is
/// [`Refusal::Malformed`].
pub fn parse_update(update: &Value, to: &Addressee) -> Result<Verdict, Refusal> {
    if !update.is_object() {
        return Err(Refusal::Malformed(
            "a Telegram update is not an object".into(),
        ));
    }
    if int(update, "update_id").is_none() {
        return Err(Refusal::Malformed(
            "Telegram update without `update_id`".into(),
        ));
    }
    let Some(message) = update.get("message").filter(|m| m.is_object()) else {
        return Ok(Verdict::Ignore(if update.get("edited_message").is_some() {
            "telegram edited message (the command ran when it was sent)"
        } else {
            "telegram update other than a new message"
        }));
    };
    let (Some(chat_id), Some(message_id)) = (
        message.get("chat").and_then(|c| int(c, "id")),
        int(message, "message_id"),
    ) else {
        return Err(Refusal::Malformed(
            "Telegram message without `chat.id` or `message_id`".into(),
        ));
    };
    if let Some(verdict) = migration(message, chat_id, to) {
        return Ok(verdict);
    }
    let Some(from) = message.get("from").filter(|f| f.is_object()) else {
        return Ok(Verdict::Ignore(
            "telegram message without a sender (a channel post)",
        ));
    };
    if from.get("is_bot").and_then(Value::as_bool) == Some(true) {
        return Ok(Verdict::Ignore("telegram message from a bot"));
    }
    let Some(user_id) = int(from, "id") else {
        return Err(Refusal::Malformed(
            "Telegram message without `from.id`".into(),
        ));
    };
    let Some(text) = message.get("text").and_then(Value::as_str) else {
        return Ok(Verdict::Ignore("telegram message without text"));
    };
    let chat = message.get("chat").unwrap_or(&Value::Null);
    let chat_type = chat.get("type").and_then(Value::as_str).unwrap_or("");
    let private = chat_type == "private";
    if !private && !is_channel_chat(chat, chat_id, &to.chat) {
        tracing::info!(
            chat_id,
            chat_type,
            configured = %to.chat,
            "telegram: ignored a message from a chat that is not this channel's chat_id"
        );
        return Ok(Verdict::Ignore("telegram message from another chat"));
    }
    if !private {
        match addressing(message, text, to) {
            Addressing::ToUs => {}
            Addressing::ToOther => {
                return Ok(Verdict::Ignore("telegram command for another bot"));
            }
            Addressing::Unknown(name) => {
                tracing::warn!(
                    chat_id,
                    bot = %super::short(name),
                    "telegram: ignored a command addressed to a bot by name, because this bot's \
                     username is not known yet; set `bot_username` on the channel"
                );
                return Ok(Verdict::Ignore(
                    "telegram command for a bot whose name is unknown",
                ));
            }
            Addressing::Nobody if matches!(commands::parse(text), Parsed::Command { .. }) => {}
            Addressing::Nobody => {
                return Ok(Verdict::Ignore(
                    "telegram group message that is not a command",
                ));
            }
        }
    }
    let username = from
        .get("username")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let sender_name = username.clone().or_else(|| {
        from.get("first_name")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let message_thread_id = (message.get("is_topic_message").and_then(Value::as_bool)
        == Some(true))
    .then(|| int(message, "message_thread_id"))
    .flatten();
    Ok(Verdict::Message(InboundMessage {
        message_id: format!(
            "{}:{chat_id}:{message_id}",
            to.bot_id.as_deref().unwrap_or("bot")
        ),
        sender: Sender::Telegram {
            user_id: user_id.to_string(),
            username,
        },
        sender_name,
        text: text.to_string(),
        reply: ReplyRoute::Telegram {
            chat_id,
            message_id,
            message_thread_id,
        },
        retry: false,
    }))
}

/// The service message of a group upgraded to a supergroup, if `message` is one: in the old
/// group it carries `migrate_to_chat_id`, in the new supergroup `migrate_from_chat_id` (Bot
/// API, `Message`). For the channel's own group the new id is remembered, so that commands
/// from the supergroup are taken and messages go there, with a warning to update `chat_id`.
fn migration(message: &Value, chat_id: i64, to: &Addressee) -> Option<Verdict> {
    let (from, into) = match (
        int(message, "migrate_to_chat_id"),
        int(message, "migrate_from_chat_id"),
    ) {
        (Some(into), _) => (chat_id, into),
        (None, Some(from)) => (from, chat_id),
        (None, None) => return None,
    };
    if to.chat.trim().parse::<i64>() == Ok(from) {
        crate::platforms::telegram::learn_migration(from, into, None);
    }
    Some(Verdict::Ignore("telegram group upgraded to a supergroup"))
}

/// Whether `chat` is the channel's configured chat, by id or by `@username`, or the
/// supergroup the configured group became.
fn is_channel_chat(chat: &Value, chat_id: i64, configured: &str) -> bool {
    let configured = configured.trim();
    if let Ok(id) = configured.parse::<i64>() {
        return id == chat_id || crate::platforms::telegram::migrated_chat(id) == Some(chat_id);
    }
    let name = configured.trim_start_matches('@');
    chat.get("username")
        .and_then(Value::as_str)
        .is_some_and(|u| !name.is_empty() && u.eq_ignore_ascii_case(name))
}

/// Whom a group message is addressed to.
#[derive(Debug, PartialEq, Eq)]
enum Addressing<'t> {
    ToUs,
    ToOther,
    /// A command or mention naming a bot, while our own name is not known.
    Unknown(&'t str),
    /// No command, mention or reply: plain talk (seen only with privacy mode off).
    Nobody,
}

fn addressing<'t>(message: &Value, text: &'t str, to: &Addressee) -> Addressing<'t> {
    let ours = |name: &'t str| match &to.bot_username {
        Some(me) if me.eq_ignore_ascii_case(name) => Addressing::ToUs,
        Some(_) => Addressing::ToOther,
        None => Addressing::Unknown(name),
    };
    match leading_entity(message, text) {
        Some(Leading::Command(token)) => match token.split_once('@') {
            Some((_, bot)) => ours(bot),
            // `/done` without a name: Telegram shows it to every bot in the group; it is ours
            // as much as anyone's.
            None => Addressing::ToUs,
        },
        Some(Leading::Mention(name)) => match ours(name) {
            // Someone @s a colleague first: not a command for the bot, unless our name is
            // not known, in which case it may still be us.
            Addressing::ToOther => Addressing::Nobody,
            other => other,
        },
        None if replies_to_us(message, to) => Addressing::ToUs,
        None => Addressing::Nobody,
    }
}

/// What a message starts with, as Telegram's entities (or, without them, the text) say.
#[derive(Debug, PartialEq, Eq)]
enum Leading<'t> {
    /// `/done` or `/done@weekbell_bot`, without the slash.
    Command(&'t str),
    /// `@weekbell_bot`, without the `@`.
    Mention(&'t str),
}

fn leading_entity<'t>(message: &Value, text: &'t str) -> Option<Leading<'t>> {
    let entities = message.get("entities").and_then(Value::as_array);
    let first = entities.and_then(|all| {
        all.iter()
            .find(|e| e.get("offset").and_then(Value::as_u64) == Some(0))
    });
    if let Some(entity) = first {
        let kind = entity.get("type").and_then(Value::as_str).unwrap_or("");
        let length = entity.get("length").and_then(Value::as_u64).unwrap_or(0);
        let token = utf16_prefix(text, length);
        return match (kind, token) {
            ("bot_command", Some(t)) => t.strip_prefix('/').map(Leading::Command),
            ("mention", Some(t)) => t.strip_prefix('@').map(Leading::Mention),
            _ => None,
        };
    }
    if entities.is_some() {
        return None;
    }
    // Updates written by hand (or by an old proxy) may lack entities; the text then says it.
    let token = text.split(char::is_whitespace).next().unwrap_or("");
    if let Some(command) = token.strip_prefix('/').filter(|c| !c.is_empty()) {
        Some(Leading::Command(command))
    } else {
        token
            .strip_prefix('@')
            .filter(|n| !n.is_empty())
            .map(Leading::Mention)
    }
}

/// The first `units` UTF-16 code units of `text`, if that ends on a character boundary.
/// Telegram's entity offsets and lengths count UTF-16 code units, not bytes.
fn utf16_prefix(text: &str, units: u64) -> Option<&str> {
    let mut counted = 0u64;
    for (i, c) in text.char_indices() {
        if counted == units {
            return Some(&text[..i]);
        }
        if counted > units {
            return None;
        }
        counted += c.len_utf16() as u64;
    }
    (counted == units).then_some(text)
}

fn replies_to_us(message: &Value, to: &Addressee) -> bool {
    let Some(from) = message.get("reply_to_message").and_then(|r| r.get("from")) else {
        return false;
    };
    let from_id = int(from, "id").map(|i| i.to_string());
    let by_id = to.bot_id.is_some() && from_id == to.bot_id;
    let by_name = match (
        &to.bot_username,
        from.get("username").and_then(Value::as_str),
    ) {
        (Some(me), Some(name)) => me.eq_ignore_ascii_case(name),
        _ => false,
    };
    by_id || by_name
}

/// A 64-bit integer field (chat ids of supergroups need more than 32 bits).
fn int(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_i64)
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    _settings: &TelegramSettings,
    channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    TelegramInbound::for_channel(channel)
        .ok_or_else(missing_credentials)?
        .verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use serde_json::json;

    const SECRET: &str = "wb_7f3a9c2e1b5d-0a";

    fn addressee() -> Addressee {
        Addressee {
            bot_username: Some("weekbell_bot".into()),
            bot_id: Some("123456789".into()),
            chat: "-1001234567890".into(),
        }
    }

    fn inbound() -> TelegramInbound {
        TelegramInbound {
            secret_token: Secret::new(SECRET),
            addressee: addressee(),
        }
    }

    /// The shape of the Bot API's `Update`, as in the reference's example.
    fn update(text: &str, entities: Value) -> Value {
        json!({
            "update_id": 123,
            "message": {
                "message_id": 45,
                "from": {"id": 111, "is_bot": false, "first_name": "A", "username": "alice_tg"},
                "chat": {"id": -1_001_234_567_890_i64, "type": "supergroup", "title": "Ops"},
                "date": 1_700_000_000,
                "text": text,
                "entities": entities,
            }
        })
    }

    fn command(text: &str) -> Value {
        let len = text
            .split(char::is_whitespace)
            .next()
            .map_or(0, |t| t.encode_utf16().count());
        update(
            text,
            json!([{"type": "bot_command", "offset": 0, "length": len}]),
        )
    }

    fn parse(u: &Value) -> Verdict {
        parse_update(u, &addressee()).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn post(secret: Option<&str>, body: &str) -> Result<Verdict, Refusal> {
        let h = match secret {
            Some(s) => headers(&[(SECRET_HEADER, s)]),
            None => headers(&[]),
        };
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: body.as_bytes(),
        };
        inbound().verify_and_parse(&req, 0)
    }

    #[test]
    fn the_secret_token_is_checked_before_the_body_is_read() {
        let body = command("/done@weekbell_bot API-101").to_string();
        let Ok(Verdict::Message(m)) = post(Some(SECRET), &body) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "123456789:-1001234567890:45");
        assert_eq!(
            m.sender,
            Sender::Telegram {
                user_id: "111".into(),
                username: Some("alice_tg".into())
            }
        );
        assert_eq!(m.sender.ids(), vec!["111", "alice_tg"]);
        assert_eq!(m.text, "/done@weekbell_bot API-101");
        assert_eq!(
            m.reply,
            ReplyRoute::Telegram {
                chat_id: -1_001_234_567_890,
                message_id: 45,
                message_thread_id: None
            }
        );
        // Wrong or missing token: refused, even for a body that is not JSON.
        assert_eq!(post(Some("wrong"), "not json"), Err(Refusal::BadToken));
        assert_eq!(
            post(None, &body),
            Err(Refusal::MissingHeader(SECRET_HEADER))
        );
        assert!(matches!(
            post(Some(SECRET), "{\"update_id\":"),
            Err(Refusal::Malformed(_))
        ));
        let unset = TelegramInbound {
            secret_token: Secret::new(" "),
            addressee: addressee(),
        };
        let h = headers(&[(SECRET_HEADER, " ")]);
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: body.as_bytes(),
        };
        assert!(matches!(
            unset.verify_and_parse(&req, 0),
            Err(Refusal::Misconfigured(_))
        ));
    }

    #[test]
    fn commands_for_another_bot_are_ignored() {
        assert!(matches!(
            parse(&command("/done@other_bot API-101")),
            Verdict::Ignore(_)
        ));
        assert!(matches!(
            parse(&command("/done@WeekBell_Bot API-101")),
            Verdict::Message(_)
        ));
        assert!(matches!(
            parse(&command("/done API-101")),
            Verdict::Message(_)
        ));
        // Our name unknown: a named command may be another bot's.
        let unknown = Addressee {
            bot_username: None,
            ..addressee()
        };
        assert!(matches!(
            parse_update(&command("/done@weekbell_bot API-101"), &unknown),
            Ok(Verdict::Ignore(_))
        ));
        assert!(matches!(
            parse_update(&command("/done API-101"), &unknown),
            Ok(Verdict::Message(_))
        ));
    }

    #[test]
    fn mentions_replies_and_plain_commands_in_groups() {
        let mention = update(
            "@weekbell_bot done API-101",
            json!([{"type": "mention", "offset": 0, "length": 13}]),
        );
        assert!(matches!(parse(&mention), Verdict::Message(_)));
        let colleague = update(
            "@bob_tg can you look at this",
            json!([{"type": "mention", "offset": 0, "length": 7}]),
        );
        assert!(matches!(parse(&colleague), Verdict::Ignore(_)));
        // Privacy mode off: plain text counts only when it is a command.
        assert!(matches!(
            parse(&update("done API-101", json!([]))),
            Verdict::Message(_)
        ));
        assert!(matches!(
            parse(&update("lunch at noon?", json!([]))),
            Verdict::Ignore(_)
        ));
        // A reply to the bot's own message is for the bot.
        let mut reply = update("what does this mean?", json!([]));
        reply["message"]["reply_to_message"] = json!({"message_id": 40, "from": {"id": 123_456_789, "is_bot": true, "username": "weekbell_bot"}});
        assert!(matches!(parse(&reply), Verdict::Message(_)));
        // Without entities, the text decides.
        let mut bare = command("/done@other_bot 1");
        bare["message"]
            .as_object_mut()
            .map(|m| m.remove("entities"));
        assert!(matches!(parse(&bare), Verdict::Ignore(_)));
    }

    #[test]
    fn entity_lengths_count_utf16_units() {
        // 😀 is two UTF-16 units: the command token is 6 units long.
        let u = update(
            "/😀@other_bot x",
            json!([{"type": "bot_command", "offset": 0, "length": 13}]),
        );
        assert!(matches!(parse(&u), Verdict::Ignore(_)));
        assert_eq!(utf16_prefix("/😀x", 3), Some("/😀"));
        assert_eq!(utf16_prefix("/😀x", 2), None);
        assert_eq!(utf16_prefix("ab", 9), None);
        // A length that splits a character names nothing: not taken as a command.
        let odd = update(
            "/😀@other_bot x",
            json!([{"type": "bot_command", "offset": 0, "length": 2}]),
        );
        assert!(matches!(parse(&odd), Verdict::Ignore(_)));
    }

    #[test]
    fn private_chats_other_chats_edits_and_bots() {
        let mut private = update("list mine", json!([]));
        private["message"]["chat"] = json!({"id": 111, "type": "private"});
        assert!(matches!(parse(&private), Verdict::Message(_)));
        let mut elsewhere = command("/done API-101");
        elsewhere["message"]["chat"]["id"] = json!(-100_999);
        assert!(matches!(parse(&elsewhere), Verdict::Ignore(_)));
        let by_name = Addressee {
            chat: "@weekbell_news".into(),
            ..addressee()
        };
        let mut named = command("/done API-101");
        named["message"]["chat"]["username"] = json!("WeekBell_News");
        assert!(matches!(
            parse_update(&named, &by_name),
            Ok(Verdict::Message(_))
        ));
        let edited = json!({"update_id": 5, "edited_message": command("/done 1")["message"]});
        assert!(matches!(parse(&edited), Verdict::Ignore(_)));
        let mut bot = command("/done 1");
        bot["message"]["from"]["is_bot"] = json!(true);
        assert!(matches!(parse(&bot), Verdict::Ignore(_)));
        let mut sticker = command("/done 1");
        sticker["message"].as_object_mut().map(|m| m.remove("text"));
        assert!(matches!(parse(&sticker), Verdict::Ignore(_)));
        let mut post = command("/done 1");
        post["message"].as_object_mut().map(|m| m.remove("from"));
        assert!(matches!(parse(&post), Verdict::Ignore(_)));
        assert!(parse_update(&json!({"message": {}}), &addressee()).is_err());
        assert!(
            parse_update(
                &json!({"update_id": 1, "message": {"text": "x"}}),
                &addressee()
            )
            .is_err()
        );
        assert!(parse_update(&json!([1]), &addressee()).is_err());
    }

    #[test]
    fn after_the_upgrade_notice_commands_from_the_supergroup_are_taken() {
        // Ids of this test alone: what is learned of an upgrade is process-wide.
        let (group, supergroup) = (-4_000_000_101_i64, -1_004_000_000_101_i64);
        let ours = Addressee {
            chat: group.to_string(),
            ..addressee()
        };
        let mut from_supergroup = command("/done API-101");
        from_supergroup["message"]["chat"]["id"] = json!(supergroup);
        assert!(matches!(
            parse_update(&from_supergroup, &ours),
            Ok(Verdict::Ignore(_))
        ));
        // Someone else's group upgrading teaches nothing about ours.
        let mut elsewhere = command("x");
        elsewhere["message"]["chat"] = json!({"id": -4_000_000_102_i64, "type": "group"});
        elsewhere["message"]["migrate_to_chat_id"] = json!(supergroup);
        assert!(matches!(
            parse_update(&elsewhere, &ours),
            Ok(Verdict::Ignore(_))
        ));
        assert_eq!(
            crate::platforms::telegram::migrated_chat(-4_000_000_102),
            None
        );
        assert!(matches!(
            parse_update(&from_supergroup, &ours),
            Ok(Verdict::Ignore(_))
        ));
        // The notice in the new supergroup names our group.
        let mut notice = command("x");
        notice["message"]["chat"]["id"] = json!(supergroup);
        notice["message"].as_object_mut().map(|m| m.remove("text"));
        notice["message"]["migrate_from_chat_id"] = json!(group);
        assert!(matches!(
            parse_update(&notice, &ours),
            Ok(Verdict::Ignore(_))
        ));
        assert_eq!(
            crate::platforms::telegram::migrated_chat(group),
            Some(supergroup)
        );
        assert!(matches!(
            parse_update(&from_supergroup, &ours),
            Ok(Verdict::Message(m)) if matches!(m.reply, ReplyRoute::Telegram { chat_id, .. } if chat_id == supergroup)
        ));
    }

    #[test]
    fn forum_topics_are_answered_in_their_topic() {
        let mut u = command("/list");
        u["message"]["is_topic_message"] = json!(true);
        u["message"]["message_thread_id"] = json!(77);
        let Verdict::Message(m) = parse(&u) else {
            panic!("ignored")
        };
        assert!(matches!(
            m.reply,
            ReplyRoute::Telegram {
                message_thread_id: Some(77),
                ..
            }
        ));
    }

    #[test]
    fn learned_usernames_are_remembered_per_bot() {
        learn_username("42", "@some_bot");
        assert_eq!(learned_username("42").as_deref(), Some("some_bot"));
        assert_eq!(learned_username("43"), None);
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            secret in "[ -~]{0,40}",
            right in any::<bool>(),
        ) {
            let s = if right { SECRET.to_string() } else { secret };
            let _ = post(Some(&s), &String::from_utf8_lossy(&body));
        }

        #[test]
        fn any_text_and_entities_never_panic(
            text in "\\PC{0,80}",
            offset in 0u64..20,
            length in 0u64..40,
            kind in prop_oneof![Just("bot_command"), Just("mention"), Just("url")],
        ) {
            let u = update(&text, json!([{"type": kind, "offset": offset, "length": length}]));
            let _ = parse_update(&u, &addressee());
        }
    }
}

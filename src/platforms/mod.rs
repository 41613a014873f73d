//! One file per chat platform: wire format, markup dialect, size limit, and the outbound
//! transport (signing, the table of documented replies); `transport.rs` holds what they share
//! and [`deliver`], which sends one part and says what became of it as an [`Outcome`].
//!
//! Only this module knows a chat vendor's wire format.

mod console;
mod dingtalk;
mod discord;
mod feishu;
mod googlechat;
mod mattermost;
mod slack;
mod teams;
pub(crate) mod telegram;
mod transport;
mod webhook;
mod wecom;

pub(crate) use dingtalk::session_webhook_refusal;
pub use teams::is_retired_connector as teams_uses_retired_connector;
pub use transport::{
    DEFAULT_WAIT, DocumentedReply, MAX_WAIT, Outcome, PreparedRequest, RateLimit, Verdict, deliver,
    deliver_reply, http_client, parse_retry_after,
};
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature as webhook_signature};
pub use wecom::STREAM_SIZE_LIMIT as WECOM_STREAM_SIZE_LIMIT;

pub use crate::types::Platform;

use crate::people::Person;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use serde::{Deserialize, Serialize};

/// Where the answer to a chat command goes when it is not the channel's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyVia {
    /// DingTalk: the message's `sessionWebhook`, which posts into the conversation the command
    /// came from without a signature, for about 90 minutes.
    SessionWebhook { url: String },
    /// Feishu/Lark: a reply to the message through the Open API, with the app's tenant token.
    FeishuMessage { message_id: String },
    /// Discord: a follow-up message of a slash command, through the interaction's own webhook,
    /// which takes the interaction token for 15 minutes and needs no bot token. `ephemeral`
    /// shows it to the person who used the command only, like the answer it continues.
    DiscordFollowup {
        application_id: String,
        token: String,
        ephemeral: bool,
    },
    /// Telegram: `sendMessage` into the chat the command came from, as a reply to it (and in
    /// its forum topic, if it was in one).
    TelegramMessage {
        chat_id: i64,
        message_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_thread_id: Option<i64>,
    },
}

/// What the outbox stores for one message part: the part, and for a reply to a command where
/// it goes. Rows written before replies existed are a bare part, which reads the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxPayload {
    #[serde(flatten)]
    pub part: OutboundPart,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_via: Option<ReplyVia>,
}

/// Outbound rendering profile: markup, limits, mentions and the request body of one message.
impl Platform {
    /// The markup the message body is written in.
    pub fn dialect(self) -> Dialect {
        match self {
            Platform::Console => console::DIALECT,
            Platform::Webhook => webhook::DIALECT,
            Platform::Dingtalk => dingtalk::DIALECT,
            Platform::Wecom => wecom::DIALECT,
            Platform::Feishu => feishu::DIALECT,
            Platform::Slack => slack::DIALECT,
            Platform::Discord => discord::DIALECT,
            Platform::Mattermost => mattermost::DIALECT,
            Platform::Telegram => telegram::DIALECT,
            Platform::Teams => teams::DIALECT,
            Platform::Googlechat => googlechat::DIALECT,
        }
    }

    /// The markup of the platform's other message type a channel may choose with
    /// `msgtype = "text"`; `None` where there is no such choice.
    pub fn text_dialect(self) -> Option<Dialect> {
        match self {
            Platform::Dingtalk => Some(Dialect::DingTalkText),
            Platform::Wecom => Some(Dialect::Plain),
            _ => None,
        }
    }

    /// The most text one message part may hold in `dialect` (the platform's own or its
    /// [`text_dialect`](Self::text_dialect)); `None` for no limit.
    pub fn size_limit_in(self, dialect: Dialect) -> Option<SizeLimit> {
        match (self, dialect) {
            (Platform::Wecom, Dialect::Plain) => Some(wecom::TEXT_SIZE_LIMIT),
            _ => self.size_limit(),
        }
    }

    /// The most text one message part may hold; `None` for no limit.
    pub fn size_limit(self) -> Option<SizeLimit> {
        match self {
            Platform::Dingtalk => Some(dingtalk::SIZE_LIMIT),
            Platform::Wecom => Some(wecom::SIZE_LIMIT),
            Platform::Feishu => Some(feishu::SIZE_LIMIT),
            Platform::Slack => Some(slack::SIZE_LIMIT),
            Platform::Discord => Some(discord::SIZE_LIMIT),
            Platform::Mattermost => Some(mattermost::SIZE_LIMIT),
            Platform::Telegram => Some(telegram::SIZE_LIMIT),
            Platform::Teams => Some(teams::SIZE_LIMIT),
            Platform::Googlechat => Some(googlechat::SIZE_LIMIT),
            _ => None,
        }
    }

    /// The platform's limit on the whole serialized request body, in bytes, where it has one.
    pub fn body_limit(self) -> Option<usize> {
        match self {
            Platform::Dingtalk => Some(dingtalk::BODY_LIMIT),
            Platform::Feishu => Some(feishu::BODY_LIMIT),
            Platform::Teams => Some(teams::BODY_LIMIT),
            Platform::Googlechat => Some(googlechat::BODY_LIMIT),
            _ => None,
        }
    }

    /// Whether the platform displays the title apart from the text (Feishu's card header, the
    /// heading of a Teams card), so templates should not repeat it.
    pub fn shows_title(self) -> bool {
        matches!(self, Platform::Feishu | Platform::Teams)
    }

    /// Who `person` is on this platform for an @mention; `None` when they cannot be notified
    /// here (no handle configured), in which case they are written as `@Name`.
    pub fn mention_for(self, person: &Person, dialect: Dialect) -> Option<Mention> {
        match self {
            Platform::Dingtalk => dingtalk::mention_for(person),
            Platform::Wecom => wecom::mention_for(person, dialect == Dialect::Plain),
            Platform::Feishu => feishu::mention_for(person),
            Platform::Slack => slack::mention_for(person),
            Platform::Discord => discord::mention_for(person),
            Platform::Mattermost => mattermost::mention_for(person),
            Platform::Telegram => telegram::mention_for(person),
            Platform::Teams => teams::mention_for(person),
            Platform::Googlechat => googlechat::mention_for(person),
            Platform::Webhook => webhook::mention_for(person),
            _ => None,
        }
    }

    /// The JSON the platform's webhook expects for one message part. Signing is delivery's job,
    /// and so is Telegram's `chat_id` (the channel's, or the chat of a command being answered).
    pub fn request_body(self, part: &OutboundPart) -> serde_json::Value {
        self.request_body_in(part, self.dialect())
    }

    /// [`request_body`](Self::request_body) for a part written in `dialect`: DingTalk and
    /// WeCom send their `text` message type when the channel chose it.
    pub fn request_body_in(self, part: &OutboundPart, dialect: Dialect) -> serde_json::Value {
        match self {
            Platform::Dingtalk => dingtalk::request_body(part, dialect == Dialect::DingTalkText),
            Platform::Wecom => wecom::request_body(part, dialect == Dialect::Plain),
            Platform::Feishu => feishu::request_body(part),
            Platform::Slack => slack::request_body(part),
            Platform::Discord => discord::request_body(part),
            Platform::Mattermost => mattermost::request_body(part),
            Platform::Telegram => telegram::request_body(part),
            Platform::Teams => teams::request_body(part),
            Platform::Googlechat => googlechat::request_body(part),
            Platform::Webhook => webhook::request_body(part),
            Platform::Console => console::request_body(part),
        }
    }
}

/// A person's mobile number, if it can be written into mention markup safely.
fn safe_mobile(person: &Person) -> Option<String> {
    person
        .mobile
        .as_deref()
        .map(str::trim)
        .filter(|m| crate::types::is_safe_handle(m))
        .map(str::to_string)
}

/// The user ids and, for people mentioned without one, the mobiles of a part's mentions: the
/// two lists DingTalk and WeCom notify.
fn mention_lists(part: &OutboundPart) -> (Vec<&str>, Vec<&str>) {
    let ids = part
        .mentions
        .iter()
        .filter_map(|m| m.handle.as_deref())
        .collect();
    let mobiles = part
        .mentions
        .iter()
        .filter(|m| m.handle.is_none())
        .filter_map(|m| m.mobile.as_deref())
        .collect();
    (ids, mobiles)
}

/// A person's handle for `platform`, if it can be written into mention markup safely.
fn safe_handle(person: &Person, platform: Platform) -> Option<String> {
    person
        .handle(platform)
        .map(str::trim)
        .filter(|h| crate::types::is_safe_handle(h))
        .map(str::to_string)
}

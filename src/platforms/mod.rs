//! One file per chat platform: wire format, markup dialect, size limit, and the outbound
//! transport (signing, the table of documented replies). What they share: `dispatch.rs` holds
//! [`deliver`] and [`deliver_reply`], which send one part and say what became of it as an
//! [`Outcome`] (`outcome.rs`); `sending.rs` the one HTTP client and the POST; `replies.rs` the
//! reply-table types and the by-status fallback; `redaction.rs` a channel's redactor; `wire.rs`
//! the small request and reply helpers.
//!
//! Only this module knows a chat vendor's wire format.

mod console;
mod dingtalk;
pub mod directory;
mod discord;
mod dispatch;
mod driver;
mod feishu;
mod googlechat;
mod mattermost;
mod outcome;
mod redaction;
mod replies;
mod sending;
mod slack;
mod teams;
pub(crate) mod telegram;
#[cfg(test)]
mod test_support;
mod webhook;
mod wecom;
mod wire;

pub(crate) use dingtalk::session_webhook_refusal;
pub use dispatch::{deliver, deliver_reply};
pub use driver::{Driver, driver};
pub use outcome::{DEFAULT_WAIT, MAX_WAIT, Outcome, RateLimit};
pub use replies::{DocumentedReply, ReplyVerdict};
pub use sending::{ClientError, PreparedRequest, SEND_TIMEOUT, http_client, parse_retry_after};
pub use teams::is_retired_connector as teams_uses_retired_connector;

// What the per-platform files share.
use replies::{ReplyRow, by_status, with_quote, without_code};
use sending::exchange;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature as webhook_signature};
pub use wecom::STREAM_SIZE_LIMIT as WECOM_STREAM_SIZE_LIMIT;
use wire::{
    TokenCache, TokenKey, base64, configured, hmac_sha256, int_field, json_body, json_headers,
    str_field, webhook_url,
};

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

/// The questions the rest of the crate asks of a platform, answered by its [`Driver`].
impl Platform {
    /// The markup the message body is written in.
    pub fn dialect(self) -> Dialect {
        driver(self).dialect
    }

    /// See [`Driver::text_dialect`].
    pub fn text_dialect(self) -> Option<Dialect> {
        driver(self).text_dialect
    }

    /// See [`Driver::size_limit_in`].
    pub fn size_limit_in(self, dialect: Dialect) -> Option<SizeLimit> {
        driver(self).size_limit_in(dialect)
    }

    /// The most text one message part may hold in the platform's own markup; `None` for no
    /// limit.
    pub fn size_limit(self) -> Option<SizeLimit> {
        self.size_limit_in(self.dialect())
    }

    /// See [`Driver::body_limit`].
    pub fn body_limit(self) -> Option<usize> {
        driver(self).body_limit
    }

    /// See [`Driver::shows_title`].
    pub fn shows_title(self) -> bool {
        driver(self).shows_title
    }

    /// See [`Driver::mention_for`].
    pub fn mention_for(self, person: &Person, dialect: Dialect) -> Option<Mention> {
        (driver(self).mention_for)(person, dialect)
    }

    /// The JSON the platform's webhook expects for one message part in its own markup.
    /// Signing is delivery's job, and so is Telegram's `chat_id` (the channel's, or the chat of
    /// a command being answered).
    pub fn request_body(self, part: &OutboundPart) -> serde_json::Value {
        self.request_body_in(part, self.dialect())
    }

    /// How many bytes the largest of `parts`' request bodies is over the platform's
    /// [`body_limit`](Self::body_limit) (0 when all fit); `None` where there is no such limit.
    /// Render splits further by this much without knowing what a request body looks like.
    pub fn body_overshoot(self, parts: &[OutboundPart], dialect: Dialect) -> Option<usize> {
        let max = self.body_limit()?;
        let worst = parts
            .iter()
            .map(|p| {
                serde_json::to_vec(&self.request_body_in(p, dialect))
                    .map_or(usize::MAX, |b| b.len())
            })
            .max()
            .unwrap_or(0);
        Some(worst.saturating_sub(max))
    }

    /// [`request_body`](Self::request_body) for a part written in `dialect`: DingTalk and
    /// WeCom send their `text` message type when the channel chose it.
    pub fn request_body_in(self, part: &OutboundPart, dialect: Dialect) -> serde_json::Value {
        (driver(self).request_body)(part, dialect)
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

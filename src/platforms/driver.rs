//! The one interface every platform's outbound side implements, and the one registry that
//! finds it.
//!
//! As Alertmanager's notifiers: each platform file holds one [`Driver`] (its markup, limits,
//! mention syntax, request body, signing and reply table), and [`driver`] is the only place a
//! [`Platform`] is matched to one. The `Platform` methods the rest of the crate calls
//! (`Platform::Slack.dialect()`, `.prepare(…)`, `.classify(…)`) ask the registry; they hold no
//! per-platform knowledge of their own.

use super::{DocumentedReply, Outcome, PreparedRequest, RateLimit, ReplyRow};
use super::{
    console, dingtalk, discord, feishu, googlechat, mattermost, slack, teams, telegram, webhook,
    wecom,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::types::{Dialect, Mention, OutboundPart, Platform, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// One chat platform's outbound side. The defaults are those of a platform with no limits,
/// no mentions and no documented replies (the generic webhook, the console).
pub trait Driver: Sync {
    /// The markup the message body is written in.
    fn dialect(&self) -> Dialect;

    /// The markup of the platform's other message type a channel may choose with
    /// `msgtype = "text"`; `None` where there is no such choice.
    fn text_dialect(&self) -> Option<Dialect> {
        None
    }

    /// The most text one message part may hold in `dialect` (the platform's own or its
    /// [`text_dialect`](Self::text_dialect)); `None` for no limit.
    fn size_limit_in(&self, _dialect: Dialect) -> Option<SizeLimit> {
        None
    }

    /// The platform's limit on the whole serialized request body, in bytes, where it has one.
    fn body_limit(&self) -> Option<usize> {
        None
    }

    /// Whether the platform displays the title apart from the text (Feishu's card header, the
    /// heading of a Teams card), so templates should not repeat it.
    fn shows_title(&self) -> bool {
        false
    }

    /// Who `person` is on this platform for an @mention written in `dialect`; `None` when
    /// they cannot be notified here, in which case they are written as `@Name`.
    fn mention_for(&self, _person: &Person, _dialect: Dialect) -> Option<Mention> {
        None
    }

    /// The JSON the platform's webhook expects for one part written in `dialect`. Signing is
    /// [`prepare`](Self::prepare)'s job.
    fn request_body(&self, part: &OutboundPart, dialect: Dialect) -> Value;

    /// Builds the exact HTTP request (URL, headers, body, signing); pure, `now` is the signing
    /// timestamp.
    fn prepare(
        &self,
        channel: &ChannelConfig,
        part: &OutboundPart,
        now: DateTime<Utc>,
    ) -> Result<PreparedRequest, Outcome>;

    /// Maps a reply (status, parsed `Retry-After`, body) to an outcome, from the platform's
    /// table of documented replies.
    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
        webhook::classify(status, retry_after, body)
    }

    /// The pace a channel sends at unless its config sets `rate_limit`.
    fn default_rate_limit(&self) -> Option<RateLimit> {
        None
    }

    /// Every reply [`classify`](Self::classify) knows by its code, in table order.
    fn documented_replies(&self) -> Vec<DocumentedReply> {
        Vec::new()
    }
}

/// The driver of `platform`. Adding a platform is one line here.
pub fn driver(platform: Platform) -> &'static dyn Driver {
    match platform {
        Platform::Console => &console::Console,
        Platform::Webhook => &webhook::Webhook,
        Platform::Dingtalk => &dingtalk::DingTalk,
        Platform::Wecom => &wecom::WeCom,
        Platform::Feishu => &feishu::Feishu,
        Platform::Slack => &slack::Slack,
        Platform::Discord => &discord::Discord,
        Platform::Teams => &teams::Teams,
        Platform::Mattermost => &mattermost::Mattermost,
        Platform::Telegram => &telegram::Telegram,
        Platform::Googlechat => &googlechat::GoogleChat,
    }
}

/// A platform's reply table as [`DocumentedReply`] rows, whatever type its codes are.
pub(super) fn documented<C: fmt::Display>(rows: &[ReplyRow<C>]) -> Vec<DocumentedReply> {
    rows.iter()
        .map(|r| DocumentedReply {
            code: r.code.to_string(),
            platform_message: r.platform_message,
            verdict: r.verdict,
            reason: r.reason,
            hint: r.hint,
        })
        .collect()
}

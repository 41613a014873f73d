//! The one interface every platform's outbound side implements, and the one registry that
//! finds it.
//!
//! As Alertmanager's notifiers: each platform file holds one [`Driver`] spec (its markup, limits,
//! mention syntax, request body, signing and reply table), and [`driver`] is the only place a
//! [`Platform`] is matched to one. The `Platform` methods the rest of the crate calls
//! (`Platform::Slack.dialect()`, `.prepare(…)`, `.classify(…)`) ask the registry; they hold no
//! per-platform knowledge of their own.

use super::webhook;
use super::{DocumentedReply, Outcome, PreparedRequest, RateLimit, ReplyRow};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::types::{Dialect, Mention, OutboundPart, Platform, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// One chat platform's outbound side, as a static spec: the facts as values and the wire work
/// as functions. Each platform file holds one `DRIVER`; [`Driver::PLAIN`] is a platform with
/// no limits, no mentions and no documented replies (the generic webhook, the console), which
/// the others start from with `..Driver::PLAIN`.
pub struct Driver {
    /// The markup the message body is written in.
    pub dialect: Dialect,
    /// The markup of the platform's other message type a channel may choose with
    /// `msgtype = "text"`; `None` where there is no such choice.
    pub text_dialect: Option<Dialect>,
    /// The most text one message part may hold; `None` for no limit.
    pub size_limit: Option<SizeLimit>,
    /// The limit in [`text_dialect`](Self::text_dialect) where it differs from `size_limit`.
    pub text_size_limit: Option<SizeLimit>,
    /// The platform's limit on the whole serialized request body, in bytes, where it has one.
    pub body_limit: Option<usize>,
    /// Whether the platform displays the title apart from the text (Feishu's card header, the
    /// heading of a Teams card), so templates should not repeat it.
    pub shows_title: bool,
    /// The pace a channel sends at unless its config sets `rate_limit`.
    pub rate_limit: Option<RateLimit>,
    /// Who a person is on this platform for an @mention written in the given dialect; `None`
    /// when they cannot be notified here, in which case they are written as `@Name`.
    pub mention_for: fn(&Person, Dialect) -> Option<Mention>,
    /// The JSON the platform's webhook expects for one part written in the given dialect.
    /// Signing is `prepare`'s job.
    pub request_body: fn(&OutboundPart, Dialect) -> Value,
    /// Builds the exact HTTP request (URL, headers, body, signing); pure, the time given is
    /// the signing timestamp.
    pub prepare: Prepare,
    /// Maps a reply (status, parsed `Retry-After`, body) to an outcome, from the platform's
    /// table of documented replies.
    pub classify: fn(u16, Option<Duration>, &[u8]) -> Outcome,
    /// Every reply `classify` knows by its code, in table order.
    pub documented_replies: fn() -> Vec<DocumentedReply>,
}

/// The signature of [`Driver::prepare`].
pub type Prepare =
    fn(&ChannelConfig, &OutboundPart, DateTime<Utc>) -> Result<PreparedRequest, Outcome>;

impl Driver {
    /// No limits, no mentions, no reply table; judged by HTTP status alone.
    pub const PLAIN: Driver = Driver {
        dialect: Dialect::Plain,
        text_dialect: None,
        size_limit: None,
        text_size_limit: None,
        body_limit: None,
        shows_title: false,
        rate_limit: None,
        mention_for: |_, _| None,
        request_body: |part, _| webhook::request_body(part),
        prepare: webhook::prepare,
        classify: webhook::classify,
        documented_replies: Vec::new,
    };

    /// The most text one part may hold in `dialect` (the platform's own or its text type).
    pub fn size_limit_in(&self, dialect: Dialect) -> Option<SizeLimit> {
        match (self.text_dialect, self.text_size_limit) {
            (Some(text), Some(limit)) if text == dialect => Some(limit),
            _ => self.size_limit,
        }
    }
}

/// `driver()`, from the one list of platforms (`types::for_each_platform`): each platform's
/// `platforms/<module>.rs` holds its `DRIVER`.
macro_rules! driver_registry {
    ($($variant:ident $module:ident [$($verifier:ident)?],)*) => {
        /// The driver of `platform`: the only place a [`Platform`] is matched to its outbound
        /// side. Adding a platform adds a line to the list, not an arm here.
        pub fn driver(platform: Platform) -> &'static Driver {
            match platform {
                $(Platform::$variant => &super::$module::DRIVER,)*
            }
        }
    };
}
crate::types::for_each_platform!(driver_registry);

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

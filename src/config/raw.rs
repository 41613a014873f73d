//! The config file as written, before validation: every value keeps its byte span so that
//! errors can point at the exact text.
//!
//! Unknown keys are not refused here (`deny_unknown_fields` stops at the first) but by
//! `keys::unknown_keys`, which reports all of them against these structs' field lists.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(super) type S = Spanned<String>;

#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    pub timezone: Option<S>,
    pub locale: Option<S>,
    pub escalate_after: Option<Spanned<DurationValue>>,
    pub store: Option<RawStore>,
    pub tasks: Option<Spanned<RawTasks>>,
    /// More lists beside (or instead of) `[tasks]`, each with its own `name`.
    #[serde(default)]
    pub lists: Vec<Spanned<RawTasks>>,
    #[serde(default)]
    pub people: Vec<Spanned<RawPerson>>,
    #[serde(default)]
    pub channels: BTreeMap<S, Spanned<RawChannel>>,
    #[serde(default)]
    pub schedules: Vec<Spanned<RawSchedule>>,
    pub calendar: Option<RawCalendar>,
    pub server: Option<RawServer>,
    pub roster: Option<RawRoster>,
    /// Graded warning levels (预警), least severe first.
    #[serde(default)]
    pub warnings: Vec<Spanned<RawWarning>>,
    /// Area (township, 片区) → the leader answerable for it (包片领导).
    #[serde(default)]
    pub areas: BTreeMap<S, S>,
    /// The assessment's (考核) score weights.
    pub assessment: Option<RawAssessment>,
}

/// `[assessment]`: the points each part of the score is worth. Integers and decimals alike.
#[derive(Debug, Deserialize)]
pub(super) struct RawAssessment {
    pub done_rate: Option<Spanned<f64>>,
    pub on_time_rate: Option<Spanned<f64>>,
    pub report_rate: Option<Spanned<f64>>,
    pub overdue_penalty: Option<Spanned<f64>>,
    pub rejected_penalty: Option<Spanned<f64>>,
}

/// An address book whose people join `[[people]]` (see `tasks::load_roster`).
#[derive(Debug, Deserialize)]
pub(super) struct RawRoster {
    pub source: S,
    pub sheet: Option<S>,
    /// The platform its user id column belongs to (dingtalk, wecom, feishu, slack, …).
    pub platform: Option<S>,
}

/// One `[[warnings]]` entry: a level's name, the rule (or rules, any of which matches) with its
/// parameter written after the rule's name (`"due_within 3d"`), whom it tells and how often.
#[derive(Debug, Deserialize)]
pub(super) struct RawWarning {
    pub name: S,
    pub label: Option<S>,
    pub rule: Spanned<OneOrMany>,
    #[serde(default)]
    pub notify: Vec<S>,
    pub repeat: Option<S>,
}

/// A string or an array of strings. (Spans inside an untagged enum are lost to serde's
/// buffering, so a problem in one of many is reported at the whole value.)
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a rule such as \"due_within 3d\", or an array of rules"
)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// `escalate_after` and `catch_up` accept `"6h"`-style strings or a bare number of days/seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum DurationValue {
    Text(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
pub(super) struct RawStore {
    pub url: Option<S>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawTasks {
    /// A `[[lists]]` entry's short name (央督, 二批); `[tasks]` has none.
    pub name: Option<S>,
    pub source: S,
    pub sheet: Option<S>,
    pub encoding: Option<S>,
    #[serde(default)]
    pub columns: BTreeMap<S, S>,
    #[serde(default)]
    pub status_values: BTreeMap<S, Vec<S>>,
    /// `"256MiB"`-style strings or a bare number of bytes.
    pub max_unpacked_size: Option<Spanned<SizeValue>>,
    pub date_order: Option<S>,
    /// Who signs a task off before it is closed: `none`, `leader` or `admins`.
    pub review: Option<S>,
    /// `review` for the tasks of one category (问题类别), over the list's own.
    #[serde(default)]
    pub review_categories: BTreeMap<S, S>,
}

/// A size: `"256MiB"`, `"300MB"` or a bare number of bytes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum SizeValue {
    Text(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
pub(super) struct RawPerson {
    pub id: S,
    pub name: Option<S>,
    pub unit: Option<S>,
    pub mobile: Option<S>,
    pub email: Option<S>,
    #[serde(default)]
    pub admin: bool,
    /// Leave (请假): `2026-12-10..2026-12-18`.
    pub away: Option<S>,
    /// Who acts for them while away (代理): a person's id or name.
    pub deputy: Option<S>,
    pub dingtalk: Option<S>,
    pub wecom: Option<S>,
    pub feishu: Option<S>,
    pub slack: Option<S>,
    pub discord: Option<S>,
    pub teams: Option<S>,
    pub mattermost: Option<S>,
    pub telegram: Option<S>,
    pub googlechat: Option<S>,
}

impl RawPerson {
    pub fn handles(&self) -> [(&'static str, Option<&S>); 9] {
        [
            ("dingtalk", self.dingtalk.as_ref()),
            ("wecom", self.wecom.as_ref()),
            ("feishu", self.feishu.as_ref()),
            ("slack", self.slack.as_ref()),
            ("discord", self.discord.as_ref()),
            ("teams", self.teams.as_ref()),
            ("mattermost", self.mattermost.as_ref()),
            ("telegram", self.telegram.as_ref()),
            ("googlechat", self.googlechat.as_ref()),
        ]
    }
}

/// Every key any platform uses. Which of them a given platform accepts is checked in
/// validation, so that a key copied from another platform's example gets a precise message
/// instead of a bare "unknown key".
#[derive(Debug, Deserialize)]
pub(super) struct RawChannel {
    pub platform: S,
    pub webhook: Option<S>,
    pub secret: Option<S>,
    pub templates: Option<S>,
    pub locale: Option<S>,
    #[serde(default)]
    pub units: Vec<S>,
    #[serde(default)]
    pub categories: Vec<S>,
    /// `[[lists]]` names whose tasks this takes (all lists when empty).
    #[serde(default)]
    pub lists: Vec<S>,
    pub max_message_size: Option<Spanned<i64>>,
    /// `"20/min"`, `"5/s"`, `"1/2s"` or `"off"`; the platform's limit when absent.
    pub rate_limit: Option<S>,
    // Credentials, by each platform's own names (`app_key` for DingTalk, `app_id` for Feishu…).
    pub app_key: Option<S>,
    pub app_secret: Option<S>,
    pub token: Option<S>,
    pub encoding_aes_key: Option<S>,
    pub app_id: Option<S>,
    pub verification_token: Option<S>,
    pub encrypt_key: Option<S>,
    pub signing_secret: Option<S>,
    pub app_token: Option<S>,
    pub public_key: Option<S>,
    pub security_token: Option<S>,
    pub bot_token: Option<S>,
    pub secret_token: Option<S>,
    pub audience: Option<S>,
    // Non-secret options.
    pub chat_id: Option<S>,
    pub template: Option<S>,
    /// DingTalk and WeCom: `markdown` (the default) or `text`.
    pub msgtype: Option<S>,
    /// Feishu's Open API (Lark: `https://open.larksuite.com`), DingTalk's API gateway or
    /// Slack's Web API; a test server or proxy otherwise.
    pub api_base: Option<S>,
    /// Telegram: the bot's username, so a group command for another bot (`/done@other_bot`)
    /// is told apart; asked of the Bot API (`getMe`) at start when absent.
    pub bot_username: Option<S>,
    /// Telegram: take commands by long polling (`getUpdates`) instead of a webhook.
    pub polling: Option<Spanned<bool>>,
    /// Google Chat: where Google's signing keys come from (an http(s) URL or a file, JWKS or
    /// X.509 certificates); Google's own URL for the `audience` when absent.
    pub certs: Option<S>,
    /// Google Chat: the one Workspace add-on service account whose ID tokens are accepted.
    pub service_account: Option<S>,
    /// DingTalk: take commands over Stream mode (an outbound WebSocket) instead of an HTTP
    /// callback, for offices with no public URL.
    pub stream: Option<Spanned<bool>>,
    /// Slack: take commands over Socket Mode (an outbound WebSocket opened with `app_token`).
    pub socket_mode: Option<Spanned<bool>>,
    /// Feishu / Lark: take commands over the long connection (长连接, an outbound WebSocket
    /// opened with `app_id`/`app_secret`).
    pub long_connection: Option<Spanned<bool>>,
}

impl RawChannel {
    /// Credential keys and their values, in a fixed order. `webhook` and `secret` are
    /// handled separately because every outbound platform uses them.
    pub fn credentials(&self) -> [(&'static str, Option<&S>); 13] {
        [
            ("app_key", self.app_key.as_ref()),
            ("app_secret", self.app_secret.as_ref()),
            ("token", self.token.as_ref()),
            ("encoding_aes_key", self.encoding_aes_key.as_ref()),
            ("app_id", self.app_id.as_ref()),
            ("verification_token", self.verification_token.as_ref()),
            ("encrypt_key", self.encrypt_key.as_ref()),
            ("signing_secret", self.signing_secret.as_ref()),
            ("app_token", self.app_token.as_ref()),
            ("public_key", self.public_key.as_ref()),
            ("security_token", self.security_token.as_ref()),
            ("bot_token", self.bot_token.as_ref()),
            ("secret_token", self.secret_token.as_ref()),
        ]
    }

    pub fn options(&self) -> [(&'static str, Option<&S>); 8] {
        [
            ("chat_id", self.chat_id.as_ref()),
            ("template", self.template.as_ref()),
            ("msgtype", self.msgtype.as_ref()),
            ("api_base", self.api_base.as_ref()),
            ("audience", self.audience.as_ref()),
            ("bot_username", self.bot_username.as_ref()),
            ("certs", self.certs.as_ref()),
            ("service_account", self.service_account.as_ref()),
        ]
    }

    /// The `true`/`false` options, each a way of taking commands without a public URL.
    pub fn flags(&self) -> [(&'static str, Option<&Spanned<bool>>); 4] {
        [
            ("stream", self.stream.as_ref()),
            ("socket_mode", self.socket_mode.as_ref()),
            ("long_connection", self.long_connection.as_ref()),
            ("polling", self.polling.as_ref()),
        ]
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSchedule {
    pub name: S,
    pub cron: S,
    pub kind: S,
    pub channels: Spanned<Vec<S>>,
    pub timezone: Option<S>,
    pub on_holiday: Option<S>,
    #[serde(default)]
    pub workdays_only: bool,
    pub catch_up: Option<Spanned<DurationValue>>,
    pub escalate_after: Option<Spanned<DurationValue>>,
    pub templates: Option<S>,
    pub locale: Option<S>,
    #[serde(default)]
    pub units: Vec<S>,
    #[serde(default)]
    pub categories: Vec<S>,
    /// `[[lists]]` names whose tasks this takes (all lists when empty).
    #[serde(default)]
    pub lists: Vec<S>,
    /// An assessment schedule's period: `month` (the default) or `quarter`.
    pub period: Option<S>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawCalendar {
    #[serde(default)]
    pub holidays: Vec<S>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawServer {
    pub listen: Option<S>,
    /// Commands one sender may send per period (`"20/min"`, or `"off"`).
    pub sender_rate_limit: Option<S>,
}

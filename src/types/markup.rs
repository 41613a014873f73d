//! The markup dialects and size limits platforms write messages in, as names: how each
//! dialect escapes and formats text is `render::markup`'s business.

use serde::Serialize;

/// The markup language a platform's message body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// No markup at all: the console, the generic webhook, platforms not implemented yet.
    Plain,
    /// DingTalk custom-robot `markdown` messages.
    DingTalkMarkdown,
    /// WeCom group-robot `markdown` (v1, the one that supports `<@userid>` mentions).
    WeComMarkdown,
    /// Feishu/Lark card `markdown` elements (`lark_md`).
    FeishuMarkdown,
    /// Slack `mrkdwn`.
    SlackMrkdwn,
    /// DingTalk `text` messages: plain text, but a notifying mention is `@id` in the text.
    DingTalkText,
    /// Discord's markdown in a message's `content`.
    DiscordMarkdown,
    /// Mattermost's markdown (CommonMark with GFM tables).
    MattermostMarkdown,
    /// Telegram `sendMessage` with `parse_mode: HTML`.
    TelegramHtml,
    /// Microsoft Teams Adaptive Card `TextBlock` markdown (bold, italic, lists, links; no
    /// headings, no HTML).
    TeamsMarkdown,
    /// Google Chat text messages in Chat's own syntax (`*bold*`, `_italic_`, `<users/…>`).
    GoogleChatText,
}

/// A message size limit, in the unit the platform counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeLimit {
    /// UTF-8 bytes (CJK characters are 3 bytes each).
    Bytes(usize),
    /// Unicode scalar values.
    Chars(usize),
    /// UTF-16 code units, as Telegram counts (characters outside the Basic Multilingual
    /// Plane, such as most emoji, are two).
    Utf16(usize),
}

impl SizeLimit {
    /// The size of `s` in this limit's unit.
    pub fn measure(self, s: &str) -> usize {
        match self {
            SizeLimit::Bytes(_) => s.len(),
            SizeLimit::Chars(_) => s.chars().count(),
            SizeLimit::Utf16(_) => s.encode_utf16().count(),
        }
    }

    /// The size of one character in this limit's unit.
    pub fn char_cost(self, c: char) -> usize {
        match self {
            SizeLimit::Bytes(_) => c.len_utf8(),
            SizeLimit::Chars(_) => 1,
            SizeLimit::Utf16(_) => c.len_utf16(),
        }
    }

    pub fn value(self) -> usize {
        match self {
            SizeLimit::Bytes(n) | SizeLimit::Chars(n) | SizeLimit::Utf16(n) => n,
        }
    }

    /// The same unit with another value, for a channel's `max_message_size` override.
    pub fn with_value(self, n: usize) -> SizeLimit {
        match self {
            SizeLimit::Bytes(_) => SizeLimit::Bytes(n),
            SizeLimit::Chars(_) => SizeLimit::Chars(n),
            SizeLimit::Utf16(_) => SizeLimit::Utf16(n),
        }
    }

    pub fn fits(self, s: &str) -> bool {
        self.measure(s) <= self.value()
    }
}

/// Who a mention token points at, as far as the markup is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionRef<'a> {
    /// A platform user id (or, on DingTalk, a mobile number): the chat notifies that person.
    /// Plain text shows the name, since a bare id means nothing to a reader.
    Handle { id: &'a str, name: &'a str },
    /// Only a display name is known: written as `@Name` and notifies nobody.
    Name(&'a str),
}

impl Dialect {
    pub const ALL: [Dialect; 11] = [
        Dialect::Plain,
        Dialect::DingTalkMarkdown,
        Dialect::WeComMarkdown,
        Dialect::FeishuMarkdown,
        Dialect::SlackMrkdwn,
        Dialect::DingTalkText,
        Dialect::DiscordMarkdown,
        Dialect::MattermostMarkdown,
        Dialect::TelegramHtml,
        Dialect::TeamsMarkdown,
        Dialect::GoogleChatText,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Plain => "plain",
            Dialect::DingTalkMarkdown => "dingtalk_markdown",
            Dialect::WeComMarkdown => "wecom_markdown",
            Dialect::FeishuMarkdown => "feishu_markdown",
            Dialect::SlackMrkdwn => "slack_mrkdwn",
            Dialect::DingTalkText => "dingtalk_text",
            Dialect::DiscordMarkdown => "discord_markdown",
            Dialect::MattermostMarkdown => "mattermost_markdown",
            Dialect::TelegramHtml => "telegram_html",
            Dialect::TeamsMarkdown => "teams_markdown",
            Dialect::GoogleChatText => "google_chat_text",
        }
    }
}

/// Whether a platform handle can be written inside mention markup without breaking it.
/// Handles come from the config file; one with spaces or markup characters would produce a
/// broken tag, so such a person is mentioned by name instead.
pub fn is_safe_handle(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 128
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+' | ':'))
}

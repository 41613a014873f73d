//! Markup dialects: how each chat formats text, escapes user text and writes an @mention.
//!
//! # Escaping policy
//!
//! Task titles, notes, unit and people names come from an office's spreadsheet and may contain
//! any character. They are escaped so that they can never change the message's layout, while
//! Chinese text passes through unchanged:
//!
//! * Every dialect first folds line breaks, tabs and other control characters in a value into a
//!   single space: the template, not the data, decides where lines end (this also keeps the
//!   splitter's line boundaries under the template's control).
//! * [`Dialect::Plain`]: nothing else.
//! * [`Dialect::SlackMrkdwn`]: `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`, the only escaping Slack
//!   documents. `*`, `_`, `~` are left alone: Slack only formats them when they wrap a word.
//! * [`Dialect::DiscordMarkdown`] and [`Dialect::MattermostMarkdown`]: both renderers honour a
//!   backslash before any ASCII punctuation (Discord's parser and CommonMark alike), so markup
//!   characters are backslash-escaped, as discord.py's `escape_markdown` does:
//!   - anywhere: `\`, `*`, `` ` ``, `~`, `|` (Discord spoilers, Mattermost tables), `[`, `]`;
//!     `_` unless it sits between two letters or digits (as above);
//!   - at the start of a value: `#`, `>`, a `-`/`+`/`=` list or rule marker, Discord's `-#`
//!     subtext, and the `.`/`)` of a leading `12.`/`12)`;
//!   - URLs (`http://`, `https://`) are copied as they are up to the next space, because both
//!     chats link them before reading markup and a backslash would break the link; trailing
//!     `*`, `_` and `~` are escaped as usual, since they are not part of a link.
//!
//!   Mentions need more than markup escaping, because they are found in the raw text:
//!   - Discord: `<` is backslash-escaped (user, role and channel mentions, emoji, timestamps all
//!     start with it), and `@everyone`/`@here` get a zero-width space after the `@`, as
//!     discord.py's `escape_mentions` does. Request bodies also set `allowed_mentions`, so
//!     only the people weekbell means are pinged whatever the text says.
//!   - Mattermost: every `@` before a letter or digit gets a zero-width space (any `@word` in
//!     a post notifies the user or channel named `word`, and the server reads mentions after
//!     removing markdown escapes, so a backslash would not stop it), and so does every `<`
//!     (the server turns Slack-style `<!channel>`, `<@id>` and `<url|text>` into mentions and
//!     links before it reads markdown).
//! * [`Dialect::TelegramHtml`]: `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`, which is all
//!   Telegram's HTML parse mode asks for outside tags. `"` stays as typed: it only matters
//!   inside an attribute, and the one attribute weekbell writes (a mention's `href`) holds
//!   nothing but digits.
//! * [`Dialect::GoogleChatText`]: Google Chat shows HTML entities literally (`&gt;` stays
//!   `&gt;`), so there is nothing to escape with. `<` becomes `＜`, so that a value can never
//!   open a mention (`<users/all>`) or a link (`<https://…|text>`), and `` ` `` becomes `｀`, so
//!   that it cannot open a monospace block that swallows the lines after it. `*`, `_`, `~` are
//!   left alone: as in Slack, they only format a word they wrap.
//! * The three Chinese markdown dialects (DingTalk, WeCom, Feishu `lark_md`) and Teams'
//!   Adaptive Card `TextBlock` markdown: none of these vendors documents a backslash escape, so a
//!   backslash might show up literally. Characters that would start markup are instead replaced
//!   by their full-width forms, which no renderer treats as markup and which read naturally in
//!   Chinese text (and well enough in English, where they are rare in task lists):
//!   - anywhere: `*`→`＊`, `` ` ``→`｀`, `[`→`［`, `]`→`］`, `~`→`～`, `<`→`＜` (tags: `<font>`,
//!     `<at>`, `<@userid>`);
//!   - `_`→`＿` unless it sits between two letters or digits (`OPS_331` stays copyable so people
//!     can type it back in a command; an intraword `_` does not start emphasis);
//!   - at the start of a value, where a block construct could begin (a value often follows a
//!     list bullet, and `- # x` is a heading inside a list item): `#`, `>`, `-`, `+`, `=`, `|`,
//!     and the `.`/`)` of a leading `12.`/`12)`.
//!
//! # Mentions
//!
//! DingTalk `@<userId or mobile>` (the same id must be in the request's `at` lists, which
//! `platforms::dingtalk` fills from the part's mentions), WeCom `<@userid>`, Feishu
//! `<at id=ou_xxx></at>`, Slack and Discord `<@U123>`, Mattermost `@username`, Telegram
//! `<a href="tg://user?id=123">Name</a>` for a numeric user id and `@username` for a username,
//! Teams `<at>Name</at>` (the card's `msteams.entities` says who that is, matched on exactly this
//! text, which `platforms::teams` builds with the same function), Google Chat `<users/123>`,
//! Plain `@Name`. Someone without a usable handle on the
//! platform is written `@Name` and notifies nobody. DingTalk shows the raw id in markdown
//! messages on some clients; it still notifies.
//!
//! Dialect output (bold, headings, mentions) is produced only by this module, so templates never
//! have to know a dialect's syntax.

pub use crate::types::{Dialect, MentionRef, SizeLimit, is_safe_handle};
use std::borrow::Cow;

impl Dialect {
    /// Escapes user text for this dialect (see the module docs for the exact rules).
    pub fn escape(self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 8);
        self.escape_into(s, &mut out);
        out
    }

    /// Like [`escape`](Self::escape) but appends to `out`, so hot paths avoid an allocation.
    pub fn escape_into(self, s: &str, out: &mut String) {
        let s = fold_breaks(s);
        match self {
            Dialect::Plain | Dialect::DingTalkText => out.push_str(&s),
            Dialect::SlackMrkdwn | Dialect::TelegramHtml => {
                for c in s.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        _ => out.push(c),
                    }
                }
            }
            Dialect::GoogleChatText => {
                for c in s.chars() {
                    match c {
                        '<' => out.push('＜'),
                        '`' => out.push('｀'),
                        _ => out.push(c),
                    }
                }
            }
            Dialect::DiscordMarkdown => escape_backslash_markdown(&s, Flavor::Discord, out),
            Dialect::MattermostMarkdown => escape_backslash_markdown(&s, Flavor::Mattermost, out),
            Dialect::DingTalkMarkdown
            | Dialect::WeComMarkdown
            | Dialect::FeishuMarkdown
            | Dialect::TeamsMarkdown => escape_cjk_markdown(&s, out),
        }
    }

    /// Bold text. `escaped` must already be escaped for this dialect.
    pub fn bold(self, escaped: &str) -> String {
        let t = escaped.trim();
        if t.is_empty() {
            return String::new();
        }
        match self {
            Dialect::Plain | Dialect::DingTalkText => t.to_string(),
            // mrkdwn and Chat bold are a single star and fail when the star touches a space.
            Dialect::SlackMrkdwn | Dialect::GoogleChatText => format!("*{t}*"),
            Dialect::TelegramHtml => format!("<b>{t}</b>"),
            _ => format!("**{t}**"),
        }
    }

    /// A heading line (1–6; Discord 1–3). Dialects without headings (Slack, Telegram, Google
    /// Chat, Teams cards, Feishu cards, where heading support depends on the card version) use
    /// bold instead; Plain writes the text as is.
    pub fn heading(self, escaped: &str, level: usize) -> String {
        let t = escaped.trim();
        if t.is_empty() {
            return String::new();
        }
        match self {
            Dialect::DingTalkMarkdown | Dialect::WeComMarkdown | Dialect::MattermostMarkdown => {
                format!("{} {t}", "#".repeat(level.clamp(1, 6)))
            }
            // Discord has three heading sizes.
            Dialect::DiscordMarkdown => format!("{} {t}", "#".repeat(level.clamp(1, 3))),
            Dialect::FeishuMarkdown
            | Dialect::SlackMrkdwn
            | Dialect::TelegramHtml
            | Dialect::TeamsMarkdown
            | Dialect::GoogleChatText => self.bold(t),
            Dialect::Plain | Dialect::DingTalkText => t.to_string(),
        }
    }

    /// The marker that starts a list item. Slack mrkdwn has no list syntax and WeCom markdown
    /// (v1) shows `- ` literally, which reads fine; `• ` is what Slack users expect, and
    /// Telegram's HTML has no list either. Discord and Mattermost render `- ` as a list. Teams
    /// cards and Google Chat do have `- ` lists, but a Teams list item cannot hold a soft line
    /// break and each card line is its own paragraph there, so `• ` is also the steadier choice.
    pub fn bullet(self) -> &'static str {
        match self {
            Dialect::SlackMrkdwn
            | Dialect::Plain
            | Dialect::DingTalkText
            | Dialect::TelegramHtml
            | Dialect::TeamsMarkdown
            | Dialect::GoogleChatText => "• ",
            _ => "- ",
        }
    }

    /// The text that @mentions someone. A [`MentionRef::Name`] is written `@Name` in every
    /// dialect: the chat shows who is meant, but nobody is notified.
    pub fn mention(self, target: MentionRef<'_>) -> String {
        match target {
            // `@everyone` (Discord) or `@alice` (Mattermost) must not notify when it is only
            // a name, so there the whole `@Name` goes through the mention guard.
            MentionRef::Name(name) => match self {
                Dialect::DiscordMarkdown | Dialect::MattermostMarkdown => {
                    self.escape(&format!("@{}", name.trim()))
                }
                _ => format!("@{}", self.escape(name.trim())),
            },
            MentionRef::Handle { id: h, name } => match self {
                Dialect::Plain => format!("@{}", self.escape(name.trim())),
                Dialect::DingTalkMarkdown | Dialect::DingTalkText => format!("@{h}"),
                Dialect::WeComMarkdown | Dialect::SlackMrkdwn | Dialect::DiscordMarkdown => {
                    format!("<@{h}>")
                }
                Dialect::FeishuMarkdown => format!("<at id={h}></at>"),
                Dialect::MattermostMarkdown => format!("@{h}"),
                // A user id notifies only inside a link; a username is a mention as plain text.
                Dialect::TelegramHtml if !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()) => {
                    format!(
                        "<a href=\"tg://user?id={h}\">{}</a>",
                        self.escape(name.trim())
                    )
                }
                Dialect::TelegramHtml => format!("@{}", h.trim_start_matches('@')),
                Dialect::TeamsMarkdown => format!("<at>{}</at>", self.escape(name.trim())),
                Dialect::GoogleChatText => {
                    format!("<users/{}>", h.strip_prefix("users/").unwrap_or(h))
                }
            },
        }
    }

    /// Final touches on a whole rendered message, applied before splitting.
    ///
    /// DingTalk's markdown joins consecutive lines into one paragraph on some clients; its
    /// documentation recommends two spaces around `\n`, so every non-blank line ends with a
    /// markdown hard break (two trailing spaces).
    pub fn finish<'t>(self, text: &'t str) -> Cow<'t, str> {
        match self {
            Dialect::DingTalkMarkdown => {
                let mut out = String::with_capacity(text.len() + text.len() / 16);
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(line);
                    if !line.trim().is_empty() {
                        out.push_str("  ");
                    }
                }
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// The first line of one part of a split message, e.g. `(2/3)`.
    pub fn part_prefix(self, part: usize, parts: usize) -> String {
        match self {
            Dialect::DingTalkMarkdown => format!("({part}/{parts})  "),
            _ => format!("({part}/{parts})"),
        }
    }

    /// Markup that a part boundary must not cut through: Telegram refuses a message that ends
    /// inside a tag (`Unclosed start tag`), and half an entity shows as text.
    pub fn unbreakable(self) -> &'static [&'static str] {
        match self {
            // weekbell's own markup, and the tags a template most likely writes itself.
            Dialect::TelegramHtml => &[
                "<b>", "</b>", "</a>", "<i>", "</i>", "<u>", "</u>", "<s>", "</s>", "<code>",
                "</code>", "<pre>", "</pre>", "&amp;", "&lt;", "&gt;", "&quot;",
            ],
            _ => &[],
        }
    }

    /// Makes each part of a split message stand on its own. Telegram refuses a message whose
    /// tags do not balance (`Can't find end tag corresponding to start tag "b"`), so a tag
    /// still open at the end of a part is closed there and opened again at the start of the
    /// next one, after its `(i/n)` line. Other dialects have no paired tags to repair.
    pub fn balance_parts(self, parts: &mut [String]) {
        if self != Dialect::TelegramHtml || parts.len() < 2 {
            return;
        }
        let mut carried: Vec<(String, String)> = Vec::new();
        for part in parts.iter_mut() {
            let mut text = String::with_capacity(part.len() + 32);
            let (first, rest) = part.split_once('\n').unwrap_or((part.as_str(), ""));
            text.push_str(first);
            text.push('\n');
            for (_, open) in &carried {
                text.push_str(open);
            }
            text.push_str(rest);
            carried = open_html_tags(&text);
            for (name, _) in carried.iter().rev() {
                text.push_str("</");
                text.push_str(name);
                text.push('>');
            }
            *part = text;
        }
    }
}

/// The tags still open at the end of `html`, outermost first, as (name, opening tag). Only
/// markup is scanned: escaped text holds no `<`. An end tag without a name (`</>`) closes
/// the innermost tag, as Telegram reads it; an end tag with nothing open is left alone.
fn open_html_tags(html: &str) -> Vec<(String, String)> {
    let mut open: Vec<(String, String)> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..=start + len];
        rest = &rest[start + len + 1..];
        if let Some(end) = tag.strip_prefix("</") {
            let name = end.trim_end_matches('>').trim().to_ascii_lowercase();
            match open
                .iter()
                .rposition(|(n, _)| name.is_empty() || *n == name)
            {
                Some(i) => open.truncate(i),
                None => continue,
            }
        } else {
            let name: String = tag[1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect::<String>()
                .to_ascii_lowercase();
            if !name.is_empty() {
                open.push((name, tag.to_string()));
            }
        }
    }
    open
}

fn fold_breaks(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut in_break = false;
    for c in s.chars() {
        if c.is_control() {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
        } else {
            out.push(c);
            in_break = false;
        }
    }
    Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Discord,
    Mattermost,
}

/// The zero-width space that keeps `@everyone`, `@name` or `<!channel>` from being read as a
/// mention while it still reads the same.
const ZWSP: char = '\u{200B}';

fn escape_backslash_markdown(s: &str, flavor: Flavor, out: &mut String) {
    let lead = s.len() - s.trim_start().len();
    let rest = &s[lead..];
    let ends_marker = |i: usize| s[i..].chars().next().is_none_or(char::is_whitespace);
    let ordered_marker = {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let i = lead + digits;
        ((1..=9).contains(&digits)
            && matches!(s.as_bytes().get(i), Some(b'.' | b')'))
            && ends_marker(i + 1))
        .then_some(i)
    };
    let repeated_marker = |c: char| {
        let run = rest.chars().take_while(|&x| x == c).count();
        ends_marker(lead + run)
    };
    let mut prev: Option<char> = None;
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        if !prev.is_some_and(char::is_alphanumeric) && starts_url(&s[i..]) {
            let url = url_at(&s[i..]);
            for u in url.chars() {
                // Mattermost reads mentions inside links too.
                out.push(u);
                if flavor == Flavor::Mattermost && u == '@' {
                    out.push(ZWSP);
                }
            }
            i += url.len();
            prev = url.chars().last();
            continue;
        }
        let next = s[i + c.len_utf8()..].chars().next();
        let at_start = i == lead;
        match c {
            '\\' | '*' | '`' | '~' | '|' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '_' => {
                let intraword = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                if !intraword {
                    out.push('\\');
                }
                out.push(c);
            }
            '<' => match flavor {
                Flavor::Discord => out.push_str("\\<"),
                Flavor::Mattermost => {
                    out.push('<');
                    out.push(ZWSP);
                }
            },
            '@' => {
                out.push('@');
                let guard = match flavor {
                    Flavor::Discord => {
                        let after = &s[i + 1..];
                        after.starts_with("everyone") || after.starts_with("here")
                    }
                    Flavor::Mattermost => next.is_some_and(char::is_alphanumeric),
                };
                if guard {
                    out.push(ZWSP);
                }
            }
            '#' | '>' if at_start => {
                out.push('\\');
                out.push(c);
            }
            '-' if at_start && (repeated_marker('-') || next == Some('#')) => {
                out.push_str("\\-");
            }
            '+' | '=' if at_start && repeated_marker(c) => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if ordered_marker == Some(i) => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        prev = Some(c);
        i += c.len_utf8();
    }
}

fn starts_url(s: &str) -> bool {
    let head = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// The URL at the start of `s`: up to the next space or `<`, without trailing `*`, `_`, `~`
/// (emphasis that closes after a link is not part of it).
fn url_at(s: &str) -> &str {
    let end = s
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['*', '_', '~'])
}

fn escape_cjk_markdown(s: &str, out: &mut String) {
    let lead = s.len() - s.trim_start().len();
    let rest = &s[lead..];
    // A block marker only counts when whitespace (or the end) follows it, as in CommonMark:
    // `-5%` and `2026.12.31` are ordinary text and stay as written.
    let ends_marker = |i: usize| s[i..].chars().next().is_none_or(char::is_whitespace);
    let ordered_marker = {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let i = lead + digits;
        ((1..=9).contains(&digits)
            && matches!(s.as_bytes().get(i), Some(b'.' | b')'))
            && ends_marker(i + 1))
        .then_some(i)
    };
    let repeated_marker = |c: char| {
        let run = rest.chars().take_while(|&x| x == c).count();
        ends_marker(lead + run)
    };
    let mut prev: Option<char> = None;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|x| x.1);
        let at_start = i == lead;
        let mapped = match c {
            '*' => Some('＊'),
            '`' => Some('｀'),
            '[' => Some('［'),
            ']' => Some('］'),
            '~' => Some('～'),
            '<' => Some('＜'),
            '_' => {
                let intraword = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                (!intraword).then_some('＿')
            }
            '#' if at_start => Some('＃'),
            '>' if at_start => Some('＞'),
            '|' if at_start => Some('｜'),
            '-' if at_start && repeated_marker('-') => Some('－'),
            '+' if at_start && repeated_marker('+') => Some('＋'),
            '=' if at_start && repeated_marker('=') => Some('＝'),
            '.' if ordered_marker == Some(i) => Some('．'),
            ')' if ordered_marker == Some(i) => Some('）'),
            _ => None,
        };
        out.push(mapped.unwrap_or(c));
        prev = Some(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keeps_text_but_folds_line_breaks() {
        assert_eq!(Dialect::Plain.escape("a*b_c <x>"), "a*b_c <x>");
        assert_eq!(
            Dialect::Plain.escape("第一行\r\n\n第二行\t完"),
            "第一行 第二行 完"
        );
    }

    #[test]
    fn slack_escapes_only_the_three_documented_characters() {
        assert_eq!(
            Dialect::SlackMrkdwn.escape("R&D <!channel> *x* a>b"),
            "R&amp;D &lt;!channel&gt; *x* a&gt;b"
        );
    }

    #[test]
    fn telegram_html_escapes_what_its_parser_reads_as_markup() {
        assert_eq!(
            Dialect::TelegramHtml.escape("R&D <b>x</b> \"q\" a>b &amp;"),
            "R&amp;D &lt;b&gt;x&lt;/b&gt; \"q\" a&gt;b &amp;amp;"
        );
        assert_eq!(Dialect::TelegramHtml.bold(" 逾期 "), "<b>逾期</b>");
        assert_eq!(Dialect::TelegramHtml.heading("Week", 1), "<b>Week</b>");
        assert_eq!(Dialect::TelegramHtml.bullet(), "• ");
    }

    #[test]
    fn telegram_mentions_link_ids_and_name_usernames() {
        let d = Dialect::TelegramHtml;
        assert_eq!(
            d.mention(MentionRef::Handle {
                id: "123456789",
                name: "A<l>ice & co"
            }),
            "<a href=\"tg://user?id=123456789\">A&lt;l&gt;ice &amp; co</a>"
        );
        assert_eq!(
            d.mention(MentionRef::Handle {
                id: "@alice_tg",
                name: "Alice"
            }),
            "@alice_tg"
        );
        assert_eq!(
            d.mention(MentionRef::Handle {
                id: "alice_tg",
                name: "Alice"
            }),
            "@alice_tg"
        );
        assert_eq!(d.mention(MentionRef::Name("孙<强>")), "@孙&lt;强&gt;");
    }

    #[test]
    fn telegram_parts_close_and_reopen_tags_cut_by_a_split() {
        let mut parts = vec![
            "(1/3)\n<b>Overdue\n• a".to_string(),
            "(2/3)\n• b</b> <i>x".to_string(),
            "(3/3)\n</i>done <a href=\"tg://user?id=1\">A</a>".to_string(),
        ];
        Dialect::TelegramHtml.balance_parts(&mut parts);
        assert_eq!(
            parts,
            vec![
                "(1/3)\n<b>Overdue\n• a</b>".to_string(),
                "(2/3)\n<b>• b</b> <i>x</i>".to_string(),
                "(3/3)\n<i></i>done <a href=\"tg://user?id=1\">A</a>".to_string(),
            ]
        );
        // One part, or another dialect: unchanged.
        let mut one = vec!["<b>x".to_string()];
        Dialect::TelegramHtml.balance_parts(&mut one);
        assert_eq!(one, vec!["<b>x".to_string()]);
        let mut slack = vec!["(1/2)\n*x".to_string(), "(2/2)\ny*".to_string()];
        Dialect::SlackMrkdwn.balance_parts(&mut slack);
        assert_eq!(slack[0], "(1/2)\n*x");
    }

    #[test]
    fn open_tags_follow_telegrams_reading() {
        assert!(open_html_tags("<b>a</b> <i>b</>").is_empty());
        assert_eq!(
            open_html_tags("<b><i>x</i>"),
            vec![("b".to_string(), "<b>".to_string())]
        );
        // A stray end tag closes nothing.
        assert_eq!(open_html_tags("</b><u>").len(), 1);
    }

    #[test]
    fn chinese_text_is_unchanged_in_every_dialect() {
        let s =
            "县城建成区餐饮油烟净化设施未全覆盖（已完成 62 家，剩余 18 家）；耕地“非农化”问题整改";
        for d in Dialect::ALL {
            assert_eq!(d.escape(s), s, "{d:?}");
        }
    }

    #[test]
    fn cjk_markdown_neutralises_inline_markup() {
        for d in [
            Dialect::DingTalkMarkdown,
            Dialect::WeComMarkdown,
            Dialect::FeishuMarkdown,
        ] {
            assert_eq!(
                d.escape("**重点** `x` [链接](u)"),
                "＊＊重点＊＊ ｀x｀ ［链接］(u)"
            );
            assert_eq!(
                d.escape("<font color=red>红</font>"),
                "＜font color=red>红＜/font>"
            );
            assert_eq!(d.escape("<at id=all></at>"), "＜at id=all>＜/at>");
            assert_eq!(d.escape("3~5 天"), "3～5 天");
            assert_eq!(d.escape("138****0123"), "138＊＊＊＊0123");
        }
    }

    #[test]
    fn discord_backslash_escapes_markup_and_guards_mass_mentions() {
        let d = Dialect::DiscordMarkdown;
        assert_eq!(
            d.escape("**重点** `x` [链接](u) ~~删~~ ||剧透|| a\\b"),
            r"\*\*重点\*\* \`x\` \[链接\](u) \~\~删\~\~ \|\|剧透\|\| a\\b"
        );
        assert_eq!(
            d.escape("<@123456789012345678> <#1> <:e:1>"),
            r"\<@123456789012345678> \<#1> \<:e:1>"
        );
        assert_eq!(
            d.escape("@everyone and @here"),
            "@\u{200B}everyone and @\u{200B}here"
        );
        assert_eq!(d.escape("mail me@example.com"), "mail me@example.com");
        assert_eq!(d.escape("# 标题"), r"\# 标题");
        assert_eq!(d.escape("-# small"), r"\-# small");
        assert_eq!(d.escape("> quote"), r"\> quote");
        assert_eq!(d.escape("- item"), r"\- item");
        assert_eq!(d.escape("12. 第十二"), r"12\. 第十二");
        assert_eq!(d.escape("a # b > c - d 1. e"), "a # b > c - d 1. e");
        assert_eq!(d.escape("OPS_331 _x_"), r"OPS_331 \_x\_");
        assert_eq!(d.escape("-5% 2026.12.31"), "-5% 2026.12.31");
    }

    #[test]
    fn urls_are_left_whole_so_links_still_work() {
        let d = Dialect::DiscordMarkdown;
        assert_eq!(
            d.escape("see https://example.com/a_b*c~d|e, then _x_"),
            r"see https://example.com/a_b*c~d|e, then \_x\_"
        );
        assert_eq!(d.escape("*https://x.io/a_*"), r"\*https://x.io/a\_\*");
        let m = Dialect::MattermostMarkdown;
        assert_eq!(
            m.escape("https://x.io/@channel/a_b"),
            "https://x.io/@\u{200B}channel/a_b"
        );
    }

    #[test]
    fn mattermost_guards_every_mention_and_slack_style_token() {
        let d = Dialect::MattermostMarkdown;
        assert_eq!(
            d.escape("ask @alice or @channel"),
            "ask @\u{200B}alice or @\u{200B}channel"
        );
        assert_eq!(
            d.escape("<!channel> <@U1> <http://x|y>"),
            "<\u{200B}!channel> <\u{200B}@\u{200B}U1> <\u{200B}http://x|y>"
        );
        assert_eq!(
            d.escape("**b** `c` ~~s~~ | t"),
            r"\*\*b\*\* \`c\` \~\~s\~\~ \| t"
        );
        assert_eq!(d.escape("## h"), r"\## h");
        assert_eq!(d.escape("3) 三"), r"3\) 三");
        assert_eq!(d.escape("a @ b"), "a @ b");
    }

    #[test]
    fn names_that_look_like_mass_mentions_notify_nobody() {
        let n = MentionRef::Name("everyone");
        assert_eq!(Dialect::DiscordMarkdown.mention(n), "@\u{200B}everyone");
        assert_eq!(Dialect::MattermostMarkdown.mention(n), "@\u{200B}everyone");
        let h = MentionRef::Handle {
            id: "80351110224678912",
            name: "Nelly",
        };
        assert_eq!(Dialect::DiscordMarkdown.mention(h), "<@80351110224678912>");
        let h = MentionRef::Handle {
            id: "alice",
            name: "Alice",
        };
        assert_eq!(Dialect::MattermostMarkdown.mention(h), "@alice");
    }

    #[test]
    fn underscore_is_kept_inside_words_so_ids_stay_copyable() {
        let d = Dialect::DingTalkMarkdown;
        assert_eq!(d.escape("OPS_331"), "OPS_331");
        assert_eq!(d.escape("_斜体_"), "＿斜体＿");
        assert_eq!(d.escape("a _b_ c"), "a ＿b＿ c");
    }

    #[test]
    fn block_markers_are_escaped_only_at_the_start() {
        let d = Dialect::WeComMarkdown;
        assert_eq!(d.escape("# 标题"), "＃ 标题");
        assert_eq!(d.escape("  > 引用"), "  ＞ 引用");
        assert_eq!(d.escape("- 项"), "－ 项");
        assert_eq!(d.escape("12. 第十二"), "12． 第十二");
        assert_eq!(d.escape("3) 三"), "3） 三");
        assert_eq!(d.escape("--- "), "－-- ");
        assert_eq!(d.escape("a # b > c - d 1. e"), "a # b > c - d 1. e");
        assert_eq!(d.escape("2026.12.31"), "2026.12.31");
        assert_eq!(d.escape("-5% 同比"), "-5% 同比");
    }

    #[test]
    fn a_line_break_in_a_value_cannot_start_a_heading() {
        let d = Dialect::DingTalkMarkdown;
        assert_eq!(d.escape("说明\n# 标题"), "说明 # 标题");
    }

    #[test]
    fn bold_and_heading_per_dialect() {
        assert_eq!(Dialect::Plain.bold("x"), "x");
        assert_eq!(Dialect::SlackMrkdwn.bold(" x "), "*x*");
        assert_eq!(Dialect::DingTalkMarkdown.bold("逾期"), "**逾期**");
        assert_eq!(Dialect::FeishuMarkdown.bold(""), "");
        assert_eq!(Dialect::DingTalkMarkdown.heading("周调度", 3), "### 周调度");
        assert_eq!(Dialect::WeComMarkdown.heading("周调度", 9), "###### 周调度");
        assert_eq!(Dialect::FeishuMarkdown.heading("周调度", 2), "**周调度**");
        assert_eq!(Dialect::SlackMrkdwn.heading("Week", 1), "*Week*");
        assert_eq!(Dialect::Plain.heading("Week", 1), "Week");
        assert_eq!(Dialect::DiscordMarkdown.heading("Week", 5), "### Week");
        assert_eq!(Dialect::MattermostMarkdown.heading("Week", 4), "#### Week");
        assert_eq!(Dialect::DiscordMarkdown.bold("x"), "**x**");
        assert_eq!(Dialect::MattermostMarkdown.bullet(), "- ");
    }

    #[test]
    fn mention_syntax_per_dialect() {
        let h = MentionRef::Handle {
            id: "U123",
            name: "Alice",
        };
        assert_eq!(Dialect::SlackMrkdwn.mention(h), "<@U123>");
        assert_eq!(Dialect::WeComMarkdown.mention(h), "<@U123>");
        assert_eq!(Dialect::FeishuMarkdown.mention(h), "<at id=U123></at>");
        assert_eq!(Dialect::DingTalkMarkdown.mention(h), "@U123");
        assert_eq!(Dialect::Plain.mention(h), "@Alice");
        let n = MentionRef::Name("孙<强>");
        assert_eq!(Dialect::SlackMrkdwn.mention(n), "@孙&lt;强&gt;");
        assert_eq!(Dialect::FeishuMarkdown.mention(n), "@孙＜强>");
        assert_eq!(Dialect::Plain.mention(n), "@孙<强>");
    }

    #[test]
    fn teams_uses_full_width_forms_and_at_tags() {
        let d = Dialect::TeamsMarkdown;
        assert_eq!(
            d.escape("**重点** [link](u) <at>Bob</at> snake_case _x_"),
            "＊＊重点＊＊ ［link］(u) ＜at>Bob＜/at> snake_case ＿x＿"
        );
        assert_eq!(d.escape("- item"), "－ item");
        assert_eq!(d.escape("1. first"), "1． first");
        assert_eq!(d.bold(" 逾期 "), "**逾期**");
        assert_eq!(d.heading("Weekly", 2), "**Weekly**");
        assert_eq!(d.bullet(), "• ");
        let h = MentionRef::Handle {
            id: "sun.qiang@county.gov.cn",
            name: " 孙强 ",
        };
        assert_eq!(d.mention(h), "<at>孙强</at>");
        // A name that would break the tag is escaped inside it, the same way the entity's
        // text is built, so the two still match.
        let odd = MentionRef::Handle {
            id: "0f3c2a9e-1b4d-4c8e-9a7f-2d6b5e8c1a30",
            name: "A <b>*B*</b>",
        };
        assert_eq!(d.mention(odd), "<at>A ＜b>＊B＊＜/b></at>");
        assert_eq!(d.mention(MentionRef::Name("Bob")), "@Bob");
    }

    #[test]
    fn google_chat_cannot_be_made_to_mention_or_link() {
        let d = Dialect::GoogleChatText;
        assert_eq!(
            d.escape("<users/all> <https://x.test|click> `code` a<b *x* _y_ R&D"),
            "＜users/all> ＜https://x.test|click> ｀code｀ a＜b *x* _y_ R&D"
        );
        assert_eq!(d.bold(" Overdue "), "*Overdue*");
        assert_eq!(d.heading("Weekly", 1), "*Weekly*");
        assert_eq!(d.bullet(), "• ");
        for id in ["users/1234567890", "1234567890"] {
            let h = MentionRef::Handle { id, name: "Alice" };
            assert_eq!(d.mention(h), "<users/1234567890>");
        }
        assert_eq!(d.mention(MentionRef::Name("A<b")), "@A＜b");
    }

    #[test]
    fn unsafe_handles_are_rejected() {
        assert!(is_safe_handle("ou_7d8a6e6df7621556ce0d21922b676706ccs"));
        assert!(is_safe_handle("13800000001"));
        assert!(is_safe_handle("staff-0001"));
        assert!(!is_safe_handle("U1> <@U2"));
        assert!(!is_safe_handle(""));
        assert!(!is_safe_handle("孙强"));
    }

    #[test]
    fn dingtalk_lines_end_in_hard_breaks() {
        assert_eq!(
            Dialect::DingTalkMarkdown.finish("### 标题\n\n- a\n- b"),
            "### 标题  \n\n- a  \n- b  "
        );
        assert_eq!(Dialect::SlackMrkdwn.finish("a\nb"), "a\nb");
    }

    #[test]
    fn size_limits_measure_in_their_unit() {
        assert_eq!(SizeLimit::Bytes(10).measure("整改"), 6);
        assert_eq!(SizeLimit::Chars(10).measure("整改"), 2);
        assert!(SizeLimit::Bytes(6).fits("整改"));
        assert!(!SizeLimit::Bytes(5).fits("整改"));
        assert_eq!(SizeLimit::Utf16(10).measure("整改😀"), 4);
        assert_eq!(SizeLimit::Utf16(10).char_cost('😀'), 2);
        assert_eq!(SizeLimit::Chars(5).with_value(9), SizeLimit::Chars(9));
    }
}

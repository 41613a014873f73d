//! A string that must never be printed (webhook URLs, signing secrets, tokens), and the one
//! [`Redactor`] that takes such strings back out of text a peer or a library wrote.

use std::borrow::Cow;
use std::fmt;

/// Holds a credential. `Debug` and `Display` print a placeholder, so a secret that ends up in a
/// log line or an error message by accident shows as `***` instead of leaking.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that needs it (signing, sending).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Replaces known secrets in text with `***`: error messages from reqwest, tungstenite or a
/// database driver, and pages a server echoes back, may quote a URL with its token or a
/// password, and none of that may reach a log line, an error or the outbox.
///
/// Every secret that is not blank is hidden, however short. The scrubbers this replaced left
/// alone secrets under 4 characters (channel credentials, database passwords) or under 8 (a
/// Telegram bot token): the safer figure wins, since a short password leaked whole costs a
/// rotation while a short one masked costs a less readable log line. Blank ones are skipped,
/// as they are unset (`"${VAR:-}"`) and hiding a space would mask every word.
///
/// Deliberately not `Debug`: it holds the secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is hidden whole.
    needles: Vec<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// A redactor for these secrets.
    pub fn of<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut redactor = Redactor::new();
        for secret in secrets {
            redactor.hide(secret.as_ref());
        }
        redactor
    }

    /// Also hides `secret`, as written and trimmed (a value pasted with a trailing space is
    /// quoted without it).
    pub fn hide(&mut self, secret: &str) -> &mut Self {
        for needle in [secret, secret.trim()] {
            if !needle.trim().is_empty() && !self.needles.iter().any(|n| n == needle) {
                let at = self.needles.partition_point(|n| n.len() >= needle.len());
                self.needles.insert(at, needle.to_string());
            }
        }
        self
    }

    /// Also hides `url` whole, and each of its path segments and query values that look like a
    /// token (raw and percent-decoded): where webhooks keep theirs (DingTalk `access_token`,
    /// WeCom `key`, the Feishu and Slack path, a DingTalk session). Words such as `open-apis`
    /// stay readable.
    pub fn hide_url(&mut self, url: &str) -> &mut Self {
        let raw = url.trim();
        self.hide(raw);
        let Ok(parsed) = reqwest::Url::parse(raw) else {
            return self;
        };
        self.hide(parsed.as_str());
        let mut pieces = Vec::new();
        for segment in parsed.path().split('/') {
            pieces.push(segment.to_string());
            pieces.push(percent_decode(segment).into_owned());
        }
        for (_, value) in parsed.query_pairs() {
            pieces.push(value.into_owned());
        }
        for pair in parsed.query().unwrap_or_default().split('&') {
            if let Some((_, value)) = pair.split_once('=') {
                pieces.push(value.to_string());
            }
        }
        for piece in pieces.iter().filter(|p| looks_like_a_token(p)) {
            self.hide(piece);
        }
        self
    }

    /// Also hides a credential of the form `<id>:<secret>` (a Telegram bot token) and its
    /// secret half alone, which a proxy quoting the URL percent-encoded (`%3A`) would
    /// otherwise show.
    pub fn hide_credential(&mut self, value: &str) -> &mut Self {
        self.hide(value);
        if let Some((_, rest)) = value.trim().split_once(':')
            && looks_like_a_token(rest)
        {
            self.hide(rest);
        }
        self
    }

    /// `text` with every secret replaced by `***`.
    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = text.replace(needle.as_str(), "***");
            }
        }
        text
    }
}

/// A URL piece that may be a credential: 16 characters or more, or 8 or more with a digit in
/// them (Slack's `T0123ABCD`).
fn looks_like_a_token(piece: &str) -> bool {
    let n = piece.chars().count();
    n >= 16 || (n >= 8 && piece.chars().any(|c| c.is_ascii_digit()))
}

/// `%XX` escapes decoded; a broken escape is kept as written and bytes that are not UTF-8
/// become U+FFFD, since the result is only ever a string to look for.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// What [`percent_encode`] leaves as is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters: a value for a query string
/// or a form body, whatever it holds.
pub fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redactor_hides_every_non_blank_secret_longest_first() {
        let r = Redactor::of(["T1", "", "  ", "abc", "abcdef"]);
        assert_eq!(r.text("ticket=T1 abcdef abc a b"), "ticket=*** *** *** a b");
        assert_eq!(Redactor::new().text("as is"), "as is");
    }

    #[test]
    fn a_redactor_hides_a_url_and_its_token_like_pieces_only() {
        let mut r = Redactor::new();
        r.hide_url(
            "https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-token-9f2d?key=k%2Fey123456",
        );
        let text = r.text("open-apis hook 0b7e3c1a-token-9f2d k/ey123456 k%2Fey123456");
        assert_eq!(text, "open-apis hook *** *** ***");
    }

    #[test]
    fn a_redactor_hides_the_secret_half_of_a_bot_token() {
        let mut r = Redactor::new();
        r.hide_credential(" 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw ");
        assert_eq!(
            r.text("/bot123456789%3AAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe"),
            "/bot123456789%3A***/getMe"
        );
    }

    #[test]
    fn percent_escapes_round_trip_and_broken_ones_survive() {
        assert_eq!(percent_encode("a b+c/=~"), "a%20b%2Bc%2F%3D~");
        assert_eq!(percent_encode("完"), "%E5%AE%8C");
        assert_eq!(percent_decode("a%41"), "aA");
        assert_eq!(percent_decode("abc%4"), "abc%4");
        assert_eq!(percent_decode("abc%"), "abc%");
    }

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("SECabc123");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("abc"));
        assert_eq!(s.expose(), "SECabc123");
    }
}

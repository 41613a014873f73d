//! Config errors that point at the offending text.

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// One thing wrong in the config file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Problem {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found in the file, not only the first, each with its line and column.
    #[error("{}", render_plain(path, text, problems))]
    Invalid {
        path: PathBuf,
        /// The file's text with literal secrets masked, so a report never shows them.
        text: Arc<String>,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn render_plain(path: &std::path::Path, text: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (line, col) = line_col(text, p.span.start);
        out.push_str(&format!("{}:{line}:{col}: {}", path.display(), p.message));
        if let Some(h) = &p.help {
            out.push_str(&format!(" ({h})"));
        }
    }
    out
}

/// One problem as a miette diagnostic, so the binary can draw the underlined source line.
#[derive(Debug)]
pub struct ProblemReport {
    source: NamedSource<Arc<String>>,
    problem: Problem,
    location: String,
}

impl fmt::Display for ProblemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem.message)
    }
}

impl std::error::Error for ProblemReport {}

impl Diagnostic for ProblemReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("weekbell::config"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.problem.span.clone();
        let len = span.end.saturating_sub(span.start).max(1);
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.problem.message.clone()),
            span.start,
            len,
        ))))
    }
}

impl ConfigError {
    /// Diagnostics with source snippets, one per problem.
    pub fn reports(&self) -> Vec<ProblemReport> {
        match self {
            ConfigError::Invalid {
                path,
                text,
                problems,
            } => problems
                .iter()
                .map(|p| {
                    let (line, col) = line_col(text, p.span.start);
                    ProblemReport {
                        source: NamedSource::new(path.display().to_string(), text.clone()),
                        problem: p.clone(),
                        location: format!("{}:{line}:{col}", path.display()),
                    }
                })
                .collect(),
            ConfigError::Read { .. } => Vec::new(),
        }
    }
}

/// Config keys whose values are credentials or contain one (a webhook URL holds its token).
pub const SECRET_KEYS: &[&str] = &[
    "webhook",
    "secret",
    "app_secret",
    "token",
    "encoding_aes_key",
    "verification_token",
    "encrypt_key",
    "signing_secret",
    "app_token",
    "security_token",
    "bot_token",
    "secret_token",
    "url",
];

/// A secret-bearing key's literal string value, where the file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LiteralSecret {
    /// The key the value is written under (the last part of a dotted key).
    pub key: String,
    pub value: String,
    /// The value as written, quotes included.
    pub span: Range<usize>,
}

/// Whether a key's value is (or holds) a credential. Besides the keys weekbell reads, a
/// misspelt one (`Webhook`, `signing-secret`) is refused as unknown with a snippet of its line, so
/// anything that looks like a credential is treated as one.
fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&lower.as_str())
        || ["secret", "token", "password", "webhook"]
            .iter()
            .any(|word| lower.contains(word))
}

/// A value that only names an environment variable (`${VAR}`, `${VAR:-}`) shows nothing
/// secret; a default (`${VAR:-literal}`) may be one.
fn is_reference(value: &str) -> bool {
    value.starts_with("${")
        && value.ends_with('}')
        && value.matches("${").count() == 1
        && value
            .split_once(":-")
            .is_none_or(|(_, default)| default == "}")
}

/// Every literal secret in the file, found in the parsed document rather than line by line,
/// so inline tables (`g = { webhook = "…" }`), dotted keys (`channels.g.webhook = "…"`) and
/// multi-line strings are found as well as `key = "…"` lines. A file that does not parse is
/// read as far as the parser can recover.
pub(super) fn literal_secrets(text: &str) -> Vec<LiteralSecret> {
    let (document, _errors) = toml::de::DeTable::parse_recoverable(text);
    let mut found = Vec::new();
    collect_table(document.get_ref(), false, &mut found);
    found.retain(|s| !s.value.is_empty() && !is_reference(&s.value));
    found
}

fn collect_table(table: &toml::de::DeTable<'_>, secret: bool, found: &mut Vec<LiteralSecret>) {
    for (key, value) in table {
        let key = key.get_ref();
        collect_value(key, value, secret || is_secret_key(key), found);
    }
}

fn collect_value(
    key: &str,
    value: &toml::Spanned<toml::de::DeValue<'_>>,
    secret: bool,
    found: &mut Vec<LiteralSecret>,
) {
    use toml::de::DeValue;
    match value.get_ref() {
        DeValue::String(s) if secret => found.push(LiteralSecret {
            key: key.to_string(),
            value: s.to_string(),
            span: value.span(),
        }),
        DeValue::Table(t) => collect_table(t, secret, found),
        DeValue::Array(items) => {
            for item in items.iter() {
                collect_value(key, item, secret, found);
            }
        }
        _ => {}
    }
}

/// Replaces the characters of literal secret values with `*`, keeping every byte offset and
/// line break, so that error snippets drawn from the file never show a token and spans
/// computed on the original still point at the same text. `${VAR}` references are kept: they
/// are names, not secrets, and showing them helps.
pub fn mask_secrets(text: &str) -> String {
    let spans: Vec<Range<usize>> = literal_secrets(text)
        .into_iter()
        .map(|s| inside_quotes(text, s.span))
        .collect();
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c != '\n' && c != '\r' && spans.iter().any(|s| s.contains(&i)) {
            // One '*' per byte keeps every later offset valid.
            out.extend(std::iter::repeat_n('*', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The part of a string value's span between its quotes (`"`, `'`, `"""` or `'''`).
fn inside_quotes(text: &str, span: Range<usize>) -> Range<usize> {
    let written = text.get(span.clone()).unwrap_or("");
    let quotes = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| written.len() >= 2 * q.len() && written.starts_with(q) && written.ends_with(q))
        .map_or(0, str::len);
    span.start + quotes..span.end - quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_literal_secrets_keeps_references_and_offsets() {
        let text = "webhook = \"https://oapi.dingtalk.com/robot/send?access_token=abc\"\nsecret = \"${SEC}\"\nname = \"x\"\n  token='t0k'\n";
        let masked = mask_secrets(text);
        assert_eq!(masked.len(), text.len());
        assert!(!masked.contains("access_token"));
        assert!(masked.contains("${SEC}"));
        assert!(masked.contains("name = \"x\""));
        assert!(!masked.contains("t0k"));
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\n名字 = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        let off = text
            .find('=')
            .map(|_| text.rfind('=').unwrap_or(0))
            .unwrap_or(0);
        assert_eq!(line_col(text, off), (2, 4));
    }
}

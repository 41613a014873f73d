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

/// Replaces the characters of literal secret values with `*`, keeping every byte offset, so
/// that error snippets drawn from the file never show a token. `${VAR}` references are kept:
/// they are names, not secrets, and showing them helps.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_line(line));
    }
    out
}

fn mask_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let Some(eq) = trimmed.find('=') else {
        return line.to_string();
    };
    let key = trimmed[..eq].trim().trim_matches('"');
    if !SECRET_KEYS.contains(&key) {
        return line.to_string();
    }
    let value_start = line.len() - trimmed.len() + eq + 1;
    let value = &line[value_start..];
    let Some(q) = value.find(['"', '\'']) else {
        return line.to_string();
    };
    let quote = value.as_bytes()[q] as char;
    let inner_start = value_start + q + 1;
    let inner_end = line[inner_start..]
        .find(quote)
        .map_or(line.trim_end().len(), |i| inner_start + i);
    let inner = &line[inner_start..inner_end];
    if inner.starts_with("${") && inner.ends_with('}') || inner.is_empty() {
        return line.to_string();
    }
    // One '*' per byte keeps every later offset valid for spans computed on the original.
    let stars = "*".repeat(inner.len());
    format!("{}{}{}", &line[..inner_start], stars, &line[inner_end..])
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

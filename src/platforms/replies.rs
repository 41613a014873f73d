//! Reply tables: what each documented reply of a platform means ([`ReplyVerdict`], one
//! [`ReplyRow`] per code in each platform's file), and the outcome of a reply that carries no
//! code, judged by its HTTP status.

use super::{DEFAULT_WAIT, MAX_WAIT, Outcome};
use std::fmt;
use std::time::Duration;

/// The most of the platform's own error message quoted in a reason.
const MAX_QUOTED_CHARS: usize = 300;

/// What a documented reply means for the delivery worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyVerdict {
    Sent,
    Retry,
    /// Wait this long unless the reply carried a `Retry-After`.
    Wait(Duration),
    Permanent,
}

/// One row of a platform's reply table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplyRow<C: 'static> {
    /// The platform's code (`errcode`, `code`, or Slack's error string).
    pub code: C,
    /// The platform's own message for it, as documented or observed.
    pub platform_message: &'static str,
    pub verdict: ReplyVerdict,
    /// In plain words, for the log and `weekbell outbox`.
    pub reason: &'static str,
    /// What a person should change (for permanent failures).
    pub hint: &'static str,
}

impl<C> ReplyRow<C> {
    /// The outcome for this row; `quoted` is the platform's message from the reply.
    pub(crate) fn outcome(
        &self,
        platform: &str,
        code: impl fmt::Display,
        quoted: Option<&str>,
        retry_after: Option<Duration>,
    ) -> Outcome {
        let reason = with_quote(self.reason, platform, code, quoted);
        self.verdict.outcome(reason, self.hint, retry_after)
    }
}

/// One documented reply of a platform, for documentation and `--help` style listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentedReply {
    /// The platform's code: DingTalk/WeCom `errcode`, Feishu `code`, Slack's error string.
    pub code: String,
    /// The platform's own message for it.
    pub platform_message: &'static str,
    pub verdict: ReplyVerdict,
    /// The reason weekbell gives, in plain words.
    pub reason: &'static str,
    /// What a person should change; empty when nothing needs to change.
    pub hint: &'static str,
}

impl ReplyVerdict {
    pub(crate) fn outcome(
        self,
        reason: String,
        hint: &str,
        retry_after: Option<Duration>,
    ) -> Outcome {
        match self {
            ReplyVerdict::Sent => Outcome::Sent,
            ReplyVerdict::Retry => Outcome::Retry { reason },
            ReplyVerdict::Wait(default) => Outcome::Wait {
                after: retry_after.unwrap_or(default).min(MAX_WAIT),
                reason,
            },
            ReplyVerdict::Permanent => Outcome::Permanent {
                reason,
                hint: hint.to_string(),
            },
        }
    }
}

/// "`reason` (`platform` `code`: `quoted`)".
pub(crate) fn with_quote(
    reason: &str,
    platform: &str,
    code: impl fmt::Display,
    quoted: Option<&str>,
) -> String {
    match quoted.map(clean_quote).filter(|q| !q.is_empty()) {
        Some(q) => format!("{reason} ({platform} {code}: {q})"),
        None => format!("{reason} ({platform} {code})"),
    }
}

/// A platform's message made safe to show: one line, at most [`MAX_QUOTED_CHARS`].
pub(crate) fn clean_quote(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > MAX_QUOTED_CHARS {
        let cut: String = trimmed.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{cut}…")
    } else {
        trimmed.to_string()
    }
}

/// The outcome of a reply that carries no platform code: judged by the HTTP status alone.
/// `what` names the platform in reasons ("DingTalk", "the webhook").
pub(crate) fn by_status(
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Outcome {
    let quoted = clean_quote(&String::from_utf8_lossy(body));
    let answer = if quoted.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {quoted}")
    };
    match status {
        200..=299 => Outcome::Sent,
        429 => Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: format!("{what} asked us to slow down ({answer})"),
        },
        408 => Outcome::Retry {
            reason: format!("{what} timed out reading the request ({answer})"),
        },
        500..=599 => Outcome::Retry {
            reason: format!("{what} had a server error ({answer})"),
        },
        300..=399 => Outcome::Permanent {
            reason: format!("{what} redirected the request elsewhere ({answer})"),
            hint: "the webhook address has moved: paste its current address into `webhook`".into(),
        },
        401 | 403 => Outcome::Permanent {
            reason: format!("{what} refused the request's credentials ({answer})"),
            hint: "check the channel's `webhook` address and its signing secret".into(),
        },
        404 | 410 => Outcome::Permanent {
            reason: format!("{what} has nothing at this address ({answer})"),
            hint: "check the channel's `webhook` address; the webhook may have been deleted".into(),
        },
        413 => Outcome::Permanent {
            reason: format!("{what} refused the message as too large ({answer})"),
            hint: "set a smaller `max_message_size` on the channel so messages are split into \
                   smaller parts"
                .into(),
        },
        400..=499 => Outcome::Permanent {
            reason: format!("{what} refused the request ({answer})"),
            hint: "check the channel's `webhook` address and, for a generic webhook, what its \
                   `template` produces"
                .into(),
        },
        _ => Outcome::Retry {
            reason: format!("{what} gave an unexpected answer ({answer})"),
        },
    }
}

/// The outcome when a platform that always answers with a JSON code (DingTalk, WeCom, Feishu)
/// answered without one: by status, except that a 2xx is not taken as delivered, because the
/// platform did not say it was (a proxy's page, a captive portal).
pub(crate) fn without_code(
    platform: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Outcome {
    if (200..300).contains(&status) {
        let quoted = clean_quote(&String::from_utf8_lossy(body));
        return Outcome::Retry {
            reason: format!(
                "{platform} answered HTTP {status} without its usual result code, so whether the \
                 message was posted is unknown ({})",
                if quoted.is_empty() {
                    "empty body"
                } else {
                    quoted.as_str()
                }
            ),
        };
    }
    by_status(platform, status, retry_after, body)
}

/// Test helper: `got` is the outcome a reply-table row promises (for permanent failures, the
/// reason quotes the platform's code and there is a hint).
#[cfg(test)]
pub(crate) fn assert_verdict(code: &str, verdict: ReplyVerdict, got: &Outcome) {
    match verdict {
        ReplyVerdict::Sent => assert_eq!(*got, Outcome::Sent),
        ReplyVerdict::Retry => assert!(matches!(got, Outcome::Retry { .. }), "{code} → {got:?}"),
        ReplyVerdict::Wait(d) => assert!(
            matches!(got, Outcome::Wait { after, .. } if *after == d),
            "{code} → {got:?}"
        ),
        ReplyVerdict::Permanent => {
            let Outcome::Permanent { reason, hint } = got else {
                panic!("{code} → {got:?}")
            };
            assert!(reason.contains(code), "{reason}");
            assert!(!hint.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fallback_table() {
        let cases: &[(u16, &str)] = &[
            (200, "sent"),
            (204, "sent"),
            (301, "permanent"),
            (400, "permanent"),
            (401, "permanent"),
            (403, "permanent"),
            (404, "permanent"),
            (408, "retry"),
            (410, "permanent"),
            (413, "permanent"),
            (422, "permanent"),
            (429, "wait"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
            (999, "retry"),
        ];
        for &(status, want) in cases {
            let got = match by_status("the webhook", status, None, b"") {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } => "retry",
                Outcome::Wait { .. } => "wait",
                Outcome::Permanent { .. } => "permanent",
            };
            assert_eq!(got, want, "HTTP {status}");
        }
        assert_eq!(
            by_status("x", 429, Some(Duration::from_secs(7)), b""),
            Outcome::Wait {
                after: Duration::from_secs(7),
                reason: "x asked us to slow down (HTTP 429)".into()
            }
        );
    }

    #[test]
    fn quotes_are_one_line_and_bounded() {
        assert_eq!(clean_quote(" a\nb\t"), "a b");
        let long = "x".repeat(1000);
        assert_eq!(clean_quote(&long).chars().count(), MAX_QUOTED_CHARS + 1);
    }
}

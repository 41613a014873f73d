//! What became of one attempt to send one part, as the delivery worker acts on it: the
//! [`Outcome`] every platform's reply table, every transport error and every refusal to build a
//! request comes down to, and the paces and waits it is measured in.

use crate::secret::Redactor;
use std::time::Duration;

/// What became of one attempt to send one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the message.
    Sent,
    /// Transient: 5xx, timeouts, connection refused/reset, unknown errors worth another try.
    Retry { reason: String },
    /// The platform asked us to slow down: 429 with Retry-After, DingTalk 130101, WeCom 45009,
    /// Feishu 11232 … Send nothing more to this channel before `after` has passed.
    Wait { after: Duration, reason: String },
    /// Will never succeed as is: bad token/URL, bad signature, keyword or IP allow-list refusal,
    /// too long, bad payload. `hint` tells a person what to change.
    Permanent { reason: String, hint: String },
}

impl Outcome {
    /// The reason in plain words; `None` for [`Outcome::Sent`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Sent => None,
            Outcome::Retry { reason }
            | Outcome::Wait { reason, .. }
            | Outcome::Permanent { reason, .. } => Some(reason),
        }
    }

    /// The outcome with `redactor`'s secrets taken out of its reason and hint.
    pub(crate) fn redacted(self, redactor: &Redactor) -> Outcome {
        let f = |text: &str| redactor.text(text);
        match self {
            Outcome::Sent => Outcome::Sent,
            Outcome::Retry { reason } => Outcome::Retry { reason: f(&reason) },
            Outcome::Wait { after, reason } => Outcome::Wait {
                after,
                reason: f(&reason),
            },
            Outcome::Permanent { reason, hint } => Outcome::Permanent {
                reason: f(&reason),
                hint: f(&hint),
            },
        }
    }
}

/// A sending pace: at most `count` messages per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl RateLimit {
    pub const fn new(count: u32, per: Duration) -> Self {
        RateLimit { count, per }
    }
}

/// How long to wait when a platform says "slow down" (HTTP 429 without `Retry-After`) without
/// saying for how long.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The longest wait a `Retry-After` header is taken at; more is read as this much, so a broken
/// or hostile header cannot park a channel for years or overflow the caller's arithmetic.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

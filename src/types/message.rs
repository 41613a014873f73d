//! One chat message part as rendered, the unit every platform sends and the outbox stores.

use serde::Serialize;

/// Someone @mentioned in a message, with what the platform needs to notify them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Mention {
    /// The configured person's id.
    pub person_id: Option<String>,
    pub name: String,
    /// The person's user id on the platform.
    pub handle: Option<String>,
    /// Set only where the platform can notify by mobile number (DingTalk) and no handle is
    /// configured, so numbers do not travel to platforms that do not need them.
    pub mobile: Option<String>,
}

/// One chat message: a whole message, or one numbered part of a split one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OutboundPart {
    /// Plain text (no markup); ends in ` (i/n)` when the message was split.
    pub title: String,
    /// The body in the platform's markup, starting with an `(i/n)` line when split.
    pub text: String,
    /// The people who are notified by this part: those whose mention occurs in its text.
    pub mentions: Vec<Mention>,
    /// 1-based.
    pub part: usize,
    pub parts: usize,
}

//! The states a task can be in, as names: config keys, chat commands and the task list all
//! speak of them.

use serde::Serialize;
use std::fmt;

/// The seven states a task can be in. Every source's own wording is mapped onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Todo,
    InProgress,
    Blocked,
    Done,
    Ongoing,
    Cancelled,
    /// Reported done by an owner, waiting for the reviewers' sign-off (审核销号) where the
    /// list's `review` asks for one. Not open: nobody is reminded of it and it is not overdue,
    /// since the owner's part is done; not done either, until a reviewer approves.
    Review,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Todo,
        Status::InProgress,
        Status::Blocked,
        Status::Done,
        Status::Ongoing,
        Status::Cancelled,
        Status::Review,
    ];

    /// The English name used in config keys, `--status` and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Todo => "todo",
            Status::InProgress => "in_progress",
            Status::Blocked => "blocked",
            Status::Done => "done",
            Status::Ongoing => "ongoing",
            Status::Cancelled => "cancelled",
            Status::Review => "review",
        }
    }

    /// Parses the canonical English name (also accepting spaces or dashes for `in_progress`).
    pub fn from_name(s: &str) -> Option<Status> {
        // Compared byte by byte rather than normalised into a new string: every status event
        // of a year's history is parsed by each merge and assessment.
        let s = s.trim().as_bytes();
        let same = |name: &str| {
            name.len() == s.len()
                && name.bytes().zip(s).all(|(n, c)| {
                    c.to_ascii_lowercase() == n || (n == b'_' && (*c == b' ' || *c == b'-'))
                })
        };
        Status::ALL.into_iter().find(|st| same(st.as_str()))
    }

    /// Open tasks are the ones reminders are about and that can be overdue.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Todo | Status::InProgress | Status::Blocked)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

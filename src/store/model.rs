//! The records the store reads and writes. Times are epoch milliseconds (UTC).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which database a [`super::Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a slot was claimed. Stored as `on_time`, `late`, `skipped` or `manual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    /// Fired at its minute.
    OnTime,
    /// Fired after its minute (the daemon was down or busy), within the catch-up window.
    Late,
    /// Recorded as passed without sending (too late to be useful, or a holiday policy).
    Skipped,
    /// Sent by hand (`weekbell send`), keyed `manual-<instant>`.
    Manual,
}

impl SlotStatus {
    pub const ALL: [SlotStatus; 4] = [
        SlotStatus::OnTime,
        SlotStatus::Late,
        SlotStatus::Skipped,
        SlotStatus::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SlotStatus::OnTime => "on_time",
            SlotStatus::Late => "late",
            SlotStatus::Skipped => "skipped",
            SlotStatus::Manual => "manual",
        }
    }
}

impl fmt::Display for SlotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status word in a stored row that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} status {value:?}; expected {expected}")]
pub struct UnknownStatus {
    kind: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for SlotStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SlotStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownStatus {
                kind: "slot",
                value: s.to_string(),
                expected: "on_time, late, skipped or manual",
            })
    }
}

/// Where an outbox message stands. Stored as `pending`, `sent`, `dead` or `dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (or being sent, when leased).
    Pending,
    /// The platform accepted it.
    Sent,
    /// Failed for good (permanent error or past its deadline); `outbox retry` revives it.
    Dead,
    /// Withdrawn by hand; kept for the record and never sent.
    Dropped,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Pending,
        OutboxStatus::Sent,
        OutboxStatus::Dead,
        OutboxStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
            OutboxStatus::Dropped => "dropped",
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutboxStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutboxStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownStatus {
                kind: "outbox",
                value: s.to_string(),
                expected: "pending, sent, dead or dropped",
            })
    }
}

/// A claim on one slot of one schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotClaim {
    pub schedule: String,
    /// The slot's local wall-clock time (`2026-12-04T17:00`) or `manual-<utc instant>`.
    pub slot_local: String,
    pub slot_at_ms: i64,
    pub status: SlotStatus,
    /// The replica or command that claims it, for the record.
    pub claimed_by: String,
    pub now_ms: i64,
}

/// One row of the slot ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub schedule: String,
    pub slot_local: String,
    pub slot_at_ms: i64,
    pub status: SlotStatus,
    pub claimed_by: String,
    pub claimed_ms: i64,
    /// How many outbox messages the claim enqueued.
    pub messages: i64,
}

/// A rendered message to enqueue with a slot claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    /// Deterministic, e.g. `friday-digest@2026-12-04T17:00/county/0/1`.
    pub id: String,
    pub slot_key: String,
    pub channel: String,
    pub platform: String,
    /// Order within the slot and channel (parts of a split digest count up).
    pub ord: i64,
    /// JSON of `render::OutboundPart`.
    pub payload: String,
    pub late: bool,
    pub deadline_ms: i64,
    /// Also the first moment it may be sent.
    pub created_ms: i64,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub id: String,
    pub slot_key: String,
    pub channel: String,
    pub platform: String,
    pub ord: i64,
    pub payload: String,
    pub status: OutboxStatus,
    /// Failed attempts so far (reset by `outbox retry`).
    pub attempts: i64,
    pub next_try_ms: i64,
    pub deadline_ms: i64,
    /// The last failure, already redacted by the sender.
    pub last_error: Option<String>,
    pub late: bool,
    pub created_ms: i64,
    /// When the status last changed (created, sent, dead, dropped, revived).
    pub updated_ms: i64,
    pub sent_ms: Option<i64>,
    /// While pending: the worker holding the lease. Once sent: the worker that sent it.
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
}

/// The head of line of one channel, as seen by a worker.
impl From<&NewEvent> for TaskEvent {
    fn from(e: &NewEvent) -> Self {
        TaskEvent {
            id: e.id.clone(),
            dedupe_key: e.dedupe_key.clone(),
            task_id: e.task_id.clone(),
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            source: e.source.clone(),
            channel: e.channel.clone(),
            field: e.field.clone(),
            old_value: e.old_value.clone(),
            new_value: e.new_value.clone(),
        }
    }
}

/// The outcome of one send, to write to the outbox with [`crate::store::Store::record`].
/// Each variant only changes a message that is still pending (a `Sent` also one that was
/// dropped or died while in flight, because it was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxUpdate {
    /// The platform accepted it; `worker` is kept as the sender.
    Sent {
        id: String,
        worker: String,
        at_ms: i64,
    },
    /// A failed attempt: try again at `next_try_ms`; the lease is given up.
    Retry {
        id: String,
        next_try_ms: i64,
        error: String,
    },
    /// A failed attempt that ends the message: a dead letter.
    Dead {
        id: String,
        reason: String,
        at_ms: i64,
    },
    /// Dead without an attempt: its deadline passed while it waited.
    Expired {
        id: String,
        reason: String,
        at_ms: i64,
    },
    /// Not attempted (shutting down): the lease is given back so the next start sends it at
    /// once instead of waiting for the lease to run out.
    Released { id: String, worker: String },
}

impl OutboxUpdate {
    pub fn id(&self) -> &str {
        match self {
            OutboxUpdate::Sent { id, .. }
            | OutboxUpdate::Retry { id, .. }
            | OutboxUpdate::Dead { id, .. }
            | OutboxUpdate::Expired { id, .. }
            | OutboxUpdate::Released { id, .. } => id,
        }
    }
}

/// Which outbox rows to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
    pub channel: Option<String>,
    /// At most this many rows; zero or less means all.
    pub limit: i64,
}

impl Default for OutboxFilter {
    fn default() -> Self {
        OutboxFilter {
            status: None,
            channel: None,
            limit: 50,
        }
    }
}

/// How many outbox rows are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
    pub dropped: i64,
}

/// The last task list that loaded cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSnapshot {
    /// Where it came from (the list's path or URL).
    pub source: String,
    pub json: String,
    pub saved_ms: i64,
}

/// The chat message a command's events come from: its id on its channel and the SHA-256
/// (hex) of its text, so that the same id with other text is told from a platform's retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundText {
    pub channel: String,
    pub message_id: String,
    pub text_sha256: String,
}

/// What [`crate::store::Store::append_events`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// How many of the events were new (none for a platform's retry).
    Events(usize),
    /// The message id was already recorded with other text: nothing was written.
    IdSeenWithOtherText,
}

/// A change to a task, to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEvent {
    pub id: String,
    /// Recorded at most once (the platform's message or event id); `None` never clashes.
    pub dedupe_key: Option<String>,
    pub task_id: String,
    pub at_ms: i64,
    pub actor: String,
    /// `file`, `chat`, `cli` or `api`.
    pub source: String,
    pub channel: Option<String>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A recorded change to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskEvent {
    pub id: String,
    pub dedupe_key: Option<String>,
    pub task_id: String,
    pub at_ms: i64,
    pub actor: String,
    pub source: String,
    pub channel: Option<String>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_text() {
        for s in SlotStatus::ALL {
            assert_eq!(s.as_str().parse::<SlotStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
        for s in OutboxStatus::ALL {
            assert_eq!(s.as_str().parse::<OutboxStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
        assert!("ontime".parse::<SlotStatus>().is_err());
        assert!("Sent".parse::<OutboxStatus>().is_err());
    }
}

/// What [`Store::lease_cursor`](super::Store::lease_cursor) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorLease {
    /// The caller holds the lease; fetch from `position` (`None`: from wherever the source
    /// starts, nothing having been confirmed yet).
    Held { position: Option<i64> },
    /// Another replica holds it until `until_ms`.
    Busy { holder: String, until_ms: i64 },
}

/// One answer of a chat platform's directory, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub platform: crate::types::Platform,
    /// `mobile`, `email`, or `user` (a sender's user id whose mobile was asked).
    pub key_kind: String,
    /// The normalised mobile or email, or the sender's user id.
    pub key: String,
    /// The platform's user id (for `user`, the mobile); `None`: no such user.
    pub user_id: Option<String>,
    pub resolved_ms: i64,
}

//! The store: the slot ledger, the outbox, the last good task list, task events, the inbound
//! ids already handled and the cursors of polled sources — all of weekbell's SQL.
//!
//! One [`Store`] type serves SQLite (the embedded default, one file in WAL mode) and PostgreSQL
//! (several replicas sharing one state) with one schema (the scripts in `migrations/`, applied
//! by `migrations.rs`) and one set of statements (`sql.rs`), through sqlx's `Any` driver. That
//! driver knows only booleans, integers, floats, text and blobs, so times are `BIGINT` epoch
//! milliseconds, flags are `BIGINT` 0/1 and statuses and JSON are `TEXT`.
//!
//! # Guarantees
//!
//! - **A slot is claimed once.** [`Store::claim_slot`] inserts the ledger row with
//!   `ON CONFLICT DO NOTHING` and, only if that insert won, the slot's messages — in one
//!   transaction. However many replicas race, one gets `true`; a failure half-way leaves
//!   neither the claim nor any message behind, so the slot can be claimed again.
//! - **Each channel sends in order.** A channel's head of line is its oldest pending message
//!   (by `created_ms`, then `ord`, then `id`). [`Store::lease_heads`] only ever hands out that
//!   message, so a head waiting for its retry holds back the rest of its channel, and only its
//!   channel. Dead and dropped messages do not block.
//! - **One sender per message at a time.** The lease is a conditional `UPDATE … RETURNING` that
//!   re-checks the row, so of two replicas asking at once exactly one gets it. A replica that
//!   dies leaves a lease that expires, and then another replica takes the message over.
//!   Delivery is therefore at-least-once: the message id is the idempotency key to send where a
//!   platform takes one.
//!
//! # Layout
//!
//! `open.rs` reads the URL and connects, `migrations.rs` brings the schema up to date, and each
//! table (or set of tables one concern owns) has its own `impl Store`: `ledger.rs` (the slot
//! ledger), `outbox.rs`, `tasks.rs` (the task snapshot and events), `inbound.rs` (inbound ids,
//! signatures and cursors), `directory.rs` (what the platforms' directories answered) and
//! `retention.rs` (deleting old rows). `write_tx.rs` holds the write transaction they share,
//! `model.rs` the row types and `error.rs` [`StoreError`].

mod directory;
mod error;
mod inbound;
mod ledger;
mod migrations;
mod model;
mod open;
mod outbox;
mod retention;
mod sql;
mod tasks;
mod write_tx;

pub use error::{StoreError, redact_url};
use model::UnknownStatus;
pub use model::{
    Appended, Backend, CursorLease, DirectoryEntry, InboundText, LedgerEntry, NewEvent, NewMessage,
    OutboxCounts, OutboxFilter, OutboxMessage, OutboxStatus, OutboxUpdate, SlotClaim, SlotStatus,
    TaskEvent, TaskSnapshot,
};

use crate::secret::Redactor;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Decode, Row, Type};
use std::fmt;
use std::sync::Arc;

/// The handle to weekbell's database. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Where the database is, fit to print: the SQLite path or the redacted PostgreSQL URL.
    location: Arc<str>,
    /// Passwords from the URL, scrubbed from every driver message kept in an error.
    secrets: Arc<[String]>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the database is, fit to print (a path, or the URL with its password hidden).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Closes every connection; later calls fail. Dropping the last clone does the same lazily.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn query_error(&self, action: impl Into<String>, e: sqlx::Error) -> StoreError {
        StoreError::Query {
            location: self.location.to_string(),
            action: action.into(),
            detail: Redactor::of(self.secrets.iter()).text(&e.to_string()),
            hint: error::hint_for(&e),
        }
    }

    fn corrupt(&self, error: RowError) -> StoreError {
        StoreError::Corrupt {
            location: self.location.to_string(),
            detail: error.to_string(),
        }
    }
}

/// A statement with its arguments, for the helpers that bind one row's columns in order.
type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn no_limit_if_not_positive(limit: i64) -> i64 {
    if limit <= 0 { i64::MAX } else { limit }
}

// ---- decoding -----------------------------------------------------------------------------------

/// Why a stored row cannot be read back: what `StoreError::Corrupt` then reports.
#[derive(Debug, thiserror::Error)]
enum RowError {
    #[error("column {column}: {source}")]
    Column {
        column: &'static str,
        source: sqlx::Error,
    },
    /// A status word this version does not know (a newer weekbell wrote it, or a hand edit).
    #[error("{0}")]
    UnknownStatus(#[from] UnknownStatus),
}

/// One column, or an error naming it.
fn col<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T, RowError>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(column)
        .map_err(|source| RowError::Column { column, source })
}

#[cfg(test)]
mod tests;

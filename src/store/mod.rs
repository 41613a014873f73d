//! The store: the slot ledger, the outbox, the last good task list, task events, the inbound
//! ids already handled and the cursors of polled sources — all of weekbell's SQL.
//!
//! One [`Store`] type serves SQLite (the embedded default, one file in WAL mode) and PostgreSQL
//! (several replicas sharing one state) with one schema (`migrations.rs`) and one set of
//! statements (`sql.rs`), through sqlx's `Any` driver. That driver knows only booleans,
//! integers, floats, text and blobs, so times are `BIGINT` epoch milliseconds, flags are
//! `BIGINT` 0/1 and statuses and JSON are `TEXT`.
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

mod error;
mod migrations;
mod model;
mod sql;

pub use error::{StoreError, redact_url};
pub use model::{
    Appended, Backend, CursorLease, InboundText, LedgerEntry, NewEvent, NewMessage, OutboxCounts,
    OutboxFilter, OutboxMessage, OutboxStatus, OutboxUpdate, SlotClaim, SlotStatus, TaskEvent,
    TaskSnapshot,
};

use error::{redact_parts, scrub};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Decode, Row, Type};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Connections per process on SQLite: one. SQLite has one writer at a time anyway, and with
/// several connections a thousand delivery workers contend through SQLite's busy handler,
/// which sleeps in steps of up to 100 ms; one connection queues them fairly in the pool
/// instead (fan-out throughput went from 850 to the figure in BENCHMARKS.md).
const SQLITE_MAX_CONNECTIONS: u32 = 1;
/// Connections per replica on PostgreSQL.
const PG_MAX_CONNECTIONS: u32 = 8;
/// How long a caller waits for a free connection (or, on SQLite, for the file's write lock,
/// via `busy_timeout` in `sql::SQLITE_CONNECTION_SETUP`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long opening a PostgreSQL store waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// What a store URL points at.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Sqlite(PathBuf),
    /// The URL as given, less surrounding whitespace.
    Postgres(String),
}

impl Store {
    /// Opens the database and brings its schema up to date.
    ///
    /// - `sqlite://data/weekbell.db` or `sqlite:data/weekbell.db`: a file, relative to the
    ///   current directory (`sqlite:///var/lib/weekbell/state.db` for an absolute path). Missing
    ///   parent directories are created, and the file is switched to WAL mode.
    /// - `postgres://user:password@host:5432/database` (or `postgresql://`): any PostgreSQL
    ///   parameters sqlx accepts may follow, e.g. `?sslmode=require`.
    ///
    /// `sqlite::memory:` is refused: an in-memory SQLite database lives inside one connection,
    /// so the pool's other connections would each see a different, empty database, and every
    /// claimed slot and queued message would vanish when the process exits — the very things
    /// the store exists to remember. Tests use a file in a temporary directory.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let store = match parse_target(url)? {
            Target::Sqlite(path) => open_sqlite(&path).await?,
            Target::Postgres(url) => open_postgres(&url).await?,
        };
        migrations::run(&store).await?;
        tracing::info!(backend = %store.backend, store = %store.location, "store open");
        Ok(store)
    }

    /// Like [`Store::open`], but `None` for a SQLite file that does not exist yet: read-only
    /// commands (`tasks`, `preview`, `export`) should not create a database as a side effect.
    pub async fn open_existing(url: &str) -> Result<Option<Store>, StoreError> {
        if let Target::Sqlite(path) = parse_target(url)?
            && !path.exists()
        {
            return Ok(None);
        }
        Store::open(url).await.map(Some)
    }

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

    // ---- slot ledger ------------------------------------------------------------------------

    /// Claims a slot and enqueues its messages, in one transaction: the ledger row is inserted
    /// with `ON CONFLICT DO NOTHING`; if this call inserted it, every message is inserted into
    /// the outbox and the answer is `true`; if the slot was already claimed, nothing is written
    /// and the answer is `false`. If anything fails (a message id already taken, a lost
    /// connection), nothing is written and the error says so — a crash can never leave a slot
    /// claimed with its messages missing.
    pub async fn claim_slot(
        &self,
        claim: &SlotClaim,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let fail = |e| {
            let action = format!("claiming slot {}@{}", claim.schedule, claim.slot_local);
            self.query_error(action, e)
        };
        let count = i64::try_from(messages.len()).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let inserted = sqlx::query(sql::CLAIM_SLOT)
            .bind(&claim.schedule)
            .bind(&claim.slot_local)
            .bind(claim.slot_at_ms)
            .bind(claim.status.as_str())
            .bind(&claim.claimed_by)
            .bind(claim.now_ms)
            .bind(count)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        if inserted == 0 {
            tx.rollback().await.map_err(fail)?;
            tracing::debug!(schedule = %claim.schedule, slot = %claim.slot_local, "slot already claimed");
            return Ok(false);
        }
        for message in messages {
            let result = bind_message(sqlx::query(sql::INSERT_MESSAGE), message)
                .execute(&mut *tx)
                .await;
            if let Err(e) = result {
                // Dropping `tx` would roll back too; doing it here reports a failed rollback.
                let action = format!(
                    "claiming slot {}@{} (enqueueing message {}; the claim was rolled back)",
                    claim.schedule, claim.slot_local, message.id
                );
                let err = self.query_error(action, e);
                tx.rollback().await.map_err(fail)?;
                return Err(err);
            }
        }
        tx.commit().await.map_err(fail)?;
        tracing::debug!(
            schedule = %claim.schedule,
            slot = %claim.slot_local,
            messages = messages.len(),
            "slot claimed"
        );
        Ok(true)
    }

    pub async fn is_claimed(&self, schedule: &str, slot_local: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(sql::IS_CLAIMED)
            .bind(schedule)
            .bind(slot_local)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("looking up slot {schedule}@{slot_local}"), e))?;
        Ok(row.is_some())
    }

    /// The most recent ledger entry (by `slot_at_ms`) of a schedule, any status.
    pub async fn latest_slot(&self, schedule: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let row = sqlx::query(sql::LATEST_SLOT)
            .bind(schedule)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading the last slot of {schedule}"), e))?;
        row.map(|r| decode_ledger(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    /// Ledger entries, newest slot first, of one schedule or all; `limit` ≤ 0 means all.
    pub async fn ledger(
        &self,
        schedule: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = sqlx::query(sql::LEDGER)
            .bind(schedule)
            .bind(no_limit_if_not_positive(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading the slot ledger", e))?;
        rows.iter()
            .map(|r| decode_ledger(r).map_err(|d| self.corrupt(d)))
            .collect()
    }

    // ---- outbox -----------------------------------------------------------------------------

    /// The channels that have pending messages, sorted.
    /// Enqueues the answer to a chat command (one message per part) in one transaction.
    /// Parts already enqueued — a platform delivered the same command twice — are left as
    /// they are; the answer is how many were new.
    pub async fn enqueue_reply(&self, messages: &[NewMessage]) -> Result<usize, StoreError> {
        let fail = |e| self.query_error("enqueueing the answer to a command", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut inserted = 0;
        for m in messages {
            inserted += bind_message(sqlx::query(sql::INSERT_REPLY), m)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    pub async fn pending_channels(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(sql::PENDING_CHANNELS)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("listing channels with pending messages", e))
    }

    /// Leases the head of line of every channel — or of `channel` alone — that is due
    /// (`next_try_ms <= now_ms`) and free (never leased, or its lease ended before `now_ms`),
    /// to `worker` until `now_ms + lease_ms`; at most `limit` messages, oldest first.
    ///
    /// A channel whose head is not due, or is leased (even to `worker`), gives nothing: its
    /// later messages wait behind the head, so a channel's messages go out in order. Of several
    /// replicas asking at once, each message goes to exactly one. [`Store::next_leasable`] says
    /// when to ask again.
    pub async fn lease_heads(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        channel: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let until = now_ms.saturating_add(lease_ms.max(0));
        let statement = match self.backend {
            Backend::Sqlite => sql::LEASE_HEADS,
            Backend::Postgres => sql::PG_LEASE_HEADS,
        };
        let rows = sqlx::query(statement)
            .bind(worker)
            .bind(until)
            .bind(now_ms)
            .bind(channel)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("leasing messages to send", e))?;
        let mut leased = rows
            .iter()
            .map(decode_message)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|d| self.corrupt(d))?;
        leased.sort_by(|a, b| (a.created_ms, a.ord, &a.id).cmp(&(b.created_ms, b.ord, &b.id)));
        Ok(leased)
    }

    /// The first instant at which [`Store::lease_heads`] could lease something for `channel`
    /// (or any channel): a head's next try, or the instant after its lease ends. `None` when
    /// nothing is pending. An instant at or before now means "now".
    pub async fn next_leasable(&self, channel: Option<&str>) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, Option<i64>>(sql::NEXT_LEASABLE)
            .bind(channel)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.query_error("reading when the next message is due", e))
    }

    /// Extends a lease `worker` holds to `until_ms`: a sender that waited long for its rate
    /// limit keeps its message. `false` when the lease is no longer `worker`'s (it ran out and
    /// someone else took the message, or the message is no longer pending): do not send it.
    pub async fn extend_lease(
        &self,
        id: &str,
        worker: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::EXTEND_LEASE)
            .bind(id)
            .bind(worker)
            .bind(until_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("extending the lease of message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Writes the outcomes of several sends in one transaction — one commit for a whole
    /// batch is what lets a fan-out to a thousand channels keep up with the network. Each
    /// update only touches a message in the state it expects (see [`OutboxUpdate`]); the ids of
    /// messages that do not exist at all are returned.
    pub async fn record(&self, updates: &[OutboxUpdate]) -> Result<Vec<String>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let fail = |e| self.query_error("recording the outcome of sends", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut untouched = Vec::new();
        for update in updates {
            let query = match update {
                OutboxUpdate::Sent { id, worker, at_ms } => sqlx::query(sql::MARK_SENT)
                    .bind(id.as_str())
                    .bind(*at_ms)
                    .bind(worker.as_str()),
                OutboxUpdate::Retry {
                    id,
                    next_try_ms,
                    error,
                } => sqlx::query(sql::MARK_RETRY)
                    .bind(id.as_str())
                    .bind(*next_try_ms)
                    .bind(error.as_str()),
                OutboxUpdate::Dead { id, reason, at_ms } => sqlx::query(sql::MARK_DEAD)
                    .bind(id.as_str())
                    .bind(reason.as_str())
                    .bind(*at_ms),
                OutboxUpdate::Expired { id, reason, at_ms } => sqlx::query(sql::MARK_EXPIRED)
                    .bind(id.as_str())
                    .bind(reason.as_str())
                    .bind(*at_ms),
                OutboxUpdate::Released { id, worker } => sqlx::query(sql::RELEASE_LEASE)
                    .bind(id.as_str())
                    .bind(worker.as_str()),
            };
            let changed = query.execute(&mut *tx).await.map_err(fail)?.rows_affected();
            if changed == 0 {
                untouched.push(update.id());
            }
        }
        tx.commit().await.map_err(fail)?;
        let mut missing = Vec::new();
        for id in untouched {
            if let Err(StoreError::NoSuchMessage { id }) = self.require_message(id).await {
                missing.push(id);
            }
        }
        Ok(missing)
    }

    async fn record_one(&self, update: OutboxUpdate) -> Result<(), StoreError> {
        match self.record(std::slice::from_ref(&update)).await?.pop() {
            Some(id) => Err(StoreError::NoSuchMessage { id }),
            None => Ok(()),
        }
    }

    /// Records that the platform accepted the message. `worker` stays in `lease_owner` as the
    /// sender. Marking a sent message again changes nothing; a dead or dropped one that was in
    /// flight becomes sent, because it was.
    pub async fn mark_sent(&self, id: &str, worker: &str, now_ms: i64) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Sent {
            id: id.to_owned(),
            worker: worker.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// A failed attempt to try again: `attempts += 1`, next try at `next_try_ms`, lease
    /// released, `error` (already redacted by the caller) kept. No effect unless pending.
    pub async fn mark_retry(
        &self,
        id: &str,
        next_try_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Retry {
            id: id.to_owned(),
            next_try_ms,
            error: error.to_owned(),
        })
        .await
    }

    /// A failed attempt that ends the message (a permanent error, or no time left for another
    /// try): it becomes a dead letter with `reason`, and the attempt is counted. No effect
    /// unless pending.
    pub async fn mark_dead(&self, id: &str, reason: &str, now_ms: i64) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Dead {
            id: id.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// Like [`Store::mark_dead`] without counting an attempt: the message's deadline passed
    /// while it waited, and it was not tried again.
    pub async fn mark_expired(
        &self,
        id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Expired {
            id: id.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// Outbox rows, newest first, filtered by status and channel.
    pub async fn outbox(&self, filter: OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(sql::OUTBOX_LIST)
            .bind(filter.status.map(OutboxStatus::as_str))
            .bind(filter.channel.as_deref())
            .bind(no_limit_if_not_positive(filter.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("listing the outbox", e))?;
        rows.iter()
            .map(|r| decode_message(r).map_err(|d| self.corrupt(d)))
            .collect()
    }

    pub async fn outbox_get(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(sql::OUTBOX_GET)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading message {id}"), e))?;
        row.map(|r| decode_message(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    /// Sends a dead (or pending) message again: pending, due at `now_ms`, attempts reset, its
    /// deadline moved to at least `now_ms + extend_ms`. `false` when there is no such message
    /// or it is sent or dropped (see [`Store::outbox_get`] to tell which).
    pub async fn outbox_retry(
        &self,
        id: &str,
        now_ms: i64,
        extend_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::OUTBOX_RETRY)
            .bind(id)
            .bind(now_ms)
            .bind(now_ms.saturating_add(extend_ms.max(0)))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reviving message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Withdraws a pending or dead message: it becomes `dropped`, kept for the record and never
    /// sent. `false` when there is no such message or it is already sent or dropped.
    pub async fn outbox_drop(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::OUTBOX_DROP)
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("dropping message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Deletes at most `limit` messages sent or dropped before `before_ms`; pending and dead
    /// messages are kept. Returns how many were deleted; fewer than `limit` means none is left.
    pub async fn prune_outbox(&self, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_OUTBOX)
            .bind(before_ms)
            .bind(limit.max(0))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("deleting old sent and dropped messages", e))?;
        Ok(done.rows_affected())
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = sqlx::query(sql::OUTBOX_COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("counting the outbox", e))?;
        let mut counts = OutboxCounts::default();
        for row in &rows {
            let (status, n) = decode_count(row).map_err(|d| self.corrupt(d))?;
            match status {
                OutboxStatus::Pending => counts.pending = n,
                OutboxStatus::Sent => counts.sent = n,
                OutboxStatus::Dead => counts.dead = n,
                OutboxStatus::Dropped => counts.dropped = n,
            }
        }
        Ok(counts)
    }

    // ---- task snapshot ----------------------------------------------------------------------

    /// Replaces the last good task list.
    pub async fn save_task_snapshot(
        &self,
        source: &str,
        json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SAVE_SNAPSHOT)
            .bind(source)
            .bind(json)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("saving the task list snapshot", e))?;
        Ok(())
    }

    pub async fn load_task_snapshot(&self) -> Result<Option<TaskSnapshot>, StoreError> {
        let row = sqlx::query(sql::LOAD_SNAPSHOT)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error("reading the task list snapshot", e))?;
        row.map(|r| decode_snapshot(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    // ---- task events ------------------------------------------------------------------------

    /// Records several events in one transaction — all of one command's changes, or none —
    /// and says how many were new (a platform's retry of a message inserts nothing).
    ///
    /// With `from`, the message's id and text hash are remembered in the same transaction;
    /// when the id is already remembered with another text, nothing is written and the
    /// answer is [`Appended::IdSeenWithOtherText`]: the events' dedupe keys would refuse the
    /// changes anyway, and the command must not be answered as if they were made.
    pub async fn append_events(
        &self,
        from: Option<&InboundText>,
        events: &[NewEvent],
    ) -> Result<Appended, StoreError> {
        if events.is_empty() {
            return Ok(Appended::Events(0));
        }
        let fail = |e| self.query_error("recording task events", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        if let Some(m) = from {
            // Seen when its command was: the events carry that time.
            let seen_ms = events.first().map_or(0, |e| e.at_ms);
            let inserted = sqlx::query(sql::NOTE_INBOUND_TEXT)
                .bind(&m.channel)
                .bind(&m.message_id)
                .bind(seen_ms)
                .bind(&m.text_sha256)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            if inserted == 0 {
                let known: Option<String> = sqlx::query_scalar(sql::INBOUND_TEXT)
                    .bind(&m.channel)
                    .bind(&m.message_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(fail)?;
                // NULL: remembered before texts were; the dedupe keys decide alone.
                if known.is_some_and(|k| k != m.text_sha256) {
                    tx.rollback().await.map_err(fail)?;
                    return Ok(Appended::IdSeenWithOtherText);
                }
            }
        }
        let mut inserted = 0;
        for e in events {
            inserted += bind_event(sqlx::query(sql::APPEND_EVENT), e)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(Appended::Events(
            usize::try_from(inserted).unwrap_or(usize::MAX),
        ))
    }

    /// Records a change to a task. `false` when its id or its dedupe key (the platform's
    /// message id) is already recorded: a platform's retry of the same command.
    pub async fn append_event(&self, e: &NewEvent) -> Result<bool, StoreError> {
        let inserted = bind_event(sqlx::query(sql::APPEND_EVENT), e)
            .execute(&self.pool)
            .await
            .map_err(|err| {
                self.query_error(
                    format!("recording event {} of task {}", e.id, e.task_id),
                    err,
                )
            })?
            .rows_affected();
        Ok(inserted > 0)
    }

    /// Events, oldest first, of one task or all, at or after `since_ms`.
    pub async fn events(
        &self,
        task_id: Option<&str>,
        since_ms: Option<i64>,
    ) -> Result<Vec<TaskEvent>, StoreError> {
        let since = since_ms.unwrap_or(i64::MIN);
        let query = match task_id {
            Some(task) => sqlx::query(sql::TASK_EVENTS_SINCE).bind(task).bind(since),
            None => sqlx::query(sql::EVENTS_SINCE).bind(since),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading task events", e))?;
        rows.iter()
            .map(|r| decode_event(r).map_err(|d| self.corrupt(d)))
            .collect()
    }

    /// How many events were recorded at or after `since_ms`.
    pub async fn count_events_since(&self, since_ms: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>(sql::COUNT_EVENTS_SINCE)
            .bind(since_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.query_error("counting task events", e))
    }

    // ---- inbound ids ------------------------------------------------------------------------

    /// Remembers a platform's message or event id. `false` when it was seen before on this
    /// channel, i.e. the platform is retrying and the request was already handled.
    pub async fn note_inbound(
        &self,
        channel: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(sql::NOTE_INBOUND)
            .bind(channel)
            .bind(message_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("recording inbound id on {channel}"), e))?
            .rows_affected();
        Ok(inserted > 0)
    }

    /// Forgets at most `limit` inbound ids seen before `before_ms` (platforms retry for
    /// hours, not days). Returns how many were forgotten; fewer than `limit` means none is
    /// left.
    pub async fn prune_inbound(&self, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_INBOUND)
            .bind(before_ms)
            .bind(limit.max(0))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("forgetting old inbound ids", e))?;
        Ok(done.rows_affected())
    }

    // ---- inbound signatures -----------------------------------------------------------------

    /// Binds a header pair (`signature`, a digest) to the body it came with, unless it is bound
    /// already, and answers the digest of the body it is bound to: `body_sha256` for its first
    /// use and for a retry, another digest for a replay with a new body. Rows seen before
    /// `forget_before_ms` (when no such pair can be accepted any more) are pruned first, so the
    /// table holds at most one window of callbacks.
    pub async fn bind_signature(
        &self,
        channel: &str,
        signature: &str,
        body_sha256: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<String, StoreError> {
        let fail = |e| self.query_error(format!("recording a signature on {channel}"), e);
        sqlx::query(sql::PRUNE_SIGNATURES)
            .bind(forget_before_ms)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        sqlx::query(sql::NOTE_SIGNATURE)
            .bind(channel)
            .bind(signature)
            .bind(body_sha256)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        // Read back rather than trusting `rows_affected`: of two requests racing with one pair,
        // the loser must learn the winner's body.
        sqlx::query_scalar::<_, String>(sql::SIGNATURE_BODY)
            .bind(channel)
            .bind(signature)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)
    }

    // ---- inbound cursors --------------------------------------------------------------------

    /// Takes, or renews, the lease on the cursor of a polled source (`telegram:<bot id>`)
    /// for `holder` until `until_ms`, and says where to resume. Of replicas asking at once,
    /// one gets [`CursorLease::Held`]; the others see who holds it. A lease that runs out
    /// (its holder died) is taken over by the next one to ask.
    pub async fn lease_cursor(
        &self,
        consumer: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<CursorLease, StoreError> {
        let fail = |e| self.query_error(format!("leasing the cursor of {consumer}"), e);
        let taken: Option<Option<i64>> = sqlx::query_scalar(sql::LEASE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(now_ms)
            .bind(until_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        if let Some(position) = taken {
            return Ok(CursorLease::Held { position });
        }
        let row = sqlx::query(sql::CURSOR_HOLDER)
            .bind(consumer)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        let (holder, until_ms) = match row {
            Some(row) => (
                col::<Option<String>>(&row, "holder")
                    .map_err(|e| self.corrupt(e))?
                    .unwrap_or_default(),
                col::<i64>(&row, "lease_until_ms").map_err(|e| self.corrupt(e))?,
            ),
            None => (String::new(), 0),
        };
        Ok(CursorLease::Busy { holder, until_ms })
    }

    /// Records where to resume (everything the source served before `position` was handled),
    /// if `holder` still holds the lease. The position may be lower than the last one: it is
    /// whatever the source's ids call for. `false` when the lease was lost (another replica
    /// took it over): stop fetching.
    pub async fn move_cursor(
        &self,
        consumer: &str,
        holder: &str,
        position: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::MOVE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(position)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("moving the cursor of {consumer}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Gives the lease up (on shutdown), so another replica takes over without waiting for
    /// it to run out.
    pub async fn release_cursor(
        &self,
        consumer: &str,
        holder: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::RELEASE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("releasing the cursor of {consumer}"), e))?;
        Ok(())
    }

    // ---- helpers ----------------------------------------------------------------------------

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (see
    /// `sql::SQLITE_BEGIN_WRITE`); PostgreSQL's row locks need nothing special.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let begin = match self.backend {
            Backend::Sqlite => sql::SQLITE_BEGIN_WRITE,
            Backend::Postgres => "BEGIN",
        };
        let mut conn = self.pool.acquire().await?;
        if let Err(e) = sqlx::raw_sql(begin).execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(e);
        }
        Ok(WriteTx {
            conn,
            finished: false,
        })
    }

    /// `Ok` when the message exists (whatever its status), [`StoreError::NoSuchMessage`] if not.
    async fn require_message(&self, id: &str) -> Result<(), StoreError> {
        let status: Option<String> = sqlx::query_scalar(sql::OUTBOX_STATUS)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading message {id}"), e))?;
        match status {
            Some(status) => {
                tracing::debug!(id, %status, "outbox message no longer pending; left as it is");
                Ok(())
            }
            None => Err(StoreError::NoSuchMessage { id: id.to_owned() }),
        }
    }

    fn query_error(&self, action: impl Into<String>, e: sqlx::Error) -> StoreError {
        StoreError::Query {
            location: self.location.to_string(),
            action: action.into(),
            detail: scrub(&e.to_string(), &self.secrets),
            hint: error::hint_for(&e),
        }
    }

    pub(crate) fn migrate_error(
        &self,
        version: i32,
        name: &'static str,
        e: sqlx::Error,
    ) -> StoreError {
        StoreError::Migrate {
            location: self.location.to_string(),
            version,
            name,
            detail: scrub(&e.to_string(), &self.secrets),
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            location: self.location.to_string(),
            detail,
        }
    }
}

/// When the head cannot be leased by `worker` at `now_ms`: the first instant it could be.
type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds a new outbox row in `INSERT_MESSAGE`/`INSERT_REPLY` order.
fn bind_message<'q>(query: AnyQuery<'q>, m: &'q NewMessage) -> AnyQuery<'q> {
    query
        .bind(&m.id)
        .bind(&m.slot_key)
        .bind(&m.channel)
        .bind(&m.platform)
        .bind(m.ord)
        .bind(&m.payload)
        .bind(m.created_ms)
        .bind(m.deadline_ms)
        .bind(i64::from(m.late))
}

/// Binds an event in `APPEND_EVENT` order.
fn bind_event<'q>(query: AnyQuery<'q>, e: &'q NewEvent) -> AnyQuery<'q> {
    query
        .bind(&e.id)
        .bind(e.dedupe_key.as_deref())
        .bind(&e.task_id)
        .bind(e.at_ms)
        .bind(&e.actor)
        .bind(&e.source)
        .bind(e.channel.as_deref())
        .bind(&e.field)
        .bind(e.old_value.as_deref())
        .bind(e.new_value.as_deref())
}

fn no_limit_if_not_positive(limit: i64) -> i64 {
    if limit <= 0 { i64::MAX } else { limit }
}

// ---- opening ------------------------------------------------------------------------------------

const MEMORY_REFUSED: &str = "an in-memory SQLite database lives inside one connection, so the \
     pool's other connections would each see a different, empty database, and every claimed slot \
     and queued message would vanish when weekbell exits — use a file, e.g. \
     sqlite://data/weekbell.db";

fn parse_target(url: &str) -> Result<Target, StoreError> {
    let unsupported = |reason: &str| StoreError::UnsupportedUrl {
        url: redact_url(url),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok(Target::Postgres(trimmed.to_owned()));
    }
    let rest = if lower.starts_with("sqlite://") {
        &trimmed["sqlite://".len()..]
    } else if lower.starts_with("sqlite:") {
        &trimmed["sqlite:".len()..]
    } else {
        return Err(unsupported(
            "expected sqlite://PATH (for example sqlite://data/weekbell.db) or \
             postgres://USER:PASSWORD@HOST:PORT/DATABASE",
        ));
    };
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    if path == ":memory:"
        || path.starts_with("file::memory:")
        || params.is_some_and(|p| p.contains("mode=memory"))
    {
        return Err(unsupported(MEMORY_REFUSED));
    }
    if params.is_some() {
        return Err(unsupported(
            "weekbell sets the SQLite options itself (WAL, busy timeout, create if missing); \
             remove the `?…` part",
        ));
    }
    if path.is_empty() {
        return Err(unsupported(
            "no file path; write e.g. sqlite://data/weekbell.db",
        ));
    }
    Ok(Target::Sqlite(PathBuf::from(
        error::percent_decode(path).into_owned(),
    )))
}

async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
    let shown = path.display().to_string();
    let Some(file_name) = path.file_name() else {
        return Err(StoreError::UnsupportedUrl {
            url: format!("sqlite://{shown}"),
            reason: "the path names a directory, not a file; write e.g. \
                     sqlite://data/weekbell.db"
                .to_owned(),
        });
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir_error = |e: std::io::Error| StoreError::CreateDir {
        dir: dir.display().to_string(),
        detail: e.to_string(),
    };
    tokio::fs::create_dir_all(&dir).await.map_err(dir_error)?;
    let dir = tokio::fs::canonicalize(&dir).await.map_err(dir_error)?;
    let absolute = dir.join(file_name);
    let Some(absolute_text) = absolute.to_str() else {
        return Err(StoreError::UnsupportedUrl {
            url: format!("sqlite://{shown}"),
            reason: "the path is not valid UTF-8; choose a path without such characters".to_owned(),
        });
    };
    let open_error = |e: sqlx::Error| StoreError::OpenSqlite {
        path: shown.clone(),
        detail: e.to_string(),
    };
    let connect_url = format!("sqlite://{}?mode=rwc", percent_encode_path(absolute_text));
    let pool = AnyPoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(sql::SQLITE_CONNECTION_SETUP)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(&connect_url)
        .await
        .map_err(open_error)?;
    enable_wal(&pool).await.map_err(open_error)?;
    Ok(Store {
        pool,
        backend: Backend::Sqlite,
        location: Arc::from(shown.as_str()),
        secrets: Arc::from(Vec::new()),
    })
}

/// Switches the file to WAL once; the mode is stored in the file, so later opens find it set.
/// Changing the mode needs a lock that `busy_timeout` does not wait for, so when another
/// process opens the same new file at the same moment, wait a little and look again.
async fn enable_wal(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let mut tries = 0;
    loop {
        let mode: String = sqlx::query_scalar(sql::SQLITE_JOURNAL_MODE)
            .fetch_one(pool)
            .await?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match sqlx::raw_sql(sql::SQLITE_SET_WAL).execute(pool).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(_)) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn open_postgres(url: &str) -> Result<Store, StoreError> {
    let (shown, secrets) = redact_parts(url);
    let connect_error = |detail: String| StoreError::ConnectPostgres {
        url: shown.clone(),
        detail: scrub(&detail, &secrets),
    };
    // One plain connection first: the pool retries a refused connection until its acquire
    // timeout and then reports only "pool timed out", which hides the cause.
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
        Err(_) => {
            return Err(connect_error(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(connect_error(e.to_string())),
        Ok(Ok(conn)) => {
            // Only a probe; a failure to say goodbye politely does not matter.
            let _ = conn.close().await;
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(PG_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    Ok(Store {
        pool,
        backend: Backend::Postgres,
        location: Arc::from(shown.as_str()),
        secrets: Arc::from(secrets),
    })
}

/// Escapes what the SQLite URL parser would otherwise read as syntax (`?`, `#`, `%`, spaces).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- decoding -----------------------------------------------------------------------------------

/// One column, or a message naming it.
fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, String>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(name).map_err(|e| format!("column {name}: {e}"))
}

/// A write transaction on a connection of its own, which is closed instead of returned to
/// the pool unless the transaction ended cleanly.
///
/// sqlx's own `Transaction` keeps a depth counter on the connection. When SQLite gives up a
/// transaction by itself (`SQLITE_FULL` on a full disk rolls it back), sqlx's rollback then
/// fails, the counter stays up, and every later `BEGIN` on that connection — the only one the
/// SQLite pool has — is refused with "non-zero transaction depth" until the process restarts
/// (`tests/outages.rs` found this). A fresh connection after any failure avoids it on both
/// backends, and closing a connection rolls back whatever it left open.
pub(crate) struct WriteTx {
    conn: sqlx::pool::PoolConnection<Any>,
    finished: bool,
}

impl WriteTx {
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }

    async fn end(&mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(statement).execute(&mut *self.conn).await?;
        self.finished = true;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

fn decode_ledger(row: &AnyRow) -> Result<LedgerEntry, String> {
    Ok(LedgerEntry {
        schedule: col(row, "schedule")?,
        slot_local: col(row, "slot_local")?,
        slot_at_ms: col(row, "slot_at_ms")?,
        status: col::<String>(row, "status")?.parse()?,
        claimed_by: col(row, "claimed_by")?,
        claimed_ms: col(row, "claimed_ms")?,
        messages: col(row, "messages")?,
    })
}

fn decode_message(row: &AnyRow) -> Result<OutboxMessage, String> {
    Ok(OutboxMessage {
        id: col(row, "id")?,
        slot_key: col(row, "slot_key")?,
        channel: col(row, "channel")?,
        platform: col(row, "platform")?,
        ord: col(row, "ord")?,
        payload: col(row, "payload")?,
        status: col::<String>(row, "status")?.parse()?,
        attempts: col(row, "attempts")?,
        next_try_ms: col(row, "next_try_ms")?,
        deadline_ms: col(row, "deadline_ms")?,
        last_error: col(row, "last_error")?,
        late: col::<i64>(row, "late")? != 0,
        created_ms: col(row, "created_ms")?,
        updated_ms: col(row, "updated_ms")?,
        sent_ms: col(row, "sent_ms")?,
        lease_owner: col(row, "lease_owner")?,
        lease_until_ms: col(row, "lease_until_ms")?,
    })
}

fn decode_count(row: &AnyRow) -> Result<(OutboxStatus, i64), String> {
    Ok((col::<String>(row, "status")?.parse()?, col(row, "n")?))
}

fn decode_snapshot(row: &AnyRow) -> Result<TaskSnapshot, String> {
    Ok(TaskSnapshot {
        source: col(row, "source")?,
        json: col(row, "tasks_json")?,
        saved_ms: col(row, "saved_ms")?,
    })
}

fn decode_event(row: &AnyRow) -> Result<TaskEvent, String> {
    Ok(TaskEvent {
        id: col(row, "id")?,
        dedupe_key: col(row, "dedupe_key")?,
        task_id: col(row, "task_id")?,
        at_ms: col(row, "at_ms")?,
        actor: col(row, "actor")?,
        source: col(row, "source")?,
        channel: col(row, "channel")?,
        field: col(row, "field")?,
        old_value: col(row, "old_value")?,
        new_value: col(row, "new_value")?,
    })
}

#[cfg(test)]
mod tests;

//! Every SQL statement the store issues, one constant each.
//!
//! One text serves SQLite and PostgreSQL: `$N` placeholders (sqlx-sqlite binds them by number),
//! `ON CONFLICT`, `RETURNING`, `CASE` instead of `GREATEST`/`MAX(a, b)`, integers for times
//! (epoch milliseconds) and flags (0/1), and text for statuses and JSON. The only statements for
//! one backend are SQLite's pragmas and write-transaction opener, the lookup of a table by name,
//! and PostgreSQL's migration lock and its `SKIP LOCKED` lease, each named for its backend. The
//! schema itself is in the scripts in `migrations/`.

/// The columns of `outbox`, in the order `decode_message` reads them.
macro_rules! outbox_columns {
    () => {
        "id, slot_key, channel, platform, ord, payload, status, attempts, next_try_ms, \
         deadline_ms, last_error, late, created_ms, updated_ms, sent_ms, lease_owner, \
         lease_until_ms"
    };
}

/// The columns of `slot_ledger`, in the order `decode_ledger` reads them.
macro_rules! ledger_columns {
    () => {
        "schedule, slot_local, slot_at_ms, status, claimed_by, claimed_ms, messages"
    };
}

/// The columns of `task_events`, in the order `decode_event` reads them.
macro_rules! event_columns {
    () => {
        "id, dedupe_key, task_id, at_ms, actor, source, channel, field, old_value, new_value"
    };
}

// ---- transactions and migrations -------------------------------------------------------------

/// SQLite: take the write lock at BEGIN, so a transaction that reads before it writes cannot
/// fail half-way with `SQLITE_BUSY_SNAPSHOT`; waiting for the lock honours `busy_timeout`.
pub const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Run on every new SQLite connection. sqlx already turns foreign keys on and waits 5 s for
/// locks; the wait is made explicit and longer because several replicas of the scheduler and
/// the CLI may share one file. `synchronous = NORMAL` is SQLite's recommended setting in WAL
/// mode: a commit no longer waits for fsync (it measured about 1 ms per transaction here), the
/// file cannot be corrupted, and a power cut can only lose the last commits: a "sent" mark,
/// which means at most a repeated send, or a slot claim together with its messages, which means
/// the slot fires again as if the cut had come a moment earlier.
pub const SQLITE_CONNECTION_SETUP: &str =
    "PRAGMA busy_timeout = 15000; PRAGMA synchronous = NORMAL";

/// SQLite: the journal mode in force (`wal` once set; it is stored in the file).
pub const SQLITE_JOURNAL_MODE: &str = "PRAGMA journal_mode";

/// SQLite: switch the file to write-ahead logging, so readers never block the writer.
pub const SQLITE_SET_WAL: &str = "PRAGMA journal_mode = WAL";

/// PostgreSQL: the advisory lock the store's own migrator took around each version, before
/// sqlx's migrator took over; adopting a database it made takes it too, so two openers never
/// adopt at once and an opener still on that migrator is waited for. The lock is released by
/// the transaction's end; the key is `"weekbell"` read as a big-endian i64.
pub const PG_MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(8603394175047920748)";

/// SQLite: a row when the table `$1` exists.
pub const SQLITE_TABLE_EXISTS: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1";

/// PostgreSQL: a row when the table `$1` exists where an unqualified name finds it (the
/// `search_path`, as for every other statement here).
pub const PG_TABLE_EXISTS: &str = "SELECT 1 WHERE to_regclass($1) IS NOT NULL";

/// The versions the store's own migrator recorded, in a database it made.
pub const LEGACY_APPLIED_VERSIONS: &str = "SELECT version FROM schema_migrations ORDER BY version";

/// The newest version in sqlx's bookkeeping table; NULL when it is empty.
pub const SQLX_LATEST_VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations";

// ---- slot ledger ------------------------------------------------------------------------------

/// Inserts nothing when the slot is already claimed; `rows_affected` tells the winner.
pub const CLAIM_SLOT: &str = "INSERT INTO slot_ledger \
     (schedule, slot_local, slot_at_ms, status, claimed_by, claimed_ms, messages) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT DO NOTHING";

pub const IS_CLAIMED: &str =
    "SELECT slot_at_ms FROM slot_ledger WHERE schedule = $1 AND slot_local = $2";

pub const LATEST_SLOT: &str = concat!(
    "SELECT ",
    ledger_columns!(),
    " FROM slot_ledger WHERE schedule = $1 \
     ORDER BY slot_at_ms DESC, slot_local DESC LIMIT 1"
);

/// `$1` is the schedule or NULL for all; `$2` the row limit.
pub const LEDGER: &str = concat!(
    "SELECT ",
    ledger_columns!(),
    " FROM slot_ledger WHERE ($1 IS NULL OR schedule = $1) \
     ORDER BY slot_at_ms DESC, schedule, slot_local DESC LIMIT $2"
);

// ---- outbox -----------------------------------------------------------------------------------

/// A new message is due at once (`next_try_ms = created_ms`) and unleased.
pub const INSERT_MESSAGE: &str = "INSERT INTO outbox \
     (id, slot_key, channel, platform, ord, payload, status, attempts, next_try_ms, \
      deadline_ms, last_error, late, created_ms, updated_ms, sent_ms, lease_owner, \
      lease_until_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, NULL, $9, $7, $7, NULL, NULL, NULL)";

/// The answer to a chat command: no slot to claim, and a platform's retry of the command
/// enqueues nothing twice (the id is derived from the platform's message id).
pub const INSERT_REPLY: &str = "INSERT INTO outbox \
     (id, slot_key, channel, platform, ord, payload, status, attempts, next_try_ms, \
      deadline_ms, last_error, late, created_ms, updated_ms, sent_ms, lease_owner, \
      lease_until_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, NULL, $9, $7, $7, NULL, NULL, NULL) \
     ON CONFLICT DO NOTHING";

pub const PENDING_CHANNELS: &str =
    "SELECT DISTINCT channel FROM outbox WHERE status = 'pending' ORDER BY channel";

/// A pending row that is the head of line of its channel: no older pending row in the same
/// channel (older by `created_ms`, then `ord`, then `id`). Row values are spelled out because
/// the comparison must read the same on SQLite and PostgreSQL.
macro_rules! is_head {
    ($row:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = ",
            $row,
            ".channel AND e.status = 'pending' AND (e.created_ms < ",
            $row,
            ".created_ms OR (e.created_ms = ",
            $row,
            ".created_ms AND (e.ord < ",
            $row,
            ".ord OR (e.ord = ",
            $row,
            ".ord AND e.id < ",
            $row,
            ".id)))))"
        )
    };
}

/// Leases the head of every channel (or of channel `$4` alone) that is due and free — never
/// leased or its lease ended before now — up to `$5` messages, oldest first.
/// `$1` worker, `$2` lease until, `$3` now, `$4` channel or NULL, `$5` limit.
///
/// The outer WHERE repeats the due-and-free test on purpose: when two replicas race for a row,
/// PostgreSQL re-evaluates the outer conditions on the version the winner committed, so the
/// loser's UPDATE skips the row; SQLite runs one writer at a time. A live lease is never taken,
/// not even one's own: a message in flight stays with the loop that is sending it.
pub const LEASE_HEADS: &str = concat!(
    "UPDATE outbox SET lease_owner = $1, lease_until_ms = $2 \
     WHERE status = 'pending' AND next_try_ms <= $3 \
     AND (lease_until_ms IS NULL OR lease_until_ms < $3) \
     AND id IN (SELECT h.id FROM outbox h \
     WHERE h.status = 'pending' AND h.next_try_ms <= $3 \
     AND (h.lease_until_ms IS NULL OR h.lease_until_ms < $3) \
     AND ($4 IS NULL OR h.channel = $4) AND ",
    is_head!("h"),
    " ORDER BY h.created_ms, h.ord, h.id LIMIT $5) \
     RETURNING ",
    outbox_columns!()
);

/// PostgreSQL: [`LEASE_HEADS`] with `FOR UPDATE SKIP LOCKED` on the candidate heads, so
/// replicas leasing at the same moment each take different rows without waiting on each
/// other's locks (SQLite has one writer and no row locks, hence the separate text). Same
/// parameters and the same re-checked outer conditions.
pub const PG_LEASE_HEADS: &str = concat!(
    "UPDATE outbox SET lease_owner = $1, lease_until_ms = $2 \
     WHERE status = 'pending' AND next_try_ms <= $3 \
     AND (lease_until_ms IS NULL OR lease_until_ms < $3) \
     AND id IN (SELECT h.id FROM outbox h \
     WHERE h.status = 'pending' AND h.next_try_ms <= $3 \
     AND (h.lease_until_ms IS NULL OR h.lease_until_ms < $3) \
     AND ($4::text IS NULL OR h.channel = $4) AND ",
    is_head!("h"),
    " ORDER BY h.created_ms, h.ord, h.id LIMIT $5 FOR UPDATE SKIP LOCKED) \
     RETURNING ",
    outbox_columns!()
);

/// The earliest instant at which some channel's head (of channel `$1`, or any when NULL) could
/// be leased: its next try, or the instant after its lease ends, whichever is later.
pub const NEXT_LEASABLE: &str = concat!(
    "SELECT MIN(CASE WHEN h.lease_until_ms IS NOT NULL AND h.lease_until_ms >= h.next_try_ms \
     THEN h.lease_until_ms + 1 ELSE h.next_try_ms END) \
     FROM outbox h WHERE h.status = 'pending' AND ($1 IS NULL OR h.channel = $1) AND ",
    is_head!("h")
);

/// Keeps a lease one holds. `$1` id, `$2` worker, `$3` new end.
pub const EXTEND_LEASE: &str = "UPDATE outbox SET lease_until_ms = $3 \
     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'";

/// Gives a lease back unused, so the message can be taken at once (by the next start, say).
/// `$1` id, `$2` worker.
pub const RELEASE_LEASE: &str = "UPDATE outbox SET lease_owner = NULL, lease_until_ms = NULL \
     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'";

/// The worker that sent the message stays in `lease_owner`, for the record.
/// `$1` id, `$2` now, `$3` worker.
pub const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_ms = $2, updated_ms = $2, \
     lease_owner = $3, lease_until_ms = NULL \
     WHERE id = $1 AND status <> 'sent'";

/// `$1` id, `$2` next try, `$3` error.
pub const MARK_RETRY: &str = "UPDATE outbox SET attempts = attempts + 1, next_try_ms = $2, \
     last_error = $3, lease_owner = NULL, lease_until_ms = NULL \
     WHERE id = $1 AND status = 'pending'";

/// A failed attempt that ends the message. `$1` id, `$2` reason, `$3` now.
pub const MARK_DEAD: &str = "UPDATE outbox SET status = 'dead', attempts = attempts + 1, \
     last_error = $2, updated_ms = $3, lease_owner = NULL, lease_until_ms = NULL \
     WHERE id = $1 AND status = 'pending'";

/// Dead without a new attempt (its deadline passed while it waited). `$1` id, `$2` reason,
/// `$3` now.
pub const MARK_EXPIRED: &str = "UPDATE outbox SET status = 'dead', \
     last_error = $2, updated_ms = $3, lease_owner = NULL, lease_until_ms = NULL \
     WHERE id = $1 AND status = 'pending'";

/// Back to pending, due now, attempts reset, deadline at least `$3`. A live lease is left in
/// place so a worker that is sending it right now is not doubled. `$1` id, `$2` now,
/// `$3` new deadline.
pub const OUTBOX_RETRY: &str = "UPDATE outbox SET status = 'pending', attempts = 0, \
     next_try_ms = $2, updated_ms = $2, \
     deadline_ms = CASE WHEN deadline_ms > $3 THEN deadline_ms ELSE $3 END \
     WHERE id = $1 AND status IN ('pending', 'dead')";

/// `$1` id, `$2` now.
pub const OUTBOX_DROP: &str = "UPDATE outbox SET status = 'dropped', updated_ms = $2, \
     lease_owner = NULL, lease_until_ms = NULL \
     WHERE id = $1 AND status IN ('pending', 'dead')";

/// `$1` status or NULL, `$2` channel or NULL, `$3` limit. Newest first.
pub const OUTBOX_LIST: &str = concat!(
    "SELECT ",
    outbox_columns!(),
    " FROM outbox WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR channel = $2) \
     ORDER BY created_ms DESC, channel, ord DESC, id DESC LIMIT $3"
);

pub const OUTBOX_GET: &str = concat!("SELECT ", outbox_columns!(), " FROM outbox WHERE id = $1");

pub const OUTBOX_STATUS: &str = "SELECT status FROM outbox WHERE id = $1";

/// Deletes at most `$2` messages that were sent or dropped before `$1` (by their last change
/// of status); pending and dead ones stay whatever their age. Batched like [`PRUNE_INBOUND`].
pub const PRUNE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
     WHERE status IN ('sent', 'dropped') AND updated_ms < $1 LIMIT $2)";

pub const OUTBOX_COUNTS: &str = "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status";

// ---- task snapshot ----------------------------------------------------------------------------

/// One row, named `current`, replaced on every save.
pub const SAVE_SNAPSHOT: &str = "INSERT INTO task_snapshot (name, source, tasks_json, saved_ms) \
     VALUES ('current', $1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET source = excluded.source, \
     tasks_json = excluded.tasks_json, saved_ms = excluded.saved_ms";

pub const LOAD_SNAPSHOT: &str =
    "SELECT source, tasks_json, saved_ms FROM task_snapshot WHERE name = 'current'";

// ---- task events ------------------------------------------------------------------------------

/// Inserts nothing when the id or the dedupe key is already recorded.
pub const APPEND_EVENT: &str = concat!(
    "INSERT INTO task_events (",
    event_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
);

/// Events at or after `$1`, oldest first. A plain range, so the `at_ms` index serves it (an
/// `$1 IS NULL OR …` condition would make SQLite scan every event).
pub const EVENTS_SINCE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM task_events WHERE at_ms >= $1 ORDER BY at_ms, id"
);

/// One task's (or unit's) events at or after `$2`, oldest first.
pub const TASK_EVENTS_SINCE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM task_events WHERE task_id = $1 AND at_ms >= $2 ORDER BY at_ms, id"
);

/// How many events are at or after `$1`: a cheap way to see whether another process wrote.
pub const COUNT_EVENTS_SINCE: &str = "SELECT COUNT(*) FROM task_events WHERE at_ms >= $1";

// ---- rows first seen --------------------------------------------------------------------------

/// The first anchor a row's relative deadline was read against wins; later ones change nothing.
pub const REMEMBER_FIRST_SEEN: &str = "INSERT INTO row_first_seen (task_id, anchor_day, seen_ms) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

pub const FIRST_SEEN: &str = "SELECT task_id, anchor_day FROM row_first_seen";

// ---- inbound ids ------------------------------------------------------------------------------

/// Inserts nothing when the platform's message id was seen before.
pub const NOTE_INBOUND: &str = "INSERT INTO inbound_seen (channel, message_id, seen_ms) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// Remembers the message a command's events come from, with its text's hash; inserts nothing
/// when the id is already known. `$1` channel, `$2` message id, `$3` now, `$4` text hash.
pub const NOTE_INBOUND_TEXT: &str = "INSERT INTO inbound_seen \
     (channel, message_id, seen_ms, text_sha256) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// The text hash an id was first seen with (NULL when remembered without one).
pub const INBOUND_TEXT: &str =
    "SELECT text_sha256 FROM inbound_seen WHERE channel = $1 AND message_id = $2";

/// Forgets at most `$2` ids seen before `$1`, so that a large backlog is deleted in short
/// transactions that leave the database to the other writers in between.
pub const PRUNE_INBOUND: &str = "DELETE FROM inbound_seen WHERE (channel, message_id) IN \
     (SELECT channel, message_id FROM inbound_seen WHERE seen_ms < $1 LIMIT $2)";

// ---- inbound signatures -----------------------------------------------------------------------

/// Inserts nothing when the header pair was seen before; its first body stays.
pub const NOTE_SIGNATURE: &str = "INSERT INTO inbound_signatures \
     (channel, signature, body_sha256, seen_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// The body a header pair was first accepted with. `$1` channel, `$2` signature.
pub const SIGNATURE_BODY: &str =
    "SELECT body_sha256 FROM inbound_signatures WHERE channel = $1 AND signature = $2";

pub const PRUNE_SIGNATURES: &str = "DELETE FROM inbound_signatures WHERE seen_ms < $1";

// ---- inbound cursors -------------------------------------------------------------------------

/// Takes or renews the lease on a cursor: inserted on first use; otherwise taken only when it
/// is free, already ours, or its lease has run out. No row back means another replica holds
/// it. `$1` consumer, `$2` holder, `$3` now, `$4` lease until.
pub const LEASE_CURSOR: &str = "INSERT INTO inbound_cursors \
     (consumer, position, holder, lease_until_ms, updated_ms) VALUES ($1, NULL, $2, $4, $3) \
     ON CONFLICT (consumer) DO UPDATE SET holder = $2, lease_until_ms = $4, updated_ms = $3 \
     WHERE inbound_cursors.holder IS NULL OR inbound_cursors.holder = $2 \
        OR inbound_cursors.lease_until_ms < $3 \
     RETURNING position";

/// Who holds a cursor, and until when. `$1` consumer.
pub const CURSOR_HOLDER: &str =
    "SELECT holder, lease_until_ms FROM inbound_cursors WHERE consumer = $1";

/// Sets where a cursor resumes, lower than before too (Telegram restarts its update ids
/// below the last ones after a quiet week), if `$2` still holds it. `$1` consumer, `$2`
/// holder, `$3` position, `$4` now.
pub const MOVE_CURSOR: &str = "UPDATE inbound_cursors SET position = $3, updated_ms = $4 \
     WHERE consumer = $1 AND holder = $2";

/// Gives a cursor's lease up, so another replica may take it at once. `$1` consumer,
/// `$2` holder, `$3` now.
pub const RELEASE_CURSOR: &str = "UPDATE inbound_cursors SET holder = NULL, lease_until_ms = 0, \
     updated_ms = $3 WHERE consumer = $1 AND holder = $2";

// ---- directory look-ups ----------------------------------------------------------------------

/// Records what a platform's directory answered, replacing an older answer. `$1` platform,
/// `$2` key kind, `$3` key, `$4` user id (NULL: not found), `$5` now.
pub const PUT_DIRECTORY: &str = "INSERT INTO directory \
     (platform, key_kind, lookup_key, user_id, resolved_ms) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (platform, key_kind, lookup_key) DO UPDATE SET user_id = $4, resolved_ms = $5";

/// Every answer on record, found or not.
pub const ALL_DIRECTORY: &str = "SELECT platform, key_kind, lookup_key, user_id, resolved_ms FROM directory \
     ORDER BY platform, key_kind, lookup_key";

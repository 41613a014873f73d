//! The schema, as an ordered list of scripts, and the small migrator that applies them.
//!
//! sqlx's own migrator needs its `migrate` feature, which this crate does not build, so the
//! store keeps a `schema_migrations(version, applied_ms)` table itself. Each script is applied
//! in its own transaction together with its row in that table, so a version is either wholly
//! there or not at all.
//!
//! Two processes may start at once against one database (replicas behind a load balancer, or
//! the daemon and a CLI command). On PostgreSQL every migrating transaction first takes a
//! transaction-scoped advisory lock, then re-checks whether its version is still missing; on
//! SQLite `BEGIN IMMEDIATE` takes the file's write lock, which serialises them the same way.
//!
//! Rules for new versions: append, never edit an applied script; keep to the portable subset
//! (`BIGINT` epoch milliseconds, `BIGINT` 0/1 flags, `TEXT` statuses and JSON, no `SERIAL`,
//! `AUTOINCREMENT`, `BOOLEAN` or `JSONB`), because the same script runs on both backends.

use super::{Backend, Store, StoreError, sql};
use crate::clock::{Clock, SystemClock};

/// One schema version.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub script: &'static str,
}

/// Every version, oldest first. Versions are 1, 2, 3, … without gaps.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "slot ledger, outbox, task snapshot, task events, inbound ids",
        script: V1_INITIAL,
    },
    Migration {
        version: 2,
        name: "inbound cursors (Telegram long polling)",
        script: V2_INBOUND_CURSORS,
    },
    Migration {
        version: 3,
        name: "inbound signatures (DingTalk header pairs bound to their body)",
        script: V3_INBOUND_SIGNATURES,
    },
    Migration {
        version: 4,
        name: "the text of each inbound id, to tell a retry from a reused id",
        script: V4_INBOUND_TEXT,
    },
];

const V1_INITIAL: &str = "
-- One row per claimed slot. The primary key is what makes a slot fire exactly once across
-- processes: the claim is an INSERT … ON CONFLICT DO NOTHING.
CREATE TABLE slot_ledger (
    schedule    TEXT   NOT NULL,
    slot_local  TEXT   NOT NULL,      -- local wall-clock time, or manual-<utc instant>
    slot_at_ms  BIGINT NOT NULL,      -- the slot's instant, epoch ms
    status      TEXT   NOT NULL,      -- on_time | late | skipped | manual
    claimed_by  TEXT   NOT NULL,      -- the replica that claimed it
    claimed_ms  BIGINT NOT NULL,
    messages    BIGINT NOT NULL,      -- how many outbox rows the claim enqueued
    PRIMARY KEY (schedule, slot_local)
);
CREATE INDEX slot_ledger_by_time ON slot_ledger (schedule, slot_at_ms);
CREATE INDEX slot_ledger_recent ON slot_ledger (slot_at_ms);

-- Rendered messages, written in the claim's transaction, sent in order per channel.
CREATE TABLE outbox (
    id              TEXT   PRIMARY KEY,   -- deterministic: <slot key>/<channel>/<n>/<part>
    slot_key        TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    platform        TEXT   NOT NULL,
    ord             BIGINT NOT NULL,      -- order within one slot and channel
    payload         TEXT   NOT NULL,      -- JSON of render::OutboundPart
    status          TEXT   NOT NULL,      -- pending | sent | dead | dropped
    attempts        BIGINT NOT NULL,
    next_try_ms     BIGINT NOT NULL,
    deadline_ms     BIGINT NOT NULL,
    last_error      TEXT,
    late            BIGINT NOT NULL,      -- 0 | 1
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,      -- last change of status
    sent_ms         BIGINT,
    lease_owner     TEXT,                 -- the worker sending it (or that sent it)
    lease_until_ms  BIGINT
);
-- Head of line: the oldest pending message of a channel.
CREATE INDEX outbox_head ON outbox (channel, status, created_ms, ord);
CREATE INDEX outbox_by_status ON outbox (status, created_ms);
CREATE INDEX outbox_by_slot ON outbox (slot_key);

-- The last task list that loaded without errors; one row named 'current'.
CREATE TABLE task_snapshot (
    name        TEXT   PRIMARY KEY,
    source      TEXT   NOT NULL,
    tasks_json  TEXT   NOT NULL,
    saved_ms    BIGINT NOT NULL
);

-- Who changed what, when and from where.
CREATE TABLE task_events (
    id          TEXT   PRIMARY KEY,
    dedupe_key  TEXT   UNIQUE,            -- e.g. the platform's message id; NULLs never clash
    task_id     TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    source      TEXT   NOT NULL,          -- file | chat | cli | api
    channel     TEXT,
    field       TEXT   NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX task_events_by_task ON task_events (task_id, at_ms);
CREATE INDEX task_events_by_time ON task_events (at_ms);

-- Platform message and event ids already handled, so a platform's retry is answered once.
CREATE TABLE inbound_seen (
    channel     TEXT   NOT NULL,
    message_id  TEXT   NOT NULL,
    seen_ms     BIGINT NOT NULL,
    PRIMARY KEY (channel, message_id)
);
CREATE INDEX inbound_seen_by_time ON inbound_seen (seen_ms);
";

const V2_INBOUND_CURSORS: &str = "
-- Inbound sources that weekbell fetches from rather than receives (Telegram's getUpdates):
-- where to resume, and which replica fetches now. The platform allows one fetcher at a time,
-- so replicas take turns by lease, as they do with outbox messages.
CREATE TABLE inbound_cursors (
    consumer        TEXT   PRIMARY KEY,   -- e.g. telegram:<bot id>
    position        BIGINT,               -- the next position to fetch from; NULL before any
    holder          TEXT,                 -- the replica fetching, NULL when released
    lease_until_ms  BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL
);
";

const V3_INBOUND_SIGNATURES: &str = "
-- Signatures that cover no body (DingTalk's callback signs only its send time): each accepted
-- header pair with the digest of the body it first came with, so the pair is refused with any
-- other body, on every replica. Rows older than the pair could be accepted are pruned.
CREATE TABLE inbound_signatures (
    channel      TEXT   NOT NULL,
    signature    TEXT   NOT NULL,      -- hex SHA-256 of the header pair, never the pair itself
    body_sha256  TEXT   NOT NULL,
    seen_ms      BIGINT NOT NULL,
    PRIMARY KEY (channel, signature)
);
CREATE INDEX inbound_signatures_by_time ON inbound_signatures (seen_ms);
";

const V4_INBOUND_TEXT: &str = "
-- The SHA-256 (hex) of the command text that came with the id. A platform's retry carries the
-- same text; the same id with other text is not a retry and is answered \"already handled\".
-- NULL for ids remembered before this version.
ALTER TABLE inbound_seen ADD COLUMN text_sha256 TEXT;
";

/// The newest version this build knows.
pub(crate) fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database up to [`latest_version`]. Safe to run from several processes at once.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let bootstrap = |e| store.migrate_error(0, "schema_migrations table", e);
    let mut tx = store.begin_write().await.map_err(bootstrap)?;
    if store.backend() == Backend::Postgres {
        sqlx::query(sql::PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(bootstrap)?;
    }
    sqlx::query(sql::CREATE_SCHEMA_MIGRATIONS)
        .execute(&mut *tx)
        .await
        .map_err(bootstrap)?;
    tx.commit().await.map_err(bootstrap)?;

    let applied: Vec<i64> = sqlx::query_scalar(sql::APPLIED_VERSIONS)
        .fetch_all(store.pool())
        .await
        .map_err(bootstrap)?;
    let known = i64::from(latest_version());
    if let Some(&found) = applied.iter().max()
        && found > known
    {
        return Err(StoreError::SchemaTooNew {
            location: store.location().to_owned(),
            found,
            known,
        });
    }

    for migration in MIGRATIONS {
        if applied.contains(&i64::from(migration.version)) {
            continue;
        }
        apply(store, migration).await?;
    }
    Ok(())
}

/// Applies one version in one transaction, unless another process got there first.
async fn apply(store: &Store, migration: &Migration) -> Result<(), StoreError> {
    let fail = |e| store.migrate_error(migration.version, migration.name, e);
    let mut tx = store.begin_write().await.map_err(fail)?;
    if store.backend() == Backend::Postgres {
        sqlx::query(sql::PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    // Re-check under the lock: a process that started at the same time may have applied it.
    let done = sqlx::query(sql::IS_APPLIED)
        .bind(migration.version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .is_some();
    if done {
        tx.rollback().await.map_err(fail)?;
        return Ok(());
    }
    sqlx::raw_sql(migration.script)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    // A bookkeeping stamp only; nothing reads it back to decide anything.
    let applied_ms = SystemClock.now().timestamp_millis();
    sqlx::query(sql::RECORD_MIGRATION)
        .bind(migration.version)
        .bind(applied_ms)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    tracing::info!(
        version = migration.version,
        name = migration.name,
        store = store.location(),
        "applied store migration"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "migration {:?}", m.name);
        }
        assert_eq!(latest_version() as usize, MIGRATIONS.len());
    }

    #[test]
    fn scripts_stay_in_the_portable_subset() {
        for m in MIGRATIONS {
            let upper = m.script.to_uppercase();
            for word in [
                "SERIAL",
                "AUTOINCREMENT",
                "BOOLEAN",
                "JSONB",
                "TIMESTAMP",
                "GREATEST",
            ] {
                assert!(
                    !upper.contains(word),
                    "migration {} uses {word}, which only one backend understands",
                    m.version
                );
            }
        }
    }
}

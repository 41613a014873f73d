
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

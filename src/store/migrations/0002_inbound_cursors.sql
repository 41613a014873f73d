
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

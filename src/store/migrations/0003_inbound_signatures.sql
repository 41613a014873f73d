
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

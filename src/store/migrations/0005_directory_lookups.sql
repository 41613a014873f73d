-- What the chat platforms' directories answered for a person's mobile or email: the platform
-- user id, or NULL when the platform said it knows no such user (asked again after a day, so
-- someone who joins later is found). Filled at start, daily, and when an unknown sender
-- writes; read to @mention and recognise people the config gives no handle for.
CREATE TABLE directory (
    platform     TEXT   NOT NULL,   -- dingtalk, feishu, slack
    key_kind     TEXT   NOT NULL,   -- mobile, email, or user (a sender id whose mobile was asked)
    lookup_key   TEXT   NOT NULL,   -- the normalised mobile or email, or the sender's user id
    user_id      TEXT,              -- the answer; for key_kind user, the mobile; NULL: not found
    resolved_ms  BIGINT NOT NULL,
    PRIMARY KEY (platform, key_kind, lookup_key)
);

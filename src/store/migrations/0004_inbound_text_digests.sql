
-- The SHA-256 (hex) of the command text that came with the id. A platform's retry carries the
-- same text; the same id with other text is not a retry and is answered "already handled".
-- NULL for ids remembered before this version.
ALTER TABLE inbound_seen ADD COLUMN text_sha256 TEXT;

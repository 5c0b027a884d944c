-- 0002_api_keys.sql - API keys of tenants. The key itself is shown once at creation and never
-- stored: only its SHA-256 digest, and its first characters as a public label to find it by.
-- Released migrations are never edited: a change is a new numbered file.

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,  -- ms since the epoch, UTC
    revoked_at INTEGER            -- NULL while the key is active
);

CREATE INDEX api_keys_prefix ON api_keys (prefix);

-- 0002_api_keys.sql - API keys of tenants, as src/store/sql/0002_api_keys.sql: only the
-- SHA-256 digest of a key and its public prefix are stored. Small and read by every node: a
-- Citus reference table. Released migrations are never edited.

CREATE TABLE api_keys (
    id         BIGSERIAL PRIMARY KEY,
    prefix     TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,  -- ms since the epoch, UTC
    revoked_at BIGINT            -- NULL while the key is active
);

CREATE INDEX api_keys_prefix ON api_keys (prefix);

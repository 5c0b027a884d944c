-- 0001_init.sql - the first schema of a mnemo store (see docs/STORE.md).
-- Released migrations are never edited: a change is a new numbered file.
-- The migration runner records meta.schema_version in the same transaction.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per memory. AUTOINCREMENT so that an id is never handed out twice, even after
-- the newest rows were deleted: engines and clients may still hold the old ids.
CREATE TABLE memories (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('user', 'system')),
    user_id       TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('message', 'preference', 'fact', 'summary')),
    role          TEXT CHECK (role IS NULL OR role IN ('user', 'assistant')),
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'archived', 'superseded')),
    session_id    TEXT,
    text          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,  -- ms since the epoch, UTC
    updated_at    INTEGER NOT NULL,
    metadata      TEXT CHECK (metadata IS NULL OR
                              CASE WHEN json_valid(metadata)
                                   THEN json_type(metadata) = 'object' ELSE 0 END),
    sources       TEXT CHECK (sources IS NULL OR
                              CASE WHEN json_valid(sources)
                                   THEN json_type(sources) = 'array' ELSE 0 END),
    superseded_by INTEGER,
    embed_model   TEXT,
    embedding     BLOB,              -- float32 little-endian; NULL: pending
    CHECK ((scope = 'user') = (user_id IS NOT NULL)),
    CHECK (embedding IS NULL OR (embed_model IS NOT NULL AND length(embedding) % 4 = 0
                                 AND length(embedding) > 0))
);

-- Every read is by partition, usually newest first: (tenant, scope, user_id, id).
CREATE INDEX memories_partition ON memories (tenant, scope, user_id, id);

-- One row per partition ever written. user_id is '' for the system scope because NULL is
-- not a usable primary key value. The row outlives a forgotten user so that its version
-- never goes backwards (a cache holding version 5 must not see 1 again).
CREATE TABLE partitions (
    tenant     TEXT NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'system')),
    user_id    TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    n_memories INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, scope, user_id)
) WITHOUT ROWID;

-- Earlier versions of a memory, written by an update; they go with the memory.
CREATE TABLE memory_history (
    id         INTEGER PRIMARY KEY,
    memory_id  INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    tenant     TEXT NOT NULL,
    version_at INTEGER NOT NULL,     -- updated_at of the memory while this version was current
    text       TEXT NOT NULL,
    metadata   TEXT,
    status     TEXT NOT NULL CHECK (status IN ('active', 'archived', 'superseded'))
);

CREATE INDEX memory_history_memory ON memory_history (memory_id, id);

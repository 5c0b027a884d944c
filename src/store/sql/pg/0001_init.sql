-- 0001_init.sql - the first schema of a mnemo store on PostgreSQL: the same logical schema as
-- src/store/sql/0001_init.sql (docs/STORE.md), keyed by (tenant, user_id) so that the tables
-- can be distributed by Citus on user_id (docs/SCALING.md). Released migrations are never
-- edited: a change is a new numbered file. The runner records meta.schema_version in the same
-- transaction, under an advisory lock so that nodes starting together migrate once.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Ids come from one sequence: never handed out twice, even after the newest rows were deleted.
CREATE SEQUENCE memory_ids;

-- One row per memory. user_id is '' for the system scope (not NULL: it is part of the key and
-- the distribution column). metadata and sources stay TEXT so that they come back byte for
-- byte as written; the CHECKs parse them. Key columns use the "C" collation: ids compare
-- byte by byte, as in SQLite, and their indexes are cheaper.
CREATE TABLE memories (
    tenant        TEXT COLLATE "C" NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('user', 'system')),
    user_id       TEXT COLLATE "C" NOT NULL,
    id            BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('message', 'preference', 'fact', 'summary')),
    role          TEXT CHECK (role IS NULL OR role IN ('user', 'assistant')),
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'archived', 'superseded')),
    session_id    TEXT,
    text          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,  -- ms since the epoch, UTC
    updated_at    BIGINT NOT NULL,
    metadata      TEXT CHECK (metadata IS NULL OR jsonb_typeof(metadata::jsonb) = 'object'),
    sources       TEXT CHECK (sources IS NULL OR jsonb_typeof(sources::jsonb) = 'array'),
    superseded_by BIGINT,
    embed_model   TEXT,
    embedding     BYTEA,            -- float32 little-endian; NULL: pending
    CHECK ((scope = 'user') = (user_id <> '')),
    CHECK (embedding IS NULL OR (embed_model IS NOT NULL AND length(embedding) % 4 = 0
                                 AND length(embedding) > 0)),
    PRIMARY KEY (tenant, scope, user_id, id)
);

-- One row per partition ever written; outlives a forgotten user so that its version never
-- goes backwards. Bumped in every write transaction; a NOTIFY on channel mnemo_parts in the
-- same transaction tells the other nodes.
CREATE TABLE partitions (
    tenant     TEXT COLLATE "C" NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'system')),
    user_id    TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL DEFAULT 0,
    n_memories BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, scope, user_id)
);

-- Earlier versions of a memory, written by an update; they go with the memory.
CREATE TABLE memory_history (
    tenant     TEXT COLLATE "C" NOT NULL,
    scope      TEXT NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    memory_id  BIGINT NOT NULL,
    id         BIGSERIAL,
    version_at BIGINT NOT NULL,     -- updated_at of the memory while this version was current
    text       TEXT NOT NULL,
    metadata   TEXT,
    status     TEXT NOT NULL CHECK (status IN ('active', 'archived', 'superseded')),
    PRIMARY KEY (tenant, scope, user_id, memory_id, id),
    FOREIGN KEY (tenant, scope, user_id, memory_id)
        REFERENCES memories (tenant, scope, user_id, id) ON DELETE CASCADE
);

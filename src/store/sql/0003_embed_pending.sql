-- 0003_embed_pending.sql - memories stored while their embedding is pending (a remote
-- embedder is slow or down, or none answered yet) are found without scanning the table:
-- the background embedder (src/memory/embed_worker.c) reads them in id order.
-- Released migrations are never edited: a change is a new numbered file.

CREATE INDEX memories_pending ON memories (id) WHERE embed_model IS NULL;

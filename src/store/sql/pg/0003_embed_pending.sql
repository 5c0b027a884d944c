-- 0003_embed_pending.sql - as src/store/sql/0003_embed_pending.sql: memories whose embedding
-- is pending are found through a partial index, in id order, by the background embedder.
-- Released migrations are never edited.

CREATE INDEX memories_pending ON memories (id) WHERE embed_model IS NULL;

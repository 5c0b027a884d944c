/* monitor.c - the public embedding call (POST /v1/embeddings serves it) and the counters a
 * server exports as metrics: store commits, memory held, embedding time. */
#include <stdatomic.h>
#include <string.h>

#include "memory_int.h"

/* Every embedding the engine makes (adds, searches, mn_embed), per process rather than per
 * handle: the embedder is the process's hot path to watch, and this keeps the handle's layout
 * untouched. */
static _Atomic int64_t n_embeds;
static _Atomic int64_t embed_ns;

int mn_embed(mn_db *db, const char *text, size_t len, float *out_vec, int dim, mn_err *err)
{
    size_t bad = 0;

    mn__err_clear(err);
    if (!db->emb)
        return mn__err_set(err, MN_ENOMODEL, "run scripts/setup to build the model file",
                           "no embedding model: %s", db->vector_note);
    if (dim != db->emb->dim)
        return mn__err_set(err, MN_EDIM, "size the output by mn_db_info.dim",
                           "embedding has %d dimensions, the output holds %d", db->emb->dim,
                           dim);
    if (!text || len == 0)
        return mn__err_set(err, MN_EINVAL, "send a non-empty text", "input text is empty");
    if (len > db->opts.max_text_bytes)
        return mn__err_set(err, MN_ETOOBIG, "split the text or raise max_text_bytes",
                           "input text is %zu bytes, limit is %zu", len,
                           db->opts.max_text_bytes);
    if (!mn__utf8_valid(text, len, &bad))
        return mn__err_set(err, MN_EUTF8, "send UTF-8 text",
                           "input text is not valid UTF-8 at byte %zu", bad);
    return mn__embed_text(db, text, len, out_vec, err);
}

void mn__embed_account(int64_t ns)
{
    atomic_fetch_add_explicit(&embed_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_embeds, 1, memory_order_relaxed);
}

int mn_db_stats_get(mn_db *db, mn_db_stats *out, mn_err *err)
{
    mn__store_stats st;
    int rc;
    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    rc = db->sops->stats(db->store, &st, err);
    if (rc)
        return rc;
    out->n_memories = st.n_memories;
    out->n_commits = st.n_commits;
    out->n_committed_ops = st.n_committed_ops;
    out->file_bytes = st.file_bytes;
    out->memory_bytes = mn__alloc_live_bytes();
    out->n_embeds = atomic_load(&n_embeds);
    out->embed_ns = atomic_load(&embed_ns);
    {
        mn__ewk_stats es; /* remote embedders: embed_worker.c */
        mn__ewk_stats_get(db, &es);
        out->n_embedded_background = es.n_embedded;
        out->n_embed_failures = es.n_failures;
    }
    pthread_mutex_lock(&db->mu);
    out->n_partitions = db->n_parts;
    out->partition_bytes = db->parts_bytes;
    pthread_mutex_unlock(&db->mu);
    return MN_OK;
}

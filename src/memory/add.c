/* add.c - adding memories: validate everything, embed outside any lock, commit to the store
 * (group commit, durable on return), then index into the partition if it is loaded. */
#include <string.h>

#include "memory_int.h"

/* Indexes committed rows into their loaded partitions; rows of partitions not in memory
 * are picked up by the next load. */
static void index_committed(mn_db *db, const mn__row *rows, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        mn__pkey k = {rows[i].tenant, rows[i].scope, rows[i].user_id};
        mn__part *p = mn__part_peek(db, &k);
        if (!p)
            continue;
        pthread_rwlock_wrlock(&p->lock);
        if (!p->load_rc && mn__part_put_row(db, p, &rows[i]) != MN_OK)
            p->stale = true; /* rebuilt from the store on next use; the write is safe */
        pthread_rwlock_unlock(&p->lock);
        mn__part_release(db, p);
    }
}

int mn_memory_add_batch(mn_db *db, const mn_memory_in *items, size_t n, mn_id *out_ids,
                        mn_err *err)
{
    mn__row *rows = NULL;
    char **metas = NULL;
    float *vecs = NULL;
    mn__buf text;
    int64_t now = mn__now_ms();
    int dim = 0;
    bool pending = false;
    size_t i;
    int rc = MN_OK;

    mn__err_clear(err);
    mn__buf_init(&text, 0);
    if (!items || n == 0)
        return mn__err_set(err, MN_EINVAL, "send at least one memory", "the batch is empty");
    if (n > db->opts.max_batch)
        return mn__err_set(err, MN_ETOOBIG, "split the batch or raise max_batch",
                           "batch has %zu memories, limit is %zu", n, db->opts.max_batch);
    for (i = 0; i < n; i++) {
        rc = mn__check_memory_in(db, &items[i], err);
        if (rc) {
            if (n > 1)
                mn__err_prefix(err, "item %zu", i);
            return rc;
        }
    }
    for (i = 0; i < n; i++) { /* room for the largest local embedder of the batch */
        mn__eprof pf = mn__eprof_of(db, items[i].tenant ? items[i].tenant : "default");
        if (pf.emb && !pf.emb->remote && pf.emb->dim > dim)
            dim = pf.emb->dim;
    }
    rows = mn__calloc(n, sizeof *rows);
    metas = mn__calloc(n, sizeof *metas);
    if (dim)
        vecs = mn__malloc(n * (size_t)dim * sizeof *vecs);
    if (!rows || !metas || (dim && !vecs)) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory adding %zu memories", n);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        const mn_memory_in *m = &items[i];
        mn__row *r = &rows[i];
        rc = mn__metadata_normalize(db, m->metadata_json, &metas[i], err);
        if (rc)
            goto cleanup;
        r->tenant = m->tenant ? m->tenant : "default";
        r->scope = m->scope ? m->scope : MN_SCOPE_USER;
        r->user_id = r->scope == MN_SCOPE_SYSTEM ? NULL : m->user_id;
        r->kind = m->kind ? m->kind : MN_KIND_MESSAGE;
        r->role = m->role;
        r->status = m->status ? m->status : MN_STATUS_ACTIVE;
        r->session_id = m->session_id;
        r->text = m->text;
        r->metadata_json = metas[i];
        r->created_at_ms = m->created_at_ms ? m->created_at_ms : now;
        r->updated_at_ms = now;
        r->sources = m->sources;
        r->n_sources = m->n_sources;
        {
            mn__eprof pf = mn__eprof_of(db, r->tenant);
            float *v = vecs + i * (size_t)dim;
            if (pf.emb && pf.emb->remote) {
                /* never wait on a provider: stored pending, embedded in the background
                 * (embed_worker.c), keyword-searchable at once */
                pending = true;
            } else if (pf.emb) {
                rc = mn__index_text(db, r, &text);
                if (rc) {
                    mn__err_set(err, rc, NULL, "cannot build the indexed text of item %zu: %s",
                                i, mn_strerror(rc));
                    goto cleanup;
                }
                /* a failed embedding leaves the memory pending, it is still stored */
                if (mn__embed_docs(db, &pf, (const char *const *)&text.data, &text.len, 1, v,
                                   NULL) == MN_OK) {
                    r->embedding = v;
                    r->dim = pf.emb->dim;
                    r->embed_model = pf.vec_model;
                }
            }
        }
    }
    rc = db->sops->put_batch(db->store, rows, n, err);
    if (rc)
        goto cleanup;
    if (out_ids)
        for (i = 0; i < n; i++)
            out_ids[i] = rows[i].id;
    index_committed(db, rows, n);
    if (pending)
        mn__ewk_kick(db);
    mn__after_add(db, rows, n); /* extraction, compaction trigger (extract.c) */
cleanup:
    if (metas)
        for (i = 0; i < n; i++)
            mn__free(metas[i]);
    mn__free(metas);
    mn__free(rows);
    mn__free(vecs);
    mn__buf_release(&text);
    return rc;
}

int mn_memory_add(mn_db *db, const mn_memory_in *m, mn_id *out_id, mn_err *err)
{
    mn_id id = 0;
    int rc;
    if (!m)
        return mn__err_set(err, MN_EINVAL, NULL, "memory is NULL");
    rc = mn_memory_add_batch(db, m, 1, &id, err);
    if (!rc && out_id)
        *out_id = id;
    return rc;
}

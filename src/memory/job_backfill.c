/* job_backfill.c - the job kind "embed_backfill": embeds the memories of one partition whose
 * embedding is pending (stored while the embedder was failing or absent) or made by another
 * model or recipe, and stores the vectors. Submitted when a partition loads with such rows.
 * Idempotent: a row already embedded by the current model is skipped. */
#include <string.h>

#include "memory_int.h"

#define MAX_ROWS 5000 /* per job; a bigger partition submits the next job */

typedef struct todo {
    mn_db *db;
    mn__arena a;
    mn_id *ids;
    char **texts;
    size_t *lens;
    size_t n, more;
    int rc;
} todo;

static bool needs_vector(const mn_db *db, const mn__row *r)
{
    mn__eprof pf = mn__eprof_of(db, r->tenant); /* tenants may have their own model */
    return pf.emb && (!r->embedding || !r->embed_model || r->dim != pf.emb->dim ||
                      strcmp(r->embed_model, pf.vec_model));
}

static int collect(void *ctx, const mn__row *r)
{
    todo *t = ctx;
    mn__buf b;
    if (!needs_vector(t->db, r))
        return 0;
    if (t->n == MAX_ROWS) {
        t->more++;
        return 0;
    }
    mn__buf_init(&b, 0);
    t->rc = mn__index_text(t->db, r, &b);
    if (t->rc == MN_OK) {
        t->texts[t->n] = mn__arena_strndup(&t->a, b.data ? b.data : "", b.len);
        t->lens[t->n] = b.len;
        t->ids[t->n] = r->id;
        if (!t->texts[t->n])
            t->rc = MN_ENOMEM;
        else
            t->n++;
    }
    mn__buf_release(&b);
    return t->rc;
}

int mn__job_embed_backfill(mn_db *db, const mn__job *j, mn_err *err)
{
    mn__pkey k = {j->tenant, j->scope, j->scope == MN_SCOPE_SYSTEM ? NULL : j->user_id};
    todo t;
    float *vec = NULL;
    size_t i, n_done = 0;
    int rc;
    mn__eprof pf = mn__eprof_of(db, j->tenant);
    if (!pf.emb)
        return MN_OK; /* nothing to embed with: the rows stay pending */
    if (pf.emb->remote && db->ewk) {
        /* remote embedders: the background embedder batches across users (embed_worker.c) */
        mn__ewk_kick(db);
        return MN_OK;
    }
    memset(&t, 0, sizeof t);
    t.db = db;
    mn__arena_init(&t.a, 0);
    t.ids = mn__arena_alloc(&t.a, MAX_ROWS * sizeof *t.ids);
    t.texts = mn__arena_alloc(&t.a, MAX_ROWS * sizeof *t.texts);
    t.lens = mn__arena_alloc(&t.a, MAX_ROWS * sizeof *t.lens);
    vec = mn__malloc((size_t)pf.emb->dim * sizeof *vec);
    if (!t.ids || !t.texts || !t.lens || !vec) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory in embed_backfill");
        goto cleanup;
    }
    rc = db->sops->scan_partition(db->store, &k, collect, &t, err);
    if (rc == MN_OK && t.rc)
        rc = mn__err_set(err, t.rc, NULL, "embed_backfill: reading the partition failed");
    for (i = 0; rc == MN_OK && i < t.n; i++) {
        mn__row_patch p;
        int urc;
        rc = mn__embed_docs(db, &pf, (const char *const *)&t.texts[i], &t.lens[i], 1, vec, err);
        if (rc)
            break;
        memset(&p, 0, sizeof p);
        p.embed_model = pf.vec_model;
        p.embedding = vec;
        p.dim = pf.emb->dim;
        urc = db->sops->update(db->store, &k, t.ids[i], &p, err);
        if (urc == MN_ENOTFOUND)
            continue; /* deleted meanwhile */
        rc = urc;
        n_done += rc == MN_OK;
    }
    if (n_done) {
        /* this node's copy was loaded without these vectors (remote embedders) */
        mn__parts_on_change(db, &k);
        mn__log(&db->log, MN_LOG_INFO, "embed_backfill: %zu memories of '%s' in tenant '%s' "
                                       "embedded",
                n_done, k.user_id ? k.user_id : "(system)", k.tenant);
    }
    if (rc == MN_OK && t.more) {
        mn__job next = *j;
        next.id[0] = '\0';
        rc = mn__jobs_submit(db, &next, err);
    }
cleanup:
    mn__free(vec);
    mn__arena_release(&t.a);
    return rc;
}

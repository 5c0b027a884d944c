/* crud.c - one memory at a time (get, update, delete), listing, and forgetting a user.
 * Writes go to the store first, then to the loaded partition. */
#include <string.h>

#include "memory_int.h"

static int key_of(const char *tenant, const char *user_id, mn__pkey *k, mn_err *err)
{
    return mn__pkey_make(tenant, user_id ? MN_SCOPE_USER : MN_SCOPE_SYSTEM, user_id, k, err);
}

static int not_found(mn_err *err, const mn__pkey *k, mn_id id)
{
    return mn__err_set(err, MN_ENOTFOUND, "list the user's memories to see valid ids",
                       "memory %lld not found for %s '%.64s'", (long long)id,
                       k->user_id ? "user" : "scope", k->user_id ? k->user_id : "system");
}

int mn_memory_get(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                  mn_results **out, mn_err *err)
{
    mn__pkey k;
    mn__arena a;
    mn__row row;
    mn_results *res = NULL;
    int rc;

    mn__err_clear(err);
    *out = NULL;
    rc = key_of(tenant, user_id, &k, err);
    if (rc)
        return rc;
    if (id <= 0)
        return not_found(err, &k, id);
    mn__arena_init(&a, 4096);
    rc = db->sops->get(db->store, &k, id, &a, &row, err);
    if (rc == MN_ENOTFOUND)
        rc = not_found(err, &k, id);
    if (!rc)
        rc = mn__results_new(1, &res);
    if (!rc)
        rc = mn__results_set_row(res, 0, &row, mn__eprof_of(db, k.tenant).vec_model);
    if (!rc) {
        res->total = 1;
        *out = res;
        res = NULL;
    } else if (rc == MN_ENOMEM) {
        mn__err_set(err, rc, NULL, "out of memory reading memory %lld", (long long)id);
    }
    mn_results_free(res);
    mn__arena_release(&a);
    return rc;
}

int mn_memory_list(mn_db *db, const mn_filter *f, mn_id after, int limit, mn_results **out,
                   mn_err *err)
{
    mn__pkey k;
    mn__arena a;
    mn__row *rows = NULL;
    size_t n = 0, i;
    int64_t total = 0;
    mn_filter fk;
    mn_results *res = NULL;
    int rc;

    mn__err_clear(err);
    *out = NULL;
    if (!f)
        return mn__err_set(err, MN_EINVAL, NULL, "filter is NULL");
    rc = mn__pkey_make(f->tenant, f->scope, f->user_id, &k, err);
    if (rc)
        return rc;
    if (limit < 1 || limit > MN_MAX_K)
        return mn__err_set(err, MN_ERANGE, "use a limit between 1 and 1000",
                           "limit is %d, allowed 1..%d", limit, MN_MAX_K);
    if (after < 0)
        return mn__err_set(err, MN_EINVAL, "pass the next_after of the previous page",
                           "cursor %lld is negative", (long long)after);
    if (f->session_id && (rc = mn__check_id("session id", f->session_id, err)))
        return rc;
    fk = *f;
    fk.tenant = k.tenant;
    fk.scope = k.scope;
    mn__arena_init(&a, 16384);
    rc = db->sops->list(db->store, &fk, after, limit + 1, &a, &rows, &n, &total, err);
    if (rc)
        goto cleanup;
    rc = mn__results_new(n > (size_t)limit ? (size_t)limit : n, &res);
    if (rc)
        goto oom;
    for (i = 0; i < res->n; i++)
        if ((rc = mn__results_set_row(res, i, &rows[i], mn__eprof_of(db, k.tenant).vec_model)) !=
            MN_OK)
            goto oom;
    res->total = total;
    res->next_after = n > (size_t)limit ? rows[limit - 1].id : 0;
    *out = res;
    res = NULL;
    goto cleanup;
oom:
    rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing memories");
cleanup:
    mn_results_free(res);
    mn__arena_release(&a);
    return rc;
}

int mn_memory_update(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                     const mn_memory_patch *patch, mn_err *err)
{
    mn__pkey k;
    mn__row_patch rp;
    mn__arena a;
    mn__row old;
    mn__buf text;
    char *meta = NULL;
    float *vec = NULL;
    mn__eprof pf;
    int rc;

    mn__err_clear(err);
    rc = key_of(tenant, user_id, &k, err);
    if (rc)
        return rc;
    if (!patch)
        return mn__err_set(err, MN_EINVAL, NULL, "patch is NULL");
    if (!patch->text && !patch->metadata_json && !patch->status)
        return mn__err_set(err, MN_EINVAL, "change text, metadata or status",
                           "the update changes nothing");
    if (patch->text && (rc = mn__check_text(db, "text", patch->text, err)))
        return rc;
    if (patch->status && !mn_status_name(patch->status))
        return mn__err_set(err, MN_EINVAL, "use active, archived or superseded",
                           "unknown status %d", (int)patch->status);
    if (id <= 0)
        return not_found(err, &k, id);
    memset(&rp, 0, sizeof rp);
    mn__arena_init(&a, 4096);
    mn__buf_init(&text, 0);
    if (patch->metadata_json) {
        rc = mn__metadata_normalize(db, patch->metadata_json, &meta, err);
        if (rc)
            goto cleanup;
        rp.metadata_json = meta ? meta : "";
    }
    rp.text = patch->text;
    rp.status = patch->status;
    if (patch->text || patch->metadata_json) {
        /* the indexed text may change (text, or the speaker in metadata): re-embed */
        rc = db->sops->get(db->store, &k, id, &a, &old, err);
        if (rc == MN_ENOTFOUND)
            rc = not_found(err, &k, id);
        if (rc)
            goto cleanup;
        if (patch->text)
            old.text = patch->text;
        if (patch->metadata_json)
            old.metadata_json = meta;
        rp.clear_embedding = true;
        pf = mn__eprof_of(db, k.tenant);
        if (pf.emb && !pf.emb->remote) { /* remote: pending, the background embedder's */
            vec = mn__malloc(sizeof(float) * (size_t)pf.emb->dim);
            if (!vec) {
                rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
                goto cleanup;
            }
            rc = mn__index_text(db, &old, &text);
            if (!rc && mn__embed_docs(db, &pf, (const char *const *)&text.data, &text.len, 1,
                                      vec, NULL) == MN_OK) {
                rp.embedding = vec;
                rp.dim = pf.emb->dim;
                rp.embed_model = pf.vec_model;
                rp.clear_embedding = false;
            }
            rc = MN_OK;
        }
    }
    rc = db->sops->update(db->store, &k, id, &rp, err);
    if (rc == MN_ENOTFOUND)
        rc = not_found(err, &k, id);
    if (!rc)
        mn__part_reindex(db, &k, id);
    if (!rc && rp.clear_embedding)
        mn__ewk_kick(db);
cleanup:
    mn__free(meta);
    mn__free(vec);
    mn__buf_release(&text);
    mn__arena_release(&a);
    return rc;
}

int mn_memory_delete(mn_db *db, const char *tenant, const char *user_id, mn_id id, mn_err *err)
{
    mn__pkey k;
    mn__part *p;
    int rc;

    mn__err_clear(err);
    rc = key_of(tenant, user_id, &k, err);
    if (rc)
        return rc;
    if (id <= 0)
        return not_found(err, &k, id);
    rc = db->sops->delete_one(db->store, &k, id, err);
    if (rc == MN_ENOTFOUND)
        return not_found(err, &k, id);
    if (rc)
        return rc;
    p = mn__part_peek(db, &k);
    if (p) {
        pthread_rwlock_wrlock(&p->lock);
        mn__part_remove_id(p, id);
        pthread_rwlock_unlock(&p->lock);
        mn__part_release(db, p);
    }
    return MN_OK;
}

int mn_user_forget(mn_db *db, const char *tenant, const char *user_id, int64_t *out_n,
                   mn_err *err)
{
    mn__pkey k;
    int64_t n = 0;
    int rc;

    mn__err_clear(err);
    rc = mn__pkey_make(tenant, MN_SCOPE_USER, user_id, &k, err);
    if (rc)
        return rc;
    rc = db->sops->delete_partition(db->store, &k, &n, err);
    if (rc)
        return rc;
    mn__part_drop(db, &k);
    if (out_n)
        *out_n = n;
    return MN_OK;
}

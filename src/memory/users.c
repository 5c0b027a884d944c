/* users.c - the users of a tenant with their memory counts (for GET /v1/users and the
 * inspector), and the history of a memory's earlier versions. */
#include <string.h>

#include "memory_int.h"

typedef struct users_priv {
    mn__arena arena;
} users_priv;

void mn_users_free(mn_users *u)
{
    if (!u)
        return;
    if (u->priv_) {
        mn__arena_release(&((users_priv *)u->priv_)->arena);
        mn__free(u->priv_);
    }
    mn__free(u);
}

static int no_users(const mn_db *db, mn_err *err)
{
    return mn__err_set(err, MN_EUNAVAIL, "use the SQLite store",
                       "store backend '%s' cannot list users", db->sops->name);
}

int mn_user_list(mn_db *db, const char *tenant, const char *after, int limit, mn_users **out,
                 mn_err *err)
{
    mn__user_row *rows = NULL;
    size_t n = 0, i;
    int64_t total = 0;
    mn_users *u;
    users_priv *pv;
    int rc;

    mn__err_clear(err);
    *out = NULL;
    if (!db->sops->user_list)
        return no_users(db, err);
    if ((rc = mn__tenant_or_default(tenant, &tenant, err)) != MN_OK)
        return rc;
    if (after && after[0] && (rc = mn__check_id("cursor", after, err)) != MN_OK)
        return rc;
    if (limit < 1 || limit > MN_MAX_K)
        return mn__err_set(err, MN_ERANGE, "use a limit between 1 and 1000",
                           "limit is %d, allowed 1..%d", limit, MN_MAX_K);
    u = mn__calloc(1, sizeof *u);
    pv = mn__calloc(1, sizeof *pv);
    if (!u || !pv) {
        mn__free(u);
        mn__free(pv);
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
    }
    mn__arena_init(&pv->arena, 8192);
    u->priv_ = pv;
    /* One row more than asked tells whether another page follows. */
    rc = db->sops->user_list(db->store, tenant, after && after[0] ? after : NULL, limit + 1,
                             &pv->arena, &rows, &n, &total, err);
    if (rc)
        goto fail;
    u->n = n > (size_t)limit ? (size_t)limit : n;
    if (u->n) {
        u->users = mn__arena_alloc(&pv->arena, u->n * sizeof *u->users);
        if (!u->users) {
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
            goto fail;
        }
    }
    for (i = 0; i < u->n; i++) {
        u->users[i].user_id = rows[i].user_id;
        u->users[i].n_memories = rows[i].n_memories;
        u->users[i].created_at_ms = rows[i].created_at_ms;
        u->users[i].updated_at_ms = rows[i].updated_at_ms;
    }
    u->total = total;
    u->next_after = n > (size_t)limit ? rows[limit - 1].user_id : NULL;
    *out = u;
    return MN_OK;
fail:
    mn_users_free(u);
    return rc;
}

int mn_user_get(mn_db *db, const char *tenant, const char *user_id, mn_user_info *out,
                mn_err *err)
{
    mn__pkey k;
    mn__user_row row;
    int rc;

    mn__err_clear(err);
    memset(out, 0, sizeof *out);
    if (!db->sops->user_get)
        return no_users(db, err);
    if ((rc = mn__pkey_make(tenant, MN_SCOPE_USER, user_id, &k, err)) != MN_OK)
        return rc;
    rc = db->sops->user_get(db->store, k.tenant, user_id, &row, err);
    if (rc == MN_OK && row.n_memories <= 0)
        rc = MN_ENOTFOUND;
    if (rc == MN_ENOTFOUND)
        return mn__err_set(err, MN_ENOTFOUND, "add a message for this user first",
                           "user '%.64s' has no memories in tenant '%.64s'", user_id,
                           k.tenant);
    if (rc)
        return rc;
    out->user_id = user_id;
    out->n_memories = row.n_memories;
    out->created_at_ms = row.created_at_ms;
    out->updated_at_ms = row.updated_at_ms;
    return MN_OK;
}

/* ---- history ----------------------------------------------------------------------------*/

typedef struct hist_ctx {
    mn__row *rows;
    size_t n, cap;
    mn__arena *a;
} hist_ctx;

static int collect_version(void *ctx, const mn__row *r)
{
    hist_ctx *h = ctx;
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 8;
        mn__row *nr = mn__realloc(h->rows, ncap * sizeof *nr);
        if (!nr)
            return MN_ENOMEM;
        h->rows = nr;
        h->cap = ncap;
    }
    h->rows[h->n] = *r;
    h->rows[h->n].text = mn__arena_strdup(h->a, r->text);
    h->rows[h->n].metadata_json = mn__arena_strdup(h->a, r->metadata_json);
    h->rows[h->n].tenant = mn__arena_strdup(h->a, r->tenant);
    h->rows[h->n].user_id = mn__arena_strdup(h->a, r->user_id);
    h->rows[h->n].session_id = NULL;
    h->rows[h->n].sources = NULL;
    h->rows[h->n].n_sources = 0;
    h->rows[h->n].embedding = NULL;
    h->rows[h->n].embed_model = NULL;
    if ((r->text && !h->rows[h->n].text) ||
        (r->metadata_json && !h->rows[h->n].metadata_json))
        return MN_ENOMEM;
    h->n++;
    return 0;
}

int mn_memory_history(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                      mn_results **out, mn_err *err)
{
    mn__pkey k;
    mn__arena a;
    hist_ctx h;
    mn_results *res = NULL;
    size_t i;
    int rc;

    mn__err_clear(err);
    *out = NULL;
    rc = mn__pkey_make(tenant, user_id ? MN_SCOPE_USER : MN_SCOPE_SYSTEM, user_id, &k, err);
    if (rc)
        return rc;
    memset(&h, 0, sizeof h);
    mn__arena_init(&a, 4096);
    h.a = &a;
    /* The store answers "not found" for a memory of another user or tenant, as for get. */
    rc = id > 0 ? db->sops->history(db->store, &k, id, collect_version, &h, err)
                : MN_ENOTFOUND;
    if (rc == MN_ENOTFOUND)
        rc = mn__err_set(err, MN_ENOTFOUND, "list the user's memories to see valid ids",
                         "memory %lld not found for %s '%.64s'", (long long)id,
                         user_id ? "user" : "scope", user_id ? user_id : "system");
    else if (rc == MN_ENOMEM)
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading history");
    if (rc)
        goto cleanup;
    if ((rc = mn__results_new(h.n, &res)) != MN_OK)
        goto oom;
    for (i = 0; i < h.n; i++) {
        if (!h.rows[i].id)
            h.rows[i].id = id;
        if (!h.rows[i].tenant)
            h.rows[i].tenant = k.tenant;
        if ((rc = mn__results_set_row(res, i, &h.rows[i], NULL)) != MN_OK)
            goto oom;
        res->hits[i].mem.embedding_pending = false;
    }
    res->total = (int64_t)h.n;
    *out = res;
    res = NULL;
    goto cleanup;
oom:
    rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading history");
cleanup:
    mn_results_free(res);
    mn__free(h.rows);
    mn__arena_release(&a);
    return rc;
}

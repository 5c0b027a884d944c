/* pg_keys.c - the PostgreSQL backend's API keys (table api_keys, migration pg/0002) and the
 * users of a tenant (table partitions). Key writes go through the writer threads like every
 * write; reads take a pooled connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Runs a read statement on a pooled connection. */
static int read_q(mn__pg *s, int q, int n, const char *const *vals, const char *op,
                  PGresult **out, mn_err *err)
{
    mn__pg_conn *c = NULL;
    int rc = mn__pg_conn_get(s, &c, err);
    *out = NULL;
    if (rc)
        return rc;
    rc = mn__pg_run(s, c, q, n, vals, NULL, NULL, op, out, err);
    mn__pg_conn_put(s, c);
    return rc;
}

static int read_keys(mn__pg *s, const PGresult *r, mn__arena *a, mn__key_row **out_rows,
                     size_t *out_n, mn_err *err)
{
    int i, n = PQntuples(r);
    mn__key_row *rows;
    *out_rows = NULL;
    *out_n = 0;
    if (n == 0)
        return MN_OK;
    rows = mn__arena_alloc(a, (size_t)n * sizeof *rows);
    if (!rows)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading API keys");
    for (i = 0; i < n; i++) {
        mn__key_row *k = &rows[i];
        memset(k, 0, sizeof *k);
        k->id = mn__pg_i64(r, i, 0);
        if (PQgetisnull(r, i, 2) || PQgetlength(r, i, 2) != 32)
            return mn__err_set(err, MN_ECORRUPT, "restore the database from a backup",
                               "store '%s': API key %lld has a malformed digest", s->name,
                               (long long)k->id);
        memcpy(k->hash, PQgetvalue(r, i, 2), 32);
        k->prefix = mn__arena_strdup(a, mn__pg_text(r, i, 1));
        k->tenant = mn__arena_strdup(a, mn__pg_text(r, i, 3));
        k->name = mn__arena_strdup(a, mn__pg_text(r, i, 4));
        k->created_at_ms = mn__pg_i64(r, i, 5);
        k->revoked_at_ms = mn__pg_i64(r, i, 6);
        if (!k->prefix || !k->tenant || !k->name)
            return mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading API keys");
    }
    *out_rows = rows;
    *out_n = (size_t)n;
    return MN_OK;
}

int mn__pg_key_find(mn__store *st, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                    size_t *out_n, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    const char *vals[1] = {prefix};
    PGresult *r;
    int rc = read_q(s, MN__PG_Q_KEY_FIND, 1, vals, "read API keys", &r, err);
    *out_rows = NULL;
    *out_n = 0;
    if (rc)
        return rc;
    rc = read_keys(s, r, a, out_rows, out_n, err);
    PQclear(r);
    return rc;
}

int mn__pg_key_list(mn__store *st, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                    mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    PGresult *r;
    int rc = read_q(s, MN__PG_Q_KEY_LIST, 0, NULL, "read API keys", &r, err);
    *out_rows = NULL;
    *out_n = 0;
    if (rc)
        return rc;
    rc = read_keys(s, r, a, out_rows, out_n, err);
    PQclear(r);
    return rc;
}

int mn__pg_key_count_active(mn__store *st, int64_t *out_n, mn_err *err)
{
    PGresult *r;
    int rc = read_q(mn__pg_from(st), MN__PG_Q_KEY_COUNT, 0, NULL, "count API keys", &r, err);
    *out_n = 0;
    if (rc)
        return rc;
    if (PQntuples(r) == 1)
        *out_n = mn__pg_i64(r, 0, 0);
    PQclear(r);
    return MN_OK;
}

int mn__pg_user_list(mn__store *st, const char *tenant, const char *after, int limit,
                     mn__arena *a, mn__user_row **out_rows, size_t *out_n, int64_t *out_total,
                     mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    char lim[24];
    const char *vals[3] = {tenant, after ? after : "", lim};
    mn__user_row *rows = NULL;
    PGresult *r;
    int i, n, rc;
    *out_rows = NULL;
    *out_n = 0;
    *out_total = 0;
    if (limit < 1)
        return mn__err_set(err, MN_ERANGE, NULL, "user list limit %d is below 1", limit);
    snprintf(lim, sizeof lim, "%d", limit);
    rc = read_q(s, MN__PG_Q_USER_LIST, 3, vals, "list users", &r, err);
    if (rc)
        return rc;
    n = PQntuples(r);
    if (n > 0) {
        rows = mn__arena_alloc(a, (size_t)n * sizeof *rows);
        if (!rows)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
    }
    for (i = 0; i < n && rc == MN_OK; i++) {
        rows[i].user_id = mn__arena_strdup(a, mn__pg_text(r, i, 0));
        rows[i].n_memories = mn__pg_i64(r, i, 1);
        rows[i].created_at_ms = mn__pg_i64(r, i, 2);
        rows[i].updated_at_ms = mn__pg_i64(r, i, 3);
        if (!rows[i].user_id)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
    }
    PQclear(r);
    if (rc)
        return rc;
    /* The count comes from a second snapshot; a concurrent write may make it differ from
     * the page by one, which a paginating client tolerates. */
    rc = read_q(s, MN__PG_Q_USER_COUNT, 1, vals, "count users", &r, err);
    if (rc)
        return rc;
    *out_total = PQntuples(r) == 1 ? mn__pg_i64(r, 0, 0) : 0;
    PQclear(r);
    *out_rows = n ? rows : NULL;
    *out_n = (size_t)n;
    return MN_OK;
}

int mn__pg_user_get(mn__store *st, const char *tenant, const char *user_id, mn__user_row *out,
                    mn_err *err)
{
    const char *vals[2] = {tenant, user_id};
    PGresult *r;
    int rc;
    memset(out, 0, sizeof *out);
    rc = read_q(mn__pg_from(st), MN__PG_Q_USER_GET, 2, vals, "read user", &r, err);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        out->n_memories = mn__pg_i64(r, 0, 0);
        out->created_at_ms = mn__pg_i64(r, 0, 1);
        out->updated_at_ms = mn__pg_i64(r, 0, 2);
    } else {
        rc = mn__err_set(err, MN_ENOTFOUND, NULL, "user '%s' of tenant '%s' not found",
                         user_id, tenant);
    }
    PQclear(r);
    return rc;
}

/* ---- writes, run by a writer thread ---------------------------------------------------------*/

static int put_key(mn__pg *s, mn__pg_conn *c, void *ctx, int64_t now_ms, mn_err *err)
{
    mn__key_row *k = ctx;
    char at[24];
    const char *vals[5] = {k->prefix, (const char *)k->hash, k->tenant, k->name ? k->name : "",
                           at};
    int lens[5] = {0, 32, 0, 0, 0}, fmts[5] = {0, 1, 0, 0, 0};
    PGresult *r;
    int rc;
    if (!k->created_at_ms)
        k->created_at_ms = now_ms;
    snprintf(at, sizeof at, "%lld", (long long)k->created_at_ms);
    rc = mn__pg_run(s, c, MN__PG_Q_KEY_PUT, 5, vals, lens, fmts, "insert API key", &r, err);
    if (rc)
        return rc;
    k->id = PQntuples(r) == 1 ? mn__pg_i64(r, 0, 0) : 0;
    PQclear(r);
    return MN_OK;
}

int mn__pg_key_put(mn__store *st, mn__key_row *k, mn_err *err)
{
    if (!k->prefix || !k->tenant)
        return mn__err_set(err, MN_EINVAL, NULL, "API key without prefix or tenant");
    return mn__pg_write_call(mn__pg_from(st), put_key, k, err);
}

typedef struct revoke_req {
    mn_id id;
} revoke_req;

static int revoke_key(mn__pg *s, mn__pg_conn *c, void *ctx, int64_t now_ms, mn_err *err)
{
    revoke_req *q = ctx;
    char id[24], at[24];
    const char *vals[2] = {id, at};
    PGresult *r;
    int rc;
    snprintf(id, sizeof id, "%lld", (long long)q->id);
    snprintf(at, sizeof at, "%lld", (long long)now_ms);
    rc = mn__pg_run(s, c, MN__PG_Q_KEY_REVOKE, 2, vals, NULL, NULL, "revoke API key", &r, err);
    if (rc)
        return rc;
    if (strtoll(PQcmdTuples(r), NULL, 10) == 0)
        rc = mn__err_set(err, MN_ENOTFOUND, "see 'mnemo keys list' for the ids",
                         "no API key with id %lld", (long long)q->id);
    PQclear(r);
    return rc;
}

int mn__pg_key_revoke(mn__store *st, mn_id id, mn_err *err)
{
    revoke_req q = {id};
    return mn__pg_write_call(mn__pg_from(st), revoke_key, &q, err);
}

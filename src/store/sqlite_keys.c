/* sqlite_keys.c - the SQLite backend's API keys (table api_keys, migration 0002) and the
 * users of a tenant (table partitions). Key writes go through the writer thread; reads use
 * the reader pool. These calls are rare (key checks are cached by the server), so their
 * statements are prepared per call instead of cached per connection. */
#include <string.h>

#include "store_int.h"

/* ---- reads ----------------------------------------------------------------------------------*/

typedef struct rq {
    mn__sq *s;
    mn__sq_reader *r;
    sqlite3_stmt *st;
} rq;

static int rq_open(mn__store *st, const char *sql, rq *q, mn_err *err)
{
    int rc;
    q->s = mn__sq_from(st);
    q->r = NULL;
    q->st = NULL;
    rc = mn__sq_reader_get(q->s, &q->r, err);
    if (rc)
        return rc;
    rc = sqlite3_prepare_v2(q->r->db, sql, -1, &q->st, NULL);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(q->s, q->r->db, rc, "prepare statement", err);
        mn__sq_reader_put(q->s, q->r);
        q->r = NULL;
        return rc;
    }
    return MN_OK;
}

static void rq_close(rq *q)
{
    sqlite3_finalize(q->st);
    if (q->r)
        mn__sq_reader_put(q->s, q->r);
}

static int bind_ok(rq *q, int rc, mn_err *err)
{
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(q->s, q->r->db, rc, "bind parameters", err);
}

#define KEY_COLS "id, prefix, hash, tenant, name, created_at, coalesce(revoked_at, 0)"

/* Reads every result row of a key query into an array in a. */
static int read_keys(rq *q, mn__arena *a, mn__key_row **out_rows, size_t *out_n, mn_err *err)
{
    mn__key_row *rows = NULL, *nr;
    size_t n = 0, cap = 0;
    int rc;
    *out_rows = NULL;
    *out_n = 0;
    for (;;) {
        const void *h;
        rc = sqlite3_step(q->st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            return mn__sq_err(q->s, q->r->db, rc, "read API keys", err);
        if (n == cap) {
            /* Arena arrays cannot grow in place: copy into a bigger one (few keys). */
            size_t ncap = cap ? cap * 2 : 8;
            nr = mn__arena_alloc(a, ncap * sizeof *nr);
            if (!nr)
                return mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading API keys");
            if (n)
                memcpy(nr, rows, n * sizeof *nr);
            rows = nr;
            cap = ncap;
        }
        memset(&rows[n], 0, sizeof rows[n]);
        rows[n].id = sqlite3_column_int64(q->st, 0);
        rows[n].prefix = mn__arena_strdup(a, (const char *)sqlite3_column_text(q->st, 1));
        h = sqlite3_column_blob(q->st, 2);
        if (!h || sqlite3_column_bytes(q->st, 2) != 32)
            return mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                               "store '%s': API key %lld has a malformed digest", q->s->path,
                               (long long)rows[n].id);
        memcpy(rows[n].hash, h, 32);
        rows[n].tenant = mn__arena_strdup(a, (const char *)sqlite3_column_text(q->st, 3));
        rows[n].name = mn__arena_strdup(a, (const char *)sqlite3_column_text(q->st, 4));
        rows[n].created_at_ms = sqlite3_column_int64(q->st, 5);
        rows[n].revoked_at_ms = sqlite3_column_int64(q->st, 6);
        if (!rows[n].prefix || !rows[n].tenant || !rows[n].name)
            return mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading API keys");
        n++;
    }
    *out_rows = rows;
    *out_n = n;
    return MN_OK;
}

int mn__sq_key_find(mn__store *st, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                    size_t *out_n, mn_err *err)
{
    rq q;
    int rc = rq_open(st, "SELECT " KEY_COLS " FROM api_keys WHERE prefix = ?1 ORDER BY id",
                     &q, err);
    *out_rows = NULL;
    *out_n = 0;
    if (rc)
        return rc;
    rc = bind_ok(&q, sqlite3_bind_text(q.st, 1, prefix, -1, SQLITE_STATIC), err);
    if (rc == MN_OK)
        rc = read_keys(&q, a, out_rows, out_n, err);
    rq_close(&q);
    return rc;
}

int mn__sq_key_list(mn__store *st, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                    mn_err *err)
{
    rq q;
    int rc = rq_open(st, "SELECT " KEY_COLS " FROM api_keys ORDER BY id", &q, err);
    *out_rows = NULL;
    *out_n = 0;
    if (rc)
        return rc;
    rc = read_keys(&q, a, out_rows, out_n, err);
    rq_close(&q);
    return rc;
}

/* Runs a query whose one result is an integer. */
static int read_int(rq *q, const char *op, int64_t *out, mn_err *err)
{
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(q->st, 0);
        return MN_OK;
    }
    return mn__sq_err(q->s, q->r->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, op, err);
}

int mn__sq_key_count_active(mn__store *st, int64_t *out_n, mn_err *err)
{
    rq q;
    int rc = rq_open(st, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL", &q, err);
    *out_n = 0;
    if (rc)
        return rc;
    rc = read_int(&q, "count API keys", out_n, err);
    rq_close(&q);
    return rc;
}

int mn__sq_user_list(mn__store *st, const char *tenant, const char *after, int limit,
                     mn__arena *a, mn__user_row **out_rows, size_t *out_n, int64_t *out_total,
                     mn_err *err)
{
    rq q;
    mn__user_row *rows;
    size_t n = 0;
    int rc;
    *out_rows = NULL;
    *out_n = 0;
    *out_total = 0;
    if (limit < 1)
        return mn__err_set(err, MN_ERANGE, NULL, "user list limit %d is below 1", limit);
    rows = mn__arena_alloc(a, (size_t)limit * sizeof *rows);
    if (!rows)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
    rc = rq_open(st,
                 "SELECT user_id, n_memories, created_at, updated_at FROM partitions "
                 "WHERE tenant = ?1 AND scope = 'user' AND n_memories > 0 AND user_id > ?2 "
                 "ORDER BY user_id LIMIT ?3",
                 &q, err);
    if (rc)
        return rc;
    rc = sqlite3_bind_text(q.st, 1, tenant, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q.st, 2, after ? after : "", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q.st, 3, limit);
    rc = bind_ok(&q, rc, err);
    while (rc == MN_OK) {
        rc = sqlite3_step(q.st);
        if (rc == SQLITE_DONE) {
            rc = MN_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = mn__sq_err(q.s, q.r->db, rc, "list users", err);
            break;
        }
        rows[n].user_id = mn__arena_strdup(a, (const char *)sqlite3_column_text(q.st, 0));
        rows[n].n_memories = sqlite3_column_int64(q.st, 1);
        rows[n].created_at_ms = sqlite3_column_int64(q.st, 2);
        rows[n].updated_at_ms = sqlite3_column_int64(q.st, 3);
        if (!rows[n].user_id) {
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing users");
            break;
        }
        rc = MN_OK;
        n++;
    }
    rq_close(&q);
    if (rc)
        return rc;
    /* The count comes from a second snapshot; a concurrent write may make it differ from
     * the page by one, which a paginating client tolerates. */
    rc = rq_open(st,
                 "SELECT count(*) FROM partitions WHERE tenant = ?1 AND scope = 'user' "
                 "AND n_memories > 0",
                 &q, err);
    if (rc)
        return rc;
    rc = bind_ok(&q, sqlite3_bind_text(q.st, 1, tenant, -1, SQLITE_STATIC), err);
    if (rc == MN_OK)
        rc = read_int(&q, "count users", out_total, err);
    rq_close(&q);
    if (rc)
        return rc;
    *out_rows = rows;
    *out_n = n;
    return MN_OK;
}

int mn__sq_user_get(mn__store *st, const char *tenant, const char *user_id, mn__user_row *out,
                    mn_err *err)
{
    rq q;
    int rc;
    memset(out, 0, sizeof *out);
    rc = rq_open(st,
                 "SELECT n_memories, created_at, updated_at FROM partitions "
                 "WHERE tenant = ?1 AND scope = 'user' AND user_id = ?2",
                 &q, err);
    if (rc)
        return rc;
    rc = sqlite3_bind_text(q.st, 1, tenant, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(q.st, 2, user_id, -1, SQLITE_STATIC);
    rc = bind_ok(&q, rc, err);
    if (rc == MN_OK) {
        rc = sqlite3_step(q.st);
        if (rc == SQLITE_ROW) {
            out->n_memories = sqlite3_column_int64(q.st, 0);
            out->created_at_ms = sqlite3_column_int64(q.st, 1);
            out->updated_at_ms = sqlite3_column_int64(q.st, 2);
            rc = MN_OK;
        } else if (rc == SQLITE_DONE) {
            rc = mn__err_set(err, MN_ENOTFOUND, NULL, "user '%s' of tenant '%s' not found",
                             user_id, tenant);
        } else {
            rc = mn__sq_err(q.s, q.r->db, rc, "read user", err);
        }
    }
    rq_close(&q);
    return rc;
}

/* ---- writes, run by the writer thread ---------------------------------------------------------*/

/* Prepares sql on the writer connection; the caller finalizes. */
static int wprep(mn__sq *s, const char *sql, sqlite3_stmt **out, mn_err *err)
{
    int rc = sqlite3_prepare_v2(s->wdb, sql, -1, out, NULL);
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(s, s->wdb, rc, "prepare statement", err);
}

static int put_key(mn__sq *s, void *ctx, int64_t now_ms, mn_err *err)
{
    mn__key_row *k = ctx;
    sqlite3_stmt *st = NULL;
    int rc = wprep(s,
                   "INSERT INTO api_keys (prefix, hash, tenant, name, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)",
                   &st, err);
    if (rc)
        return rc;
    if (!k->created_at_ms)
        k->created_at_ms = now_ms;
    rc = sqlite3_bind_text(st, 1, k->prefix, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, k->hash, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, k->tenant, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 4, k->name ? k->name : "", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, k->created_at_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        k->id = sqlite3_last_insert_rowid(s->wdb);
        rc = MN_OK;
    } else {
        rc = mn__sq_err(s, s->wdb, rc, "insert API key", err);
    }
    sqlite3_finalize(st);
    return rc;
}

int mn__sq_key_put(mn__store *st, mn__key_row *k, mn_err *err)
{
    if (!k->prefix || !k->tenant)
        return mn__err_set(err, MN_EINVAL, NULL, "API key without prefix or tenant");
    return mn__sq_write_call(mn__sq_from(st), put_key, k, err);
}

typedef struct revoke_req {
    mn_id id;
} revoke_req;

static int revoke_key(mn__sq *s, void *ctx, int64_t now_ms, mn_err *err)
{
    revoke_req *r = ctx;
    sqlite3_stmt *st = NULL;
    int rc = wprep(s, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                   &st, err);
    if (rc)
        return rc;
    rc = sqlite3_bind_int64(st, 1, r->id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = sqlite3_changes(s->wdb) ? MN_OK
                                     : mn__err_set(err, MN_ENOTFOUND,
                                                   "see 'mnemo keys list' for the ids",
                                                   "no API key with id %lld", (long long)r->id);
    else
        rc = mn__sq_err(s, s->wdb, rc, "revoke API key", err);
    sqlite3_finalize(st);
    return rc;
}

int mn__sq_key_revoke(mn__store *st, mn_id id, mn_err *err)
{
    revoke_req r = {id};
    return mn__sq_write_call(mn__sq_from(st), revoke_key, &r, err);
}

/* pg_read.c - the read ops of the PostgreSQL backend: get, scans (streamed in single-row
 * mode), list (count and page in one statement, so from one snapshot), history, partition
 * version, stats and the rows waiting for an embedding; and the decoding, with validation,
 * of a selected row. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* The stored names of the enums (the same words as SQLite's: sqlite_rows.c). */
static int parse_name(const char *(*name_of)(int), int max, const char *s)
{
    int v;
    if (!s)
        return 0;
    for (v = 1; v <= max; v++)
        if (!strcmp(name_of(v), s))
            return v;
    return 0;
}

static const char *scope_of(int v)
{
    return mn__sq_scope_text((mn_scope)v);
}

static const char *kind_of(int v)
{
    return mn__sq_kind_text((mn_kind)v);
}

static const char *role_of(int v)
{
    return mn__sq_role_text((mn_role)v);
}

static const char *status_of(int v)
{
    return mn__sq_status_text((mn_status)v);
}

void mn__pg_pkey_vals(const mn__pkey *k, const char **vals)
{
    vals[0] = k->tenant;
    vals[1] = mn__sq_scope_text(k->scope);
    vals[2] = k->user_id ? k->user_id : "";
}

/* A text column, copied into the arena when there is one. */
static int col_text(const PGresult *r, int row, int col, mn__arena *a, const char **out)
{
    const char *t = mn__pg_text(r, row, col);
    *out = t;
    if (!t || !a)
        return MN_OK;
    *out = mn__arena_strndup(a, t, (size_t)PQgetlength(r, row, col));
    return *out ? MN_OK : MN_ENOMEM;
}

static int corrupt(const mn__pg *s, mn_id id, const char *what, mn_err *err)
{
    return mn__err_set(err, MN_ECORRUPT, "restore the database from a backup",
                       "store '%s': memory %lld: %s", s->name, (long long)id, what);
}

static int read_sources(const mn__pg *s, const char *t, mn__arena *a, mn__sq_scratch *sc,
                        mn__row *out, mn_err *err)
{
    size_t cap = 1;
    const char *p;
    mn_id *ids;
    if (!t)
        return MN_OK;
    for (p = t; *p; p++)
        cap += *p == ',';
    if (cap > MN_MAX_SOURCES)
        return corrupt(s, out->id, "stored sources are not an array of ids", err);
    if (a) {
        ids = mn__arena_alloc(a, cap * sizeof *ids);
    } else {
        if (cap > sc->ids_cap) {
            ids = mn__realloc(sc->ids, cap * sizeof *ids);
            if (ids) {
                sc->ids = ids;
                sc->ids_cap = cap;
            }
        }
        ids = cap <= sc->ids_cap ? sc->ids : NULL;
    }
    if (!ids)
        return MN_ENOMEM;
    if (mn__sq_sources_parse(t, ids, cap, &out->n_sources))
        return corrupt(s, out->id, "stored sources are not an array of ids", err);
    out->sources = out->n_sources ? ids : NULL;
    return MN_OK;
}

static bool host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static int read_embedding(const mn__pg *s, const PGresult *r, int row, int col, mn__arena *a,
                          mn__sq_scratch *sc, mn__row *out, mn_err *err)
{
    int bytes = PQgetlength(r, row, col);
    size_t dim, i;
    float *v;
    if (PQgetisnull(r, row, col))
        return MN_OK;
    if (bytes <= 0 || bytes % 4 || !out->embed_model)
        return corrupt(s, out->id, "embedding is not float32 with a model id", err);
    dim = (size_t)bytes / 4;
    if (a) {
        v = mn__arena_alloc(a, dim * sizeof *v);
    } else {
        if (dim > sc->vec_cap) {
            float *nv = mn__realloc(sc->vec, dim * sizeof *nv);
            if (nv) {
                sc->vec = nv;
                sc->vec_cap = dim;
            }
        }
        v = dim <= sc->vec_cap ? sc->vec : NULL;
    }
    if (!v)
        return MN_ENOMEM;
    /* libpq's buffer is not aligned for floats: always copy */
    memcpy(v, PQgetvalue(r, row, col), dim * sizeof *v);
    if (!host_is_le())
        for (i = 0; i < dim; i++) {
            unsigned char *p = (unsigned char *)&v[i], t;
            t = p[0], p[0] = p[3], p[3] = t;
            t = p[1], p[1] = p[2], p[2] = t;
        }
    out->embedding = v;
    out->dim = (int)dim;
    return MN_OK;
}

/* Decodes the row's 16 columns starting at col0 (the order of COLS in pg_conn.c). */
static int row_read(const mn__pg *s, const PGresult *r, int row, int c0, mn__arena *a,
                    mn__sq_scratch *sc, mn__row *out, mn_err *err)
{
    const char *scope, *kind, *role, *status, *sources;
    int rc;
    memset(out, 0, sizeof *out);
    out->id = mn__pg_i64(r, row, c0);
    scope = mn__pg_text(r, row, c0 + 3);
    kind = mn__pg_text(r, row, c0 + 4);
    role = mn__pg_text(r, row, c0 + 5);
    status = mn__pg_text(r, row, c0 + 6);
    out->scope = (mn_scope)parse_name(scope_of, MN_SCOPE_SYSTEM, scope);
    out->kind = (mn_kind)parse_name(kind_of, MN_KIND_SUMMARY, kind);
    out->role = (mn_role)parse_name(role_of, MN_ROLE_ASSISTANT, role);
    out->status = (mn_status)parse_name(status_of, MN_STATUS_SUPERSEDED, status);
    if (!out->scope || !out->kind || !out->status || (role && !out->role))
        return corrupt(s, out->id, "unknown scope, kind, role or status", err);
    rc = col_text(r, row, c0 + 1, a, &out->tenant);
    if (rc == MN_OK)
        rc = col_text(r, row, c0 + 2, a, &out->user_id);
    if (rc == MN_OK)
        rc = col_text(r, row, c0 + 7, a, &out->session_id);
    if (rc == MN_OK)
        rc = col_text(r, row, c0 + 8, a, &out->text);
    if (rc == MN_OK)
        rc = col_text(r, row, c0 + 9, a, &out->metadata_json);
    if (rc == MN_OK)
        rc = col_text(r, row, c0 + 14, a, &out->embed_model);
    if (rc)
        return mn__err_set(err, rc, NULL, "store '%s': out of memory reading memory %lld",
                           s->name, (long long)out->id);
    if (!out->tenant || !out->text)
        return corrupt(s, out->id, "no tenant or text", err);
    if (out->scope == MN_SCOPE_SYSTEM)
        out->user_id = NULL; /* stored as '' (a key column) */
    out->created_at_ms = mn__pg_i64(r, row, c0 + 10);
    out->updated_at_ms = mn__pg_i64(r, row, c0 + 11);
    out->superseded_by = mn__pg_i64(r, row, c0 + 13);
    sources = mn__pg_text(r, row, c0 + 12);
    rc = read_sources(s, sources, a, sc, out, err);
    if (rc == MN_OK)
        rc = read_embedding(s, r, row, c0 + 15, a, sc, out, err);
    if (rc == MN_ENOMEM)
        return mn__err_set(err, rc, NULL, "store '%s': out of memory reading memory %lld",
                           s->name, (long long)out->id);
    return rc;
}

static int not_found(const mn__pkey *k, mn_id id, mn_err *err)
{
    if (k->user_id)
        return mn__err_set(err, MN_ENOTFOUND, NULL,
                           "memory %lld of user '%s' in tenant '%s' not found", (long long)id,
                           k->user_id, k->tenant);
    return mn__err_set(err, MN_ENOTFOUND, NULL, "system memory %lld in tenant '%s' not found",
                       (long long)id, k->tenant);
}

int mn__pg_get(mn__store *st, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
               mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    const char *vals[4];
    char idbuf[24];
    PGresult *r = NULL;
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    mn__pg_pkey_vals(k, vals);
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    vals[3] = idbuf;
    rc = mn__pg_run(s, c, MN__PG_Q_GET, 4, vals, NULL, NULL, "get memory", &r, err);
    if (rc == MN_OK)
        rc = PQntuples(r) == 1 ? row_read(s, r, 0, 0, a, NULL, out, err)
                               : not_found(k, id, err);
    PQclear(r);
    mn__pg_conn_put(s, c);
    return rc;
}

int mn__pg_get_many(mn__store *st, const mn__pkey *k, const mn_id *ids, size_t n,
                    mn__arena *a, mn__row *out, bool *found, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    const char *vals[4];
    PGresult *r = NULL;
    mn__buf arr;
    size_t i, j;
    int rc = mn__sq_check_pkey(k, err), t;
    if (rc || n == 0)
        return rc;
    for (i = 0; i < n; i++)
        found[i] = false;
    /* one round trip for all of them: the ids as an array literal {1,2,3} */
    mn__buf_init(&arr, 24 * n + 2);
    rc = mn__buf_puts(&arr, "{");
    for (i = 0; rc == MN_OK && i < n; i++)
        rc = mn__buf_printf(&arr, i ? ",%lld" : "%lld", (long long)ids[i]);
    if (rc == MN_OK)
        rc = mn__buf_puts(&arr, "}");
    if (rc) {
        mn__buf_release(&arr);
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->name);
    }
    rc = mn__pg_conn_get(s, &c, err);
    if (rc == MN_OK) {
        mn__pg_pkey_vals(k, vals);
        vals[3] = arr.data;
        rc = mn__pg_run(s, c, MN__PG_Q_GET_MANY, 4, vals, NULL, NULL, "get memories", &r, err);
    }
    for (t = 0; rc == MN_OK && t < PQntuples(r); t++) {
        mn__row row;
        rc = row_read(s, r, t, 0, a, NULL, &row, err);
        for (j = 0; rc == MN_OK && j < n; j++)
            if (ids[j] == row.id) { /* an id asked twice gets the row twice */
                out[j] = row;
                found[j] = true;
            }
    }
    PQclear(r);
    if (c)
        mn__pg_conn_put(s, c);
    mn__buf_release(&arr);
    return rc;
}

typedef struct scan_ctx {
    mn__pg *s;
    mn__row_fn fn;
    void *ctx;
    mn__sq_scratch sc;
} scan_ctx;

static int scan_row(void *ctx, const PGresult *r, mn_err *err)
{
    scan_ctx *sx = ctx;
    mn__row row;
    int rc = row_read(sx->s, r, 0, 0, NULL, &sx->sc, &row, err);
    return rc ? rc : sx->fn(sx->ctx, &row);
}

static int scan(mn__pg *s, int q, int n, const char *const *vals, const char *op,
                mn__row_fn fn, void *ctx, mn_err *err)
{
    mn__pg_conn *c = NULL;
    scan_ctx sx;
    int rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    memset(&sx, 0, sizeof sx);
    sx.s = s;
    sx.fn = fn;
    sx.ctx = ctx;
    rc = mn__pg_scan(s, c, q, n, vals, op, scan_row, &sx, err);
    mn__sq_scratch_release(&sx.sc);
    mn__pg_conn_put(s, c);
    return rc;
}

int mn__pg_scan_partition(mn__store *st, const mn__pkey *k, mn__row_fn fn, void *ctx,
                          mn_err *err)
{
    const char *vals[3];
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    mn__pg_pkey_vals(k, vals);
    return scan(mn__pg_from(st), MN__PG_Q_SCAN_PART, 3, vals, "scan partition", fn, ctx, err);
}

int mn__pg_scan_tenant(mn__store *st, const char *tenant, mn__row_fn fn, void *ctx,
                       mn_err *err)
{
    const char *vals[1] = {tenant};
    if (!tenant || !tenant[0])
        return mn__err_set(err, MN_EINVAL, "pass a tenant", "scan tenant: tenant is missing");
    return scan(mn__pg_from(st), MN__PG_Q_SCAN_TENANT, 1, vals, "scan tenant", fn, ctx, err);
}

int mn__pg_history(mn__store *st, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                   mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    const char *vals[4];
    char idbuf[24];
    PGresult *r = NULL;
    int i, n, rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    mn__pg_pkey_vals(k, vals);
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    vals[3] = idbuf;
    /* One statement: "the memory exists" and its history come from one snapshot. */
    rc = mn__pg_run(s, c, MN__PG_Q_HISTORY, 4, vals, NULL, NULL, "read history", &r, err);
    mn__pg_conn_put(s, c);
    if (rc)
        return rc;
    n = PQntuples(r);
    if (n < 1 || mn__pg_i64(r, 0, 5) == 0)
        rc = not_found(k, id, err);
    for (i = 0; i < n && rc == MN_OK; i++) {
        mn__row row;
        const char *status;
        if (PQgetisnull(r, i, 0))
            continue; /* no history: one row of NULLs */
        memset(&row, 0, sizeof row);
        row.id = mn__pg_i64(r, i, 0);
        row.tenant = k->tenant;
        row.scope = k->scope;
        row.user_id = k->user_id;
        row.updated_at_ms = mn__pg_i64(r, i, 1);
        row.text = mn__pg_text(r, i, 2);
        row.metadata_json = mn__pg_text(r, i, 3);
        status = mn__pg_text(r, i, 4);
        row.status = (mn_status)parse_name(status_of, MN_STATUS_SUPERSEDED, status);
        if (!row.text || !row.status) {
            rc = corrupt(s, id, "history has a bad text or status", err);
            break;
        }
        rc = fn(ctx, &row);
    }
    PQclear(r);
    return rc;
}

int mn__pg_version(mn__store *st, const mn__pkey *k, int64_t *out_version, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    const char *vals[3];
    PGresult *r = NULL;
    int rc = mn__sq_check_pkey(k, err);
    *out_version = 0;
    if (rc)
        return rc;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    mn__pg_pkey_vals(k, vals);
    rc = mn__pg_run(s, c, MN__PG_Q_VERSION, 3, vals, NULL, NULL, "read partition version", &r,
                    err);
    if (rc == MN_OK && PQntuples(r) == 1)
        *out_version = mn__pg_i64(r, 0, 0); /* never written: version 0 */
    PQclear(r);
    mn__pg_conn_put(s, c);
    return rc;
}

int mn__pg_stats(mn__store *st, mn__store_stats *out, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    mn__wq_counts(&s->wq, &out->n_commits, &out->n_committed_ops);
    out->schema_version = s->schema_version;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    rc = mn__pg_run(s, c, MN__PG_Q_STATS, 0, NULL, NULL, NULL, "count memories", &r, err);
    if (rc == MN_OK && PQntuples(r) == 1) {
        out->n_memories = mn__pg_i64(r, 0, 0);
        out->file_bytes = mn__pg_i64(r, 0, 1);
    }
    PQclear(r);
    mn__pg_conn_put(s, c);
    return rc;
}

/* ---- list -----------------------------------------------------------------------------------*/

#define ALL_KINDS                                                                            \
    (MN_KIND_BIT(MN_KIND_MESSAGE) | MN_KIND_BIT(MN_KIND_PREFERENCE) |                        \
     MN_KIND_BIT(MN_KIND_FACT) | MN_KIND_BIT(MN_KIND_SUMMARY))
#define ALL_STATUSES                                                                         \
    (MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |                   \
     MN_STATUS_BIT(MN_STATUS_SUPERSEDED))

/* "{a,b}": a PostgreSQL array literal of the names of the bits of mask. */
static void array_of(unsigned mask, int max, const char *(*name_of)(int), char *out,
                     size_t cap)
{
    size_t o = 0;
    int v, n = 0;
    out[o++] = '{';
    for (v = 1; v <= max; v++)
        if (mask & (1u << v)) {
            int w = snprintf(out + o, cap - o, "%s%s", n++ ? "," : "", name_of(v));
            if (w > 0 && (size_t)w < cap - o)
                o += (size_t)w;
        }
    if (o + 2 <= cap) {
        out[o++] = '}';
        out[o] = '\0';
    }
}

int mn__pg_list(mn__store *st, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    mn__pkey k;
    const char *vals[10];
    char kinds[64], statuses[64], since[24], until[24], aft[24], lim[24];
    PGresult *r = NULL;
    mn__row *rows = NULL;
    size_t n = 0;
    int i, nt, rc;
    *out_rows = NULL;
    *out_n = 0;
    *out_total = 0;
    if (!f)
        return mn__err_set(err, MN_EINVAL, NULL, "list: no filter");
    k.tenant = f->tenant ? f->tenant : "default";
    k.scope = f->scope ? f->scope : MN_SCOPE_USER;
    k.user_id = f->user_id;
    if (f->kinds & ~(unsigned)ALL_KINDS)
        return mn__err_set(err, MN_EINVAL, "build the mask with MN_KIND_BIT",
                           "list: kinds mask 0x%x has unknown bits", f->kinds);
    if (f->statuses & ~(unsigned)ALL_STATUSES)
        return mn__err_set(err, MN_EINVAL, "build the mask with MN_STATUS_BIT",
                           "list: statuses mask 0x%x has unknown bits", f->statuses);
    if (limit < 0)
        return mn__err_set(err, MN_EINVAL, NULL, "list: limit %d is negative", limit);
    rc = mn__sq_check_pkey(&k, err);
    if (rc)
        return rc;
    array_of(f->kinds ? f->kinds : ALL_KINDS, MN_KIND_SUMMARY, kind_of, kinds, sizeof kinds);
    array_of(f->statuses ? f->statuses : MN_STATUS_BIT(MN_STATUS_ACTIVE), MN_STATUS_SUPERSEDED,
             status_of, statuses, sizeof statuses);
    snprintf(since, sizeof since, "%lld", (long long)f->since_ms);
    snprintf(until, sizeof until, "%lld", (long long)f->until_ms);
    snprintf(aft, sizeof aft, "%lld", (long long)(after > 0 ? after : 0));
    snprintf(lim, sizeof lim, "%d", limit);
    mn__pg_pkey_vals(&k, vals);
    vals[3] = kinds;
    vals[4] = statuses;
    vals[5] = f->session_id;
    vals[6] = since;
    vals[7] = until;
    vals[8] = aft;
    vals[9] = lim;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    rc = mn__pg_run(s, c, MN__PG_Q_LIST, 10, vals, NULL, NULL, "list", &r, err);
    mn__pg_conn_put(s, c);
    if (rc)
        return rc;
    nt = PQntuples(r);
    if (nt > 0 && !PQgetisnull(r, 0, 1)) {
        rows = mn__arena_alloc(a, (size_t)nt * sizeof *rows);
        if (!rows)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "store '%s': list: out of memory", s->name);
        for (i = 0; i < nt && rc == MN_OK; i++) {
            rc = row_read(s, r, i, 1, a, NULL, &rows[n], err);
            n += rc == MN_OK;
        }
    }
    if (rc == MN_OK) {
        *out_total = nt > 0 ? mn__pg_i64(r, 0, 0) : 0;
        *out_rows = n ? rows : NULL;
        *out_n = n;
    }
    PQclear(r);
    return rc;
}

/* ---- rows waiting for an embedding --------------------------------------------------------*/

int mn__pg_scan_pending(mn__store *st, const char *model, mn_id after, int limit, mn__arena *a,
                        mn__row **out_rows, size_t *out_n, mn_err *err)
{
    /* Rare and not on a request's path: unprepared. Without a model, the partial index of
     * migration pg/0003 gives the pending rows in id order. */
    static const char sql_null[] =
        "SELECT id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "
        "created_at, updated_at, sources, superseded_by, embed_model, NULL::bytea "
        "FROM memories WHERE embed_model IS NULL AND id > $1::bigint ORDER BY id "
        "LIMIT $2::int";
    static const char sql_model[] =
        "SELECT id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "
        "created_at, updated_at, sources, superseded_by, embed_model, NULL::bytea "
        "FROM memories WHERE (embed_model IS NULL OR embed_model <> $3) AND id > $1::bigint "
        "ORDER BY id LIMIT $2::int";
    mn__pg *s = mn__pg_from(st);
    mn__pg_conn *c = NULL;
    char aft[24], lim[24];
    const char *vals[3] = {aft, lim, model};
    mn__row *rows = NULL;
    PGresult *r;
    size_t n = 0;
    int i, nt, rc;
    *out_rows = NULL;
    *out_n = 0;
    if (limit < 1)
        return mn__err_set(err, MN_ERANGE, NULL, "store '%s': scan_pending limit %d", s->name,
                           limit);
    snprintf(aft, sizeof aft, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%d", limit);
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        return rc;
    r = PQexecParams(c->c, model ? sql_model : sql_null, model ? 3 : 2, NULL, vals, NULL, NULL,
                     1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = mn__pg_err(s, c, r, "scan pending embeddings", err);
        PQclear(r);
        mn__pg_conn_put(s, c);
        return rc;
    }
    mn__pg_conn_put(s, c);
    nt = PQntuples(r);
    if (nt > 0) {
        rows = mn__arena_alloc(a, (size_t)nt * sizeof *rows);
        if (!rows)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->name);
    }
    for (i = 0; i < nt && rc == MN_OK; i++) {
        rc = row_read(s, r, i, 0, a, NULL, &rows[n], err);
        n += rc == MN_OK;
    }
    PQclear(r);
    if (rc == MN_OK) {
        *out_rows = n ? rows : NULL;
        *out_n = n;
    }
    return rc;
}

/* sqlite_read.c - the read side of the SQLite backend: a pool of read-only connections (WAL
 * lets them read while the writer commits) and the read ops: get, scans, list, history,
 * partition version and stats. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

#define MAX_IDLE_READERS 8

static const char *const rsql[MN__SQ_R_N] = {
    [MN__SQ_R_GET] = "SELECT " MN__SQ_COLS " FROM memories "
                     "WHERE tenant = ?1 AND scope = ?2 AND user_id IS ?3 AND id = ?4",
    [MN__SQ_R_SCAN_PART] = "SELECT " MN__SQ_COLS " FROM memories "
                           "WHERE tenant = ?1 AND scope = ?2 AND user_id IS ?3 ORDER BY id",
    [MN__SQ_R_SCAN_TENANT] = "SELECT " MN__SQ_COLS " FROM memories WHERE tenant = ?1 "
                             "ORDER BY id",
    [MN__SQ_R_HISTORY] = "SELECT h.memory_id, h.version_at, h.text, h.metadata, h.status, "
                         "(SELECT count(*) FROM memories m WHERE m.id = ?4 AND m.tenant = ?1 "
                         "AND m.scope = ?2 AND m.user_id IS ?3) "
                         "FROM (SELECT NULL) LEFT JOIN memory_history h "
                         "ON h.memory_id = ?4 AND h.tenant = ?1 ORDER BY h.id",
    [MN__SQ_R_VERSION] = "SELECT version FROM partitions "
                         "WHERE tenant = ?1 AND scope = ?2 AND user_id = ?3",
    [MN__SQ_R_COUNT] = "SELECT coalesce(sum(n_memories), 0) FROM partitions",
};

/* ---- the pool -------------------------------------------------------------------------------*/

int mn__sq_reader_get(mn__sq *s, mn__sq_reader **out, mn_err *err)
{
    mn__sq_reader *r;
    int rc;
    pthread_mutex_lock(&s->pool_mu);
    r = s->idle;
    if (r) {
        s->idle = r->next;
        s->n_idle--;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (!r) {
        r = mn__calloc(1, sizeof *r);
        if (!r)
            return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
        rc = mn__sq_conn_open(s, true, &r->db, err);
        if (rc) {
            mn__free(r);
            return rc;
        }
    }
    r->next = NULL;
    *out = r;
    return MN_OK;
}

static void reader_free(mn__sq_reader *r)
{
    int i;
    for (i = 0; i < MN__SQ_R_N; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close_v2(r->db);
    mn__free(r);
}

void mn__sq_reader_put(mn__sq *s, mn__sq_reader *r)
{
    int i;
    if (!r)
        return;
    /* A statement left mid-way keeps its read transaction, and with it an old snapshot for
     * the next user of this connection: reset them all. */
    for (i = 0; i < MN__SQ_R_N; i++)
        if (r->st[i])
            sqlite3_reset(r->st[i]);
    if (!sqlite3_get_autocommit(r->db))
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_idle < MAX_IDLE_READERS) {
        r->next = s->idle;
        s->idle = r;
        s->n_idle++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (r)
        reader_free(r);
}

void mn__sq_readers_close(mn__sq *s)
{
    mn__sq_reader *r, *next;
    for (r = s->idle; r; r = next) {
        next = r->next;
        reader_free(r);
    }
    s->idle = NULL;
    s->n_idle = 0;
}

/* Takes a connection and its cached statement `which`, reset and ready to bind. */
static int rstmt(mn__sq *s, int which, mn__sq_reader **out_r, sqlite3_stmt **out_st,
                 mn_err *err)
{
    mn__sq_reader *r;
    int rc = mn__sq_reader_get(s, &r, err);
    if (rc)
        return rc;
    rc = mn__sq_stmt(s, r->db, &r->st[which], rsql[which], err);
    if (rc) {
        mn__sq_reader_put(s, r);
        return rc;
    }
    *out_r = r;
    *out_st = r->st[which];
    return MN_OK;
}

static int bind_key(mn__sq *s, mn__sq_reader *r, sqlite3_stmt *st, const mn__pkey *k,
                    bool part_key, mn_err *err)
{
    int rc = mn__sq_bind_pkey(st, 1, k, part_key);
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(s, r->db, rc, "bind parameters", err);
}

/* Steps st to the end, handing each row to fn. */
static int scan_rows(mn__sq *s, mn__sq_reader *r, sqlite3_stmt *st, mn__row_fn fn, void *ctx,
                     const char *op, mn_err *err)
{
    mn__sq_scratch sc;
    mn__row row;
    int rc;
    memset(&sc, 0, sizeof sc);
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = MN_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = mn__sq_err(s, r->db, rc, op, err);
            break;
        }
        rc = mn__sq_row_read(s, st, NULL, &sc, &row, err);
        if (rc)
            break;
        rc = fn(ctx, &row);
        if (rc)
            break;
    }
    mn__sq_scratch_release(&sc);
    return rc;
}

/* ---- ops ------------------------------------------------------------------------------------*/

int mn__sq_get(mn__store *st_, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
               mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    rc = rstmt(s, MN__SQ_R_GET, &r, &st, err);
    if (rc)
        return rc;
    rc = bind_key(s, r, st, k, false, err);
    if (rc == MN_OK)
        rc = sqlite3_bind_int64(st, 4, id) == SQLITE_OK ? MN_OK : MN_EINTERNAL;
    if (rc)
        goto cleanup;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = mn__sq_row_read(s, st, a, NULL, out, err);
    } else if (rc == SQLITE_DONE) {
        rc = k->user_id ? mn__err_set(err, MN_ENOTFOUND, NULL,
                                      "memory %lld of user '%s' in tenant '%s' not found",
                                      (long long)id, k->user_id, k->tenant)
                        : mn__err_set(err, MN_ENOTFOUND, NULL,
                                      "system memory %lld in tenant '%s' not found",
                                      (long long)id, k->tenant);
    } else {
        rc = mn__sq_err(s, r->db, rc, "get memory", err);
    }
cleanup:
    mn__sq_reader_put(s, r);
    return rc;
}

int mn__sq_get_many(mn__store *st_, const mn__pkey *k, const mn_id *ids, size_t n,
                    mn__arena *a, mn__row *out, bool *found, mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    size_t i;
    int rc = mn__sq_check_pkey(k, err);
    if (rc || n == 0)
        return rc;
    rc = rstmt(s, MN__SQ_R_GET, &r, &st, err);
    if (rc)
        return rc;
    /* One snapshot for all of them: a read transaction per row costs more than the row. */
    rc = sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(s, r->db, rc, "begin read", err);
        goto cleanup;
    }
    rc = bind_key(s, r, st, k, false, err);
    for (i = 0; rc == MN_OK && i < n; i++) {
        found[i] = false;
        sqlite3_reset(st);
        if (sqlite3_bind_int64(st, 4, ids[i]) != SQLITE_OK) {
            rc = mn__sq_err(s, r->db, SQLITE_MISUSE, "bind parameters", err);
            break;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            rc = mn__sq_row_read(s, st, a, NULL, &out[i], err);
            found[i] = rc == MN_OK;
        } else if (rc == SQLITE_DONE) {
            rc = MN_OK;
        } else {
            rc = mn__sq_err(s, r->db, rc, "get memories", err);
        }
    }
cleanup:
    mn__sq_reader_put(s, r); /* ends the read transaction */
    return rc;
}

int mn__sq_scan_partition(mn__store *st_, const mn__pkey *k, mn__row_fn fn, void *ctx,
                          mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    rc = rstmt(s, MN__SQ_R_SCAN_PART, &r, &st, err);
    if (rc)
        return rc;
    rc = bind_key(s, r, st, k, false, err);
    if (rc == MN_OK)
        rc = scan_rows(s, r, st, fn, ctx, "scan partition", err);
    mn__sq_reader_put(s, r);
    return rc;
}

int mn__sq_scan_tenant(mn__store *st_, const char *tenant, mn__row_fn fn, void *ctx,
                       mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    int rc;
    if (!tenant || !tenant[0])
        return mn__err_set(err, MN_EINVAL, "pass a tenant", "scan tenant: tenant is missing");
    rc = rstmt(s, MN__SQ_R_SCAN_TENANT, &r, &st, err);
    if (rc)
        return rc;
    rc = sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    rc = rc == SQLITE_OK ? MN_OK : mn__sq_err(s, r->db, rc, "bind parameters", err);
    if (rc == MN_OK)
        rc = scan_rows(s, r, st, fn, ctx, "scan tenant", err);
    mn__sq_reader_put(s, r);
    return rc;
}

int mn__sq_history(mn__store *st_, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                   mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    mn__row row;
    const char *status;
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    rc = rstmt(s, MN__SQ_R_HISTORY, &r, &st, err);
    if (rc)
        return rc;
    rc = bind_key(s, r, st, k, false, err);
    if (rc == MN_OK)
        rc = sqlite3_bind_int64(st, 4, id) == SQLITE_OK ? MN_OK : MN_EINTERNAL;
    /* One statement, so that "the memory exists" and its history come from one snapshot:
     * every result row carries the existence count; a memory without history gives one
     * row of NULLs. */
    while (rc == MN_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = MN_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = mn__sq_err(s, r->db, rc, "read history", err);
            break;
        }
        if (sqlite3_column_int(st, 5) == 0) {
            rc = k->user_id ? mn__err_set(err, MN_ENOTFOUND, NULL,
                                          "memory %lld of user '%s' in tenant '%s' not found",
                                          (long long)id, k->user_id, k->tenant)
                            : mn__err_set(err, MN_ENOTFOUND, NULL,
                                          "system memory %lld in tenant '%s' not found",
                                          (long long)id, k->tenant);
            break;
        }
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            rc = MN_OK;
            continue;
        }
        memset(&row, 0, sizeof row);
        row.id = sqlite3_column_int64(st, 0);
        row.tenant = k->tenant;
        row.scope = k->scope;
        row.user_id = k->user_id;
        row.updated_at_ms = sqlite3_column_int64(st, 1);
        row.text = (const char *)sqlite3_column_text(st, 2);
        row.metadata_json = (const char *)sqlite3_column_text(st, 3);
        status = (const char *)sqlite3_column_text(st, 4);
        for (row.status = MN_STATUS_ACTIVE; row.status <= MN_STATUS_SUPERSEDED; row.status++)
            if (status && !strcmp(status, mn__sq_status_text(row.status)))
                break;
        if (!row.text || row.status > MN_STATUS_SUPERSEDED) {
            rc = mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                             "store '%s': history of memory %lld has a bad text or status",
                             s->path, (long long)id);
            break;
        }
        rc = fn(ctx, &row);
    }
    mn__sq_reader_put(s, r);
    return rc;
}

int mn__sq_version(mn__store *st_, const mn__pkey *k, int64_t *out_version, mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    int rc = mn__sq_check_pkey(k, err);
    *out_version = 0;
    if (rc)
        return rc;
    rc = rstmt(s, MN__SQ_R_VERSION, &r, &st, err);
    if (rc)
        return rc;
    rc = bind_key(s, r, st, k, true, err);
    if (rc == MN_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out_version = sqlite3_column_int64(st, 0);
            rc = MN_OK;
        } else if (rc == SQLITE_DONE) {
            rc = MN_OK; /* never written: version 0 */
        } else {
            rc = mn__sq_err(s, r->db, rc, "read partition version", err);
        }
    }
    mn__sq_reader_put(s, r);
    return rc;
}

static int64_t file_size(const char *path, const char *suffix)
{
    char p[4096];
    struct stat sb;
    int n = snprintf(p, sizeof p, "%s%s", path, suffix);
    if (n < 0 || (size_t)n >= sizeof p || stat(p, &sb) != 0)
        return 0;
    return (int64_t)sb.st_size;
}

int mn__sq_stats(mn__store *st_, mn__store_stats *out, mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *st;
    int rc;
    memset(out, 0, sizeof *out);
    mn__wq_counts(&s->wq, &out->n_commits, &out->n_committed_ops);
    out->schema_version = s->schema_version;
    out->file_bytes = file_size(s->path, "") + file_size(s->path, "-wal");
    rc = rstmt(s, MN__SQ_R_COUNT, &r, &st, err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->n_memories = sqlite3_column_int64(st, 0);
        rc = MN_OK;
    } else {
        rc = mn__sq_err(s, r->db, rc, "count memories", err);
    }
    mn__sq_reader_put(s, r);
    return rc;
}

/* ---- list -----------------------------------------------------------------------------------*/

/* " AND col IN ('a','b')" for the bits of mask, names from name_of(1..max). */
static int in_list(mn__buf *b, const char *col, unsigned mask, int max,
                   const char *(*name_of)(int))
{
    int v, n = 0, rc = mn__buf_printf(b, " AND %s IN (", col);
    for (v = 1; v <= max && rc == MN_OK; v++)
        if (mask & (1u << v))
            rc = mn__buf_printf(b, n++ ? ",'%s'" : "'%s'", name_of(v));
    return rc ? rc : mn__buf_putc(b, ')');
}

static const char *kind_of(int v)
{
    return mn__sq_kind_text((mn_kind)v);
}

static const char *status_of(int v)
{
    return mn__sq_status_text((mn_status)v);
}

#define ALL_KINDS                                                                            \
    (MN_KIND_BIT(MN_KIND_MESSAGE) | MN_KIND_BIT(MN_KIND_PREFERENCE) |                        \
     MN_KIND_BIT(MN_KIND_FACT) | MN_KIND_BIT(MN_KIND_SUMMARY))
#define ALL_STATUSES                                                                         \
    (MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |                   \
     MN_STATUS_BIT(MN_STATUS_SUPERSEDED))

/* The WHERE clause of a list, with named parameters :t :s :u :sess :since :until. */
static int list_where(const mn_filter *f, mn__buf *b)
{
    unsigned statuses = f->statuses ? f->statuses : MN_STATUS_BIT(MN_STATUS_ACTIVE);
    int rc = mn__buf_puts(b, " WHERE tenant = :t AND scope = :s AND user_id IS :u");
    if (rc == MN_OK && f->kinds && f->kinds != ALL_KINDS)
        rc = in_list(b, "kind", f->kinds, MN_KIND_SUMMARY, kind_of);
    if (rc == MN_OK && statuses != ALL_STATUSES)
        rc = in_list(b, "status", statuses, MN_STATUS_SUPERSEDED, status_of);
    if (rc == MN_OK && f->session_id)
        rc = mn__buf_puts(b, " AND session_id = :sess");
    if (rc == MN_OK && f->since_ms)
        rc = mn__buf_puts(b, " AND created_at >= :since");
    if (rc == MN_OK && f->until_ms)
        rc = mn__buf_puts(b, " AND created_at < :until");
    return rc;
}

static int bind_named(sqlite3_stmt *st, const mn__pkey *k, const mn_filter *f, mn_id after,
                      int limit)
{
    int rc = mn__sq_bind_pkey(st, 1, k, false), i;
    if (rc == SQLITE_OK && (i = sqlite3_bind_parameter_index(st, ":sess")) > 0)
        rc = sqlite3_bind_text(st, i, f->session_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (i = sqlite3_bind_parameter_index(st, ":since")) > 0)
        rc = sqlite3_bind_int64(st, i, f->since_ms);
    if (rc == SQLITE_OK && (i = sqlite3_bind_parameter_index(st, ":until")) > 0)
        rc = sqlite3_bind_int64(st, i, f->until_ms);
    if (rc == SQLITE_OK && (i = sqlite3_bind_parameter_index(st, ":after")) > 0)
        rc = sqlite3_bind_int64(st, i, after);
    if (rc == SQLITE_OK && (i = sqlite3_bind_parameter_index(st, ":lim")) > 0)
        rc = sqlite3_bind_int(st, i, limit);
    return rc;
}

static int list_check(const mn_filter *f, mn__pkey *k, int limit, mn_err *err)
{
    if (!f)
        return mn__err_set(err, MN_EINVAL, NULL, "list: no filter");
    k->tenant = f->tenant ? f->tenant : "default";
    k->scope = f->scope ? f->scope : MN_SCOPE_USER;
    k->user_id = f->user_id;
    if (f->kinds & ~(unsigned)ALL_KINDS)
        return mn__err_set(err, MN_EINVAL, "build the mask with MN_KIND_BIT",
                           "list: kinds mask 0x%x has unknown bits", f->kinds);
    if (f->statuses & ~(unsigned)ALL_STATUSES)
        return mn__err_set(err, MN_EINVAL, "build the mask with MN_STATUS_BIT",
                           "list: statuses mask 0x%x has unknown bits", f->statuses);
    if (limit < 0)
        return mn__err_set(err, MN_EINVAL, NULL, "list: limit %d is negative", limit);
    return mn__sq_check_pkey(k, err);
}

/* Prepares (uncached: the text depends on the filter) and binds one list statement. */
static int list_prepare(mn__sq *s, mn__sq_reader *r, const char *sql, const mn__pkey *k,
                        const mn_filter *f, mn_id after, int limit, sqlite3_stmt **out,
                        mn_err *err)
{
    int rc = sqlite3_prepare_v2(r->db, sql, -1, out, NULL);
    if (rc == SQLITE_OK)
        rc = bind_named(*out, k, f, after, limit);
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(s, r->db, rc, "prepare list", err);
}

int mn__sq_list(mn__store *st_, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err)
{
    mn__sq *s = mn__sq_from(st_);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *cnt = NULL, *sel = NULL;
    mn__buf where, sql;
    mn__pkey k;
    mn__row *rows = NULL;
    size_t n = 0, cap;
    int64_t total = 0;
    int rc;
    *out_rows = NULL;
    *out_n = 0;
    *out_total = 0;
    mn__buf_init(&where, 4096);
    mn__buf_init(&sql, 8192);
    rc = list_check(f, &k, limit, err);
    if (rc)
        goto cleanup;
    rc = list_where(f, &where);
    if (rc == MN_OK)
        rc = mn__buf_printf(&sql, "SELECT count(*) FROM memories%s", where.data);
    if (rc) {
        rc = mn__err_set(err, rc, NULL, "store '%s': list: cannot build the query", s->path);
        goto cleanup;
    }
    rc = mn__sq_reader_get(s, &r, err);
    if (rc)
        goto cleanup;
    /* The count and the page come from one snapshot. */
    rc = sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(s, r->db, rc, "begin read", err);
        goto cleanup;
    }
    rc = list_prepare(s, r, sql.data, &k, f, after, limit, &cnt, err);
    if (rc)
        goto cleanup;
    rc = sqlite3_step(cnt);
    if (rc != SQLITE_ROW) {
        rc = mn__sq_err(s, r->db, rc, "count list", err);
        goto cleanup;
    }
    total = sqlite3_column_int64(cnt, 0);
    rc = MN_OK;
    cap = (size_t)MN_MIN((int64_t)limit, total);
    if (cap == 0)
        goto cleanup;
    rows = mn__arena_alloc(a, cap * sizeof *rows);
    sql.len = 0;
    rc = rows ? mn__buf_printf(&sql, "SELECT " MN__SQ_COLS_NOVEC " FROM memories%s%s "
                                     "ORDER BY id DESC LIMIT :lim",
                               where.data, after > 0 ? " AND id < :after" : "")
              : MN_ENOMEM;
    if (rc) {
        rc = mn__err_set(err, rc, NULL, "store '%s': list: out of memory", s->path);
        goto cleanup;
    }
    rc = list_prepare(s, r, sql.data, &k, f, after, limit, &sel, err);
    while (rc == MN_OK && n < cap) {
        rc = sqlite3_step(sel);
        if (rc == SQLITE_DONE) {
            rc = MN_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = mn__sq_err(s, r->db, rc, "list", err);
            break;
        }
        rc = mn__sq_row_read(s, sel, a, NULL, &rows[n], err);
        n += rc == MN_OK;
    }
cleanup:
    sqlite3_finalize(cnt);
    sqlite3_finalize(sel);
    mn__sq_reader_put(s, r); /* ends the read transaction */
    mn__buf_release(&where);
    mn__buf_release(&sql);
    if (rc == MN_OK) {
        *out_rows = n ? rows : NULL;
        *out_n = n;
        *out_total = total;
    }
    return rc;
}

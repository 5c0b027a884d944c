/* sqlite_embed.c - the SQLite backend's side of background embedding: reading the rows whose
 * embedding is pending (through the partial index of migration 0003) or made by another
 * model, and writing their vectors back in one writer transaction, only where the row's text
 * has not changed since it was read. */
#include <string.h>

#include "store_int.h"

int mn__sq_scan_pending(mn__store *st, const char *model, mn_id after, int limit, mn__arena *a,
                        mn__row **out_rows, size_t *out_n, mn_err *err)
{
    /* NULL model: the partial index gives the pending rows in id order without a scan */
    static const char sql_null[] = "SELECT " MN__SQ_COLS_NOVEC " FROM memories "
                                   "WHERE embed_model IS NULL AND id > ?1 ORDER BY id LIMIT ?2";
    static const char sql_model[] = "SELECT " MN__SQ_COLS_NOVEC " FROM memories "
                                    "WHERE (embed_model IS NULL OR embed_model <> ?3) "
                                    "AND id > ?1 ORDER BY id LIMIT ?2";
    mn__sq *s = mn__sq_from(st);
    mn__sq_reader *r = NULL;
    sqlite3_stmt *q = NULL;
    mn__row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    if (limit < 1)
        return mn__err_set(err, MN_ERANGE, NULL, "store '%s': scan_pending limit %d", s->path,
                           limit);
    rows = mn__arena_alloc(a, (size_t)limit * sizeof *rows);
    if (!rows)
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
    rc = mn__sq_reader_get(s, &r, err);
    if (rc)
        return rc;
    rc = sqlite3_prepare_v2(r->db, model ? sql_model : sql_null, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 1, after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(q, 2, limit);
    if (rc == SQLITE_OK && model)
        rc = sqlite3_bind_text(q, 3, model, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(s, r->db, rc, "scan pending embeddings", err);
        goto cleanup;
    }
    rc = MN_OK;
    while (n < (size_t)limit) {
        int src = sqlite3_step(q);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = mn__sq_err(s, r->db, src, "scan pending embeddings", err);
            break;
        }
        rc = mn__sq_row_read(s, q, a, NULL, &rows[n], err);
        if (rc)
            break;
        n++;
    }
cleanup:
    sqlite3_finalize(q);
    mn__sq_reader_put(s, r);
    if (rc == MN_OK) {
        *out_rows = n ? rows : NULL;
        *out_n = n;
    }
    return rc;
}

typedef struct setctx {
    const mn__embed_update *u;
    size_t n;
    size_t n_written;
} setctx;

static int same_key(const mn__pkey *a, const mn__pkey *b)
{
    if (strcmp(a->tenant, b->tenant) || a->scope != b->scope)
        return 0;
    if (!a->user_id || !b->user_id)
        return a->user_id == b->user_id;
    return !strcmp(a->user_id, b->user_id);
}

/* Runs on the writer thread inside the group transaction. */
static int set_run(mn__sq *s, void *ctx, int64_t now_ms, mn_err *err)
{
    setctx *c = ctx;
    sqlite3_stmt *upd = NULL, *bump = NULL;
    mn__sq_scratch sc;
    size_t i;
    int rc;
    (void)now_ms; /* not a user's write: updated_at stays, so the guard keeps working */

    memset(&sc, 0, sizeof sc);
    c->n_written = 0;
    rc = sqlite3_prepare_v2(s->wdb,
                            "UPDATE memories SET embed_model = ?1, embedding = ?2 "
                            "WHERE id = ?3 AND tenant = ?4 AND scope = ?5 AND user_id IS ?6 "
                            "AND updated_at = ?7",
                            -1, &upd, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->wdb,
                                "UPDATE partitions SET version = version + 1 "
                                "WHERE tenant = ?1 AND scope = ?2 AND user_id = ?3",
                                -1, &bump, NULL);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(s, s->wdb, rc, "prepare embedding update", err);
        goto cleanup;
    }
    for (i = 0; i < c->n; i++) {
        const mn__embed_update *u = &c->u[i];
        const void *blob;
        if (mn__sq_check_pkey(&u->k, err) != MN_OK) {
            rc = MN_EINVAL;
            goto cleanup;
        }
        blob = mn__sq_vec_blob(u->vec, u->dim, &sc);
        if (!blob || u->dim < 1 || !u->embed_model) {
            rc = mn__err_set(err, blob ? MN_EINVAL : MN_ENOMEM, NULL,
                             "store '%s': embedding of memory %lld: %s", s->path,
                             (long long)u->id, blob ? "no model or dimension" : "out of memory");
            goto cleanup;
        }
        sqlite3_reset(upd);
        rc = sqlite3_bind_text(upd, 1, u->embed_model, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(upd, 2, blob, u->dim * 4, SQLITE_TRANSIENT);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(upd, 3, u->id);
        if (rc == SQLITE_OK)
            rc = mn__sq_bind_pkey(upd, 4, &u->k, false);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(upd, 7, u->updated_at_ms);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(upd) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->wdb);
        if (rc != SQLITE_OK) {
            rc = mn__sq_err(s, s->wdb, rc, "store embedding", err);
            goto cleanup;
        }
        if (sqlite3_changes(s->wdb) == 0)
            continue; /* deleted or edited since it was read: its new text waits its turn */
        c->n_written++;
        /* one version bump per run of rows of the same partition */
        if (i + 1 < c->n && same_key(&u->k, &c->u[i + 1].k))
            continue;
        sqlite3_reset(bump);
        rc = mn__sq_bind_pkey(bump, 1, &u->k, true);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(bump) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->wdb);
        if (rc != SQLITE_OK) {
            rc = mn__sq_err(s, s->wdb, rc, "update partition version", err);
            goto cleanup;
        }
    }
    rc = MN_OK;
cleanup:
    sqlite3_finalize(upd);
    sqlite3_finalize(bump);
    mn__sq_scratch_release(&sc);
    return rc;
}

int mn__sq_set_embeddings(mn__store *st, const mn__embed_update *u, size_t n, size_t *out_n,
                          mn_err *err)
{
    mn__sq *s = mn__sq_from(st);
    setctx c = {u, n, 0};
    int rc;
    if (out_n)
        *out_n = 0;
    if (n == 0)
        return MN_OK;
    if (s->cfg.read_only)
        return mn__err_set(err, MN_EPERM, NULL, "store '%s' is read-only", s->path);
    rc = mn__sq_write_call(s, set_run, &c, err);
    if (rc == MN_OK && out_n)
        *out_n = c.n_written;
    return rc;
}

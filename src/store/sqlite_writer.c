/* sqlite_writer.c - the single writer of the SQLite backend. Callers queue a request and
 * sleep; the writer thread drains the queue into one transaction (group commit), runs each
 * request inside its own savepoint so that a failing one does not undo the others, commits,
 * and wakes each caller with its own result. A call returns only after the commit. The
 * queue itself (waiting, grouping, waking) is wqueue.c, shared with pg_writer.c. */
#include <string.h>
#include <time.h>

#include "store_int.h"

/* The writer's scratch, used by whichever thread runs a group (the writer thread, or a
 * caller running its own request while the writer is idle; never both: wqueue.c's busy). */
typedef struct mn__sq_wctx {
    mn__sq *s;
    mn__buf sources;
    mn__sq_scratch sc;
} wctx;

static const char *const wsql[MN__SQ_W_N] = {
    [MN__SQ_W_BEGIN] = "BEGIN IMMEDIATE",
    [MN__SQ_W_COMMIT] = "COMMIT",
    [MN__SQ_W_ROLLBACK] = "ROLLBACK",
    [MN__SQ_W_SAVEPOINT] = "SAVEPOINT req",
    [MN__SQ_W_RELEASE] = "RELEASE req",
    [MN__SQ_W_ROLLBACK_TO] = "ROLLBACK TO req",
    [MN__SQ_W_INSERT] =
        "INSERT INTO memories (tenant, scope, user_id, kind, role, status, session_id, text, "
        "created_at, updated_at, metadata, sources, superseded_by, embed_model, embedding) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [MN__SQ_W_PART_BUMP] =
        "INSERT INTO partitions (tenant, scope, user_id, version, n_memories, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5) "
        "ON CONFLICT (tenant, scope, user_id) DO UPDATE SET version = version + 1, "
        "n_memories = n_memories + excluded.n_memories, updated_at = excluded.updated_at",
    [MN__SQ_W_PART_DEL] = "UPDATE partitions SET version = version + 1, n_memories = 0, "
                          "updated_at = ?4 WHERE tenant = ?1 AND scope = ?2 AND user_id = ?3",
    [MN__SQ_W_EXISTS] = "SELECT 1 FROM memories WHERE tenant = ?1 AND scope = ?2 "
                        "AND user_id IS ?3 AND id = ?4",
    [MN__SQ_W_HISTORY] =
        "INSERT INTO memory_history (memory_id, tenant, version_at, text, metadata, status) "
        "SELECT id, tenant, updated_at, text, metadata, status FROM memories WHERE id = ?1",
    [MN__SQ_W_UPDATE] =
        "UPDATE memories SET text = coalesce(?2, text), metadata = coalesce(?3, metadata), "
        "status = coalesce(?4, status), superseded_by = coalesce(?5, superseded_by), "
        "updated_at = coalesce(?6, updated_at), "
        "embed_model = CASE WHEN ?7 THEN ?8 ELSE embed_model END, "
        "embedding = CASE WHEN ?7 THEN ?9 ELSE embedding END WHERE id = ?1",
    [MN__SQ_W_DELETE_ONE] = "DELETE FROM memories WHERE tenant = ?1 AND scope = ?2 "
                            "AND user_id IS ?3 AND id = ?4",
    [MN__SQ_W_DELETE_PART] =
        "DELETE FROM memories WHERE tenant = ?1 AND scope = ?2 AND user_id IS ?3",
};

/* ---- statements on the writer connection --------------------------------------------------*/

static int wstmt(mn__sq *s, int which, sqlite3_stmt **out, mn_err *err)
{
    int rc = mn__sq_stmt(s, s->wdb, &s->wst[which], wsql[which], err);
    *out = s->wst[which];
    return rc;
}

/* Runs a statement without result rows and resets it at once, so that no statement stays
 * active across COMMIT or ROLLBACK. */
static int wstep(mn__sq *s, sqlite3_stmt *st, const char *op, mn_err *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        rc = mn__sq_err(s, s->wdb, rc, op, err);
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    return MN_OK;
}

static int wexec(mn__sq *s, int which, const char *op, mn_err *err)
{
    sqlite3_stmt *st;
    int rc = wstmt(s, which, &st, err);
    return rc ? rc : wstep(s, st, op, err);
}

static int bind_rc(mn__sq *s, int rc, mn_err *err)
{
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(s, s->wdb, rc, "bind parameters", err);
}

/* Bumps the version of partition k and adds delta to its memory count. */
static int bump(mn__sq *s, const mn__pkey *k, int64_t delta, int64_t now_ms, mn_err *err)
{
    sqlite3_stmt *st;
    int rc = wstmt(s, MN__SQ_W_PART_BUMP, &st, err);
    if (rc)
        return rc;
    rc = mn__sq_bind_pkey(st, 1, k, true);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, delta);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, now_ms);
    rc = bind_rc(s, rc, err);
    return rc ? rc : wstep(s, st, "update partition version", err);
}

/* ---- the requests, run by the writer thread inside a savepoint ----------------------------*/

static bool same_partition(const mn__row *a, const mn__row *b)
{
    if (strcmp(a->tenant, b->tenant) || a->scope != b->scope)
        return false;
    if (!a->user_id || !b->user_id)
        return a->user_id == b->user_id;
    return !strcmp(a->user_id, b->user_id);
}

static int insert_one(wctx *w, mn__row *r, int64_t now_ms, mn_err *err)
{
    mn__sq *s = w->s;
    sqlite3_stmt *st;
    mn__pkey k = mn__row_pkey(r);
    int64_t created = r->created_at_ms ? r->created_at_ms : now_ms;
    int64_t updated = r->updated_at_ms ? r->updated_at_ms : created;
    const void *blob = NULL;
    int rc = wstmt(s, MN__SQ_W_INSERT, &st, err);
    if (rc)
        return rc;
    rc = mn__sq_bind_pkey(st, 1, &k, false);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 4, mn__sq_kind_text(r->kind ? r->kind : MN_KIND_MESSAGE),
                               -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && r->role)
        rc = sqlite3_bind_text(st, 5, mn__sq_role_text(r->role), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 6,
                               mn__sq_status_text(r->status ? r->status : MN_STATUS_ACTIVE), -1,
                               SQLITE_STATIC);
    if (rc == SQLITE_OK && r->session_id)
        rc = sqlite3_bind_text(st, 7, r->session_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 8, r->text, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, created);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 10, updated);
    if (rc == SQLITE_OK && r->metadata_json)
        rc = sqlite3_bind_text(st, 11, r->metadata_json, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && r->n_sources) {
        w->sources.len = 0;
        if (mn__sq_sources_json(r->sources, r->n_sources, &w->sources))
            return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
        rc = sqlite3_bind_text(st, 12, w->sources.data, (int)w->sources.len, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK && r->superseded_by)
        rc = sqlite3_bind_int64(st, 13, r->superseded_by);
    if (rc == SQLITE_OK && r->embedding) {
        blob = mn__sq_vec_blob(r->embedding, r->dim, &w->sc);
        if (!blob)
            return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
        rc = sqlite3_bind_text(st, 14, r->embed_model, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(st, 15, blob, r->dim * 4, SQLITE_STATIC);
    }
    rc = bind_rc(s, rc, err);
    if (rc == MN_OK)
        rc = wstep(s, st, "insert memory", err);
    if (rc == MN_OK)
        r->id = sqlite3_last_insert_rowid(s->wdb);
    return rc;
}

static int run_put(wctx *w, mn__wreq *q)
{
    size_t i, run_start = 0;
    int rc = MN_OK;
    for (i = 0; i < q->n_rows && rc == MN_OK; i++) {
        rc = insert_one(w, &q->rows[i], q->now_ms, &q->err);
        if (rc) {
            mn__err_prefix(&q->err, "row %zu", i);
            break;
        }
        /* One bump per run of rows of the same partition. */
        if (i + 1 == q->n_rows || !same_partition(&q->rows[i], &q->rows[i + 1])) {
            mn__pkey k = mn__row_pkey(&q->rows[i]);
            rc = bump(w->s, &k, (int64_t)(i + 1 - run_start), q->now_ms, &q->err);
            run_start = i + 1;
        }
    }
    return rc;
}

static int not_found(mn__sq *s, const mn__pkey *k, mn_id id, mn_err *err)
{
    if (k->user_id)
        return mn__err_set(err, MN_ENOTFOUND, NULL,
                           "memory %lld of user '%s' in tenant '%s' not found", (long long)id,
                           k->user_id, k->tenant);
    (void)s;
    return mn__err_set(err, MN_ENOTFOUND, NULL,
                       "system memory %lld in tenant '%s' not found", (long long)id, k->tenant);
}

static int exists(mn__sq *s, const mn__pkey *k, mn_id id, mn_err *err)
{
    sqlite3_stmt *st;
    int rc = wstmt(s, MN__SQ_W_EXISTS, &st, err);
    if (rc)
        return rc;
    rc = mn__sq_bind_pkey(st, 1, k, false);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, id);
    rc = bind_rc(s, rc, err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = MN_OK;
    else if (rc == SQLITE_DONE)
        rc = not_found(s, k, id, err);
    else
        rc = mn__sq_err(s, s->wdb, rc, "find memory", err);
    sqlite3_reset(st);
    return rc;
}

static int run_update(wctx *w, mn__wreq *q)
{
    mn__sq *s = w->s;
    const mn__row_patch *p = q->patch;
    bool content = p->text || p->metadata_json || p->status;
    bool vec = p->clear_embedding || p->embedding;
    sqlite3_stmt *st;
    const void *blob = NULL;
    int rc = exists(s, q->k, q->id, &q->err);
    if (rc || !(content || vec || p->superseded_by))
        return rc;
    if (content) {
        rc = wstmt(s, MN__SQ_W_HISTORY, &st, &q->err);
        if (rc == MN_OK)
            rc = bind_rc(s, sqlite3_bind_int64(st, 1, q->id), &q->err);
        if (rc == MN_OK)
            rc = wstep(s, st, "save memory history", &q->err);
        if (rc)
            return rc;
    }
    rc = wstmt(s, MN__SQ_W_UPDATE, &st, &q->err);
    if (rc)
        return rc;
    rc = sqlite3_bind_int64(st, 1, q->id);
    if (rc == SQLITE_OK && p->text)
        rc = sqlite3_bind_text(st, 2, p->text, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && p->metadata_json)
        rc = sqlite3_bind_text(st, 3, p->metadata_json, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && p->status)
        rc = sqlite3_bind_text(st, 4, mn__sq_status_text(p->status), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && p->superseded_by)
        rc = sqlite3_bind_int64(st, 5, p->superseded_by);
    if (rc == SQLITE_OK && (content || p->superseded_by))
        rc = sqlite3_bind_int64(st, 6, q->now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 7, vec);
    if (rc == SQLITE_OK && p->embedding) {
        blob = mn__sq_vec_blob(p->embedding, p->dim, &w->sc);
        if (!blob)
            return mn__err_set(&q->err, MN_ENOMEM, NULL, "store '%s': out of memory",
                               s->path);
        rc = sqlite3_bind_text(st, 8, p->embed_model, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(st, 9, blob, p->dim * 4, SQLITE_STATIC);
    }
    rc = bind_rc(s, rc, &q->err);
    if (rc == MN_OK)
        rc = wstep(s, st, "update memory", &q->err);
    if (rc == MN_OK)
        rc = bump(s, q->k, 0, q->now_ms, &q->err);
    return rc;
}

static int run_delete_one(wctx *w, mn__wreq *q)
{
    mn__sq *s = w->s;
    sqlite3_stmt *st;
    int rc = wstmt(s, MN__SQ_W_DELETE_ONE, &st, &q->err);
    if (rc)
        return rc;
    rc = mn__sq_bind_pkey(st, 1, q->k, false);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, q->id);
    rc = bind_rc(s, rc, &q->err);
    if (rc == MN_OK)
        rc = wstep(s, st, "delete memory", &q->err);
    if (rc)
        return rc;
    if (sqlite3_changes(s->wdb) == 0)
        return not_found(s, q->k, q->id, &q->err);
    return bump(s, q->k, -1, q->now_ms, &q->err);
}

static int run_delete_part(wctx *w, mn__wreq *q)
{
    mn__sq *s = w->s;
    sqlite3_stmt *st;
    int rc = wstmt(s, MN__SQ_W_DELETE_PART, &st, &q->err);
    if (rc)
        return rc;
    rc = bind_rc(s, mn__sq_bind_pkey(st, 1, q->k, false), &q->err);
    if (rc == MN_OK)
        rc = wstep(s, st, "delete partition", &q->err);
    if (rc)
        return rc;
    q->n_deleted = sqlite3_changes64(s->wdb);
    /* An UPDATE, not the upsert: forgetting an unknown user creates nothing. */
    rc = wstmt(s, MN__SQ_W_PART_DEL, &st, &q->err);
    if (rc)
        return rc;
    rc = mn__sq_bind_pkey(st, 1, q->k, true);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, q->now_ms);
    rc = bind_rc(s, rc, &q->err);
    return rc ? rc : wstep(s, st, "update partition version", &q->err);
}

static int run_one(wctx *w, mn__wreq *q)
{
    switch (q->op) {
    case MN__W_PUT:
        return run_put(w, q);
    case MN__W_UPDATE:
        return run_update(w, q);
    case MN__W_DELETE_ONE:
        return run_delete_one(w, q);
    case MN__W_CALL:
        return q->call.sq(w->s, q->call_ctx, q->now_ms, &q->err);
    default:
        return run_delete_part(w, q);
    }
}

/* ---- the group transaction ----------------------------------------------------------------*/

/* Runs the requests of group in one transaction; each gets its own rc. Returns whether the
 * transaction committed and, in *out_ok, how many requests it carried. */
static bool run_group(wctx *w, mn__wreq *group, int64_t *out_ok)
{
    mn__sq *s = w->s;
    mn__wreq *q;
    mn_err e;
    /* A group of one needs no savepoint: its failure undoes the whole transaction. */
    bool alone = !group->next;
    *out_ok = 0;
    mn__err_clear(&e);
    if (wexec(s, MN__SQ_W_BEGIN, "begin transaction", &e))
        goto abort;
    for (q = group; q; q = q->next) {
        if (!alone && wexec(s, MN__SQ_W_SAVEPOINT, "savepoint", &e))
            goto abort;
        q->rc = run_one(w, q);
        if (q->rc == MN_OK) {
            if (!alone && wexec(s, MN__SQ_W_RELEASE, "release savepoint", &e))
                goto abort;
            continue;
        }
        if (sqlite3_get_autocommit(s->wdb)) {
            /* SQLite rolled the whole transaction back (I/O error, disk full): nothing of
             * this group is stored, so every request fails with this error. */
            e = q->err;
            goto abort;
        }
        if (alone) {
            /* an outcome of the request (not found, a check), not a store failure: no
             * warning; it keeps its own error */
            if (wexec(s, MN__SQ_W_ROLLBACK, "roll back", &e))
                mn__log(s->cfg.log, MN_LOG_WARN, "%s", e.msg);
            return false;
        }
        /* Undo this request only; the transaction and the others go on. If the undo
         * itself fails, its partial writes must not commit: give up on the group. */
        if (wexec(s, MN__SQ_W_ROLLBACK_TO, "roll back savepoint", &e) ||
            wexec(s, MN__SQ_W_RELEASE, "release savepoint", &e))
            goto abort;
    }
    if (wexec(s, MN__SQ_W_COMMIT, "commit", &e))
        goto abort;
    for (q = group; q; q = q->next)
        *out_ok += q->rc == MN_OK;
    return true;
abort:
    if (!sqlite3_get_autocommit(s->wdb))
        wexec(s, MN__SQ_W_ROLLBACK, "roll back", NULL);
    mn__log(s->cfg.log, MN_LOG_WARN, "%s", e.msg);
    mn__wq_fail_rest(group, &e);
    return false;
}

static void *writer_main(void *arg)
{
    mn__sq *s = arg;
    mn__wreq *group;
    uint64_t ticket;
    while ((group = mn__wq_take(&s->wq, &ticket)) != NULL) {
        int64_t n_ok;
        bool committed = run_group(s->wctx, group, &n_ok);
        mn__wq_finish(&s->wq, group, committed, n_ok);
    }
    return NULL;
}

/* wqueue.c's run_inline: a caller runs its own request while the writer thread is idle. */
static bool run_inline(void *ctx, mn__wreq *group, int64_t *out_ok)
{
    mn__sq *s = ctx;
    return run_group(s->wctx, group, out_ok);
}

static void wctx_free(mn__sq *s)
{
    if (!s->wctx)
        return;
    mn__buf_release(&s->wctx->sources);
    mn__sq_scratch_release(&s->wctx->sc);
    mn__free(s->wctx);
    s->wctx = NULL;
}

int mn__sq_writer_start(mn__sq *s, mn_err *err)
{
    int rc;
    s->wctx = mn__calloc(1, sizeof *s->wctx);
    if (!s->wctx)
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
    s->wctx->s = s;
    mn__buf_init(&s->wctx->sources, 0);
    s->wq.run_inline = run_inline;
    s->wq.inline_ctx = s;
    rc = pthread_create(&s->writer, NULL, writer_main, s);
    if (rc != 0) {
        wctx_free(s);
        return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                           "store '%s': cannot start the writer thread (error %d)", s->path,
                           rc);
    }
    s->writer_started = true;
    atomic_store(&s->wq.running, true);
    return MN_OK;
}

void mn__sq_writer_stop(mn__sq *s)
{
    if (!s->writer_started)
        return;
    atomic_store(&s->wq.running, false);
    mn__wq_stop(&s->wq);
    pthread_join(s->writer, NULL);
    mn__wq_wait_callers(&s->wq); /* an inline caller may still hold the connection */
    wctx_free(s);
    s->writer_started = false;
}

/* ---- the caller's side ----------------------------------------------------------------------*/

int mn__sq_write_call(mn__sq *s, mn__sq_write_fn fn, void *ctx, mn_err *err)
{
    mn__wreq q;
    memset(&q, 0, sizeof q);
    q.op = MN__W_CALL;
    q.call.sq = fn;
    q.call_ctx = ctx;
    return mn__wq_submit(&s->wq, &q, err);
}

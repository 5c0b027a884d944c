/* pg_writer.c - group commit on PostgreSQL. Callers queue a request and sleep; a few writer
 * threads each take what is queued as one transaction: ids for all its rows in one round
 * trip, rows in multi-row INSERTs, each request in its own savepoint (when the group has more
 * than one) so that a failing one does not undo the others. The partition counters are
 * folded per partition and written last, in key order, so that two writers never wait on
 * each other in opposite orders; each bump NOTIFYs the other nodes at commit. A call
 * returns only after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define MAX_ATTEMPTS 3      /* a group that hit a deadlock or serialization failure reruns */

/* One change of a partition's counters, folded per partition before commit. */
enum { EV_ADD, EV_RESET };
typedef struct bump_ev {
    mn__pkey k;      /* borrowed from the request */
    int kind;
    int64_t n_delta; /* EV_ADD */
    size_t seq;      /* keeps the order of events of one partition */
} bump_ev;

typedef struct wctx {
    mn__pg *s;
    mn__pg_conn *c;
    uint64_t ticket;  /* the group's place in queue order */
    bool ticket_used; /* its ids are taken (or it gave up its turn) */
    mn_id *ids; /* preallocated ids of the group's rows, ascending */
    size_t ids_cap, ids_next;
    bump_ev *ev;
    size_t n_ev, ev_cap;
    mn__buf sources; /* sources JSON of every row of an insert chunk */
    mn__sq_scratch sc;
    char *num;       /* number texts of an insert chunk */
    size_t num_cap;
} wctx;

static int oom(const mn__pg *s, mn_err *err)
{
    return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->name);
}

static int add_event(wctx *w, const mn__pkey *k, int kind, int64_t n_delta)
{
    if (w->n_ev == w->ev_cap) {
        size_t cap = w->ev_cap ? w->ev_cap * 2 : 64;
        bump_ev *p = mn__realloc(w->ev, cap * sizeof *p);
        if (!p)
            return MN_ENOMEM;
        w->ev = p;
        w->ev_cap = cap;
    }
    w->ev[w->n_ev].k = *k;
    w->ev[w->n_ev].kind = kind;
    w->ev[w->n_ev].n_delta = n_delta;
    w->ev[w->n_ev].seq = w->n_ev;
    w->n_ev++;
    return MN_OK;
}

static int key_cmp(const mn__pkey *a, const mn__pkey *b)
{
    int c = strcmp(a->tenant, b->tenant);
    if (c)
        return c;
    if (a->scope != b->scope)
        return a->scope < b->scope ? -1 : 1;
    return strcmp(a->user_id ? a->user_id : "", b->user_id ? b->user_id : "");
}

static int ev_cmp(const void *pa, const void *pb)
{
    const bump_ev *a = pa, *b = pb;
    int c = key_cmp(&a->k, &b->k);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* "<node tag>\t<scope>\t<tenant>\t<user>": the payload other nodes read (pg_watch.c). */
static int payload(const mn__pg *s, const mn__pkey *k, mn__buf *b)
{
    b->len = 0;
    return mn__buf_printf(b, "%s\t%s\t%s\t%s", s->node_tag, mn__sq_scope_text(k->scope),
                          k->tenant, k->user_id ? k->user_id : "");
}

/* Folds the events per partition (in key order) and writes each partition's counters: the
 * version goes up once per request that touched it, n_memories by the rows added or removed
 * (a forget resets it). Forgetting a partition that was never written creates nothing. */
static int apply_bumps(wctx *w, int64_t now_ms, mn_err *err)
{
    mn__pg *s = w->s;
    mn__buf pl;
    size_t i = 0, j;
    int rc = MN_OK;
    if (!w->n_ev)
        return MN_OK;
    qsort(w->ev, w->n_ev, sizeof *w->ev, ev_cmp);
    mn__buf_init(&pl, 0);
    while (i < w->n_ev && rc == MN_OK) {
        const char *vals[8];
        char vbuf[24], nbuf[24], tbuf[24];
        int64_t v = 0, n = 0;
        bool reset = false, create = false;
        PGresult *r;
        for (j = i; j < w->n_ev && !key_cmp(&w->ev[j].k, &w->ev[i].k); j++) {
            v++;
            if (w->ev[j].kind == EV_RESET) {
                reset = true;
                n = 0;
            } else {
                create = true;
                n += w->ev[j].n_delta;
            }
        }
        mn__pg_pkey_vals(&w->ev[i].k, vals);
        snprintf(vbuf, sizeof vbuf, "%lld", (long long)v);
        snprintf(nbuf, sizeof nbuf, "%lld", (long long)n);
        snprintf(tbuf, sizeof tbuf, "%lld", (long long)now_ms);
        vals[3] = vbuf;
        vals[4] = nbuf;
        vals[5] = tbuf;
        vals[6] = reset ? "t" : "f";
        if (payload(s, &w->ev[i].k, &pl)) {
            rc = oom(s, err);
            break;
        }
        vals[7] = pl.data;
        rc = mn__pg_run(s, w->c, create ? MN__PG_Q_PART_UPSERT : MN__PG_Q_PART_UPDATE, 8, vals,
                        NULL, NULL, "update partition version", &r, err);
        if (rc == MN_OK)
            PQclear(r);
        i = j;
    }
    mn__buf_release(&pl);
    return rc;
}

/* ---- the requests, run by a writer inside the group transaction -------------------------*/

/* Inserts rows [0, n) with one statement of INS_1 + which. */
static int insert_chunk(wctx *w, mn__row *rows, int which, int64_t now_ms, mn_err *err)
{
    mn__pg *s = w->s;
    int n = mn__pg_ins_rows[which], i, np = n * MN__PG_INS_COLS;
    const char **vals = mn__calloc((size_t)np, sizeof *vals);
    int *lens = mn__calloc((size_t)np, sizeof *lens), *fmts = mn__calloc((size_t)np, sizeof *fmts);
    size_t need = (size_t)n * 4 * 24, *src_off = mn__calloc((size_t)n, sizeof *src_off);
    PGresult *r = NULL;
    int rc = MN_OK;
    if (!vals || !lens || !fmts || !src_off) {
        rc = oom(s, err);
        goto cleanup;
    }
    if (need > w->num_cap) {
        char *p = mn__realloc(w->num, need);
        if (!p) {
            rc = oom(s, err);
            goto cleanup;
        }
        w->num = p;
        w->num_cap = need;
    }
    /* Sources first, all into one buffer: it may move while it grows. */
    w->sources.len = 0;
    for (i = 0; i < n; i++) {
        src_off[i] = w->sources.len;
        if (rows[i].n_sources &&
            (mn__sq_sources_json(rows[i].sources, rows[i].n_sources, &w->sources) ||
             mn__buf_putc(&w->sources, '\0'))) {
            rc = oom(s, err);
            goto cleanup;
        }
    }
    for (i = 0; i < n; i++) {
        mn__row *rw = &rows[i];
        const char **v = vals + i * MN__PG_INS_COLS;
        char *num = w->num + (size_t)i * 4 * 24;
        int64_t created = rw->created_at_ms ? rw->created_at_ms : now_ms;
        int64_t updated = rw->updated_at_ms ? rw->updated_at_ms : created;
        snprintf(num, 24, "%lld", (long long)rw->id);
        snprintf(num + 24, 24, "%lld", (long long)created);
        snprintf(num + 48, 24, "%lld", (long long)updated);
        snprintf(num + 72, 24, "%lld", (long long)rw->superseded_by);
        v[0] = num;
        v[1] = rw->tenant;
        v[2] = mn__sq_scope_text(rw->scope);
        v[3] = rw->user_id ? rw->user_id : "";
        v[4] = mn__sq_kind_text(rw->kind ? rw->kind : MN_KIND_MESSAGE);
        v[5] = rw->role ? mn__sq_role_text(rw->role) : NULL;
        v[6] = mn__sq_status_text(rw->status ? rw->status : MN_STATUS_ACTIVE);
        v[7] = rw->session_id;
        v[8] = rw->text;
        v[9] = num + 24;
        v[10] = num + 48;
        v[11] = rw->metadata_json;
        v[12] = rw->n_sources ? w->sources.data + src_off[i] : NULL;
        v[13] = rw->superseded_by ? num + 72 : NULL;
        v[14] = rw->embedding ? rw->embed_model : NULL;
        if (rw->embedding) {
            const void *blob = mn__sq_vec_blob(rw->embedding, rw->dim, &w->sc);
            if (!blob) {
                rc = oom(s, err);
                goto cleanup;
            }
            /* Only big-endian hosts copy into sc, and then one row per chunk at a time
             * would be needed: keep it simple and correct, send such rows one by one. */
            v[15] = blob;
            lens[i * MN__PG_INS_COLS + 15] = rw->dim * 4;
            fmts[i * MN__PG_INS_COLS + 15] = 1;
        }
    }
    rc = mn__pg_run(s, w->c, MN__PG_Q_INS_1 + which, np, vals, lens, fmts, "insert memory", &r,
                    err);
    PQclear(r);
cleanup:
    mn__free(vals);
    mn__free(lens);
    mn__free(fmts);
    mn__free(src_off);
    return rc;
}

static bool host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* Inserts the rows of a put: ids from the group's preallocated ones, in row order (so that
 * they grow with the batch), in chunks of the prepared sizes. */
static int insert_rows(wctx *w, mn__row *rows, size_t n, int64_t now_ms, mn_err *err)
{
    size_t i = 0;
    int rc = MN_OK;
    for (i = 0; i < n; i++)
        rows[i].id = w->ids[w->ids_next++];
    i = 0;
    while (i < n && rc == MN_OK) {
        int which = MN__PG_N_INS - 1;
        /* big-endian hosts convert each vector into one scratch buffer: one row a time */
        if (!host_is_le())
            which = 0;
        while (which > 0 && (size_t)mn__pg_ins_rows[which] > n - i)
            which--;
        rc = insert_chunk(w, rows + i, which, now_ms, err);
        if (rc == MN_OK)
            i += (size_t)mn__pg_ins_rows[which];
    }
    return rc;
}

static int run_put(wctx *w, mn__wreq *q)
{
    size_t i, run_start = 0;
    int rc = insert_rows(w, q->rows, q->n_rows, q->now_ms, &q->err);
    if (rc)
        return rc;
    /* One version bump per run of rows of the same partition, as in SQLite. */
    for (i = 0; i < q->n_rows && rc == MN_OK; i++) {
        if (i + 1 == q->n_rows || key_cmp(&(mn__pkey){q->rows[i].tenant, q->rows[i].scope,
                                                      q->rows[i].user_id},
                                          &(mn__pkey){q->rows[i + 1].tenant,
                                                      q->rows[i + 1].scope,
                                                      q->rows[i + 1].user_id})) {
            mn__pkey k = mn__row_pkey(&q->rows[i]);
            rc = add_event(w, &k, EV_ADD, (int64_t)(i + 1 - run_start));
            if (rc)
                rc = oom(w->s, &q->err);
            run_start = i + 1;
        }
    }
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

/* Runs q on the memory (tenant, scope, user, id); *out_n gets the rows affected. */
static int run_key_id(wctx *w, int q, const mn__pkey *k, mn_id id, const char *op,
                      int64_t *out_n, mn_err *err)
{
    const char *vals[4];
    char idbuf[24];
    PGresult *r;
    int rc;
    mn__pg_pkey_vals(k, vals);
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    vals[3] = idbuf;
    rc = mn__pg_run(w->s, w->c, q, 4, vals, NULL, NULL, op, &r, err);
    if (rc)
        return rc;
    *out_n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return MN_OK;
}

static int run_update(wctx *w, mn__wreq *q)
{
    const mn__row_patch *p = q->patch;
    bool content = p->text || p->metadata_json || p->status;
    bool vec = p->clear_embedding || p->embedding;
    const char *vals[12];
    int lens[12] = {0}, fmts[12] = {0};
    char idbuf[24], supbuf[24], nowbuf[24];
    PGresult *r;
    int64_t n = 0;
    int rc;
    if (!(content || vec || p->superseded_by)) {
        rc = run_key_id(w, MN__PG_Q_EXISTS, q->k, q->id, "find memory", &n, &q->err);
        return rc ? rc : n ? MN_OK : not_found(q->k, q->id, &q->err);
    }
    if (content) {
        rc = run_key_id(w, MN__PG_Q_HIST_SAVE, q->k, q->id, "save memory history", &n,
                        &q->err);
        if (rc)
            return rc;
        if (n == 0)
            return not_found(q->k, q->id, &q->err);
    }
    mn__pg_pkey_vals(q->k, vals);
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)q->id);
    snprintf(supbuf, sizeof supbuf, "%lld", (long long)p->superseded_by);
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)q->now_ms);
    vals[3] = idbuf;
    vals[4] = p->text;
    vals[5] = p->metadata_json;
    vals[6] = p->status ? mn__sq_status_text(p->status) : NULL;
    vals[7] = p->superseded_by ? supbuf : NULL;
    vals[8] = content || p->superseded_by ? nowbuf : NULL;
    vals[9] = vec ? "t" : "f";
    vals[10] = p->embedding ? p->embed_model : NULL;
    vals[11] = NULL;
    if (p->embedding) {
        vals[11] = mn__sq_vec_blob(p->embedding, p->dim, &w->sc);
        if (!vals[11])
            return oom(w->s, &q->err);
        lens[11] = p->dim * 4;
        fmts[11] = 1;
    }
    rc = mn__pg_run(w->s, w->c, MN__PG_Q_UPDATE, 12, vals, lens, fmts, "update memory", &r,
                    &q->err);
    if (rc)
        return rc;
    n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (n == 0)
        return not_found(q->k, q->id, &q->err);
    return add_event(w, q->k, EV_ADD, 0) ? oom(w->s, &q->err) : MN_OK;
}

static int run_delete_one(wctx *w, mn__wreq *q)
{
    int64_t n = 0;
    int rc = run_key_id(w, MN__PG_Q_DELETE_ONE, q->k, q->id, "delete memory", &n, &q->err);
    if (rc)
        return rc;
    if (n == 0)
        return not_found(q->k, q->id, &q->err);
    return add_event(w, q->k, EV_ADD, -1) ? oom(w->s, &q->err) : MN_OK;
}

static int run_delete_part(wctx *w, mn__wreq *q)
{
    const char *vals[3];
    PGresult *r;
    int rc;
    mn__pg_pkey_vals(q->k, vals);
    rc = mn__pg_run(w->s, w->c, MN__PG_Q_DELETE_PART, 3, vals, NULL, NULL, "delete partition",
                    &r, &q->err);
    if (rc)
        return rc;
    q->n_deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return add_event(w, q->k, EV_RESET, 0) ? oom(w->s, &q->err) : MN_OK;
}

/* Vectors of a background embedder: written only where the row still has the text that was
 * embedded (same updated_at), without history; one version bump per partition written. */
static int run_set_emb(wctx *w, mn__wreq *q)
{
    static const char sql[] =
        "UPDATE memories SET embed_model = $1, embedding = $2::bytea WHERE tenant = $3 "
        "AND scope = $4 AND user_id = $5 AND id = $6::bigint AND updated_at = $7::bigint";
    size_t i;
    q->n_written = 0;
    for (i = 0; i < q->n_rows; i++) {
        const mn__embed_update *u = &q->emb[i];
        const char *vals[7];
        int lens[7] = {0}, fmts[7] = {0};
        char id[24], at[24];
        PGresult *r;
        int rc = mn__sq_check_pkey(&u->k, &q->err);
        if (rc)
            return rc;
        if (!u->embed_model || u->dim < 1 || !u->vec)
            return mn__err_set(&q->err, MN_EINVAL, NULL,
                               "store '%s': embedding of memory %lld: no model or dimension",
                               w->s->name, (long long)u->id);
        vals[0] = u->embed_model;
        vals[1] = mn__sq_vec_blob(u->vec, u->dim, &w->sc);
        if (!vals[1])
            return oom(w->s, &q->err);
        lens[1] = u->dim * 4;
        fmts[1] = 1;
        mn__pg_pkey_vals(&u->k, vals + 2);
        snprintf(id, sizeof id, "%lld", (long long)u->id);
        snprintf(at, sizeof at, "%lld", (long long)u->updated_at_ms);
        vals[5] = id;
        vals[6] = at;
        r = PQexecParams(w->c->c, sql, 7, NULL, vals, lens, fmts, 1);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = mn__pg_err(w->s, w->c, r, "store embedding", &q->err);
            PQclear(r);
            return rc;
        }
        if (strtoll(PQcmdTuples(r), NULL, 10) > 0) {
            q->n_written++;
            /* one bump per run of rows of the same partition */
            if ((i + 1 == q->n_rows || key_cmp(&u->k, &q->emb[i + 1].k)) &&
                add_event(w, &u->k, EV_ADD, 0))
                rc = oom(w->s, &q->err);
        }
        PQclear(r);
        if (rc)
            return rc;
    }
    return MN_OK;
}

static int run_one(wctx *w, mn__wreq *q)
{
    switch (q->op) {
    case MN__W_SET_EMB:
        return run_set_emb(w, q);
    case MN__W_PUT:
        return run_put(w, q);
    case MN__W_UPDATE:
        return run_update(w, q);
    case MN__W_DELETE_ONE:
        return run_delete_one(w, q);
    case MN__W_CALL:
        return q->call.pg(w->s, w->c, q->call_ctx, q->now_ms, &q->err);
    default:
        return run_delete_part(w, q);
    }
}

/* ---- the group transaction ----------------------------------------------------------------*/

/* Preallocates one id per row of the group's puts, ascending. */
static int take_ids(wctx *w, mn__wreq *group, mn_err *err)
{
    mn__wreq *q;
    size_t n = 0, i;
    char nbuf[24];
    const char *vals[1] = {nbuf};
    PGresult *r;
    int rc;
    w->ids_next = 0;
    for (q = group; q; q = q->next)
        n += q->op == MN__W_PUT ? q->n_rows : 0;
    if (!n)
        return MN_OK;
    if (n > w->ids_cap) {
        mn_id *p = mn__realloc(w->ids, n * sizeof *p);
        if (!p)
            return oom(w->s, err);
        w->ids = p;
        w->ids_cap = n;
    }
    snprintf(nbuf, sizeof nbuf, "%zu", n);
    rc = mn__pg_run(w->s, w->c, MN__PG_Q_IDS, 1, vals, NULL, NULL, "allocate ids", &r, err);
    if (rc)
        return rc;
    if ((size_t)PQntuples(r) != n) {
        PQclear(r);
        return mn__err_set(err, MN_EINTERNAL, NULL, "store '%s': got %d ids, wanted %zu",
                           w->s->name, PQntuples(r), n);
    }
    for (i = 0; i < n; i++)
        w->ids[i] = mn__pg_i64(r, (int)i, 0);
    PQclear(r);
    /* nextval hands them out in order, but the rows of the result set need not be */
    for (i = 1; i < n; i++) {
        mn_id v = w->ids[i];
        size_t j = i;
        while (j > 0 && w->ids[j - 1] > v) {
            w->ids[j] = w->ids[j - 1];
            j--;
        }
        w->ids[j] = v;
    }
    return MN_OK;
}

/* Two writers run groups at once, but ids follow the queue: a group takes its ids only after
 * the group dequeued before it took its own (or gave up its turn). */
static void ticket_wait(wctx *w)
{
    mn__wq_ticket_wait(&w->s->wq, w->ticket);
}

static void ticket_done(wctx *w)
{
    if (w->ticket_used)
        return;
    w->ticket_used = true;
    mn__wq_ticket_done(&w->s->wq);
}

static bool retryable(int rc, const mn_err *e)
{
    (void)e;
    return rc == MN_EBUSY;
}

/* One attempt at the group. Returns whether it committed; *out_retry when it failed on a
 * deadlock or serialization failure and may run again. */
static bool run_group_once(wctx *w, mn__wreq *group, int64_t *out_ok, bool *out_retry)
{
    mn__pg *s = w->s;
    mn__wreq *q;
    bool multi = group->next != NULL, req_failed = false;
    int64_t now_ms = group->now_ms;
    mn_err e;
    int rc;
    *out_ok = 0;
    *out_retry = false;
    mn__err_clear(&e);
    w->n_ev = 0;
    for (q = group; q; q = q->next) {
        q->rc = MN_OK;
        mn__err_clear(&q->err);
        now_ms = MN_MAX(now_ms, q->now_ms);
    }
    rc = mn__pg_conn_get(s, &w->c, &e);
    if (rc)
        goto abort;
    rc = mn__pg_exec(s, w->c, "BEGIN", "begin transaction", &e);
    if (rc == MN_OK) {
        if (!w->ticket_used)
            ticket_wait(w);
        rc = take_ids(w, group, &e);
        ticket_done(w);
    }
    if (rc)
        goto abort;
    for (q = group; q; q = q->next) {
        size_t mark = w->n_ev;
        if (multi && (rc = mn__pg_exec(s, w->c, "SAVEPOINT req", "savepoint", &e)) != MN_OK)
            goto abort;
        q->rc = run_one(w, q);
        if (q->rc == MN_OK) {
            if (multi && (rc = mn__pg_exec(s, w->c, "RELEASE req", "release savepoint", &e)))
                goto abort;
            continue;
        }
        w->n_ev = mark; /* its counter changes go with it */
        if (w->c->broken || !multi || retryable(q->rc, &q->err)) {
            /* the server is gone, or nothing else to keep: the group fails with this */
            e = q->err;
            rc = q->rc;
            req_failed = !w->c->broken;
            if (multi || retryable(rc, &e))
                q->rc = MN_OK; /* failed again below, with the others */
            goto abort;
        }
        if ((rc = mn__pg_exec(s, w->c, "ROLLBACK TO req; RELEASE req", "roll back savepoint",
                              &e)) != MN_OK)
            goto abort;
    }
    if ((rc = apply_bumps(w, now_ms, &e)) != MN_OK ||
        (rc = mn__pg_exec(s, w->c, "COMMIT", "commit", &e)) != MN_OK)
        goto abort;
    mn__pg_conn_put(s, w->c);
    w->c = NULL;
    for (q = group; q; q = q->next)
        *out_ok += q->rc == MN_OK;
    return true;
abort:
    if (w->c) {
        if (!w->c->broken)
            mn__pg_exec(s, w->c, "ROLLBACK", "roll back", NULL);
        mn__pg_conn_put(s, w->c);
        w->c = NULL;
    }
    *out_retry = retryable(rc, &e);
    if (!*out_retry) {
        /* a request's own failure (not found, a bad value) is its caller's outcome */
        if (!req_failed)
            mn__log(s->cfg.log, rc == MN_EUNAVAIL ? MN_LOG_DEBUG : MN_LOG_WARN, "%s", e.msg);
        mn__wq_fail_rest(group, &e);
    }
    return false;
}

static bool run_group(wctx *w, mn__wreq *group, int64_t *out_ok)
{
    mn__wreq *q;
    int attempt;
    bool retry = false, ok = false;
    for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        ok = run_group_once(w, group, out_ok, &retry);
        if (ok || !retry)
            break;
    }
    if (!ok && retry) {
        mn_err e;
        mn__err_set(&e, MN_EBUSY, "retry", "store '%s': write conflicted %d times",
                    w->s->name, MAX_ATTEMPTS);
        mn__wq_fail_rest(group, &e);
    }
    if (!w->ticket_used) { /* failed before taking ids: let the next group go */
        ticket_wait(w);
        ticket_done(w);
    }
    if (!ok)
        for (q = group; q; q = q->next)
            if (q->op == MN__W_PUT && q->rc)
                for (size_t i = 0; i < q->n_rows; i++)
                    q->rows[i].id = 0;
    return ok;
}

static void *writer_main(void *arg)
{
    mn__pg *s = arg;
    mn__wreq *group;
    wctx w;
    memset(&w, 0, sizeof w);
    w.s = s;
    mn__buf_init(&w.sources, 0);
    while ((group = mn__wq_take(&s->wq, &w.ticket)) != NULL) {
        int64_t n_ok;
        bool committed;
        w.ticket_used = false;
        committed = run_group(&w, group, &n_ok);
        mn__wq_finish(&s->wq, group, committed, n_ok);
    }
    mn__buf_release(&w.sources);
    mn__sq_scratch_release(&w.sc);
    mn__free(w.ids);
    mn__free(w.ev);
    mn__free(w.num);
    return NULL;
}

int mn__pg_writers_start(mn__pg *s, int n, mn_err *err)
{
    int i, rc;
    for (i = 0; i < n && i < MN__PG_MAX_WRITERS; i++) {
        rc = pthread_create(&s->writers[i], NULL, writer_main, s);
        if (rc != 0)
            return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                               "store '%s': cannot start a writer thread (error %d)", s->name,
                               rc);
        s->n_writers++;
        atomic_store(&s->wq.running, true);
    }
    return MN_OK;
}

void mn__pg_writers_stop(mn__pg *s)
{
    int i;
    if (!s->n_writers)
        return;
    atomic_store(&s->wq.running, false);
    mn__wq_stop(&s->wq);
    for (i = 0; i < s->n_writers; i++)
        pthread_join(s->writers[i], NULL);
    mn__wq_wait_callers(&s->wq);
    s->n_writers = 0;
}

/* ---- the caller's side ----------------------------------------------------------------------*/

/* A batch that failed inside PostgreSQL names no row: find it by inserting the rows one by
 * one in a throw-away transaction, so that the message says "row <i>" as SQLite's does. */
static void name_bad_row(mn__pg *s, mn__row *rows, size_t n, mn_err *err)
{
    wctx w;
    size_t i;
    mn_err e;
    memset(&w, 0, sizeof w);
    w.s = s;
    mn__buf_init(&w.sources, 0);
    if (mn__pg_conn_get(s, &w.c, NULL))
        return;
    w.ids = mn__calloc(n, sizeof *w.ids);
    w.ids_cap = n;
    if (w.ids && mn__pg_exec(s, w.c, "BEGIN", "begin", NULL) == MN_OK) {
        for (i = 0; i < n; i++) {
            mn_id keep = rows[i].id;
            w.ids_next = 0;
            w.ids[0] = -1 - (mn_id)i; /* never a real id; rolled back anyway */
            if (insert_rows(&w, &rows[i], 1, mn__now_ms(), &e) != MN_OK) {
                rows[i].id = keep;
                if (e.code == err->code) {
                    *err = e;
                    mn__err_prefix(err, "row %zu", i);
                }
                break;
            }
            rows[i].id = keep;
        }
        mn__pg_exec(s, w.c, "ROLLBACK", "roll back", NULL);
    }
    mn__pg_conn_put(s, w.c);
    mn__free(w.ids);
    mn__free(w.num);
    mn__buf_release(&w.sources);
    mn__sq_scratch_release(&w.sc);
}

int mn__pg_put_batch(mn__store *st, mn__row *rows, size_t n, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    int rc = mn__wq_put_batch(st, rows, n, err);
    if (rc == MN_EINVAL && n > 1 && err)
        name_bad_row(s, rows, n, err);
    return rc;
}

int mn__pg_write_call(mn__pg *s, mn__pg_write_fn fn, void *ctx, mn_err *err)
{
    mn__wreq q;
    memset(&q, 0, sizeof q);
    q.op = MN__W_CALL;
    q.call.pg = fn;
    q.call_ctx = ctx;
    return mn__wq_submit(&s->wq, &q, err);
}

int mn__pg_set_embeddings(mn__store *st, const mn__embed_update *u, size_t n, size_t *out_n,
                          mn_err *err)
{
    mn__wreq q;
    int rc;
    if (out_n)
        *out_n = 0;
    if (n == 0)
        return MN_OK;
    memset(&q, 0, sizeof q);
    q.op = MN__W_SET_EMB;
    q.emb = u;
    q.n_rows = n;
    rc = mn__wq_submit(&mn__pg_from(st)->wq, &q, err);
    if (rc == MN_OK && out_n)
        *out_n = q.n_written;
    return rc;
}

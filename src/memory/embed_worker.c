/* embed_worker.c - the background embedder. With a remote embedder an add commits its rows
 * with the embedding pending and returns; these threads find pending rows in the store
 * (scan_pending: the partial index of migration 0003), embed them in batches, write the
 * vectors back (set_embeddings, one transaction per batch) and put them into the loaded
 * partitions. Nothing is lost to a slow or failing provider: rows stay pending and are tried
 * again after a backoff, and after a restart. At start one pass also re-embeds rows made by
 * another model (the model changed); search ignores those vectors meanwhile. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "memory_int.h"

#define MAX_THREADS 16
#define POLL_MS 5000          /* look for pending rows even without a kick (other writers) */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 60000
#define SKIP_MAX 4096         /* rows that fail alone, left out until SKIP_FORGET_MS */
#define SKIP_FORGET_MS 600000
#define DEFAULT_DELAY_MS 20

typedef struct mn__ewk {
    mn_db *db;
    pthread_t th[MAX_THREADS];
    int n_th;
    int batch, delay_ms;
    pthread_mutex_t mu;       /* everything below */
    pthread_cond_t cond;
    bool stop, dirty;
    int64_t next_poll_ms, retry_at_ms;
    int backoff_ms;
    mn_id cursor;
    bool sweep;               /* the start pass: rows of other models too */
    mn__hmap skip;            /* 8-byte id -> 1 */
    int64_t skip_since_ms;
    mn__ewk_stats st;
} mn__ewk;

typedef mn__ewk ewk;

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void abs_deadline(struct timespec *ts, int64_t ms_from_now)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms_from_now / 1000);
    ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void mn__ewk_kick(mn_db *db)
{
    ewk *w = db->ewk;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->dirty = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void mn__ewk_stats_get(mn_db *db, mn__ewk_stats *out)
{
    ewk *w = db->ewk;
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}

void mn__part_set_vectors(mn_db *db, const mn__pkey *k, const mn_id *ids, const float *vecs,
                          size_t n, int dim)
{
    mn__part *p = mn__part_peek(db, k);
    size_t i;
    if (!p)
        return; /* not loaded: the next load reads the vectors from the store */
    pthread_rwlock_wrlock(&p->lock);
    if (!p->load_rc && p->vecs.dim == dim) {
        for (i = 0; i < n; i++) {
            long row = mn__part_find(p, ids[i]);
            if (row >= 0)
                mn__vecset_set(&p->vecs, (size_t)row, vecs + i * (size_t)dim);
        }
    }
    pthread_rwlock_unlock(&p->lock);
    mn__part_release(db, p);
}

/* ---- one batch ----------------------------------------------------------------------------*/

typedef struct batch {
    mn__arena a;
    mn__row *rows;
    size_t n;
    mn__eprof *pf;      /* per row */
    bool *todo;         /* per row: needs a vector of its profile */
    char **texts;
    size_t *lens;
    float *vecs;        /* per row, dim of its profile (max dim stride) */
    int stride;
} batch;

static bool skipped(ewk *w, mn_id id)
{
    return w->skip.n && mn__hmap_get(&w->skip, (const char *)&id, sizeof id) != NULL;
}

/* Reads the next rows to embed after the cursor; 0 rows at the end of a pass. Caller holds
 * w->mu (the cursor is shared by the threads; the read is a short index range scan). */
static int take(ewk *w, batch *b, mn_err *err)
{
    mn_db *db = w->db;
    mn__row *rows = NULL;
    size_t n = 0, i, m = 0;
    int rc;
    for (;;) {
        rc = db->sops->scan_pending(db->store, w->sweep ? db->vec_model : NULL, w->cursor,
                                    w->batch, &b->a, &rows, &n, err);
        if (rc)
            return rc;
        if (n == 0)
            return MN_OK;
        w->cursor = rows[n - 1].id;
        for (i = 0; i < n; i++)
            if (!skipped(w, rows[i].id))
                rows[m++] = rows[i];
        if (m)
            break;
    }
    b->rows = rows;
    b->n = m;
    return MN_OK;
}

static int prepare(mn_db *db, batch *b, mn_err *err)
{
    mn__buf t;
    size_t i;
    int rc = MN_OK;
    b->pf = mn__arena_alloc(&b->a, b->n * sizeof *b->pf);
    b->todo = mn__arena_alloc(&b->a, b->n * sizeof *b->todo);
    b->texts = mn__arena_alloc(&b->a, b->n * sizeof *b->texts);
    b->lens = mn__arena_alloc(&b->a, b->n * sizeof *b->lens);
    if (!b->pf || !b->todo || !b->texts || !b->lens)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    b->stride = 0;
    mn__buf_init(&t, 0);
    for (i = 0; i < b->n && rc == MN_OK; i++) {
        const mn__row *r = &b->rows[i];
        b->pf[i] = mn__eprof_of(db, r->tenant);
        b->todo[i] = b->pf[i].emb &&
                     (!r->embed_model || strcmp(r->embed_model, b->pf[i].vec_model));
        b->texts[i] = NULL;
        b->lens[i] = 0;
        if (!b->todo[i])
            continue;
        if (b->pf[i].emb->dim > b->stride)
            b->stride = b->pf[i].emb->dim;
        rc = mn__index_text(db, r, &t);
        if (rc == MN_OK) {
            b->texts[i] = mn__arena_strndup(&b->a, t.data ? t.data : "", t.len);
            b->lens[i] = t.len;
            if (!b->texts[i])
                rc = MN_ENOMEM;
        }
    }
    mn__buf_release(&t);
    if (rc)
        return mn__err_set(err, rc, NULL, "background embedder: preparing texts failed");
    if (b->stride) {
        b->vecs = mn__arena_alloc(&b->a, b->n * (size_t)b->stride * sizeof *b->vecs);
        if (!b->vecs)
            return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    }
    return MN_OK;
}

/* Embeds the rows of profile group g (rows i with the same embedder as row `first`). */
static int embed_group(mn_db *db, batch *b, size_t first, mn_err *err)
{
    const char **texts = mn__arena_alloc(&b->a, b->n * sizeof *texts);
    size_t *lens = mn__arena_alloc(&b->a, b->n * sizeof *lens);
    size_t *at = mn__arena_alloc(&b->a, b->n * sizeof *at);
    int dim = b->pf[first].emb->dim, rc;
    float *out;
    size_t i, m = 0;
    if (!texts || !lens || !at)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    for (i = first; i < b->n; i++)
        if (b->todo[i] && b->pf[i].emb == b->pf[first].emb) {
            texts[m] = b->texts[i];
            lens[m] = b->lens[i];
            at[m++] = i;
        }
    out = mn__arena_alloc(&b->a, m * (size_t)dim * sizeof *out);
    if (!out)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    rc = mn__embed_docs(db, &b->pf[first], texts, lens, m, out, err);
    if (rc)
        return rc;
    for (i = 0; i < m; i++)
        memcpy(b->vecs + at[i] * (size_t)b->stride, out + i * (size_t)dim,
               (size_t)dim * sizeof *out);
    return MN_OK;
}

/* Writes the vectors of rows [lo, hi) that have one, then updates loaded partitions. */
static int store_vectors(mn_db *db, batch *b, const bool *ok, size_t *out_n, mn_err *err)
{
    mn__embed_update *u = mn__arena_alloc(&b->a, b->n * sizeof *u);
    size_t i, m = 0, written = 0;
    int rc;
    *out_n = 0;
    if (!u)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    for (i = 0; i < b->n; i++) {
        const mn__row *r = &b->rows[i];
        if (!ok[i])
            continue;
        u[m].k.tenant = r->tenant;
        u[m].k.scope = r->scope;
        u[m].k.user_id = r->user_id;
        u[m].id = r->id;
        u[m].updated_at_ms = r->updated_at_ms;
        u[m].embed_model = b->pf[i].vec_model;
        u[m].vec = b->vecs + i * (size_t)b->stride;
        u[m].dim = b->pf[i].emb->dim;
        m++;
    }
    rc = db->sops->set_embeddings(db->store, u, m, &written, err);
    if (rc)
        return rc;
    for (i = 0; i < m; i++)
        mn__part_set_vectors(db, &u[i].k, &u[i].id, u[i].vec, 1, u[i].dim);
    *out_n = written;
    return MN_OK;
}

static bool transient(int rc)
{
    return rc == MN_ERATE || rc == MN_ETIMEOUT || rc == MN_EUNAVAIL || rc == MN_EIO ||
           rc == MN_ECLOSED || rc == MN_ENOMEM || rc == MN_EBUSY;
}

/* Embeds one batch. A permanent provider error on a batch of several rows is retried row by
 * row so that one text the provider refuses does not hold the others back; such a row is
 * left pending and skipped for a while. */
static int run_batch(ewk *w, batch *b, mn_err *err)
{
    mn_db *db = w->db;
    bool *ok = mn__arena_alloc(&b->a, b->n * sizeof *ok);
    size_t i, j, n_written = 0;
    int rc = MN_OK;
    if (!ok)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory in the background embedder");
    memset(ok, 0, b->n * sizeof *ok);
    rc = prepare(db, b, err);
    if (rc)
        return rc;
    for (i = 0; i < b->n; i++) {
        if (!b->todo[i] || ok[i])
            continue;
        rc = embed_group(db, b, i, err);
        if (rc && !transient(rc) && b->n > 1) {
            /* find the row(s) at fault */
            mn_err e1;
            for (j = i; j < b->n; j++) {
                if (!b->todo[j] || b->pf[j].emb != b->pf[i].emb)
                    continue;
                if (mn__embed_docs(db, &b->pf[j], (const char *const *)&b->texts[j],
                                   &b->lens[j], 1, b->vecs + j * (size_t)b->stride,
                                   &e1) == MN_OK) {
                    ok[j] = true;
                } else {
                    pthread_mutex_lock(&w->mu);
                    if (w->skip.n < SKIP_MAX) {
                        if (!w->skip.n)
                            w->skip_since_ms = mn__now_ms();
                        mn__hmap_put(&w->skip, (const char *)&b->rows[j].id,
                                     sizeof b->rows[j].id, (void *)1);
                    }
                    pthread_mutex_unlock(&w->mu);
                    mn__log(&db->log, MN_LOG_WARN,
                            "memory %lld stays without a vector: %s (tried again later)",
                            (long long)b->rows[j].id, e1.msg);
                }
                b->todo[j] = false;
            }
            rc = MN_OK;
            continue;
        }
        if (rc)
            return rc;
        for (j = i; j < b->n; j++)
            if (b->todo[j] && b->pf[j].emb == b->pf[i].emb) {
                ok[j] = true;
                b->todo[j] = false;
            }
    }
    rc = store_vectors(db, b, ok, &n_written, err);
    if (rc == MN_OK) {
        pthread_mutex_lock(&w->mu);
        w->st.n_embedded += (int64_t)n_written;
        w->st.n_batches++;
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

/* One unit of work: take a batch under the lock, embed it outside. Returns 1 when rows were
 * processed, 0 at the end of a pass, or an error. Caller holds w->mu; it is released during
 * the provider call and held again on return. */
static int step(ewk *w, mn_err *err)
{
    batch b;
    int rc;
    memset(&b, 0, sizeof b);
    mn__arena_init(&b.a, 65536);
    rc = take(w, &b, err);
    if (rc == MN_OK && b.n == 0) {
        /* end of a pass: the start pass is over; failed rows are met again next pass */
        w->sweep = false;
        w->cursor = 0;
        mn__arena_release(&b.a);
        return 0;
    }
    if (rc == MN_OK) {
        w->st.n_pending_seen += (int64_t)b.n;
        pthread_mutex_unlock(&w->mu);
        rc = run_batch(w, &b, err);
        pthread_mutex_lock(&w->mu);
    }
    mn__arena_release(&b.a);
    return rc ? rc : 1;
}

static void note_failure(ewk *w, int rc, const mn_err *err)
{
    int64_t now = mn__now_ms();
    w->backoff_ms = w->backoff_ms ? MN_MIN(w->backoff_ms * 2, BACKOFF_MAX_MS)
                                  : BACKOFF_FIRST_MS;
    w->retry_at_ms = now + w->backoff_ms;
    w->cursor = 0; /* the rows of the failed batch come first next time */
    w->st.n_failures++;
    w->st.last_error_ms = now;
    snprintf(w->st.last_error, sizeof w->st.last_error, "%s", err->msg);
    mn__log(&w->db->log, rc == MN_ECLOSED ? MN_LOG_DEBUG : MN_LOG_WARN,
            "background embedding failed, memories stay pending and keyword-searchable; "
            "retry in %d ms: %s%s%s%s",
            w->backoff_ms, err->msg, err->hint[0] ? " (hint: " : "", err->hint,
            err->hint[0] ? ")" : "");
}

static void *worker_main(void *arg)
{
    ewk *w = arg;
    mn_db *db = w->db;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = mn__now_ms(), until;
        mn_err err;
        int rc = 0; /* read below even when the loop never runs (stopping) */
        if (w->skip.n && now - w->skip_since_ms > SKIP_FORGET_MS) {
            mn__hmap_release(&w->skip);
            mn__hmap_init(&w->skip);
        }
        until = now < w->retry_at_ms ? w->retry_at_ms : w->dirty ? now : w->next_poll_ms;
        if (until > now) {
            struct timespec ts;
            abs_deadline(&ts, until - now);
            pthread_cond_timedwait(&w->cond, &w->mu, &ts);
            continue;
        }
        if (w->dirty && w->delay_ms > 0 && !w->sweep) {
            /* rows come in bursts: a short wait lets one request carry them together */
            pthread_mutex_unlock(&w->mu);
            nap_ms(w->delay_ms);
            pthread_mutex_lock(&w->mu);
        }
        w->dirty = false;
        w->next_poll_ms = mn__now_ms() + POLL_MS;
        mn__err_clear(&err);
        while (!w->stop && (rc = step(w, &err)) == 1)
            w->backoff_ms = 0;
        if (rc < 0 && !w->stop)
            note_failure(w, rc, &err);
        (void)db;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int mn__ewk_drain(mn_db *db, mn_err *err)
{
    ewk *w = db->ewk;
    int rc;
    if (!w)
        return MN_OK;
    pthread_mutex_lock(&w->mu);
    while ((rc = step(w, err)) == 1)
        ;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int mn__ewk_start(mn_db *db, mn_err *err)
{
    ewk *w;
    int i, n, rc;
    if (!db->any_remote || db->opts.read_only)
        return MN_OK; /* local embedders embed on add */
    if (!db->sops->scan_pending || !db->sops->set_embeddings) {
        mn__log(&db->log, MN_LOG_WARN,
                "the %s store has no pending-embedding scan: memories stored while the "
                "provider is down are embedded when their user is next loaded",
                db->sops->name);
        return MN_OK;
    }
    w = mn__calloc(1, sizeof *w);
    if (!w)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory starting the embedder");
    w->db = db;
    w->batch = db->opts.embed_batch > 0 ? MN_MIN(db->opts.embed_batch, 2048) : 64;
    w->delay_ms = db->opts.embed_batch_delay_ms > 0 ? db->opts.embed_batch_delay_ms
                                                    : DEFAULT_DELAY_MS;
    w->sweep = true;
    w->dirty = true; /* pending work of an earlier run resumes at once */
    mn__hmap_init(&w->skip);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    n = db->opts.embed_workers > 0 ? MN_MIN(db->opts.embed_workers, MAX_THREADS) : 1;
    db->ewk = w;
    for (i = 0; i < n; i++) {
        rc = pthread_create(&w->th[i], NULL, worker_main, w);
        if (rc) {
            mn__ewk_stop(db);
            return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                               "cannot start the background embedder (error %d)", rc);
        }
        w->n_th++;
    }
    return MN_OK;
}

void mn__ewk_stop(mn_db *db)
{
    ewk *w = db->ewk;
    int i;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->n_th; i++)
        pthread_join(w->th[i], NULL);
    mn__hmap_release(&w->skip);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    mn__free(w);
    db->ewk = NULL;
}

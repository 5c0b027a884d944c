/* part_hnsw.c - vector scores of a search through the partition's HNSW graph when the
 * partition is big enough (docs/INDEX.md, "HNSW in the engine"). Writers never touch the
 * graph: rows added after it was last brought up to date are scored exactly, and a search
 * that finds the graph behind hands the partition to the builder thread, which catches the
 * graph up in slices of the write lock (inserts are batched off the write path and off the
 * search path). */
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory_int.h"

/* The crossover measured by bench/hnsw (bench/results/hnsw.md): below this many vector rows
 * the exact scan is as fast, and exact. MNEMO_HNSW_MIN_ROWS overrides it (tests, benchmarks). */
#define DEFAULT_MIN_ROWS 20000
/* Graph upkeep waits until this many rows are unindexed or died since the last one. */
#define SYNC_MIN_ROWS 256
/* Vector candidates from the graph: max(CAND_PER_K * k, CAND_MIN), searched with at least
 * EF_MIN; fusion and the neighbour stage then see the same best rows as an exact scan. */
#define CAND_PER_K 10
#define CAND_MIN 100
#define EF_MIN 128
/* The graph of a partition; a fixed seed: the same rows in the same order give one graph. */
#define GRAPH_SEED 0x9a27f1c3d5b4e601ull

/* Marks of rows to be scored exactly: below every cosine and below -2 ("no score"). SCORE:
 * the row itself matters; NEIGHBOUR: next to one that does; NEIGHBOUR2: next to that. */
#define SCORE (-3.0f)
#define NEIGHBOUR (-4.0f)
#define NEIGHBOUR2 (-5.0f)

static _Atomic long min_rows_cache;
static _Atomic int64_t n_graph_searches;
/* When searches ran lately the builder takes short slices of the write lock and sleeps
 * three times as long between them: a search then waits for at most one short slice, and
 * the graph build (about 25 s of CPU per 100,000 rows) does not take a whole core away from
 * the searches that, until it is done, score without it. Idle, it builds at full speed. */
#define BUSY_WINDOW_NS (100 * 1000000LL)
#define BUSY_SLICE_NS (2 * 1000000LL)
#define BUSY_PAUSE_NS (3 * BUSY_SLICE_NS)
static _Atomic int64_t last_search_ns;

void mn__hnsw_set_min_rows(size_t n)
{
    atomic_store(&min_rows_cache, n > 0 && n < (size_t)LONG_MAX ? (long)n : 0);
}

int64_t mn__part_hnsw_searches(void)
{
    return atomic_load(&n_graph_searches);
}

size_t mn__hnsw_min_rows(void)
{
    long v = atomic_load(&min_rows_cache);
    if (!v) {
        const char *e = getenv("MNEMO_HNSW_MIN_ROWS");
        char *end = NULL;
        long n = e && *e ? strtol(e, &end, 10) : 0;
        v = e && *e && end && !*end && n > 0 ? n : DEFAULT_MIN_ROWS;
        atomic_store(&min_rows_cache, v);
    }
    return (size_t)v;
}

/* Marks with `mark` the unscored rows (-2) next to a row of the same session holding a
 * score or the mark `from`; returns how many. A row marked here is neither. */
static size_t mark_neighbours(const mn__part *p, const uint8_t *smask, float *vec, float from,
                              float mark)
{
    size_t n = p->n, i, c = 0;
    for (i = 0; i < n; i++) {
        uint64_t ss = p->session[i];
        if (!smask[i] || vec[i] != -2.0f || !ss)
            continue;
        if ((i > 0 && p->session[i - 1] == ss && (vec[i - 1] == from || vec[i - 1] > -1.5f)) ||
            (i + 1 < n && p->session[i + 1] == ss &&
             (vec[i + 1] == from || vec[i + 1] > -1.5f))) {
            vec[i] = mark;
            c++;
        }
    }
    return c;
}

/* Every eligible row's cosine without the graph. Big partitions read the int8 copy and
 * rescore exactly the best rows and the best keyword hits (mn__vecset_score_approx): an
 * exact float32 scan of 100,000 rows is 40 MB per query, read while the graph is being
 * built or when the keyword hits are many. */
static int dense_scores(const mn__part *p, const float *q, const uint8_t *smask,
                        size_t n_eligible, const float *kw, size_t n_cand, float *vec)
{
    if (n_eligible < mn__hnsw_min_rows() || n_cand * 4 >= n_eligible) {
        mn__vecset_score_all(&p->vecs, q, smask, vec);
        return MN_OK;
    }
    return mn__vecset_score_approx(&p->vecs, q, smask, kw, n_cand, vec);
}

static bool graph_usable(const mn__part *p)
{
    return p->hnsw && p->vecs.dim > 0 && p->hnsw_upto > 0;
}

static int keep_row(void *ctx, uint32_t row)
{
    return ((const uint8_t *)ctx)[row] != 0;
}

int mn__part_vec_scores(const mn__part *p, const float *q, const uint8_t *smask,
                        size_t n_eligible, const float *kw, int k, float *vec,
                        bool *out_want_sync)
{
    size_t n = p->n, i, behind = n - MN_MIN(p->hnsw_upto, n), n_mark;
    size_t n_cand = MN_MAX((size_t)k * CAND_PER_K, (size_t)CAND_MIN);
    const mn__kernels *kn;
    mn__topk top;
    int rc;

    atomic_store_explicit(&last_search_ns, mn__mono_ns(), memory_order_relaxed);
    *out_want_sync = p->vecs.dim > 0 && p->vecs.n >= mn__hnsw_min_rows() &&
                     (!p->hnsw || behind >= SYNC_MIN_ROWS ||
                      (p->n - p->n_alive) - MN_MIN(p->hnsw_dead_base, p->n - p->n_alive) >=
                          SYNC_MIN_ROWS);
    /* small partitions, selective filters and graphs still being built: the exact scan */
    if (!graph_usable(p) || n_eligible < mn__hnsw_min_rows() || n_cand * 4 >= n_eligible ||
        behind * 2 >= n)
        return dense_scores(p, q, smask, n_eligible, kw, n_cand, vec);
    if (kw) { /* a keyword hit gets its exact score anyway: many of them, the scan is due */
        size_t n_kw = 0;
        for (i = 0; i < n; i++)
            n_kw += smask[i] && kw[i] > 0;
        if (n_kw * 8 > n_eligible)
            return dense_scores(p, q, smask, n_eligible, kw, n_cand, vec);
    }
    rc = mn__topk_init(&top, (int)n_cand);
    if (rc)
        return rc;
    rc = mn__hnsw_search(p->hnsw, &p->vecs, q, (int)MN_MAX(n_cand, (size_t)EF_MIN), keep_row,
                         (void *)smask, NULL, &top);
    if (rc)
        goto cleanup;
    for (i = 0; i < n; i++)
        vec[i] = -2.0f;
    for (i = 0; i < (size_t)top.n; i++)
        vec[top.idx[i]] = top.score[i];
    /* Exact scores for the rows the graph does not cover (added since it was brought up to
     * date, or given a vector since) and for keyword hits, so that the blend of a keyword
     * hit equals the exact scan's; in hybrid mode also for their same-session neighbours and
     * the neighbours' neighbours, because the neighbour stage (search.c) lends a row a share
     * of its best neighbour's score. Marked first (SCORE), so that marking does not chain. */
    n_mark = 0;
    for (i = 0; i < n; i++) {
        if (!smask[i] || vec[i] > -1.5f)
            continue;
        if (i >= p->hnsw_upto || (kw && kw[i] > 0) ||
            (!mn__hnsw_contains(p->hnsw, (uint32_t)i) && p->vecs.scale[i] > 0.0f)) {
            vec[i] = SCORE;
            n_mark++;
        }
    }
    if (kw) {
        n_mark += mark_neighbours(p, smask, vec, SCORE, NEIGHBOUR);
        n_mark += mark_neighbours(p, smask, vec, NEIGHBOUR, NEIGHBOUR2);
    }
    /* Many rows to score one by one: the scan of all costs about as much, and is exact. */
    if (n_mark * 8 > n_eligible) {
        rc = dense_scores(p, q, smask, n_eligible, kw, n_cand, vec);
        goto cleanup;
    }
    atomic_fetch_add(&n_graph_searches, 1);
    kn = mn__kernels_best();
    for (i = 0; i < n; i++)
        if (vec[i] < -2.5f)
            vec[i] = kn->dot_f32(q, p->vecs.f32 + i * (size_t)p->vecs.dim,
                                 (size_t)p->vecs.dim);
cleanup:
    mn__topk_release(&top);
    return rc;
}

void mn__part_hnsw_sync(mn__part *p, int64_t budget_ns)
{
    int64_t t0 = mn__mono_ns();
    size_t i;
    mn__hnsw_opts o;

    if (p->vecs.dim <= 0 || p->vecs.n < mn__hnsw_min_rows())
        return;
    /* mostly tombstones: a fresh graph is smaller and faster than the repaired one */
    if (p->hnsw && mn__hnsw_deleted(p->hnsw) > mn__hnsw_count(p->hnsw)) {
        mn__hnsw_free(p->hnsw);
        p->hnsw = NULL;
    }
    if (!p->hnsw) {
        mn__hnsw_opts_init(&o);
        o.seed = GRAPH_SEED;
        if (mn__hnsw_new(&o, p->vecs.dim, &p->hnsw) != MN_OK)
            return; /* out of memory: searches stay exact */
        p->hnsw_upto = 0;
    }
    /* rows that died, and rows below the mark that got their vector late (a backfill may
     * bring many: the budget holds here too, and the next slice goes on where this left) */
    for (i = 0; i < p->hnsw_upto; i++) {
        bool in = mn__hnsw_contains(p->hnsw, (uint32_t)i);
        if (budget_ns > 0 && (i & 63) == 0 && mn__mono_ns() - t0 > budget_ns)
            return;
        if (in && !p->alive[i]) {
            mn__hnsw_delete(p->hnsw, &p->vecs, (uint32_t)i);
        } else if (!in && p->alive[i] && p->vecs.scale[i] > 0.0f) {
            if (mn__hnsw_insert(p->hnsw, &p->vecs, (uint32_t)i) != MN_OK)
                return;
        }
    }
    p->hnsw_dead_base = p->n - p->n_alive;
    for (i = p->hnsw_upto; i < p->n && i < p->vecs.n; i++) {
        if (budget_ns > 0 && mn__mono_ns() - t0 > budget_ns)
            break;
        if (p->alive[i] && mn__hnsw_insert(p->hnsw, &p->vecs, (uint32_t)i) != MN_OK)
            break; /* out of memory: this row and the rest stay on the exact path */
        p->hnsw_upto = i + 1;
    }
}

/* ---- the builder thread ---------------------------------------------------------------- */

typedef struct mn__hbuild mn__hbuild;

struct mn__hbuild {
    mn_db *db;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    mn__part **q; /* each holds a reference, released when its graph is caught up */
    size_t n, cap;
};

static bool part_dropped(mn_db *db, mn__part *p)
{
    bool d;
    pthread_mutex_lock(&db->mu);
    d = p->dropped;
    pthread_mutex_unlock(&db->mu);
    return d;
}

/* Slices of the write lock until the graph covers every row; a pause between slices lets
 * the searches and writes that queued up behind the lock go first. */
static void catch_up(mn__hbuild *hb, mn__part *p)
{
    for (;;) {
        bool behind, stop, busy;
        struct timespec pause = {0, 1000000L};
        pthread_mutex_lock(&hb->mu);
        stop = hb->stop;
        pthread_mutex_unlock(&hb->mu);
        if (stop || part_dropped(hb->db, p))
            return;
        busy = mn__mono_ns() - atomic_load_explicit(&last_search_ns, memory_order_relaxed) <
               BUSY_WINDOW_NS;
        if (busy)
            pause.tv_nsec = BUSY_PAUSE_NS;
        pthread_rwlock_wrlock(&p->lock);
        if (!p->load_rc)
            mn__part_hnsw_sync(p, busy ? BUSY_SLICE_NS : MN__HNSW_SYNC_BUDGET_NS);
        behind = !p->load_rc && p->hnsw && p->hnsw_upto < MN_MIN(p->n, p->vecs.n);
        atomic_store(&p->cur_bytes, mn__part_bytes(p));
        pthread_rwlock_unlock(&p->lock);
        if (!behind)
            return;
        nanosleep(&pause, NULL);
    }
}

static void *builder_main(void *arg)
{
    mn__hbuild *hb = arg;
    for (;;) {
        mn__part *p;
        pthread_mutex_lock(&hb->mu);
        while (!hb->stop && hb->n == 0)
            pthread_cond_wait(&hb->cond, &hb->mu);
        if (hb->stop) {
            pthread_mutex_unlock(&hb->mu);
            return NULL;
        }
        p = hb->q[0];
        memmove(hb->q, hb->q + 1, --hb->n * sizeof *hb->q);
        pthread_mutex_unlock(&hb->mu);
        catch_up(hb, p);
        atomic_store(&p->hnsw_syncing, false);
        mn__part_release(hb->db, p);
    }
}

/* The builder, started on first use; NULL when it cannot be (out of memory, no thread). */
static mn__hbuild *builder(mn_db *db)
{
    mn__hbuild *hb;
    pthread_mutex_lock(&db->mu);
    hb = db->hbuild;
    if (!hb && !db->hbuild_failed) {
        hb = mn__calloc(1, sizeof *hb);
        if (hb) {
            hb->db = db;
            pthread_mutex_init(&hb->mu, NULL);
            pthread_cond_init(&hb->cond, NULL);
            if (pthread_create(&hb->th, NULL, builder_main, hb) != 0) {
                pthread_mutex_destroy(&hb->mu);
                pthread_cond_destroy(&hb->cond);
                mn__free(hb);
                hb = NULL;
            }
        }
        db->hbuild = hb;
        db->hbuild_failed = hb == NULL;
    }
    pthread_mutex_unlock(&db->mu);
    return hb;
}

void mn__part_hnsw_want(mn_db *db, mn__part *p)
{
    mn__hbuild *hb;
    bool queued = false;
    if (atomic_exchange(&p->hnsw_syncing, true))
        return; /* already queued or being caught up */
    hb = builder(db);
    if (hb) {
        pthread_mutex_lock(&db->mu);
        p->refs++; /* the queue's reference */
        pthread_mutex_unlock(&db->mu);
        pthread_mutex_lock(&hb->mu);
        if (!hb->stop && hb->n < hb->cap) {
            hb->q[hb->n++] = p;
            queued = true;
        } else if (!hb->stop) {
            size_t ncap = hb->cap ? hb->cap * 2 : 8;
            mn__part **nq = mn__realloc(hb->q, ncap * sizeof *nq);
            if (nq) {
                hb->q = nq;
                hb->cap = ncap;
                hb->q[hb->n++] = p;
                queued = true;
            }
        }
        if (queued)
            pthread_cond_signal(&hb->cond);
        pthread_mutex_unlock(&hb->mu);
        if (queued)
            return;
        mn__part_release(db, p);
    }
    /* no builder: this search catches the graph up for one slice itself */
    pthread_rwlock_wrlock(&p->lock);
    if (!p->load_rc)
        mn__part_hnsw_sync(p, MN__HNSW_SYNC_BUDGET_NS);
    atomic_store(&p->cur_bytes, mn__part_bytes(p));
    pthread_rwlock_unlock(&p->lock);
    atomic_store(&p->hnsw_syncing, false);
}

void mn__part_hnsw_stop(mn_db *db)
{
    mn__hbuild *hb = db->hbuild;
    size_t i;
    if (!hb)
        return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = true;
    pthread_cond_signal(&hb->cond);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->th, NULL);
    for (i = 0; i < hb->n; i++) {
        atomic_store(&hb->q[i]->hnsw_syncing, false);
        mn__part_release(db, hb->q[i]);
    }
    mn__free(hb->q);
    pthread_mutex_destroy(&hb->mu);
    pthread_cond_destroy(&hb->cond);
    mn__free(hb);
    db->hbuild = NULL;
}

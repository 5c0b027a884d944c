/* hnsw.c - bench/hnsw: mnemo's HNSW graph (src/index/hnsw.c) against hnswlib on the same
 * vectors in the same run: sentence and turn vectors of the dev conversations made by the
 * built-in embedder, and random clustered vectors. Build time, recall@10 against exact
 * search and single-thread QPS at several ef; then the partition size from which the graph
 * beats the engine's exact scan (the crossover), and rebuild time against reading a stored
 * graph. Prints every target with PASS/FAIL; --verify fails the run when the ground truth or
 * the recall is wrong. Usage: hnsw [--n N] [--queries Q] [--data DIR] [--out FILE]
 * [--verify] [--quick]. Data directory: --data, else $MNEMO_DATA, else ../shared/data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../../src/embed/embed.h"
#include "../../src/index/index.h"
#include "../../src/memory/memory_int.h"
#include "../retrieval/bench.h"

/* the peer (hnswlib_peer.cpp) */
void *peer_build(const float *data, size_t n, int d, int m, int efc, unsigned seed);
int peer_search(void *h, const float *q, int k, int ef, uint32_t *out);
size_t peer_bytes(void *h);
void peer_free(void *h);

#define K 10
#define M 16
#define EFC 200
#define MAX_EF 5
/* The engine's graph search for k = 10 (part_hnsw.c): candidates and search width. */
#define GRAPH_CAND 100
#define GRAPH_EF 128
static const int efs[MAX_EF] = {16, 32, 64, 128, 256};

typedef struct opts {
    size_t n, n_q;
    const char *data_dir, *out;
    bool verify, quick, engine_only;
} opts;

typedef struct run {
    const char *name;
    double build_s, peer_build_s;
    size_t bytes, peer_bytes;
    double recall[MAX_EF], qps[MAX_EF], peer_recall[MAX_EF], peer_qps[MAX_EF];
} run;

typedef struct cross {
    size_t n;
    double exact_us, int8_us, graph_us, recall;
} cross;

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rndf(void)
{
    return (float)((double)rnd() / 4294967296.0 * 2.0 - 1.0);
}

/* CPU time of this thread: the machine is shared, and other processes' time slices must
 * not count against either index. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

/* ---- data ------------------------------------------------------------------------------ */

typedef struct unit {
    const char *s;
    size_t len;
} unit;

typedef struct units {
    unit *v;
    size_t n, cap;
    mn__hmap seen;
} units;

static void add_unit(units *u, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\n' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n'))
        len--;
    if (len < 12 || mn__hmap_get(&u->seen, s, len))
        return;
    if (mn__hmap_put(&u->seen, s, len, (void *)1))
        return;
    bt_grow((void **)&u->v, &u->cap, u->n + 1, sizeof *u->v);
    u->v[u->n].s = s;
    u->v[u->n++].len = len;
}

/* A turn, then each of its sentences when it has several: memories are turns, and facts
 * extracted from them are sentences. */
static void add_turn(units *u, const char *t)
{
    size_t len = strlen(t), i, start = 0;
    int n_sent = 0;
    add_unit(u, t, len);
    for (i = 0; i < len; i++)
        if (t[i] == '.' || t[i] == '!' || t[i] == '?' || t[i] == '\n')
            n_sent++;
    if (n_sent < 2)
        return;
    for (i = 0; i <= len; i++)
        if (i == len || t[i] == '.' || t[i] == '!' || t[i] == '?' || t[i] == '\n') {
            add_unit(u, t + start, i - start);
            start = i + 1;
        }
}

/* n + n_q unit vectors from the dev conversations, shuffled (seeded); NULL when the data
 * or the model is missing. */
static float *conv_vectors(const opts *o, size_t *out_n, char ***out_texts)
{
    bt_dataset ds[2];
    units u;
    mn__embedder *e = NULL;
    mn_err err;
    char path[4096];
    float *v = NULL;
    size_t i, j, want = o->n + o->n_q;
    int loaded = 0, d;
    memset(ds, 0, sizeof ds);
    memset(&u, 0, sizeof u);
    mn__hmap_init(&u.seen);
    snprintf(path, sizeof path, "%s/locomo_dev.json.gz", o->data_dir);
    if (bt_load_locomo(path, 0, &ds[0]) == 0)
        loaded++;
    snprintf(path, sizeof path, "%s/longmemeval_s_dev.jsonl.gz", o->data_dir);
    if (bt_load_longmemeval(path, 0, &ds[1]) == 0)
        loaded++;
    if (loaded < 2 || mn__embed_builtin_open(NULL, &e, &err) != MN_OK) {
        fprintf(stderr, "hnsw: dev data or built-in model missing (%s): conversation set "
                        "skipped\n", loaded < 2 ? o->data_dir : err.msg);
        goto done;
    }
    for (i = 0; i < 2; i++) {
        size_t c, t;
        for (c = 0; c < ds[i].n_corpora; c++)
            for (t = 0; t < ds[i].corpora[c].n_turns; t++)
                add_turn(&u, ds[i].corpora[c].turns[t].text);
        for (t = 0; t < ds[i].n_questions; t++)
            add_unit(&u, ds[i].questions[t].text, strlen(ds[i].questions[t].text));
    }
    for (i = u.n; i > 1; i--) { /* Fisher-Yates, seeded */
        unit tmp = u.v[i - 1];
        j = rnd() % i;
        u.v[i - 1] = u.v[j];
        u.v[j] = tmp;
    }
    if (u.n < want)
        want = u.n;
    d = e->dim;
    v = bt_malloc(want * (size_t)d * sizeof *v);
    for (i = 0; i < want; i++) {
        if (e->embed(e, u.v[i].s, u.v[i].len, v + i * (size_t)d, NULL) != MN_OK)
            memset(v + i * (size_t)d, 0, (size_t)d * sizeof *v);
        mn__normalize(v + i * (size_t)d, (size_t)d);
    }
    *out_n = want;
    *out_texts = bt_malloc(want * sizeof **out_texts); /* for the engine section */
    for (i = 0; i < want; i++)
        (*out_texts)[i] = bt_strndup(u.v[i].s, u.v[i].len);
    fprintf(stderr, "hnsw: %zu distinct turns and sentences, %zu embedded (dim %d)\n", u.n,
            want, d);
done:
    if (e)
        e->destroy(e);
    free(u.v);
    mn__hmap_release(&u.seen);
    for (i = 0; i < 2; i++)
        bt_dataset_free(&ds[i]);
    return v;
}

/* Random clustered unit vectors: 1,000 centres, spread comparable to sentence vectors. */
static float *clustered_vectors(size_t n, int d)
{
    enum { N_CENTRES = 1000 };
    float *c = bt_malloc((size_t)N_CENTRES * (size_t)d * sizeof *c);
    float *v = bt_malloc(n * (size_t)d * sizeof *v);
    size_t i, j;
    for (i = 0; i < (size_t)N_CENTRES * (size_t)d; i++)
        c[i] = rndf();
    for (i = 0; i < n; i++) {
        const float *ci = c + (size_t)(rnd() % N_CENTRES) * (size_t)d;
        for (j = 0; j < (size_t)d; j++)
            v[i * (size_t)d + j] = ci[j] + 0.6f * rndf();
        mn__normalize(v + i * (size_t)d, (size_t)d);
    }
    free(c);
    return v;
}

/* ---- measurements ---------------------------------------------------------------------- */

/* Exact top K of every query over the first n rows (the engine's float scan). */
static uint32_t *ground_truth(const mn__vecset *vs, const float *qs, size_t n_q)
{
    uint32_t *gt = bt_malloc(n_q * K * sizeof *gt);
    float *s = bt_malloc(vs->n * sizeof *s);
    mn__topk t;
    size_t q, i;
    mn__topk_init(&t, K);
    for (q = 0; q < n_q; q++) {
        mn__topk_reset(&t);
        mn__vecset_score_all(vs, qs + q * (size_t)vs->dim, NULL, s);
        for (i = 0; i < vs->n; i++)
            mn__topk_push(&t, s[i], (uint32_t)i);
        mn__topk_sort(&t);
        for (i = 0; i < K; i++)
            gt[q * K + i] = i < (size_t)t.n ? t.idx[i] : UINT32_MAX;
    }
    mn__topk_release(&t);
    free(s);
    return gt;
}

static size_t overlap(const uint32_t *truth, const uint32_t *got, int n_got)
{
    size_t h = 0;
    int i, j;
    for (i = 0; i < K; i++)
        for (j = 0; j < n_got; j++)
            if (truth[i] == got[j]) {
                h++;
                break;
            }
    return h;
}

/* Runs every query `rounds` times (the figure is for the last pass); returns QPS. */
static double time_mnemo(const mn__hnsw *h, const mn__vecset *vs, const float *qs, size_t n_q,
                         int ef, const uint32_t *gt, double *out_recall)
{
    mn__hnsw_scratch s;
    mn__topk t;
    size_t q, hits = 0, done = 0;
    int64_t t0, el = 0;
    mn__hnsw_scratch_init(&s);
    mn__topk_init(&t, K);
    while (el < 300000000LL || done < n_q) { /* at least 0.3 s and one pass */
        t0 = cpu_ns();
        for (q = 0; q < n_q; q++)
            mn__hnsw_search(h, vs, qs + q * (size_t)vs->dim, ef, NULL, NULL, &s, &t);
        el += cpu_ns() - t0;
        done += n_q;
    }
    for (q = 0; q < n_q; q++) {
        mn__hnsw_search(h, vs, qs + q * (size_t)vs->dim, ef, NULL, NULL, &s, &t);
        hits += overlap(gt + q * K, t.idx, t.n);
    }
    *out_recall = (double)hits / (double)(n_q * K);
    mn__topk_release(&t);
    mn__hnsw_scratch_release(&s);
    return (double)done / secs(el);
}

static double time_peer(void *p, const float *qs, size_t n_q, int d, int ef,
                        const uint32_t *gt, double *out_recall)
{
    uint32_t got[K];
    size_t q, hits = 0, done = 0;
    int64_t t0, el = 0;
    while (el < 300000000LL || done < n_q) {
        t0 = cpu_ns();
        for (q = 0; q < n_q; q++)
            peer_search(p, qs + q * (size_t)d, K, ef, got);
        el += cpu_ns() - t0;
        done += n_q;
    }
    for (q = 0; q < n_q; q++) {
        int n = peer_search(p, qs + q * (size_t)d, K, ef, got);
        hits += overlap(gt + q * K, got, n);
    }
    *out_recall = (double)hits / (double)(n_q * K);
    return (double)done / secs(el);
}

/* The engine's two vector paths at partition size vs->n (part_hnsw.c): the exact float scan
 * of every row, and the graph's candidates plus the pass over the rows that fills the score
 * array. Also the int8 scan with float re-rank, for reference. */
static void crossover_point(const mn__hnsw *h, const mn__vecset *vs, const float *qs,
                            size_t n_q, cross *out)
{
    float *s = bt_malloc(vs->n * sizeof *s);
    mn__topk t, c, ex;
    mn__hnsw_scratch sc;
    size_t q, i, hits = 0;
    int64_t t0;
    int reps = vs->n < 20000 ? 5 : 1, r;
    mn__topk_init(&t, K);
    mn__topk_init(&ex, K);
    mn__topk_init(&c, GRAPH_CAND);
    mn__hnsw_scratch_init(&sc);
    out->n = vs->n;
    t0 = cpu_ns();
    for (r = 0; r < reps; r++)
        for (q = 0; q < n_q; q++) {
            mn__vecset_score_all(vs, qs + q * (size_t)vs->dim, NULL, s);
            mn__topk_reset(&t);
            for (i = 0; i < vs->n; i++)
                mn__topk_push(&t, s[i], (uint32_t)i);
        }
    out->exact_us = (double)(cpu_ns() - t0) / 1e3 / (double)(n_q * (size_t)reps);
    t0 = cpu_ns();
    for (r = 0; r < reps; r++)
        for (q = 0; q < n_q; q++)
            mn__vecset_topk(vs, qs + q * (size_t)vs->dim, NULL, &t);
    out->int8_us = (double)(cpu_ns() - t0) / 1e3 / (double)(n_q * (size_t)reps);
    t0 = cpu_ns();
    for (r = 0; r < reps; r++)
        for (q = 0; q < n_q; q++) {
            mn__hnsw_search(h, vs, qs + q * (size_t)vs->dim, GRAPH_EF, NULL, NULL, &sc, &c);
            for (i = 0; i < vs->n; i++)
                s[i] = -2.0f;
            for (i = 0; i < (size_t)c.n; i++)
                s[c.idx[i]] = c.score[i];
        }
    out->graph_us = (double)(cpu_ns() - t0) / 1e3 / (double)(n_q * (size_t)reps);
    for (q = 0; q < n_q; q++) { /* recall@10 of the candidates against the exact top 10 */
        const float *qq = qs + q * (size_t)vs->dim;
        mn__hnsw_search(h, vs, qq, GRAPH_EF, NULL, NULL, &sc, &c);
        mn__vecset_score_all(vs, qq, NULL, s);
        mn__topk_reset(&ex);
        for (i = 0; i < vs->n; i++)
            mn__topk_push(&ex, s[i], (uint32_t)i);
        for (i = 0; i < (size_t)ex.n; i++) {
            int j;
            for (j = 0; j < c.n; j++)
                if (c.idx[j] == ex.idx[i]) {
                    hits++;
                    break;
                }
        }
    }
    out->recall = (double)hits / (double)(n_q * K);
    mn__topk_release(&t);
    mn__topk_release(&ex);
    mn__topk_release(&c);
    mn__hnsw_scratch_release(&sc);
    free(s);
}

/* Builds mnemo's graph over all of vs (timed, checkpoints excluded), measuring the
 * crossover at the checkpoint sizes when cr is not NULL. */
static mn__hnsw *build_mnemo(const mn__vecset *vs, const float *qs, size_t n_q, double *out_s,
                             cross *cr, size_t *out_ncr)
{
    static const size_t checks[] = {500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
    mn__hnsw_opts o;
    mn__hnsw *h;
    mn__vecset view = *vs;
    size_t i, ci = 0;
    int64_t el = 0, t0;
    mn__hnsw_opts_init(&o);
    o.m = M;
    o.ef_construction = EFC;
    if (mn__hnsw_new(&o, vs->dim, &h) != MN_OK)
        return NULL;
    t0 = cpu_ns();
    for (i = 0; i < vs->n; i++) {
        if (mn__hnsw_insert(h, vs, (uint32_t)i) != MN_OK) {
            mn__hnsw_free(h);
            return NULL;
        }
        if (cr && ci < MN_ARRAY_LEN(checks) && i + 1 == checks[ci]) {
            el += cpu_ns() - t0;
            view.n = i + 1;
            crossover_point(h, &view, qs, MN_MIN(n_q, (size_t)200), &cr[ci]);
            fprintf(stderr, "hnsw: crossover at %zu rows: exact %.1f us, graph %.1f us\n",
                    view.n, cr[ci].exact_us, cr[ci].graph_us);
            ci++;
            t0 = cpu_ns();
        }
    }
    el += cpu_ns() - t0;
    *out_s = secs(el);
    if (out_ncr)
        *out_ncr = ci;
    return h;
}

/* Write then read back the graph's size in bytes: what loading a stored graph costs at
 * the least (page cache warm), against rebuilding it. */
static double load_floor_s(size_t bytes)
{
    char path[] = "/tmp/mnemo-hnsw-bench-XXXXXX";
    char *buf = bt_calloc(1, bytes ? bytes : 1);
    int fd = mkstemp(path);
    int64_t t0;
    double s = -1;
    if (fd >= 0) {
        if (write(fd, buf, bytes) == (ssize_t)bytes && lseek(fd, 0, SEEK_SET) == 0) {
            t0 = bt_now_ns();
            if (read(fd, buf, bytes) == (ssize_t)bytes)
                s = secs(bt_now_ns() - t0);
        }
        close(fd);
        unlink(path);
    }
    free(buf);
    return s;
}

static int bench_set(const char *name, float *v, size_t n, size_t n_q, int d, run *out,
                     cross *cr, size_t *out_ncr, double *out_load_s)
{
    mn__vecset vs;
    uint32_t *gt;
    mn__hnsw *h;
    void *peer;
    const float *qs = v + n * (size_t)d;
    size_t i;
    int64_t t0;
    int e;
    memset(out, 0, sizeof *out);
    out->name = name;
    mn__vecset_init(&vs, d);
    for (i = 0; i < n; i++)
        if (mn__vecset_add(&vs, v + i * (size_t)d) != MN_OK)
            return -1;
    fprintf(stderr, "hnsw: %s: %zu x %d, %zu queries: ground truth\n", name, n, d, n_q);
    gt = ground_truth(&vs, qs, n_q);
    fprintf(stderr, "hnsw: %s: building mnemo\n", name);
    h = build_mnemo(&vs, qs, n_q, &out->build_s, cr, out_ncr);
    if (!h)
        return -1;
    out->bytes = mn__hnsw_bytes(h);
    if (out_load_s)
        *out_load_s = load_floor_s(out->bytes);
    fprintf(stderr, "hnsw: %s: building hnswlib\n", name);
    t0 = cpu_ns();
    peer = peer_build(vs.f32, n, d, M, EFC, 100);
    out->peer_build_s = secs(cpu_ns() - t0);
    if (!peer)
        return -1;
    out->peer_bytes = peer_bytes(peer);
    for (e = 0; e < MAX_EF; e++) {
        int round;
        /* alternate, best of three each: other work on the machine costs both alike */
        for (round = 0; round < 3; round++) {
            double qm = time_mnemo(h, &vs, qs, n_q, efs[e], gt, &out->recall[e]);
            double qp = time_peer(peer, qs, n_q, d, efs[e], gt, &out->peer_recall[e]);
            out->qps[e] = MN_MAX(out->qps[e], qm);
            out->peer_qps[e] = MN_MAX(out->peer_qps[e], qp);
        }
        fprintf(stderr, "hnsw: %s ef %d: mnemo %.4f %.0f q/s, hnswlib %.4f %.0f q/s\n", name,
                efs[e], out->recall[e], out->qps[e], out->peer_recall[e], out->peer_qps[e]);
    }
    peer_free(peer);
    mn__hnsw_free(h);
    mn__vecset_release(&vs);
    free(gt);
    return 0;
}

/* ---- the engine: one user with n memories, searched exactly and through the graph ------- */

typedef struct engine_run {
    bool ok;
    size_t n, n_q;
    double ingest_s, load_s, half_s, full_s;
    double exact_p50_ms, exact_p99_ms, graph_p50_ms, graph_p99_ms, agree;
    double vexact_p50_ms, vgraph_p50_ms, vagree; /* vector mode */
    size_t graph_bytes;
} engine_run;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double wall_ms(int64_t t0)
{
    return (double)(bt_now_ns() - t0) / 1e6;
}

static mn_db *engine_open(const char *path)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    mn_db_opts_init(&o);
    o.path = path;
    o.sync_normal = true;      /* ingest speed is not what this measures */
    o.compact_threshold = 0;   /* keep every message active */
    o.extract = "off";
    if (mn_db_open(&o, &db, &err) != MN_OK) {
        fprintf(stderr, "hnsw: engine: %s\n", err.msg);
        return NULL;
    }
    return db;
}

/* Graph coverage of the user's partition: rows indexed and rows in all. */
static void coverage(mn_db *db, size_t *out_upto, size_t *out_n, size_t *out_bytes)
{
    mn__pkey k;
    mn__part *p;
    *out_upto = *out_n = *out_bytes = 0;
    if (mn__pkey_make(NULL, MN_SCOPE_USER, "big", &k, NULL) != MN_OK)
        return;
    p = mn__part_peek(db, &k);
    if (!p)
        return;
    pthread_rwlock_rdlock(&p->lock);
    *out_upto = p->hnsw ? p->hnsw_upto : 0;
    *out_n = p->n;
    *out_bytes = p->hnsw ? mn__hnsw_bytes(p->hnsw) : 0;
    pthread_rwlock_unlock(&p->lock);
    mn__part_release(db, p);
}

/* Hybrid searches of every query: latencies (ms, sorted) and the ids of each top 10. */
static int engine_queries(mn_db *db, char **qs, size_t n_q, mn_search_mode mode, double *lat,
                          mn_id *ids)
{
    size_t q, i;
    for (q = 0; q < n_q; q++) {
        mn_search_opts so;
        mn_results *r = NULL;
        mn_err err;
        int64_t t0 = bt_now_ns();
        mn_search_opts_init(&so);
        so.filter.user_id = "big";
        so.query = qs[q];
        so.mode = mode;
        if (mn_search(db, &so, &r, &err) != MN_OK) {
            fprintf(stderr, "hnsw: engine search: %s\n", err.msg);
            return -1;
        }
        lat[q] = wall_ms(t0);
        for (i = 0; i < K; i++)
            ids[q * K + i] = i < r->n ? r->hits[i].mem.id : 0;
        mn_results_free(r);
    }
    qsort(lat, n_q, sizeof *lat, cmp_double);
    return 0;
}

static void engine_bench(char **texts, size_t n, size_t n_q, engine_run *er)
{
    char dir[] = "/tmp/mnemo-hnsw-engine-XXXXXX", path[256];
    mn_db *db = NULL;
    mn_memory_in *m = bt_calloc(1000, sizeof *m);
    char(*sess)[24] = bt_calloc(1000, sizeof *sess);
    double *lat = bt_malloc(n_q * sizeof *lat);
    mn_id *ex = bt_malloc(n_q * K * sizeof *ex), *gr = bt_malloc(n_q * K * sizeof *gr);
    mn_id *vx = bt_malloc(n_q * K * sizeof *vx), *vg = bt_malloc(n_q * K * sizeof *vg);
    size_t i, b, upto, rows, same = 0, total = 0, vsame = 0, vtotal = 0;
    int64_t t0;
    char **qs = texts + n;
    memset(er, 0, sizeof *er);
    er->n = n;
    er->n_q = n_q;
    if (!mkdtemp(dir))
        goto done;
    snprintf(path, sizeof path, "%s/engine.db", dir);
    if (!(db = engine_open(path)))
        goto done;
    fprintf(stderr, "hnsw: engine: adding %zu memories for one user\n", n);
    t0 = bt_now_ns();
    for (b = 0; b < n; b += 1000) {
        size_t c = MN_MIN((size_t)1000, n - b);
        mn_err err;
        for (i = 0; i < c; i++) {
            mn_memory_in_init(&m[i]);
            m[i].user_id = "big";
            m[i].role = i % 2 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
            /* sessions of 20 turns, like a conversation's (the neighbour stage works
             * within a session) */
            snprintf(sess[i], sizeof sess[i], "s%zu", (b + i) / 20);
            m[i].session_id = sess[i];
            m[i].text = texts[b + i];
        }
        if (mn_memory_add_batch(db, m, c, NULL, &err) != MN_OK) {
            fprintf(stderr, "hnsw: engine add: %s\n", err.msg);
            goto done;
        }
    }
    er->ingest_s = wall_ms(t0) / 1e3;
    mn_db_close(db);
    /* a fresh process's view: open, and the first search loads the partition */
    mn__hnsw_set_min_rows((size_t)1 << 40); /* exact first */
    if (!(db = engine_open(path)))
        goto done;
    t0 = bt_now_ns();
    if (engine_queries(db, qs, 1, MN_MODE_HYBRID, lat, ex))
        goto done;
    er->load_s = wall_ms(t0) / 1e3;
    if (engine_queries(db, qs, n_q, MN_MODE_HYBRID, lat, ex))
        goto done;
    er->exact_p50_ms = lat[n_q / 2];
    er->exact_p99_ms = lat[n_q * 99 / 100];
    /* the default threshold: the next search hands the partition to the builder */
    mn__hnsw_set_min_rows(0);
    t0 = bt_now_ns();
    if (engine_queries(db, qs, 1, MN_MODE_HYBRID, lat, gr))
        goto done;
    for (;;) {
        struct timespec nap = {0, 20000000L};
        coverage(db, &upto, &rows, &er->graph_bytes);
        if (!er->half_s && upto * 2 >= rows && rows)
            er->half_s = wall_ms(t0) / 1e3;
        if (upto == rows || wall_ms(t0) > 600e3)
            break;
        nanosleep(&nap, NULL);
    }
    er->full_s = wall_ms(t0) / 1e3;
    if (engine_queries(db, qs, n_q, MN_MODE_HYBRID, lat, gr))
        goto done;
    er->graph_p50_ms = lat[n_q / 2];
    er->graph_p99_ms = lat[n_q * 99 / 100];
    if (engine_queries(db, qs, n_q, MN_MODE_VECTOR, lat, vg))
        goto done;
    er->vgraph_p50_ms = lat[n_q / 2];
    /* the exact scan again, now that caches (store pages, query vectors) are as warm for it
     * as they were for the graph's pass: these are the exact figures reported */
    mn__hnsw_set_min_rows((size_t)1 << 40);
    if (engine_queries(db, qs, n_q, MN_MODE_HYBRID, lat, ex))
        goto done;
    er->exact_p50_ms = lat[n_q / 2];
    er->exact_p99_ms = lat[n_q * 99 / 100];
    if (engine_queries(db, qs, n_q, MN_MODE_VECTOR, lat, vx))
        goto done;
    er->vexact_p50_ms = lat[n_q / 2];
    for (i = 0; i < n_q; i++) { /* vector mode: recall@10 of the graph's search */
        size_t a, c;
        for (a = 0; a < K; a++) {
            if (!vx[i * K + a])
                continue;
            vtotal++;
            for (c = 0; c < K; c++)
                if (vg[i * K + c] == vx[i * K + a]) {
                    vsame++;
                    break;
                }
        }
    }
    er->vagree = vtotal ? (double)vsame / (double)vtotal : 0;
    mn__hnsw_set_min_rows(0);
    for (i = 0; i < n_q; i++) { /* share of the exact top 10 the graph's search returns */
        size_t a, c;
        for (a = 0; a < K; a++) {
            if (!ex[i * K + a])
                continue;
            total++;
            for (c = 0; c < K; c++)
                if (gr[i * K + c] == ex[i * K + a]) {
                    same++;
                    break;
                }
        }
    }
    er->agree = total ? (double)same / (double)total : 0;
    er->ok = upto == rows;
done:
    mn_db_close(db);
    if (dir[0] && strcmp(dir, "/tmp/mnemo-hnsw-engine-XXXXXX")) {
        char f[300];
        static const char *const files[] = {"engine.db", "engine.db-wal", "engine.db-shm"};
        for (i = 0; i < MN_ARRAY_LEN(files); i++) {
            snprintf(f, sizeof f, "%s/%s", dir, files[i]);
            unlink(f);
        }
        rmdir(dir);
    }
    free(m);
    free(sess);
    free(lat);
    free(ex);
    free(gr);
    free(vx);
    free(vg);
}

/* ---- report ---------------------------------------------------------------------------- */

/* QPS at the smallest ef reaching recall 0.95 (0 when none does), and that ef. */
static double qps_at_95(const double *rec, const double *qps, int *out_ef)
{
    int e;
    for (e = 0; e < MAX_EF; e++)
        if (rec[e] >= 0.95) {
            *out_ef = efs[e];
            return qps[e];
        }
    *out_ef = 0;
    return 0;
}

/* "AMD EPYC 9R14" from /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, cap, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && c) {
            c++;
            while (*c == ' ')
                c++;
            c[strcspn(c, "\n")] = '\0';
            snprintf(out, cap, "%s", c);
            break;
        }
    }
    fclose(f);
}

static int targets(FILE *f, const run *r)
{
    int ef_m, ef_p, fails = 0;
    double qm = qps_at_95(r->recall, r->qps, &ef_m), qp = qps_at_95(r->peer_recall, r->peer_qps, &ef_p);
    bool q_ok = qm > 0 && qm >= qp, b_ok = r->build_s <= 1.5 * r->peer_build_s;
    fprintf(f, "- %s: QPS at recall@10 >= 0.95: mnemo %.0f (ef %d), hnswlib %.0f (ef %d), "
               "ratio %.2f: **%s**\n",
            r->name, qm, ef_m, qp, ef_p, qp > 0 ? qm / qp : 0.0, q_ok ? "PASS" : "FAIL");
    fprintf(f, "- %s: build time mnemo %.2f s, hnswlib %.2f s, ratio %.2f (target <= 1.5): "
               "**%s**\n",
            r->name, r->build_s, r->peer_build_s, r->build_s / r->peer_build_s,
            b_ok ? "PASS" : "FAIL");
    fails += !q_ok + !b_ok;
    return fails;
}

static void table(FILE *f, const run *r, int d)
{
    int e;
    fprintf(f, "\n### %s\n\n", r->name);
    fprintf(f, "Build (single thread, M %d, ef_construction %d): mnemo %.2f s, hnswlib %.2f s. "
               "Graph memory: mnemo %.1f MB (links only: the vectors stay in the partition's "
               "vector set), hnswlib %.1f MB (links and its own copy of the %d-d vectors).\n\n",
            M, EFC, r->build_s, r->peer_build_s, (double)r->bytes / 1e6,
            (double)r->peer_bytes / 1e6, d);
    fprintf(f, "| ef | mnemo recall@10 | mnemo QPS | hnswlib recall@10 | hnswlib QPS | QPS ratio |\n");
    fprintf(f, "|---:|---:|---:|---:|---:|---:|\n");
    for (e = 0; e < MAX_EF; e++)
        fprintf(f, "| %d | %.4f | %.0f | %.4f | %.0f | %.2f |\n", efs[e], r->recall[e],
                r->qps[e], r->peer_recall[e], r->peer_qps[e],
                r->peer_qps[e] > 0 ? r->qps[e] / r->peer_qps[e] : 0.0);
}

static void usage(void)
{
    fprintf(stderr, "usage: hnsw [--n N] [--queries Q] [--data DIR] [--out FILE] [--verify] "
                    "[--quick] [--engine-only]\n");
}

int main(int argc, char **argv)
{
    opts o = {100000, 1000, NULL, NULL, false, false, false};
    run runs[2];
    cross cr[8];
    size_t n_runs = 0, n_cr = 0, i, n_conv = 0, crossover = 0;
    double load_s = -1;
    float *conv, *clu;
    char **texts = NULL;
    engine_run er;
    int d = 100, fails = 0, bad = 0;
    FILE *f = stdout;
    struct utsname un;
    char cpu[256];
    double load[1];
    const char *commit = getenv("MNEMO_BENCH_COMMIT");

    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--verify")) {
            o.verify = true;
        } else if (!strcmp(a, "--engine-only")) {
            o.engine_only = true;
        } else if (!strcmp(a, "--quick")) {
            o.quick = true;
            o.n = 20000;
            o.n_q = 300;
        } else if (i + 1 < (size_t)argc && !strcmp(a, "--n")) {
            o.n = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < (size_t)argc && !strcmp(a, "--queries")) {
            o.n_q = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < (size_t)argc && !strcmp(a, "--data")) {
            o.data_dir = argv[++i];
        } else if (i + 1 < (size_t)argc && !strcmp(a, "--out")) {
            o.out = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (o.n < 1000 || o.n_q < 10) {
        usage();
        return 2;
    }
    if (!o.data_dir)
        o.data_dir = getenv("MNEMO_DATA") && *getenv("MNEMO_DATA") ? getenv("MNEMO_DATA")
                                                                   : "../shared/data";

    conv = conv_vectors(&o, &n_conv, &texts);
    if (conv && n_conv > o.n_q + 1000 && !o.engine_only) {
        size_t nb = n_conv - o.n_q;
        if (bench_set("dev conversations (built-in embedder)", conv, nb, o.n_q, 100,
                      &runs[n_runs], NULL, NULL, NULL) == 0)
            n_runs++;
    } else {
        bad++;
    }
    free(conv);
    memset(&er, 0, sizeof er);
    if (texts && n_conv > o.n_q + 1000) {
        size_t ne = o.quick ? 12000 : n_conv - o.n_q, nq = MN_MIN(o.n_q, (size_t)300);
        for (i = 0; i < nq; i++) { /* the queries follow the memories in texts */
            char *t = texts[ne + i];
            texts[ne + i] = texts[n_conv - o.n_q + i];
            texts[n_conv - o.n_q + i] = t;
        }
        engine_bench(texts, ne, nq, &er);
    }
    clu = o.engine_only ? NULL : clustered_vectors(o.n + o.n_q, d);
    if (clu && bench_set("random clustered", clu, o.n, o.n_q, d, &runs[n_runs], cr, &n_cr,
                         &load_s) == 0)
        n_runs++;
    else if (!o.engine_only)
        bad++;
    free(clu);
    for (i = 0; texts && i < n_conv; i++)
        free(texts[i]);
    free(texts);

    /* the crossover: the smallest size from which the graph stays faster */
    for (i = n_cr; i > 0; i--) {
        if (cr[i - 1].graph_us >= cr[i - 1].exact_us)
            break;
        crossover = cr[i - 1].n;
    }

    if (o.out && !(f = fopen(o.out, "w"))) {
        perror(o.out);
        return 2;
    }
    uname(&un);
    fprintf(f, "# HNSW benchmark\n\nGenerated by `build/bench/hnsw` (`make bench-hnsw`); source "
               "in `bench/hnsw/`. Design and integration: docs/INDEX.md.\n\n");
    cpu_model(cpu, sizeof cpu);
    if (getloadavg(load, 1) != 1)
        load[0] = -1;
    fprintf(f, "- commit: %s\n- machine: %s, %s %s, %ld cores, kernel variant `%s`, load "
               "average %.2f at the end (the machine is shared: every time below is CPU time "
               "of the benchmark's thread, CLOCK_THREAD_CPUTIME_ID, so other processes' time "
               "slices do not count, but their cache and memory traffic does)\n",
            commit && *commit ? commit : "unknown", cpu, un.sysname, un.machine,
            sysconf(_SC_NPROCESSORS_ONLN), mn__kernels_best()->name, load[0]);
    fprintf(f, "- config: M %d, ef_construction %d, k %d, %zu queries held out of the indexed "
               "rows, single thread for build and search; hnswlib %s (Debian "
               "libhnswlib-dev, inner product space, built -O2 -march=native); QPS: best of three "
               "alternating runs of at least 0.3 s each; recall@10 against exact float search\n",
            M, EFC, K, o.n_q, "0.6.2");
    fprintf(f, "- data: dev conversations of `%s` (LoCoMo + LongMemEval-S turns, then their "
               "sentences, distinct, shuffled with a fixed seed; %zu rows), and %zu random "
               "clustered rows (1,000 centres, fixed seed), d %d\n",
            o.data_dir, n_conv > o.n_q ? n_conv - o.n_q : 0, o.n, d);

    fprintf(f, "\n## Targets\n\n");
    for (i = 0; i < n_runs; i++)
        fails += targets(f, &runs[i]);
    if (n_cr) {
        fprintf(f, "- crossover with the engine's exact scan (random clustered, d %d): the "
                   "graph is faster from **%zu rows** on: %s\n",
                d, crossover, crossover ? "PASS" : "FAIL");
        fails += crossover == 0;
    }
    for (i = 0; i < n_runs; i++)
        table(f, &runs[i], d);
    if (n_cr) {
        fprintf(f, "\n### Crossover\n\nPer query, one thread, random clustered d %d. "
                   "*exact*: the engine's float scan of every row plus top-k "
                   "(search.c below the threshold); *int8*: int8 scan + float re-rank "
                   "(mn__vecset_topk); *graph*: %d candidates at ef %d plus the pass over "
                   "the rows that fills the score array (part_hnsw.c); recall@10 of those "
                   "candidates.\n\n",
                d, GRAPH_CAND, GRAPH_EF);
        fprintf(f, "| rows | exact us | int8 us | graph us | graph/exact | graph recall@10 |\n");
        fprintf(f, "|---:|---:|---:|---:|---:|---:|\n");
        for (i = 0; i < n_cr; i++)
            fprintf(f, "| %zu | %.1f | %.1f | %.1f | %.2f | %.4f |\n", cr[i].n,
                    cr[i].exact_us, cr[i].int8_us, cr[i].graph_us,
                    cr[i].graph_us / cr[i].exact_us, cr[i].recall);
    }
    if (n_runs) {
        const run *r = &runs[n_runs - 1];
        fprintf(f, "\n### Rebuild or load\n\nRebuilding the %zu-row graph took %.2f s "
                   "(%.0f us per row). Reading a stored graph of the same size (%.1f MB, page "
                   "cache warm) takes at least %.3f s. See docs/INDEX.md for what the engine "
                   "does with this.\n",
                o.n, r->build_s, r->build_s * 1e6 / (double)o.n, (double)r->bytes / 1e6,
                load_s);
    }
    if (er.n) {
        fprintf(f, "\n### The engine: one user with %zu memories\n\n"
                   "The dev-conversation texts above stored as one user's messages "
                   "(mn_memory_add_batch, built-in embedder, %.1f s), the database closed and "
                   "opened again; %zu held-out texts as hybrid queries (mn_search, k 10, wall "
                   "time; the exact pass is run again after the graph's, so both run with "
                   "warm caches).\n\n",
                er.n, er.ingest_s, er.n_q);
        fprintf(f, "| | value |\n|---|---:|\n");
        fprintf(f, "| partition load (open, first search) | %.2f s |\n", er.load_s);
        fprintf(f, "| hybrid search, exact scan: p50 / p99 | %.2f / %.2f ms |\n",
                er.exact_p50_ms, er.exact_p99_ms);
        fprintf(f, "| graph half built (exact scan until then) | %.1f s after the first search |\n",
                er.half_s);
        fprintf(f, "| graph complete (builder thread) | %.1f s, %.1f MB |\n", er.full_s,
                (double)er.graph_bytes / 1e6);
        fprintf(f, "| hybrid search through the graph: p50 / p99 | %.2f / %.2f ms |\n",
                er.graph_p50_ms, er.graph_p99_ms);
        fprintf(f, "| exact top 10 found by the graph's search | %.3f |\n", er.agree);
        fprintf(f, "| vector mode p50: exact scan / graph | %.2f / %.2f ms |\n",
                er.vexact_p50_ms, er.vgraph_p50_ms);
        fprintf(f, "| vector mode: exact top 10 found through the graph | %.3f |\n",
                er.vagree);
        fprintf(f, "\n- engine, vector mode: search p50 through the graph %.2f ms against %.2f "
                   "ms exact at %zu memories, ratio %.2f, exact top 10 found %.3f: **%s**\n",
                er.vgraph_p50_ms, er.vexact_p50_ms, er.n,
                er.vexact_p50_ms > 0 ? er.vgraph_p50_ms / er.vexact_p50_ms : 0.0, er.vagree,
                er.ok && er.vgraph_p50_ms < er.vexact_p50_ms && er.vagree >= 0.95 ? "PASS"
                                                                                  : "FAIL");
        fprintf(f, "- engine, hybrid mode (information): p50 %.2f ms through the graph against "
                   "%.2f ms exact; the keyword half and the per-row stages cost the same on "
                   "both paths, and queries with many keyword hits take the exact scan "
                   "(docs/INDEX.md)\n",
                er.graph_p50_ms, er.exact_p50_ms);
        fails += !(er.ok && er.vgraph_p50_ms < er.vexact_p50_ms && er.vagree >= 0.95);
    }
    fprintf(f, "\n%s: %d target(s) failed\n", fails ? "FAIL" : "PASS", fails);
    if (f != stdout)
        fclose(f);
    printf("bench-hnsw: %d target(s) failed%s\n", fails, o.out ? "" : "");
    if (o.verify) {
        for (i = 0; i < n_runs; i++)
            if (runs[i].recall[MAX_EF - 1] < 0.95 || runs[i].peer_recall[MAX_EF - 1] < 0.9) {
                fprintf(stderr, "hnsw: --verify: recall at ef 256 too low for %s (mnemo %.4f, "
                                "hnswlib %.4f): the ground truth or the search is wrong\n",
                        runs[i].name, runs[i].recall[MAX_EF - 1],
                        runs[i].peer_recall[MAX_EF - 1]);
                return 1;
            }
        if (bad) {
            fprintf(stderr, "hnsw: --verify: a data set could not be made\n");
            return 1;
        }
    }
    return 0;
}

/* test_hnsw.c - the HNSW graph against brute force: recall@10 after inserts, after deleting
 * a fifth of the rows and after putting them back; determinism by seed; filters; empty and
 * one-row graphs; changed vectors; allocation failures leave the graph unchanged. */
#include <pthread.h>
#include <time.h>

#include "../../src/index/index.h"
#include "t.h"

static uint64_t rng;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float rndf(void) /* [-1, 1) */
{
    return (float)((double)rnd() / 4294967296.0 * 2.0 - 1.0);
}

enum { D = 100, N_CLUSTERS = 50 };
#define NOISE 1.5f /* per coordinate, around centres in [-1, 1): clusters overlap */

/* n points around N_CLUSTERS random centres (the shape of real embeddings: clumped). */
static void clustered(float *out, size_t n, uint64_t seed)
{
    float *c = mn__malloc(N_CLUSTERS * D * sizeof *c);
    size_t i, j;
    ASSERT(c);
    rng = seed;
    for (i = 0; i < N_CLUSTERS * D; i++)
        c[i] = rndf();
    for (i = 0; i < n; i++) {
        const float *ci = c + (size_t)(rnd() % N_CLUSTERS) * D;
        for (j = 0; j < D; j++)
            out[i * D + j] = ci[j] + NOISE * rndf();
    }
    mn__free(c);
}

static void fill(mn__vecset *vs, const float *v, size_t n)
{
    size_t i;
    mn__vecset_init(vs, D);
    for (i = 0; i < n; i++)
        ASSERT_OK(mn__vecset_add(vs, v + i * D), NULL);
}

static int keep_mask(void *ctx, uint32_t row)
{
    return ((const uint8_t *)ctx)[row] != 0;
}

/* Mean recall@k of the graph (ef) against exact search over rows with mask set. */
static double recall(const mn__hnsw *h, const mn__vecset *vs, const float *qs, size_t n_q,
                     int k, int ef, const uint8_t *mask, int use_filter)
{
    mn__topk exact, got;
    mn__hnsw_scratch s;
    size_t qi, hits = 0, total = 0;
    int i, j;
    ASSERT_OK(mn__topk_init(&exact, k), NULL);
    ASSERT_OK(mn__topk_init(&got, k), NULL);
    mn__hnsw_scratch_init(&s);
    for (qi = 0; qi < n_q; qi++) {
        float q[D];
        memcpy(q, qs + qi * D, sizeof q);
        mn__normalize(q, D);
        mn__topk_reset(&exact);
        for (i = 0; i < (int)vs->n; i++)
            if (!mask || mask[i])
                mn__topk_push(&exact, mn__kernels_scalar()->dot_f32(q, vs->f32 + (size_t)i * D, D),
                              (uint32_t)i);
        ASSERT_OK(mn__hnsw_search(h, vs, q, ef, use_filter ? keep_mask : NULL, (void *)mask,
                                  &s, &got),
                  NULL);
        for (j = 0; j < got.n; j++) /* never a deleted or filtered row */
            ASSERT(!mask || mask[got.idx[j]]);
        for (i = 0; i < exact.n; i++)
            for (j = 0; j < got.n; j++)
                if (got.idx[j] == exact.idx[i]) {
                    hits++;
                    break;
                }
        total += (size_t)exact.n;
    }
    mn__hnsw_scratch_release(&s);
    mn__topk_release(&exact);
    mn__topk_release(&got);
    return total ? (double)hits / (double)total : 1.0;
}

TEST(hnsw_recall_after_insert_delete_reinsert)
{
    enum { N = 5000, NQ = 200 };
    float *v = mn__malloc((size_t)(N + NQ) * D * sizeof *v);
    uint8_t *alive = mn__malloc(N);
    mn__vecset vs;
    mn__hnsw *h;
    double r;
    size_t i, n_del = 0;
    ASSERT(v && alive);
    clustered(v, N + NQ, 42); /* the last NQ points are the queries: same clusters */
    fill(&vs, v, N);
    ASSERT_OK(mn__hnsw_new(NULL, D, &h), NULL);
    for (i = 0; i < N; i++)
        ASSERT_OK(mn__hnsw_insert(h, &vs, (uint32_t)i), NULL);
    ASSERT_EQ(mn__hnsw_count(h), N);
    memset(alive, 1, N);
    r = recall(h, &vs, v + (size_t)N * D, NQ, 10, 64, alive, 0);
    printf("recall@10 ef 64 after %d inserts: %.4f\n", N, r);
    ASSERT(r >= 0.95);

    rng = 7;
    for (i = 0; i < N; i++)
        if (rnd() % 5 == 0) {
            mn__hnsw_delete(h, &vs, (uint32_t)i);
            alive[i] = 0;
            n_del++;
        }
    ASSERT(n_del > N / 6 && n_del < N / 4);
    ASSERT_EQ(mn__hnsw_count(h), N - n_del);
    ASSERT_EQ(mn__hnsw_deleted(h), n_del);
    for (i = 0; i < N; i++)
        ASSERT_EQ(mn__hnsw_contains(h, (uint32_t)i), alive[i]);
    /* deleted rows must never come back as results: recall() checks every result */
    r = recall(h, &vs, v + (size_t)N * D, NQ, 10, 64, alive, 0);
    printf("recall@10 ef 64 after deleting %zu: %.4f\n", n_del, r);
    ASSERT(r >= 0.95);

    for (i = 0; i < N; i++)
        if (!alive[i]) {
            ASSERT_OK(mn__hnsw_insert(h, &vs, (uint32_t)i), NULL);
            alive[i] = 1;
        }
    ASSERT_EQ(mn__hnsw_count(h), N);
    ASSERT_EQ(mn__hnsw_deleted(h), 0);
    r = recall(h, &vs, v + (size_t)N * D, NQ, 10, 64, alive, 0);
    printf("recall@10 ef 64 after re-inserting: %.4f\n", r);
    ASSERT(r >= 0.95);
    /* a wider search finds more: the graph really is approximate and ef matters */
    ASSERT(recall(h, &vs, v + (size_t)N * D, NQ, 10, 256, alive, 0) >= r);

    mn__hnsw_free(h);
    mn__vecset_release(&vs);
    mn__free(alive);
    mn__free(v);
}

static mn__hnsw *build(const mn__vecset *vs, uint64_t seed)
{
    mn__hnsw_opts o;
    mn__hnsw *h;
    size_t i;
    mn__hnsw_opts_init(&o);
    o.seed = seed;
    o.m = 8;
    o.ef_construction = 64;
    ASSERT_OK(mn__hnsw_new(&o, D, &h), NULL);
    for (i = 0; i < vs->n; i++)
        ASSERT_OK(mn__hnsw_insert(h, vs, (uint32_t)i), NULL);
    return h;
}

TEST(hnsw_same_seed_same_graph)
{
    enum { N = 1500 };
    float *v = mn__malloc(N * D * sizeof *v);
    mn__vecset vs;
    mn__hnsw *a, *b, *c;
    mn__topk ta, tb;
    int qi, j;
    ASSERT(v);
    clustered(v, N, 3);
    fill(&vs, v, N);
    a = build(&vs, 1);
    b = build(&vs, 1);
    c = build(&vs, 2);
    ASSERT(mn__hnsw_digest(a) == mn__hnsw_digest(b));
    ASSERT(mn__hnsw_digest(a) != mn__hnsw_digest(c)); /* the seed does reach the levels */
    for (j = 0; j < 300; j++) { /* deletions are deterministic too */
        mn__hnsw_delete(a, &vs, (uint32_t)(j * 5));
        mn__hnsw_delete(b, &vs, (uint32_t)(j * 5));
    }
    ASSERT(mn__hnsw_digest(a) == mn__hnsw_digest(b));
    ASSERT_OK(mn__topk_init(&ta, 10), NULL);
    ASSERT_OK(mn__topk_init(&tb, 10), NULL);
    for (qi = 0; qi < 50; qi++) {
        const float *q = vs.f32 + (size_t)(qi * 29 + 1) * D;
        ASSERT_OK(mn__hnsw_search(a, &vs, q, 16, NULL, NULL, NULL, &ta), NULL);
        ASSERT_OK(mn__hnsw_search(b, &vs, q, 16, NULL, NULL, NULL, &tb), NULL);
        mn__topk_sort(&ta);
        mn__topk_sort(&tb);
        ASSERT_EQ(ta.n, 10);
        ASSERT_EQ(ta.n, tb.n);
        for (j = 0; j < ta.n; j++) {
            ASSERT_EQ(ta.idx[j], tb.idx[j]);
            ASSERT(ta.score[j] == tb.score[j]);
        }
    }
    mn__topk_release(&ta);
    mn__topk_release(&tb);
    mn__hnsw_free(a);
    mn__hnsw_free(b);
    mn__hnsw_free(c);
    mn__vecset_release(&vs);
    mn__free(v);
}

TEST(hnsw_filter_is_honoured)
{
    enum { N = 3000, NQ = 100 };
    float *v = mn__malloc((size_t)(N + NQ) * D * sizeof *v);
    uint8_t *mask = mn__calloc(N, 1);
    mn__vecset vs;
    mn__hnsw *h;
    double r;
    size_t i;
    ASSERT(v && mask);
    clustered(v, N + NQ, 11);
    fill(&vs, v, N);
    h = build(&vs, 5);
    for (i = 0; i < N; i++) /* a third of the rows, scattered over every cluster */
        mask[i] = i % 3 == 0;
    r = recall(h, &vs, v + (size_t)N * D, NQ, 10, 64, mask, 1);
    printf("recall@10 ef 64 with a filter keeping 1/3: %.4f\n", r);
    ASSERT(r >= 0.9);
    /* a filter that keeps 5 rows: exactly those, even far from the query */
    memset(mask, 0, N);
    for (i = 0; i < 5; i++)
        mask[i * 599] = 1;
    ASSERT(recall(h, &vs, v + (size_t)N * D, 3, 10, 16, mask, 1) == 1.0);
    mn__hnsw_free(h);
    mn__vecset_release(&vs);
    mn__free(mask);
    mn__free(v);
}

TEST(hnsw_empty_one_and_zero_rows)
{
    mn__vecset vs;
    mn__hnsw *h;
    mn__topk t;
    float a[D], q[D];
    int i;
    for (i = 0; i < D; i++) {
        a[i] = (float)(i % 7) - 3.0f;
        q[i] = a[i] + 0.1f;
    }
    mn__vecset_init(&vs, D);
    ASSERT_OK(mn__topk_init(&t, 5), NULL);
    ASSERT_OK(mn__hnsw_new(NULL, D, &h), NULL);
    ASSERT_OK(mn__hnsw_search(h, &vs, q, 10, NULL, NULL, NULL, &t), NULL);
    ASSERT_EQ(t.n, 0);
    ASSERT_OK(mn__vecset_add(&vs, NULL), NULL); /* row 0: no vector */
    ASSERT_OK(mn__vecset_add(&vs, a), NULL);    /* row 1 */
    ASSERT_OK(mn__hnsw_insert(h, &vs, 0), NULL);
    ASSERT(!mn__hnsw_contains(h, 0));
    ASSERT_EQ(mn__hnsw_count(h), 0);
    ASSERT_EQ(mn__hnsw_insert(h, &vs, 2), MN_EINVAL); /* past the set */
    ASSERT_OK(mn__hnsw_insert(h, &vs, 1), NULL);
    ASSERT_OK(mn__hnsw_search(h, &vs, q, 10, NULL, NULL, NULL, &t), NULL);
    ASSERT_EQ(t.n, 1);
    ASSERT_EQ(t.idx[0], 1);
    ASSERT(t.score[0] > 0.99f);
    mn__hnsw_delete(h, &vs, 1);
    mn__hnsw_delete(h, &vs, 1); /* twice is harmless */
    ASSERT_OK(mn__hnsw_search(h, &vs, q, 10, NULL, NULL, NULL, &t), NULL);
    ASSERT_EQ(t.n, 0);
    ASSERT_OK(mn__hnsw_insert(h, &vs, 1), NULL);
    ASSERT_OK(mn__hnsw_search(h, &vs, q, 10, NULL, NULL, NULL, &t), NULL);
    ASSERT_EQ(t.n, 1);
    {
        /* every row deleted, then a new one: it must be reachable (the tombstones are
         * dropped instead of standing between the entry point and it) */
        float b[D], c[D];
        for (i = 0; i < D; i++) {
            b[i] = (float)(i % 5) - 2.0f;
            c[i] = (float)(i % 11) - 5.0f;
        }
        ASSERT_OK(mn__vecset_add(&vs, b), NULL); /* row 2 */
        ASSERT_OK(mn__vecset_add(&vs, c), NULL); /* row 3 */
        ASSERT_OK(mn__hnsw_insert(h, &vs, 2), NULL);
        mn__hnsw_delete(h, &vs, 1);
        mn__hnsw_delete(h, &vs, 2);
        ASSERT_EQ(mn__hnsw_deleted(h), 2);
        ASSERT_OK(mn__hnsw_insert(h, &vs, 3), NULL);
        ASSERT_EQ(mn__hnsw_count(h), 1);
        ASSERT_EQ(mn__hnsw_deleted(h), 0);
        ASSERT_OK(mn__hnsw_search(h, &vs, c, 10, NULL, NULL, NULL, &t), NULL);
        ASSERT_EQ(t.n, 1);
        ASSERT_EQ(t.idx[0], 3);
        ASSERT_OK(mn__hnsw_insert(h, &vs, 1), NULL); /* back, linked to row 3 */
        ASSERT_OK(mn__hnsw_search(h, &vs, q, 10, NULL, NULL, NULL, &t), NULL);
        ASSERT_EQ(t.n, 2);
    }
    {
        mn__vecset other;
        mn__vecset_init(&other, D + 1);
        ASSERT_EQ(mn__hnsw_insert(h, &other, 0), MN_EINVAL);
        ASSERT_EQ(mn__hnsw_search(h, &other, q, 10, NULL, NULL, NULL, &t), MN_EINVAL);
    }
    {
        mn__hnsw_opts o;
        mn__hnsw *bad = NULL;
        mn__hnsw_opts_init(&o);
        o.m = 1;
        ASSERT_EQ(mn__hnsw_new(&o, D, &bad), MN_EINVAL);
        ASSERT_EQ(mn__hnsw_new(NULL, 0, &bad), MN_EINVAL);
        ASSERT(bad == NULL);
    }
    mn__hnsw_free(h);
    mn__topk_release(&t);
    mn__vecset_release(&vs);
}

TEST(hnsw_changed_vector_is_relinked)
{
    enum { N = 800 };
    float *v = mn__malloc(N * D * sizeof *v), target[D];
    mn__vecset vs;
    mn__hnsw *h;
    mn__topk t;
    int i;
    ASSERT(v);
    clustered(v, N, 21);
    fill(&vs, v, N);
    h = build(&vs, 9);
    for (i = 0; i < D; i++) /* far from every cluster */
        target[i] = i % 2 ? 3.0f : -3.0f;
    mn__vecset_set(&vs, 17, target);
    ASSERT_OK(mn__hnsw_insert(h, &vs, 17), NULL);
    ASSERT_EQ(mn__hnsw_count(h), N);
    ASSERT_OK(mn__topk_init(&t, 1), NULL);
    ASSERT_OK(mn__hnsw_search(h, &vs, vs.f32 + 17 * D, 32, NULL, NULL, NULL, &t), NULL);
    ASSERT_EQ(t.n, 1);
    ASSERT_EQ(t.idx[0], 17);
    mn__topk_release(&t);
    mn__hnsw_free(h);
    mn__vecset_release(&vs);
    mn__free(v);
}

/* Every allocation of an insert, a delete-then-reinsert and a search fails in turn: each
 * call returns MN_ENOMEM with the graph unchanged (same digest), or succeeds. */
TEST(hnsw_allocation_failures_leave_graph_unchanged)
{
    enum { N = 300 };
    float *v = mn__malloc(N * D * sizeof *v);
    mn__vecset vs;
    mn__hnsw_opts o;
    mn__hnsw *h;
    mn__topk t;
    int i, fail, n_fail = 0;
    ASSERT(v);
    clustered(v, N, 33);
    fill(&vs, v, N);
    mn__hnsw_opts_init(&o);
    o.m = 4;
    o.ef_construction = 32;
    ASSERT_OK(mn__topk_init(&t, 10), NULL);
    ASSERT_OK(mn__hnsw_new(&o, D, &h), NULL);
    for (i = 0; i < N; i++) {
        for (fail = 1;; fail++) {
            uint64_t before = mn__hnsw_digest(h);
            int rc;
            mn__alloc_fail_after(fail);
            rc = mn__hnsw_insert(h, &vs, (uint32_t)i);
            mn__alloc_fail_after(0);
            if (rc == MN_OK)
                break;
            ASSERT_EQ(rc, MN_ENOMEM);
            ASSERT(mn__hnsw_digest(h) == before);
            ASSERT(!mn__hnsw_contains(h, (uint32_t)i));
            n_fail++;
        }
        if (i % 50 == 49) {
            for (fail = 1;; fail++) {
                int rc;
                mn__alloc_fail_after(fail);
                rc = mn__hnsw_search(h, &vs, vs.f32 + (size_t)i * D, 20, NULL, NULL, NULL, &t);
                mn__alloc_fail_after(0);
                if (rc == MN_OK)
                    break;
                ASSERT_EQ(rc, MN_ENOMEM);
            }
            ASSERT_EQ(t.n, 10);
        }
    }
    ASSERT(n_fail >= N); /* every insert allocates: the walk reached them all */
    ASSERT_EQ(mn__hnsw_count(h), N);
    mn__hnsw_free(h);
    mn__topk_release(&t);
    mn__vecset_release(&vs);
    mn__free(v);
}

/* ---- the engine: a partition above the threshold searches through its graph ------------- */

#include "../../src/memory/memory_int.h"

static const char *const vocab[] = {
    "river", "garden", "piano", "coffee", "mountain", "train", "letter", "winter", "market",
    "dog", "cat", "violin", "bread", "harbor", "cloud", "lantern", "forest", "bridge",
    "camera", "ticket", "island", "soup", "candle", "pencil", "castle", "tomato", "engine",
    "meadow", "rocket", "blanket", "whistle", "orchard", "saddle", "glacier", "paddle",
    "walnut", "pepper", "canyon", "ribbon", "puzzle", "marble", "falcon", "cabin", "lemon",
    "anchor", "thunder", "velvet", "compass", "beacon", "quartz", "tulip", "mango", "kettle",
    "ladder", "magnet", "nectar", "oyster", "parrot", "quilt", "raven", "salmon", "timber"};

static void memory_text(size_t i, char *out, size_t cap)
{
    size_t n = MN_ARRAY_LEN(vocab), a = (i * 7) % n, b = (i * 13 + 5) % n,
           c = (i * 29 + 11) % n, d = (i / 7 + 3) % n;
    snprintf(out, cap, "%s %s %s %s %s", vocab[a], vocab[b], vocab[c], vocab[d],
             vocab[(i / 3 + 17) % n]);
}

/* Positional score recall: rank j of the graph's answer is as good as rank j of the exact
 * answer (ties between equal vectors make row-level comparison meaningless). */
static double engine_recall(mn_db *db, mn__part *p, size_t n_mem, const mn_id *dead,
                            size_t n_dead)
{
    mn__topk ex;
    double got = 0;
    size_t qi, i, total = 0;
    float qv[64];
    ASSERT_OK(mn__topk_init(&ex, 10), NULL);
    for (qi = 0; qi < 40; qi++) {
        char q[256];
        mn_search_opts so;
        mn_results *r = NULL;
        mn_err err;
        float *s;
        memory_text(qi * 31 + 7, q, sizeof q);
        ASSERT_OK(mn_embed(db, q, strlen(q), qv, 64, &err), &err);
        mn_search_opts_init(&so);
        so.filter.user_id = "big";
        so.query = q;
        so.mode = MN_MODE_VECTOR;
        ASSERT_OK(mn_search(db, &so, &r, &err), &err);
        for (i = 0; i < r->n; i++) { /* deleted memories never come back */
            size_t j;
            for (j = 0; j < n_dead; j++)
                ASSERT(r->hits[i].mem.id != dead[j]);
        }
        pthread_rwlock_rdlock(&p->lock);
        s = mn__malloc(p->n * sizeof *s);
        ASSERT(s);
        mn__normalize(qv, 64);
        mn__vecset_score_all(&p->vecs, qv, p->alive, s);
        mn__topk_reset(&ex);
        for (i = 0; i < p->n; i++)
            if (p->alive[i] && p->vecs.scale[i] > 0)
                mn__topk_push(&ex, s[i], (uint32_t)i);
        pthread_rwlock_unlock(&p->lock);
        mn__free(s);
        mn__topk_sort(&ex);
        ASSERT_EQ(r->n, ex.n);
        for (i = 0; i < (size_t)ex.n; i++)
            got += r->hits[i].score_vector >= ex.score[i] - 1e-4 ? 1 : 0;
        total += (size_t)ex.n;
        mn_results_free(r);
    }
    (void)n_mem;
    mn__topk_release(&ex);
    return got / (double)total;
}

static void add_range(mn_db *db, size_t from, size_t to, mn_id *ids)
{
    mn_memory_in m[100];
    char text[100][128];
    mn_err err;
    size_t i, b;
    for (b = from; b < to; b += 100) {
        size_t n = MN_MIN((size_t)100, to - b);
        for (i = 0; i < n; i++) {
            mn_memory_in_init(&m[i]);
            m[i].user_id = "big";
            m[i].role = MN_ROLE_USER;
            memory_text(b + i, text[i], sizeof text[i]);
            m[i].text = text[i];
        }
        ASSERT_OK(mn_memory_add_batch(db, m, n, ids + b, &err), &err);
    }
}

TEST(hnsw_engine_big_partition_uses_graph)
{
    enum { N = 1500, MORE = 60 };
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    mn__pkey k;
    mn__part *p;
    mn_id *ids = mn__calloc(N + MORE, sizeof *ids), dead[300];
    char path[512], q[128];
    size_t i, rounds, n_dead = 0;
    int64_t n_graph;
    double r;
    ASSERT(ids);
    setenv("MNEMO_HNSW_MIN_ROWS", "500", 1); /* read once per process: tests fork */
    ASSERT_EQ(mn__hnsw_min_rows(), 500);
    snprintf(path, sizeof path, "%s/big.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "mock";
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    add_range(db, 0, N, ids);
    ASSERT_OK(mn__pkey_make(NULL, MN_SCOPE_USER, "big", &k, NULL), NULL);

    /* the first search hands the graph to the builder thread; results are exact meanwhile */
    for (rounds = 0; rounds < 1000; rounds++) {
        struct timespec nap = {0, 10000000L};
        mn_search_opts so;
        mn_results *res = NULL;
        bool done;
        memory_text(rounds, q, sizeof q);
        mn_search_opts_init(&so);
        so.filter.user_id = "big";
        so.query = q;
        ASSERT_OK(mn_search(db, &so, &res, &err), &err);
        ASSERT(res->n == 10);
        mn_results_free(res);
        p = mn__part_peek(db, &k);
        ASSERT(p);
        pthread_rwlock_rdlock(&p->lock);
        /* the builder, once handed the partition, indexes every row before it lets go */
        done = p->hnsw && p->hnsw_upto == p->n && !atomic_load(&p->hnsw_syncing);
        pthread_rwlock_unlock(&p->lock);
        mn__part_release(db, p);
        if (done)
            break;
        nanosleep(&nap, NULL); /* the builder thread works meanwhile */
    }
    ASSERT(rounds < 1000);
    p = mn__part_peek(db, &k);
    ASSERT_EQ(mn__hnsw_count(p->hnsw), N);
    n_graph = mn__part_hnsw_searches();
    r = engine_recall(db, p, N, NULL, 0);
    ASSERT_EQ(mn__part_hnsw_searches() - n_graph, 40); /* every query went through it */
    printf("engine recall (vector mode, graph) after %d adds: %.4f\n", N, r);
    ASSERT(r >= 0.95);

    /* hybrid search through the graph ranks like the exact scan: same top 10 mostly */
    {
        size_t same = 0, total = 0, qi;
        for (qi = 0; qi < 30; qi++) {
            mn_search_opts so;
            mn_results *rg = NULL, *rx = NULL;
            size_t a, b;
            /* one word of the memories and two others: the keyword hits are not all among
             * the vector candidates, and their blend needs their exact cosine */
            snprintf(q, sizeof q, "%s zq%zux qz%zuy", vocab[qi % MN_ARRAY_LEN(vocab)], qi,
                     qi * 7);
            mn_search_opts_init(&so);
            so.filter.user_id = "big";
            so.query = q;
            n_graph = mn__part_hnsw_searches();
            ASSERT_OK(mn_search(db, &so, &rg, &err), &err);
            ASSERT_EQ(mn__part_hnsw_searches(), n_graph + 1);
            mn__hnsw_set_min_rows(1000000); /* the exact path */
            ASSERT_OK(mn_search(db, &so, &rx, &err), &err);
            ASSERT_EQ(mn__part_hnsw_searches(), n_graph + 1);
            mn__hnsw_set_min_rows(500);
            for (a = 0; a < rx->n; a++)
                for (b = 0; b < rg->n; b++)
                    if (rx->hits[a].mem.id == rg->hits[b].mem.id) {
                        same++;
                        break;
                    }
            total += rx->n;
            mn_results_free(rg);
            mn_results_free(rx);
        }
        printf("hybrid top-10 shared by graph and exact scan: %.3f\n",
               (double)same / (double)total);
        ASSERT((double)same / (double)total >= 0.98);
    }
    /* deletes: hidden at once by the row mask, tombstoned in the graph by a later search */
    for (i = 0; i < 300; i++) {
        ASSERT_OK(mn_memory_delete(db, NULL, "big", ids[i * 5], &err), &err);
        dead[n_dead++] = ids[i * 5];
    }
    r = engine_recall(db, p, N, dead, n_dead);
    ASSERT(r >= 0.95);
    ASSERT(mn__hnsw_deleted(p->hnsw) > 0);
    /* new rows: scored exactly until the graph catches up */
    add_range(db, N, N + MORE, ids);
    r = engine_recall(db, p, N, dead, n_dead);
    printf("engine recall after deleting 300 and adding %d: %.4f\n", MORE, r);
    ASSERT(r >= 0.95);
    {
        mn_search_opts so;
        mn_results *res = NULL;
        memory_text(N + 3, q, sizeof q);
        mn_search_opts_init(&so);
        so.filter.user_id = "big";
        so.query = q;
        so.mode = MN_MODE_VECTOR;
        ASSERT_OK(mn_search(db, &so, &res, &err), &err);
        ASSERT(res->n > 0 && res->hits[0].score_vector > 0.999);
        mn_results_free(res);
    }
    mn__part_release(db, p);
    mn_db_close(db);
    mn__free(ids);
}

typedef struct searcher {
    mn_db *db;
    int id, n_ok;
} searcher;

static void *search_loop(void *arg)
{
    searcher *s = arg;
    int i;
    for (i = 0; i < 60; i++) {
        char q[128];
        mn_search_opts so;
        mn_results *r = NULL;
        memory_text((size_t)(s->id * 1000 + i), q, sizeof q);
        mn_search_opts_init(&so);
        so.filter.user_id = "big";
        so.query = q;
        so.mode = i % 2 ? MN_MODE_VECTOR : MN_MODE_HYBRID;
        if (mn_search(s->db, &so, &r, NULL) == MN_OK && r->n > 0)
            s->n_ok++;
        mn_results_free(r);
    }
    return NULL;
}

/* Searches (which build and catch up the graph) run while memories are added and deleted:
 * the locking is checked by the ThreadSanitizer build of this test. */
TEST(hnsw_engine_concurrent_search_and_writes)
{
    enum { N = 800, THREADS = 3 };
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    mn_id *ids = mn__calloc(N + 400, sizeof *ids);
    pthread_t th[THREADS];
    searcher s[THREADS];
    char path[512];
    int i;
    ASSERT(ids);
    setenv("MNEMO_HNSW_MIN_ROWS", "300", 1);
    snprintf(path, sizeof path, "%s/conc.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "mock";
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    add_range(db, 0, N, ids);
    for (i = 0; i < THREADS; i++) {
        s[i].db = db;
        s[i].id = i;
        s[i].n_ok = 0;
        ASSERT_EQ(pthread_create(&th[i], NULL, search_loop, &s[i]), 0);
    }
    add_range(db, N, N + 400, ids);
    for (i = 0; i < 100; i++)
        ASSERT_OK(mn_memory_delete(db, NULL, "big", ids[i * 3], &err), &err);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(s[i].n_ok, 60);
    }
    /* the builder caught up meanwhile or does so now: searches then go through the graph */
    for (i = 0; i < 500 && mn__part_hnsw_searches() == 0; i++) {
        struct timespec nap = {0, 10000000L};
        s[0].n_ok = 0;
        search_loop(&s[0]);
        nanosleep(&nap, NULL);
    }
    ASSERT(mn__part_hnsw_searches() > 0);
    /* more rows, one search that queues them for the builder, and closing right away: the
     * builder is stopped before the partitions go, and its reference is dropped */
    ids = mn__realloc(ids, (N + 1000) * sizeof *ids);
    ASSERT(ids);
    add_range(db, N + 400, N + 1000, ids);
    s[0].n_ok = 0;
    search_loop(&s[0]);
    mn_db_close(db);
    mn__free(ids);
}

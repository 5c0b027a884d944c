/* test_hnsw.c - the HNSW graph against brute force: recall@10 after inserts, after deleting
 * a fifth of the rows and after putting them back; determinism by seed; filters; empty and
 * one-row graphs; changed vectors; allocation failures leave the graph unchanged. */
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

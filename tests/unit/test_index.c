/* test_index.c - top-k against a sorted reference, the vector set (int8 scan + re-rank
 * recall against exact float search, masks, zero rows), BM25 on a hand-checked example
 * and under allocation failures, and both fusion methods. */
#include "../../src/index/index.h"
#include "t.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

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

/* ---- top-k ---------------------------------------------------------------------------- */

typedef struct pair {
    float s;
    uint32_t i;
} pair;

static int best_first(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

TEST(topk_matches_sorted_reference)
{
    enum { N = 3000 };
    static const int ks[] = {1, 2, 5, 10, 100, 2999, 3000, 5000};
    pair *ref = mn__malloc(N * sizeof *ref);
    size_t ki;
    int i;
    ASSERT(ref);
    for (i = 0; i < N; i++) {
        ref[i].s = (float)(rnd() % 50); /* many ties: order must fall back to the index */
        ref[i].i = (uint32_t)((i * 7919) % N);
    }
    for (ki = 0; ki < MN_ARRAY_LEN(ks); ki++) {
        mn__topk t;
        pair *sorted = mn__malloc(N * sizeof *sorted);
        int want = ks[ki] < N ? ks[ki] : N;
        ASSERT_OK(mn__topk_init(&t, ks[ki]), NULL);
        for (i = 0; i < N; i++)
            mn__topk_push(&t, ref[i].s, ref[i].i);
        mn__topk_sort(&t);
        memcpy(sorted, ref, N * sizeof *ref);
        qsort(sorted, N, sizeof *sorted, best_first);
        ASSERT_EQ(t.n, want);
        for (i = 0; i < want; i++) {
            ASSERT_EQ(t.idx[i], sorted[i].i);
            ASSERT_EQ(t.score[i], sorted[i].s);
        }
        mn__topk_reset(&t);
        ASSERT_EQ(t.n, 0);
        mn__topk_release(&t);
        mn__free(sorted);
    }
    mn__free(ref);
}

TEST(topk_edge_cases)
{
    mn__topk t;
    ASSERT_EQ(mn__topk_init(&t, -1), MN_EINVAL);
    ASSERT_OK(mn__topk_init(&t, 0), NULL);
    mn__topk_push(&t, 1.0f, 1);
    ASSERT_EQ(t.n, 0);
    mn__topk_release(&t);
    ASSERT_OK(mn__topk_init(&t, 3), NULL);
    mn__topk_push(&t, NAN, 9);
    mn__topk_push(&t, -INFINITY, 4);
    mn__topk_push(&t, 0.5f, 2);
    mn__topk_push(&t, 0.5f, 1);
    mn__topk_push(&t, 0.5f, 3); /* tie with a larger index than the kept ones: dropped */
    mn__topk_sort(&t);
    ASSERT_EQ(t.n, 3);
    ASSERT_EQ(t.idx[0], 1);
    ASSERT_EQ(t.idx[1], 2);
    ASSERT_EQ(t.idx[2], 3);
    mn__topk_release(&t);
    ASSERT_EQ(mn__alloc_live_bytes(), 0);
}

/* ---- vector set ----------------------------------------------------------------------- */

TEST(vecset_add_normalises_and_scores)
{
    mn__vecset v;
    float a[4] = {3, 0, 4, 0}, b[4] = {0, 2, 0, 0}, q[4] = {0.6f, 0, 0.8f, 0}, out[3];
    uint8_t mask[3] = {1, 0, 1};
    size_t b0;
    mn__vecset_init(&v, 4);
    b0 = mn__vecset_bytes(&v);
    ASSERT_OK(mn__vecset_add(&v, a), NULL);
    ASSERT_OK(mn__vecset_add(&v, b), NULL);
    ASSERT_OK(mn__vecset_add(&v, NULL), NULL);
    ASSERT_EQ(v.n, 3);
    ASSERT(mn__vecset_bytes(&v) > b0);
    ASSERT_NEAR(v.f32[0], 0.6, 1e-6);
    ASSERT_NEAR(v.f32[5], 1.0, 1e-6);
    ASSERT_EQ(v.scale[2], 0);
    mn__vecset_score_all(&v, q, NULL, out);
    ASSERT_NEAR(out[0], 1.0, 1e-5);
    ASSERT_NEAR(out[1], 0.0, 1e-6);
    ASSERT_NEAR(out[2], 0.0, 1e-6);
    mn__vecset_score_all(&v, q, mask, out);
    ASSERT_NEAR(out[0], 1.0, 1e-5);
    ASSERT_EQ(out[1], -2);
    ASSERT_NEAR(out[2], 0.0, 1e-6);
    /* set() replaces a row, NULL clears it */
    mn__vecset_set(&v, 1, a);
    ASSERT_NEAR(v.f32[4], 0.6, 1e-6);
    mn__vecset_set(&v, 0, NULL);
    ASSERT_EQ(v.f32[0], 0);
    mn__vecset_release(&v);
    mn__vecset_init(&v, 0);
    ASSERT_EQ(mn__vecset_add(&v, a), MN_EINVAL);
    mn__vecset_release(&v);
}

/* Brute-force float top-k over rows passing mask, for reference. */
static void exact(const mn__vecset *v, const float *q, const uint8_t *mask, mn__topk *t)
{
    size_t i;
    mn__topk_reset(t);
    for (i = 0; i < v->n; i++)
        if ((!mask || mask[i]) && v->scale[i] > 0)
            mn__topk_push(t, mn__kernels_scalar()->dot_f32(q, v->f32 + i * v->dim,
                                                           (size_t)v->dim),
                          (uint32_t)i);
    mn__topk_sort(t);
}

static int contains(const mn__topk *t, uint32_t idx)
{
    int i;
    for (i = 0; i < t->n; i++)
        if (t->idx[i] == idx)
            return 1;
    return 0;
}

/* Clustered data is the hard case for int8: many near-ties around each query. */
static void fill_clustered(mn__vecset *v, size_t n, int dim, int n_centers)
{
    float *c = mn__malloc(sizeof(float) * (size_t)(n_centers * dim)), *row;
    size_t i;
    int j;
    ASSERT(c);
    row = mn__malloc(sizeof(float) * (size_t)dim);
    for (i = 0; i < (size_t)(n_centers * dim); i++)
        c[i] = rndf();
    for (i = 0; i < n; i++) {
        const float *ci = c + (size_t)(rnd() % (uint32_t)n_centers) * (size_t)dim;
        for (j = 0; j < dim; j++)
            row[j] = ci[j] + 0.35f * rndf();
        ASSERT_OK(mn__vecset_add(v, row), NULL);
    }
    mn__free(row);
    mn__free(c);
}

static void make_query(const mn__vecset *v, float *q)
{
    size_t base = (size_t)(rnd() % (uint32_t)v->n) * (size_t)v->dim;
    int j;
    for (j = 0; j < v->dim; j++)
        q[j] = v->f32[base + (size_t)j] + 0.2f * rndf();
    mn__normalize(q, (size_t)v->dim);
}

TEST(vecset_int8_rerank_recall)
{
    enum { N = 20000, DIM = 100, K = 10, QUERIES = 60 };
    mn__vecset v;
    mn__topk got, want;
    float q[DIM];
    uint8_t *mask = mn__malloc(N);
    int qi, i, hits = 0, total = 0, mhits = 0, mtotal = 0;
    ASSERT(mask);
    mn__vecset_init(&v, DIM);
    fill_clustered(&v, N, DIM, 200);
    for (i = 0; i < N; i++)
        mask[i] = (i % 3) != 0;
    ASSERT_OK(mn__topk_init(&got, K), NULL);
    ASSERT_OK(mn__topk_init(&want, K), NULL);
    for (qi = 0; qi < QUERIES; qi++) {
        make_query(&v, q);
        exact(&v, q, NULL, &want);
        ASSERT_OK(mn__vecset_topk(&v, q, NULL, &got), NULL);
        ASSERT_EQ(got.n, K);
        mn__topk_sort(&got);
        /* re-ranked scores are exact float cosines */
        ASSERT_NEAR(got.score[0],
                    mn__kernels_scalar()->dot_f32(q, v.f32 + (size_t)got.idx[0] * DIM, DIM),
                    1e-5);
        for (i = 0; i < K; i++)
            hits += contains(&got, want.idx[i]);
        total += K;
        exact(&v, q, mask, &want);
        ASSERT_OK(mn__vecset_topk(&v, q, mask, &got), NULL);
        for (i = 0; i < got.n; i++)
            ASSERT(mask[got.idx[i]]);
        for (i = 0; i < K; i++)
            mhits += contains(&got, want.idx[i]);
        mtotal += K;
    }
    fprintf(stderr, "    recall@10 %.4f, masked %.4f\n", (double)hits / total,
            (double)mhits / mtotal);
    ASSERT(hits >= total * 99 / 100);
    ASSERT(mhits >= mtotal * 99 / 100);
    mn__topk_release(&got);
    mn__topk_release(&want);
    mn__vecset_release(&v);
    mn__free(mask);
}

TEST(vecset_small_and_sparse_sets_are_exact)
{
    enum { DIM = 37 };
    static const size_t sizes[] = {1, 5, 255, 256, 1000};
    mn__vecset v;
    mn__topk got, want;
    float q[DIM];
    uint8_t mask[1001]; /* the largest set plus its empty row */
    size_t si;
    int i, qi;
    ASSERT_OK(mn__topk_init(&got, 8), NULL);
    ASSERT_OK(mn__topk_init(&want, 8), NULL);
    for (si = 0; si < MN_ARRAY_LEN(sizes); si++) {
        mn__vecset_init(&v, DIM);
        fill_clustered(&v, sizes[si], DIM, 4);
        ASSERT_OK(mn__vecset_add(&v, NULL), NULL); /* a row without a vector: never a hit */
        for (i = 0; i < 1001; i++)
            mask[i] = (i % 50) == 0; /* sparse: 21 of 1001 rows, the empty row included */
        for (qi = 0; qi < 10; qi++) {
            make_query(&v, q);
            ASSERT_OK(mn__vecset_topk(&v, q, sizes[si] == 1000 ? mask : NULL, &got), NULL);
            exact(&v, q, sizes[si] == 1000 ? mask : NULL, &want);
            mn__topk_sort(&got);
            ASSERT_EQ(got.n, want.n);
            for (i = 0; i < got.n; i++) {
                ASSERT_EQ(got.idx[i], want.idx[i]);
                ASSERT(got.idx[i] != v.n - 1);
            }
        }
        memset(q, 0, sizeof q);
        ASSERT_OK(mn__vecset_topk(&v, q, NULL, &got), NULL);
        ASSERT_EQ(got.n, 0);
        mn__vecset_release(&v);
    }
    mn__topk_release(&got);
    mn__topk_release(&want);
}

TEST(vecset_add_out_of_memory_keeps_set)
{
    mn__vecset v;
    float row[16];
    int i, failed = 0;
    size_t n;
    for (i = 0; i < 16; i++)
        row[i] = (float)i;
    mn__vecset_init(&v, 16);
    for (i = 0; i < 64; i++)
        ASSERT_OK(mn__vecset_add(&v, row), NULL);
    n = v.n;
    for (i = 1; i <= 3; i++) { /* the 65th row needs all three arrays to grow */
        int rc;
        mn__alloc_fail_after(i);
        rc = mn__vecset_add(&v, row);
        mn__alloc_fail_after(0);
        if (rc == MN_OK) {
            n++;
            continue;
        }
        failed++;
        ASSERT_EQ(rc, MN_ENOMEM);
        ASSERT_EQ(v.n, n);
    }
    ASSERT(failed >= 1);
    ASSERT_OK(mn__vecset_add(&v, row), NULL);
    ASSERT_NEAR(v.f32[(v.n - 1) * 16 + 15], v.f32[15], 1e-7);
    mn__vecset_release(&v);
}

/* ---- BM25 ----------------------------------------------------------------------------- */

static void terms_of(const char *s, mn__term *out, size_t *n)
{
    /* space-separated words of s, borrowed */
    *n = 0;
    while (*s) {
        const char *e = strchr(s, ' ');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        out[*n].s = s;
        out[*n].len = (uint32_t)len;
        (*n)++;
        s += len;
        while (*s == ' ')
            s++;
    }
}

static void add_doc(mn__bm25 *bm, uint32_t doc, const char *text)
{
    mn__term t[32];
    size_t n;
    terms_of(text, t, &n);
    ASSERT_OK(mn__bm25_add(bm, doc, t, n), NULL);
}

static size_t query(const mn__bm25 *bm, const char *text, float *out)
{
    mn__term t[32];
    size_t n;
    terms_of(text, t, &n);
    return mn__bm25_score_all(bm, t, n, out);
}

/*
 * k1 = 1.2, b = 0.75. Docs: d0 "cat sat mat", d1 "dog sat log", d2 "cat cat dog", d3 "bird".
 * N = 4, avgdl = 10/4 = 2.5. For dl = 3: K = 1.2 * (0.25 + 0.75 * 3/2.5) = 1.38.
 *   "cat": df 2, idf = ln(1 + 2.5/2.5) = ln 2 = 0.693147
 *     d0 (tf 1): 0.693147 * 2.2 / (1 + 1.38) = 0.640724
 *     d2 (tf 2): 0.693147 * 4.4 / (2 + 1.38) = 0.902322
 *   "cat dog": d2 = 0.902322 + 0.640724 = 1.543046; d0 = d1 = 0.640724 (tie: d0 first)
 *   "bird": df 1, idf = ln(1 + 3.5/1.5) = 1.203973; dl 1: K = 1.2 * (0.25 + 0.3) = 0.66
 *     d3: 1.203973 * 2.2 / 1.66 = 1.595627
 * After removing d2: N = 3, avgdl = 7/3, "cat": df 1, idf = ln(1 + 2.5/1.5) = 0.980829,
 *   K = 1.2 * (0.25 + 0.75 * 3/(7/3)) = 1.457143, d0 = 0.980829 * 2.2 / 2.457143 = 0.878184
 */
TEST(bm25_hand_checked_scores)
{
    mn__bm25 *bm;
    float s[4];
    ASSERT_OK(mn__bm25_new(1.2f, 0.75f, 1.0f, &bm), NULL);
    add_doc(bm, 0, "cat sat mat");
    add_doc(bm, 1, "dog sat log");
    add_doc(bm, 2, "cat cat dog");
    add_doc(bm, 3, "bird");
    ASSERT_EQ(mn__bm25_ndocs(bm), 4);
    ASSERT_EQ(mn__bm25_nlive(bm), 4);
    ASSERT_EQ(mn__bm25_df(bm, "cat", 3), 2);
    ASSERT_EQ(mn__bm25_df(bm, "sat", 3), 2);
    ASSERT_EQ(mn__bm25_df(bm, "zebra", 5), 0);

    ASSERT_EQ(query(bm, "cat", s), 2);
    ASSERT_NEAR(s[0], 0.640724, 1e-5);
    ASSERT_NEAR(s[2], 0.902322, 1e-5);
    ASSERT_EQ(s[1], 0);
    ASSERT_EQ(s[3], 0);
    ASSERT(s[2] > s[0]);

    ASSERT_EQ(query(bm, "cat dog", s), 3);
    ASSERT_NEAR(s[2], 1.543046, 1e-5);
    ASSERT_NEAR(s[0], 0.640724, 1e-5);
    ASSERT_NEAR(s[1], 0.640724, 1e-5);

    ASSERT_EQ(query(bm, "cat cat cat", s), 2); /* repeated query terms count once */
    ASSERT_NEAR(s[2], 0.902322, 1e-5);

    ASSERT_EQ(query(bm, "bird zebra", s), 1);
    ASSERT_NEAR(s[3], 1.595627, 1e-5);
    ASSERT_EQ(query(bm, "zebra", s), 0);

    mn__bm25_remove(bm, 2);
    mn__bm25_remove(bm, 2); /* twice is a no-op */
    mn__bm25_remove(bm, 99);
    ASSERT_EQ(mn__bm25_nlive(bm), 3);
    ASSERT_EQ(mn__bm25_ndocs(bm), 4);
    ASSERT_EQ(mn__bm25_df(bm, "cat", 3), 1);
    ASSERT_EQ(query(bm, "cat", s), 1);
    ASSERT_EQ(s[2], 0);
    ASSERT_NEAR(s[0], 0.878184, 1e-5);
    mn__bm25_free(bm);
}

/* Ten documents of three terms each (equal lengths, so only idf differs): "guitar" is in one,
 * "tips", "new" and "look" in five. Classic idf: 3 x ln 2 = 2.08 for a document with the
 * three common words against ln(1 + 9.5/1.5) = 1.99 for the rare word; squared idf: 1.44
 * against 3.97. */
TEST(bm25_idf_pow_favours_rare_terms)
{
    float s[10];
    int i, k;
    for (k = 0; k < 2; k++) {
        mn__bm25 *bm;
        char doc[32];
        ASSERT_OK(mn__bm25_new(1.2f, 0.75f, k ? 2.0f : 1.0f, &bm), NULL);
        add_doc(bm, 0, "guitar a0 b0");
        for (i = 1; i < 6; i++)
            add_doc(bm, (uint32_t)i, "tips new look");
        for (i = 6; i < 10; i++) {
            snprintf(doc, sizeof doc, "c%d d%d e%d", i, i, i);
            add_doc(bm, (uint32_t)i, doc);
        }
        ASSERT_EQ(query(bm, "tips new look guitar", s), 6);
        if (k == 0)
            ASSERT(s[1] > s[0]);
        else
            ASSERT(s[0] > 2.0f * s[1]);
        mn__bm25_free(bm);
    }
}

TEST(bm25_rules)
{
    mn__bm25 *bm;
    mn__term t[3] = {{"a", 1}, {"", 0}, {"b", 1}};
    char longterm[600];
    mn__term lt = {longterm, 600}, lt2 = {longterm, 300};
    float s[3];
    size_t b0;
    ASSERT_EQ(mn__bm25_new(-1.0f, 0.5f, 1.0f, &bm), MN_EINVAL);
    ASSERT_EQ(mn__bm25_new(1.2f, 1.5f, 1.0f, &bm), MN_EINVAL);
    ASSERT_EQ(mn__bm25_new(1.2f, 0.5f, 0.0f, &bm), MN_EINVAL);
    ASSERT_OK(mn__bm25_new(1.2f, 0.75f, 1.0f, &bm), NULL);
    b0 = mn__bm25_bytes(bm);
    ASSERT_EQ(mn__bm25_add(bm, 1, t, 3), MN_EINVAL); /* ids are dense */
    ASSERT_OK(mn__bm25_add(bm, 0, t, 3), NULL);
    ASSERT_OK(mn__bm25_add(bm, 1, NULL, 0), NULL); /* an empty document is allowed */
    memset(longterm, 'x', sizeof longterm);
    ASSERT_OK(mn__bm25_add(bm, 2, &lt, 1), NULL);
    ASSERT(mn__bm25_bytes(bm) > b0);
    ASSERT_EQ(mn__bm25_score_all(bm, &t[1], 1, s), 0); /* an empty query term matches nothing */
    ASSERT_EQ(mn__bm25_score_all(bm, &lt2, 1, s), 1);   /* both sides cut at 255 bytes */
    ASSERT(s[2] > 0);
    ASSERT_EQ(mn__bm25_score_all(bm, t, 3, s), 1);
    ASSERT(s[0] > 0);
    mn__bm25_remove(bm, 0);
    mn__bm25_remove(bm, 1);
    mn__bm25_remove(bm, 2);
    ASSERT_EQ(mn__bm25_score_all(bm, t, 3, s), 0);
    ASSERT_EQ(s[0], 0);
    mn__bm25_free(bm);
}

TEST(bm25_out_of_memory_leaves_no_partial_doc)
{
    mn__bm25 *bm;
    char words[40][16];
    mn__term t[40];
    float s[2];
    int i, fail, failures = 0;
    for (i = 0; i < 40; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        t[i].s = words[i];
        t[i].len = (uint32_t)strlen(words[i]);
    }
    ASSERT_OK(mn__bm25_new(1.2f, 0.75f, 1.0f, &bm), NULL);
    ASSERT_OK(mn__bm25_add(bm, 0, t, 20), NULL);
    for (fail = 1; fail < 200; fail++) {
        int rc;
        mn__alloc_fail_after(fail);
        rc = mn__bm25_add(bm, 1, t + 10, 30);
        mn__alloc_fail_after(0);
        if (rc == MN_OK)
            break;
        failures++;
        ASSERT_EQ(rc, MN_ENOMEM);
        ASSERT_EQ(mn__bm25_ndocs(bm), 1);
        ASSERT_EQ(mn__bm25_score_all(bm, t + 35, 1, s), 0); /* w35 only in the failed doc */
        ASSERT_EQ(mn__bm25_df(bm, "w15", 3), 1);
    }
    ASSERT(failures > 0);
    ASSERT_EQ(mn__bm25_ndocs(bm), 2);
    ASSERT_EQ(mn__bm25_df(bm, "w15", 3), 2);
    ASSERT_EQ(mn__bm25_df(bm, "w35", 3), 1);
    mn__bm25_free(bm);
}

/* ---- fusion --------------------------------------------------------------------------- */

TEST(fuse_blend_basics)
{
    float kw[4] = {0, 2, 4, 0}, vec[4] = {0.9f, 0.1f, 0.2f, -0.1f};
    uint8_t mask[4] = {1, 1, 0, 1};
    mn__topk t;
    ASSERT_OK(mn__topk_init(&t, 10), NULL);
    /* w 0.5, min_vec 0: row0 0.45, row1 0.25 + 0.05, row2 0.5 + 0.1, row3 fired nowhere */
    mn__fuse_blend(kw, vec, NULL, 4, 0.5f, 0.0f, &t);
    mn__topk_sort(&t);
    ASSERT_EQ(t.n, 3);
    ASSERT_EQ(t.idx[0], 2);
    ASSERT_NEAR(t.score[0], 0.6, 1e-6);
    ASSERT_EQ(t.idx[1], 0);
    ASSERT_NEAR(t.score[1], 0.45, 1e-6);
    ASSERT_EQ(t.idx[2], 1);
    ASSERT_NEAR(t.score[2], 0.3, 1e-6);
    /* masking row 2 also drops it from the keyword maximum: row1 becomes 0.5 + 0.05 */
    mn__topk_reset(&t);
    mn__fuse_blend(kw, vec, mask, 4, 0.5f, 0.0f, &t);
    mn__topk_sort(&t);
    ASSERT_EQ(t.n, 2);
    ASSERT_EQ(t.idx[0], 1);
    ASSERT_NEAR(t.score[0], 0.55, 1e-6);
    /* keyword only (vec NULL) and vector only (kw NULL) */
    mn__topk_reset(&t);
    mn__fuse_blend(kw, NULL, NULL, 4, 1.0f, 0.0f, &t);
    ASSERT_EQ(t.n, 2);
    mn__topk_reset(&t);
    mn__fuse_blend(NULL, vec, NULL, 4, 0.0f, 0.15f, &t);
    mn__topk_sort(&t);
    ASSERT_EQ(t.n, 2);
    ASSERT_EQ(t.idx[0], 0);
    ASSERT_NEAR(t.score[0], 0.9, 1e-6);
    mn__topk_release(&t);
}

TEST(fuse_rrf_basics)
{
    float kw[4] = {0, 2, 4, 0}, vec[4] = {0.9f, 0.1f, 0.2f, -0.1f};
    float vec2[4] = {0.9f, -2.0f, 0.2f, -2.0f};
    mn__topk t;
    ASSERT_OK(mn__topk_init(&t, 10), NULL);
    ASSERT_EQ(mn__fuse_rrf(kw, vec, NULL, 4, 0.0f, &t), MN_EINVAL);
    /* kw ranks: row2 1, row1 2. vec ranks: row0 1, row2 2, row1 3, row3 4. c = 60:
     * row2 1/61 + 1/62 = 0.032522, row1 1/62 + 1/63 = 0.032002, row0 1/61, row3 1/64 */
    ASSERT_OK(mn__fuse_rrf(kw, vec, NULL, 4, 60.0f, &t), NULL);
    mn__topk_sort(&t);
    ASSERT_EQ(t.n, 4);
    ASSERT_EQ(t.idx[0], 2);
    ASSERT_NEAR(t.score[0], 0.0325225, 1e-6);
    ASSERT_EQ(t.idx[1], 1);
    ASSERT_NEAR(t.score[1], 0.0320020, 1e-6);
    ASSERT_EQ(t.idx[2], 0);
    ASSERT_EQ(t.idx[3], 3);
    ASSERT_NEAR(t.score[3], 1.0 / 64, 1e-7);
    /* -2 means "no vector": such rows rank only by keyword */
    mn__topk_reset(&t);
    ASSERT_OK(mn__fuse_rrf(NULL, vec2, NULL, 4, 60.0f, &t), NULL);
    ASSERT_EQ(t.n, 2);
    mn__topk_reset(&t);
    ASSERT_OK(mn__fuse_rrf(kw, NULL, NULL, 0, 60.0f, &t), NULL);
    ASSERT_EQ(t.n, 0);
    mn__topk_release(&t);
}

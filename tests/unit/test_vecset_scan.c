/* test_vecset_scan.c - the search-speed paths of the vector set: masked dense scoring through
 * the block kernel, the exact top-k that skips rows below the heap's worst (ties included),
 * and the int8 scoring with exact rescoring of the best rows (mn__vecset_score_approx). */
#include <math.h>

#include "../../src/index/index.h"
#include "t.h"

#define DIM 37 /* not a multiple of any vector width: the kernels' tails are used */
#define ROWS 1500

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float rndf(void) /* [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(uint32_t)(rng >> 16) / 4294967296.0 * 2.0 - 1.0);
}

static void fill(mn__vecset *v, size_t n)
{
    float row[DIM];
    size_t i, j;
    mn__vecset_init(v, DIM);
    for (i = 0; i < n; i++) {
        for (j = 0; j < DIM; j++)
            row[j] = rndf();
        ASSERT_OK(mn__vecset_add(v, i % 97 == 5 ? NULL : row), NULL); /* some zero rows */
    }
}

static float dot_ref(const float *a, const float *b)
{
    double s = 0;
    size_t j;
    for (j = 0; j < DIM; j++)
        s += (double)a[j] * b[j];
    return (float)s;
}

/* Masks: all rows, most rows (block kernel with holes), few rows (row by row). */
static void make_mask(uint8_t *mask, size_t n, int kind)
{
    size_t i;
    for (i = 0; i < n; i++)
        mask[i] = kind == 0 ? 1 : kind == 1 ? (i % 7 != 3) : (i % 9 == 0);
}

TEST(vecset_score_all_masked_matches_reference)
{
    static float out[ROWS];
    static uint8_t mask[ROWS];
    float q[DIM];
    mn__vecset v;
    size_t i;
    int kind;
    fill(&v, ROWS);
    for (i = 0; i < DIM; i++)
        q[i] = rndf();
    for (kind = 0; kind < 3; kind++) {
        make_mask(mask, ROWS, kind);
        out[ROWS - 1] = 99.0f;
        mn__vecset_score_all(&v, q, mask, out);
        for (i = 0; i < ROWS; i++) {
            if (!mask[i])
                ASSERT_EQ(out[i], -2.0f);
            else
                ASSERT_NEAR(out[i], dot_ref(q, v.f32 + i * DIM), 1e-4);
        }
    }
    mn__vecset_release(&v);
}

/* The sorted top-k of t against a brute-force reference: same rows, best first, equal
 * scores ordered by row id. */
static void check_topk(const mn__vecset *v, const float *q, const uint8_t *mask, size_t n,
                       mn__topk *t)
{
    size_t i, r;
    mn__topk_sort(t);
    for (i = 0; i < (size_t)t->n; i++) {
        ASSERT(!mask || mask[t->idx[i]]);
        ASSERT_NEAR(t->score[i], dot_ref(q, v->f32 + (size_t)t->idx[i] * DIM), 1e-5);
        if (i)
            ASSERT(t->score[i] < t->score[i - 1] ||
                   (t->score[i] == t->score[i - 1] && t->idx[i] > t->idx[i - 1]));
    }
    /* nothing eligible left out beats the last row kept */
    for (r = 0; r < n && t->n > 0; r++) {
        float s = dot_ref(q, v->f32 + r * DIM), last = t->score[t->n - 1];
        int in = 0;
        size_t m;
        if ((mask && !mask[r]) || v->scale[r] <= 0.0f)
            continue;
        for (m = 0; m < (size_t)t->n; m++)
            in |= t->idx[m] == r;
        ASSERT(in || s < last + 1e-5f);
        ASSERT(in || !(s == last && r < t->idx[t->n - 1]));
    }
}

/* Under 256 eligible rows the exact path runs, masked and unmasked; every third row repeats
 * the one before it, so equal scores must go to the smaller row id as the heap orders them. */
TEST(vecset_exact_topk_skip_keeps_ties_and_order)
{
    static uint8_t mask[600];
    float row[DIM], q[DIM];
    mn__vecset v, small;
    mn__topk t;
    size_t i, j;
    int k;
    mn__vecset_init(&v, DIM);
    mn__vecset_init(&small, DIM);
    for (i = 0; i < 600; i++) {
        if (i % 3 == 0)
            for (j = 0; j < DIM; j++)
                row[j] = rndf();
        ASSERT_OK(mn__vecset_add(&v, row), NULL);
        if (i < 200)
            ASSERT_OK(mn__vecset_add(&small, row), NULL);
        mask[i] = i < 300 && i % 5 != 1; /* 240 eligible */
    }
    for (j = 0; j < DIM; j++)
        q[j] = rndf();
    for (k = 1; k <= 23; k += 11) {
        ASSERT_OK(mn__topk_init(&t, k), NULL);
        ASSERT_OK(mn__vecset_topk(&v, q, mask, &t), NULL);
        ASSERT_EQ(t.n, k);
        check_topk(&v, q, mask, 600, &t);
        ASSERT_OK(mn__vecset_topk(&small, q, NULL, &t), NULL);
        ASSERT_EQ(t.n, k);
        check_topk(&small, q, NULL, 200, &t);
        mn__topk_release(&t);
    }
    mn__vecset_release(&v);
    mn__vecset_release(&small);
}

TEST(vecset_score_approx_close_and_exact_at_the_top)
{
    static float out[ROWS], ex[ROWS], kw[ROWS];
    static uint8_t mask[ROWS];
    const size_t n_exact = 20;
    float q[DIM];
    mn__vecset v;
    size_t i, j, n_kw_exact = 0, n_top_exact = 0;
    int kind;
    fill(&v, ROWS);
    for (i = 0; i < DIM; i++)
        q[i] = rndf();
    mn__normalize(q, DIM);
    for (i = 0; i < ROWS; i++)
        kw[i] = i % 11 == 0 ? (float)(i % 13) : 0.0f;
    for (kind = 0; kind < 3; kind++) {
        make_mask(mask, ROWS, kind);
        mn__vecset_score_all(&v, q, mask, ex);
        ASSERT_OK(mn__vecset_score_approx(&v, q, mask, kw, n_exact, out), NULL);
        for (i = 0; i < ROWS; i++) {
            if (!mask[i]) {
                ASSERT_EQ(out[i], -2.0f);
                continue;
            }
            ASSERT_NEAR(out[i], ex[i], 0.03);
        }
        /* the n_exact best rows by exact cosine come back exact (the int8 order may swap
         * rows near the cut, so check the clearly best half) */
        for (j = 0; j < n_exact / 2; j++) {
            size_t best = ROWS;
            for (i = 0; i < ROWS; i++)
                if (mask[i] && ex[i] > -1.5f && (best == ROWS || ex[i] > ex[best]))
                    best = i;
            ASSERT_NEAR(out[best], ex[best], 1e-5);
            n_top_exact++;
            ex[best] = -3.0f;
        }
        /* the keyword hits with the largest `also` are exact too: kw 12 is the top value */
        for (i = 0; i < ROWS; i++)
            if (mask[i] && kw[i] == 12.0f) {
                float e = dot_ref(q, v.f32 + i * DIM);
                ASSERT_NEAR(out[i], e, 1e-5);
                n_kw_exact++;
            }
    }
    ASSERT(n_top_exact > 0 && n_kw_exact > 0);
    /* no mask: the exact scan */
    ASSERT_OK(mn__vecset_score_approx(&v, q, NULL, NULL, n_exact, out), NULL);
    mn__vecset_score_all(&v, q, NULL, ex);
    for (i = 0; i < ROWS; i++)
        ASSERT_EQ(out[i], ex[i]);
    mn__vecset_release(&v);
}

/* vecset.c - flat vector set: rows kept as float32 (exact) and int8 with a per-row scale
 * (4x smaller, scanned first). Search = int8 scan of every eligible row, then an exact
 * float32 re-rank of the best candidates. Read-only searches may run in parallel. */
#include <string.h>

#include "index_int.h"

/* Below this many eligible rows the exact float scan is as cheap as the two-step search. */
#define EXACT_BELOW 256
/* Rows scored per kernel call: the int32/float block lives on the stack. */
#define BLOCK 256
/* Queries of at most this many dimensions quantise into a stack buffer. */
#define STACK_DIM 4096
/* Row ids are uint32 in results. */
#define MAX_ROWS ((size_t)UINT32_MAX)

void mn__vecset_init(mn__vecset *v, int dim)
{
    memset(v, 0, sizeof *v);
    v->dim = dim > 0 ? dim : 0;
}

void mn__vecset_release(mn__vecset *v)
{
    mn__free(v->f32);
    mn__free(v->i8);
    mn__free(v->scale);
    memset(v, 0, sizeof *v);
}

/* Grows all three arrays to ncap rows; on failure the set keeps its old arrays (any array
 * already moved is valid and simply larger than needed). */
static int grow(mn__vecset *v)
{
    size_t d = (size_t)v->dim, ncap = v->cap ? v->cap * 2 : 64;
    float *f, *s;
    int8_t *q;
    if (ncap > MAX_ROWS)
        ncap = MAX_ROWS;
    if (ncap <= v->n || ncap > SIZE_MAX / sizeof(float) / (d ? d : 1))
        return MN_ETOOBIG;
    f = mn__realloc(v->f32, ncap * d * sizeof *f);
    if (!f)
        return MN_ENOMEM;
    v->f32 = f;
    q = mn__realloc(v->i8, ncap * d);
    if (!q)
        return MN_ENOMEM;
    v->i8 = q;
    s = mn__realloc(v->scale, ncap * sizeof *s);
    if (!s)
        return MN_ENOMEM;
    v->scale = s;
    v->cap = ncap;
    return MN_OK;
}

void mn__vecset_set(mn__vecset *v, size_t row, const float *vec)
{
    size_t d = (size_t)v->dim;
    float *f = v->f32 + row * d;
    if (row >= v->n)
        return;
    if (!vec) {
        memset(f, 0, d * sizeof *f);
        memset(v->i8 + row * d, 0, d);
        v->scale[row] = 0.0f;
        return;
    }
    /* rows are unit length so that a dot product is the cosine */
    memmove(f, vec, d * sizeof *f);
    mn__normalize(f, d);
    mn__quantize_i8(f, d, v->i8 + row * d, &v->scale[row]);
}

int mn__vecset_add(mn__vecset *v, const float *vec)
{
    int rc;
    if (v->dim <= 0)
        return MN_EINVAL;
    if (v->n == v->cap && (rc = grow(v)) != MN_OK)
        return rc;
    v->n++;
    mn__vecset_set(v, v->n - 1, vec);
    return MN_OK;
}

size_t mn__vecset_bytes(const mn__vecset *v)
{
    return sizeof *v + v->cap * ((size_t)v->dim * (sizeof(float) + 1) + sizeof(float));
}

/* Counts rows [from, to) with mask set (mask NULL: all). */
static size_t count_mask(const uint8_t *mask, size_t from, size_t to)
{
    size_t i, c = 0;
    if (!mask)
        return to - from;
    for (i = from; i < to; i++)
        c += mask[i] != 0;
    return c;
}

void mn__vecset_score_all(const mn__vecset *v, const float *q, const uint8_t *mask,
                          float *out)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)v->dim, b, i;
    if (!mask) {
        k->scan_f32(q, v->f32, v->n, d, out);
        return;
    }
    /* Filters usually pass most rows (every active row): blocks that are mostly eligible go
     * through the four-row scan kernel, which pays one horizontal reduction per four rows
     * where a dot_f32 call per row pays one each (half the time at d = 100). */
    for (b = 0; b < v->n; b += BLOCK) {
        size_t m = MN_MIN(BLOCK, v->n - b);
        if (count_mask(mask, b, b + m) * 2 > m) {
            k->scan_f32(q, v->f32 + b * d, m, d, out + b);
            for (i = b; i < b + m; i++)
                if (!mask[i])
                    out[i] = -2.0f;
            continue;
        }
        for (i = b; i < b + m; i++)
            out[i] = mask[i] ? k->dot_f32(q, v->f32 + i * d, d) : -2.0f;
    }
}

/* Row i's approximate cosine into out[i], offered to the two heaps of rows to rescore. */
static inline void keep(float *out, size_t i, float sc, const float *also, mn__topk *t,
                        mn__topk *ta)
{
    out[i] = sc;
    /* most rows lose to both heaps' worst: skip the calls */
    if (t->n < t->k || sc >= t->score[0])
        mn__topk_push(t, sc, (uint32_t)i);
    if (also && also[i] > 0.0f && (ta->n < ta->k || also[i] >= ta->score[0]))
        mn__topk_push(ta, also[i], (uint32_t)i);
}

int mn__vecset_score_approx(const mn__vecset *v, const float *q, const uint8_t *mask,
                            const float *also, size_t n_exact, float *out)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)v->dim, b, i;
    int8_t q8_stack[STACK_DIM], *q8 = q8_stack;
    int32_t s[BLOCK];
    float q_scale;
    mn__topk t, ta;
    int rc;

    if (!mask || d == 0 || v->n == 0 || n_exact == 0 || n_exact > INT32_MAX) {
        mn__vecset_score_all(v, q, mask, out);
        return MN_OK;
    }
    memset(&ta, 0, sizeof ta);
    rc = mn__topk_init(&t, (int)n_exact);
    if (!rc && also)
        rc = mn__topk_init(&ta, (int)n_exact);
    if (rc)
        goto cleanup;
    if (d > STACK_DIM && !(q8 = mn__malloc(d))) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    mn__quantize_i8(q, d, q8, &q_scale);
    for (b = 0; b < v->n; b += BLOCK) {
        size_t m = MN_MIN(BLOCK, v->n - b);
        if (count_mask(mask, b, b + m) * 2 > m) {
            k->scan_i8(q8, v->i8 + b * d, m, d, s);
            for (i = 0; i < m; i++) {
                if (mask[b + i])
                    keep(out, b + i, (float)s[i] * v->scale[b + i] * q_scale, also, &t, &ta);
                else
                    out[b + i] = -2.0f;
            }
            continue;
        }
        for (i = b; i < b + m; i++) {
            if (mask[i])
                keep(out, i, (float)k->dot_i8(q8, v->i8 + i * d, d) * v->scale[i] * q_scale,
                     also, &t, &ta);
            else
                out[i] = -2.0f;
        }
    }
    /* the best rows by either key get their exact cosine: fusion and the final order then
     * work on exact values wherever the result can come from */
    for (i = 0; i < (size_t)t.n; i++)
        out[t.idx[i]] = k->dot_f32(q, v->f32 + (size_t)t.idx[i] * d, d);
    for (i = 0; i < (size_t)ta.n; i++)
        out[ta.idx[i]] = k->dot_f32(q, v->f32 + (size_t)ta.idx[i] * d, d);
cleanup:
    if (q8 != q8_stack)
        mn__free(q8);
    mn__topk_release(&t);
    mn__topk_release(&ta);
    return rc;
}

/* Exact search over every eligible row. Zero rows ("no vector") are never results. */
static void exact_topk(const mn__vecset *v, const float *q, const uint8_t *mask,
                       mn__topk *out)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)v->dim, b, i;
    float s[BLOCK];
    for (b = 0; b < v->n; b += BLOCK) {
        size_t m = MN_MIN(BLOCK, v->n - b);
        if (!mask) {
            k->scan_f32(q, v->f32 + b * d, m, d, s);
            for (i = 0; i < m; i++) {
                /* below the current worst: the push would refuse it (a tie on the score
                 * still goes in, for the smaller row id) */
                if (out->n == out->k && s[i] < out->score[0])
                    continue;
                if (v->scale[b + i] > 0.0f)
                    mn__topk_push(out, s[i], (uint32_t)(b + i));
            }
            continue;
        }
        for (i = b; i < b + m; i++) {
            float sc;
            if (!mask[i] || v->scale[i] <= 0.0f)
                continue;
            sc = k->dot_f32(q, v->f32 + i * d, d);
            if (out->n < out->k || sc >= out->score[0])
                mn__topk_push(out, sc, (uint32_t)i);
        }
    }
}

/* Pushes the approximate (int8) score of every eligible row into cand. Blocks where most
 * rows are eligible go through the scan kernel; sparse blocks score row by row. */
static void int8_candidates(const mn__vecset *v, const int8_t *q8, const uint8_t *mask,
                            mn__topk *cand)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)v->dim, b, i;
    int32_t s[BLOCK];
    for (b = 0; b < v->n; b += BLOCK) {
        size_t m = MN_MIN(BLOCK, v->n - b);
        if (!mask || count_mask(mask, b, b + m) * 2 > m) {
            k->scan_i8(q8, v->i8 + b * d, m, d, s);
            for (i = 0; i < m; i++) {
                float sc = (float)s[i] * v->scale[b + i];
                /* most rows lose to the current worst candidate: skip the call */
                if (cand->n == cand->k && sc < cand->score[0])
                    continue;
                if ((!mask || mask[b + i]) && v->scale[b + i] > 0.0f)
                    mn__topk_push(cand, sc, (uint32_t)(b + i));
            }
            continue;
        }
        for (i = b; i < b + m; i++)
            if (mask[i] && v->scale[i] > 0.0f)
                mn__topk_push(cand, (float)k->dot_i8(q8, v->i8 + i * d, d) * v->scale[i],
                              (uint32_t)i);
    }
}

#define RERANK_AHEAD 4 /* candidate rows prefetched ahead of the one being re-ranked */

static int is_zero(const float *q, size_t d)
{
    size_t i;
    for (i = 0; i < d; i++)
        if (q[i] != 0.0f)
            return 0;
    return 1;
}

int mn__vecset_topk(const mn__vecset *v, const float *q, const uint8_t *mask, mn__topk *out)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)v->dim, eligible, n_cand, i;
    int8_t q8_stack[STACK_DIM], *q8 = q8_stack;
    float q_scale;
    mn__topk cand;
    int rc;

    mn__topk_reset(out);
    if (out->k <= 0 || v->n == 0 || d == 0 || is_zero(q, d))
        return MN_OK; /* a zero query has no direction: nothing is similar to it */
    eligible = count_mask(mask, 0, v->n);
    n_cand = MN_MAX((size_t)out->k * 4, 64);
    if (eligible < EXACT_BELOW || n_cand >= eligible) {
        exact_topk(v, q, mask, out);
        return MN_OK;
    }
    rc = mn__topk_init(&cand, (int)n_cand);
    if (rc)
        return rc;
    if (d > STACK_DIM) {
        q8 = mn__malloc(d);
        if (!q8) {
            rc = MN_ENOMEM;
            goto cleanup;
        }
    }
    /* the query's own scale is the same for every row, so it cannot change the order */
    mn__quantize_i8(q, d, q8, &q_scale);
    int8_candidates(v, q8, mask, &cand);
    /* the candidates' float32 rows are scattered over the partition: ask for a few rows
     * ahead so that their cache misses overlap instead of coming one row at a time */
    for (i = 0; i < MN_MIN((size_t)cand.n, RERANK_AHEAD); i++)
        mn__prefetch_ahead(v->f32 + (size_t)cand.idx[i] * d, 0, d * sizeof(float));
    for (i = 0; i < (size_t)cand.n; i++) {
        uint32_t r = cand.idx[i];
        if (i + RERANK_AHEAD < (size_t)cand.n)
            mn__prefetch_ahead(v->f32 + (size_t)cand.idx[i + RERANK_AHEAD] * d, 0,
                               d * sizeof(float));
        mn__topk_push(out, k->dot_f32(q, v->f32 + (size_t)r * d, d), r);
    }
cleanup:
    if (q8 != q8_stack)
        mn__free(q8);
    mn__topk_release(&cand);
    return rc;
}

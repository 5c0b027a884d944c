/* fusion.c - combines the keyword and vector signals of one search into one ranking:
 * a weighted blend of max-normalised BM25 and cosine (the default), or reciprocal rank
 * fusion (the measured alternative). Either input array may be NULL: that signal is off. */
#include <stdlib.h>
#include <string.h>

#include "index.h"

/* Cosines live in [-1, 1]; -2 is mn__vecset_score_all's "no score" value. */
#define VEC_VALID(x) ((x) > -1.5f)

void mn__fuse_blend_dense(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                          float w_kw, float min_vec, float *out)
{
    float mx = 0.0f, inv;
    size_t i;
    if (kw)
        for (i = 0; i < n; i++)
            if ((!mask || mask[i]) && kw[i] > mx)
                mx = kw[i];
    inv = mx > 0.0f ? 1.0f / mx : 0.0f;
    for (i = 0; i < n; i++) {
        float k, v;
        out[i] = MN_FUSE_NONE;
        if (mask && !mask[i])
            continue;
        k = kw && kw[i] > 0.0f ? kw[i] * inv : 0.0f;
        v = vec && VEC_VALID(vec[i]) ? vec[i] : 0.0f;
        if (k <= 0.0f && !(vec && VEC_VALID(vec[i]) && vec[i] > min_vec))
            continue; /* neither signal fired */
        out[i] = w_kw * k + (1.0f - w_kw) * v;
    }
}

int mn__fuse_blend(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                   float w_kw, float min_vec, mn__topk *t)
{
    float *f = mn__malloc(n * sizeof *f + 1);
    size_t i;
    if (!f)
        return MN_ENOMEM;
    mn__fuse_blend_dense(kw, vec, mask, n, w_kw, min_vec, f);
    for (i = 0; i < n; i++)
        if (f[i] > MN_FUSE_NONE)
            mn__topk_push(t, f[i], (uint32_t)i);
    mn__free(f);
    return MN_OK;
}

typedef struct pair {
    float s;
    uint32_t i;
} pair;

static int by_score_desc(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Adds 1 / (c + rank) to acc for every row of the list that fired (rank 1 = best). */
static void add_ranks(const float *s, const uint8_t *mask, size_t n, int is_vec, float c,
                      pair *tmp, float *acc)
{
    size_t i, m = 0;
    for (i = 0; i < n; i++) {
        if ((mask && !mask[i]) || !(is_vec ? VEC_VALID(s[i]) : s[i] > 0.0f))
            continue;
        tmp[m].s = s[i];
        tmp[m].i = (uint32_t)i;
        m++;
    }
    qsort(tmp, m, sizeof *tmp, by_score_desc);
    for (i = 0; i < m; i++)
        acc[tmp[i].i] += 1.0f / (c + (float)(i + 1));
}

int mn__fuse_rrf_dense(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                       float c, float *out)
{
    pair *tmp = NULL;
    size_t i;

    if (!(c > 0.0f))
        return MN_EINVAL;
    for (i = 0; i < n; i++)
        out[i] = 0.0f;
    if (n == 0 || (!kw && !vec))
        goto none;
    tmp = mn__malloc(n * sizeof *tmp);
    if (!tmp)
        return MN_ENOMEM;
    if (kw)
        add_ranks(kw, mask, n, 0, c, tmp, out);
    if (vec)
        add_ranks(vec, mask, n, 1, c, tmp, out);
    mn__free(tmp);
none:
    for (i = 0; i < n; i++)
        if (!(out[i] > 0.0f))
            out[i] = MN_FUSE_NONE;
    return MN_OK;
}

int mn__fuse_rrf(const float *kw, const float *vec, const uint8_t *mask, size_t n, float c,
                 mn__topk *t)
{
    float *acc = mn__malloc(n * sizeof *acc + 1);
    size_t i;
    int rc;

    if (!acc)
        return MN_ENOMEM;
    rc = mn__fuse_rrf_dense(kw, vec, mask, n, c, acc);
    for (i = 0; !rc && i < n; i++)
        if (acc[i] > MN_FUSE_NONE)
            mn__topk_push(t, acc[i], (uint32_t)i);
    mn__free(acc);
    return rc;
}

/* topk.c - bounded top-k selection: a min-heap of size k whose root is the worst pair kept,
 * so each new candidate costs one comparison unless it makes the cut. Ties go to the
 * smaller index so that results are deterministic. */
#include <math.h>
#include <string.h>

#include "index.h"

/* 1 when (sa, ia) ranks below (sb, ib). */
static inline int worse(float sa, uint32_t ia, float sb, uint32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

int mn__topk_init(mn__topk *t, int k)
{
    memset(t, 0, sizeof *t);
    if (k < 0)
        return MN_EINVAL;
    t->k = k;
    if (k == 0)
        return MN_OK;
    t->score = mn__malloc((size_t)k * sizeof *t->score);
    t->idx = mn__malloc((size_t)k * sizeof *t->idx);
    if (!t->score || !t->idx) {
        mn__topk_release(t);
        return MN_ENOMEM;
    }
    return MN_OK;
}

void mn__topk_release(mn__topk *t)
{
    mn__free(t->score);
    mn__free(t->idx);
    memset(t, 0, sizeof *t);
}

void mn__topk_reset(mn__topk *t)
{
    t->n = 0;
}

static void sift_down(mn__topk *t, int i, int n)
{
    float s = t->score[i];
    uint32_t x = t->idx[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && worse(t->score[c + 1], t->idx[c + 1], t->score[c], t->idx[c]))
            c++;
        if (!worse(t->score[c], t->idx[c], s, x))
            break;
        t->score[i] = t->score[c];
        t->idx[i] = t->idx[c];
        i = c;
    }
    t->score[i] = s;
    t->idx[i] = x;
}

void mn__topk_push(mn__topk *t, float score, uint32_t idx)
{
    int i;
    if (t->k <= 0 || isnan(score)) /* a NaN would poison every later comparison */
        return;
    if (t->n == t->k) {
        if (!worse(t->score[0], t->idx[0], score, idx))
            return;
        t->score[0] = score;
        t->idx[0] = idx;
        sift_down(t, 0, t->n);
        return;
    }
    i = t->n++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(score, idx, t->score[p], t->idx[p]))
            break;
        t->score[i] = t->score[p];
        t->idx[i] = t->idx[p];
        i = p;
    }
    t->score[i] = score;
    t->idx[i] = idx;
}

/* Heap sort: moving the worst to the end each round leaves the array best first. The heap
 * order is gone afterwards; reset before pushing again. */
void mn__topk_sort(mn__topk *t)
{
    int n;
    for (n = t->n; n > 1; n--) {
        float s = t->score[0];
        uint32_t x = t->idx[0];
        t->score[0] = t->score[n - 1];
        t->idx[0] = t->idx[n - 1];
        t->score[n - 1] = s;
        t->idx[n - 1] = x;
        sift_down(t, 0, n - 1);
    }
}

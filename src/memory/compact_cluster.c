/* compact_cluster.c - clustering for compression: the messages of one conversation, in time
 * order, are cut into runs of related turns by agglomerative merging of neighbours (cosine of
 * the runs' mean vectors). Only neighbours merge, so a cluster is a stretch of conversation
 * with a time span, and the result depends on nothing but the input order: deterministic. */
#include <math.h>
#include <string.h>

#include "memory_int.h"

typedef struct seg {
    size_t start, n;
    double *sum; /* dim components: the sum of the unit vectors of the run */
    double norm;
} seg;

static double seg_cos(const seg *a, const seg *b, int dim)
{
    double d = 0;
    int j;
    if (a->norm == 0 || b->norm == 0)
        return 0;
    for (j = 0; j < dim; j++)
        d += a->sum[j] * b->sum[j];
    return d / (a->norm * b->norm);
}

static void seg_norm(seg *s, int dim)
{
    double n = 0;
    int j;
    for (j = 0; j < dim; j++)
        n += s->sum[j] * s->sum[j];
    s->norm = sqrt(n);
}

int mn__cluster_runs(const float *vecs, int dim, size_t n, const mn__cluster_cfg *cfg,
                     size_t *out_ends, size_t *out_n)
{
    seg *s = NULL;
    double *sums = NULL;
    size_t i, n_seg = n;
    int j;

    *out_n = 0;
    if (n == 0)
        return MN_OK;
    s = mn__calloc(n, sizeof *s);
    sums = mn__calloc(n * (size_t)dim, sizeof *sums);
    if (!s || !sums) {
        mn__free(s);
        mn__free(sums);
        return MN_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        s[i].start = i;
        s[i].n = 1;
        s[i].sum = sums + i * (size_t)dim;
        for (j = 0; j < dim; j++)
            s[i].sum[j] = vecs[i * (size_t)dim + j];
        seg_norm(&s[i], dim);
    }
    for (;;) {
        /* the best neighbouring pair: runs still under min_size merge first (their pull
         * dominates), then the most similar pair, ties to the earlier pair */
        double best = -1e9;
        size_t bi = 0, k;
        for (k = 0; k + 1 < n_seg; k++) {
            double c, score;
            bool small = s[k].n < cfg->min_size || s[k + 1].n < cfg->min_size;
            /* a small run joins a neighbour even past max_size: a lone message left between
             * two full runs would meet the next lone one in a later compaction, and that
             * must find nothing left to do */
            if (!small && s[k].n + s[k + 1].n > cfg->max_size)
                continue;
            c = seg_cos(&s[k], &s[k + 1], dim);
            if (!small && c < cfg->min_similarity)
                continue;
            /* a small run joins its more similar neighbour; among equals the smaller pair */
            score = (small ? 2.0 : 0.0) + c - 1e-6 * (double)(s[k].n + s[k + 1].n);
            if (score > best) {
                best = score;
                bi = k;
            }
        }
        if (best <= -1e9)
            break;
        s[bi].n += s[bi + 1].n;
        for (j = 0; j < dim; j++)
            s[bi].sum[j] += s[bi + 1].sum[j];
        seg_norm(&s[bi], dim);
        /* s[bi + 1]'s sum array is left behind (all are inside `sums`) */
        memmove(&s[bi + 1], &s[bi + 2], (n_seg - bi - 2) * sizeof *s);
        n_seg--;
    }
    for (i = 0; i < n_seg; i++)
        out_ends[i] = s[i].start + s[i].n;
    *out_n = n_seg;
    mn__free(s);
    mn__free(sums);
    return MN_OK;
}

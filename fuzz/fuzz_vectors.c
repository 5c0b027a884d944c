/* fuzz_vectors.c - target vectors: what turns into vectors and what vectors go through.
 * Byte 0 picks the path:
 *   0  text to the embedder (mn_embed, then the raw bytes straight to the embedder as the
 *      engine calls it): the vector is finite and of unit length or all zero,
 *   1  raw float32 vectors (NaN, infinities, denormals, zero rows) into a vector set: add,
 *      exact scores, int8 quantisation, top-k, blend and rank fusion; results stay in range,
 *   2  a body for POST /v1/embeddings (the OpenAI-compatible input: a string or an array).
 * Vector blobs read back from a damaged store are fuzzed by target store_file. */
#include <math.h>
#include <string.h>

#include "../src/index/index.h"
#include "../src/memory/memory_int.h"
#include "fuzz.h"
#include "hstub.h"

#define MAX_DIM 4096

static void check_unit(const float *v, int dim, const char *what)
{
    double norm = 0;
    int i;
    for (i = 0; i < dim; i++) {
        if (!isfinite(v[i]))
            fz_fail("%s: component %d is %g", what, i, (double)v[i]);
        norm += (double)v[i] * v[i];
    }
    if (norm != 0 && fabs(sqrt(norm) - 1) > 1e-3)
        fz_fail("%s: vector length %g, expected 1 or 0", what, sqrt(norm));
}

static void embed_text(const uint8_t *data, size_t size)
{
    static float vec[MAX_DIM];
    mn_db *db = fz_server()->db;
    mn_db_info info;
    mn_err err;
    int rc;
    if (mn_db_info_get(db, &info, &err) || info.dim <= 0 || info.dim > MAX_DIM)
        fz_fail("no embedder in the fuzz database");
    rc = mn_embed(db, (const char *)data, size, vec, info.dim, &err);
    if (rc == MN_OK)
        check_unit(vec, info.dim, "mn_embed");
    else if (rc != MN_EINVAL && rc != MN_EUTF8 && rc != MN_ETOOBIG)
        fz_fail("mn_embed: unexpected %s: %s", mn_err_name(rc), err.msg);
    /* The engine embeds index text it built itself; any bytes must still be safe. */
    if (size && mn__embed_text(db, (const char *)data, size, vec, &err) == MN_OK)
        check_unit(vec, info.dim, "embedder on raw bytes");
}

static void raw_vectors(const uint8_t *data, size_t size)
{
    mn__vecset vs;
    mn__topk tk;
    float *q, *scores = NULL, *kw = NULL, *fused = NULL;
    uint8_t *mask = NULL;
    int8_t *qi8 = NULL;
    float qscale;
    int dim, k, i;
    size_t n, r;
    int64_t before = fz_live_bytes();
    if (size < 3)
        return;
    dim = data[0] % 64 + 1;
    k = data[1] % 40 + 1;
    data += 2;
    size -= 2;
    n = size / (4u * (size_t)dim);
    if (n == 0)
        return;
    mn__vecset_init(&vs, dim);
    if (mn__topk_init(&tk, k))
        fz_fail("out of memory");
    for (r = 0; r < n; r++) {
        float v[64];
        memcpy(v, data + r * 4u * (size_t)dim, 4u * (size_t)dim);
        /* Row 1 stands for "no vector" (a pending embedding). */
        if (mn__vecset_add(&vs, r == 1 ? NULL : v))
            fz_fail("vecset_add failed");
    }
    if (vs.n != n)
        fz_fail("vecset has %zu rows after %zu adds", vs.n, n);
    q = mn__malloc(sizeof *q * (size_t)dim);
    qi8 = mn__malloc((size_t)dim);
    scores = mn__malloc(sizeof *scores * n);
    kw = mn__malloc(sizeof *kw * n);
    fused = mn__malloc(sizeof *fused * n);
    mask = mn__malloc(n);
    if (!q || !qi8 || !scores || !kw || !fused || !mask)
        fz_fail("out of memory");
    memcpy(q, data, sizeof *q * (size_t)dim);
    mn__normalize(q, (size_t)dim);
    mn__quantize_i8(q, (size_t)dim, qi8, &qscale);
    for (r = 0; r < n; r++) {
        mask[r] = (uint8_t)(data[r % size] & 1);
        memcpy(&kw[r], data + (r * 4) % (size - 3), 4);
        /* BM25 scores are finite and >= 0: only the vector side comes from outside. */
        kw[r] = isfinite(kw[r]) ? fabsf(kw[r]) : 0;
    }
    mn__vecset_score_all(&vs, q, mask, scores);
    for (r = 0; r < n; r++)
        if (!mask[r] && scores[r] != -2)
            fz_fail("masked row %zu scored %g", r, (double)scores[r]);
    if (mn__vecset_topk(&vs, q, NULL, &tk))
        fz_fail("vecset_topk failed");
    mn__topk_sort(&tk);
    for (i = 0; i < tk.n; i++) {
        if (tk.idx[i] >= n)
            fz_fail("top-k row %u of %zu", tk.idx[i], n);
        if (isnan(tk.score[i]))
            fz_fail("top-k kept a NaN score");
        if (i && tk.score[i] > tk.score[i - 1])
            fz_fail("top-k not sorted at %d", i);
    }
    mn__topk_reset(&tk);
    if (mn__fuse_blend(kw, scores, mask, n, 0.3f, 0.2f, &tk))
        fz_fail("fuse_blend failed");
    mn__fuse_blend_dense(kw, scores, NULL, n, 0.3f, 0.2f, fused);
    mn__topk_reset(&tk);
    if (mn__fuse_rrf(kw, scores, mask, n, 60.0f, &tk))
        fz_fail("fuse_rrf failed");
    for (i = 0; i < tk.n; i++)
        if (tk.idx[i] >= n)
            fz_fail("rrf row %u of %zu", tk.idx[i], n);
    if (mn__fuse_rrf_dense(kw, scores, NULL, n, 60.0f, fused))
        fz_fail("fuse_rrf_dense failed");
    mn__free(q);
    mn__free(qi8);
    mn__free(scores);
    mn__free(kw);
    mn__free(fused);
    mn__free(mask);
    mn__topk_release(&tk);
    mn__vecset_release(&vs);
    FZ_NO_LEAK(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reply rep;
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        embed_text(data + 1, size - 1);
        break;
    case 1:
        raw_vectors(data + 1, size - 1);
        break;
    default:
        fz_request("POST", "/v1/embeddings", "application/json", NULL, "", data + 1, size - 1,
                   &rep);
        break;
    }
    return 0;
}

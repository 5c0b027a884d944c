/* index.h - in-memory search structures: vector kernels (scalar reference + AVX2/AVX-512
 * variants chosen at run time), bounded top-k, flat vector sets with int8 scan and float
 * re-rank, the BM25 inverted index, and score fusion. No I/O, no locking: the engine owns
 * the locks. */
#ifndef MN_INDEX_H
#define MN_INDEX_H

#include "../core/core.h"

/* ---- kernels (kernels.c, kernels_avx2.c, kernels_avx512.c) ----------------------------- */
typedef struct mn__kernels {
    const char *name; /* "scalar", "avx2", "avx512" */
    float (*dot_f32)(const float *a, const float *b, size_t d);
    int32_t (*dot_i8)(const int8_t *a, const int8_t *b, size_t d);
    /* out[i] = dot(q, base + i*d) for i < n */
    void (*scan_f32)(const float *q, const float *base, size_t n, size_t d, float *out);
    void (*scan_i8)(const int8_t *q, const int8_t *base, size_t n, size_t d, int32_t *out);
} mn__kernels;

const mn__kernels *mn__kernels_best(void);   /* chosen once per process, by CPU features */
const mn__kernels *mn__kernels_scalar(void);
/* A named variant when this CPU supports it, else NULL (tests compare each with scalar). */
const mn__kernels *mn__kernels_named(const char *name);

/* Symmetric int8 quantisation: out[i] = round(v[i] / scale), scale = max|v| / 127. */
void mn__quantize_i8(const float *v, size_t d, int8_t *out, float *out_scale);
/* Scales v to unit length in place; leaves a zero vector as it is. Returns the old norm. */
float mn__normalize(float *v, size_t d);

/* ---- top-k (topk.c) ------------------------------------------------------------------- */
/* Keeps the k largest (score, idx) pairs seen; ties broken by the smaller idx. */
typedef struct mn__topk {
    int k;
    int n;
    float *score;
    uint32_t *idx;
} mn__topk;

int mn__topk_init(mn__topk *t, int k);
void mn__topk_release(mn__topk *t);
void mn__topk_reset(mn__topk *t);
void mn__topk_push(mn__topk *t, float score, uint32_t idx);
/* Sorts the kept pairs best first (score desc, idx asc). This undoes the heap order:
 * call mn__topk_reset before pushing again. NaN scores are ignored by push. */
void mn__topk_sort(mn__topk *t);

/* ---- flat vector set (vecset.c) -------------------------------------------------------- */
/* Dense rows 0..n-1 of unit vectors, kept as float32 and as int8 with one scale per row. */
typedef struct mn__vecset {
    int dim;
    size_t n, cap;
    float *f32;
    int8_t *i8;
    float *scale;
} mn__vecset;

void mn__vecset_init(mn__vecset *v, int dim);
void mn__vecset_release(mn__vecset *v);
/* Appends row n (v must have dim floats; a NULL v appends a zero row = "no vector"). The
 * row is stored normalised to unit length. MN_EINVAL when dim is 0, MN_ETOOBIG past 2^32
 * rows, MN_ENOMEM (the set is unchanged). set() does the same for an existing row. */
int mn__vecset_add(mn__vecset *v, const float *vec);
void mn__vecset_set(mn__vecset *v, size_t row, const float *vec);
size_t mn__vecset_bytes(const mn__vecset *v);
/* Exact cosine for every row: out[i] = dot(q, row i) for rows with mask[i] != 0 (mask may be
 * NULL = all), -2 for the others. */
void mn__vecset_score_all(const mn__vecset *v, const float *q, const uint8_t *mask,
                          float *out);
/* Like mn__vecset_score_all (mask required) at a quarter of the bytes read: the int8 copy
 * scores every eligible row (cosine within about 0.01, usually 0.002), then the n_exact best
 * rows by that score, and the n_exact eligible rows with the largest positive also[i] (also
 * may be NULL), get their exact float32 cosine. For big sets where an exact scan of every
 * row is too slow. Without a mask or with n_exact 0 it is mn__vecset_score_all. MN_ENOMEM
 * only (out is then partly filled). */
int mn__vecset_score_approx(const mn__vecset *v, const float *q, const uint8_t *mask,
                            const float *also, size_t n_exact, float *out);
/* Top-k rows by cosine (out->k of them, reset first, left unsorted): int8 scan, then
 * float32 re-rank of the best max(4k, 64) candidates; sets under 256 eligible rows are
 * scanned exactly. Zero rows and a zero query give no results. Safe to call from several
 * threads at once on an unchanging set. MN_ENOMEM only. */
int mn__vecset_topk(const mn__vecset *v, const float *q, const uint8_t *mask, mn__topk *out);

/* ---- BM25 (bm25.c) -------------------------------------------------------------------- */
typedef struct mn__bm25 mn__bm25;

typedef struct mn__term {
    const char *s;
    uint32_t len;
} mn__term;

/* k1 and b as in classic BM25 (k1 >= 0, 0 <= b <= 1); each term's idf is raised to idf_pow
 * (> 0; 1 is classic BM25), which above 1 lets rare terms outweigh several common ones. */
int mn__bm25_new(float k1, float b, float idf_pow, mn__bm25 **out);
void mn__bm25_free(mn__bm25 *bm);
/* Adds document `doc` (dense ids, must equal the count of documents added so far) with its
 * terms (duplicates counted as term frequency; empty terms ignored; terms are cut at 255
 * bytes here and in queries). MN_EINVAL for a wrong doc id, MN_ENOMEM (no partial doc). */
int mn__bm25_add(mn__bm25 *bm, uint32_t doc, const mn__term *terms, size_t n_terms);
/* Removes a document from results and from the collection statistics. */
void mn__bm25_remove(mn__bm25 *bm, uint32_t doc);
/* out[d] = BM25 score of each live document for the query terms (0 when no term matches);
 * out has room for mn__bm25_ndocs() floats and is written entirely. Repeated query terms
 * count once. Returns the number of documents with a score > 0. */
size_t mn__bm25_score_all(const mn__bm25 *bm, const mn__term *q, size_t n_q, float *out);
uint32_t mn__bm25_ndocs(const mn__bm25 *bm);
/* Document frequency of a term (0 when unknown) and the live document count: for idf. */
uint32_t mn__bm25_df(const mn__bm25 *bm, const char *term, uint32_t len);
uint32_t mn__bm25_nlive(const mn__bm25 *bm);
size_t mn__bm25_bytes(const mn__bm25 *bm);

/* ---- fusion (fusion.c) ---------------------------------------------------------------- */
/* Blend: score = w_kw * kw[i]/max(kw) + (1 - w_kw) * vec[i]; rows with mask 0 skipped; rows
 * where neither signal fired (kw 0 and vec <= min_vec) skipped. Pushes into t. kw or vec may
 * be NULL (that signal is off); a vec value <= -1.5 (score_all's -2) counts as no score. */
int mn__fuse_blend(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                   float w_kw, float min_vec, mn__topk *t);
/* The same blend as dense scores: out[i] is the blended score, or MN_FUSE_NONE for rows
 * masked out or where neither signal fired. */
#define MN_FUSE_NONE (-1e30f)
void mn__fuse_blend_dense(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                          float w_kw, float min_vec, float *out);
/* Reciprocal rank fusion as dense scores (MN_FUSE_NONE where no list ranked the row). */
int mn__fuse_rrf_dense(const float *kw, const float *vec, const uint8_t *mask, size_t n,
                       float c, float *out);
/* Reciprocal rank fusion with constant c (60 is usual) of two dense score arrays: each row
 * gets the sum of 1/(c + rank) over the lists where it fired (kw > 0; vec a valid cosine),
 * ranks from 1, ties by smaller row. Either array may be NULL. MN_EINVAL when c <= 0,
 * MN_ENOMEM. */
int mn__fuse_rrf(const float *kw, const float *vec, const uint8_t *mask, size_t n, float c,
                 mn__topk *t);

/* ---- HNSW graph (hnsw.c, docs/INDEX.md) ------------------------------------------------ */
/* A hierarchical navigable small world graph over rows of a vector set: node ids are the
 * set's row numbers and vectors are read from the set (never copied), so the set must be
 * passed to every call and must not change between an insert and the searches that follow
 * except by appending. Similarity is the dot product (rows are unit length: cosine).
 * Thread rule: one writer (insert, delete) excludes everything else; searches on an
 * unchanging graph may run in parallel, each with its own scratch. The same seed and the
 * same sequence of calls give the same graph and the same results. */
typedef struct mn__hnsw mn__hnsw;

typedef struct mn__hnsw_opts {
    int m;               /* links per node above level 0 (level 0 keeps 2m); 2..64, default 16 */
    int ef_construction; /* candidates kept while linking a new node; default 200 */
    uint64_t seed;       /* level draws come from a PRNG seeded with this */
} mn__hnsw_opts;

/* Per-search working memory, reusable across searches of one thread: zero it (or
 * mn__hnsw_scratch_init) before first use and release it with mn__hnsw_scratch_release. */
typedef struct mn__hnsw_scratch {
    uint64_t *seen;
    size_t seen_words;
    struct mn__hnsw_hit *cand, *res;
    size_t cand_cap, res_cap;
} mn__hnsw_scratch;

/* Row filter for searches: nonzero keeps the row. Called only on rows of the graph. */
typedef int (*mn__hnsw_filter)(void *ctx, uint32_t row);

void mn__hnsw_opts_init(mn__hnsw_opts *o);
/* MN_EINVAL for dim <= 0 or options out of range, MN_ENOMEM. */
int mn__hnsw_new(const mn__hnsw_opts *o, int dim, mn__hnsw **out);
void mn__hnsw_free(mn__hnsw *h);
/* Links row `row` of vs into the graph. A zero row (no vector) is left out and MN_OK is
 * returned; a row already in the graph is unlinked and linked again (its vector changed);
 * a deleted row comes back. MN_EINVAL for a row past vs->n or another dimension, MN_ENOMEM
 * (the graph is unchanged). */
int mn__hnsw_insert(mn__hnsw *h, const mn__vecset *vs, uint32_t row);
/* Tombstones a row: it is no longer a result, its neighbours that linked to it are relinked
 * among its own neighbours (repair), and it stays a waypoint for links that still lead to it.
 * Unknown or deleted rows are ignored. Never fails. */
void mn__hnsw_delete(mn__hnsw *h, const mn__vecset *vs, uint32_t row);
/* The out->k best live rows passing filter (NULL: all) by similarity to q, searching with
 * max(ef, out->k) candidates; out is reset first and left unsorted. scratch may be NULL
 * (allocated for this call). MN_EINVAL for another dimension, MN_ENOMEM. */
int mn__hnsw_search(const mn__hnsw *h, const mn__vecset *vs, const float *q, int ef,
                    mn__hnsw_filter filter, void *ctx, mn__hnsw_scratch *scratch,
                    mn__topk *out);
void mn__hnsw_scratch_init(mn__hnsw_scratch *s);
void mn__hnsw_scratch_release(mn__hnsw_scratch *s);
bool mn__hnsw_contains(const mn__hnsw *h, uint32_t row); /* linked and not deleted */
size_t mn__hnsw_count(const mn__hnsw *h);   /* live rows */
size_t mn__hnsw_deleted(const mn__hnsw *h); /* tombstones */
size_t mn__hnsw_bytes(const mn__hnsw *h);
/* Graph fingerprint (levels, entry point and every link): equal graphs hash equal. */
uint64_t mn__hnsw_digest(const mn__hnsw *h);

#endif /* MN_INDEX_H */

/* builtin_embed.c - the built-in sentence vector: SIF-weighted mean of the GloVe vectors of a
 * text's words (stopwords dropped unless there is nothing else), hashed character n-grams for
 * words the model does not know, optional removal of a common component, unit length. */
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "embed_int.h"

/* Seeds of the n-gram features; changing them changes every vector (bump the model id). */
#define NGRAM_SEED 0x6d6e656d6f6e6733ull /* character 3- to 5-grams of "<word>" */
#define WHOLE_SEED 0x6d6e656d6f776f72ull /* "<word>" itself */
#define NGRAM_MIN 3
#define NGRAM_MAX 5
#define OOV_MAX_BYTES 128 /* the tokenizer cuts at MN_TOK_MAX_WORD; this is a second fence */

typedef struct sentence {
    const mn__builtin *b;
    float *content;                /* the caller's out */
    float stop[MN_MODEL_MAX_DIM];  /* stopwords, used only when there is nothing else */
    uint32_t n_content, n_stop;
} sentence;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A feature is a pseudo-random +-1 vector seeded by its hash: features shared by two words
 * add up, others are nearly orthogonal (in expectation) to each other and to the GloVe rows. */
static void add_feature(const char *p, size_t n, uint64_t seed, uint32_t dim, int32_t *sum)
{
    uint64_t s = XXH64(p, n, seed), bits = 0;
    uint32_t j;
    for (j = 0; j < dim; j++) {
        if (j % 64 == 0)
            bits = splitmix(&s);
        sum[j] += (int32_t)((bits >> (j % 64)) & 1) * 2 - 1;
    }
}

static void add_oov(const mn__builtin *b, const char *w, size_t len, float weight, float *acc)
{
    char buf[OOV_MAX_BYTES + 2];
    uint8_t cut[OOV_MAX_BYTES + 3];
    int32_t sum[MN_MODEL_MAX_DIM];
    size_t n = MN_MIN(len, OOV_MAX_BYTES), total = n + 2, nc = 0, i, g;
    uint32_t dim = b->dim, j;
    double norm = 0;
    float coef;

    buf[0] = '<';
    memcpy(buf + 1, w, n);
    buf[n + 1] = '>';
    for (i = 0; i < total; i++)
        if (((unsigned char)buf[i] & 0xC0) != 0x80)
            cut[nc++] = (uint8_t)i; /* n-grams are over characters, not bytes */
    cut[nc] = (uint8_t)total;
    memset(sum, 0, dim * sizeof *sum);
    add_feature(buf, total, WHOLE_SEED, dim, sum);
    for (g = NGRAM_MIN; g <= NGRAM_MAX; g++)
        for (i = 0; i + g <= nc; i++)
            add_feature(buf + cut[i], (size_t)(cut[i + g] - cut[i]), NGRAM_SEED, dim, sum);
    for (j = 0; j < dim; j++)
        norm += (double)sum[j] * sum[j];
    if (!(norm > 0))
        return;
    coef = (float)(weight * b->tun.oov_norm / sqrt(norm));
    for (j = 0; j < dim; j++)
        acc[j] += coef * (float)sum[j];
}

static void add_row(const mn__builtin *b, uint32_t row, float weight, float *acc)
{
    uint32_t dim = b->dim, j;
    if (b->vec_i8) {
        const int8_t *q = b->vec_i8 + (size_t)row * dim;
        float coef = weight * b->scales[row];
        for (j = 0; j < dim; j++)
            acc[j] += coef * (float)q[j];
    } else {
        const float *v = b->vec_f32 + (size_t)row * dim;
        for (j = 0; j < dim; j++)
            acc[j] += weight * v[j];
    }
}

/* SIF weight a / (a + p(w)) with p from the 1-based frequency rank by Zipf's law; a word
 * the model does not know is as rare as the rarest word of the source vocabulary. */
static float sif(const mn__builtin *b, double rank)
{
    double a = b->tun.sif_a, p = 1.0 / (rank * b->zipf_log);
    return (float)(a / (a + p));
}

static int on_word(void *ctx, const mn__word *w)
{
    sentence *s = ctx;
    const mn__builtin *b = s->b;
    float *acc, weight, extra = w->is_number ? b->tun.number_weight : 1.0f;
    int64_t row;
    if (w->is_stop) {
        if (s->n_content)
            return 0;
        acc = s->stop;
        s->n_stop++;
    } else {
        acc = s->content;
        s->n_content++;
    }
    row = mn__embed_lookup(b, w->word, w->word_len);
    weight = row >= 0 ? sif(b, (double)row + 1) : b->tun.oov_weight * sif(b, b->src_vocab);
    if (b->weigher)
        weight = b->weigher(b->weigher_ctx, w->word, w->word_len, row, weight);
    if (row >= 0)
        add_row(b, (uint32_t)row, extra * weight, acc);
    else
        add_oov(b, w->word, w->word_len, extra * weight, acc);
    return 0;
}

int mn__embed_builtin_vector(mn__embedder *e, const char *text, size_t len, float *out,
                             mn_err *err)
{
    mn__builtin *b = (mn__builtin *)e;
    sentence s;
    mn__tok *tok;
    const float *src;
    uint32_t dim = b->dim, j;
    double norm = 0, dot = 0, norm_src = 0;
    int rc;

    if (!out || (!text && len))
        return mn__err_set(err, MN_EINVAL, NULL, "built-in embedder: no text or no output");
    memset(out, 0, dim * sizeof *out);
    if (!len)
        return MN_OK;
    s.b = b;
    s.content = out;
    s.n_content = s.n_stop = 0;
    memset(s.stop, 0, dim * sizeof *s.stop);
    tok = mn__embed_pool_get(&b->pool);
    if (!tok)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for a tokenizer");
    rc = mn__tokenize(tok, text, len, on_word, &s);
    mn__embed_pool_put(&b->pool, tok);
    if (rc) {
        memset(out, 0, dim * sizeof *out);
        return mn__err_set(err, rc < 0 ? rc : MN_EINTERNAL, NULL,
                           "built-in embedder: tokenizing %zu bytes failed: %s", len,
                           mn_strerror(rc));
    }
    src = s.n_content ? out : s.stop;
    for (j = 0; j < dim; j++)
        norm_src += (double)src[j] * src[j];
    if (b->common) {
        for (j = 0; j < dim; j++)
            dot += (double)src[j] * b->common[j];
        for (j = 0; j < dim; j++)
            out[j] = src[j] - (float)dot * b->common[j];
    } else if (src != out) {
        memcpy(out, src, dim * sizeof *out);
    }
    for (j = 0; j < dim; j++)
        norm += (double)out[j] * out[j];
    /* what is left after removing the common component may be rounding noise only */
    if (!(norm > 1e-10 * norm_src) || !isfinite(norm)) {
        memset(out, 0, dim * sizeof *out);
        return MN_OK;
    }
    norm = 1.0 / sqrt(norm);
    for (j = 0; j < dim; j++)
        out[j] = (float)(out[j] * norm);
    return MN_OK;
}

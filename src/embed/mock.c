/* mock.c - a deterministic embedder for tests: each word (ASCII letters and digits folded to
 * lower case, other bytes >= 0x80 kept) is hashed to one signed dimension; the bag is
 * normalised. Texts sharing words are similar, others are not; no model file needed. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "embed.h"

#define MOCK_MAX_DIM 4096
#define MOCK_MAX_WORD 64

typedef struct mock {
    mn__embedder base;
    char model_id[24];
} mock;

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static void add_word(const char *w, size_t n, int dim, float *out)
{
    uint64_t h = XXH64(w, n, 0x6d6f636b ^ (uint64_t)dim);
    out[h % (uint64_t)dim] += (h >> 63) ? -1.0f : 1.0f;
}

static int mock_embed(mn__embedder *e, const char *text, size_t len, float *out, mn_err *err)
{
    char word[MOCK_MAX_WORD];
    size_t i, n = 0;
    double norm = 0;
    int j, dim = e->dim;
    if (!out || (!text && len))
        return mn__err_set(err, MN_EINVAL, NULL, "mock embedder: no text or no output");
    memset(out, 0, (size_t)dim * sizeof *out);
    for (i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)text[i] : ' ';
        if (word_byte(c)) {
            if (n < sizeof word) /* longer words are cut, as the real tokenizer does */
                word[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            continue;
        }
        if (n)
            add_word(word, n, dim, out);
        n = 0;
    }
    for (j = 0; j < dim; j++)
        norm += (double)out[j] * out[j];
    if (norm > 0)
        for (j = 0; j < dim; j++)
            out[j] = (float)(out[j] / sqrt(norm));
    return MN_OK;
}

static void mock_free(mn__embedder *e)
{
    mn__free(e);
}

int mn__embed_mock_new(int dim, mn__embedder **out, mn_err *err)
{
    mock *m;
    if (!out)
        return mn__err_set(err, MN_EINVAL, NULL, "no output pointer for the mock embedder");
    *out = NULL;
    if (dim < 1 || dim > MOCK_MAX_DIM)
        return mn__err_set(err, MN_EINVAL, NULL, "mock embedder dimension %d, expected 1..%d",
                           dim, MOCK_MAX_DIM);
    m = mn__calloc(1, sizeof *m);
    if (!m)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for the mock embedder");
    snprintf(m->model_id, sizeof m->model_id, "mock-%d", dim);
    m->base.name = "mock";
    m->base.model_id = m->model_id;
    m->base.dim = dim;
    m->base.embed = mock_embed;
    m->base.destroy = mock_free;
    *out = &m->base;
    return MN_OK;
}

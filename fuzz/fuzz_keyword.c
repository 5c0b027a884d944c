/* fuzz_keyword.c - target keyword: keyword queries and what they go through. The input's
 * lines are documents; its first line is also the query.
 *   - the tokenizer on the whole input: words are valid UTF-8, at most MN_TOK_MAX_WORD
 *     bytes, positions increase;
 *   - a BM25 index of the lines (some removed again) scored for the query: every score is
 *     finite and >= 0, and a removed document scores 0;
 *   - the engine's keyword and hybrid search of a small user for the query.
 * The tokenizer and BM25 parts keep no state: they may not leak. */
#include <math.h>
#include <string.h>

#include "../src/memory/memory_int.h"
#include "fuzz.h"

#define MAX_DOCS 64

typedef struct wcheck {
    int64_t last_pos;
    size_t n;
} wcheck;

static int on_word(void *ctx, const mn__word *w)
{
    wcheck *c = ctx;
    if (w->word_len == 0 || w->word_len > MN_TOK_MAX_WORD ||
        !mn__utf8_valid(w->word, w->word_len, NULL))
        fz_fail("tokenizer gave a bad word of %zu bytes", w->word_len);
    if (w->stem_len == 0 || w->stem_len > MN_TOK_MAX_WORD + 8)
        fz_fail("tokenizer gave a stem of %zu bytes", w->stem_len);
    if ((int64_t)w->pos <= c->last_pos)
        fz_fail("word position %u after %lld", w->pos, (long long)c->last_pos);
    c->last_pos = w->pos;
    c->n++;
    return 0;
}

static void seed(mn_db *db)
{
    static int done;
    static const char *const texts[] = {
        "I am allergic to peanuts and shellfish", "My sister Caroline lives in Oslo",
        "We adopted a puppy named Max last spring", "The meeting moved to Thursday at 10",
        "Café crème and naïve résumé", "東京で寿司を食べました", "running runs ran runner"};
    mn_memory_in in;
    size_t i;
    if (done)
        return;
    done = 1;
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        mn_memory_in_init(&in);
        in.user_id = "u";
        in.text = texts[i];
        if (mn_memory_add(db, &in, NULL, NULL))
            fz_fail("cannot seed the database");
    }
}

static void engine_search(mn_db *db, const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t qlen = nl ? (size_t)(nl - data) : size;
    char *q = mn__malloc(qlen + 1);
    mn_search_opts so;
    mn_results *res = NULL;
    mn_err err;
    int mode, rc;
    size_t i;
    if (!q)
        fz_fail("out of memory");
    memcpy(q, data, qlen);
    q[qlen] = '\0';
    for (mode = MN_MODE_HYBRID; mode <= MN_MODE_KEYWORD; mode += 2) {
        mn_search_opts_init(&so);
        so.filter.user_id = "u";
        so.query = q;
        so.k = 5;
        so.mode = (mn_search_mode)mode;
        rc = mn_search(db, &so, &res, &err);
        if (rc == MN_OK) {
            for (i = 0; i < res->n; i++)
                if (!isfinite(res->hits[i].score) || strcmp(res->hits[i].mem.user_id, "u"))
                    fz_fail("search hit %zu: score %g, user '%s'", i, res->hits[i].score,
                            res->hits[i].mem.user_id);
            mn_results_free(res);
            res = NULL;
        } else if (rc != MN_EINVAL && rc != MN_EUTF8 && rc != MN_ETOOBIG) {
            fz_fail("search: unexpected %s: %s", mn_err_name(rc), err.msg);
        }
    }
    mn__free(q);
}

static void bm25(mn__tok *tok, const uint8_t *data, size_t size, uint8_t flags)
{
    mn__bm25 *bm = NULL;
    mn__terms docs[MAX_DOCS], query;
    size_t n_docs = 0, i, off = 0;
    float *scores;
    uint32_t d;
    mn__terms_init(&query);
    if (mn__bm25_new(1.2f, 0.75f, 1.0f, &bm))
        fz_fail("out of memory");
    while (off <= size && n_docs < MAX_DOCS) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        mn__terms_init(&docs[n_docs]);
        if (mn__terms_of(tok, (const char *)data + off, len, false, &docs[n_docs]))
            fz_fail("terms_of failed");
        if (n_docs == 0 && mn__terms_of(tok, (const char *)data + off, len, true, &query))
            fz_fail("terms_of (query) failed");
        if (mn__bm25_add(bm, (uint32_t)n_docs, docs[n_docs].v, docs[n_docs].n))
            fz_fail("bm25_add failed");
        n_docs++;
        off += len + 1;
        if (!nl)
            break;
    }
    for (d = 0; d < n_docs; d++)
        if (flags & (1u << (d % 8)) && d % 3 == 1)
            mn__bm25_remove(bm, d);
    scores = mn__calloc(n_docs ? n_docs : 1, sizeof *scores);
    if (!scores)
        fz_fail("out of memory");
    mn__bm25_score_all(bm, query.v, query.n, scores);
    for (d = 0; d < n_docs; d++) {
        if (!isfinite(scores[d]) || scores[d] < 0)
            fz_fail("document %u scored %g", d, (double)scores[d]);
        if (flags & (1u << (d % 8)) && d % 3 == 1 && scores[d] != 0)
            fz_fail("removed document %u scored %g", d, (double)scores[d]);
    }
    for (i = 0; i < query.n; i++)
        (void)mn__bm25_df(bm, query.v[i].s, query.v[i].len);
    mn__free(scores);
    for (i = 0; i < n_docs; i++)
        mn__terms_release(&docs[i]);
    mn__terms_release(&query);
    mn__bm25_free(bm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mn__tok *tok;
    mn_db *db = fz_db("keyword", "mock");
    wcheck wc = {-1, 0};
    int64_t before;
    uint8_t flags;
    if (size < 1)
        return 0;
    flags = data[0];
    data++;
    size--;
    seed(db);
    engine_search(db, data, size);
    if (!tok && mn__tok_new(&tok))
        fz_fail("out of memory");
    before = fz_live_bytes();
    if (mn__tokenize(tok, (const char *)data, size, on_word, &wc))
        fz_fail("tokenize failed");
    bm25(tok, data, size, flags);
    FZ_NO_LEAK(before);
    return 0;
}

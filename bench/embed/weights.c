/* embed_weights.c - measures word weightings of the built-in embedder on the dev data, in
 * vector mode alone (exact cosine over each user's turns, no keyword signal): SIF weights
 * from the model's frequency ranks (the default), idf weights from the user's own
 * memories, and both multiplied, each with and without removing the user's common
 * component (first principal component of the user's turn vectors). Optionally on a second
 * model file (e.g. float32 over the whole vocabulary) to check what the default int8 50k
 * file loses. Usage: embed-weights [--data DIR] [--model PATH]... ; prints a markdown
 * table. Uses the library's internals: a measuring tool, not a client example. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../../src/embed/embed.h"
#include "../../src/text/text.h"
#include "../retrieval/bench.h"

#define MAX_MODELS 4

enum { W_SIF, W_IDF, W_SIF_IDF, W_Q_SIF_IDF, N_WEIGHTS };
static const char *const weight_names[N_WEIGHTS] = {
    "SIF (default)", "idf of the user's memories", "SIF x idf",
    "SIF x idf in the question only (memories: SIF)"};

/* Document frequencies of one user's words: open addressing on the word's hash. */
typedef struct dfmap {
    uint64_t *keys; /* 0: empty */
    uint32_t *df;
    size_t cap, n_docs;
} dfmap;

typedef struct weigh_ctx {
    int mode;
    const dfmap *df;
} weigh_ctx;

static uint64_t word_key(const char *w, size_t len)
{
    uint64_t h = XXH64(w, len, 0x77656967687473ull);
    return h ? h : 1;
}

static uint32_t *df_slot(dfmap *m, uint64_t key, bool insert)
{
    size_t i = key & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        if (!insert)
            return NULL;
        m->keys[i] = key;
    }
    return &m->df[i];
}

typedef struct doc_words {
    uint64_t seen[512];
    size_t n;
    dfmap *m;
} doc_words;

static int count_word(void *ctx, const mn__word *w)
{
    doc_words *d = ctx;
    uint64_t k = word_key(w->word, w->word_len);
    size_t i;
    for (i = 0; i < d->n; i++)
        if (d->seen[i] == k)
            return 0;
    if (d->n < MN_ARRAY_LEN(d->seen))
        d->seen[d->n++] = k;
    (*df_slot(d->m, k, true))++;
    return 0;
}

static void df_build(mn__tok *tok, const bt_corpus *c, dfmap *m)
{
    size_t i;
    m->cap = 1;
    while (m->cap < c->n_turns * 32 + 1024)
        m->cap <<= 1;
    m->keys = bt_calloc(m->cap, sizeof *m->keys);
    m->df = bt_calloc(m->cap, sizeof *m->df);
    m->n_docs = c->n_turns;
    for (i = 0; i < c->n_turns; i++) {
        doc_words d;
        d.n = 0;
        d.m = m;
        mn__tokenize(tok, c->turns[i].text, strlen(c->turns[i].text), count_word, &d);
    }
}

static void df_free(dfmap *m)
{
    free(m->keys);
    free(m->df);
}

static float weigh(void *ctx, const char *word, size_t len, int64_t row, float sif_w)
{
    const weigh_ctx *w = ctx;
    uint32_t *df = w->df ? df_slot((dfmap *)w->df, word_key(word, len), false) : NULL;
    double idf = log((w->df->n_docs + 1.0) / ((df ? *df : 0) + 0.5));
    (void)row;
    return w->mode == W_IDF ? (float)idf : (float)(sif_w * idf); /* SIF x idf for both */
}

/* First principal component of the rows (uncentred, as SIF does) by power iteration. */
static void common_component(const float *v, size_t n, int dim, float *u)
{
    double tmp[1536];
    int it, j;
    size_t i;
    for (j = 0; j < dim; j++)
        u[j] = 1.0f / sqrtf((float)dim);
    for (it = 0; it < 50; it++) {
        double norm = 0;
        memset(tmp, 0, sizeof tmp);
        for (i = 0; i < n; i++) {
            const float *r = v + i * (size_t)dim;
            double d = 0;
            for (j = 0; j < dim; j++)
                d += (double)r[j] * u[j];
            for (j = 0; j < dim; j++)
                tmp[j] += d * r[j];
        }
        for (j = 0; j < dim; j++)
            norm += tmp[j] * tmp[j];
        if (!(norm > 0))
            return;
        for (j = 0; j < dim; j++)
            u[j] = (float)(tmp[j] / sqrt(norm));
    }
}

static void remove_component(float *r, int dim, const float *u)
{
    double d = 0, norm = 0;
    int j;
    for (j = 0; j < dim; j++)
        d += (double)r[j] * u[j];
    for (j = 0; j < dim; j++) {
        r[j] -= (float)d * u[j];
        norm += (double)r[j] * r[j];
    }
    if (norm > 1e-12)
        for (j = 0; j < dim; j++)
            r[j] = (float)(r[j] / sqrt(norm));
}

typedef struct score {
    size_t questions, hit10, hit5;
} score;

static void embed_all(mn__embedder *e, const char *const *texts, size_t n, float *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (e->embed(e, texts[i], strlen(texts[i]), out + i * (size_t)e->dim, NULL))
            memset(out + i * (size_t)e->dim, 0, (size_t)e->dim * sizeof *out);
}

/* Ranks the corpus's turns for each of its questions and counts hits. */
static void eval_corpus(mn__embedder *e, mn__tok *tok, const bt_dataset *d, size_t ci,
                        int mode, bool cc, score *s)
{
    const bt_corpus *c = &d->corpora[ci];
    int dim = e->dim;
    size_t qi, i, j, n_q = 0;
    const char **qtexts;
    float *tv, *qv, u[1536], *sc;
    dfmap df;
    weigh_ctx wc;
    memset(&df, 0, sizeof df);
    for (qi = 0; qi < d->n_questions; qi++)
        if (d->questions[qi].corpus == ci && d->cats[d->questions[qi].cat].scored)
            n_q++;
    if (!n_q || !c->n_turns)
        return;
    if (mode != W_SIF) {
        df_build(tok, c, &df);
        wc.mode = mode;
        wc.df = &df;
        mn__embed_builtin_set_weigher(e, weigh, &wc, NULL);
    }
    tv = bt_malloc(c->n_turns * (size_t)dim * sizeof *tv);
    qv = bt_malloc(n_q * (size_t)dim * sizeof *qv);
    qtexts = bt_malloc(n_q * sizeof *qtexts);
    sc = bt_malloc(c->n_turns * sizeof *sc);
    {
        const char **tt = bt_malloc(c->n_turns * sizeof *tt);
        for (i = 0; i < c->n_turns; i++)
            tt[i] = c->turns[i].text;
        if (mode == W_Q_SIF_IDF) /* memories keep SIF: their vectors never go stale */
            mn__embed_builtin_set_weigher(e, NULL, NULL, NULL);
        embed_all(e, tt, c->n_turns, tv);
        if (mode == W_Q_SIF_IDF)
            mn__embed_builtin_set_weigher(e, weigh, &wc, NULL);
        free(tt);
    }
    for (qi = 0, j = 0; qi < d->n_questions; qi++)
        if (d->questions[qi].corpus == ci && d->cats[d->questions[qi].cat].scored)
            qtexts[j++] = d->questions[qi].text;
    embed_all(e, qtexts, n_q, qv);
    mn__embed_builtin_set_weigher(e, NULL, NULL, NULL);
    if (cc) {
        common_component(tv, c->n_turns, dim, u);
        for (i = 0; i < c->n_turns; i++)
            remove_component(tv + i * (size_t)dim, dim, u);
        for (i = 0; i < n_q; i++)
            remove_component(qv + i * (size_t)dim, dim, u);
    }
    for (qi = 0, j = 0; qi < d->n_questions; qi++) {
        const bt_question *q = &d->questions[qi];
        const float *x;
        size_t e2, better_best = (size_t)-1;
        if (q->corpus != ci || !d->cats[q->cat].scored)
            continue;
        x = qv + j++ * (size_t)dim;
        for (i = 0; i < c->n_turns; i++) {
            double dot = 0;
            const float *r = tv + i * (size_t)dim;
            int k;
            for (k = 0; k < dim; k++)
                dot += (double)x[k] * r[k];
            sc[i] = (float)dot;
        }
        /* rank of the best evidence turn: turns scoring strictly above it (ties: by index) */
        for (e2 = 0; e2 < q->n_evidence; e2++) {
            size_t t = q->evidence[e2], above = 0;
            for (i = 0; i < c->n_turns; i++)
                if (sc[i] > sc[t] || (sc[i] == sc[t] && i < t))
                    above++;
            if (above < better_best)
                better_best = above;
        }
        s->questions++;
        s->hit10 += better_best < 10;
        s->hit5 += better_best < 5;
    }
    free(tv);
    free(qv);
    free(qtexts);
    free(sc);
    if (mode != W_SIF)
        df_free(&df);
}

static void usage(void)
{
    fprintf(stderr, "usage: embed-weights [--data DIR] [--model PATH]...\n"
                    "  vector-mode hit@5/@10 of word weightings on LoCoMo and LongMemEval dev\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *data = getenv("MNEMO_DATA"), *models[MAX_MODELS];
    int n_models = 0, a, m, w, cc, ds;
    bt_dataset sets[2];
    char path[4096];
    mn__tok *tok;
    if (!data)
        data = "../shared/data";
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc)
            data = argv[++a];
        else if (!strcmp(argv[a], "--model") && a + 1 < argc && n_models < MAX_MODELS)
            models[n_models++] = argv[++a];
        else
            usage();
    }
    if (!n_models)
        models[n_models++] = NULL; /* the default model file */
    memset(sets, 0, sizeof sets);
    snprintf(path, sizeof path, "%s/locomo_dev.json.gz", data);
    if (bt_load_locomo(path, 0, &sets[0]))
        return 1;
    snprintf(path, sizeof path, "%s/longmemeval_s_dev.jsonl.gz", data);
    if (bt_load_longmemeval(path, 0, &sets[1]))
        return 1;
    if (mn__tok_new(&tok))
        return 1;
    {
        size_t scored = 0, qi;
        time_t now = time(NULL);
        for (qi = 0; qi < sets[0].n_questions; qi++)
            scored += sets[0].cats[sets[0].questions[qi].cat].scored;
        struct tm tmv;
        char day[32];
        gmtime_r(&now, &tmv);
        strftime(day, sizeof day, "%Y-%m-%d", &tmv);
        printf("# Word weights of the built-in embedder (vector mode alone)\n\n"
               "Generated by `build/bench/embed-weights` (`make bench-embed "
               "EMBED_MODELS=\"...\"`; source bench/embed/weights.c) on %s. Data: LoCoMo dev "
               "(%zu conversations, %zu scored questions) and LongMemEval-S dev (%zu haystacks); "
               "every turn embedded as it is, ranked by exact cosine per user, no keyword "
               "signal. Model files other than the default are built with `scripts/build-model "
               "--type f32 [--words 0]` from the same npm package. Discussion in "
               "docs/RETRIEVAL.md.\n\n",
               day, sets[0].n_corpora, scored, sets[1].n_corpora);
    }
    printf("| model | weights | common component removed | LoCoMo hit@5 | LoCoMo hit@10 "
           "| LongMemEval hit@5 | LongMemEval hit@10 |\n|---|---|---|---:|---:|---:|---:|\n");
    for (m = 0; m < n_models; m++) {
        mn__embedder *e = NULL;
        mn_err err;
        if (mn__embed_builtin_open(models[m], &e, &err)) {
            fprintf(stderr, "embed-weights: %s\n", err.msg);
            return 1;
        }
        for (w = 0; w < N_WEIGHTS; w++)
            for (cc = 0; cc < 2; cc++) {
                score s[2];
                memset(s, 0, sizeof s);
                for (ds = 0; ds < 2; ds++) {
                    size_t ci;
                    for (ci = 0; ci < sets[ds].n_corpora; ci++)
                        eval_corpus(e, tok, &sets[ds], ci, w, cc, &s[ds]);
                }
                printf("| %s | %s | %s | %.3f | %.3f | %.3f | %.3f |\n",
                       models[m] ? (strrchr(models[m], '/') ? strrchr(models[m], '/') + 1
                                                            : models[m])
                                 : "default model file",
                       weight_names[w], cc ? "yes" : "no", (double)s[0].hit5 / s[0].questions,
                       (double)s[0].hit10 / s[0].questions, (double)s[1].hit5 / s[1].questions,
                       (double)s[1].hit10 / s[1].questions);
                fflush(stdout);
            }
        e->destroy(e);
    }
    mn__tok_free(tok);
    bt_dataset_free(&sets[0]);
    bt_dataset_free(&sets[1]);
    return 0;
}

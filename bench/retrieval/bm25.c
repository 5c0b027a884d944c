/* bm25.c - the plain BM25 baseline, independent of the library so that it measures the
 * same thing whatever mnemo's tokenizer does: lower-cased ASCII [a-z0-9]+ tokens, no
 * stemming, optionally the NLTK English stopword list; k1 = 1.2, b = 0.75. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define K1 1.2
#define B 0.75

/* The NLTK English list. Its forms with an apostrophe ("don't") never occur as [a-z0-9]+
 * tokens; their parts ("don", "t") are in the list, so they are left out. */
static const char *const stopwords[] = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be",
    "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an",
    "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
    "for", "with", "about", "against", "between", "into", "through", "during", "before",
    "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
    "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
    "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no",
    "nor", "not", "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will",
    "just", "don", "should", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren",
    "couldn", "didn", "doesn", "hadn", "hasn", "haven", "isn", "ma", "mightn", "mustn",
    "needn", "shan", "shouldn", "wasn", "weren", "won", "wouldn",
};

bool bt_is_stopword(const char *w, size_t len)
{
    size_t i;
    for (i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++) {
        if (strlen(stopwords[i]) == len && memcmp(stopwords[i], w, len) == 0)
            return true;
    }
    return false;
}

typedef struct posting {
    uint32_t doc, tf;
} posting;

typedef struct term {
    char *s;
    size_t len;
    posting *post;
    size_t n_post, cap_post;
} term;

struct bt_bm25 {
    bool stop;
    size_t n_docs;
    double avgdl;
    uint32_t *dl;
    term *terms;
    size_t n_terms, cap_terms;
    uint32_t *slots; /* open addressing: term index + 1, 0 = empty */
    size_t n_slots;  /* power of two */
    double *score;   /* query scratch, one per doc */
    uint32_t *touched;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Next token of s from *pos: lower-cased into buf (truncated to cap-1 bytes, which only
 * merges absurdly long tokens). Returns its length, 0 at the end. */
static size_t next_token(const char *s, size_t *pos, char *buf, size_t cap)
{
    size_t i = *pos, n = 0;
    for (; s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z'))
            break;
    }
    for (; s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            break;
        if (n + 1 < cap)
            buf[n++] = (char)ch;
    }
    *pos = i;
    return n;
}

/* Slot of a token: the matching term's slot, or the empty slot where it would go. */
static size_t find_slot(const bt_bm25 *ix, const char *w, size_t len)
{
    size_t mask = ix->n_slots - 1, i = (size_t)hash_bytes(w, len) & mask;
    for (;;) {
        uint32_t v = ix->slots[i];
        if (v == 0)
            return i;
        if (ix->terms[v - 1].len == len && memcmp(ix->terms[v - 1].s, w, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static void rehash(bt_bm25 *ix)
{
    size_t i;
    free(ix->slots);
    ix->n_slots = ix->n_slots ? ix->n_slots * 2 : 1024;
    ix->slots = bt_calloc(ix->n_slots, sizeof *ix->slots);
    for (i = 0; i < ix->n_terms; i++)
        ix->slots[find_slot(ix, ix->terms[i].s, ix->terms[i].len)] = (uint32_t)(i + 1);
}

static term *term_get_or_add(bt_bm25 *ix, const char *w, size_t len)
{
    size_t slot;
    term *t;
    if ((ix->n_terms + 1) * 2 > ix->n_slots)
        rehash(ix);
    slot = find_slot(ix, w, len);
    if (ix->slots[slot])
        return &ix->terms[ix->slots[slot] - 1];
    bt_grow((void **)&ix->terms, &ix->cap_terms, ix->n_terms + 1, sizeof *ix->terms);
    t = &ix->terms[ix->n_terms++];
    memset(t, 0, sizeof *t);
    t->s = bt_strndup(w, len);
    t->len = len;
    ix->slots[slot] = (uint32_t)ix->n_terms;
    return t;
}

static const term *term_find(const bt_bm25 *ix, const char *w, size_t len)
{
    uint32_t v = ix->slots[find_slot(ix, w, len)];
    return v ? &ix->terms[v - 1] : NULL;
}

bt_bm25 *bt_bm25_build(const bt_corpus *c, bool stop)
{
    bt_bm25 *ix = bt_calloc(1, sizeof *ix);
    char tok[256];
    size_t d, total = 0;

    ix->stop = stop;
    ix->n_docs = c->n_turns;
    ix->dl = bt_calloc(c->n_turns, sizeof *ix->dl);
    ix->score = bt_calloc(c->n_turns, sizeof *ix->score);
    ix->touched = bt_calloc(c->n_turns, sizeof *ix->touched);
    rehash(ix);
    for (d = 0; d < c->n_turns; d++) {
        size_t pos = 0, len;
        while ((len = next_token(c->turns[d].text, &pos, tok, sizeof tok)) > 0) {
            term *t;
            if (stop && bt_is_stopword(tok, len))
                continue;
            t = term_get_or_add(ix, tok, len);
            /* documents are indexed in order, so this doc's posting is the last one */
            if (t->n_post && t->post[t->n_post - 1].doc == d) {
                t->post[t->n_post - 1].tf++;
            } else {
                bt_grow((void **)&t->post, &t->cap_post, t->n_post + 1, sizeof *t->post);
                t->post[t->n_post].doc = (uint32_t)d;
                t->post[t->n_post].tf = 1;
                t->n_post++;
            }
            ix->dl[d]++;
            total++;
        }
    }
    ix->avgdl = c->n_turns ? (double)total / (double)c->n_turns : 0;
    return ix;
}

/* Is doc a ranked before doc b? Higher score first, then the earlier turn. */
static bool better(const bt_bm25 *ix, uint32_t a, uint32_t b)
{
    if (ix->score[a] != ix->score[b])
        return ix->score[a] > ix->score[b];
    return a < b;
}

size_t bt_bm25_search(bt_bm25 *ix, const char *query, size_t k, size_t *out)
{
    char tok[256];
    size_t pos = 0, len, n_touched = 0, n_out = 0, i, j;

    if (ix->avgdl <= 0 || k == 0)
        return 0;
    /* Repeated query words count once per occurrence, as in the common implementations. */
    while ((len = next_token(query, &pos, tok, sizeof tok)) > 0) {
        const term *t;
        double df, idf;
        if (ix->stop && bt_is_stopword(tok, len))
            continue;
        t = term_find(ix, tok, len);
        if (!t)
            continue;
        df = (double)t->n_post;
        /* Lucene's idf: never negative, so a word in most turns still adds a little. */
        idf = log(1.0 + ((double)ix->n_docs - df + 0.5) / (df + 0.5));
        for (i = 0; i < t->n_post; i++) {
            uint32_t d = t->post[i].doc;
            double tf = t->post[i].tf;
            double norm = K1 * (1.0 - B + B * (double)ix->dl[d] / ix->avgdl);
            if (ix->score[d] == 0)
                ix->touched[n_touched++] = d;
            ix->score[d] += idf * tf * (K1 + 1.0) / (tf + norm);
        }
    }
    /* insertion into the short top-k list */
    for (i = 0; i < n_touched; i++) {
        uint32_t d = ix->touched[i];
        if (n_out == k && !better(ix, d, (uint32_t)out[n_out - 1]))
            continue;
        j = n_out < k ? n_out++ : n_out - 1;
        while (j > 0 && better(ix, d, (uint32_t)out[j - 1])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = d;
    }
    for (i = 0; i < n_touched; i++)
        ix->score[ix->touched[i]] = 0;
    return n_out;
}

void bt_bm25_free(bt_bm25 *ix)
{
    size_t i;
    if (!ix)
        return;
    for (i = 0; i < ix->n_terms; i++) {
        free(ix->terms[i].s);
        free(ix->terms[i].post);
    }
    free(ix->terms);
    free(ix->slots);
    free(ix->dl);
    free(ix->score);
    free(ix->touched);
    free(ix);
}

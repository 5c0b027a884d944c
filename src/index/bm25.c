/* bm25.c - the keyword index: a term dictionary pointing at growable postings lists
 * (doc, tf), per-document lengths, and Okapi BM25 scoring into a dense score array.
 * Removal is a tombstone: the postings stay, statistics and results leave the document out. */
#include <math.h>
#include <string.h>

#include "index.h"

/* Longer terms are cut to this many bytes, on both the indexing and the query side. */
#define MAX_TERM 255

typedef struct posting {
    uint32_t doc;
    uint16_t tf; /* saturates at 65535 */
} posting;

typedef struct plist {
    posting *p;
    uint32_t n, cap;
} plist;

struct mn__bm25 {
    float k1, b, idf_pow;
    mn__hmap dict; /* term bytes -> index into terms, plus one */
    plist *terms;
    uint32_t n_terms, cap_terms;
    uint32_t *dl;   /* document length in terms, duplicates included */
    uint8_t *dead;  /* 1 once removed */
    uint32_t n_docs, cap_docs;
    uint32_t n_live, n_dead;
    uint64_t live_len; /* sum of dl over live documents, for avgdl */
    size_t key_bytes, posting_cap; /* for mn__bm25_bytes */
    uint32_t *scratch;             /* term ids of the document being added */
    size_t scratch_cap;
};

int mn__bm25_new(float k1, float b, float idf_pow, mn__bm25 **out)
{
    mn__bm25 *bm;
    *out = NULL;
    if (!(k1 >= 0.0f) || !(b >= 0.0f && b <= 1.0f) || !(idf_pow > 0.0f && idf_pow <= 8.0f))
        return MN_EINVAL;
    bm = mn__calloc(1, sizeof *bm);
    if (!bm)
        return MN_ENOMEM;
    bm->k1 = k1;
    bm->b = b;
    bm->idf_pow = idf_pow;
    mn__hmap_init(&bm->dict);
    *out = bm;
    return MN_OK;
}

void mn__bm25_free(mn__bm25 *bm)
{
    uint32_t i;
    if (!bm)
        return;
    for (i = 0; i < bm->n_terms; i++)
        mn__free(bm->terms[i].p);
    mn__free(bm->terms);
    mn__free(bm->dl);
    mn__free(bm->dead);
    mn__free(bm->scratch);
    mn__hmap_release(&bm->dict);
    mn__free(bm);
}

static uint32_t clip(uint32_t len)
{
    return len > MAX_TERM ? MAX_TERM : len;
}

/* Index of the term, or -1 when it is not in the dictionary. */
static long find(const mn__bm25 *bm, const char *s, uint32_t len)
{
    void *v = mn__hmap_get(&bm->dict, s, clip(len));
    return v ? (long)((uintptr_t)v - 1) : -1;
}

static int reserve_docs(mn__bm25 *bm)
{
    uint32_t ncap;
    uint32_t *dl;
    uint8_t *dead;
    if (bm->n_docs < bm->cap_docs)
        return MN_OK;
    if (bm->cap_docs >= UINT32_MAX / 2)
        return MN_ETOOBIG;
    ncap = bm->cap_docs ? bm->cap_docs * 2 : 64;
    dl = mn__realloc(bm->dl, (size_t)ncap * sizeof *dl);
    if (!dl)
        return MN_ENOMEM;
    bm->dl = dl;
    dead = mn__realloc(bm->dead, ncap);
    if (!dead)
        return MN_ENOMEM;
    bm->dead = dead;
    bm->cap_docs = ncap;
    return MN_OK;
}

/* Finds or creates the term and makes room for one more posting of `doc` in it. */
static int prepare_term(mn__bm25 *bm, const char *s, uint32_t len, uint32_t doc,
                        uint32_t *out_id)
{
    long id = find(bm, s, len);
    plist *t;
    int rc;
    len = clip(len);
    if (id < 0) {
        if (bm->n_terms == bm->cap_terms) {
            uint32_t ncap = bm->cap_terms ? bm->cap_terms * 2 : 256;
            plist *nt;
            if (bm->cap_terms >= UINT32_MAX / 2)
                return MN_ETOOBIG;
            nt = mn__realloc(bm->terms, (size_t)ncap * sizeof *nt);
            if (!nt)
                return MN_ENOMEM;
            bm->terms = nt;
            bm->cap_terms = ncap;
        }
        rc = mn__hmap_put(&bm->dict, s, len, (void *)(uintptr_t)(bm->n_terms + 1));
        if (rc)
            return rc;
        id = bm->n_terms++;
        memset(&bm->terms[id], 0, sizeof bm->terms[id]);
        bm->key_bytes += len + 1;
    }
    t = &bm->terms[id];
    *out_id = (uint32_t)id;
    if ((t->n > 0 && t->p[t->n - 1].doc == doc) || t->n < t->cap)
        return MN_OK;
    {
        /* most terms occur in one or two documents: start small, then double */
        uint32_t ncap = t->cap ? t->cap * 2 : 1;
        posting *np;
        if (t->cap >= UINT32_MAX / 2)
            return MN_ETOOBIG;
        np = mn__realloc(t->p, (size_t)ncap * sizeof *np);
        if (!np)
            return MN_ENOMEM;
        bm->posting_cap += ncap - t->cap;
        t->p = np;
        t->cap = ncap;
    }
    return MN_OK;
}

int mn__bm25_add(mn__bm25 *bm, uint32_t doc, const mn__term *terms, size_t n_terms)
{
    uint32_t len = 0;
    size_t i;
    int rc;

    if (doc != bm->n_docs)
        return MN_EINVAL;
    if (bm->n_docs == UINT32_MAX || n_terms > UINT32_MAX)
        return MN_ETOOBIG;
    if ((rc = reserve_docs(bm)) != MN_OK)
        return rc;
    if (n_terms > bm->scratch_cap) {
        uint32_t *ns = mn__realloc(bm->scratch, n_terms * sizeof *ns);
        if (!ns)
            return MN_ENOMEM;
        bm->scratch = ns;
        bm->scratch_cap = n_terms;
    }
    /* Every allocation happens in this first pass, so a failure leaves no partial
     * document behind (at worst a few terms with no postings, which score nothing). */
    for (i = 0; i < n_terms; i++) {
        bm->scratch[i] = UINT32_MAX;
        if (terms[i].len == 0)
            continue;
        rc = prepare_term(bm, terms[i].s, terms[i].len, doc, &bm->scratch[i]);
        if (rc)
            return rc;
    }
    for (i = 0; i < n_terms; i++) {
        plist *t;
        if (bm->scratch[i] == UINT32_MAX)
            continue;
        t = &bm->terms[bm->scratch[i]];
        len++;
        if (t->n > 0 && t->p[t->n - 1].doc == doc) {
            if (t->p[t->n - 1].tf < UINT16_MAX)
                t->p[t->n - 1].tf++;
            continue;
        }
        t->p[t->n].doc = doc;
        t->p[t->n].tf = 1;
        t->n++;
    }
    bm->dl[doc] = len;
    bm->dead[doc] = 0;
    bm->n_docs++;
    bm->n_live++;
    bm->live_len += len;
    return MN_OK;
}

void mn__bm25_remove(mn__bm25 *bm, uint32_t doc)
{
    if (doc >= bm->n_docs || bm->dead[doc])
        return;
    bm->dead[doc] = 1;
    bm->n_live--;
    bm->n_dead++;
    bm->live_len -= bm->dl[doc];
}

/* Live documents containing term t: its list length until something was removed. */
static uint32_t live_df(const mn__bm25 *bm, const plist *t)
{
    uint32_t i, c = 0;
    if (bm->n_dead == 0)
        return t->n;
    for (i = 0; i < t->n; i++)
        c += !bm->dead[t->p[i].doc];
    return c;
}

/* 1 when q[j] repeats an earlier query term (after the same clipping as indexing). */
static int seen_before(const mn__term *q, size_t j)
{
    uint32_t lj = clip(q[j].len);
    size_t i;
    for (i = 0; i < j; i++)
        if (clip(q[i].len) == lj && !memcmp(q[i].s, q[j].s, lj))
            return 1;
    return 0;
}

size_t mn__bm25_score_all(const mn__bm25 *bm, const mn__term *q, size_t n_q, float *out)
{
    float avgdl, k1 = bm->k1, b = bm->b;
    size_t j, hits = 0;
    uint32_t i;

    if (bm->n_docs)
        memset(out, 0, (size_t)bm->n_docs * sizeof *out);
    if (bm->n_live == 0)
        return 0;
    avgdl = (float)((double)bm->live_len / bm->n_live);
    if (!(avgdl > 0.0f))
        avgdl = 1.0f; /* every live document is empty: length normalisation is moot */
    for (j = 0; j < n_q; j++) {
        const plist *t;
        long id;
        uint32_t df;
        float idf;
        if (q[j].len == 0 || seen_before(q, j))
            continue;
        id = find(bm, q[j].s, q[j].len);
        if (id < 0)
            continue;
        t = &bm->terms[id];
        df = live_df(bm, t);
        if (df == 0)
            continue;
        /* the "+1" form of idf: never negative, so common terms cannot push scores down */
        idf = logf(1.0f + ((float)bm->n_live - (float)df + 0.5f) / ((float)df + 0.5f));
        if (bm->idf_pow != 1.0f)
            idf = powf(idf, bm->idf_pow);
        for (i = 0; i < t->n; i++) {
            const posting *p = &t->p[i];
            float tf = p->tf, norm;
            if (bm->n_dead && bm->dead[p->doc])
                continue;
            norm = k1 * (1.0f - b + b * (float)bm->dl[p->doc] / avgdl);
            out[p->doc] += idf * tf * (k1 + 1.0f) / (tf + norm);
        }
    }
    for (i = 0; i < bm->n_docs; i++)
        hits += out[i] > 0.0f;
    return hits;
}

uint32_t mn__bm25_ndocs(const mn__bm25 *bm)
{
    return bm->n_docs;
}

uint32_t mn__bm25_df(const mn__bm25 *bm, const char *term, uint32_t len)
{
    long id = find(bm, term, len);
    return id < 0 ? 0 : live_df(bm, &bm->terms[id]);
}

uint32_t mn__bm25_nlive(const mn__bm25 *bm)
{
    return bm->n_live;
}

size_t mn__bm25_bytes(const mn__bm25 *bm)
{
    return sizeof *bm + bm->dict.cap * sizeof(mn__hmap_slot) + bm->key_bytes +
           (size_t)bm->cap_terms * sizeof(plist) + bm->posting_cap * sizeof(posting) +
           (size_t)bm->cap_docs * (sizeof(uint32_t) + 1) + bm->scratch_cap * sizeof(uint32_t);
}

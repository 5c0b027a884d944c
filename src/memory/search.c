/* search.c - ranking a user's memories for a query: filters to a row mask, BM25 and cosine
 * scores over the partition, fusion, top-k, then the rows fetched from the store. */
#include <string.h>

#include "memory_int.h"

#define MAX_QKEYS 64 /* query words checked against speaker names */

typedef struct cand {
    mn_id id;
    float score, kw, vec;
} cand;

static int check_opts(mn_db *db, const mn_search_opts *o, mn__pkey *k, mn_err *err)
{
    int rc;
    if (!o)
        return mn__err_set(err, MN_EINVAL, NULL, "search options are NULL");
    rc = mn__pkey_make(o->filter.tenant, o->filter.scope, o->filter.user_id, k, err);
    if (rc)
        return rc;
    rc = mn__check_text(db, "query", o->query, err);
    if (rc)
        return rc;
    if (o->k < 1 || o->k > MN_MAX_K)
        return mn__err_set(err, MN_ERANGE, "use a k between 1 and 1000",
                           "k is %d, allowed 1..%d", o->k, MN_MAX_K);
    if (!mn_mode_name(o->mode))
        return mn__err_set(err, MN_EINVAL, "use hybrid, vector or keyword",
                           "unknown search mode %d", (int)o->mode);
    if (o->filter.session_id && (rc = mn__check_id("session id", o->filter.session_id, err)))
        return rc;
    if (o->as_of_ms < 0)
        return mn__err_set(err, MN_ERANGE, "give a time after 1970, or 0 for now",
                           "as_of_ms is %lld", (long long)o->as_of_ms);
    if (o->filter.since_ms && o->filter.until_ms && o->filter.since_ms >= o->filter.until_ms)
        return mn__err_set(err, MN_EINVAL, "make 'since' earlier than 'until'",
                           "empty time range: since %lld >= until %lld",
                           (long long)o->filter.since_ms, (long long)o->filter.until_ms);
    return MN_OK;
}

/* Rows a summary stands in for (archived, summarized, not asked for, passing the time and
 * session filters): their scores go to their summary. Returns how many. */
static size_t build_cover_mask(const mn__part *p, const mn_filter *f, const uint8_t *mask,
                               uint8_t *cmask)
{
    unsigned statuses = f->statuses ? f->statuses : MN_STATUS_BIT(MN_STATUS_ACTIVE);
    uint64_t sess = f->session_id ? mn__hash64(f->session_id, strlen(f->session_id), 1) : 0;
    size_t i, n = 0;
    if (!p->cover.n || (statuses & MN_STATUS_BIT(MN_STATUS_ARCHIVED)))
        return 0;
    for (i = 0; i < p->n; i++) {
        int ok = !mask[i] && p->alive[i] && p->status[i] == MN_STATUS_ARCHIVED &&
                 (!sess || p->session[i] == sess) &&
                 (!f->since_ms || p->created[i] >= f->since_ms) &&
                 (!f->until_ms || p->created[i] < f->until_ms) &&
                 mn__hmap_get(&p->cover, (const char *)&p->ids[i], sizeof p->ids[i]);
        cmask[i] = (uint8_t)ok;
        n += (size_t)ok;
    }
    return n;
}

/* A summary scores at least SUMMARY_SHARE of the best message it stands for: the summary
 * comes up for any detail of its sources, in their stead (docs/COMPRESSION.md). */
#define SUMMARY_SHARE 0.9f

static void lift_summaries(const mn__part *p, const uint8_t *mask, const uint8_t *cmask,
                           float *fused)
{
    size_t i;
    for (i = 0; i < p->n; i++) {
        void *v;
        long j;
        if (!cmask[i])
            continue;
        v = mn__hmap_get(&p->cover, (const char *)&p->ids[i], sizeof p->ids[i]);
        j = v ? mn__part_find(p, (mn_id)(intptr_t)v) : -1;
        if (j >= 0 && mask[j] && fused[i] > MN_FUSE_NONE &&
            SUMMARY_SHARE * fused[i] > fused[j])
            fused[j] = SUMMARY_SHARE * fused[i];
        fused[i] = MN_FUSE_NONE; /* not a result, and no neighbour of one */
    }
}

/* Row mask from the filter; returns the number of candidate rows. */
static size_t build_mask(const mn__part *p, const mn_filter *f, uint8_t *mask)
{
    unsigned statuses = f->statuses ? f->statuses : MN_STATUS_BIT(MN_STATUS_ACTIVE);
    uint64_t sess = f->session_id ? mn__hash64(f->session_id, strlen(f->session_id), 1) : 0;
    size_t i, n = 0;
    for (i = 0; i < p->n; i++) {
        int ok = p->alive[i] && (statuses & MN_STATUS_BIT(p->status[i])) &&
                 (!f->kinds || (f->kinds & MN_KIND_BIT(p->kind[i]))) &&
                 (!sess || p->session[i] == sess) &&
                 (!f->since_ms || p->created[i] >= f->since_ms) &&
                 (!f->until_ms || p->created[i] < f->until_ms);
        mask[i] = (uint8_t)ok;
        n += (size_t)ok;
    }
    return n;
}

static int word_in(const mn__word *w, const char *const *words, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++)
        if (w->word_len == strlen(words[j]) && !memcmp(w->word, words[j], w->word_len))
            return 1;
    return 0;
}

typedef struct person_scan {
    int first;      /* the asker speaks of themself */
    int told;       /* the asker quotes the assistant: "you said", "did you recommend" */
    int after_you;
} person_scan;

static int person_word(void *ctx, const mn__word *w)
{
    static const char *const mine[] = {"i", "me", "my", "mine", "myself", "im", "ive", "id"};
    static const char *const verbs[] = {"said", "say", "told", "tell", "mentioned", "mention",
                                        "recommended", "recommend", "suggested", "suggest",
                                        "gave", "give", "listed", "provided", "explained"};
    person_scan *ps = ctx;
    if (word_in(w, mine, MN_ARRAY_LEN(mine)))
        ps->first = 1;
    if (ps->after_you && word_in(w, verbs, MN_ARRAY_LEN(verbs)))
        ps->told = 1;
    ps->after_you = w->word_len == 3 && !memcmp(w->word, "you", 3);
    return 0;
}

/* Query terms, and whose words likely hold the answer: a question about oneself ("my",
 * "I") is answered by what the user said, one quoting the assistant ("what did you
 * recommend") by what the assistant said. *out_role gets that role, or MN_ROLE_NONE. */
static int query_terms(mn_db *db, const char *q, mn__terms *terms, int *out_role)
{
    mn__tok *tok = mn__tok_acquire(db);
    person_scan ps = {0, 0, 0};
    int rc;
    if (!tok)
        return MN_ENOMEM;
    rc = mn__terms_of(tok, q, strlen(q), true, terms);
    if (!rc)
        mn__tokenize(tok, q, strlen(q), person_word, &ps);
    *out_role = ps.told ? MN_ROLE_ASSISTANT : ps.first ? MN_ROLE_USER : MN_ROLE_NONE;
    mn__tok_release(db, tok);
    return rc;
}

/* Final scores and the top k: a row also inherits a share of its best neighbouring turn's
 * score in the same session (an answer often follows the turn that names the topic), and
 * rows said by the user may be weighted. */
static int names_speaker(const uint64_t *qkeys, size_t n_q, uint64_t spk)
{
    size_t j;
    if (!spk)
        return 0;
    for (j = 0; j < n_q; j++)
        if (qkeys[j] == spk)
            return 1;
    return 0;
}

/* The best and second-best score of each session, for the session signal: open addressing
 * on the session hash over rows with a score. Returns the table's capacity (a power of two,
 * 0 when out of memory: the signal is then left out). */
typedef struct sess_best {
    uint64_t key; /* 0: empty */
    float best, second;
} sess_best;

static size_t session_bests(const mn__part *p, const float *fused, sess_best **out)
{
    size_t cap = 16, i, n_scored = 0;
    sess_best *t;
    /* sized by the rows that count, not the partition: a big partition with few scored
     * rows would otherwise clear megabytes per search */
    for (i = 0; i < p->n; i++)
        n_scored += p->session[i] && fused[i] > MN_FUSE_NONE;
    while (cap < 2 * n_scored)
        cap <<= 1;
    t = mn__calloc(cap, sizeof *t);
    *out = t;
    if (!t)
        return 0;
    for (i = 0; i < p->n; i++) {
        size_t h;
        if (!p->session[i] || fused[i] <= MN_FUSE_NONE)
            continue;
        h = (size_t)p->session[i] & (cap - 1);
        while (t[h].key && t[h].key != p->session[i])
            h = (h + 1) & (cap - 1);
        if (!t[h].key) {
            t[h].key = p->session[i];
            t[h].best = t[h].second = 0.0f;
        }
        if (fused[i] > t[h].best) {
            t[h].second = t[h].best;
            t[h].best = fused[i];
        } else if (fused[i] > t[h].second) {
            t[h].second = fused[i];
        }
    }
    return cap;
}

/* The best score among the other rows of row i's session (0: none). */
static float session_other(const sess_best *t, size_t cap, uint64_t key, float self)
{
    size_t h = (size_t)key & (cap - 1);
    while (t[h].key && t[h].key != key)
        h = (h + 1) & (cap - 1);
    if (!t[h].key)
        return 0.0f;
    return self >= t[h].best ? t[h].second : t[h].best;
}

/* What the question says besides its terms: the speakers it names, whose turns likely hold
 * the answer, and the time it points at. */
typedef struct qhints {
    const uint64_t *qkeys; /* term keys, to match speaker names */
    size_t n_q;
    int asker_role;        /* MN_ROLE_NONE, or the role whose turns are favoured */
    int64_t t_from, t_to;  /* a relative time expression's window; t_to 0: none */
} qhints;

static void push_ranked(const mn_db *db, const mn__part *p, const uint8_t *mask,
                        const float *fused, mn_search_mode mode, const qhints *h,
                        mn__topk *top)
{
    /* keyword and vector modes rank by their own signal only */
    float a = mode == MN_MODE_HYBRID ? db->rank.neighbor : 0.0f, wu = db->rank.w_role;
    float ws = mode == MN_MODE_HYBRID ? db->rank.w_session : 0.0f;
    sess_best *sb = NULL;
    size_t n = p->n, i, sb_cap = ws > 0 ? session_bests(p, fused, &sb) : 0;
    for (i = 0; i < n; i++) {
        float s = fused[i], nb = MN_FUSE_NONE;
        if (!mask[i])
            continue;
        if (sb_cap && p->session[i] != 0 && s > MN_FUSE_NONE)
            s += ws * session_other(sb, sb_cap, p->session[i], fused[i]);
        if (a > 0 && p->session[i] != 0) { /* turns without a session have no neighbours */
            if (i > 0 && p->session[i - 1] == p->session[i] && fused[i - 1] > nb)
                nb = fused[i - 1];
            if (i + 1 < n && p->session[i + 1] == p->session[i] && fused[i + 1] > nb)
                nb = fused[i + 1];
            if (nb > MN_FUSE_NONE)
                s = (s > MN_FUSE_NONE ? s : 0.0f) + a * nb;
        }
        if (s <= MN_FUSE_NONE)
            continue;
        if (h->asker_role && mode == MN_MODE_HYBRID && p->role[i] == h->asker_role)
            s *= wu;
        if (mode == MN_MODE_HYBRID && names_speaker(h->qkeys, h->n_q, p->speaker[i]))
            s *= 1.0f + db->rank.w_speaker;
        if (h->t_to && mode == MN_MODE_HYBRID && p->created[i] >= h->t_from &&
            p->created[i] < h->t_to)
            s *= 1.0f + db->rank.w_time;
        if (top->n == top->k && s < top->score[0])
            continue; /* the push would refuse it: skip the call (most rows, k small) */
        mn__topk_push(top, s, (uint32_t)i);
    }
    mn__free(sb);
}

/* Scores the partition under its read lock and fills cands (best first). */
static int rank(mn_db *db, mn__part *p, const mn_search_opts *o, mn_search_mode mode,
                const float *qvec, const mn__terms *terms, int asker_role, cand *cands,
                int *out_n, bool *out_want_sync)
{
    size_t n = p->n, i, n_elig;
    uint8_t *mask = NULL, *cmask = NULL, *smask = NULL;
    bool covers = false;
    float *kw = NULL, *vec = NULL, *fused = NULL, max_kw = 0;
    uint64_t qkeys[MAX_QKEYS];
    qhints hints;
    mn__topk top;
    int k = o->k, rc;

    *out_n = 0;
    if (n == 0)
        return MN_OK;
    rc = mn__topk_init(&top, k);
    if (rc)
        return rc;
    mask = mn__malloc(n);
    cmask = mn__calloc(n, 1);
    smask = mn__malloc(n);
    kw = mn__calloc(n, sizeof *kw);
    vec = mn__malloc(n * sizeof *vec);
    fused = mn__malloc(n * sizeof *fused);
    if (!mask || !cmask || !smask || !kw || !vec || !fused) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    n_elig = build_mask(p, &o->filter, mask);
    if (n_elig == 0)
        goto cleanup;
    covers = build_cover_mask(p, &o->filter, mask, cmask) > 0;
    if (covers) {
        for (i = 0; i < n; i++) { /* scored with the others, ranked through their summary */
            smask[i] = mask[i] | cmask[i];
            n_elig += cmask[i];
        }
    } else {
        memcpy(smask, mask, n);
    }
    if (mode != MN_MODE_VECTOR && terms->n) {
        mn__bm25_score_all(p->bm, terms->v, terms->n, kw);
        for (i = 0; i < n; i++)
            if (smask[i] && kw[i] > max_kw)
                max_kw = kw[i];
    }
    /* big partitions: vector candidates from the HNSW graph (part_hnsw.c) */
    if (mode != MN_MODE_KEYWORD &&
        (rc = mn__part_vec_scores(p, qvec, smask, n_elig, mode == MN_MODE_HYBRID ? kw : NULL,
                                  k, vec, out_want_sync)) != MN_OK)
        goto cleanup;
    if (mode == MN_MODE_KEYWORD) {
        for (i = 0; i < n; i++)
            fused[i] = smask[i] && kw[i] > 0 ? kw[i] / max_kw : MN_FUSE_NONE;
    } else if (mode == MN_MODE_VECTOR) {
        for (i = 0; i < n; i++)
            fused[i] = smask[i] && vec[i] > -1.5f ? vec[i] : MN_FUSE_NONE;
    } else {
        if (max_kw > 0)
            for (i = 0; i < n; i++)
                kw[i] /= max_kw;
        if (db->rank.rrf_c > 0) {
            if ((rc = mn__fuse_rrf_dense(kw, vec, smask, n, db->rank.rrf_c, fused)) != MN_OK)
                goto cleanup;
            for (i = 0; i < n; i++) /* neighbour and role stages expect 0..~1 scores */
                if (fused[i] > MN_FUSE_NONE)
                    fused[i] *= db->rank.rrf_c / 2;
        } else {
            mn__fuse_blend_dense(kw, vec, smask, n, db->rank.w_keyword, db->rank.min_vec,
                                 fused);
        }
    }
    for (i = 0; i < terms->n && i < MAX_QKEYS; i++)
        qkeys[i] = mn__term_key(&terms->v[i]);
    if (covers)
        lift_summaries(p, mask, cmask, fused);
    hints.qkeys = qkeys;
    hints.n_q = MN_MIN(terms->n, MAX_QKEYS);
    hints.asker_role = asker_role;
    if (!mn__query_window(o->query, o->as_of_ms ? o->as_of_ms : mn__now_ms(), &hints.t_from,
                          &hints.t_to))
        hints.t_to = 0;
    push_ranked(db, p, mask, fused, mode, &hints, &top);
    mn__topk_sort(&top);
    for (i = 0; i < (size_t)top.n; i++) {
        uint32_t r = top.idx[i];
        cands[i].id = p->ids[r];
        cands[i].score = top.score[i];
        cands[i].kw = mode == MN_MODE_VECTOR ? 0 : (mode == MN_MODE_KEYWORD && max_kw > 0
                                                         ? kw[r] / max_kw
                                                         : kw[r]);
        cands[i].vec = mode == MN_MODE_KEYWORD ? 0 : vec[r];
    }
    *out_n = top.n;
cleanup:
    mn__topk_release(&top);
    mn__free(mask);
    mn__free(cmask);
    mn__free(smask);
    mn__free(kw);
    mn__free(vec);
    mn__free(fused);
    return rc;
}

/* The rows of the ranked candidates, from one snapshot when the store can (get_many), in
 * the arena: found[i] false for a row deleted since it was ranked. */
static int fetch_rows(mn_db *db, const mn__pkey *k, const cand *cands, int n, mn__arena *a,
                      mn__row **out_rows, bool **out_found, mn_err *err)
{
    mn_id *ids = mn__arena_alloc(a, ((size_t)n + 1) * sizeof *ids);
    mn__row *rows = mn__arena_alloc(a, ((size_t)n + 1) * sizeof *rows);
    bool *found = mn__arena_alloc(a, ((size_t)n + 1) * sizeof *found);
    int i, rc;
    if (!ids || !rows || !found)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory during search");
    *out_rows = rows;
    *out_found = found;
    for (i = 0; i < n; i++)
        ids[i] = cands[i].id;
    if (db->sops->get_many)
        return db->sops->get_many(db->store, k, ids, (size_t)n, a, rows, found, err);
    for (i = 0; i < n; i++) {
        rc = db->sops->get(db->store, k, ids[i], a, &rows[i], err);
        found[i] = rc == MN_OK;
        if (rc && rc != MN_ENOTFOUND)
            return rc;
    }
    return MN_OK;
}

int mn_search(mn_db *db, const mn_search_opts *o, mn_results **out, mn_err *err)
{
    mn__pkey k;
    mn__eprof pf;
    mn__part *p = NULL;
    mn__terms terms;
    mn_results *res = NULL;
    mn_search_mode mode;
    float *qvec = NULL;
    cand *cands = NULL;
    const char *note = "";
    int n_cands = 0, i, kk, rc, asker_role = 0;
    bool want_sync = false, *found = NULL;
    mn__row *rows = NULL;
    size_t n_out = 0;
    mn__arena scratch;

    mn__err_clear(err);
    *out = NULL;
    mn__terms_init(&terms);
    mn__arena_init(&scratch, 4096);
    rc = check_opts(db, o, &k, err);
    if (rc)
        goto cleanup;
    kk = o->k;
    mode = o->mode == MN_MODE_DEFAULT ? MN_MODE_HYBRID : o->mode;
    pf = mn__eprof_of(db, k.tenant); /* tenants may have their own embedder */
    if (mode != MN_MODE_KEYWORD && !pf.emb) {
        mode = MN_MODE_KEYWORD;
        note = "vector search is off (no embedding model); keyword results only";
    }
    rc = query_terms(db, o->query, &terms, &asker_role);
    if (rc)
        goto oom;
    if (mode != MN_MODE_KEYWORD) {
        qvec = mn__malloc(sizeof(float) * (size_t)pf.emb->dim);
        if (!qvec)
            goto oom;
        rc = mn__embed_query_of(db, &pf, o->query, strlen(o->query), qvec, err);
        if (rc && pf.emb->remote && rc != MN_ENOMEM) {
            /* a slow or failing provider costs the vector half, never the search */
            mode = MN_MODE_KEYWORD;
            note = "the embedding provider did not answer; keyword results only";
            mn__err_clear(err);
            rc = MN_OK;
        }
        if (rc)
            goto cleanup;
    }
    cands = mn__calloc((size_t)kk, sizeof *cands);
    if (!cands)
        goto oom;
    rc = mn__part_acquire(db, &k, &p, err);
    if (rc)
        goto cleanup;
    pthread_rwlock_rdlock(&p->lock);
    rc = rank(db, p, o, mode, qvec, &terms, asker_role, cands, &n_cands, &want_sync);
    pthread_rwlock_unlock(&p->lock);
    if (want_sync) /* the graph is behind: the builder thread catches it up */
        mn__part_hnsw_want(db, p);
    mn__part_release(db, p);
    if (rc)
        goto oom;
    rc = mn__results_new((size_t)n_cands, &res);
    if (rc)
        goto oom;
    res->mode = mode;
    res->note = note;
    for (kk = 0; kk < n_cands && !(o->min_score > 0 && cands[kk].score < o->min_score); kk++)
        ;
    n_cands = kk;
    if ((rc = fetch_rows(db, &k, cands, n_cands, &scratch, &rows, &found, err)) != MN_OK)
        goto cleanup;
    for (i = 0; i < n_cands; i++) {
        if (!found[i])
            continue; /* deleted since it was ranked */
        rc = mn__results_set_row(res, n_out, &rows[i], pf.vec_model);
        if (rc)
            goto oom;
        res->hits[n_out].score = cands[i].score;
        res->hits[n_out].score_keyword = cands[i].kw;
        res->hits[n_out].score_vector = cands[i].vec;
        n_out++;
    }
    res->n = n_out;
    res->total = (int64_t)n_out;
    *out = res;
    res = NULL;
    rc = MN_OK;
    goto cleanup;
oom:
    rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory during search");
cleanup:
    mn_results_free(res);
    mn__free(qvec);
    mn__free(cands);
    mn__terms_release(&terms);
    mn__arena_release(&scratch);
    return rc;
}

/* context_build.c - mn_context_build: runs the searches of a question over a user's memories
 * and the tenant's system memories, turns the hits into plain items and hands them to the
 * pure layout of src/context (ctx_assemble.c), which owns the budget and section rules. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "../context/context.h"
#include "memory_int.h"

#define DEFAULT_MAX_TOKENS 1000
#define DEFAULT_K 20
#define NO_VECTOR (-2.0) /* cosine of a hit ranked without vectors */

void mn_context_opts_init(mn_context_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_tokens = DEFAULT_MAX_TOKENS;
    o->k = DEFAULT_K;
    o->min_score = MN__CTX_MIN_SCORE;
    o->include = MN_CONTEXT_ALL;
}

/* The rank table of an encoding, opened once per database; NULL when its file is missing
 * (the caller then estimates and says so). */
static const mn__bpe *bpe_for(mn_db *db, const char *encoding)
{
    bool o200k = !strcmp(encoding, "o200k_base");
    mn__bpe **slot = o200k ? &db->bpe_o200k : &db->bpe;
    bool *tried = o200k ? &db->bpe_o200k_tried : &db->bpe_tried;
    const mn__bpe *b;
    pthread_mutex_lock(&db->bpe_mu);
    if (!*tried) {
        *tried = true;
        if (mn__bpe_open(encoding, NULL, slot, NULL) != MN_OK)
            *slot = NULL;
    }
    b = *slot;
    pthread_mutex_unlock(&db->bpe_mu);
    return b;
}

typedef struct gather {
    mn_db *db;
    const mn_context_opts *o;
    const char *tenant;
    mn__ctx_item *items;
    double *cosine;       /* per item: the hit's cosine (0 when none) */
    size_t n, cap;
    mn_results *held[6];  /* results whose strings the items borrow */
    size_t n_held;
    mn__arena arena;      /* speakers */
} gather;

/* metadata.speaker of a message, or "Assistant" for an assistant turn without one. */
static const char *speaker_of(gather *g, const mn_memory *m)
{
    const char *who = NULL;
    if (m->kind != MN_KIND_MESSAGE)
        return NULL;
    if (m->metadata_json && strstr(m->metadata_json, "\"speaker\"")) {
        cJSON *j = cJSON_Parse(m->metadata_json);
        const cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "speaker") : NULL;
        if (cJSON_IsString(s) && s->valuestring[0])
            who = mn__arena_strdup(&g->arena, s->valuestring);
        cJSON_Delete(j);
        if (who)
            return who;
    }
    return m->role == MN_ROLE_ASSISTANT ? "Assistant" : NULL;
}

static long find_item(const gather *g, mn_id id, mn_scope scope)
{
    size_t i;
    for (i = 0; i < g->n; i++)
        if (g->items[i].id == id && g->items[i].scope == scope)
            return (long)i;
    return -1;
}

/* Adds the memories of r as items; a memory already there keeps the better score. */
static int take(gather *g, mn_results *r, bool ranked)
{
    size_t i;
    g->held[g->n_held++] = r;
    for (i = 0; i < r->n; i++) {
        const mn_hit *h = &r->hits[i];
        mn__ctx_item *it;
        long at = find_item(g, h->mem.id, h->mem.scope);
        if (at >= 0) {
            it = &g->items[at];
            if (ranked && (!it->ranked || h->score > it->score)) {
                it->score = h->score;
                it->ranked = true;
                g->cosine[at] = r->mode == MN_MODE_KEYWORD ? NO_VECTOR : h->score_vector;
            }
            continue;
        }
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 64;
            mn__ctx_item *v = mn__realloc(g->items, cap * sizeof *v);
            double *cv;
            if (!v)
                return MN_ENOMEM;
            g->items = v;
            cv = mn__realloc(g->cosine, cap * sizeof *cv);
            if (!cv)
                return MN_ENOMEM;
            g->cosine = cv;
            g->cap = cap;
        }
        g->cosine[g->n] = !ranked ? 0.0 : r->mode == MN_MODE_KEYWORD ? NO_VECTOR : h->score_vector;
        it = &g->items[g->n++];
        memset(it, 0, sizeof *it);
        it->id = h->mem.id;
        it->kind = h->mem.kind;
        it->scope = h->mem.scope;
        it->score = ranked ? h->score : 0.0;
        it->ranked = ranked;
        it->created_at_ms = h->mem.created_at_ms;
        it->text = h->mem.text;
        it->speaker = speaker_of(g, &h->mem);
        it->sources = h->mem.sources;
        it->n_sources = h->mem.n_sources;
    }
    return MN_OK;
}

static int search_kinds(gather *g, mn_scope scope, unsigned kinds, mn_err *err)
{
    mn_search_opts so;
    mn_results *r = NULL;
    int rc;
    mn_search_opts_init(&so);
    so.filter.tenant = g->tenant;
    so.filter.scope = scope;
    so.filter.user_id = scope == MN_SCOPE_SYSTEM ? NULL : g->o->user_id;
    so.filter.kinds = kinds;
    so.filter.session_id = scope == MN_SCOPE_SYSTEM ? NULL : g->o->session_id;
    so.query = g->o->query;
    so.k = g->o->k;
    so.as_of_ms = g->o->as_of_ms;
    rc = mn_search(g->db, &so, &r, err);
    if (rc)
        return rc;
    return take(g, r, true);
}

/* Standing memories (kind preference) are listed whole, newest first, whatever the
 * question: a search only ranks them. */
static int list_standing(gather *g, mn_scope scope, mn_err *err)
{
    mn_filter f;
    mn_results *r = NULL;
    int rc;
    mn_filter_init(&f);
    f.tenant = g->tenant;
    f.scope = scope;
    f.user_id = scope == MN_SCOPE_SYSTEM ? NULL : g->o->user_id;
    f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE);
    rc = mn_memory_list(g->db, &f, 0, g->o->k, &r, err);
    if (rc)
        return rc;
    return take(g, r, false);
}

/* ---- relevance ---------------------------------------------------------------------------
 * The search score is normalised per query (the best keyword match scores 1 whatever it
 * matched), so it cannot say whether a question is about anything stored. The relevance is
 * absolute: the mean of the idf-weighted share of the question's terms that the memory
 * holds (terms the partition has never seen weigh the most) and the cosine of the vectors
 * (the share alone when the search ran without vectors). Measured against the cosine
 * alone, the share alone and their maximum on the LoCoMo dev data, the mean separates
 * unrelated questions best (docs/CONTEXT.md). */

#define MAX_QTERMS 64

typedef struct qterms {
    uint64_t key[MAX_QTERMS];
    double idf[MAX_QTERMS];
    size_t n;
    double idf_sum;
} qterms;

static int query_terms(gather *g, mn_scope scope, mn__tok *tok, qterms *out, mn_err *err)
{
    mn__terms t;
    mn__pkey k;
    mn__part *p = NULL;
    size_t i, j;
    double n_docs = 0;
    int rc;

    memset(out, 0, sizeof *out);
    mn__terms_init(&t);
    rc = mn__terms_of(tok, g->o->query, strlen(g->o->query), true, &t);
    if (rc)
        goto cleanup;
    k.tenant = g->tenant;
    k.scope = scope;
    k.user_id = scope == MN_SCOPE_SYSTEM ? NULL : g->o->user_id;
    if ((rc = mn__part_acquire(g->db, &k, &p, err)))
        goto cleanup;
    pthread_rwlock_rdlock(&p->lock);
    n_docs = p->bm ? (double)mn__bm25_nlive(p->bm) : 0.0;
    for (i = 0; i < t.n && out->n < MAX_QTERMS; i++) {
        uint64_t key = mn__term_key(&t.v[i]);
        double df;
        for (j = 0; j < out->n && out->key[j] != key; j++)
            ;
        if (j < out->n)
            continue; /* a repeated term counts once */
        df = p->bm ? (double)mn__bm25_df(p->bm, t.v[i].s, t.v[i].len) : 0.0;
        out->key[out->n] = key;
        out->idf[out->n] = log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
        out->idf_sum += out->idf[out->n];
        out->n++;
    }
    pthread_rwlock_unlock(&p->lock);
    mn__part_release(g->db, p);
cleanup:
    mn__terms_release(&t);
    return rc == MN_ENOMEM ? mn__err_set(err, rc, NULL, "context: out of memory") : rc;
}

/* Idf-weighted share of the question's terms found in the memory (speaker included, as the
 * keyword index sees it). */
static int coverage(mn__tok *tok, const qterms *q, const mn__ctx_item *it, mn__buf *scratch,
                    double *out)
{
    mn__terms t;
    bool found[MAX_QTERMS] = {false};
    double sum = 0;
    size_t i, j;
    int rc;
    *out = 0;
    if (!q->n || q->idf_sum <= 0)
        return MN_OK;
    scratch->len = 0;
    if (it->speaker && (mn__buf_puts(scratch, it->speaker) || mn__buf_puts(scratch, ": ")))
        return MN_ENOMEM;
    if (mn__buf_puts(scratch, it->text))
        return MN_ENOMEM;
    mn__terms_init(&t);
    rc = mn__terms_of(tok, scratch->data, scratch->len, false, &t);
    for (i = 0; !rc && i < t.n; i++) {
        uint64_t key = mn__term_key(&t.v[i]);
        for (j = 0; j < q->n; j++)
            if (q->key[j] == key)
                found[j] = true;
    }
    mn__terms_release(&t);
    for (j = 0; j < q->n; j++)
        if (found[j])
            sum += q->idf[j];
    *out = sum / q->idf_sum;
    return rc;
}

static double relevance_of(double cov, double cosine)
{
    /* keyword only (no embedder, or its model missing): the share stands alone */
    if (cosine == NO_VECTOR)
        return cov;
    return 0.5 * cov + 0.5 * (cosine > 0 ? cosine : 0);
}

/* A summary is as relevant as the best of the messages it stands for: its text keeps a few
 * of their sentences, often not the one the question is about. The archived messages are
 * searched once and their relevance passed to the summaries that cite them. */
static int lift_summaries(gather *g, mn__tok *tok, const qterms *q, mn__buf *scratch,
                          mn_err *err)
{
    mn_search_opts so;
    mn_results *r = NULL;
    size_t i, j, s;
    int rc;
    mn_search_opts_init(&so);
    so.filter.tenant = g->tenant;
    so.filter.user_id = g->o->user_id;
    so.filter.session_id = g->o->session_id;
    so.filter.kinds = MN_KIND_BIT(MN_KIND_MESSAGE);
    so.filter.statuses = MN_STATUS_BIT(MN_STATUS_ARCHIVED);
    so.query = g->o->query;
    so.k = g->o->k;
    so.as_of_ms = g->o->as_of_ms;
    if ((rc = mn_search(g->db, &so, &r, err)))
        return rc;
    for (i = 0; i < r->n && rc == MN_OK; i++) {
        const mn_hit *h = &r->hits[i];
        mn__ctx_item tmp;
        double cov = 0, rel;
        memset(&tmp, 0, sizeof tmp);
        tmp.text = h->mem.text;
        tmp.speaker = speaker_of(g, &h->mem);
        if ((rc = coverage(tok, q, &tmp, scratch, &cov)))
            break;
        rel = relevance_of(cov, r->mode == MN_MODE_KEYWORD ? NO_VECTOR : h->score_vector);
        for (s = 0; s < g->n; s++) {
            mn__ctx_item *it = &g->items[s];
            if (it->kind != MN_KIND_SUMMARY || it->scope != MN_SCOPE_USER || !it->ranked ||
                it->relevance >= rel)
                continue;
            for (j = 0; j < it->n_sources; j++)
                if (it->sources[j] == h->mem.id)
                    it->relevance = rel;
        }
    }
    mn_results_free(r);
    return rc == MN_ENOMEM ? mn__err_set(err, rc, NULL, "context: out of memory") : rc;
}

static int set_relevance(gather *g, mn_err *err)
{
    mn__tok *tok = NULL;
    qterms q[2]; /* user scope, system scope */
    bool have[2] = {false, false}, summaries = false;
    mn__buf scratch;
    size_t i;
    int rc = MN_OK;

    mn__buf_init(&scratch, 0);
    tok = mn__tok_acquire(g->db);
    if (!tok)
        return mn__err_set(err, MN_ENOMEM, NULL, "context: out of memory (tokenizer)");
    for (i = 0; i < g->n && rc == MN_OK; i++) {
        mn__ctx_item *it = &g->items[i];
        int s = it->scope == MN_SCOPE_SYSTEM;
        double cov = 0;
        if (!it->ranked)
            continue;
        if (!have[s]) {
            if ((rc = query_terms(g, s ? MN_SCOPE_SYSTEM : MN_SCOPE_USER, tok, &q[s], err)))
                break;
            have[s] = true;
        }
        if ((rc = coverage(tok, &q[s], it, &scratch, &cov)))
            break;
        it->relevance = relevance_of(cov, g->cosine[i]);
        summaries |= it->kind == MN_KIND_SUMMARY && !s;
    }
    if (rc == MN_OK && summaries)
        rc = lift_summaries(g, tok, &q[0], &scratch, err);
    mn__tok_release(g->db, tok);
    mn__buf_release(&scratch);
    return rc == MN_ENOMEM ? mn__err_set(err, rc, NULL, "context: out of memory") : rc;
}

static int check_opts(mn_db *db, const mn_context_opts *o, mn_context **out, mn_err *err)
{
    int rc;
    if (!out)
        return mn__err_set(err, MN_EINVAL, NULL, "context: output pointer is NULL");
    *out = NULL;
    if (!db || !o)
        return mn__err_set(err, MN_EINVAL, "pass options from mn_context_opts_init",
                           "context: %s is NULL", db ? "options" : "database");
    if (!o->user_id)
        return mn__err_set(err, MN_EINVAL, "name the user the context is for",
                           "context: user id is missing");
    if ((rc = mn__check_id("user id", o->user_id, err)) ||
        (o->tenant && (rc = mn__check_id("tenant", o->tenant, err))) ||
        (o->session_id && (rc = mn__check_id("session id", o->session_id, err))))
        return rc;
    if ((rc = mn__check_text(db, "query", o->query, err)))
        return rc;
    if (o->max_tokens < 1 || o->max_tokens > MN_CONTEXT_MAX_TOKENS)
        return mn__err_set(err, MN_ERANGE, "use a budget between 1 and 1000000 tokens",
                           "context: max_tokens is %d", o->max_tokens);
    if (o->k < 1 || o->k > MN_MAX_K)
        return mn__err_set(err, MN_ERANGE, "use k between 1 and 1000", "context: k is %d",
                           o->k);
    if (o->as_of_ms < 0)
        return mn__err_set(err, MN_ERANGE, "give a time after 1970, or 0 for now",
                           "context: as_of_ms is %lld", (long long)o->as_of_ms);
    if (!(o->min_score >= 0.0) || isinf(o->min_score))
        return mn__err_set(err, MN_EINVAL, "use a min_score of 0 (keep all) or more",
                           "context: min_score is %g", o->min_score);
    if (o->include & ~MN_CONTEXT_ALL)
        return mn__err_set(err, MN_EINVAL,
                           "combine preferences, facts, memories, summaries and system",
                           "context: include mask 0x%x has unknown bits", o->include);
    return MN_OK;
}

int mn_context_build(mn_db *db, const mn_context_opts *o, mn_context **out, mn_err *err)
{
    gather g;
    mn__ctx_req req;
    unsigned inc, kinds = 0;
    const char *enc;
    size_t i;
    int rc;

    if ((rc = check_opts(db, o, out, err)))
        return rc;
    memset(&g, 0, sizeof g);
    g.db = db;
    g.o = o;
    mn__arena_init(&g.arena, 0);
    if ((rc = mn__tenant_or_default(o->tenant, &g.tenant, err)))
        goto cleanup;
    inc = o->include ? o->include : MN_CONTEXT_ALL;

    if (inc & MN_CONTEXT_MEMORIES)
        kinds |= MN_KIND_BIT(MN_KIND_MESSAGE);
    if (inc & MN_CONTEXT_SUMMARIES)
        kinds |= MN_KIND_BIT(MN_KIND_SUMMARY);
    /* messages and summaries share one ranking: a summary competes with the messages it
     * stands for (the search lifts it to their score) */
    if (kinds && (rc = search_kinds(&g, MN_SCOPE_USER, kinds, err)))
        goto cleanup;
    if ((inc & MN_CONTEXT_FACTS) &&
        (rc = search_kinds(&g, MN_SCOPE_USER, MN_KIND_BIT(MN_KIND_FACT), err)))
        goto cleanup;
    if (inc & MN_CONTEXT_PREFERENCES) {
        if ((rc = list_standing(&g, MN_SCOPE_USER, err)) ||
            (rc = search_kinds(&g, MN_SCOPE_USER, MN_KIND_BIT(MN_KIND_PREFERENCE), err)))
            goto cleanup;
    }
    if (inc & MN_CONTEXT_SYSTEM) {
        if ((rc = list_standing(&g, MN_SCOPE_SYSTEM, err)) ||
            (rc = search_kinds(&g, MN_SCOPE_SYSTEM, 0, err)))
            goto cleanup;
    }

    if ((rc = set_relevance(&g, err)))
        goto cleanup;
    memset(&req, 0, sizeof req);
    enc = o->model ? mn__bpe_encoding_for_model(o->model) : "cl100k_base";
    req.query = o->query;
    req.max_tokens = (size_t)o->max_tokens;
    req.bpe = enc ? bpe_for(db, enc) : NULL;
    req.encoding = enc ? enc : "estimate";
    req.include = inc;
    req.min_score = o->min_score;
    req.items = g.items;
    req.n_items = g.n;
    rc = mn__ctx_assemble(&req, out, err);
cleanup:
    for (i = 0; i < g.n_held; i++)
        mn_results_free(g.held[i]);
    mn__free(g.items);
    mn__free(g.cosine);
    mn__arena_release(&g.arena);
    return rc;
}

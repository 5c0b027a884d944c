/* h_mem0_search.c - mem0's getAll and search over mnemo: a filter becomes OR-branches, each
 * one mnemo user (with session and time bounds the library applies, and secondary entities and
 * metadata checked here); lists are merged newest first and cut into mem0's numbered pages,
 * searches are merged by score under top_k and threshold. Active memories only, as mem0
 * shows the current ones. The same handlers serve the v1/v2 paths of mem0ai 2.x clients,
 * which differ in where the entities are and in answering bare arrays. */
#include <stdlib.h>
#include <string.h>

#include "h_mem0.h"

#define M0_LIST_MAX 1000000 /* memories one page request may walk over */

/* Which generation of mem0's API a path belongs to. v1 (GET /v1/memories/, POST
 * /v1/memories/search/) takes the entities as fields of their own; v1 and v2 answer a bare
 * array, or the page object only when a page was asked for (mem0ai 2.x). */
typedef enum { M0_V3, M0_V2, M0_V1 } m0_api;

typedef struct lref {
    int64_t created;
    mn_id id;
    size_t branch;
} lref;

static int cmp_lref(const void *a, const void *b)
{
    const lref *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1;
    return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* Bounds from start_date/end_date (query string or body) added to every branch. */
static int date_bounds(mn__hreq *rq, const cJSON *body, mn__m0_filter *f)
{
    static const char *const names[] = {"start_date", "end_date"};
    size_t i, j;
    for (i = 0; i < 2; i++) {
        const char *s = NULL;
        int64_t ms = 0;
        int rc;
        if (body) {
            if ((rc = mn__json_str(rq, body, names[i], false, &s)) != 0)
                return rc;
        } else {
            s = mn__query(rq, names[i]);
        }
        if (!s)
            continue;
        if (mn_time_parse(s, &ms) != MN_OK)
            return mn__reply_error(rq, MN__H_EFIELD,
                                   "use RFC 3339 like 2024-05-01 or 2024-05-01T10:00:00Z",
                                   "%s is not a date: '%.32s'", names[i], s);
        for (j = 0; j < f->n; j++) {
            mn__m0_cond *c = &f->c[j];
            if (i == 0 && ms > c->since_ms)
                c->since_ms = ms;
            if (i == 1 && (!c->until_ms || ms + 1 < c->until_ms))
                c->until_ms = ms + 1;
        }
    }
    return 0;
}

/* Fields mem0 clients send that change nothing here, and those mnemo cannot honour. */
static int check_options(mn__hreq *rq)
{
    static const char *const refused[] = {"categories", "reference_date"};
    size_t i;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->json, "latest_only");
    if (v && cJSON_IsFalse(v))
        return mn__reply_error(rq, MN__H_ENOTSUPP,
                               "superseded versions are in GET /v1/memories/{id}/history/",
                               "mem0 feature 'latest_only: false' is not supported by mnemo");
    for (i = 0; i < MN_ARRAY_LEN(refused); i++) {
        v = cJSON_GetObjectItemCaseSensitive(rq->json, refused[i]);
        if (v && !cJSON_IsNull(v) && !(cJSON_IsArray(v) && !v->child))
            return mn__reply_error(rq, MN__H_ENOTSUPP, "leave it out (docs/MEM0.md)",
                                   "mem0 feature '%s' is not supported by mnemo", refused[i]);
    }
    return 0;
}

/* The one branch named by the entities of the query string (obj NULL) or of obj. */
static int entity_filter(mn__hreq *rq, const cJSON *obj, mn__m0_filter *f)
{
    int rc;
    memset(&f->c[0], 0, sizeof f->c[0]);
    f->n = 1;
    if ((rc = mn__m0_ents_read(rq, obj, &f->c[0].e)) != 0)
        return rc;
    if (!f->c[0].e.user_id && !f->c[0].e.agent_id && !f->c[0].e.app_id && !f->c[0].e.run_id)
        return mn__reply_error(rq, MN__H_EBADREQ, "pass user_id, agent_id, app_id or run_id",
                               "the request names no entity");
    return 0;
}

/* The filter of a list or search: the entities of the query string (from_query), body
 * "filters", or for v1 the body's own entity fields when it has no "filters". */
static int read_filter(mn__hreq *rq, bool from_query, m0_api api, mn__m0_filter *f)
{
    const cJSON *fl;
    int rc;
    if (from_query) {
        if ((rc = entity_filter(rq, NULL, f)) != 0)
            return rc;
        return date_bounds(rq, NULL, f);
    }
    fl = cJSON_GetObjectItemCaseSensitive(rq->json, "filters");
    if ((!fl || cJSON_IsNull(fl)) && api == M0_V1) {
        if ((rc = entity_filter(rq, rq->json, f)) != 0)
            return rc;
    } else if (!fl || cJSON_IsNull(fl)) {
        return mn__reply_error(rq, MN__H_EBADREQ,
                               "send filters: {\"user_id\": \"...\"} (mem0 v2 and v3 require "
                               "them)",
                               "field 'filters' is required");
    } else if ((rc = mn__m0_filters_parse(rq, fl, f)) != 0) {
        return rc;
    }
    return date_bounds(rq, rq->json, f);
}

static const char *const list_fields[] = {"filters",      "start_date",  "end_date",
                                          "latest_only",  "show_expired", "categories",
                                          "output_format", "fields",     "org_id",
                                          "project_id",   "page",        "page_size",
                                          NULL};

/* The numbered page of mem0's list as "{results, count, next, previous}", or as a bare array
 * of the page for v1/v2 when no page was asked for. */
static int list(mn__hreq *rq, m0_api api)
{
    bool get = !strcmp(rq->method, "GET");
    const char *base = api == M0_V1 ? "/v1/memories/" : api == M0_V2 ? "/v2/memories/"
                                                                      : "/v3/memories/";
    bool bare = api != M0_V3 && !(mn__query(rq, "page") && mn__query(rq, "page_size"));
    char owners[MN__M0_MAX_BRANCHES][MN_MAX_ID_BYTES + 1];
    mn__m0_filter f;
    lref *refs = NULL;
    size_t n = 0, cap = 0, i, b_i, n_out = 0;
    long long page = 1, size = 100;
    mn__buf b;
    mn_err err;
    int rc;

    mn__buf_init(&b, 0);
    if (!get) {
        if (!cJSON_IsObject(rq->json))
            return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                                   "request body must be a JSON object");
        if ((rc = mn__json_fields(rq, rq->json, "body", list_fields)) ||
            (rc = check_options(rq)) ||
            (rc = mn__json_int(rq, rq->json, "page", 1, 1000000, &page)) ||
            (rc = mn__json_int(rq, rq->json, "page_size", 1, MN_MAX_K, &size)))
            return rc;
    }
    if ((rc = mn__query_int(rq, "page", 1, 1000000, &page)) ||
        (rc = mn__query_int(rq, "page_size", 1, MN_MAX_K, &size)) ||
        (rc = read_filter(rq, get, api, &f)))
        return rc;
    for (b_i = 0; b_i < f.n; b_i++)
        if ((rc = mn__m0_owner(rq, &f.c[b_i].e, owners[b_i])) != 0)
            return rc;
    /* every match of every branch by (time, id), then the page: memory ~24 bytes each */
    for (b_i = 0; b_i < f.n; b_i++) {
        mn_filter lf;
        mn_id after = 0;
        mn__m0_cond_filter(rq, &f.c[b_i], owners[b_i], &lf);
        do {
            mn_results *r = NULL;
            rc = mn_memory_list(rq->srv->db, &lf, after, MN_MAX_K, &r, &err);
            if (rc)
                goto fail;
            for (i = 0; i < r->n; i++) {
                const mn_memory *m = &r->hits[i].mem;
                if (!mn__m0_cond_match(&f.c[b_i], owners[b_i], m))
                    continue;
                if (n == cap) {
                    lref *x = NULL;
                    if (cap < M0_LIST_MAX)
                        x = mn__realloc(refs, (cap = cap ? cap * 2 : 256) * sizeof *refs);
                    if (!x) {
                        mn_results_free(r);
                        rc = mn__reply_error(rq, MN_ETOOBIG, "narrow the filters",
                                             "more than %d memories match", M0_LIST_MAX);
                        goto cleanup;
                    }
                    refs = x;
                }
                refs[n].created = m->created_at_ms;
                refs[n].id = m->id;
                refs[n++].branch = b_i;
            }
            after = r->next_after;
            mn_results_free(r);
        } while (after);
    }
    if (n)
        qsort(refs, n, sizeof *refs, cmp_lref);
    for (i = 0, b_i = 0; i < n; i++) /* two OR branches may find one memory */
        if (!b_i || refs[b_i - 1].id != refs[i].id)
            refs[b_i++] = refs[i];
    n = b_i;
    rc = mn__buf_puts(&b, bare ? "[" : "{\"results\":[");
    for (i = (size_t)((page - 1) * size); !rc && i < n && n_out < (size_t)size; i++) {
        mn_results *r = NULL;
        if (mn_memory_get(rq->srv->db, rq->tenant, owners[refs[i].branch], refs[i].id, &r,
                          NULL) != MN_OK)
            continue; /* deleted meanwhile */
        if (n_out++)
            rc = mn__buf_putc(&b, ',');
        if (!rc)
            rc = mn__m0_json_memory(&b, &r->hits[0].mem, NULL);
        mn_results_free(r);
    }
    if (!rc && bare)
        rc = mn__buf_putc(&b, ']');
    else if (!rc)
        rc = mn__buf_printf(&b, "],\"count\":%zu,\"next\":", n);
    if (!rc && !bare)
        rc = (size_t)(page * size) < n
                 ? mn__buf_printf(&b, "\"%s?page=%lld&page_size=%lld\"", base, page + 1, size)
                 : mn__buf_puts(&b, "null");
    if (!rc && !bare)
        rc = page > 1 ? mn__buf_printf(&b, ",\"previous\":\"%s?page=%lld&page_size=%lld\"}",
                                       base, page - 1, size)
                      : mn__buf_puts(&b, ",\"previous\":null}");
    mn__free(refs);
    return mn__m0_reply(rq, 200, rc, &b);
fail:
    rc = mn__reply_err(rq, rc, &err);
cleanup:
    mn__free(refs);
    mn__buf_release(&b);
    return rc;
}

int mn__h_m0_list(mn__hreq *rq)
{
    return list(rq, M0_V3);
}

int mn__h_m0_list_v1(mn__hreq *rq)
{
    return list(rq, M0_V1);
}

int mn__h_m0_list_v2(mn__hreq *rq)
{
    return list(rq, M0_V2);
}

/* ---- search --------------------------------------------------------------------------------*/

typedef struct sref {
    const mn_hit *hit;
} sref;

static int cmp_sref(const void *a, const void *b)
{
    const mn_hit *x = ((const sref *)a)->hit, *y = ((const sref *)b)->hit;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->mem.id < y->mem.id ? 1 : x->mem.id > y->mem.id ? -1 : 0;
}

static const char *const search_fields[] = {
    "query",         "filters",        "top_k",      "threshold",  "rerank",
    "keyword_search", "output_format", "fields",     "source",     "latest_only",
    "show_expired",  "metadata",       "categories", "reference_date", "start_date",
    "end_date",      "org_id",         "project_id", "user_id",    "agent_id",
    "app_id",        "run_id",         NULL};

/* v1 names the entities as fields of the body (mem0ai 2.x passes its options through); v2
 * and v3 take them in "filters" only. */
static int check_entity_fields(mn__hreq *rq, m0_api api)
{
    static const char *const ents[] = {"user_id", "agent_id", "app_id", "run_id"};
    size_t i;
    for (i = 0; api != M0_V1 && i < MN_ARRAY_LEN(ents); i++)
        if (cJSON_GetObjectItemCaseSensitive(rq->json, ents[i]))
            return mn__reply_error(rq, MN__H_EFIELD,
                                   "put the entities in filters, e.g. {\"filters\": "
                                   "{\"user_id\": \"alice\"}}",
                                   "field '%s' belongs in 'filters' on this path", ents[i]);
    return 0;
}

/* Hits merged by score as "{results}", or as a bare array for v1/v2 (unless the client asks
 * for output_format v1.1, mem0's object form). */
static int search(mn__hreq *rq, m0_api api)
{
    char owners[MN__M0_MAX_BRANCHES][MN_MAX_ID_BYTES + 1];
    mn_results *res[MN__M0_MAX_BRANCHES];
    sref *refs = NULL;
    const char *query = NULL, *format = NULL;
    const cJSON *meta, *thr, *kw;
    bool bare;
    mn__m0_filter f;
    long long top_k = 10;
    double threshold = 0;
    size_t n = 0, i, b_i, n_res = 0;
    mn__buf b;
    mn_err err;
    int rc;

    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "body", search_fields)) ||
        (rc = check_entity_fields(rq, api)) ||
        (rc = check_options(rq)) || (rc = mn__json_str(rq, rq->json, "query", true, &query)) ||
        (rc = mn__json_int(rq, rq->json, "top_k", 1, MN_MIN(rq->srv->cfg.max_k, MN_MAX_K),
                           &top_k)))
        return rc;
    if (!*query)
        return mn__reply_error(rq, MN__H_EFIELD, NULL, "field 'query' is empty");
    thr = cJSON_GetObjectItemCaseSensitive(rq->json, "threshold");
    if (thr && !cJSON_IsNull(thr)) {
        if (!cJSON_IsNumber(thr) || thr->valuedouble < 0)
            return mn__reply_error(rq, MN__H_EFIELD, "a score from 0; 0 keeps all",
                                   "field 'threshold' must be a number >= 0");
        threshold = thr->valuedouble;
    }
    kw = cJSON_GetObjectItemCaseSensitive(rq->json, "keyword_search");
    if (kw && !cJSON_IsNull(kw) && !cJSON_IsBool(kw))
        return mn__reply_error(rq, MN__H_EFIELD, NULL, "field 'keyword_search' must be a boolean");
    if ((rc = mn__json_str(rq, rq->json, "output_format", false, &format)) ||
        (rc = read_filter(rq, false, api, &f)))
        return rc;
    bare = api != M0_V3 && !(format && !strcmp(format, "v1.1"));
    /* a top-level metadata object is one more condition on every branch */
    meta = cJSON_GetObjectItemCaseSensitive(rq->json, "metadata");
    if (meta && !cJSON_IsNull(meta)) {
        if (!cJSON_IsObject(meta))
            return mn__reply_error(rq, MN__H_EFIELD, NULL, "field 'metadata' must be an object");
        for (b_i = 0; b_i < f.n; b_i++) {
            if (f.c[b_i].metadata)
                return mn__reply_error(rq, MN__H_EFIELD, "put all metadata keys in one object",
                                       "metadata given both in filters and at the top level");
            f.c[b_i].metadata = meta;
        }
    }
    for (b_i = 0; b_i < f.n; b_i++)
        if ((rc = mn__m0_owner(rq, &f.c[b_i].e, owners[b_i])) != 0)
            return rc;
    for (b_i = 0; b_i < f.n; b_i++) {
        const mn__m0_cond *c = &f.c[b_i];
        bool post = c->metadata || (c->e.user_id && (c->e.agent_id || c->e.app_id)) ||
                    (c->e.agent_id && c->e.app_id);
        mn_search_opts so;
        mn_search_opts_init(&so);
        mn__m0_cond_filter(rq, c, owners[b_i], &so.filter);
        so.query = query;
        /* conditions checked here drop hits: ask for more */
        so.k = (int)(post ? MN_MIN(top_k * 5, (long long)MN_MAX_K) : top_k);
        so.mode = cJSON_IsTrue(kw) ? MN_MODE_KEYWORD : MN_MODE_DEFAULT;
        so.min_score = threshold;
        rc = mn_search(rq->srv->db, &so, &res[n_res], &err);
        if (rc) {
            rc = mn__reply_err(rq, rc, &err);
            goto cleanup;
        }
        n_res++;
    }
    for (b_i = 0; b_i < n_res; b_i++)
        n += res[b_i]->n;
    if (!(refs = mn__calloc(n ? n : 1, sizeof *refs))) {
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory merging %zu results", n);
        goto cleanup;
    }
    for (b_i = 0, n = 0; b_i < n_res; b_i++)
        for (i = 0; i < res[b_i]->n; i++)
            if (mn__m0_cond_match(&f.c[b_i], owners[b_i], &res[b_i]->hits[i].mem))
                refs[n++].hit = &res[b_i]->hits[i];
    if (n)
        qsort(refs, n, sizeof *refs, cmp_sref);
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, bare ? "[" : "{\"results\":[");
    for (i = 0, b_i = 0; !rc && i < n && b_i < (size_t)top_k; i++) {
        size_t j;
        for (j = 0; j < i && refs[j].hit->mem.id != refs[i].hit->mem.id; j++)
            ;
        if (j < i)
            continue; /* found by two OR branches */
        if (b_i++)
            rc = mn__buf_putc(&b, ',');
        if (!rc)
            rc = mn__m0_json_memory(&b, &refs[i].hit->mem, &refs[i].hit->score);
    }
    if (!rc)
        rc = mn__buf_puts(&b, bare ? "]" : "]}");
    rc = mn__m0_reply(rq, 200, rc, &b);
cleanup:
    for (i = 0; i < n_res; i++)
        mn_results_free(res[i]);
    mn__free(refs);
    return rc;
}

int mn__h_m0_search(mn__hreq *rq)
{
    return search(rq, M0_V3);
}

int mn__h_m0_search_v1(mn__hreq *rq)
{
    return search(rq, M0_V1);
}

int mn__h_m0_search_v2(mn__hreq *rq)
{
    return search(rq, M0_V2);
}

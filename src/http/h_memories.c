/* h_memories.c - the memory routes: add messages (one or a batch), list or search, get with
 * history, patch, delete; and the tenant's system memories, which share the same code with
 * no user. Every tenant and user comes from the key and the path, never from the body. */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

static const char *const item_fields[] = {"text",       "content",    "role",     "kind",
                                          "session_id", "created_at", "metadata", NULL};

/* Reads one item of an add into in (strings borrowed from rq->json; *meta owned). */
static int read_item(mn__hreq *rq, const cJSON *o, bool system, mn_memory_in *in, char **meta)
{
    const char *text = NULL, *content = NULL, *role = NULL, *kind = NULL;
    int rc;
    if (!cJSON_IsObject(o))
        return mn__reply_error(rq, MN__H_EFIELD, "send memories as JSON objects",
                               "%sa memory must be a JSON object", rq->where);
    if ((rc = mn__json_fields(rq, o, "memory", item_fields)) ||
        (rc = mn__json_str(rq, o, "text", false, &text)) ||
        (rc = mn__json_str(rq, o, "content", false, &content)) ||
        (rc = mn__json_str(rq, o, "role", false, &role)) ||
        (rc = mn__json_str(rq, o, "kind", false, &kind)) ||
        (rc = mn__json_str(rq, o, "session_id", false, &in->session_id)) ||
        (rc = mn__json_time(rq, o, "created_at", &in->created_at_ms)) ||
        (rc = mn__json_meta(rq, o, "metadata", meta)))
        return rc;
    if (text && content)
        return mn__reply_error(rq, MN__H_EFIELD, "'content' is an alias of 'text'",
                               "%sgive 'text' or 'content', not both", rq->where);
    if (!text && !content)
        return mn__reply_error(rq, MN__H_EFIELD, "send the message as 'text'",
                               "%sfield 'text' is required", rq->where);
    in->text = text ? text : content;
    in->role = system ? MN_ROLE_NONE : MN_ROLE_USER;
    if (role && (int)(in->role = mn_role_parse(role)) < 0)
        return mn__reply_error(rq, MN__H_EFIELD, "use user, assistant or none",
                               "%sfield 'role' is '%.32s'", rq->where, role);
    if (kind && !(in->kind = mn_kind_parse(kind)))
        return mn__reply_error(rq, MN__H_EFIELD, "use message, preference, fact or summary",
                               "%sfield 'kind' is '%.32s'", rq->where, kind);
    in->metadata_json = *meta;
    return 0;
}

int mn__add_from_body(mn__hreq *rq, const char *user_id, const char *list_name)
{
    const cJSON *list, *it;
    const char *const top_fields[] = {list_name, NULL};
    mn_memory_in *items = NULL;
    char **metas = NULL;
    mn_id *ids = NULL;
    size_t n = 1, i = 0;
    mn__buf b;
    mn_err err;
    int rc;

    mn__buf_init(&b, 0);
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    list = cJSON_GetObjectItemCaseSensitive(rq->json, list_name);
    if (list) {
        if ((rc = mn__json_fields(rq, rq->json, "body", top_fields)) != 0)
            return rc;
        if (!cJSON_IsArray(list))
            return mn__reply_error(rq, MN__H_EFIELD, NULL, "field '%s' must be an array",
                                   list_name);
        n = (size_t)cJSON_GetArraySize(list);
        if (n == 0)
            return mn__reply_error(rq, MN__H_EFIELD, "send at least one item",
                                   "field '%s' is empty", list_name);
        if ((long long)n > rq->srv->cfg.max_batch)
            return mn__reply_error(rq, MN_ETOOBIG, "split the batch or raise max-batch",
                                   "%zu %s in one request, limit is %lld (max-batch)", n,
                                   list_name, rq->srv->cfg.max_batch);
    }
    items = mn__calloc(n, sizeof *items);
    metas = mn__calloc(n, sizeof *metas);
    ids = mn__calloc(n, sizeof *ids);
    if (!items || !metas || !ids) {
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading %zu items", n);
        goto cleanup;
    }
    for (it = list ? list->child : rq->json; i < n && it; it = it->next, i++) {
        mn_memory_in_init(&items[i]);
        items[i].tenant = rq->tenant;
        items[i].user_id = user_id;
        items[i].scope = user_id ? MN_SCOPE_USER : MN_SCOPE_SYSTEM;
        if (list)
            snprintf(rq->where, sizeof rq->where, "%s[%zu]: ", list_name, i);
        if ((rc = read_item(rq, it, !user_id, &items[i], &metas[i])) != 0)
            goto cleanup;
    }
    rq->where[0] = '\0';
    rc = n == 1 ? mn_memory_add(rq->srv->db, &items[0], &ids[0], &err)
                : mn_memory_add_batch(rq->srv->db, items, n, ids, &err);
    if (rc) {
        if (n == 1 && list)
            mn__err_prefix(&err, "%s[0]", list_name);
        mn__reply_err(rq, rc, &err);
        goto cleanup;
    }
    rc = mn__buf_puts(&b, "{\"ids\":[");
    for (i = 0; !rc && i < n; i++)
        rc = mn__buf_printf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
    if (!rc)
        rc = mn__buf_printf(&b, "],\"count\":%zu}\n", n);
    if (rc || mn__reply_buf(rq, 201, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
cleanup:
    rq->where[0] = '\0';
    if (metas)
        for (i = 0; i < n; i++)
            cJSON_free(metas[i]);
    mn__free(items);
    mn__free(metas);
    mn__free(ids);
    mn__buf_release(&b);
    return rc;
}

int mn__h_messages_add(mn__hreq *rq)
{
    return mn__add_from_body(rq, rq->params[0], "messages");
}

int mn__h_system_add(mn__hreq *rq)
{
    return mn__add_from_body(rq, NULL, "memories");
}

/* ---- list and search -------------------------------------------------------------------*/

/* "active,archived" -> bit mask; replies 422 on an unknown name. */
static int name_mask(mn__hreq *rq, const char *param, bool kinds, unsigned *out)
{
    const char *v = mn__query(rq, param), *p;
    if (!v)
        return 0;
    *out = 0;
    for (p = v; *p;) {
        const char *e = strchr(p, ',');
        char name[32];
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int x = 0;
        if (n < sizeof name) {
            memcpy(name, p, n);
            name[n] = '\0';
            x = kinds ? (int)mn_kind_parse(name) : (int)mn_status_parse(name);
        }
        if (x <= 0)
            return mn__reply_error(rq, MN__H_EFIELD,
                                   kinds ? "kinds: message, preference, fact, summary"
                                         : "statuses: active, archived, superseded",
                                   "query parameter '%s' has an unknown value in '%.64s'",
                                   param, v);
        *out |= 1u << x;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int read_filter(mn__hreq *rq, const char *user_id, mn_filter *f)
{
    int rc;
    mn_filter_init(f);
    f->tenant = rq->tenant;
    f->user_id = user_id;
    f->scope = user_id ? MN_SCOPE_USER : MN_SCOPE_SYSTEM;
    f->session_id = mn__query(rq, "session_id");
    if ((rc = name_mask(rq, "kind", true, &f->kinds)) ||
        (rc = name_mask(rq, "status", false, &f->statuses)) ||
        (rc = mn__query_time(rq, "since", &f->since_ms)) ||
        (rc = mn__query_time(rq, "until", &f->until_ms)))
        return rc;
    return 0;
}

/* An empty answer for a user with no memory at all is a 404: the user does not exist. */
static int empty_user(mn__hreq *rq, const char *user_id, bool *out_missing)
{
    mn_user_info info;
    mn_err err;
    int rc = mn_user_get(rq->srv->db, rq->tenant, user_id, &info, &err);
    *out_missing = false;
    if (rc == MN_ENOTFOUND) {
        *out_missing = true;
        return mn__reply_err(rq, rc, &err);
    }
    return rc ? mn__reply_err(rq, rc, &err) : 0;
}

static int do_search(mn__hreq *rq, const char *user_id, const char *query)
{
    mn_search_opts so;
    mn_results *res = NULL;
    long long k = 10;
    const char *mode = mn__query(rq, "mode"), *ms = mn__query(rq, "min_score");
    mn__buf b;
    mn_err err;
    bool missing = false;
    int rc;

    mn_search_opts_init(&so);
    if ((rc = read_filter(rq, user_id, &so.filter)) ||
        (rc = mn__query_int(rq, "k", 1, rq->srv->cfg.max_k, &k)))
        return rc;
    if (mn__query(rq, "limit") || mn__query(rq, "after"))
        return mn__reply_error(rq, MN__H_EFIELD, "a search takes k; limit and after page lists",
                               "query parameters 'limit' and 'after' do not apply to a search");
    if (mode && mn_mode_parse(mode, &so.mode) != MN_OK)
        return mn__reply_error(rq, MN__H_EFIELD, "use hybrid, vector or keyword",
                               "query parameter 'mode' is '%.32s'", mode);
    if (ms) {
        char *end;
        so.min_score = strtod(ms, &end);
        if (end == ms || *end || so.min_score != so.min_score)
            return mn__reply_error(rq, MN__H_EFIELD, NULL,
                                   "query parameter 'min_score' must be a number, got '%.32s'",
                                   ms);
    }
    if ((rc = mn__query_time(rq, "as_of", &so.as_of_ms)))
        return rc;
    so.query = query;
    so.k = (int)k;
    rc = mn_search(rq->srv->db, &so, &res, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    if (res->n == 0 && user_id && (rc = empty_user(rq, user_id, &missing)) != 0) {
        mn_results_free(res);
        return rc;
    }
    mn__buf_init(&b, 0);
    rc = mn__json_results(&b, res, true);
    mn_results_free(res);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

int mn__list_or_search(mn__hreq *rq, const char *user_id)
{
    const char *query = mn__query(rq, "query"), *after_s = mn__query(rq, "after");
    mn_filter f;
    mn_results *res = NULL;
    long long limit = 50, after = 0;
    mn__buf b;
    mn_err err;
    bool missing = false;
    int rc;

    if (query)
        return do_search(rq, user_id, query);
    if (mn__query(rq, "k") || mn__query(rq, "mode") || mn__query(rq, "min_score") ||
        mn__query(rq, "as_of"))
        return mn__reply_error(rq, MN__H_EFIELD, "add ?query= to search",
                               "k, mode, min_score and as_of apply to a search only");
    if ((rc = read_filter(rq, user_id, &f)) ||
        (rc = mn__query_int(rq, "limit", 1,
                            MN_MIN(rq->srv->cfg.max_k, (long long)MN_MAX_K), &limit)))
        return rc;
    if (after_s && (rc = mn__query_int(rq, "after", 0, INT64_MAX, &after)) != 0)
        return rc;
    rc = mn_memory_list(rq->srv->db, &f, after, (int)limit, &res, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    if (res->total == 0 && user_id && (rc = empty_user(rq, user_id, &missing)) != 0) {
        mn_results_free(res);
        return rc;
    }
    mn__buf_init(&b, 0);
    rc = mn__json_results(&b, res, false);
    mn_results_free(res);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

int mn__h_memories_list(mn__hreq *rq)
{
    return mn__list_or_search(rq, rq->params[0]);
}

int mn__h_system_list(mn__hreq *rq)
{
    return mn__list_or_search(rq, NULL);
}

/* ---- one memory -----------------------------------------------------------------------*/

static int history_json(mn__hreq *rq, mn_id id, mn__buf *b)
{
    mn_results *h = NULL;
    mn_err err;
    size_t i;
    int rc = mn_memory_history(rq->srv->db, rq->tenant, rq->params[0], id, &h, &err);
    if (rc)
        return rc;
    rc = mn__buf_puts(b, ",\"history\":[");
    for (i = 0; !rc && i < h->n; i++) {
        const mn_memory *m = &h->hits[i].mem;
        char t[32];
        mn_time_format(m->updated_at_ms, t);
        rc = mn__buf_puts(b, i ? ",{\"text\":" : "{\"text\":");
        if (!rc)
            rc = mn__buf_json_str(b, m->text ? m->text : "", m->text ? strlen(m->text) : 0);
        if (!rc)
            rc = mn__buf_printf(b, ",\"metadata\":%s,\"status\":\"%s\",\"updated_at\":\"%s\"}",
                                m->metadata_json && *m->metadata_json ? m->metadata_json
                                                                      : "null",
                                mn_status_name(m->status), t);
    }
    mn_results_free(h);
    return rc ? rc : mn__buf_putc(b, ']');
}

/* Replies with memory id of the path's user, with its history when asked. */
static int reply_memory(mn__hreq *rq, mn_id id, bool with_history)
{
    mn_results *res = NULL;
    mn__buf b;
    mn_err err;
    int rc = mn_memory_get(rq->srv->db, rq->tenant, rq->params[0], id, &res, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__json_memory(&b, &res->hits[0].mem, NULL);
    mn_results_free(res);
    if (!rc && with_history) {
        b.len--; /* reopen the object: drop its '}' */
        rc = history_json(rq, id, &b);
        if (!rc)
            rc = mn__buf_putc(&b, '}');
    }
    if (!rc)
        rc = mn__buf_putc(&b, '\n');
    if (rc == MN_ENOTFOUND) {
        mn__buf_release(&b);
        return mn__reply_error(rq, rc, NULL, "memory %lld was deleted meanwhile",
                               (long long)id);
    }
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

int mn__h_memory_get(mn__hreq *rq)
{
    mn_id id;
    int rc = mn__path_id(rq, rq->params[1], &id);
    return rc ? rc : reply_memory(rq, id, true);
}

int mn__h_memory_patch(mn__hreq *rq)
{
    static const char *const fields[] = {"text", "metadata", "status", NULL};
    mn_memory_patch p;
    const char *status = NULL;
    char *meta = NULL;
    mn_id id;
    mn_err err;
    int rc;

    memset(&p, 0, sizeof p);
    if ((rc = mn__path_id(rq, rq->params[1], &id)) != 0)
        return rc;
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "patch", fields)) ||
        (rc = mn__json_str(rq, rq->json, "text", false, &p.text)) ||
        (rc = mn__json_str(rq, rq->json, "status", false, &status)) ||
        (rc = mn__json_meta(rq, rq->json, "metadata", &meta)))
        goto cleanup;
    p.metadata_json = meta;
    if (status && !(p.status = mn_status_parse(status))) {
        rc = mn__reply_error(rq, MN__H_EFIELD, "use active, archived or superseded",
                             "field 'status' is '%.32s'", status);
        goto cleanup;
    }
    if (!p.text && !p.metadata_json && !p.status) {
        rc = mn__reply_error(rq, MN__H_EFIELD, "send text, metadata or status",
                             "the patch changes nothing");
        goto cleanup;
    }
    rc = mn_memory_update(rq->srv->db, rq->tenant, rq->params[0], id, &p, &err);
    if (rc)
        mn__reply_err(rq, rc, &err);
    else
        rc = reply_memory(rq, id, false);
cleanup:
    cJSON_free(meta);
    return rc;
}

int mn__h_memory_delete(mn__hreq *rq)
{
    char body[96];
    mn__buf b;
    mn_id id;
    mn_err err;
    int rc = mn__path_id(rq, rq->params[1], &id);
    if (rc)
        return rc;
    rc = mn_memory_delete(rq->srv->db, rq->tenant, rq->params[0], id, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    snprintf(body, sizeof body, "{\"id\":%lld,\"deleted\":true}\n", (long long)id);
    mn__buf_init(&b, 0);
    if (mn__buf_puts(&b, body) || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

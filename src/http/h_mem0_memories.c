/* h_mem0_memories.c - mem0's memory calls on mnemo's engine: add (messages as they are, or
 * with fact extraction and ADD/UPDATE/NOOP events where UPDATE is a supersede), get, update,
 * delete, delete all of one entity, history as events, batch update and delete. Every tenant
 * comes from the key; every memory is reached through the user its id carries. */
#include <string.h>

#include "h_mem0.h"

#define M0_BATCH_MAX 1000 /* mem0's own limit for batch calls */

/* ---- add -----------------------------------------------------------------------------------*/

/* A platform option mnemo cannot honour: accepted only when absent, null, false or empty. */
static int refuse_option(mn__hreq *rq, const char *name, const char *feature)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->json, name);
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v) ||
        (cJSON_IsString(v) && !*v->valuestring) ||
        ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child))
        return 0;
    return mn__reply_error(rq, MN__H_ENOTSUPP, "leave it out (docs/MEM0.md)",
                           "mem0 feature '%s' (field '%s') is not supported by mnemo", feature,
                           name);
}

/* metadata must be an object, without the member that holds the secondary entities. */
static int check_meta(mn__hreq *rq, const cJSON *meta)
{
    if (!meta)
        return 0;
    if (!cJSON_IsObject(meta))
        return mn__reply_error(rq, MN__H_EFIELD, "send metadata as a JSON object",
                               "field 'metadata' must be an object");
    if (cJSON_GetObjectItemCaseSensitive(meta, "_mem0"))
        return mn__reply_error(rq, MN__H_EFIELD, "pass agent_id and app_id as fields",
                               "metadata key '_mem0' is reserved (it holds agent_id and app_id "
                               "next to a user_id)");
    return 0;
}

/* The metadata of one stored message: the request's metadata, the secondary entities under
 * "_mem0" and the speaker's name. *out NULL when there is nothing; free with cJSON_free. */
static int message_meta(mn__hreq *rq, const cJSON *meta, const mn__m0_ents *e, const char *name,
                        char **out)
{
    cJSON *o, *x = NULL;
    bool user = e->user_id != NULL;
    *out = NULL;
    if (!meta && !name && !(user && (e->agent_id || e->app_id)) && !(e->agent_id && e->app_id))
        return 0;
    o = meta ? cJSON_Duplicate(meta, true) : cJSON_CreateObject();
    if (!o)
        goto nomem;
    if ((user && e->agent_id) || ((user || e->agent_id) && e->app_id)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "_mem0");
        if (!(x = cJSON_AddObjectToObject(o, "_mem0")))
            goto nomem;
        if (user && e->agent_id && !cJSON_AddStringToObject(x, "agent_id", e->agent_id))
            goto nomem;
        if (e->app_id && !cJSON_AddStringToObject(x, "app_id", e->app_id))
            goto nomem;
    }
    if (name && !cJSON_GetObjectItemCaseSensitive(o, "speaker") &&
        !cJSON_AddStringToObject(o, "speaker", name))
        goto nomem;
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*out)
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading metadata");
    if ((long long)strlen(*out) > rq->srv->cfg.max_metadata_bytes) {
        size_t n = strlen(*out);
        cJSON_free(*out);
        *out = NULL;
        return mn__reply_error(rq, MN_ETOOBIG, "store less metadata or raise max-metadata",
                               "metadata is %zu bytes, limit is %lld (max-metadata)", n,
                               rq->srv->cfg.max_metadata_bytes);
    }
    return 0;
nomem:
    cJSON_Delete(o);
    return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading metadata");
}

static int put_event(mn__buf *b, bool first, mn_id id, const char *owner, const char *event,
                     const mn_memory *m, const mn_memory *prev)
{
    char sid[MN__M0_ID_CAP];
    int rc;
    mn__m0_id_format(id, owner, sid, sizeof sid);
    rc = mn__buf_printf(b, "%s{\"id\":\"%s\",\"event\":\"%s\",\"memory\":", first ? "" : ",",
                        sid, event);
    if (!rc)
        rc = mn__buf_json_str(b, m->text, strlen(m->text));
    if (!rc)
        rc = mn__buf_puts(b, ",\"data\":{\"memory\":");
    if (!rc)
        rc = mn__buf_json_str(b, m->text, strlen(m->text));
    if (!rc)
        rc = mn__buf_printf(b, "},\"kind\":\"%s\"",
                            mn_kind_name(m->kind) ? mn_kind_name(m->kind) : "message");
    if (!rc && prev) {
        mn__m0_id_format(prev->id, owner, sid, sizeof sid);
        rc = mn__buf_puts(b, ",\"previous_memory\":");
        if (!rc)
            rc = mn__buf_json_str(b, prev->text, strlen(prev->text));
        if (!rc)
            rc = mn__buf_printf(b, ",\"previous_id\":\"%s\"", sid);
    }
    return rc ? rc : mn__buf_putc(b, '}');
}

static bool has_source(const mn_memory *m, const mn_id *ids, size_t n)
{
    size_t i, j;
    for (i = 0; i < m->n_sources; i++)
        for (j = 0; j < n; j++)
            if (m->sources[i] == ids[j])
                return true;
    return false;
}

/* The statement that s superseded, among the owner's superseded statements (newest first,
 * at most 10,000 looked at); NULL when s replaced none. Borrowed from *keep. */
static const mn_memory *find_replaced(mn__hreq *rq, const char *owner, mn_id s,
                                      mn_results **keep)
{
    mn_filter f;
    mn_id after = 0;
    int pages;
    mn_filter_init(&f);
    f.tenant = rq->tenant;
    f.user_id = owner;
    f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE) | MN_KIND_BIT(MN_KIND_FACT);
    f.statuses = MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
    for (pages = 0; pages < 10; pages++) {
        mn_results *r = NULL;
        size_t i;
        if (mn_memory_list(rq->srv->db, &f, after, MN_MAX_K, &r, NULL))
            return NULL;
        for (i = 0; i < r->n; i++)
            if (r->hits[i].mem.superseded_by == s) {
                mn_results_free(*keep);
                *keep = r;
                return &r->hits[i].mem;
            }
        after = r->next_after;
        mn_results_free(r);
        if (!after)
            break;
    }
    return NULL;
}

/* Events of the statements extracted (inline, by rules) from the messages just stored. */
static int statement_events(mn__hreq *rq, const char *owner, const mn_id *ids, size_t n,
                            int64_t t0, int64_t t1, mn__buf *b, size_t *n_ev)
{
    mn_filter f;
    mn_results *r = NULL;
    size_t i;
    int rc;
    mn_filter_init(&f);
    f.tenant = rq->tenant;
    f.user_id = owner;
    f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE) | MN_KIND_BIT(MN_KIND_FACT);
    f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
    /* a statement carries the time of its message */
    f.since_ms = t0;
    f.until_ms = t1 + 1;
    rc = mn_memory_list(rq->srv->db, &f, 0, MN_MAX_K, &r, NULL);
    if (rc)
        return rc;
    for (i = r->n; !rc && i-- > 0;) {
        const mn_memory *m = &r->hits[i].mem, *prev;
        mn_results *keep = NULL;
        if (!has_source(m, ids, n))
            continue;
        if (m->status == MN_STATUS_SUPERSEDED) {
            /* stated by an older message than one already known: the known one stays */
            rc = put_event(b, !*n_ev, m->id, owner, "NOOP", m, NULL);
        } else {
            prev = find_replaced(rq, owner, m->id, &keep);
            rc = put_event(b, !*n_ev, m->id, owner, prev ? "UPDATE" : "ADD", m, prev);
            mn_results_free(keep);
        }
        ++*n_ev;
    }
    mn_results_free(r);
    return rc;
}

static const char *const add_fields[] = {
    "messages", "user_id", "agent_id", "app_id", "run_id", "metadata", "infer", "timestamp",
    "expiration_date", "output_format", "async_mode", "version", "org_id", "project_id",
    "immutable", "enable_graph", "custom_categories", "custom_instructions",
    "agent_custom_instructions", "includes", "excludes", "structured_data_schema", NULL};

static const char *const message_fields[] = {"role", "content", "name", NULL};

int mn__h_m0_add(mn__hreq *rq)
{
    const cJSON *msgs, *it, *meta, *infer_v, *ts;
    char owner[MN_MAX_ID_BYTES + 1];
    mn__m0_ents e;
    mn_memory_in *items = NULL;
    char **metas = NULL;
    mn_id *ids = NULL;
    bool infer = true;
    int64_t created = 0, t0 = INT64_MAX, t1 = 0;
    size_t n, i = 0, n_ev = 0;
    const char *extract = rq->srv->cfg.extract ? rq->srv->cfg.extract : "off";
    mn__buf b;
    mn_err err;
    int rc;

    mn__buf_init(&b, 0);
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "body", add_fields)) ||
        (rc = refuse_option(rq, "custom_categories", "custom categories")) ||
        (rc = refuse_option(rq, "custom_instructions", "custom instructions")) ||
        (rc = refuse_option(rq, "agent_custom_instructions", "custom instructions")) ||
        (rc = refuse_option(rq, "includes", "includes")) ||
        (rc = refuse_option(rq, "excludes", "excludes")) ||
        (rc = refuse_option(rq, "structured_data_schema", "structured data")) ||
        (rc = refuse_option(rq, "expiration_date", "expiration dates")) ||
        (rc = refuse_option(rq, "immutable", "immutable memories")) ||
        (rc = refuse_option(rq, "enable_graph", "graph memory")) ||
        (rc = mn__m0_ents_read(rq, rq->json, &e)) || (rc = mn__m0_owner(rq, &e, owner)))
        return rc;
    meta = cJSON_GetObjectItemCaseSensitive(rq->json, "metadata");
    if (cJSON_IsNull(meta))
        meta = NULL;
    if ((rc = check_meta(rq, meta)) != 0)
        return rc;
    infer_v = cJSON_GetObjectItemCaseSensitive(rq->json, "infer");
    if (infer_v && !cJSON_IsNull(infer_v)) {
        if (!cJSON_IsBool(infer_v))
            return mn__reply_error(rq, MN__H_EFIELD, NULL, "field 'infer' must be a boolean");
        infer = cJSON_IsTrue(infer_v);
    }
    ts = cJSON_GetObjectItemCaseSensitive(rq->json, "timestamp");
    if (ts && !cJSON_IsNull(ts)) {
        if (!cJSON_IsNumber(ts) || ts->valuedouble < 1 || ts->valuedouble > 253402300799.0)
            return mn__reply_error(rq, MN__H_EFIELD, "Unix seconds, as mem0 takes them",
                                   "field 'timestamp' must be a positive number of seconds");
        created = (int64_t)(ts->valuedouble * 1000.0);
    }
    msgs = cJSON_GetObjectItemCaseSensitive(rq->json, "messages");
    if (cJSON_IsString(msgs))
        n = 1;
    else if (cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) > 0)
        n = (size_t)cJSON_GetArraySize(msgs);
    else
        return mn__reply_error(rq, MN__H_EFIELD, "send [{\"role\": \"user\", \"content\": ...}]",
                               "field 'messages' must be a non-empty array or a string");
    if ((long long)n > rq->srv->cfg.max_batch)
        return mn__reply_error(rq, MN_ETOOBIG, "split the messages or raise max-batch",
                               "%zu messages in one request, limit is %lld (max-batch)", n,
                               rq->srv->cfg.max_batch);
    items = mn__calloc(n, sizeof *items);
    metas = mn__calloc(n, sizeof *metas);
    ids = mn__calloc(n, sizeof *ids);
    if (!items || !metas || !ids) {
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading %zu messages", n);
        goto cleanup;
    }
    for (it = cJSON_IsString(msgs) ? msgs : msgs->child; i < n && it; it = it->next, i++) {
        const char *role = NULL, *content = NULL, *name = NULL;
        mn_memory_in *in = &items[i];
        mn_memory_in_init(in);
        in->tenant = rq->tenant;
        in->user_id = owner;
        in->role = MN_ROLE_USER;
        in->session_id = e.run_id;
        in->created_at_ms = created;
        snprintf(rq->where, sizeof rq->where, "messages[%zu]: ", i);
        if (cJSON_IsString(it)) {
            content = it->valuestring;
        } else if (!cJSON_IsObject(it)) {
            rc = mn__reply_error(rq, MN__H_EFIELD, "send {\"role\", \"content\"} objects",
                                 "%sa message must be an object", rq->where);
            goto cleanup;
        } else if ((rc = mn__json_fields(rq, it, "message", message_fields)) ||
                   (rc = mn__json_str(rq, it, "role", true, &role)) ||
                   (rc = mn__json_str(rq, it, "name", false, &name))) {
            goto cleanup;
        } else {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (c && !cJSON_IsString(c) && !cJSON_IsNull(c)) {
                rc = mn__reply_error(rq, MN__H_ENOTSUPP, "send text content",
                                     "%smem0 feature 'multimodal messages' (non-text content) "
                                     "is not supported by mnemo",
                                     rq->where);
                goto cleanup;
            }
            if ((rc = mn__json_str(rq, it, "content", true, &content)) != 0)
                goto cleanup;
            if (!strcmp(role, "system"))
                in->role = MN_ROLE_NONE;
            else if ((int)(in->role = mn_role_parse(role)) <= 0) {
                rc = mn__reply_error(rq, MN__H_EFIELD, "use user, assistant or system",
                                     "%sfield 'role' is '%.32s'", rq->where, role);
                goto cleanup;
            }
        }
        in->text = content;
        if ((rc = message_meta(rq, meta, &e, name, &metas[i])) != 0)
            goto cleanup;
        in->metadata_json = metas[i];
    }
    rq->where[0] = '\0';
    rc = n == 1 ? mn_memory_add(rq->srv->db, &items[0], &ids[0], &err)
                : mn_memory_add_batch(rq->srv->db, items, n, ids, &err);
    if (rc) {
        mn__reply_err(rq, rc, &err);
        goto cleanup;
    }
    rc = mn__buf_puts(&b, "{\"results\":[");
    for (i = 0; !rc && i < n; i++) {
        mn_results *r = NULL;
        /* the stored time (now when none was given) bounds the statements' search */
        if (mn_memory_get(rq->srv->db, rq->tenant, owner, ids[i], &r, NULL) == MN_OK) {
            const mn_memory *m = &r->hits[0].mem;
            t0 = MN_MIN(t0, m->created_at_ms);
            t1 = m->created_at_ms > t1 ? m->created_at_ms : t1;
            if (!infer)
                rc = put_event(&b, !n_ev++, ids[i], owner, "ADD", m, NULL);
        }
        mn_results_free(r);
    }
    /* with llm, the rules run inline too; the LLM's statements come later */
    if (!rc && infer && strcmp(extract, "off") && t1)
        rc = statement_events(rq, owner, ids, n, t0, t1, &b, &n_ev);
    if (!rc)
        rc = mn__buf_puts(&b, "],\"message_ids\":[");
    for (i = 0; !rc && i < n; i++) {
        char sid[MN__M0_ID_CAP];
        mn__m0_id_format(ids[i], owner, sid, sizeof sid);
        rc = mn__buf_printf(&b, "%s\"%s\"", i ? "," : "", sid);
    }
    if (!rc)
        rc = mn__buf_printf(&b, "],\"status\":\"SUCCEEDED\",\"infer\":%s", infer ? "true" : "false");
    if (!rc && infer)
        rc = mn__buf_printf(&b, ",\"extraction\":\"%s\",\"message\":\"%s\"", extract,
                            !strcmp(extract, "rules")
                                ? "messages stored; facts and preferences extracted"
                            : !strcmp(extract, "llm")
                                ? "messages stored; facts found by rules are listed, the LLM's "
                                  "are added in the background"
                                : "messages stored; extraction is off on this server "
                                  "(mnemo serve --extract rules or llm)");
    if (!rc)
        rc = mn__buf_putc(&b, '}');
    rc = mn__m0_reply(rq, 200, rc, &b);
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

/* ---- one memory ----------------------------------------------------------------------------*/

/* Fetches the memory of a path id; replies 404 when there is none. */
static int fetch(mn__hreq *rq, const char *sid, mn_id *id, char owner[MN_MAX_ID_BYTES + 1],
                 mn_results **out)
{
    mn_err err;
    int rc = mn__m0_id_parse(rq, sid, id, owner);
    if (rc)
        return rc;
    rc = mn_memory_get(rq->srv->db, rq->tenant, owner, *id, out, &err);
    if (rc == MN_ENOTFOUND)
        return mn__reply_error(rq, rc, "the id may be of another tenant, or deleted",
                               "memory '%.64s' not found", sid);
    return rc ? mn__reply_err(rq, rc, &err) : 0;
}

static int reply_one(mn__hreq *rq, const char *owner, mn_id id)
{
    mn_results *r = NULL;
    mn__buf b;
    mn_err err;
    int rc = mn_memory_get(rq->srv->db, rq->tenant, owner, id, &r, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__m0_json_memory(&b, &r->hits[0].mem, NULL);
    mn_results_free(r);
    return mn__m0_reply(rq, 200, rc, &b);
}

int mn__h_m0_get(mn__hreq *rq)
{
    char owner[MN_MAX_ID_BYTES + 1];
    mn_results *r = NULL;
    mn_id id;
    mn__buf b;
    int rc = fetch(rq, rq->params[0], &id, owner, &r);
    if (rc)
        return rc;
    mn__buf_init(&b, 0);
    rc = mn__m0_json_memory(&b, &r->hits[0].mem, NULL);
    mn_results_free(r);
    return mn__m0_reply(rq, 200, rc, &b);
}

/* New metadata that keeps the memory's secondary entities ("_mem0"). Free with cJSON_free. */
static int keep_entities(mn__hreq *rq, const cJSON *meta, const char *old_json, char **out)
{
    cJSON *o = cJSON_Duplicate(meta, true), *old = old_json ? cJSON_Parse(old_json) : NULL;
    cJSON *x = old ? cJSON_DetachItemFromObjectCaseSensitive(old, "_mem0") : NULL;
    int rc = 0;
    cJSON_Delete(old);
    if (!o) {
        cJSON_Delete(x);
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading metadata");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "_mem0");
    if (x)
        cJSON_AddItemToObject(o, "_mem0", x);
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*out)
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading metadata");
    else if ((long long)strlen(*out) > rq->srv->cfg.max_metadata_bytes)
        rc = mn__reply_error(rq, MN_ETOOBIG, "store less metadata or raise max-metadata",
                             "metadata is %zu bytes, limit is %lld (max-metadata)",
                             strlen(*out), rq->srv->cfg.max_metadata_bytes);
    return rc;
}

int mn__h_m0_update(mn__hreq *rq)
{
    static const char *const fields[] = {"text", "metadata", "timestamp", "expiration_date",
                                         NULL};
    char owner[MN_MAX_ID_BYTES + 1];
    mn_results *r = NULL;
    mn_memory_patch p;
    const cJSON *meta;
    char *meta_out = NULL;
    mn_id id;
    mn_err err;
    int rc;

    memset(&p, 0, sizeof p);
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "body", fields)) ||
        (rc = refuse_option(rq, "expiration_date", "expiration dates")) ||
        (rc = mn__json_str(rq, rq->json, "text", false, &p.text)))
        return rc;
    if (cJSON_GetObjectItemCaseSensitive(rq->json, "timestamp"))
        return mn__reply_error(rq, MN__H_EFIELD, "a memory keeps the time it was stored",
                               "field 'timestamp' cannot be changed in mnemo");
    meta = cJSON_GetObjectItemCaseSensitive(rq->json, "metadata");
    if (cJSON_IsNull(meta))
        meta = NULL;
    if ((rc = check_meta(rq, meta)) != 0)
        return rc;
    if (!p.text && !cJSON_IsObject(meta))
        return mn__reply_error(rq, MN__H_EFIELD, "send text or metadata",
                               "the update changes nothing");
    if (p.text && !*p.text)
        return mn__reply_error(rq, MN__H_EFIELD, "delete the memory instead",
                               "field 'text' is empty");
    if ((rc = fetch(rq, rq->params[0], &id, owner, &r)) != 0)
        return rc;
    if (cJSON_IsObject(meta))
        rc = keep_entities(rq, meta, r->hits[0].mem.metadata_json, &meta_out);
    mn_results_free(r);
    if (rc)
        goto cleanup;
    p.metadata_json = meta_out;
    rc = mn_memory_update(rq->srv->db, rq->tenant, owner, id, &p, &err);
    rc = rc ? mn__reply_err(rq, rc, &err) : reply_one(rq, owner, id);
cleanup:
    cJSON_free(meta_out);
    return rc;
}

int mn__h_m0_delete(mn__hreq *rq)
{
    const char *linked = mn__query(rq, "delete_linked");
    char owner[MN_MAX_ID_BYTES + 1];
    mn_id id;
    mn__buf b;
    mn_err err;
    int rc;
    if (linked && strcmp(linked, "false"))
        return mn__reply_error(rq, MN__H_ENOTSUPP, "delete the superseded versions by id",
                               "mem0 feature 'delete_linked' is not supported by mnemo");
    if ((rc = mn__m0_id_parse(rq, rq->params[0], &id, owner)) != 0)
        return rc;
    rc = mn_memory_delete(rq->srv->db, rq->tenant, owner, id, &err);
    if (rc == MN_ENOTFOUND)
        return mn__reply_error(rq, rc, "the id may be of another tenant, or deleted",
                               "memory '%.64s' not found", rq->params[0]);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    return mn__m0_reply(rq, 200, mn__buf_puts(&b, "{\"message\":\"Memory deleted successfully!\"}"),
                        &b);
}

int mn__h_m0_delete_all(mn__hreq *rq)
{
    char owner[MN_MAX_ID_BYTES + 1];
    mn__m0_cond c;
    bool narrow;
    int64_t n = 0;
    mn__buf b;
    mn_err err;
    int rc;

    memset(&c, 0, sizeof c);
    if ((rc = mn__m0_ents_read(rq, NULL, &c.e)) != 0)
        return rc;
    /* never "everything": mem0's own server refuses it too */
    if (!c.e.user_id && !c.e.agent_id && !c.e.app_id && !c.e.run_id)
        return mn__reply_error(rq, MN__H_EBADREQ,
                               "pass user_id, agent_id, app_id or run_id; DELETE "
                               "/v1/entities/{type}/{id}/ forgets one entity",
                               "deleting all memories needs an entity: none given");
    if ((rc = mn__m0_owner(rq, &c.e, owner)) != 0)
        return rc;
    narrow = (c.e.run_id && (c.e.user_id || c.e.agent_id || c.e.app_id)) ||
             (c.e.user_id && (c.e.agent_id || c.e.app_id)) || (c.e.agent_id && c.e.app_id);
    if (!narrow) {
        rc = mn_user_forget(rq->srv->db, rq->tenant, owner, &n, &err);
    } else {
        /* a narrower set (a run of a user, a user's agent): the matching memories, one by one */
        mn_filter f;
        mn_id after = 0, *ids = NULL;
        size_t n_ids = 0, cap = 0, i;
        mn__m0_cond_filter(rq, &c, owner, &f);
        f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |
                     MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
        do {
            mn_results *r = NULL;
            rc = mn_memory_list(rq->srv->db, &f, after, MN_MAX_K, &r, &err);
            for (i = 0; !rc && i < r->n; i++) {
                if (!mn__m0_cond_match(&c, owner, &r->hits[i].mem))
                    continue;
                if (n_ids == cap) {
                    mn_id *x = mn__realloc(ids, (cap = cap ? cap * 2 : 256) * sizeof *ids);
                    if (!x) {
                        rc = mn__err_set(&err, MN_ENOMEM, NULL, "out of memory");
                        break;
                    }
                    ids = x;
                }
                ids[n_ids++] = r->hits[i].mem.id;
            }
            after = rc ? 0 : r->next_after;
            mn_results_free(r);
        } while (!rc && after);
        for (i = 0; !rc && i < n_ids; i++) {
            rc = mn_memory_delete(rq->srv->db, rq->tenant, owner, ids[i], &err);
            if (rc == MN_ENOTFOUND)
                rc = MN_OK; /* deleted meanwhile */
            else if (!rc)
                n++;
        }
        mn__free(ids);
    }
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    return mn__m0_reply(rq, 200,
                        mn__buf_printf(&b, "{\"message\":\"Memories deleted successfully!\","
                                           "\"deleted\":%lld}",
                                       (long long)n),
                        &b);
}

/* ---- history -------------------------------------------------------------------------------*/

static int put_version(mn__buf *b, const char *sid, size_t i, const char *owner,
                       const char *event, const mn_memory *old, const mn_memory *cur)
{
    char t[32];
    int rc;
    mn_time_format(cur->updated_at_ms ? cur->updated_at_ms : cur->created_at_ms, t);
    rc = mn__buf_printf(b, "%s{\"id\":\"%s.%zu\",\"memory_id\":\"%s\",\"input\":[],"
                           "\"event\":\"%s\",\"old_memory\":",
                        i ? "," : "", sid, i, sid, event);
    if (!rc)
        rc = old ? mn__buf_json_str(b, old->text, strlen(old->text)) : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_puts(b, ",\"new_memory\":");
    if (!rc)
        rc = strcmp(event, "DELETE") ? mn__buf_json_str(b, cur->text, strlen(cur->text))
                                     : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_puts(b, ",\"user_id\":");
    if (!rc)
        rc = strncmp(owner, "agent:", 6) && strncmp(owner, "app:", 4) && strncmp(owner, "run:", 4)
                 ? mn__buf_json_str(b, owner, strlen(owner))
                 : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_printf(b, ",\"categories\":[],\"status\":\"%s\",\"created_at\":\"%s\","
                               "\"updated_at\":\"%s\"}",
                            mn_status_name(cur->status), t, t);
    return rc;
}

int mn__h_m0_history(mn__hreq *rq)
{
    char owner[MN_MAX_ID_BYTES + 1];
    mn_results *r = NULL, *h = NULL;
    const mn_memory *prev = NULL;
    mn_id id;
    mn__buf b;
    mn_err err;
    size_t i;
    int rc = fetch(rq, rq->params[0], &id, owner, &r);
    if (rc)
        return rc;
    rc = mn_memory_history(rq->srv->db, rq->tenant, owner, id, &h, &err);
    if (rc) {
        mn_results_free(r);
        return mn__reply_err(rq, rc, &err);
    }
    mn__buf_init(&b, 0);
    rc = mn__buf_putc(&b, '[');
    /* versions oldest first, then the current one: each step is an event */
    for (i = 0; !rc && i <= h->n; i++) {
        const mn_memory *cur = i < h->n ? &h->hits[i].mem : &r->hits[0].mem;
        const char *ev = "ADD";
        if (prev && cur->status == MN_STATUS_SUPERSEDED && prev->status != cur->status)
            ev = "DELETE"; /* superseded: kept, no longer current */
        else if (prev)
            ev = "UPDATE";
        if (i == 0 && cur->updated_at_ms != cur->created_at_ms) {
            /* the first version was written when the memory was created */
            mn_memory first = *cur;
            first.updated_at_ms = r->hits[0].mem.created_at_ms;
            rc = put_version(&b, rq->params[0], i, owner, ev, NULL, &first);
        } else {
            rc = put_version(&b, rq->params[0], i, owner, ev, prev, cur);
        }
        prev = cur;
    }
    if (!rc)
        rc = mn__buf_putc(&b, ']');
    mn_results_free(h);
    mn_results_free(r);
    return mn__m0_reply(rq, 200, rc, &b);
}

/* ---- batch ---------------------------------------------------------------------------------*/

typedef struct bitem {
    mn_id id;
    char owner[MN_MAX_ID_BYTES + 1];
    const char *text;
} bitem;

/* Reads {"memories": [{"memory_id", "text"?}]} and checks that every memory exists before
 * anything changes. *out owned by the caller (mn__free). */
static int batch_read(mn__hreq *rq, bool with_text, bitem **out, size_t *out_n)
{
    static const char *const top[] = {"memories", NULL};
    static const char *const upd[] = {"memory_id", "text", NULL};
    static const char *const del[] = {"memory_id", NULL};
    const cJSON *list, *it;
    bitem *v;
    size_t n, i = 0;
    int rc;
    *out = NULL;
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "body", top)) != 0)
        return rc;
    list = cJSON_GetObjectItemCaseSensitive(rq->json, "memories");
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return mn__reply_error(rq, MN__H_EFIELD, "send {\"memories\": [{\"memory_id\": ...}]}",
                               "field 'memories' must be a non-empty array");
    n = (size_t)cJSON_GetArraySize(list);
    if (n > M0_BATCH_MAX)
        return mn__reply_error(rq, MN_ETOOBIG, "split the batch",
                               "%zu memories in one batch, limit is %d", n, M0_BATCH_MAX);
    if (!(v = mn__calloc(n, sizeof *v)))
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading the batch");
    cJSON_ArrayForEach(it, list)
    {
        const char *sid = NULL;
        mn_results *r = NULL;
        snprintf(rq->where, sizeof rq->where, "memories[%zu]: ", i);
        rc = cJSON_IsObject(it) ? mn__json_fields(rq, it, "item", with_text ? upd : del)
                                : mn__reply_error(rq, MN__H_EFIELD, NULL,
                                                  "%san item must be an object", rq->where);
        if (!rc)
            rc = mn__json_str(rq, it, "memory_id", true, &sid);
        if (!rc && with_text)
            rc = mn__json_str(rq, it, "text", true, &v[i].text);
        if (!rc && with_text && !*v[i].text)
            rc = mn__reply_error(rq, MN__H_EFIELD, NULL, "%sfield 'text' is empty", rq->where);
        if (!rc)
            rc = fetch(rq, sid, &v[i].id, v[i].owner, &r);
        mn_results_free(r);
        if (rc)
            break;
        i++;
    }
    rq->where[0] = '\0';
    if (rc) {
        mn__free(v);
        return rc;
    }
    *out = v;
    *out_n = n;
    return 0;
}

static int batch(mn__hreq *rq, bool update)
{
    bitem *v = NULL;
    size_t n = 0, i, done = 0;
    mn__buf b;
    mn_err err;
    int rc = batch_read(rq, update, &v, &n);
    if (rc)
        return rc;
    for (i = 0; !rc && i < n; i++) {
        if (update) {
            mn_memory_patch p;
            memset(&p, 0, sizeof p);
            p.text = v[i].text;
            rc = mn_memory_update(rq->srv->db, rq->tenant, v[i].owner, v[i].id, &p, &err);
        } else {
            rc = mn_memory_delete(rq->srv->db, rq->tenant, v[i].owner, v[i].id, &err);
            if (rc == MN_ENOTFOUND) /* listed twice, or deleted meanwhile: gone either way */
                rc = MN_OK;
        }
        done += !rc;
    }
    mn__free(v);
    if (rc) {
        mn__err_prefix(&err, "memories[%zu] (after %zu done)", i - 1, done);
        return mn__reply_err(rq, rc, &err);
    }
    mn__buf_init(&b, 0);
    return mn__m0_reply(rq, 200,
                        mn__buf_printf(&b, "{\"message\":\"Successfully %s %zu memories\"}",
                                       update ? "updated" : "deleted", done),
                        &b);
}

int mn__h_m0_batch_update(mn__hreq *rq)
{
    return batch(rq, true);
}

int mn__h_m0_batch_delete(mn__hreq *rq)
{
    return batch(rq, false);
}

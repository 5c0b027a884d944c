/* mem0_json.c - what the mem0-compatible handlers share: memory ids that carry their mnemo
 * user (a mem0 id alone must find its memory, and mnemo keys memories by user), the mapping of
 * mem0's entities onto mnemo users, mem0 filters (AND/OR/in/wildcard, created_at ranges,
 * metadata) as OR-branches, and the mem0 JSON shape of a memory. */
#include <stdlib.h>
#include <string.h>

#include "h_mem0.h"

/* Entity namespaces inside the tenant's users: an agent or an app is a user of its own, so
 * that two agents never share memories, and a mnemo user id says whose memories it holds. */
static const struct {
    const char *prefix;
    size_t len;
} ns[] = {{"agent:", 6}, {"app:", 4}, {"run:", 4}};

/* Secondary entities (agent_id/app_id next to a user_id) live in this metadata member. */
#define M0_META_KEY "_mem0"

int mn__m0_owner(mn__hreq *rq, const mn__m0_ents *e, char out[MN_MAX_ID_BYTES + 1])
{
    const char *pfx = "", *v;
    const char *name;
    size_t i;
    if (e->user_id) {
        for (i = 0; i < MN_ARRAY_LEN(ns); i++)
            if (!strncmp(e->user_id, ns[i].prefix, ns[i].len))
                return mn__reply_error(rq, MN__H_EFIELD,
                                       "user ids starting with agent:, app: or run: hold the "
                                       "memories of agent_id, app_id and run_id (docs/MEM0.md)",
                                       "user_id '%.64s' is in a reserved namespace",
                                       e->user_id);
        v = e->user_id;
        name = "user_id";
    } else if (e->agent_id) {
        pfx = "agent:";
        v = e->agent_id;
        name = "agent_id";
    } else if (e->app_id) {
        pfx = "app:";
        v = e->app_id;
        name = "app_id";
    } else if (e->run_id) {
        pfx = "run:";
        v = e->run_id;
        name = "run_id";
    } else {
        return mn__reply_error(rq, MN__H_EBADREQ, "pass user_id, agent_id, app_id or run_id",
                               "the request names no entity");
    }
    if (!*v || strlen(pfx) + strlen(v) > MN_MAX_ID_BYTES)
        return mn__reply_error(rq, MN__H_EFIELD, "ids are 1 to 128 bytes with the namespace",
                               "%s '%.64s' is empty or too long (%zu bytes)", name, v,
                               strlen(v));
    memcpy(out, pfx, strlen(pfx));
    memcpy(out + strlen(pfx), v, strlen(v) + 1);
    return 0;
}

void mn__m0_id_format(mn_id id, const char *owner, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = (size_t)snprintf(out, cap, "%lld-", (long long)id);
    for (; *owner && o + 3 <= cap; owner++) {
        out[o++] = hex[(unsigned char)*owner >> 4];
        out[o++] = hex[(unsigned char)*owner & 15];
    }
    if (o < cap)
        out[o] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mn__m0_id_parse(mn__hreq *rq, const char *s, mn_id *out_id,
                    char out_owner[MN_MAX_ID_BYTES + 1])
{
    const char *p = s;
    long long id = 0;
    size_t n = 0;
    while (*p >= '0' && *p <= '9' && id < INT64_MAX / 10 - 9)
        id = id * 10 + (*p++ - '0');
    if (p == s || *p != '-' || id <= 0)
        goto bad;
    for (p++; p[0] && p[1]; p += 2) {
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || n >= MN_MAX_ID_BYTES || (hi == 0 && lo == 0))
            goto bad;
        out_owner[n++] = (char)(hi << 4 | lo);
    }
    out_owner[n] = '\0';
    if (*p || n == 0 || !mn__utf8_valid(out_owner, n, NULL))
        goto bad;
    *out_id = id;
    return 0;
bad:
    return mn__reply_error(rq, MN_ENOTFOUND,
                           "mem0 ids from mnemo look like '42-616c696365' (docs/MEM0.md)",
                           "memory '%.64s' not found", s);
}

/* ---- entities of a request ---------------------------------------------------------------*/

static const char *const ent_names[] = {"user_id", "agent_id", "app_id", "run_id"};

static const char **ent_slot(mn__m0_ents *e, size_t i)
{
    return i == 0 ? &e->user_id : i == 1 ? &e->agent_id : i == 2 ? &e->app_id : &e->run_id;
}

int mn__m0_ents_read(mn__hreq *rq, const cJSON *obj, mn__m0_ents *out)
{
    size_t i;
    int rc;
    memset(out, 0, sizeof *out);
    for (i = 0; i < MN_ARRAY_LEN(ent_names); i++) {
        const char **slot = ent_slot(out, i);
        if (obj) {
            if ((rc = mn__json_str(rq, obj, ent_names[i], false, slot)) != 0)
                return rc;
        } else {
            *slot = mn__query(rq, ent_names[i]);
        }
        if (*slot && !**slot)
            return mn__reply_error(rq, MN__H_EFIELD, "leave it out or give an id",
                                   "%s is empty", ent_names[i]);
    }
    return 0;
}

/* ---- filters -----------------------------------------------------------------------------*/

/* a AND b into out; 1 when both carry a metadata filter (one per branch is supported). */
static int merge(const mn__m0_cond *a, const mn__m0_cond *b, mn__m0_cond *out)
{
    size_t i;
    *out = *a;
    out->never = a->never || b->never;
    for (i = 0; i < MN_ARRAY_LEN(ent_names); i++) {
        const char **x = ent_slot(&out->e, i);
        const char *y = *ent_slot((mn__m0_ents *)&b->e, i);
        if (!y)
            continue;
        if (*x && strcmp(*x, y))
            out->never = true;
        *x = y;
    }
    if (b->since_ms > out->since_ms)
        out->since_ms = b->since_ms;
    if (b->until_ms && (!out->until_ms || b->until_ms < out->until_ms))
        out->until_ms = b->until_ms;
    if (b->metadata) {
        if (out->metadata)
            return 1;
        out->metadata = b->metadata;
    }
    return 0;
}

/* s = s AND t. */
static int product(mn__hreq *rq, mn__m0_filter *s, const mn__m0_filter *t)
{
    mn__m0_filter r;
    size_t i, j;
    r.n = 0;
    for (i = 0; i < s->n; i++)
        for (j = 0; j < t->n; j++) {
            if (r.n == MN__M0_MAX_BRANCHES)
                return mn__reply_error(rq, MN__H_EFIELD, "split the request",
                                       "filters expand to more than %d OR branches",
                                       MN__M0_MAX_BRANCHES);
            if (merge(&s->c[i], &t->c[j], &r.c[r.n++]))
                return mn__reply_error(rq, MN__H_EFIELD, "put all metadata keys in one object",
                                       "filters: more than one metadata condition in one "
                                       "AND branch");
        }
    *s = r;
    return 0;
}

static void one(mn__m0_filter *f)
{
    memset(&f->c[0], 0, sizeof f->c[0]);
    f->n = 1;
}

/* A time bound: RFC 3339 string or Unix seconds (mem0's timestamps are seconds). */
static int bound(mn__hreq *rq, const cJSON *v, const char *what, int64_t *out)
{
    if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 253402300799.0) {
        *out = (int64_t)(v->valuedouble * 1000.0);
        return 0;
    }
    if (cJSON_IsString(v) && mn_time_parse(v->valuestring, out) == MN_OK)
        return 0;
    return mn__reply_error(rq, MN__H_EFIELD,
                           "use RFC 3339 like 2024-05-01T10:00:00Z or Unix seconds",
                           "filters: %s is not a time", what);
}

static int parse_time(mn__hreq *rq, const cJSON *v, mn__m0_filter *t)
{
    const cJSON *op;
    one(t);
    if (!cJSON_IsObject(v))
        return mn__reply_error(rq, MN__H_EFIELD, "use {\"gte\": ..., \"lt\": ...}",
                               "filters: created_at must be an object of gte, gt, lte, lt");
    cJSON_ArrayForEach(op, v)
    {
        int64_t ms = 0;
        int rc;
        if ((rc = bound(rq, op, op->string, &ms)) != 0)
            return rc;
        if (!strcmp(op->string, "gte"))
            t->c[0].since_ms = ms;
        else if (!strcmp(op->string, "gt"))
            t->c[0].since_ms = ms + 1;
        else if (!strcmp(op->string, "lte"))
            t->c[0].until_ms = ms + 1;
        else if (!strcmp(op->string, "lt"))
            t->c[0].until_ms = ms;
        else
            return mn__reply_error(rq, MN__H_EFIELD, "use gte, gt, lte or lt",
                                   "filters: created_at operator '%.32s' is not supported",
                                   op->string);
    }
    return 0;
}

/* An entity condition: "id", "*" (anything) or {"in": [ids]}. */
static int parse_entity(mn__hreq *rq, size_t which, const cJSON *v, mn__m0_filter *t)
{
    const cJSON *in, *it;
    one(t);
    if (cJSON_IsString(v)) {
        if (!*v->valuestring)
            return mn__reply_error(rq, MN__H_EFIELD, NULL, "filters: %s is empty",
                                   ent_names[which]);
        if (strcmp(v->valuestring, "*"))
            *ent_slot(&t->c[0].e, which) = v->valuestring;
        return 0;
    }
    in = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "in") : NULL;
    if (!in || cJSON_GetArraySize(v) != 1 || !cJSON_IsArray(in) || !cJSON_GetArraySize(in))
        return mn__reply_error(rq, MN__H_EFIELD,
                               "use \"id\", \"*\" or {\"in\": [\"id\", ...]}",
                               "filters: %s must be an id, \"*\" or an \"in\" list",
                               ent_names[which]);
    t->n = 0;
    cJSON_ArrayForEach(it, in)
    {
        if (!cJSON_IsString(it) || !*it->valuestring)
            return mn__reply_error(rq, MN__H_EFIELD, NULL,
                                   "filters: %s \"in\" holds a value that is not an id",
                                   ent_names[which]);
        if (t->n == MN__M0_MAX_BRANCHES)
            return mn__reply_error(rq, MN__H_EFIELD, "split the request",
                                   "filters: more than %d ids in one \"in\"",
                                   MN__M0_MAX_BRANCHES);
        memset(&t->c[t->n], 0, sizeof t->c[0]);
        *ent_slot(&t->c[t->n++].e, which) = it->valuestring;
    }
    return 0;
}

static int parse(mn__hreq *rq, const cJSON *obj, int depth, mn__m0_filter *out)
{
    const cJSON *it;
    int rc = 0;
    one(out);
    if (!cJSON_IsObject(obj))
        return mn__reply_error(rq, MN__H_EFIELD, "send filters as a JSON object",
                               "filters must be an object");
    if (depth > 4)
        return mn__reply_error(rq, MN__H_EFIELD, "flatten the filter",
                               "filters are nested deeper than 4 AND/OR levels");
    for (it = obj->child; it && !rc; it = it->next) {
        mn__m0_filter t, sub;
        const cJSON *el;
        size_t i;
        const char *k = it->string;
        if (!strcmp(k, "AND") || !strcmp(k, "OR")) {
            bool and_ = k[0] == 'A';
            if (!cJSON_IsArray(it) || !cJSON_GetArraySize(it))
                return mn__reply_error(rq, MN__H_EFIELD, NULL,
                                       "filters: %s must be a non-empty array", k);
            if (and_)
                one(&t);
            else
                t.n = 0;
            cJSON_ArrayForEach(el, it)
            {
                if ((rc = parse(rq, el, depth + 1, &sub)) != 0)
                    return rc;
                if (and_) {
                    if ((rc = product(rq, &t, &sub)) != 0)
                        return rc;
                    continue;
                }
                for (i = 0; i < sub.n; i++) {
                    if (t.n == MN__M0_MAX_BRANCHES)
                        return mn__reply_error(rq, MN__H_EFIELD, "split the request",
                                               "filters expand to more than %d OR branches",
                                               MN__M0_MAX_BRANCHES);
                    t.c[t.n++] = sub.c[i];
                }
            }
        } else if (!strcmp(k, "created_at")) {
            rc = parse_time(rq, it, &t);
        } else if (!strcmp(k, "metadata")) {
            if (!cJSON_IsObject(it))
                return mn__reply_error(rq, MN__H_EFIELD, "send metadata as an object",
                                       "filters: metadata must be an object");
            one(&t);
            t.c[0].metadata = it;
        } else {
            for (i = 0; i < MN_ARRAY_LEN(ent_names); i++)
                if (!strcmp(k, ent_names[i]))
                    break;
            if (i == MN_ARRAY_LEN(ent_names))
                return mn__reply_error(
                    rq, MN__H_EFIELD,
                    "supported: user_id, agent_id, app_id, run_id, created_at, metadata, "
                    "AND, OR (docs/MEM0.md)",
                    "filters: '%.64s' is not supported by mnemo", k);
            rc = parse_entity(rq, i, it, &t);
        }
        if (!rc)
            rc = product(rq, out, &t);
    }
    return rc;
}

int mn__m0_filters_parse(mn__hreq *rq, const cJSON *filters, mn__m0_filter *out)
{
    size_t i, n = 0;
    int rc = parse(rq, filters, 0, out);
    if (rc)
        return rc;
    for (i = 0; i < out->n; i++) {
        const mn__m0_ents *e = &out->c[i].e;
        if (!e->user_id && !e->agent_id && !e->app_id && !e->run_id)
            return mn__reply_error(rq, MN__H_EBADREQ,
                                   "every OR branch needs a user_id, agent_id, app_id or "
                                   "run_id (a wildcard does not count)",
                                   "filters name no entity");
        if (!out->c[i].never)
            out->c[n++] = out->c[i];
    }
    out->n = n;
    return 0;
}

void mn__m0_cond_filter(const mn__hreq *rq, const mn__m0_cond *c, const char *owner,
                        mn_filter *out)
{
    mn_filter_init(out);
    out->tenant = rq->tenant;
    out->user_id = owner;
    out->scope = MN_SCOPE_USER;
    out->session_id = c->e.run_id;
    out->since_ms = c->since_ms;
    out->until_ms = c->until_ms;
}

static const char *meta_ent(const cJSON *meta, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(meta, M0_META_KEY);
    const cJSON *v = m ? cJSON_GetObjectItemCaseSensitive(m, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool mn__m0_cond_match(const mn__m0_cond *c, const char *owner, const mn_memory *m)
{
    bool by_user = strncmp(owner, "agent:", 6) && strncmp(owner, "app:", 4) &&
                   strncmp(owner, "run:", 4);
    /* the first entity named chose the partition; the others are checked here */
    bool want_agent = by_user && c->e.agent_id;
    bool want_app = c->e.app_id && strncmp(owner, "app:", 4);
    const cJSON *it;
    cJSON *meta;
    bool ok = true;
    if (!want_agent && !want_app && !c->metadata)
        return true;
    meta = m->metadata_json ? cJSON_Parse(m->metadata_json) : NULL;
    if (want_agent) {
        const char *v = meta_ent(meta, "agent_id");
        ok = v && !strcmp(v, c->e.agent_id);
    }
    if (ok && want_app) {
        const char *v = meta_ent(meta, "app_id");
        ok = v && !strcmp(v, c->e.app_id);
    }
    if (ok && c->metadata)
        cJSON_ArrayForEach(it, c->metadata)
        {
            const cJSON *v = meta ? cJSON_GetObjectItemCaseSensitive(meta, it->string) : NULL;
            if (!v || !cJSON_Compare(v, it, true)) {
                ok = false;
                break;
            }
        }
    cJSON_Delete(meta);
    return ok;
}

/* ---- the mem0 shape of a memory ------------------------------------------------------------*/

static int put_str_or_null(mn__buf *b, const char *name, const char *v)
{
    int rc = mn__buf_printf(b, ",\"%s\":", name);
    if (rc)
        return rc;
    return v ? mn__buf_json_str(b, v, strlen(v)) : mn__buf_puts(b, "null");
}

int mn__m0_json_memory(mn__buf *b, const mn_memory *m, const double *score)
{
    char id[MN__M0_ID_CAP], c[32], u[32];
    const char *owner = m->user_id ? m->user_id : "";
    const char *user = NULL, *agent = NULL, *app = NULL;
    cJSON *meta = NULL, *extra = NULL;
    char *meta_out = NULL;
    int rc;

    if (m->metadata_json && strstr(m->metadata_json, "\"" M0_META_KEY "\"")) {
        meta = cJSON_Parse(m->metadata_json);
        extra = meta ? cJSON_DetachItemFromObjectCaseSensitive(meta, M0_META_KEY) : NULL;
        if (meta && meta->child)
            meta_out = cJSON_PrintUnformatted(meta);
    }
    if (!strncmp(owner, "agent:", 6))
        agent = owner + 6;
    else if (!strncmp(owner, "app:", 4))
        app = owner + 4;
    else if (strncmp(owner, "run:", 4))
        user = owner;
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(extra, "agent_id")) && !agent)
        agent = cJSON_GetObjectItemCaseSensitive(extra, "agent_id")->valuestring;
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(extra, "app_id")) && !app)
        app = cJSON_GetObjectItemCaseSensitive(extra, "app_id")->valuestring;
    mn__m0_id_format(m->id, owner, id, sizeof id);
    mn_time_format(m->created_at_ms, c);
    mn_time_format(m->updated_at_ms ? m->updated_at_ms : m->created_at_ms, u);
    rc = mn__buf_printf(b, "{\"id\":\"%s\",\"memory\":", id);
    if (!rc)
        rc = mn__buf_json_str(b, m->text ? m->text : "", m->text ? strlen(m->text) : 0);
    if (!rc)
        rc = put_str_or_null(b, "user_id", user);
    if (!rc)
        rc = put_str_or_null(b, "agent_id", agent);
    if (!rc)
        rc = put_str_or_null(b, "app_id", app);
    if (!rc)
        rc = put_str_or_null(b, "run_id", m->session_id);
    if (!rc)
        rc = mn__buf_printf(b, ",\"metadata\":%s",
                            meta ? (meta_out ? meta_out : "null")
                                 : (m->metadata_json && *m->metadata_json ? m->metadata_json
                                                                          : "null"));
    if (!rc)
        rc = mn__buf_printf(b, ",\"categories\":[],\"created_at\":\"%s\",\"updated_at\":\"%s\","
                               "\"expiration_date\":null,\"immutable\":false,\"kind\":\"%s\","
                               "\"status\":\"%s\"",
                            c, u, mn_kind_name(m->kind) ? mn_kind_name(m->kind) : "message",
                            mn_status_name(m->status) ? mn_status_name(m->status) : "active");
    if (!rc && score)
        rc = mn__buf_printf(b, ",\"score\":%.6g", *score);
    if (!rc)
        rc = mn__buf_putc(b, '}');
    cJSON_free(meta_out);
    cJSON_Delete(extra);
    cJSON_Delete(meta);
    return rc;
}

int mn__m0_reply(mn__hreq *rq, int status, int build_rc, mn__buf *b)
{
    int rc = build_rc;
    if (!rc)
        rc = mn__buf_putc(b, '\n');
    if (rc || mn__reply_buf(rq, status, b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(b);
    return rc;
}

/* json_in.c - everything a request brings in is checked here before a handler uses it: the
 * content type, the body's size, UTF-8 and nesting depth (cJSON checks none of these the way
 * we need), typed members with the field named in each message, unknown fields, query
 * parameters and path ids. Each check replies with the error itself. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

/* The media type without parameters ("application/json; charset=utf-8" -> true). */
static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Deepest nesting of arrays/objects, strings skipped; stops counting past limit. */
static int json_depth(const char *s, size_t n, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    size_t i;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\' && i + 5 < n && !memcmp(s + i + 1, "u0000", 5))
                return -1; /* cJSON would cut the string at the NUL without a word */
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
            if (max > limit)
                return max;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

int mn__json_body(mn__hreq *rq)
{
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *end = NULL;
    size_t bad = 0;
    int depth, limit = (int)rq->srv->cfg.max_json_depth;
    if (!media_is(ct, "application/json"))
        return mn__reply_error(rq, MN__H_EMEDIA, "send Content-Type: application/json",
                               "request body must be application/json, got '%.64s'",
                               ct ? ct : "no Content-Type");
    if (rq->body.len == 0)
        return mn__reply_error(rq, MN__H_EJSON, "send a JSON object", "request body is empty");
    if (!mn__utf8_valid(rq->body.data, rq->body.len, &bad))
        return mn__reply_error(rq, MN_EUTF8, "encode the body as UTF-8",
                               "request body is not valid UTF-8 at byte %zu", bad);
    depth = json_depth(rq->body.data, rq->body.len, limit);
    if (depth < 0)
        return mn__reply_error(rq, MN_EUTF8, "leave NUL characters out of strings",
                               "request body has a \\u0000 escape; NUL is not allowed in "
                               "text");
    if (depth > limit)
        return mn__reply_error(rq, MN_ETOOBIG, "flatten the body or raise max-json-depth",
                               "JSON nesting is deeper than the limit of %d (max-json-depth)",
                               limit);
    rq->json = cJSON_ParseWithLengthOpts(rq->body.data, rq->body.len, &end, false);
    if (!rq->json) {
        size_t at = end && end >= rq->body.data ? (size_t)(end - rq->body.data) : 0;
        return mn__reply_error(rq, MN__H_EJSON, "check the JSON syntax",
                               "request body is not valid JSON (error near byte %zu)", at);
    }
    while (end && end < rq->body.data + rq->body.len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < rq->body.data + rq->body.len)
        return mn__reply_error(rq, MN__H_EJSON, "send one JSON value",
                               "request body has data after the JSON value (byte %zu)",
                               (size_t)(end - rq->body.data));
    return 0;
}

int mn__json_fields(mn__hreq *rq, const cJSON *obj, const char *where,
                    const char *const *allowed)
{
    const cJSON *it;
    for (it = obj->child; it; it = it->next) {
        const char *const *a;
        for (a = allowed; *a; a++)
            if (it->string && !strcmp(it->string, *a))
                break;
        if (!*a) {
            char list[256];
            size_t o = 0;
            list[0] = '\0';
            for (a = allowed; *a && o < sizeof list; a++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
            return mn__reply_error(rq, MN__H_EFIELD, list, "%s%s: unknown field '%.64s'", rq->where, where,
                                   it->string ? it->string : "");
        }
    }
    return 0;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

int mn__json_str(mn__hreq *rq, const cJSON *obj, const char *name, bool required,
                 const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    size_t bad;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return mn__reply_error(rq, MN__H_EFIELD, NULL, "%sfield '%s' is required", rq->where, name);
        return 0;
    }
    if (!cJSON_IsString(v))
        return mn__reply_error(rq, MN__H_EFIELD, NULL, "%sfield '%s' must be a string, got %s",
                               rq->where, name, type_name(v));
    /* \u escapes can smuggle in a NUL or a lone surrogate that the raw-body check missed. */
    if (!mn__utf8_valid(v->valuestring, strlen(v->valuestring), &bad))
        return mn__reply_error(rq, MN_EUTF8, "send text as valid UTF-8",
                               "%sfield '%s' is not valid UTF-8 at byte %zu", rq->where, name,
                               bad);
    *out = v->valuestring;
    return 0;
}

int mn__json_int(mn__hreq *rq, const cJSON *obj, const char *name, long long lo, long long hi,
                 long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    double d;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return mn__reply_error(rq, MN__H_EFIELD, NULL, "%sfield '%s' must be an integer, got %s",
                               rq->where, name, type_name(v));
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return mn__reply_error(rq, MN__H_EFIELD, NULL, "%sfield '%s' must be an integer", rq->where,
                               name);
    if (d < (double)lo || d > (double)hi)
        return mn__reply_error(rq, MN_ERANGE, NULL, "%sfield '%s' is %.0f, allowed %lld..%lld",
                               rq->where, name, d, lo, hi);
    *out = (long long)d;
    return 0;
}

int mn__json_meta(mn__hreq *rq, const cJSON *obj, const char *name, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return mn__reply_error(rq, MN__H_EFIELD, "send metadata as a JSON object",
                               "%sfield '%s' must be an object, got %s", rq->where, name,
                               type_name(v));
    *out = cJSON_PrintUnformatted(v);
    if (!*out)
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading '%s'", name);
    if ((long long)strlen(*out) > rq->srv->cfg.max_metadata_bytes) {
        size_t n = strlen(*out);
        cJSON_free(*out);
        *out = NULL;
        return mn__reply_error(rq, MN_ETOOBIG, "store less metadata or raise max-metadata",
                               "%sfield '%s' is %zu bytes, limit is %lld (max-metadata)",
                               rq->where, name, n, rq->srv->cfg.max_metadata_bytes);
    }
    return 0;
}

int mn__json_time(mn__hreq *rq, const cJSON *obj, const char *name, int64_t *out_ms)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v)) {
        long long ms = 0;
        int rc = mn__json_int(rq, obj, name, 1, 253402300799999LL, &ms);
        if (!rc)
            *out_ms = ms;
        return rc;
    }
    if (!cJSON_IsString(v) || mn_time_parse(v->valuestring, out_ms) != MN_OK)
        return mn__reply_error(rq, MN__H_EFIELD,
                               "use RFC 3339 like 2024-05-01T10:00:00Z or ms since the epoch",
                               "%sfield '%s' is not a time", rq->where, name);
    return 0;
}

/* ---- query string -------------------------------------------------------------------------*/

const char *mn__query(mn__hreq *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

int mn__query_int(mn__hreq *rq, const char *name, long long lo, long long hi, long long *out)
{
    const char *v = mn__query(rq, name);
    char *end;
    long long x;
    if (!v)
        return 0;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return mn__reply_error(rq, MN__H_EFIELD, NULL,
                               "query parameter '%s' must be an integer, got '%.32s'", name, v);
    if (x < lo || x > hi)
        return mn__reply_error(rq, MN_ERANGE, NULL,
                               "query parameter '%s' is %lld, allowed %lld..%lld", name, x, lo,
                               hi);
    *out = x;
    return 0;
}

int mn__query_time(mn__hreq *rq, const char *name, int64_t *out_ms)
{
    const char *v = mn__query(rq, name);
    if (!v)
        return 0;
    if (mn_time_parse(v, out_ms) != MN_OK)
        return mn__reply_error(rq, MN__H_EFIELD,
                               "use RFC 3339 like 2024-05-01T10:00:00Z or ms since the epoch",
                               "query parameter '%s' is not a time: '%.32s'", name, v);
    return 0;
}

typedef struct qcheck {
    mn__hreq *rq;
    const char *bad;
} qcheck;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    qcheck *q = cls;
    const char *list = mn__routes[q->rq->route].query;
    size_t n = strlen(key);
    const char *p;
    (void)kind;
    /* An empty key ("?=x") matches nothing: strstr would walk past the end of list. */
    for (p = list && n ? strstr(list, key) : NULL; p; p = strstr(p + 1, key))
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            break;
    if (!p || (value && !mn__utf8_valid(value, strlen(value), NULL))) {
        q->bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

int mn__query_known(mn__hreq *rq)
{
    qcheck q = {rq, NULL};
    const char *list = mn__routes[rq->route].query;
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, check_arg, &q);
    if (q.bad)
        return mn__reply_error(rq, MN__H_EFIELD,
                               list && *list ? list : "this route takes no query parameters",
                               "unknown or invalid query parameter '%.64s'", q.bad);
    return 0;
}

int mn__path_id(mn__hreq *rq, const char *s, mn_id *out)
{
    char *end;
    long long x;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x <= 0)
        return mn__reply_error(rq, MN_ENOTFOUND, "memory ids are positive integers",
                               "memory '%.32s' not found", s);
    *out = x;
    return 0;
}

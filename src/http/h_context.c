/* h_context.c - POST /v1/users/{user}/context: the memories of a user that matter for a
 * question, laid out as a prompt block under a token budget, with the items, the token
 * counts and an OpenAI messages array (mn_context_build, docs/CONTEXT.md). */
#include <math.h>
#include <string.h>

#include "http_int.h"

static const char *const fields[] = {"query", "max_tokens", "k",          "min_score", "include",
                                     "model", "session_id", "as_of",      NULL};

static const struct {
    const char *name;
    unsigned bit;
} parts[] = {
    {"preferences", MN_CONTEXT_PREFERENCES}, {"facts", MN_CONTEXT_FACTS},
    {"memories", MN_CONTEXT_MEMORIES},       {"summaries", MN_CONTEXT_SUMMARIES},
    {"system", MN_CONTEXT_SYSTEM},
};

/* "include": an array of part names; absent or null keeps every part. */
static int read_include(mn__hreq *rq, unsigned *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->json, "include"), *it;
    unsigned mask = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
        return mn__reply_error(rq, MN__H_EFIELD,
                               "list some of: preferences, facts, memories, summaries, system",
                               "field 'include' must be a non-empty array of names");
    cJSON_ArrayForEach(it, v)
    {
        size_t i;
        for (i = 0; i < MN_ARRAY_LEN(parts); i++)
            if (cJSON_IsString(it) && !strcmp(it->valuestring, parts[i].name))
                break;
        if (i == MN_ARRAY_LEN(parts))
            return mn__reply_error(
                rq, MN__H_EFIELD, "use preferences, facts, memories, summaries or system",
                "field 'include' has %s%.32s%s", cJSON_IsString(it) ? "unknown part '" : "",
                cJSON_IsString(it) ? it->valuestring : "an item that is not a string",
                cJSON_IsString(it) ? "'" : "");
        mask |= parts[i].bit;
    }
    *out = mask;
    return 0;
}

int mn__h_context(mn__hreq *rq)
{
    mn_context_opts o;
    mn_context *ctx = NULL;
    long long max_tokens, k;
    const cJSON *ms;
    char *json = NULL;
    size_t len = 0;
    mn_err err;
    mn__buf b;
    int rc;

    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send {\"query\": \"...\"}",
                               "request body must be a JSON object");
    mn_context_opts_init(&o);
    max_tokens = o.max_tokens;
    k = o.k;
    if ((rc = mn__json_fields(rq, rq->json, "body", fields)) ||
        (rc = mn__json_str(rq, rq->json, "query", true, &o.query)) ||
        (rc = mn__json_int(rq, rq->json, "max_tokens", 1, MN_CONTEXT_MAX_TOKENS, &max_tokens)) ||
        (rc = mn__json_int(rq, rq->json, "k", 1, rq->srv->cfg.max_k, &k)) ||
        (rc = mn__json_str(rq, rq->json, "model", false, &o.model)) ||
        (rc = mn__json_str(rq, rq->json, "session_id", false, &o.session_id)) ||
        (rc = mn__json_time(rq, rq->json, "as_of", &o.as_of_ms)) ||
        (rc = read_include(rq, &o.include)))
        return rc;
    ms = cJSON_GetObjectItemCaseSensitive(rq->json, "min_score");
    if (ms && !cJSON_IsNull(ms)) {
        if (!cJSON_IsNumber(ms) || !isfinite(ms->valuedouble) || ms->valuedouble < 0 ||
            ms->valuedouble > 1)
            return mn__reply_error(rq, MN__H_EFIELD, "use 0 (keep all) up to 1",
                                   "field 'min_score' must be a number from 0 to 1");
        o.min_score = ms->valuedouble;
    }
    o.tenant = rq->tenant;
    o.user_id = rq->params[0];
    o.max_tokens = (int)max_tokens;
    o.k = (int)k;
    rc = mn_context_build(rq->srv->db, &o, &ctx, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    rc = mn_context_json(ctx, &json, &len, &err);
    mn_context_free(ctx);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__buf_append(&b, json, len) || mn__buf_putc(&b, '\n');
    mn_free(json);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

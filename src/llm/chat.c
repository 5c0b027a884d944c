/* chat.c - the OpenAI-compatible chat-completion client: one system and one user message in,
 * a JSON object out, asked for with response_format json_schema (strict) and checked against
 * the same schema here, because not every server enforces it. Retries and timeouts come from
 * the core HTTP client. */
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

#define DEF_URL "https://api.openai.com/v1"
#define DEF_TIMEOUT_MS 60000
#define DEF_ATTEMPTS 3
#define DEF_MAX_TOKENS 800

struct mn__llm {
    char *model;
    char *endpoint;
    char *auth_header;
    const char *headers[4];
    char what[160];
    int timeout_ms, connect_timeout_ms, max_tokens;
    mn__retry_policy retry;
    const _Atomic int *cancel;
    _Atomic int object_only; /* the server refused json_schema once: ask for json_object */
};

int mn__llm_new(const mn__llm_cfg *cfg, mn__llm **out, mn_err *err)
{
    mn__llm *l;
    const char *base = cfg->url && cfg->url[0] ? cfg->url : DEF_URL;
    size_t n = strlen(base);
    mn__buf b;
    int rc = MN_OK;

    *out = NULL;
    if (!cfg->model || !cfg->model[0])
        return mn__err_set(err, MN_EINVAL, "set llm-model, e.g. gpt-4o-mini",
                           "LLM: no model name");
    l = mn__calloc(1, sizeof *l);
    if (!l)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for the LLM client");
    mn__buf_init(&b, 4096);
    while (n && base[n - 1] == '/')
        n--;
    rc = mn__buf_append(&b, base, n);
    if (!rc && !(n >= 17 && !memcmp(base + n - 17, "/chat/completions", 17)))
        rc = mn__buf_puts(&b, "/chat/completions");
    l->endpoint = rc ? NULL : mn__buf_take(&b, NULL);
    if (!rc && cfg->api_key && cfg->api_key[0]) {
        rc = mn__buf_printf(&b, "Authorization: Bearer %s", cfg->api_key);
        l->auth_header = rc ? NULL : mn__buf_take(&b, NULL);
    }
    l->model = mn__strdup(cfg->model);
    mn__buf_release(&b);
    if (rc || !l->endpoint || !l->model) {
        mn__llm_free(l);
        return rc == MN_ETOOBIG ? mn__err_set(err, MN_EINVAL, NULL, "LLM: URL or key too long")
                                : mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
    }
    l->headers[0] = "Content-Type: application/json";
    l->headers[1] = "Accept: application/json";
    l->headers[2] = l->auth_header;
    l->headers[3] = NULL;
    l->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEF_TIMEOUT_MS;
    l->connect_timeout_ms = cfg->connect_timeout_ms;
    l->max_tokens = cfg->max_tokens > 0 ? cfg->max_tokens : DEF_MAX_TOKENS;
    l->retry.max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : DEF_ATTEMPTS;
    l->retry.max_total_ms = l->timeout_ms * 2;
    l->cancel = cfg->cancel;
    snprintf(l->what, sizeof l->what, "LLM (model %.100s)", cfg->model);
    *out = l;
    return MN_OK;
}

void mn__llm_free(mn__llm *l)
{
    if (!l)
        return;
    mn__free(l->model);
    mn__free(l->endpoint);
    mn__free(l->auth_header);
    mn__free(l);
}

const char *mn__llm_model(const mn__llm *l)
{
    return l->model;
}

static int build_body(mn__llm *l, const char *system, const char *user, const char *name,
                      const char *schema_json, bool object_only, mn__buf *b)
{
    int rc = mn__buf_puts(b, "{\"model\":");
    if (!rc)
        rc = mn__buf_json_str(b, l->model, strlen(l->model));
    if (!rc)
        rc = mn__buf_printf(b, ",\"temperature\":0,\"max_tokens\":%d,\"messages\":["
                               "{\"role\":\"system\",\"content\":",
                            l->max_tokens);
    if (!rc)
        rc = mn__buf_json_str(b, system, strlen(system));
    if (!rc)
        rc = mn__buf_puts(b, "},{\"role\":\"user\",\"content\":");
    if (!rc)
        rc = mn__buf_json_str(b, user, strlen(user));
    if (!rc && object_only)
        rc = mn__buf_puts(b, "}],\"response_format\":{\"type\":\"json_object\"}}");
    else if (!rc)
        rc = mn__buf_printf(b, "}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                               "{\"name\":\"%s\",\"strict\":true,\"schema\":%s}}}",
                            name, schema_json);
    return rc;
}

int mn__llm_parse_reply(const char *body, size_t len, const cJSON *schema, cJSON **out,
                        mn_err *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len), *content = NULL;
    const cJSON *choices, *c0, *msg, *text, *fin, *refusal;
    int rc;
    *out = NULL;
    if (!root)
        return mn__err_set(err, MN_EPROVIDER, "check that the URL is a chat completions endpoint",
                           "LLM reply is not JSON");
    choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    msg = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "message") : NULL;
    text = msg ? cJSON_GetObjectItemCaseSensitive(msg, "content") : NULL;
    fin = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "finish_reason") : NULL;
    refusal = msg ? cJSON_GetObjectItemCaseSensitive(msg, "refusal") : NULL;
    if (cJSON_IsString(refusal) && refusal->valuestring[0]) {
        rc = mn__err_set(err, MN_EPROVIDER, "the model refused the request",
                         "LLM refused: %.160s", refusal->valuestring);
        goto cleanup;
    }
    if (!cJSON_IsString(text)) {
        rc = mn__err_set(err, MN_EPROVIDER, "check the LLM server",
                         "LLM reply has no choices[0].message.content string");
        goto cleanup;
    }
    if (cJSON_IsString(fin) && !strcmp(fin->valuestring, "length")) {
        rc = mn__err_set(err, MN_EPROVIDER, "raise the completion limit",
                         "LLM reply was cut at the token limit (finish_reason length)");
        goto cleanup;
    }
    content = cJSON_Parse(text->valuestring);
    if (!cJSON_IsObject(content)) {
        rc = mn__err_set(err, MN_EPROVIDER, "use a model that supports JSON output",
                         "LLM content is not a JSON object: '%.80s'", text->valuestring);
        goto cleanup;
    }
    rc = mn__jschema_check(schema, content, err);
    if (rc) {
        if (rc == MN_EPARSE) {
            mn__err_prefix(err, "LLM content does not match the schema");
            if (err)
                err->code = MN_EPROVIDER;
            rc = MN_EPROVIDER;
        }
        goto cleanup;
    }
    *out = content;
    content = NULL;
cleanup:
    cJSON_Delete(content);
    cJSON_Delete(root);
    return rc;
}

int mn__llm_json(mn__llm *l, const char *system, const char *user, const char *schema_name,
                 const char *schema_json, cJSON **out, mn_err *err)
{
    cJSON *schema = cJSON_Parse(schema_json);
    mn__buf body;
    mn__http_req req;
    mn__http_reply rep;
    int rc, pass;

    *out = NULL;
    mn__http_reply_init(&rep);
    mn__buf_init(&body, 0);
    if (!schema) {
        rc = mn__err_set(err, MN_EINVAL, NULL, "LLM: schema '%s' is not JSON", schema_name);
        goto cleanup;
    }
    for (pass = 0; pass < 2; pass++) {
        bool obj = atomic_load(&l->object_only) != 0;
        body.len = 0;
        rc = build_body(l, system, user, schema_name, schema_json, obj, &body);
        if (rc) {
            rc = mn__err_set(err, rc, NULL, "LLM: cannot build the request");
            goto cleanup;
        }
        memset(&req, 0, sizeof req);
        req.url = l->endpoint;
        req.headers = l->headers;
        req.body = body.data;
        req.body_len = body.len;
        req.timeout_ms = l->timeout_ms;
        req.connect_timeout_ms = l->connect_timeout_ms;
        req.max_reply_bytes = (size_t)4 << 20;
        req.what = l->what;
        req.cancel = l->cancel;
        rc = mn__http_send_retry(&req, &l->retry, &rep, err);
        /* older servers know json_object only and answer 400 to json_schema */
        if (rc == MN_EPROVIDER && rep.status == 400 && !obj && rep.body.data &&
            strstr(rep.body.data, "response_format")) {
            atomic_store(&l->object_only, 1);
            continue;
        }
        break;
    }
    if (rc)
        goto cleanup;
    rc = mn__llm_parse_reply(rep.body.data ? rep.body.data : "", rep.body.len, schema, out, err);
cleanup:
    cJSON_Delete(schema);
    mn__buf_release(&body);
    mn__http_reply_release(&rep);
    return rc;
}

/* openapi.c - the OpenAPI 3.1 document and the Markdown route list, both generated from the
 * route table (routes.c) so that neither can drift from what the router serves. */
#include <string.h>

#include "http_int.h"

static int put_param(mn__buf *b, bool *first, const char *name, const char *in,
                     const char *type, const char *help, bool required)
{
    int rc = mn__buf_printf(b, "%s{\"name\":\"%s\",\"in\":\"%s\",\"required\":%s,"
                               "\"schema\":{\"type\":\"%s\"},\"description\":",
                            *first ? "" : ",", name, in, required ? "true" : "false", type);
    *first = false;
    if (!rc)
        rc = mn__buf_json_str(b, help, strlen(help));
    return rc ? rc : mn__buf_putc(b, '}');
}

static int put_params(mn__buf *b, const mn__route *r)
{
    const char *p = r->path, *q;
    bool first = true;
    int rc = mn__buf_puts(b, "\"parameters\":[");
    while (!rc && (p = strchr(p, '{')) != NULL) {
        char name[32];
        const char *e = strchr(p, '}');
        size_t n = (size_t)(e - p - 1);
        if (n >= sizeof name)
            return MN_EINVAL;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        rc = put_param(b, &first, name, "path", strcmp(name, "id") ? "string" : "integer",
                       !strcmp(name, "user")  ? "user id chosen by the application"
                       : !strcmp(name, "id") ? "memory id"
                                              : "file name",
                       true);
        p = e;
    }
    for (q = r->query; !rc && q && *q;) {
        char name[32];
        const char *e = strchr(q, ',');
        size_t n = e ? (size_t)(e - q) : strlen(q);
        const mn__hparam *hp;
        if (n >= sizeof name)
            return MN_EINVAL;
        memcpy(name, q, n);
        name[n] = '\0';
        hp = mn__hparam_find(name);
        if (!hp)
            return MN_EINVAL; /* a route names a parameter nobody documented */
        rc = put_param(b, &first, hp->name, "query", hp->type, hp->help, false);
        q += n + (e != NULL);
    }
    return rc ? rc : mn__buf_puts(b, "],");
}

static int put_error_refs(mn__buf *b, const mn__route *r)
{
    static const struct {
        int status;
        const char *why;
        int when; /* 0 always, 1 with auth, 2 with a body */
    } errs[] = {{400, "malformed JSON or invalid UTF-8", 2},
                {401, "no or bad API key", 1},
                {404, "unknown user, memory or route", 0},
                {405, "method not allowed on this path", 0},
                {413, "a limit was exceeded (body, text, batch, metadata, depth)", 0},
                {415, "wrong Content-Type", 2},
                {422, "well-formed request with wrong fields", 0},
                {429, "rate limit of the key exceeded", 1},
                {503, "store unavailable or shutting down", 0}};
    size_t i;
    int rc = 0;
    for (i = 0; !rc && i < MN_ARRAY_LEN(errs); i++) {
        if ((errs[i].when == 1 && !r->auth) || (errs[i].when == 2 && !r->body))
            continue;
        rc = mn__buf_printf(b, ",\"%d\":{\"description\":\"%s\",\"content\":{"
                               "\"application/json\":{\"schema\":{\"$ref\":"
                               "\"#/components/schemas/Error\"}}}}",
                            errs[i].status, errs[i].why);
    }
    return rc;
}

static int put_op(mn__buf *b, const mn__route *r, bool first)
{
    char m[16];
    size_t i;
    int rc;
    for (i = 0; r->method[i] && i + 1 < sizeof m; i++)
        m[i] = (char)(r->method[i] | 0x20);
    m[i] = '\0';
    rc = mn__buf_printf(b, "%s\"%s\":{\"operationId\":\"%s\",\"tags\":[\"%s\"],\"summary\":",
                        first ? "" : ",", m, r->op_id, r->tag);
    if (!rc)
        rc = mn__buf_json_str(b, r->summary, strlen(r->summary));
    if (!rc)
        rc = mn__buf_printf(b, ",\"security\":%s,", r->auth ? "[{\"bearer\":[]}]" : "[]");
    if (!rc)
        rc = put_params(b, r);
    if (!rc && r->req_schema)
        rc = mn__buf_printf(b, "\"requestBody\":{\"required\":true,\"content\":{\"%s\":{"
                               "\"schema\":{\"$ref\":\"#/components/schemas/%s\"}}}},",
                            r->body == MN__H_BODY_NDJSON ? "application/x-ndjson"
                                                         : "application/json",
                            r->req_schema);
    if (!rc)
        rc = mn__buf_printf(b, "\"responses\":{\"%d\":{\"description\":\"success\"",
                            r->ok_status);
    if (!rc && (r->resp_schema || r->resp_type)) {
        rc = mn__buf_printf(b, ",\"content\":{\"%s\":{\"schema\":",
                            r->resp_type ? r->resp_type : "application/json");
        if (!rc)
            rc = r->resp_schema
                     ? mn__buf_printf(b, "{\"$ref\":\"#/components/schemas/%s\"}",
                                      r->resp_schema)
                     : mn__buf_puts(b, "{\"type\":\"string\"}");
        if (!rc)
            rc = mn__buf_puts(b, "}}");
    }
    if (!rc)
        rc = mn__buf_putc(b, '}');
    if (!rc)
        rc = put_error_refs(b, r);
    return rc ? rc : mn__buf_puts(b, "}}");
}

int mn__openapi_build(const mn__http_cfg *cfg, mn__buf *b)
{
    size_t i, j;
    const mn__hschema *s;
    int rc;
    (void)cfg;
    rc = mn__buf_printf(
        b,
        "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"mnemo\",\"version\":\"%s\","
        "\"description\":\"Persistent memory for LLM applications. Errors are "
        "{\\\"error\\\":{\\\"code\\\",\\\"message\\\",\\\"hint\\\"}}. Authenticate with "
        "'Authorization: Bearer <key>' (keys from 'mnemo keys create'); without any key the "
        "server runs in development mode on loopback only.\"},"
        "\"tags\":[{\"name\":\"memories\"},{\"name\":\"users\"},{\"name\":\"system\"},"
        "{\"name\":\"embeddings\"},{\"name\":\"operations\"}],\"paths\":{",
        mn_version());
    for (i = 0; !rc && i < mn__n_routes; i++) {
        bool seen = false, first = true;
        if (!strcmp(mn__routes[i].tag, "mem0"))
            continue; /* mem0's API, documented by mem0 and docs/MEM0.md */
        for (j = 0; j < i; j++)
            if (!strcmp(mn__routes[j].path, mn__routes[i].path))
                seen = true;
        if (seen)
            continue;
        rc = mn__buf_printf(b, "%s\"%s\":{", i ? "," : "", mn__routes[i].path);
        for (j = i; !rc && j < mn__n_routes; j++)
            if (!strcmp(mn__routes[j].path, mn__routes[i].path)) {
                rc = put_op(b, &mn__routes[j], first);
                first = false;
            }
        if (!rc)
            rc = mn__buf_putc(b, '}');
    }
    if (!rc)
        rc = mn__buf_puts(b, "},\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":"
                             "\"http\",\"scheme\":\"bearer\"}},\"schemas\":{");
    for (s = mn__hschemas; !rc && s->name; s++)
        rc = mn__buf_printf(b, "%s\"%s\":%s", s == mn__hschemas ? "" : ",", s->name, s->json);
    return rc ? rc : mn__buf_puts(b, "}}}\n");
}

int mn__http_openapi_print(const mn__http_cfg *cfg, FILE *f)
{
    mn__buf b;
    int rc;
    mn__buf_init(&b, 0);
    rc = mn__openapi_build(cfg, &b);
    if (!rc)
        fwrite(b.data, 1, b.len, f);
    mn__buf_release(&b);
    return rc;
}

void mn__http_routes_markdown(FILE *f)
{
    size_t i;
    fprintf(f, "| method | path | auth | body | success | what it does |\n"
               "|---|---|---|---|---|---|\n");
    for (i = 0; i < mn__n_routes; i++) {
        const mn__route *r = &mn__routes[i];
        if (!strcmp(r->tag, "mem0"))
            continue; /* listed in docs/MEM0.md */
        fprintf(f, "| %s | `%s` | %s | %s | %d | %s |\n", r->method, r->path,
                r->auth ? "key" : "none",
                r->body == MN__H_BODY_JSON     ? "JSON"
                : r->body == MN__H_BODY_NDJSON ? "NDJSON"
                                               : "-",
                r->ok_status, r->summary);
        if (r->query) {
            const char *q = r->query;
            fprintf(f, "| | | | | | query: ");
            while (*q) {
                const char *e = strchr(q, ',');
                size_t n = e ? (size_t)(e - q) : strlen(q);
                fprintf(f, "%s`%.*s`", q == r->query ? "" : ", ", (int)n, q);
                q += n + (e != NULL);
            }
            fprintf(f, " |\n");
        }
    }
}

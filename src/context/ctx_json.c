/* ctx_json.c - a built context as JSON: the OpenAI chat `messages` array and the whole
 * response body of POST /v1/users/{user}/context (also printed by `mnemo context --json`
 * and returned by the MCP tool). Reads only the public mn_context. */
#include <string.h>

#include "context.h"

static const char *const section_names[] = {
    NULL, "system", "preferences", "facts", "memories", "summaries", "question",
};

const char *mn_context_section_name(mn_context_section s)
{
    if ((int)s < 1 || (size_t)s >= MN_ARRAY_LEN(section_names))
        return NULL;
    return section_names[s];
}

/* The question is the text after the question header, as the caller sent it. */
static const char *question_of(const mn_context *c, size_t *out_len)
{
    static const char head[] = "Current question:\n";
    const char *q = c->prompt + c->memories_len;
    const char *end = c->prompt + c->prompt_len;
    const char *at = strstr(q, head);
    if (!at) {
        *out_len = 0;
        return "";
    }
    at += sizeof head - 1;
    *out_len = (size_t)(end - at);
    return at;
}

static int put_messages(mn__buf *b, const mn_context *c)
{
    size_t qlen;
    const char *q = question_of(c, &qlen);
    int rc = mn__buf_putc(b, '[');
    if (!rc && c->memories_len) {
        rc = mn__buf_puts(b, "{\"role\":\"system\",\"content\":");
        if (!rc)
            rc = mn__buf_json_str(b, c->memories, c->memories_len);
        if (!rc)
            rc = mn__buf_puts(b, "},");
    }
    if (!rc)
        rc = mn__buf_puts(b, "{\"role\":\"user\",\"content\":");
    if (!rc)
        rc = mn__buf_json_str(b, q, qlen);
    if (!rc)
        rc = mn__buf_puts(b, "}]");
    return rc;
}

static int check(const mn_context *c, char **out, mn_err *err)
{
    if (out)
        *out = NULL;
    if (!c || !out || !c->prompt)
        return mn__err_set(err, MN_EINVAL, "pass a context from mn_context_build",
                           "context JSON: context or output pointer is NULL");
    return MN_OK;
}

static int finish(mn__buf *b, int rc, char **out, size_t *out_len, mn_err *err)
{
    size_t len = 0;
    if (rc) {
        mn__buf_release(b);
        return mn__err_set(err, MN_ENOMEM, NULL, "context JSON: out of memory");
    }
    *out = mn__buf_take(b, &len);
    if (out_len)
        *out_len = len;
    return MN_OK;
}

int mn_context_messages_json(const mn_context *c, char **out, size_t *out_len, mn_err *err)
{
    mn__buf b;
    int rc = check(c, out, err);
    if (rc)
        return rc;
    mn__buf_init(&b, 0);
    return finish(&b, put_messages(&b, c), out, out_len, err);
}

static int put_item(mn__buf *b, const mn_context_item *it)
{
    char t[32];
    const char *kind = mn_kind_name(it->kind), *scope = mn_scope_name(it->scope);
    const char *sec = mn_context_section_name(it->section);
    int rc;
    mn__fmt_time_iso(it->created_at_ms, t);
    rc = mn__buf_printf(b, "{\"id\":%lld,\"kind\":\"%s\",\"scope\":\"%s\",\"section\":\"%s\","
                           "\"score\":%.6g,\"relevance\":%.4g,\"created_at\":\"%s\",\"tokens\":%zu,"
                           "\"text\":",
                        (long long)it->id, kind ? kind : "message", scope ? scope : "user",
                        sec ? sec : "memories", it->score, it->relevance, t, it->n_tokens);
    if (!rc)
        rc = mn__buf_json_str(b, it->text, strlen(it->text));
    if (!rc)
        rc = mn__buf_putc(b, '}');
    return rc;
}

int mn_context_json(const mn_context *c, char **out, size_t *out_len, mn_err *err)
{
    mn__buf b;
    size_t i;
    int rc = check(c, out, err);
    if (rc)
        return rc;
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "{\"prompt\":");
    if (!rc)
        rc = mn__buf_json_str(&b, c->prompt, c->prompt_len);
    if (!rc)
        rc = mn__buf_puts(&b, ",\"items\":[");
    for (i = 0; !rc && i < c->n_items; i++) {
        if (i)
            rc = mn__buf_putc(&b, ',');
        if (!rc)
            rc = put_item(&b, &c->items[i]);
    }
    if (!rc)
        rc = mn__buf_printf(&b,
                            "],\"tokens\":{\"used\":%zu,\"budget\":%zu,\"estimated\":%s,"
                            "\"encoding\":\"%s\"},\"messages\":",
                            c->n_tokens, c->max_tokens, c->estimated ? "true" : "false",
                            c->encoding ? c->encoding : "estimate");
    if (!rc)
        rc = put_messages(&b, c);
    if (!rc)
        rc = mn__buf_printf(&b,
                            ",\"stats\":{\"candidates\":%zu,\"below_score\":%zu,"
                            "\"duplicates\":%zu,\"over_budget\":%zu}}",
                            c->n_candidates, c->n_below_score, c->n_duplicates,
                            c->n_over_budget);
    return finish(&b, rc, out, out_len, err);
}

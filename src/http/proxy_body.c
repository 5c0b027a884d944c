/* proxy_body.c - what the proxy reads and changes in the OpenAI chat messages: the text of
 * the last user message (the query of the context), the memory block injected as a system
 * message, and the assistant's reply, from a completion object or assembled from the deltas
 * of a server-sent event stream. */
#include <string.h>

#include "http_int.h"

/* Bytes of s[0..n) that fit in max without cutting a UTF-8 sequence. */
size_t mn__utf8_fit(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* The text of a message's content: a string, or the "text" parts of an array of parts
 * joined by newlines (images and audio are not text to remember). */
static int content_text(const cJSON *content, mn__buf *b)
{
    const cJSON *part;
    int rc = MN_OK;
    if (cJSON_IsString(content))
        return mn__buf_puts(b, content->valuestring);
    if (!cJSON_IsArray(content))
        return MN_OK;
    for (part = content->child; part && !rc; part = part->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text))
            continue;
        if (b->len)
            rc = mn__buf_putc(b, '\n');
        if (!rc)
            rc = mn__buf_puts(b, text->valuestring);
    }
    return rc;
}

int mn__proxy_last_user_text(const cJSON *messages, size_t max, char **out)
{
    const cJSON *m, *last = NULL;
    mn__buf b;
    int rc;
    *out = NULL;
    for (m = messages->child; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
            last = m;
    }
    if (!last)
        return MN_OK;
    mn__buf_init(&b, 0);
    rc = content_text(cJSON_GetObjectItemCaseSensitive(last, "content"), &b);
    if (!rc && b.len) {
        size_t n = mn__utf8_fit(b.data, b.len, max);
        *out = mn__strndup(b.data, n);
        if (!*out)
            rc = MN_ENOMEM;
    }
    mn__buf_release(&b);
    return rc;
}

int mn__proxy_inject(cJSON *messages, const char *text)
{
    const cJSON *m;
    cJSON *msg = cJSON_CreateObject();
    int at = 0;
    if (!msg || !cJSON_AddStringToObject(msg, "role", "system") ||
        !cJSON_AddStringToObject(msg, "content", text)) {
        cJSON_Delete(msg);
        return MN_ENOMEM;
    }
    /* After the application's own instructions, so that they stay first (and a prompt
     * cache keyed on them still hits), and before the conversation. */
    for (m = messages->child; m; m = m->next, at++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role) ||
            (strcmp(role->valuestring, "system") && strcmp(role->valuestring, "developer")))
            break;
    }
    /* Moves the tail out and back rather than cJSON_InsertItemInArray, which in cJSON
     * 1.7.15 refuses to insert between two parsed items. */
    {
        cJSON *tail = cJSON_CreateArray(), *it;
        if (!tail) {
            cJSON_Delete(msg);
            return MN_ENOMEM;
        }
        while ((it = cJSON_DetachItemFromArray(messages, at)) != NULL)
            cJSON_AddItemToArray(tail, it);
        cJSON_AddItemToArray(messages, msg);
        while ((it = cJSON_DetachItemFromArray(tail, 0)) != NULL)
            cJSON_AddItemToArray(messages, it);
        cJSON_Delete(tail);
    }
    return MN_OK;
}

/* The content of choice 0 from a chat.completion object; *out NULL when there is none
 * (tool calls only, or not a completion). */
int mn__proxy_reply_text(const char *body, size_t len, size_t max, char **out)
{
    cJSON *j;
    const cJSON *choices, *c;
    int rc = MN_OK;
    *out = NULL;
    j = cJSON_ParseWithLength(body, len);
    if (!j)
        return MN_OK;
    choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    for (c = cJSON_IsArray(choices) ? choices->child : NULL; c; c = c->next) {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
        mn__buf b;
        if (cJSON_IsNumber(idx) && idx->valuedouble != 0)
            continue;
        mn__buf_init(&b, 0);
        rc = content_text(cJSON_GetObjectItemCaseSensitive(msg, "content"), &b);
        if (!rc && b.len) {
            *out = mn__strndup(b.data, mn__utf8_fit(b.data, b.len, max));
            if (!*out)
                rc = MN_ENOMEM;
        }
        mn__buf_release(&b);
        break;
    }
    cJSON_Delete(j);
    return rc;
}

/* ---- server-sent events ---------------------------------------------------------------------*/

void mn__sse_init(mn__sse *s, size_t max_reply)
{
    memset(s, 0, sizeof *s);
    mn__buf_init(&s->line, 1u << 20);
    mn__buf_init(&s->data, 4u << 20);
    mn__buf_init(&s->reply, 0);
    s->max_reply = max_reply;
}

void mn__sse_release(mn__sse *s)
{
    mn__buf_release(&s->line);
    mn__buf_release(&s->data);
    mn__buf_release(&s->reply);
}

/* One event's data: "[DONE]" or a chat.completion.chunk whose choice 0 may carry a delta. */
static int sse_event(mn__sse *s)
{
    cJSON *j;
    const cJSON *choices, *c;
    int rc = MN_OK;
    if (!s->data.len)
        return MN_OK;
    if (!strcmp(s->data.data, "[DONE]")) {
        s->done = true;
        return MN_OK;
    }
    j = cJSON_ParseWithLength(s->data.data, s->data.len);
    choices = j ? cJSON_GetObjectItemCaseSensitive(j, "choices") : NULL;
    for (c = cJSON_IsArray(choices) ? choices->child : NULL; c && !rc; c = c->next) {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(delta, "content");
        size_t n, room;
        if ((cJSON_IsNumber(idx) && idx->valuedouble != 0) || !cJSON_IsString(text))
            continue;
        n = strlen(text->valuestring);
        room = s->max_reply > s->reply.len ? s->max_reply - s->reply.len : 0;
        if (n > room) {
            s->truncated = true;
            n = mn__utf8_fit(text->valuestring, n, room);
        }
        rc = mn__buf_append(&s->reply, text->valuestring, n);
    }
    cJSON_Delete(j);
    return rc;
}

static int sse_line(mn__sse *s, const char *line, size_t n)
{
    int rc;
    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0) { /* a blank line ends the event */
        rc = sse_event(s);
        s->data.len = 0;
        return rc;
    }
    if (n >= 5 && !memcmp(line, "data:", 5)) {
        const char *v = line + 5;
        size_t vn = n - 5;
        if (vn && *v == ' ')
            v++, vn--;
        if (s->data.len && (rc = mn__buf_putc(&s->data, '\n')) != 0)
            return rc;
        return mn__buf_append(&s->data, v, vn);
    }
    return MN_OK; /* comments, event:, id:, retry: */
}

int mn__sse_feed(mn__sse *s, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        int rc = MN_OK;
        if (!s->skip && mn__buf_append(&s->line, p, take))
            s->skip = true; /* an overlong line is not a delta we could use: drop it */
        if (nl) {
            if (!s->skip)
                rc = sse_line(s, s->line.data ? s->line.data : "", s->line.len);
            s->line.len = 0;
            s->skip = false;
            take++;
        }
        if (rc == MN_ETOOBIG) /* an oversized event is dropped, not fatal */
            rc = MN_OK;
        if (rc)
            return rc;
        p += take;
        n -= take;
    }
    return MN_OK;
}

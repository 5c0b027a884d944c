/* json_out.c - building responses: bodies from buffers handed to libmicrohttpd without a
 * copy, headers every reply carries, and the JSON of memories and result lists. */
#include <string.h>

#include "http_int.h"

static void free_body(void *p)
{
    mn__free(p);
}

static int set_resp(mn__hreq *rq, int status, struct MHD_Response *r, const char *ctype)
{
    if (!r)
        return MN_ENOMEM;
    if (rq->resp)
        MHD_destroy_response(rq->resp);
    rq->resp = r;
    rq->status = status;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            ctype ? ctype : "application/json");
    MHD_add_response_header(r, "X-Request-Id", rq->rid);
    return MN_OK;
}

int mn__reply_buf(mn__hreq *rq, int status, mn__buf *b, const char *ctype)
{
    size_t len = b->len;
    char *data = len ? mn__buf_take(b, &len) : NULL;
    struct MHD_Response *r;
    if (!data) {
        mn__buf_release(b);
        return mn__reply_static(rq, status, "", ctype);
    }
    r = MHD_create_response_from_buffer_with_free_callback(len, data, free_body);
    if (!r) {
        mn__free(data);
        return MN_ENOMEM;
    }
    rq->out_bytes = len;
    return set_resp(rq, status, r, ctype);
}

int mn__reply_static(mn__hreq *rq, int status, const char *body, const char *ctype)
{
    size_t len = strlen(body);
    rq->out_bytes = len;
    return set_resp(rq, status,
                    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT),
                    ctype);
}

void mn__reply_header(mn__hreq *rq, const char *name, const char *value)
{
    if (rq->resp)
        MHD_add_response_header(rq->resp, name, value);
}

int mn__json_memory(mn__buf *b, const mn_memory *m, const mn_hit *hit)
{
    char *s = NULL;
    size_t len = 0;
    int rc = mn_memory_json(m, &s, &len, NULL);
    if (rc)
        return rc;
    if (hit)
        rc = mn__buf_printf(b, "{\"score\":%.6g,\"score_keyword\":%.6g,\"score_vector\":%.6g,",
                            hit->score, hit->score_keyword, hit->score_vector);
    else
        rc = mn__buf_putc(b, '{');
    /* a remote embedder has not stored its vector yet: keyword search only, for now */
    if (!rc)
        rc = mn__buf_printf(b, "\"embedding_pending\":%s,",
                            m->embedding_pending ? "true" : "false");
    /* s is one JSON object: splice its members after ours. */
    if (!rc)
        rc = mn__buf_append(b, s + 1, len - 1);
    mn_free(s);
    return rc;
}

int mn__json_results(mn__buf *b, const mn_results *r, bool search)
{
    size_t i;
    int rc = mn__buf_puts(b, "{\"memories\":[");
    for (i = 0; !rc && i < r->n; i++) {
        if (i)
            rc = mn__buf_putc(b, ',');
        if (!rc)
            rc = mn__json_memory(b, &r->hits[i].mem, search ? &r->hits[i] : NULL);
    }
    if (rc)
        return rc;
    if (search) {
        rc = mn__buf_printf(b, "],\"count\":%zu,\"mode\":\"%s\",\"note\":", r->n,
                            mn_mode_name(r->mode) ? mn_mode_name(r->mode) : "hybrid");
        if (!rc)
            rc = mn__buf_json_str(b, r->note ? r->note : "", r->note ? strlen(r->note) : 0);
        return rc ? rc : mn__buf_puts(b, "}\n");
    }
    rc = mn__buf_printf(b, "],\"count\":%zu,\"total\":%lld,\"next_after\":", r->n,
                        (long long)r->total);
    if (!rc)
        rc = r->next_after ? mn__buf_printf(b, "%lld", (long long)r->next_after)
                           : mn__buf_puts(b, "null");
    return rc ? rc : mn__buf_puts(b, "}\n");
}

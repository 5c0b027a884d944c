/* json_out.c - building responses: bodies from buffers handed to libmicrohttpd without a
 * copy, headers every reply carries, and the JSON of memories and result lists. */
#include <math.h>
#include <stdio.h>
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

/* Writes x as printf's "%.6g" does (the bytes are the same) into out, without printf:
 * three scores per hit were the biggest printf cost of a search reply. Search scores are
 * floats; a float times 10^p (p <= 9) is exact in a double (24 + 21 bits of mantissa), so
 * rint() rounds the exact value half to even like glibc. Other values (not a float, outside
 * 1e-4 .. 1e6, 0, NaN, inf) go to snprintf. Returns the length. */
static size_t fmt_g6(double x, char out[32])
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = x < 0 ? -x : x, n;
    char dig[8], *o = out;
    int e, p, i, last;
    long v;
    /* 1e-4 itself is not a float, so the bound's rounding does not matter */
    if (!(a >= 1e-4 && a < 1e6) || (double)(float)x != x)
        return (size_t)snprintf(out, 32, "%.6g", x);
    for (e = 5; e > -4 && (e >= 0 ? a < p10[e] : a * p10[-e] < 1.0); e--)
        ;
    p = 5 - e;
    n = rint(a * p10[p]);
    if (n >= 1e6) { /* rounded up to the next power of ten */
        if (++e > 5)
            return (size_t)snprintf(out, 32, "%.6g", x);
        n = rint(a * p10[--p]);
    }
    v = (long)n; /* an integer below 10^6 */
    for (i = 5; i >= 0; i--) {
        dig[i] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
    for (last = 5; last > (e >= 0 ? e : -1) && dig[last] == '0'; last--)
        ; /* %g drops trailing zeros of the fraction */
    if (x < 0)
        *o++ = '-';
    if (e < 0) {
        *o++ = '0';
        *o++ = '.';
        for (i = -1; i > e; i--)
            *o++ = '0';
        for (i = 0; i <= last; i++)
            *o++ = dig[i];
    } else {
        for (i = 0; i <= last; i++) {
            if (i == e + 1)
                *o++ = '.';
            *o++ = dig[i];
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}

static int put_score(mn__buf *b, const char *key, double x)
{
    char num[32];
    size_t n = fmt_g6(x, num);
    int rc = mn__buf_puts(b, key);
    return rc ? rc : mn__buf_append(b, num, n);
}

int mn__json_memory(mn__buf *b, const mn_memory *m, const mn_hit *hit)
{
    char *s = NULL;
    size_t len = 0;
    int rc = mn_memory_json(m, &s, &len, NULL);
    if (rc)
        return rc;
    if (hit) {
        rc = put_score(b, "{\"score\":", hit->score);
        if (!rc)
            rc = put_score(b, ",\"score_keyword\":", hit->score_keyword);
        if (!rc)
            rc = put_score(b, ",\"score_vector\":", hit->score_vector);
        if (!rc)
            rc = mn__buf_putc(b, ',');
    } else {
        rc = mn__buf_putc(b, '{');
    }
    /* a remote embedder has not stored its vector yet: keyword search only, for now */
    if (!rc)
        rc = mn__buf_puts(b, m->embedding_pending ? "\"embedding_pending\":true,"
                                                  : "\"embedding_pending\":false,");
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

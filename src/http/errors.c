/* errors.c - the one table from MN_E* (and the protocol's own failures) to an HTTP status and
 * a stable code string, and the one function that writes the error body. Bad input is
 * always a 4xx; 5xx means the server or the store failed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"

static const struct {
    int code;
    int status;
    const char *name;
} table[] = {
    {MN_EINVAL, 422, "invalid_argument"},
    {MN_ENOMEM, 503, "out_of_memory"},
    {MN_ENOTFOUND, 404, "not_found"},
    {MN_ETOOBIG, 413, "too_large"},
    {MN_EIO, 503, "store_unavailable"},
    {MN_ECORRUPT, 500, "store_corrupt"},
    {MN_EBUSY, 503, "busy"},
    {MN_EUTF8, 400, "invalid_utf8"},
    {MN_ESCHEMA, 500, "schema_unsupported"},
    {MN_ECLOSED, 503, "shutting_down"},
    {MN_EUNAVAIL, 503, "unavailable"},
    {MN_EEXIST, 409, "already_exists"},
    {MN_EFULL, 507, "storage_full"},
    {MN_EDIM, 422, "dimension_mismatch"},
    {MN_EPARSE, 400, "malformed_input"},
    {MN_ERANGE, 422, "out_of_range"},
    {MN_ENOMODEL, 503, "model_unavailable"},
    {MN_EAUTH, 401, "unauthorized"},
    {MN_EPERM, 403, "forbidden"},
    {MN_ETIMEOUT, 504, "timeout"},
    {MN_EPROVIDER, 502, "provider_failed"},
    {MN_ERATE, 429, "rate_limited"},
    {MN_EINTERNAL, 500, "internal"},
    {MN__H_ENOROUTE, 404, "route_not_found"},
    {MN__H_EMETHOD, 405, "method_not_allowed"},
    {MN__H_EMEDIA, 415, "unsupported_media_type"},
    {MN__H_EJSON, 400, "malformed_json"},
    {MN__H_EFIELD, 422, "invalid_field"},
    {MN__H_ESTOPPING, 503, "shutting_down"},
    {MN__H_ENOTSUPP, 501, "not_supported"},
    {MN__H_EBADREQ, 400, "bad_request"},
};

static int find(int code)
{
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(table); i++)
        if (table[i].code == code)
            return (int)i;
    return -1;
}

int mn__herr_status(int code)
{
    int i = find(code);
    return i < 0 ? 500 : table[i].status;
}

const char *mn__herr_code(int code)
{
    int i = find(code);
    return i < 0 ? "internal" : table[i].name;
}

static int reply(mn__hreq *rq, int code, const char *hint, const char *msg)
{
    mn__buf b;
    const char *name = mn__herr_code(code);
    int rc;
    mn__buf_init(&b, 8192);
    rc = mn__buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", name);
    if (!rc)
        rc = mn__buf_json_str(&b, msg, strlen(msg));
    if (!rc)
        rc = mn__buf_puts(&b, ",\"hint\":");
    if (!rc)
        rc = mn__buf_json_str(&b, hint ? hint : "", hint ? strlen(hint) : 0);
    if (!rc)
        rc = mn__buf_puts(&b, "}}\n");
    if (rc || mn__reply_buf(rq, mn__herr_status(code), &b, NULL))
        mn__reply_static(rq, 503, "{\"error\":{\"code\":\"out_of_memory\",\"message\":"
                                  "\"out of memory\",\"hint\":\"\"}}\n", NULL);
    mn__buf_release(&b);
    if (code == MN__H_EMETHOD && rq->allow[0])
        mn__reply_header(rq, MHD_HTTP_HEADER_ALLOW, rq->allow);
    if (code == MN_EAUTH)
        mn__reply_header(rq, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return code ? code : MN_EINTERNAL;
}

int mn__reply_error(mn__hreq *rq, int code, const char *hint, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reply(rq, code, hint, msg);
}

int mn__reply_err(mn__hreq *rq, int rc, const mn_err *err)
{
    if (rc == MN_OK)
        rc = MN_EINTERNAL;
    return reply(rq, rc, err && err->hint[0] ? err->hint : NULL,
                 err && err->msg[0] ? err->msg : mn_strerror(rc));
}

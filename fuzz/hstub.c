/* hstub.c - the HTTP layer without sockets (hstub.h): stand-ins for the libmicrohttpd calls
 * the handlers make, and a request runner that mirrors the dispatcher of src/http/server.c
 * so that the fuzzers reach every handler with any body, path and query string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fuzz.h"
#include "hstub.h"

#define MAX_KV 64

typedef struct kv {
    enum MHD_ValueKind kind;
    char *key;
    char *value; /* NULL: a query key without '=' */
} kv;

struct MHD_Connection {
    kv v[MAX_KV];
    size_t n;
};

#define MAX_HDR 16

struct MHD_Response {
    size_t len;
    void *data;
    MHD_ContentReaderFreeCallback free_cb;
    bool owned; /* a copy made here (MHD_RESPMEM_MUST_COPY) */
    char *hname[MAX_HDR], *hvalue[MAX_HDR];
    size_t n_hdr;
};

/* ---- the libmicrohttpd calls the handlers make ----------------------------------------*/

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if ((c->v[i].kind & kind) && key && !strcasecmp(c->v[i].key, key))
            return c->v[i].value;
    return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator it, void *cls)
{
    size_t i;
    int n = 0;
    for (i = 0; i < c->n; i++) {
        if (!(c->v[i].kind & kind))
            continue;
        n++;
        if (it && it(cls, c->v[i].kind, c->v[i].key, c->v[i].value) != MHD_YES)
            break;
    }
    return n;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = mn__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->len = size;
    r->data = buffer;
    if (mode == MHD_RESPMEM_MUST_COPY) {
        r->data = mn__malloc(size ? size : 1);
        if (!r->data) {
            mn__free(r);
            return NULL;
        }
        memcpy(r->data, buffer, size);
        r->owned = true;
    } else if (mode == MHD_RESPMEM_MUST_FREE) {
        r->free_cb = free; /* libmicrohttpd's contract: the buffer came from malloc */
    }
    return r;
}

struct MHD_Response *MHD_create_response_from_buffer_with_free_callback(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc)
{
    struct MHD_Response *r = mn__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->len = size;
    r->data = buffer;
    r->free_cb = crfc;
    return r;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header,
                                        const char *content)
{
    if (!r || !header || !content || r->n_hdr == MAX_HDR || strchr(content, '\n') ||
        strchr(content, '\r') || strchr(header, ':'))
        return MHD_NO; /* libmicrohttpd refuses these too */
    r->hname[r->n_hdr] = mn__strdup(header);
    r->hvalue[r->n_hdr] = mn__strdup(content);
    r->n_hdr++;
    return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r)
{
    size_t i;
    if (!r)
        return;
    if (r->owned)
        mn__free(r->data);
    else if (r->free_cb)
        r->free_cb(r->data);
    for (i = 0; i < r->n_hdr; i++) {
        mn__free(r->hname[i]);
        mn__free(r->hvalue[i]);
    }
    mn__free(r);
}

/* Streamed replies (the proxy): no body is produced here; the reader's state is freed. */
struct MHD_Response *MHD_create_response_from_callback(uint64_t size, size_t block_size,
                                                       MHD_ContentReaderCallback crc,
                                                       void *crc_cls,
                                                       MHD_ContentReaderFreeCallback crfc)
{
    struct MHD_Response *r = mn__calloc(1, sizeof *r);
    (void)size;
    (void)block_size;
    (void)crc;
    if (!r)
        return NULL;
    r->data = crc_cls;
    r->free_cb = crfc;
    return r;
}

/* Requests run to their end inline: suspending and resuming have nothing to do. */
void MHD_suspend_connection(struct MHD_Connection *c)
{
    (void)c;
}

void MHD_resume_connection(struct MHD_Connection *c)
{
    (void)c;
}

/* The server's (server.c): a deferred request is finished; fz_request waits for this. */
void mn__hreq_finish(mn__hreq *rq)
{
    atomic_store(&rq->done, true);
}

/* No socket, no connection state: the slow-client guard (guard.c) then tracks nothing. */
const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *c,
                                                        enum MHD_ConnectionInfoType kind, ...)
{
    (void)c;
    (void)kind;
    return NULL;
}

/* ---- connection values ----------------------------------------------------------------*/

static void conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind, char *key, char *value)
{
    if (c->n == MAX_KV || !key) {
        mn__free(key);
        mn__free(value);
        return;
    }
    c->v[c->n].kind = kind;
    c->v[c->n].key = key;
    c->v[c->n].value = value;
    c->n++;
}

static void conn_clear(struct MHD_Connection *c)
{
    size_t i;
    for (i = 0; i < c->n; i++) {
        mn__free(c->v[i].key);
        mn__free(c->v[i].value);
    }
    c->n = 0;
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

/* Percent- and '+'-decoding of one query component, as libmicrohttpd does it (a bad escape
 * is kept as it is; a %00 ends the string, which is what a C string of it gives). */
static char *unescape(const char *s, size_t n)
{
    char *out = mn__malloc(n + 1);
    size_t i, o = 0;
    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static void parse_query(struct MHD_Connection *c, const char *q)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', n);
        if (n) {
            if (eq)
                conn_add(c, MHD_GET_ARGUMENT_KIND, unescape(q, (size_t)(eq - q)),
                         unescape(eq + 1, n - (size_t)(eq - q) - 1));
            else
                conn_add(c, MHD_GET_ARGUMENT_KIND, unescape(q, n), NULL);
        }
        q = amp ? amp + 1 : NULL;
    }
}

/* ---- the server state -----------------------------------------------------------------*/

static mn__hsrv *srv;

static void srv_free(void)
{
    if (!srv)
        return;
    mn__metrics_free(srv->metrics);
    mn__auth_free(srv->auth);
    mn__free(srv->openapi);
    mn__free(srv);
    srv = NULL;
}

mn__hsrv *fz_server(void)
{
    static char arg0[] = "serve";
    char *argv[] = {arg0, NULL};
    mn__buf oa;
    mn_err err;
    if (srv)
        return srv;
    srv = mn__calloc(1, sizeof *srv);
    if (!srv)
        fz_fail("out of memory");
    if (mn__http_cfg_load(&srv->cfg, 1, argv) != 0)
        fz_fail("cannot load the default configuration");
    srv->cfg.max_batch = 64; /* keeps one input's work small */
    srv->log_level = MN_LOG_ERROR;
    srv->db = fz_db("http", "builtin");
    if (mn_db_info_get(srv->db, &srv->info, &err))
        fz_fail("mn_db_info_get: %s", err.msg);
    atomic_store(&srv->dev_mode, true);
    atomic_store(&srv->dev_checked_ms, mn__now_ms());
    mn__buf_init(&oa, 0);
    if (mn__openapi_build(&srv->cfg, &oa))
        fz_fail("cannot build the OpenAPI document");
    srv->openapi = mn__buf_take(&oa, &srv->openapi_len);
    if (mn__metrics_new(&srv->metrics) || mn__auth_new(&srv->auth))
        fz_fail("out of memory");
    atexit(srv_free);
    return srv;
}

/* ---- one request ------------------------------------------------------------------------*/

static long long body_limit(int route)
{
    if (route >= 0 && mn__routes[route].body == MN__H_BODY_NDJSON)
        return srv->cfg.max_import_bytes;
    return srv->cfg.max_body_bytes;
}

/* The dispatcher of server.c, step for step (rate limit aside: no key is configured). */
static void dispatch(mn__hreq *rq)
{
    const mn__route *r;
    if (rq->route == -1) {
        mn__reply_error(rq, MN__H_ENOROUTE, NULL, "no route %s %.200s", rq->method, rq->url);
        return;
    }
    if (rq->route == -2) {
        mn__reply_error(rq, MN__H_EMETHOD, rq->allow, "%s is not allowed on %.200s; use %s",
                        rq->method, rq->url, rq->allow);
        return;
    }
    r = &mn__routes[rq->route];
    if (rq->body_too_big) {
        mn__reply_error(rq, MN_ETOOBIG, NULL, "request body is over the limit");
        return;
    }
    if (r->auth && mn__auth_check(rq))
        return;
    if (mn__query_known(rq))
        return;
    if (r->body == MN__H_BODY_JSON && mn__json_body(rq))
        return;
    if (r->handler(rq) == MN__H_DEFERRED) {
        /* Taken over by another thread (the proxy): wait until it finishes. */
        struct timespec ts = {0, 1000 * 1000};
        int64_t until = mn__mono_ns() + 30 * 1000000000LL;
        while (!atomic_load(&rq->done))
            if (mn__mono_ns() > until)
                fz_fail("route %s %s deferred its reply and never finished", r->method,
                        r->path);
            else
                nanosleep(&ts, NULL);
    }
    if (!rq->resp)
        fz_fail("route %s %s gave no reply", r->method, r->path);
}

static struct MHD_Connection conn;
static char *last_body;
static char last_ctype[128];

static const char *resp_header(const struct MHD_Response *r, const char *name)
{
    size_t i;
    for (i = 0; i < r->n_hdr; i++)
        if (!strcasecmp(r->hname[i], name))
            return r->hvalue[i];
    return NULL;
}

/* What every reply must be: JSON bodies parse, errors have the one error shape, and only
 * the store or the server itself may give a 5xx (never the input). */
static void check_reply(const mn__hreq *rq, const fz_reply *out)
{
    cJSON *j, *e, *code;
    if (out->status < 200 || out->status > 599)
        fz_fail("%s %s: status %d", rq->method, rq->url, out->status);
    if (out->status == 500 || out->status == 502 || out->status == 504)
        fz_fail("%s %s: input gave status %d: %.300s", rq->method, rq->url, out->status,
                out->body);
    if (strncmp(out->ctype, "application/json", 16))
        return;
    j = cJSON_ParseWithLength(out->body, out->len);
    if (!j)
        fz_fail("%s %s: status %d with a body that is not JSON: %.300s", rq->method, rq->url,
                out->status, out->body);
    if (out->status >= 400) {
        e = cJSON_GetObjectItemCaseSensitive(j, "error");
        code = e ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
        if (!cJSON_IsString(code) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e,
                                                                                       "message")))
            fz_fail("%s %s: status %d without the error shape: %.300s", rq->method, rq->url,
                    out->status, out->body);
    }
    cJSON_Delete(j);
}

void fz_request(const char *method, const char *url, const char *ctype, const char *auth,
                const char *query, const uint8_t *body, size_t len, fz_reply *out)
{
    mn__hreq *rq;
    fz_server();
    conn_clear(&conn);
    mn__free(last_body);
    last_body = NULL;
    if (ctype)
        conn_add(&conn, MHD_HEADER_KIND, mn__strdup(MHD_HTTP_HEADER_CONTENT_TYPE),
                 mn__strdup(ctype));
    if (auth)
        conn_add(&conn, MHD_HEADER_KIND, mn__strdup(MHD_HTTP_HEADER_AUTHORIZATION),
                 mn__strdup(auth));
    parse_query(&conn, query);

    rq = mn__calloc(1, sizeof *rq);
    if (!rq)
        fz_fail("out of memory");
    rq->srv = srv;
    rq->conn = &conn;
    rq->method = method;
    rq->url = url;
    rq->status = 500;
    snprintf(rq->rid, sizeof rq->rid, "fuzz");
    rq->route = mn__route_match(strcmp(method, "HEAD") ? method : "GET", url, rq->scratch,
                                sizeof rq->scratch, rq->params, rq->allow, sizeof rq->allow);
    mn__buf_init(&rq->body, (size_t)body_limit(rq->route));
    if (len && mn__buf_append(&rq->body, body, len)) {
        rq->body_too_big = true;
        mn__buf_release(&rq->body);
    }
    dispatch(rq);

    out->status = rq->status;
    out->ctype = "";
    out->body = "";
    out->len = 0;
    if (rq->resp) {
        const char *ct = resp_header(rq->resp, MHD_HTTP_HEADER_CONTENT_TYPE);
        snprintf(last_ctype, sizeof last_ctype, "%s", ct ? ct : "");
        out->ctype = last_ctype;
        last_body = mn__malloc(rq->resp->len + 1);
        if (!last_body)
            fz_fail("out of memory");
        memcpy(last_body, rq->resp->data, rq->resp->len);
        last_body[rq->resp->len] = '\0';
        out->body = last_body;
        out->len = rq->resp->len;
        if (!resp_header(rq->resp, "X-Request-Id"))
            fz_fail("%s %s: reply without X-Request-Id", method, url);
    }
    check_reply(rq, out);
    MHD_destroy_response(rq->resp);
    cJSON_Delete(rq->json);
    mn__buf_release(&rq->body);
    mn__free(rq);
}

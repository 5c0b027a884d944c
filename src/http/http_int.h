/* http_int.h - shared between the server's own files: the server and request state, the
 * route table, the error table, JSON input/output helpers, auth, rate limit, metrics, log. */
#ifndef MN_HTTP_INT_H
#define MN_HTTP_INT_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../core/core.h"
#include "http.h"

#define MN__H_MAX_PARAMS 4

typedef struct mn__hsrv mn__hsrv;
typedef struct mn__hreq mn__hreq;

/* ---- routes (routes.c, router.c) ---------------------------------------------------------*/

/* What a route accepts as body; the limit comes from the configuration. */
typedef enum mn__hbody {
    MN__H_BODY_NONE = 0,
    MN__H_BODY_JSON = 1,   /* application/json, at most max_body_bytes */
    MN__H_BODY_NDJSON = 2  /* application/x-ndjson, at most max_import_bytes */
} mn__hbody;

typedef int (*mn__hhandler)(mn__hreq *rq);

typedef struct mn__route {
    const char *method;
    const char *path;       /* "/v1/users/{user}/memories/{id}" */
    mn__hhandler handler;
    mn__hbody body;
    bool auth;              /* needs a key (unless in development mode) */
    const char *op_id;      /* OpenAPI operationId, also the metrics label */
    const char *tag;
    const char *summary;
    const char *query;      /* comma-separated query parameters (see mn__hparams) */
    const char *req_schema; /* component schema name of the body, or NULL */
    int ok_status;
    const char *resp_schema; /* component schema of the success body, or NULL */
    const char *resp_type;   /* content type of the success body; NULL: application/json */
    bool writes;             /* waits for a store commit: runs on a write worker */
} mn__route;

extern const mn__route mn__routes[];
extern const size_t mn__n_routes;

/* A documented query parameter. */
typedef struct mn__hparam {
    const char *name;
    const char *type; /* JSON schema type */
    const char *help;
} mn__hparam;
extern const mn__hparam mn__hparams[];
const mn__hparam *mn__hparam_find(const char *name);

/* A component schema of the OpenAPI document: name and JSON Schema text. */
typedef struct mn__hschema {
    const char *name;
    const char *json;
} mn__hschema;
extern const mn__hschema mn__hschemas[];

/* Finds the route of method+path; fills params. Returns the route index, -1 when no path
 * matches (404), -2 when the path matches with another method (405; *allow gets the
 * methods, comma-separated, into allow[0..allow_cap)). */
int mn__route_match(const char *method, const char *path, char *scratch, size_t scratch_cap,
                    const char **params, char *allow, size_t allow_cap);

/* ---- server and request state ------------------------------------------------------------*/

typedef struct mn__metrics mn__metrics;
typedef struct mn__workers mn__workers;
typedef struct mn__ratelimit mn__ratelimit;
typedef struct mn__authcache mn__authcache;
typedef struct mn__guard mn__guard;
typedef struct mn__proxy mn__proxy;

struct mn__hsrv {
    mn__http_cfg cfg;
    mn_db *db;
    mn_db_info info;
    struct MHD_Daemon *daemon;
    unsigned port;
    _Atomic bool stopping;
    _Atomic int n_active;      /* requests between their first call and completion */
    _Atomic bool dev_mode;
    _Atomic int64_t dev_checked_ms;
    _Atomic uint64_t rid_seq;
    uint64_t rid_salt;
    char *openapi;             /* generated once at start */
    size_t openapi_len;
    mn__metrics *metrics;
    mn__ratelimit *rl;
    mn__authcache *auth;
    mn__workers *workers;      /* runs the routes that write */
    mn__guard *guard;          /* cuts off slow clients */
    mn__proxy *proxy;          /* the OpenAI-compatible proxy's upstream requests */
    bool json_log;
    mn_log_level log_level;
};

struct mn__hreq {
    mn__hsrv *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    int route;                 /* index into mn__routes, -1: none */
    const char *params[MN__H_MAX_PARAMS];
    char scratch[1024];        /* path parameters live here */
    char allow[64];
    mn__buf body;
    bool body_too_big;
    bool nul_in_url;         /* the raw URL held %00: refused before routing means anything */
    bool queued;               /* response given to MHD */
    bool offloaded;            /* suspended, handed to a write worker */
    _Atomic bool done;         /* the worker has built the response */
    cJSON *json;
    char where[48];            /* "messages[3]: " while checking one item of a batch */
    char tenant[MN_MAX_ID_BYTES + 1];
    mn_id key_id;
    char rid[72];
    int64_t t0_ns;
    int status;
    size_t out_bytes;
    struct MHD_Response *resp; /* built by the handler, queued by the dispatcher */
};

/* ---- responses (json_out.c) --------------------------------------------------------------*/

/* Builds the response of rq from b's bytes (taken; b is reset) with a status and a content
 * type (NULL: application/json). Returns MN_OK or MN_ENOMEM. */
int mn__reply_buf(mn__hreq *rq, int status, mn__buf *b, const char *ctype);
/* The same from a static string. */
int mn__reply_static(mn__hreq *rq, int status, const char *body, const char *ctype);
/* Adds a header to the pending response. */
void mn__reply_header(mn__hreq *rq, const char *name, const char *value);
/* A memory as JSON (the export shape), with scores when hit is given. */
int mn__json_memory(mn__buf *b, const mn_memory *m, const mn_hit *hit);
/* {"memories":[...],...} for a list or search result. */
int mn__json_results(mn__buf *b, const mn_results *r, bool search);

/* ---- errors (errors.c) -------------------------------------------------------------------*/

/* Codes for failures that are the protocol's, not the library's; they sit in the same
 * table as the MN_E* codes. */
enum {
    MN__H_ENOROUTE = -1001,
    MN__H_EMETHOD = -1002,
    MN__H_EMEDIA = -1003,
    MN__H_EJSON = -1004,
    MN__H_EFIELD = -1005,
    MN__H_ESTOPPING = -1006,
    MN__H_ENOTSUPP = -1007, /* 501: a mem0 platform feature mnemo does not have */
    MN__H_EBADREQ = -1008   /* 400: a request that cannot be honoured as asked */
};
int mn__herr_status(int code);
const char *mn__herr_code(int code);
/* Replies {"error":{"code","message","hint"}} with the status of code. Returns code. */
int mn__reply_error(mn__hreq *rq, int code, const char *hint, const char *fmt, ...)
    MN_PRINTF(4, 5);
/* The same from an mn_err filled by the library. */
int mn__reply_err(mn__hreq *rq, int rc, const mn_err *err);

/* ---- JSON input (json_in.c) --------------------------------------------------------------*/

/* Checks content type, size, UTF-8 and depth, then parses rq->body into rq->json. Replies
 * with the error and returns non-zero when the body is not acceptable. */
int mn__json_body(mn__hreq *rq);
/* Replies 422 when obj has a member not in allowed (NULL-terminated). */
int mn__json_fields(mn__hreq *rq, const cJSON *obj, const char *where,
                    const char *const *allowed);
/* Typed members: absent leaves *out unchanged and returns 0; a wrong type replies 422. */
int mn__json_str(mn__hreq *rq, const cJSON *obj, const char *name, bool required,
                 const char **out);
int mn__json_int(mn__hreq *rq, const cJSON *obj, const char *name, long long lo, long long hi,
                 long long *out);
/* metadata: an object, printed compactly into *out (free with cJSON_free); NULL when absent
 * or null. */
int mn__json_meta(mn__hreq *rq, const cJSON *obj, const char *name, char **out);
/* created_at: RFC 3339 string or integer ms. */
int mn__json_time(mn__hreq *rq, const cJSON *obj, const char *name, int64_t *out_ms);
/* Query string helpers: absent leaves *out unchanged; bad values reply 422. */
const char *mn__query(mn__hreq *rq, const char *name);
int mn__query_int(mn__hreq *rq, const char *name, long long lo, long long hi,
                  long long *out);
int mn__query_time(mn__hreq *rq, const char *name, int64_t *out_ms);
/* Checks that every query parameter is one the route documents. */
int mn__query_known(mn__hreq *rq);
/* Parses a path id ("{id}") into *out; replies 404 when it is not a positive integer. */
int mn__path_id(mn__hreq *rq, const char *s, mn_id *out);

/* ---- handlers (h_*.c) --------------------------------------------------------------------*/
int mn__h_users_list(mn__hreq *rq);
int mn__h_user_forget(mn__hreq *rq);
int mn__h_user_export(mn__hreq *rq);
int mn__h_compact(mn__hreq *rq); /* h_compact.c */
int mn__h_context(mn__hreq *rq); /* h_context.c */
int mn__h_import(mn__hreq *rq);
int mn__h_messages_add(mn__hreq *rq);
int mn__h_memories_list(mn__hreq *rq);
int mn__h_memory_get(mn__hreq *rq);
int mn__h_memory_patch(mn__hreq *rq);
int mn__h_memory_delete(mn__hreq *rq);
int mn__h_system_add(mn__hreq *rq);
int mn__h_system_list(mn__hreq *rq);
int mn__h_embeddings(mn__hreq *rq);
int mn__h_healthz(mn__hreq *rq);
int mn__h_readyz(mn__hreq *rq);
int mn__h_metrics(mn__hreq *rq);
int mn__h_openapi(mn__hreq *rq);
int mn__h_docs(mn__hreq *rq);
int mn__h_docs_file(mn__hreq *rq);
int mn__h_ui(mn__hreq *rq);      /* h_ui.c */
int mn__h_ui_file(mn__hreq *rq);

/* Shared by the memory handlers (h_memories.c): adds the memories of a body (one object or
 * {"messages"|"memories": [...]}) to user_id's partition or, with user_id NULL, the system
 * scope. */
int mn__add_from_body(mn__hreq *rq, const char *user_id, const char *list_name);
/* List or search (with ?query=) of a user's or the system memories. */
int mn__list_or_search(mn__hreq *rq, const char *user_id);

/* ---- write workers (workers.c) ----------------------------------------------------------*/
int mn__workers_start(int n, void (*run)(mn__hreq *rq), mn__workers **out);
/* MN_ECLOSED once stopping; MN_ENOMEM. */
int mn__workers_submit(mn__workers *w, mn__hreq *rq);
/* Runs what is queued, then joins the threads. NULL is a no-op. */
void mn__workers_stop(mn__workers *w);

/* ---- OpenAI-compatible proxy (h_proxy.c, proxy_body.c, proxy_stream.c, upstream.c) -------*/

/* A handler returns this when it has taken its request over: it finishes it later, from
 * another thread, with mn__hreq_finish, and nothing else touches rq meanwhile. Only for
 * routes that run on a worker (writes), whose connection is suspended. */
#define MN__H_DEFERRED 1
/* Marks the response of a deferred request ready and resumes its connection; rq may be
 * freed as soon as this returns (server.c). */
void mn__hreq_finish(mn__hreq *rq);

int mn__proxy_new(mn__hsrv *srv, mn__proxy **out);
/* Aborts the upstream requests still running and joins their threads. NULL is a no-op. */
void mn__proxy_free(mn__proxy *px);
int mn__h_chat_completions(mn__hreq *rq);
int mn__h_models(mn__hreq *rq);

/* The memory context of `query` for (tenant, user) within max_tokens of `model`'s tokenizer,
 * as the text of a system message; *out_block NULL when nothing relevant is remembered.
 * Free with mn__free (proxy_context.c). */
int mn__proxy_context(mn_db *db, const char *tenant, const char *user, const char *query,
                      const char *model, int max_tokens, char **out_block, int *out_items,
                      mn_err *err);

/* Bytes of s[0..n) that fit in max without cutting a UTF-8 sequence. */
size_t mn__utf8_fit(const char *s, size_t n, size_t max);
/* Text of the last message with role "user" (string content, or its text parts), cut to
 * max bytes; *out NULL when there is none. Free with mn__free. */
int mn__proxy_last_user_text(const cJSON *messages, size_t max, char **out);
/* Inserts a system message with text after the leading system/developer messages. */
int mn__proxy_inject(cJSON *messages, const char *text);
/* Content of choice 0 of a chat.completion body, cut to max bytes; NULL when none. */
int mn__proxy_reply_text(const char *body, size_t len, size_t max, char **out);

/* Assembles the reply of a streamed completion from its server-sent events. */
typedef struct mn__sse {
    mn__buf line, data, reply;
    size_t max_reply;
    bool skip, done, truncated;
} mn__sse;
void mn__sse_init(mn__sse *s, size_t max_reply);
void mn__sse_release(mn__sse *s);
int mn__sse_feed(mn__sse *s, const char *p, size_t n);

/* Bytes from the proxy's thread to the client, through a content reader that suspends the
 * connection instead of waiting. */
typedef struct mn__pstream mn__pstream;
/* *out_resp is the response to queue (its reader holds a reference to *out_s). */
int mn__pstream_new(struct MHD_Connection *conn, size_t max_pending, mn__pstream **out_s,
                    struct MHD_Response **out_resp);
/* Waits while more than max_pending bytes are pending. MN_ECLOSED once the client is gone. */
int mn__pstream_push(mn__pstream *s, const char *p, size_t n);
bool mn__pstream_gone(mn__pstream *s);
/* Ends the stream (with an error when failed) and drops the producer's reference. */
void mn__pstream_end(mn__pstream *s, bool failed);

/* One exchange with the upstream; callbacks run on the calling thread, a non-zero return
 * stops the transfer. */
struct curl_slist;
typedef struct mn__upstream_req {
    const char *url;
    const char *body;            /* POST body, NULL for a GET */
    size_t body_len;
    struct curl_slist *headers;
    long timeout_s, connect_timeout_s;
    void *ctx;
    int (*on_header)(void *ctx, const char *name, size_t nlen, const char *v, size_t vlen);
    int (*on_headers)(void *ctx, long status); /* the final response's headers are in */
    int (*on_data)(void *ctx, const char *p, size_t n);
    int (*should_abort)(void *ctx);             /* polled about once a second and more */
} mn__upstream_req;
int mn__upstream_global_init(void);
void mn__upstream_global_release(void);
/* MN_OK when a whole response arrived (any status); MN_ETIMEOUT, MN_EPROVIDER (connect or
 * transfer failed), MN_ECLOSED (a callback stopped it), MN_ENOMEM. */
int mn__upstream_perform(const mn__upstream_req *r, mn_err *err);

/* ---- slow clients (guard.c) -------------------------------------------------------------*/
/* A watchdog over every connection: waiting for a request at most idle-timeout, receiving
 * one at most request-timeout from its first line to its last body byte. */
int mn__guard_start(mn__hsrv *srv, mn__guard **out);
/* After the daemon is stopped. NULL is a no-op. */
void mn__guard_stop(mn__guard *g);
int64_t mn__guard_cut_count(mn__guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_URI_LOG_CALLBACK, with the server as cls. */
void mn__guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                             enum MHD_ConnectionNotificationCode code);
void *mn__guard_on_uri(void *cls, const char *uri, struct MHD_Connection *c);
/* Whether the raw URL of the connection's current request holds an encoded NUL byte (%00):
 * libmicrohttpd decodes it, and the path or a query value would end there unseen. */
bool mn__guard_uri_nul(struct MHD_Connection *c);
/* The request has arrived whole: no time limit while it runs. */
void mn__guard_request_read(struct MHD_Connection *c);
/* Its reply is done: the connection waits for the next request. */
void mn__guard_request_done(struct MHD_Connection *c);

/* ---- auth (auth.c) -----------------------------------------------------------------------*/
int mn__auth_new(mn__authcache **out);
void mn__auth_free(mn__authcache *a);
/* Sets rq->tenant from the Authorization header (or "default" in development mode);
 * replies 401 and returns non-zero when the key is missing or not valid. */
int mn__auth_check(mn__hreq *rq);

/* ---- rate limit (ratelimit.c) ------------------------------------------------------------*/
int mn__rl_new(double per_s, double burst, mn__ratelimit **out);
void mn__rl_free(mn__ratelimit *rl);
/* 0 when a request of `who` may go now; else the seconds to wait before the next one. */
int mn__rl_take(mn__ratelimit *rl, const char *who, int64_t now_ns);

/* ---- metrics (metrics.c) -----------------------------------------------------------------*/
int mn__metrics_new(mn__metrics **out);
void mn__metrics_free(mn__metrics *m);
void mn__metrics_observe(mn__metrics *m, int route, int status, int64_t ns);
int mn__metrics_render(mn__hsrv *srv, mn__buf *b);

/* ---- logging (log.c) ---------------------------------------------------------------------*/
void mn__hlog(const mn__hsrv *srv, mn_log_level level, const char *fmt, ...) MN_PRINTF(3, 4);
void mn__hlog_access(const mn__hsrv *srv, const mn__hreq *rq, int64_t dur_ns);
/* Library log callback (ctx is the server). */
void mn__hlog_lib(void *ctx, mn_log_level level, const char *msg);
int mn__hlog_level_parse(const char *s, mn_log_level *out);

/* ---- OpenAPI (openapi.c) -----------------------------------------------------------------*/
int mn__openapi_build(const mn__http_cfg *cfg, mn__buf *b);

#endif /* MN_HTTP_INT_H */

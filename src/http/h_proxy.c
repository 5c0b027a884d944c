/* h_proxy.c - the OpenAI-compatible proxy: POST /v1/chat/completions with memory, GET
 * /v1/models passed through. The handler checks the request on a worker and hands it to a
 * thread of its own, which builds the memory context for the last user message, injects it,
 * calls the upstream, relays the answer (a stream chunk by chunk, as it arrives), stores the
 * exchange, and only then ends the response. Upstream errors pass through unchanged. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

#define MAX_REPLY_BYTES (64u << 20)  /* a buffered (non-streamed) upstream answer */
#define MAX_PENDING_BYTES (1u << 20) /* stream bytes waiting for a slow client */
#define MAX_RELAY_HEADERS 8192

typedef struct pjob pjob;

struct mn__proxy {
    mn__hsrv *srv;
    pthread_mutex_t mu;
    pjob *jobs;            /* threads not joined yet */
    _Atomic bool stopping;
    char *chat_url;
    char *models_url;
};

struct pjob {
    pjob *next;
    pthread_t thread;
    _Atomic bool ended;
    mn__proxy *px;
    mn__hreq *rq;          /* until the response is handed over; NULL after */
    bool models;
    cJSON *json;           /* the request body (taken from rq) */
    struct curl_slist *headers;
    char *send;            /* body sent upstream */
    /* memory */
    bool memory;           /* a user is known: context injected, exchange stored */
    const char *mem_state; /* X-Mnemo-Memory: on, off, unavailable */
    int n_items;
    char tenant[MN_MAX_ID_BYTES + 1];
    char user[MN_MAX_ID_BYTES + 1];
    char session[MN_MAX_ID_BYTES + 1];
    char model[128];
    char *user_text;
    int64_t asked_ms;
    /* the answer */
    long status;
    char ctype[128];
    mn__buf relay;         /* "Name: value\n" lines passed on to the client */
    mn__buf in;            /* a buffered answer */
    bool in_too_big;
    mn__pstream *st;       /* a streamed answer */
    mn__sse sse;
};

/* ---- lifecycle ------------------------------------------------------------------------------*/

static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    mn__buf b;
    while (n && base[n - 1] == '/')
        n--;
    mn__buf_init(&b, 0);
    if (mn__buf_append(&b, base, n) || mn__buf_puts(&b, path)) {
        mn__buf_release(&b);
        return NULL;
    }
    return mn__buf_take(&b, &n);
}

int mn__proxy_new(mn__hsrv *srv, mn__proxy **out)
{
    mn__proxy *px = mn__calloc(1, sizeof *px);
    *out = NULL;
    if (!px)
        return MN_ENOMEM;
    px->srv = srv;
    pthread_mutex_init(&px->mu, NULL);
    if (srv->cfg.upstream_url[0]) {
        if (mn__upstream_global_init()) {
            pthread_mutex_destroy(&px->mu);
            mn__free(px);
            return MN_ENOMEM;
        }
        px->chat_url = join_url(srv->cfg.upstream_url, "/chat/completions");
        px->models_url = join_url(srv->cfg.upstream_url, "/models");
        if (!px->chat_url || !px->models_url) {
            mn__proxy_free(px);
            return MN_ENOMEM;
        }
    }
    *out = px;
    return MN_OK;
}

static void job_free(pjob *j)
{
    cJSON_Delete(j->json);
    curl_slist_free_all(j->headers);
    cJSON_free(j->send);
    mn__free(j->user_text);
    mn__buf_release(&j->relay);
    mn__buf_release(&j->in);
    mn__sse_release(&j->sse);
    mn__free(j);
}

/* Joins the threads that have ended (all of them with wait_all). Call with px->mu held. */
static void reap(mn__proxy *px, bool wait_all)
{
    pjob **pp = &px->jobs;
    while (*pp) {
        pjob *j = *pp;
        if (!wait_all && !atomic_load(&j->ended)) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        pthread_join(j->thread, NULL);
        job_free(j);
    }
}

void mn__proxy_free(mn__proxy *px)
{
    if (!px)
        return;
    atomic_store(&px->stopping, true); /* running transfers see it within a second */
    pthread_mutex_lock(&px->mu);
    reap(px, true);
    pthread_mutex_unlock(&px->mu);
    pthread_mutex_destroy(&px->mu);
    if (px->chat_url)
        mn__upstream_global_release();
    mn__free(px->chat_url);
    mn__free(px->models_url);
    mn__free(px);
}

/* ---- the memory side --------------------------------------------------------------------*/

static void set_error_state(pjob *j, const char *what, const mn_err *err)
{
    j->mem_state = "unavailable";
    mn__hlog(j->px->srv, MN_LOG_WARN, "proxy: %s for user '%s' failed, answering without "
                                      "memory: %s",
             what, j->user, err->msg);
}

/* Builds the context of the last user message and injects it. A failure of the store does
 * not fail the chat: it goes on without memory and says so in X-Mnemo-Memory. Returns
 * non-zero only after replying to a request that is the client's fault. */
static int add_context(pjob *j)
{
    mn__hsrv *srv = j->px->srv;
    cJSON *messages = cJSON_GetObjectItemCaseSensitive(j->json, "messages");
    char *block = NULL;
    mn_err err;
    int rc;

    mn__err_clear(&err);
    if (srv->cfg.proxy_context_tokens == 0)
        return 0;
    rc = mn__proxy_context(srv->db, j->tenant, j->user, j->user_text, j->model,
                           (int)srv->cfg.proxy_context_tokens, &block, &j->n_items, &err);
    if (rc == MN_EINVAL || rc == MN_EUTF8) {
        mn__reply_err(j->rq, rc, &err);
        return rc;
    }
    if (rc) {
        set_error_state(j, "building the context", &err);
        return 0;
    }
    if (block && mn__proxy_inject(messages, block)) {
        mn__free(block);
        mn__reply_error(j->rq, MN_ENOMEM, NULL, "out of memory injecting the context");
        return MN_ENOMEM;
    }
    mn__free(block);
    return 0;
}

/* Stores the user's message and the reply (when there is one) in one transaction. */
static void store_exchange(pjob *j, const char *reply, size_t reply_len)
{
    mn__hsrv *srv = j->px->srv;
    mn_memory_in in[2];
    mn__buf meta;
    char *text = NULL;
    size_t n = 1;
    mn_err err;
    int rc;

    if (!j->user_text)
        return;
    mn__buf_init(&meta, 4096);
    rc = mn__buf_puts(&meta, "{\"via\":\"proxy\"");
    if (!rc && j->model[0]) {
        rc = mn__buf_puts(&meta, ",\"model\":");
        if (!rc)
            rc = mn__buf_json_str(&meta, j->model, strlen(j->model));
    }
    if (!rc)
        rc = mn__buf_putc(&meta, '}');
    mn_memory_in_init(&in[0]);
    in[0].tenant = j->tenant;
    in[0].user_id = j->user;
    in[0].role = MN_ROLE_USER;
    in[0].session_id = j->session[0] ? j->session : NULL;
    in[0].text = j->user_text;
    in[0].created_at_ms = j->asked_ms;
    in[0].metadata_json = rc ? NULL : meta.data;
    if (reply && reply_len) {
        text = mn__strndup(reply, reply_len);
        in[1] = in[0];
        in[1].role = MN_ROLE_ASSISTANT;
        in[1].text = text;
        in[1].created_at_ms = MN_MAX(mn__now_ms(), j->asked_ms + 1);
        n = text ? 2 : 1;
    }
    rc = mn_memory_add_batch(srv->db, in, n, NULL, &err);
    if (rc)
        mn__hlog(srv, MN_LOG_WARN, "proxy: storing the exchange of user '%s' failed: %s",
                 j->user, err.msg);
    mn__free(text);
    mn__buf_release(&meta);
}

/* ---- upstream callbacks -----------------------------------------------------------------*/

static bool relayed(const char *name, size_t n)
{
    static const char *const exact[] = {"retry-after", "retry-after-ms", "openai-model",
                                        "openai-processing-ms", "openai-version",
                                        "openai-organization"};
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(exact); i++)
        if (strlen(exact[i]) == n && !strncasecmp(name, exact[i], n))
            return true;
    return n > 12 && !strncasecmp(name, "x-ratelimit-", 12);
}

static int on_header(void *ctx, const char *name, size_t nlen, const char *v, size_t vlen)
{
    pjob *j = ctx;
    if (nlen == 12 && !strncasecmp(name, "content-type", 12)) {
        snprintf(j->ctype, sizeof j->ctype, "%.*s", (int)MN_MIN(vlen, 120), v);
        return 0;
    }
    if (nlen == 12 && !strncasecmp(name, "x-request-id", 12)) {
        name = "X-Upstream-Request-Id";
        nlen = strlen(name);
    } else if (!relayed(name, nlen)) {
        return 0;
    }
    /* Over the limit, further headers are dropped: none of them is needed to read the
     * answer. */
    if (!mn__buf_append(&j->relay, name, nlen) && !mn__buf_putc(&j->relay, '\0') &&
        !mn__buf_append(&j->relay, v, vlen))
        mn__buf_putc(&j->relay, '\n');
    return 0;
}

static void add_headers(pjob *j)
{
    char items[16];
    char *p, *end;
    if (!j->models)
        mn__reply_header(j->rq, "X-Mnemo-Memory", j->mem_state);
    if (j->memory && !strcmp(j->mem_state, "on")) {
        snprintf(items, sizeof items, "%d", j->n_items);
        mn__reply_header(j->rq, "X-Mnemo-Context-Items", items);
    }
    for (p = j->relay.data, end = p ? p + j->relay.len : NULL; p && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        *nl = '\0';
        mn__reply_header(j->rq, p, p + strlen(p) + 1);
        p = nl + 1;
    }
}

static bool is_event_stream(const char *ctype)
{
    return !strncasecmp(ctype, "text/event-stream", 17);
}

/* The final status is known: a successful stream is handed to the client now, the rest is
 * buffered and answered at the end. */
static int on_headers(void *ctx, long status)
{
    pjob *j = ctx;
    struct MHD_Response *resp = NULL;
    j->status = status;
    if (j->models || status < 200 || status > 299 || !is_event_stream(j->ctype))
        return 0;
    if (mn__pstream_new(j->rq->conn, MAX_PENDING_BYTES, &j->st, &resp))
        return 1;
    if (j->rq->resp)
        MHD_destroy_response(j->rq->resp);
    j->rq->resp = resp;
    j->rq->status = (int)status;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, j->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Request-Id", j->rq->rid);
    add_headers(j);
    mn__hreq_finish(j->rq);
    j->rq = NULL;
    return 0;
}

static int on_data(void *ctx, const char *p, size_t n)
{
    pjob *j = ctx;
    if (j->st) {
        if (j->memory)
            mn__sse_feed(&j->sse, p, n); /* a failure only loses the stored reply */
        return mn__pstream_push(j->st, p, n) ? 1 : 0;
    }
    if (mn__buf_append(&j->in, p, n)) {
        j->in_too_big = true;
        return 1;
    }
    return 0;
}

static int should_abort(void *ctx)
{
    pjob *j = ctx;
    return atomic_load(&j->px->stopping) || (j->st && mn__pstream_gone(j->st));
}

/* ---- the job's thread ---------------------------------------------------------------------*/

static void reply_buffered(pjob *j)
{
    mn__hsrv *srv = j->px->srv;
    if (j->memory && j->status >= 200 && j->status <= 299) {
        char *reply = NULL;
        mn__proxy_reply_text(j->in.data ? j->in.data : "", j->in.len,
                             (size_t)srv->cfg.max_text_bytes, &reply);
        store_exchange(j, reply, reply ? strlen(reply) : 0);
        mn__free(reply);
    }
    if (mn__reply_buf(j->rq, (int)j->status, &j->in, j->ctype[0] ? j->ctype : NULL)) {
        mn__reply_error(j->rq, MN_ENOMEM, NULL, "out of memory relaying the answer");
        return;
    }
    add_headers(j);
}

static void *job_main(void *arg)
{
    pjob *j = arg;
    mn__proxy *px = j->px;
    mn__hsrv *srv = px->srv;
    mn__upstream_req r;
    mn_err err;
    int rc;

    if (j->memory && add_context(j))
        goto finish;
    if (!j->models) {
        j->send = cJSON_PrintUnformatted(j->json);
        if (!j->send) {
            mn__reply_error(j->rq, MN_ENOMEM, NULL, "out of memory writing the request");
            goto finish;
        }
    }
    memset(&r, 0, sizeof r);
    r.url = j->models ? px->models_url : px->chat_url;
    r.body = j->send;
    r.body_len = j->send ? strlen(j->send) : 0;
    r.headers = j->headers;
    r.timeout_s = (long)srv->cfg.upstream_timeout_s;
    r.connect_timeout_s = (long)srv->cfg.upstream_connect_timeout_s;
    r.ctx = j;
    r.on_header = on_header;
    r.on_headers = on_headers;
    r.on_data = on_data;
    r.should_abort = should_abort;
    rc = mn__upstream_perform(&r, &err);

    if (j->st) { /* streamed: the client has the headers and what came so far */
        bool ok = rc == MN_OK && !mn__pstream_gone(j->st);
        if (rc && rc != MN_ECLOSED)
            mn__hlog(srv, MN_LOG_WARN, "proxy: a streamed answer broke off: %s", err.msg);
        if (ok && j->memory)
            store_exchange(j, j->sse.reply.data, j->sse.reply.len);
        mn__pstream_end(j->st, !ok);
        j->st = NULL;
        goto done;
    }
    if (rc == MN_OK) {
        reply_buffered(j);
    } else if (j->in_too_big) {
        mn__reply_error(j->rq, MN_EPROVIDER, "ask for a shorter answer",
                        "the upstream's answer is over the limit of %u bytes",
                        MAX_REPLY_BYTES);
    } else if (rc == MN_ECLOSED) {
        mn__reply_error(j->rq, MN__H_ESTOPPING, "retry on another node or after the restart",
                        "the server is shutting down");
    } else {
        mn__hlog(srv, MN_LOG_WARN, "proxy: %s", err.msg);
        mn__reply_err(j->rq, rc, &err);
    }
finish:
    mn__hreq_finish(j->rq);
    j->rq = NULL;
done:
    atomic_store(&j->ended, true);
    return NULL;
}

/* ---- the handlers -------------------------------------------------------------------------*/

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    struct curl_slist *l;
    mn__buf line;
    int rc;
    if (!value)
        return MN_OK;
    /* Bearer tokens of some providers (Azure AD) run to a few KiB. */
    mn__buf_init(&line, 16384);
    rc = mn__buf_printf(&line, "%s: %s", name, value);
    if (rc == MN_ETOOBIG)
        rc = MN_OK; /* not a value worth forwarding */
    else if (!rc) {
        l = curl_slist_append(*list, line.data);
        if (l)
            *list = l;
        else
            rc = MN_ENOMEM;
    }
    mn__buf_release(&line);
    return rc;
}

static const char *in_header(mn__hreq *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* Headers of the upstream request: the upstream's key (never the client's mnemo key). */
static int upstream_headers(mn__hreq *rq, pjob *j)
{
    const mn__hsrv *srv = rq->srv;
    const char *client_auth = in_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    int rc = MN_OK;
    if (srv->cfg.upstream_key[0]) {
        mn__buf auth;
        mn__buf_init(&auth, 16384);
        rc = mn__buf_printf(&auth, "Bearer %s", srv->cfg.upstream_key);
        if (!rc)
            rc = add_header(&j->headers, "Authorization", auth.data);
        mn__buf_release(&auth);
    } else if (atomic_load(&srv->dev_mode) && client_auth) {
        /* Without keys the Authorization header is not mnemo's: it is the client's key for
         * the upstream (an OpenAI key given to the OpenAI client), so it goes on. */
        rc = add_header(&j->headers, "Authorization", client_auth);
    }
    if (!rc && !j->models)
        rc = add_header(&j->headers, "Content-Type", "application/json");
    if (!rc)
        rc = add_header(&j->headers, "Accept", in_header(rq, "Accept"));
    if (!rc)
        rc = add_header(&j->headers, "OpenAI-Organization", in_header(rq, "OpenAI-Organization"));
    if (!rc)
        rc = add_header(&j->headers, "OpenAI-Project", in_header(rq, "OpenAI-Project"));
    if (!rc)
        rc = add_header(&j->headers, "OpenAI-Beta", in_header(rq, "OpenAI-Beta"));
    if (!rc) {
        /* No 100-continue round trip, no compressed answer to relay. */
        struct curl_slist *l = curl_slist_append(j->headers, "Expect:");
        rc = l ? MN_OK : MN_ENOMEM;
        if (l)
            j->headers = l;
    }
    return rc;
}

static int start(mn__hreq *rq, pjob *j)
{
    mn__proxy *px = rq->srv->proxy;
    j->px = px;
    j->rq = rq;
    j->asked_ms = mn__now_ms();
    mn__buf_init(&j->relay, MAX_RELAY_HEADERS);
    mn__buf_init(&j->in, MAX_REPLY_BYTES);
    mn__sse_init(&j->sse, (size_t)rq->srv->cfg.max_text_bytes);
    if (!j->mem_state)
        j->mem_state = "off";
    if (upstream_headers(rq, j)) {
        job_free(j);
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory preparing the request");
    }
    pthread_mutex_lock(&px->mu);
    reap(px, false);
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(&px->mu);
        job_free(j);
        return mn__reply_error(rq, MN_EBUSY, "retry later",
                               "cannot start a thread for the upstream request");
    }
    j->next = px->jobs;
    px->jobs = j;
    pthread_mutex_unlock(&px->mu);
    return MN__H_DEFERRED;
}

static int check_ready(mn__hreq *rq)
{
    mn__proxy *px = rq->srv->proxy;
    if (!px || !px->chat_url)
        return mn__reply_error(rq, MN_EUNAVAIL,
                               "start mnemo serve with --upstream-url (for example "
                               "https://api.openai.com/v1) and MNEMO_UPSTREAM_KEY",
                               "the proxy has no upstream configured");
    if (!rq->offloaded) /* a deferred request needs a suspended connection */
        return mn__reply_error(rq, MN__H_ESTOPPING, "retry after the restart",
                               "the server is shutting down");
    return 0;
}

int mn__h_models(mn__hreq *rq)
{
    pjob *j;
    int rc = check_ready(rq);
    if (rc)
        return rc;
    j = mn__calloc(1, sizeof *j);
    if (!j)
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory");
    j->models = true;
    return start(rq, j);
}

int mn__h_chat_completions(mn__hreq *rq)
{
    const cJSON *messages, *m, *user_field, *model;
    const char *user = in_header(rq, "X-Mnemo-User"), *session = in_header(rq, "X-Mnemo-Session");
    pjob *j;
    size_t i = 0;
    int rc = check_ready(rq);

    if (rc)
        return rc;
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a chat completion request object",
                               "request body must be a JSON object");
    messages = cJSON_GetObjectItemCaseSensitive(rq->json, "messages");
    if (!cJSON_IsArray(messages) || !messages->child)
        return mn__reply_error(rq, MN__H_EFIELD, "send the conversation as 'messages'",
                               "field 'messages' must be a non-empty array");
    for (m = messages->child; m; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return mn__reply_error(rq, MN__H_EFIELD, "each message is {\"role\", \"content\"}",
                                   "messages[%zu] must be an object with a string 'role'", i);
    }
    user_field = cJSON_GetObjectItemCaseSensitive(rq->json, "user");
    if (!user && cJSON_IsString(user_field))
        user = user_field->valuestring;
    if (user && (!*user || strlen(user) > MN_MAX_ID_BYTES))
        return mn__reply_error(rq, MN__H_EFIELD, "a user id is 1 to 128 bytes",
                               "the user id (X-Mnemo-User or 'user') is %zu bytes",
                               strlen(user));
    if (session && (!*session || strlen(session) > MN_MAX_ID_BYTES))
        return mn__reply_error(rq, MN__H_EFIELD, "a session id is 1 to 128 bytes",
                               "X-Mnemo-Session is %zu bytes", strlen(session));
    j = mn__calloc(1, sizeof *j);
    if (!j)
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory");
    model = cJSON_GetObjectItemCaseSensitive(rq->json, "model");
    if (cJSON_IsString(model))
        snprintf(j->model, sizeof j->model, "%s", model->valuestring);
    if (user) {
        rc = mn__proxy_last_user_text(messages, (size_t)rq->srv->cfg.max_text_bytes,
                                      &j->user_text);
        if (rc) {
            job_free(j);
            return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading the messages");
        }
        snprintf(j->user, sizeof j->user, "%s", user);
        memcpy(j->tenant, rq->tenant, sizeof j->tenant);
        if (session)
            snprintf(j->session, sizeof j->session, "%s", session);
        /* Without a user message there is no question to build a context for, and nothing
         * to store: the request passes through. */
        j->memory = j->user_text != NULL;
        j->mem_state = j->memory ? "on" : "off";
    }
    j->json = rq->json; /* the thread edits and sends it; on_completed frees rq->json */
    rq->json = NULL;
    return start(rq, j);
}

/* server.c - the server's lifecycle and request path on libmicrohttpd: open the database,
 * decide development mode, start the daemon (epoll, a thread pool sized to the cores), read
 * bodies within their limit, dispatch through the route table, and on SIGTERM/SIGINT stop
 * accepting, let in-flight requests finish, close the database (flushing the writer). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

/* ---- request ids ----------------------------------------------------------------------------*/

static bool rid_ok(const char *s)
{
    size_t i, n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

static void rid_make(mn__hreq *rq)
{
    const char *given = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-Request-Id");
    uint64_t x;
    if (given && rid_ok(given)) {
        snprintf(rq->rid, sizeof rq->rid, "%s", given);
        return;
    }
    /* A counter mixed with a per-process salt: unique in the process, unguessable enough
     * to correlate logs, no system call per request. */
    x = atomic_fetch_add(&rq->srv->rid_seq, 1) * 0x9E3779B97F4A7C15ull ^ rq->srv->rid_salt;
    x ^= x >> 29;
    snprintf(rq->rid, sizeof rq->rid, "%016llx", (unsigned long long)x);
}

/* ---- the request path -----------------------------------------------------------------------*/

static long long body_limit(const mn__hsrv *srv, int route)
{
    if (route >= 0 && mn__routes[route].body == MN__H_BODY_NDJSON)
        return srv->cfg.max_import_bytes;
    return srv->cfg.max_body_bytes;
}

static const char *limit_name(int route)
{
    return route >= 0 && mn__routes[route].body == MN__H_BODY_NDJSON ? "max-import"
                                                                       : "max-body";
}

static int reply_too_big(mn__hreq *rq)
{
    return mn__reply_error(rq, MN_ETOOBIG, "send a smaller body or raise the limit",
                           "request body is over the limit of %lld bytes (%s)",
                           body_limit(rq->srv, rq->route), limit_name(rq->route));
}

/* Returns true when the handler took the request over (MN__H_DEFERRED): from then on only
 * the handler's thread may touch rq. */
static bool dispatch(mn__hreq *rq)
{
    mn__hsrv *srv = rq->srv;
    const mn__route *r;
    if (atomic_load(&srv->stopping)) {
        mn__reply_error(rq, MN__H_ESTOPPING, "retry on another node or after the restart",
                        "the server is shutting down");
        mn__reply_header(rq, MHD_HTTP_HEADER_CONNECTION, "close");
        return false;
    }
    if (rq->nul_in_url) {
        mn__reply_error(rq, MN__H_EBADREQ, "remove %00 from the path and the query",
                        "the URL holds an encoded NUL byte (%%00), which no path or value "
                        "may contain");
        return false;
    }
    if (rq->route == -1) {
        mn__reply_error(rq, MN__H_ENOROUTE, "see /openapi.json or /docs for the routes",
                        "no route %s %.200s", rq->method, rq->url);
        return false;
    }
    if (rq->route == -2) {
        mn__reply_error(rq, MN__H_EMETHOD, rq->allow, "%s is not allowed on %.200s; use %s",
                        rq->method, rq->url, rq->allow);
        return false;
    }
    r = &mn__routes[rq->route];
    if (rq->body_too_big) {
        reply_too_big(rq);
        return false;
    }
    if (r->auth && mn__auth_check(rq))
        return false;
    if (r->auth && srv->rl) {
        char who[MN_MAX_ID_BYTES + 32];
        int wait_s;
        snprintf(who, sizeof who, "%lld:%s", (long long)rq->key_id, rq->tenant);
        wait_s = mn__rl_take(srv->rl, who, mn__mono_ns());
        if (wait_s) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", wait_s);
            mn__reply_error(rq, MN_ERATE, "slow down; see the Retry-After header",
                            "rate limit of %lld requests per second for this key exceeded",
                            srv->cfg.rate_limit);
            mn__reply_header(rq, MHD_HTTP_HEADER_RETRY_AFTER, ra);
            return false;
        }
    }
    if (mn__query_known(rq))
        return false;
    if (r->body == MN__H_BODY_JSON && mn__json_body(rq))
        return false;
    if (r->handler(rq) == MN__H_DEFERRED)
        return true;
    if (!rq->resp)
        mn__reply_error(rq, MN_EINTERNAL, NULL, "route %s %s gave no reply", r->method, r->path);
    return false;
}

/* Runs a suspended request (on a write worker, or inline when none can take it). rq may be
 * freed by another thread as soon as its connection is resumed: nothing touches it after. */
static void run_offloaded(mn__hreq *rq)
{
    if (!dispatch(rq))
        mn__hreq_finish(rq);
}

void mn__hreq_finish(mn__hreq *rq)
{
    struct MHD_Connection *conn = rq->conn;
    atomic_store(&rq->done, true);
    MHD_resume_connection(conn);
}

static enum MHD_Result queue(mn__hreq *rq)
{
    enum MHD_Result ok;
    if (!rq->resp)
        return MHD_NO;
    ok = MHD_queue_response(rq->conn, (unsigned)rq->status, rq->resp);
    MHD_destroy_response(rq->resp);
    rq->resp = NULL;
    rq->queued = true;
    return ok;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    mn__hsrv *srv = cls;
    mn__hreq *rq = *con_cls;
    (void)version;
    if (!rq) {
        const char *cl;
        rq = mn__calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->srv = srv;
        rq->conn = conn;
        rq->method = method;
        rq->url = url;
        rq->t0_ns = mn__mono_ns();
        rq->status = 500;
        rq->nul_in_url = mn__guard_uri_nul(conn);
        rid_make(rq);
        *con_cls = rq;
        atomic_fetch_add(&srv->n_active, 1);
        /* HEAD is GET without the body, which libmicrohttpd drops by itself. */
        rq->route = mn__route_match(strcmp(method, "HEAD") ? method : "GET", url, rq->scratch,
                                    sizeof rq->scratch, rq->params, rq->allow,
                                    sizeof rq->allow);
        mn__buf_init(&rq->body, (size_t)body_limit(srv, rq->route));
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)body_limit(srv, rq->route)) {
            rq->body_too_big = true;
            /* A body a few times over the limit is read and dropped, so that clients which
             * write it all before reading get the 413. A far larger one is refused before
             * reading: libmicrohttpd then closes the connection after the reply. */
            if (strtoull(cl, NULL, 10) / 8 > (unsigned long long)body_limit(srv, rq->route)) {
                reply_too_big(rq);
                return queue(rq);
            }
        }
        /* Keep-alive: reply on a later call, never this first one (a reply queued before
         * the request is complete makes libmicrohttpd close the connection). */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->queued && !rq->body_too_big &&
            mn__buf_append(&rq->body, upload_data, *upload_data_size)) {
            rq->body_too_big = true;
            mn__buf_release(&rq->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->queued)
        return MHD_YES;
    if (rq->offloaded) /* called again after the worker resumed us */
        return atomic_load(&rq->done) ? queue(rq) : MHD_YES;
    mn__guard_request_read(conn); /* all of it came: no time limit while it runs */
    /* Once stopping, the workers may be going away: the dispatcher answers 503 inline. A
     * request counted in n_active before that keeps them alive (wait_in_flight). */
    if (rq->route >= 0 && mn__routes[rq->route].writes && !rq->body_too_big &&
        !rq->nul_in_url && srv->workers &&
        !atomic_load(&srv->stopping)) {
        /* Suspend before handing over: the worker may resume us at once. */
        rq->offloaded = true;
        MHD_suspend_connection(conn);
        if (mn__workers_submit(srv->workers, rq) != MN_OK)
            run_offloaded(rq);
        return MHD_YES;
    }
    dispatch(rq);
    return queue(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    mn__hsrv *srv = cls;
    mn__hreq *rq = *con_cls;
    int64_t dur;
    mn__guard_request_done(conn);
    if (!rq)
        return;
    *con_cls = NULL;
    dur = mn__mono_ns() - rq->t0_ns;
    if (!rq->queued)
        rq->status = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 499;
    mn__metrics_observe(srv->metrics, rq->route, rq->status, dur);
    mn__hlog_access(srv, rq, dur);
    if (rq->resp)
        MHD_destroy_response(rq->resp);
    cJSON_Delete(rq->json);
    mn__buf_release(&rq->body);
    mn__free(rq);
    atomic_fetch_sub(&srv->n_active, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    mn__hlog(cls, MN_LOG_WARN, "http: %s", msg);
}

/* ---- start and stop -------------------------------------------------------------------------*/

static bool is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static int open_db(mn__hsrv *srv, mn_err *err)
{
    mn_db_opts o;
    mn_db_opts_init(&o);
    o.path = srv->cfg.store[0] ? srv->cfg.store : srv->cfg.db;
    o.redis_url = srv->cfg.redis[0] ? srv->cfg.redis : NULL;
    o.model_path = srv->cfg.model[0] ? srv->cfg.model : NULL;
    o.embedder = srv->cfg.embedder;
    o.embed_url = srv->cfg.embed_url[0] ? srv->cfg.embed_url : NULL;
    o.embed_api_key = srv->cfg.embed_key[0] ? srv->cfg.embed_key : NULL;
    o.embed_model = srv->cfg.embed_model[0] ? srv->cfg.embed_model : NULL;
    o.embed_dim = (int)srv->cfg.embed_dim;
    o.embed_send_dim = srv->cfg.embed_send_dim;
    o.embed_api_version = srv->cfg.embed_api_version[0] ? srv->cfg.embed_api_version : NULL;
    o.embed_timeout_ms = (int)srv->cfg.embed_timeout_ms;
    o.embed_max_attempts = (int)srv->cfg.embed_attempts;
    o.embed_batch = (int)srv->cfg.embed_batch;
    o.embed_batch_delay_ms = (int)srv->cfg.embed_batch_delay_ms;
    o.embed_workers = (int)srv->cfg.embed_workers;
    o.embed_tenants = srv->cfg.embed_tenants[0] ? srv->cfg.embed_tenants : NULL;
    o.llm_url = srv->cfg.llm_url[0] ? srv->cfg.llm_url : NULL;
    o.llm_api_key = srv->cfg.llm_key[0] ? srv->cfg.llm_key : NULL;
    o.llm_model = srv->cfg.llm_model[0] ? srv->cfg.llm_model : NULL;
    o.llm_timeout_ms = (int)srv->cfg.llm_timeout_ms;
    o.compact_threshold = (int)srv->cfg.compact_threshold;
    o.extract = srv->cfg.extract;
    o.sync_normal = srv->cfg.sync_normal;
    o.memory_budget_bytes = (size_t)srv->cfg.memory_budget_bytes;
    o.max_text_bytes = (size_t)srv->cfg.max_text_bytes;
    o.max_metadata_bytes = (size_t)srv->cfg.max_metadata_bytes;
    o.max_batch = (size_t)srv->cfg.max_batch;
    o.commit_delay_us = (int)srv->cfg.commit_delay_us;
    o.log = mn__hlog_lib;
    o.log_ctx = srv;
    o.log_level = srv->log_level;
    return mn_db_open(&o, &srv->db, err);
}

static int decide_dev_mode(mn__hsrv *srv)
{
    int64_t n = 0;
    mn_err err;
    int rc = mn_key_count_active(srv->db, &n, &err);
    if (rc) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot read the API keys: %s", err.msg);
        return 1;
    }
    atomic_store(&srv->dev_mode, n == 0);
    atomic_store(&srv->dev_checked_ms, mn__now_ms());
    if (n > 0) {
        mn__hlog(srv, MN_LOG_INFO, "%lld API key(s) configured: every /v1 request needs "
                                   "'Authorization: Bearer <key>'",
                 (long long)n);
        return 0;
    }
    if (!is_loopback(srv->cfg.host)) {
        mn__hlog(srv, MN_LOG_ERROR,
                 "refusing to listen on %s without an API key: development mode (no auth) "
                 "is for loopback addresses only; create a key with 'mnemo keys create "
                 "--tenant NAME' or listen on 127.0.0.1",
                 srv->cfg.host);
        return 2;
    }
    mn__hlog(srv, MN_LOG_WARN,
             "development mode: no API key exists, so requests need no key and all go to "
             "tenant 'default'; create one with 'mnemo keys create --tenant NAME'");
    return 0;
}

/* Once stopping, new connections are closed as soon as they are accepted. (Not
 * MHD_quiesce_daemon: with a thread pool on epoll, it races the workers removing the listen
 * socket from their epoll sets, and libmicrohttpd aborts when its removal finds it gone.) */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    mn__hsrv *srv = cls;
    (void)addr;
    (void)len;
    return atomic_load(&srv->stopping) ? MHD_NO : MHD_YES;
}

static int start_daemon(mn__hsrv *srv)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    unsigned threads = (unsigned)srv->cfg.threads;
    const union MHD_DaemonInfo *info;
    const char *host = strcmp(srv->cfg.host, "localhost") ? srv->cfg.host : "127.0.0.1";
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)srv->cfg.port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)srv->cfg.port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        mn__hlog(srv, MN_LOG_ERROR, "host '%s' is not an IPv4 or IPv6 address",
                 srv->cfg.host);
        return 2;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->cfg.port, accept_policy, srv, on_access, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)srv->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)srv->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)srv->cfg.max_header_bytes, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, mn__guard_on_connection, srv,
        MHD_OPTION_URI_LOG_CALLBACK, mn__guard_on_uri, srv, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)srv->cfg.max_connections_per_ip, MHD_OPTION_END);
    if (!srv->daemon) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot listen on %s:%lld (address in use or not "
                                    "permitted)",
                 srv->cfg.host, srv->cfg.port);
        return 1;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : (unsigned)srv->cfg.port;
    mn__hlog(srv, MN_LOG_INFO, "%u event threads, %lld write threads, body limit %lld bytes, %s",
             threads, srv->cfg.write_threads, srv->cfg.max_body_bytes,
             srv->info.dim ? "hybrid search" : "keyword search only (no embedding model)");
    return 0;
}

static void banner(const mn__hsrv *srv)
{
    const char *h = srv->cfg.host;
    bool v6 = strchr(h, ':') != NULL;
    char url[128];
    snprintf(url, sizeof url, "http://%s%s%s:%u", v6 ? "[" : "", h, v6 ? "]" : "", srv->port);
    printf("mnemo %s listening on %s\n", mn_version(), url);
    printf("  API explorer: %s/docs   OpenAPI: %s/openapi.json\n", url, url);
    printf("  try:\n    curl -s %s/v1/users/alice/messages -H 'Content-Type: application/json'"
           "%s -d '{\"role\":\"user\",\"text\":\"I am allergic to peanuts\"}'\n",
           url, atomic_load(&srv->dev_mode) ? "" : " -H \"Authorization: Bearer $MNEMO_KEY\"");
    printf("    curl -s '%s/v1/users/alice/memories?query=what+food+should+I+avoid'%s\n", url,
           atomic_load(&srv->dev_mode) ? "" : " -H \"Authorization: Bearer $MNEMO_KEY\"");
    fflush(stdout);
}

static void wait_in_flight(mn__hsrv *srv)
{
    int64_t until = mn__mono_ns() + srv->cfg.shutdown_timeout_s * 1000000000LL;
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (atomic_load(&srv->n_active) > 0 && mn__mono_ns() < until)
        nanosleep(&ts, NULL);
    if (atomic_load(&srv->n_active) > 0)
        mn__hlog(srv, MN_LOG_WARN, "%d request(s) still running after %llds: stopping anyway",
                 atomic_load(&srv->n_active), srv->cfg.shutdown_timeout_s);
}

int mn__http_serve(const mn__http_cfg *cfg)
{
    mn__hsrv *srv;
    mn__buf oa;
    mn_err err;
    sigset_t sigs;
    int rc = 1, sig = 0;

    srv = mn__calloc(1, sizeof *srv);
    if (!srv) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    srv->cfg = *cfg;
    srv->json_log = !strcmp(cfg->log_format, "json");
    mn__hlog_level_parse(cfg->log_level, &srv->log_level);
    if (getrandom(&srv->rid_salt, sizeof srv->rid_salt, 0) != (ssize_t)sizeof srv->rid_salt)
        srv->rid_salt = (uint64_t)mn__mono_ns();

    /* Signals go to sigwait below, never to a worker thread: block them before any thread
     * starts so that every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (open_db(srv, &err)) {
        /* err.msg names the store (a URI's password masked) */
        mn__hlog(srv, MN_LOG_ERROR, "cannot open the database: %s%s%s", err.msg,
                 err.hint[0] ? "; hint: " : "", err.hint);
        goto cleanup;
    }
    if (mn_db_info_get(srv->db, &srv->info, &err)) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot read the database: %s", err.msg);
        goto cleanup;
    }
    if ((rc = decide_dev_mode(srv)) != 0)
        goto cleanup;
    rc = 1;
    mn__buf_init(&oa, 0);
    if (mn__openapi_build(cfg, &oa)) {
        mn__buf_release(&oa);
        mn__hlog(srv, MN_LOG_ERROR, "cannot build the OpenAPI document");
        goto cleanup;
    }
    srv->openapi = mn__buf_take(&oa, &srv->openapi_len);
    if (mn__metrics_new(&srv->metrics) || mn__auth_new(&srv->auth) ||
        (cfg->rate_limit > 0 &&
         mn__rl_new((double)cfg->rate_limit,
                    (double)(cfg->rate_burst ? cfg->rate_burst : cfg->rate_limit), &srv->rl))) {
        mn__hlog(srv, MN_LOG_ERROR, "out of memory starting the server");
        goto cleanup;
    }
    if (mn__workers_start((int)cfg->write_threads, run_offloaded, &srv->workers)) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot start the write threads");
        goto cleanup;
    }
    if (mn__proxy_new(srv, &srv->proxy)) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot start the proxy");
        goto cleanup;
    }
    if (mn__guard_start(srv, &srv->guard)) {
        mn__hlog(srv, MN_LOG_ERROR, "cannot start the slow-client watchdog");
        goto cleanup;
    }
    if ((rc = start_daemon(srv)) != 0)
        goto cleanup;
    banner(srv);

    while (sigwait(&sigs, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
        ;
    mn__hlog(srv, MN_LOG_INFO, "%s: stopping: no new connections, finishing %d request(s)",
             sig == SIGINT ? "SIGINT" : "SIGTERM", atomic_load(&srv->n_active));
    atomic_store(&srv->stopping, true); /* accept_policy turns new connections away */
    wait_in_flight(srv);
    /* Queued writes run and resume their connections before the daemon goes away. */
    mn__workers_stop(srv->workers);
    srv->workers = NULL;
    /* So do the upstream requests of the proxy, stopped if still running. */
    mn__proxy_free(srv->proxy);
    srv->proxy = NULL;
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    rc = 0;
cleanup:
    mn__workers_stop(srv->workers);
    mn__proxy_free(srv->proxy);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    mn__guard_stop(srv->guard); /* after the daemon: its connections are gone */
    mn_db_close(srv->db); /* waits for the writer: every acknowledged write is durable */
    if (rc == 0)
        mn__hlog(srv, MN_LOG_INFO, "stopped cleanly");
    mn__metrics_free(srv->metrics);
    mn__auth_free(srv->auth);
    mn__rl_free(srv->rl);
    mn__free(srv->openapi);
    mn__free(srv);
    return rc;
}

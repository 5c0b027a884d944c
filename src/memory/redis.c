/* redis.c - the engine's optional Redis (hiredis), shared by the nodes of one deployment for
 * the query-embedding cache (qcache.c) and the job stream (jobs.c): a small pool of blocking
 * connections with short timeouts, and while Redis is down, calls that fail at once until
 * the next attempt (100 ms, doubling up to 2 s). Redis being down is never an error for a
 * request: callers fall back to local state, and the node says so in its log and /readyz. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_int.h"

#define MAX_IDLE 8
#define CMD_TIMEOUT_MS 500
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000

struct mn__redis {
    char host[256];
    int port;
    int db;
    char password[128];
    char name[300]; /* host:port for messages */
    const mn__logger *log;
    pthread_mutex_t mu;
    redisContext *idle[MAX_IDLE];
    int n_idle;
    bool down;
    int64_t retry_at_ms;
    int backoff_ms;
    _Atomic bool up; /* last known state, for /readyz */
};

/* redis://[:password@]host[:port][/db] */
static int parse_url(mn__redis *r, const char *url, mn_err *err)
{
    const char *p, *at, *end, *colon;
    size_t n;
    if (strncmp(url, "redis://", 8))
        goto bad;
    p = url + 8;
    end = p + strcspn(p, "/");
    at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (size_t)(at - colon - 1) >= sizeof r->password)
            goto bad;
        memcpy(r->password, colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    colon = memchr(p, ':', (size_t)(end - p));
    n = (size_t)((colon ? colon : end) - p);
    if (n == 0 || n >= sizeof r->host)
        goto bad;
    memcpy(r->host, p, n);
    r->port = 6379;
    if (colon) {
        char *e;
        long v = strtol(colon + 1, &e, 10);
        if (e != end || v < 1 || v > 65535)
            goto bad;
        r->port = (int)v;
    }
    if (*end == '/' && end[1]) {
        char *e;
        long v = strtol(end + 1, &e, 10);
        if (*e || v < 0 || v > 1000)
            goto bad;
        r->db = (int)v;
    }
    snprintf(r->name, sizeof r->name, "%s:%d", r->host, r->port);
    return MN_OK;
bad:
    return mn__err_set(err, MN_EINVAL, "use redis://host:port, redis://:password@host:port/db",
                       "Redis URL '%.128s' is malformed", url);
}

int mn__redis_open(const char *url, const mn__logger *log, mn__redis **out, mn_err *err)
{
    mn__redis *r = mn__calloc(1, sizeof *r);
    int rc;
    *out = NULL;
    if (!r)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
    rc = parse_url(r, url, err);
    if (rc) {
        mn__free(r);
        return rc;
    }
    r->log = log;
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return MN_OK;
}

void mn__redis_close(mn__redis *r)
{
    int i;
    if (!r)
        return;
    for (i = 0; i < r->n_idle; i++)
        redisFree(r->idle[i]);
    pthread_mutex_destroy(&r->mu);
    mn__free(r);
}

const char *mn__redis_name(const mn__redis *r)
{
    return r->name;
}

void mn__redis_reply_free(struct redisReply *rep)
{
    if (rep)
        freeReplyObject(rep);
}

bool mn__redis_up(mn__redis *r)
{
    return r && atomic_load(&r->up);
}

/* Runs a command whose reply only needs to be "not an error" (AUTH, SELECT). */
static bool simple_ok(redisContext *c, const char *fmt, const char *a)
{
    redisReply *rep = a ? redisCommand(c, fmt, a) : redisCommand(c, fmt);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    return ok;
}

int mn__redis_connect(mn__redis *r, int timeout_ms, redisContext **out, mn_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct timeval ctv = {0, 300 * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, ctv);
    char dbs[16];
    *out = NULL;
    if (!c)
        return mn__err_set(err, MN_ENOMEM, NULL, "redis %s: out of memory", r->name);
    if (c->err) {
        mn__err_set(err, MN_EUNAVAIL, "check that Redis runs at the --redis address",
                    "redis %s: cannot connect: %s", r->name, c->errstr);
        redisFree(c);
        return MN_EUNAVAIL;
    }
    redisSetTimeout(c, tv);
    snprintf(dbs, sizeof dbs, "%d", r->db);
    if ((r->password[0] && !simple_ok(c, "AUTH %s", r->password)) ||
        (r->db && !simple_ok(c, "SELECT %s", dbs))) {
        redisFree(c);
        return mn__err_set(err, MN_EUNAVAIL, "check the password and database in the URL",
                           "redis %s: AUTH or SELECT refused", r->name);
    }
    *out = c;
    return MN_OK;
}

static void mark(mn__redis *r, bool up, const char *why)
{
    bool was = atomic_exchange(&r->up, up);
    if (was == up)
        return;
    if (up)
        mn__log(r->log, MN_LOG_INFO,
                "redis %s is reachable: shared query-embedding cache and job stream on", r->name);
    else
        mn__log(r->log, MN_LOG_WARN,
                "redis %s is unreachable (%s): local query-embedding cache and local jobs "
                "until it is back",
                r->name, why);
}

/* A pooled connection, or MN_EUNAVAIL at once while Redis is known to be down. */
static int get_conn(mn__redis *r, redisContext **out, mn_err *err)
{
    redisContext *c = NULL;
    int rc;
    pthread_mutex_lock(&r->mu);
    if (r->n_idle)
        c = r->idle[--r->n_idle];
    else if (r->down && mn__now_ms() < r->retry_at_ms) {
        pthread_mutex_unlock(&r->mu);
        return mn__err_set(err, MN_EUNAVAIL, NULL, "redis %s is down", r->name);
    }
    pthread_mutex_unlock(&r->mu);
    if (c) {
        *out = c;
        return MN_OK;
    }
    rc = mn__redis_connect(r, CMD_TIMEOUT_MS, &c, err);
    pthread_mutex_lock(&r->mu);
    if (rc) {
        r->down = true;
        r->backoff_ms = r->backoff_ms ? MN_MIN(r->backoff_ms * 2, BACKOFF_MAX_MS)
                                      : BACKOFF_FIRST_MS;
        r->retry_at_ms = mn__now_ms() + r->backoff_ms;
    } else {
        r->down = false;
        r->backoff_ms = 0;
    }
    pthread_mutex_unlock(&r->mu);
    mark(r, rc == MN_OK, err ? err->msg : "cannot connect");
    *out = c;
    return rc;
}

static void put_conn(mn__redis *r, redisContext *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&r->mu);
    if (!c->err && r->n_idle < MAX_IDLE) {
        r->idle[r->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (c)
        redisFree(c);
}

void mn__redis_failed(mn__redis *r, const char *why)
{
    int i, n;
    redisContext *drop[MAX_IDLE];
    pthread_mutex_lock(&r->mu);
    /* its siblings talk to the same dead server */
    n = r->n_idle;
    for (i = 0; i < n; i++)
        drop[i] = r->idle[i];
    r->n_idle = 0;
    r->down = true;
    r->backoff_ms = r->backoff_ms ? MN_MIN(r->backoff_ms * 2, BACKOFF_MAX_MS) : BACKOFF_FIRST_MS;
    r->retry_at_ms = mn__now_ms() + r->backoff_ms;
    pthread_mutex_unlock(&r->mu);
    for (i = 0; i < n; i++)
        redisFree(drop[i]);
    mark(r, false, why);
}

void mn__redis_ok(mn__redis *r)
{
    mark(r, true, NULL);
}

int mn__redis_cmd(mn__redis *r, redisReply **out, mn_err *err, int argc, const char **argv,
                  const size_t *lens)
{
    redisContext *c = NULL;
    redisReply *rep;
    int rc = get_conn(r, &c, err);
    *out = NULL;
    if (rc)
        return rc;
    rep = redisCommandArgv(c, argc, argv, lens);
    if (!rep) {
        char why[160];
        snprintf(why, sizeof why, "%s", c->errstr);
        redisFree(c);
        mn__redis_failed(r, why);
        return mn__err_set(err, MN_EUNAVAIL, NULL, "redis %s: %s", r->name, why);
    }
    put_conn(r, c);
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = mn__err_set(err, MN_EIO, NULL, "redis %s: %s: %.*s", r->name, argv[0],
                         (int)MN_MIN(rep->len, 160), rep->str ? rep->str : "");
        freeReplyObject(rep);
        return rc;
    }
    *out = rep;
    return MN_OK;
}

/* auth.c - who is asking: the Bearer key of a request is checked with mn_key_verify and
 * mapped to its tenant. Valid keys are remembered for a short time (by their SHA-256, never
 * in clear) so that the hot path does not read the store; revocation takes effect within
 * that time. Without any key the server is in development mode (tenant "default"). */
#include <string.h>
#include <strings.h>

#include "http_int.h"

#define CACHE_TTL_MS 2000
#define CACHE_MAX 4096

typedef struct centry {
    char tenant[MN_MAX_ID_BYTES + 1];
    mn_id id;
    int64_t until_ms;
} centry;

struct mn__authcache {
    pthread_mutex_t mu;
    mn__hmap map; /* 32-byte digest -> centry */
};

int mn__auth_new(mn__authcache **out)
{
    mn__authcache *a = mn__calloc(1, sizeof *a);
    if (!a)
        return MN_ENOMEM;
    pthread_mutex_init(&a->mu, NULL);
    mn__hmap_init(&a->map);
    *out = a;
    return MN_OK;
}

static void clear(mn__authcache *a)
{
    size_t i;
    for (i = 0; i < a->map.cap; i++)
        if (mn__hmap_live(&a->map, i))
            mn__free(a->map.slots[i].val);
    mn__hmap_release(&a->map);
    mn__hmap_init(&a->map);
}

void mn__auth_free(mn__authcache *a)
{
    if (!a)
        return;
    clear(a);
    pthread_mutex_destroy(&a->mu);
    mn__free(a);
}

/* Development mode lasts while no key exists; a key created while the server runs ends it
 * within a second, without a restart. */
static bool still_dev(mn__hsrv *srv)
{
    int64_t now = mn__now_ms(), last = atomic_load(&srv->dev_checked_ms);
    int64_t n = 0;
    if (!atomic_load(&srv->dev_mode))
        return false;
    if (now - last < 1000 || !atomic_compare_exchange_strong(&srv->dev_checked_ms, &last, now))
        return true;
    if (mn_key_count_active(srv->db, &n, NULL) == MN_OK && n > 0) {
        atomic_store(&srv->dev_mode, false);
        mn__hlog(srv, MN_LOG_WARN, "an API key now exists: development mode is over, every "
                                   "/v1 request needs a key");
        return false;
    }
    return true;
}

int mn__auth_check(mn__hreq *rq)
{
    mn__hsrv *srv = rq->srv;
    mn__authcache *a = srv->auth;
    const char *h, *key;
    uint8_t digest[32];
    centry *e;
    mn_err err;
    int rc;

    if (still_dev(srv)) {
        memcpy(rq->tenant, "default", sizeof "default");
        return 0;
    }
    h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return mn__reply_error(rq, MN_EAUTH,
                               "send 'Authorization: Bearer <key>'; create a key with 'mnemo "
                               "keys create --tenant NAME'",
                               "this route needs an API key and the request has none");
    /* "Token" is how mem0's clients send the same key (docs/MEM0.md). */
    if (!strncasecmp(h, "Bearer ", 7))
        key = h + 7;
    else if (!strncasecmp(h, "Token ", 6))
        key = h + 6;
    else
        return mn__reply_error(rq, MN_EAUTH,
                               "send 'Authorization: Bearer <key>' (mem0 clients: Token <key>)",
                               "the Authorization header must use the Bearer scheme");
    while (*key == ' ')
        key++;
    mn__sha256(key, strlen(key), digest);
    pthread_mutex_lock(&a->mu);
    e = mn__hmap_get(&a->map, (const char *)digest, sizeof digest);
    if (e && e->until_ms > mn__now_ms()) {
        memcpy(rq->tenant, e->tenant, sizeof rq->tenant);
        rq->key_id = e->id;
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    pthread_mutex_unlock(&a->mu);

    rc = mn_key_verify(srv->db, key, rq->tenant, &rq->key_id, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    pthread_mutex_lock(&a->mu);
    if (a->map.n >= CACHE_MAX)
        clear(a);
    e = mn__hmap_get(&a->map, (const char *)digest, sizeof digest);
    if (!e && (e = mn__calloc(1, sizeof *e)) != NULL &&
        mn__hmap_put(&a->map, (const char *)digest, sizeof digest, e)) {
        mn__free(e);
        e = NULL;
    }
    if (e) {
        memcpy(e->tenant, rq->tenant, sizeof e->tenant);
        e->id = rq->key_id;
        e->until_ms = mn__now_ms() + CACHE_TTL_MS;
    }
    pthread_mutex_unlock(&a->mu);
    return 0;
}

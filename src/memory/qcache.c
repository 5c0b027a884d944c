/* qcache.c - the query-embedding cache: the same question is asked again and again (retries,
 * several turns, several nodes), and a remote embedder takes tens of milliseconds. An LRU in
 * the process always; with Redis, a cache shared by the nodes ("mnemo:qe:<model>:<sha256 of
 * the text>" -> float32 little-endian, one day TTL), consulted when the embedder is remote
 * (a Redis round trip costs more than the built-in model) or MNEMO_QCACHE_SHARED=1. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_int.h"

#define MAX_ENTRIES 4096
#define MAX_KEY_BYTES 2048 /* longer queries are not cached */
#define SHARED_TTL "86400"

typedef struct qentry {
    struct qentry *prev, *next;
    const char *key; /* after vec: the map's own copy cannot be reached from the entry */
    size_t key_len;
    float vec[];     /* dim floats, then the key */
} qentry;

struct mn__qcache {
    pthread_mutex_t mu;
    mn__hmap map; /* text -> qentry */
    qentry *head, *tail;
    size_t n;
    int dim;
    bool shared; /* use Redis as well */
    _Atomic int64_t hits_local, hits_shared, misses;
};

static bool host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static bool is_local_embedder(const char *name)
{
    return !strcmp(name, "builtin") || !strcmp(name, "mock");
}

int mn__qcache_new(mn_db *db, mn__qcache **out)
{
    mn__qcache *c;
    const char *env = getenv("MNEMO_QCACHE_SHARED");
    *out = NULL;
    if (!db->emb)
        return MN_OK;
    c = mn__calloc(1, sizeof *c);
    if (!c)
        return MN_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    mn__hmap_init(&c->map);
    c->dim = db->emb->dim;
    c->shared = db->redis && host_is_le() &&
                (!is_local_embedder(db->emb->name) || (env && !strcmp(env, "1")));
    *out = c;
    return MN_OK;
}

void mn__qcache_free(mn__qcache *c)
{
    qentry *e, *next;
    if (!c)
        return;
    for (e = c->head; e; e = next) {
        next = e->next;
        mn__free(e);
    }
    mn__hmap_release(&c->map);
    pthread_mutex_destroy(&c->mu);
    mn__free(c);
}

static void unlink_e(mn__qcache *c, qentry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(mn__qcache *c, qentry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static bool local_get(mn__qcache *c, const char *text, size_t len, float *out)
{
    qentry *e;
    pthread_mutex_lock(&c->mu);
    e = mn__hmap_get(&c->map, text, len);
    if (e) {
        unlink_e(c, e);
        push_front(c, e);
        memcpy(out, e->vec, (size_t)c->dim * sizeof *out);
    }
    pthread_mutex_unlock(&c->mu);
    return e != NULL;
}

static void local_put(mn__qcache *c, const char *text, size_t len, const float *vec)
{
    qentry *e = mn__malloc(sizeof *e + (size_t)c->dim * sizeof(float) + len);
    if (!e)
        return; /* a cache may forget */
    memcpy(e->vec, vec, (size_t)c->dim * sizeof(float));
    memcpy((char *)(e->vec + c->dim), text, len);
    e->key = (const char *)(e->vec + c->dim);
    e->key_len = len;
    pthread_mutex_lock(&c->mu);
    if (mn__hmap_get(&c->map, text, len) || mn__hmap_put(&c->map, text, len, e)) {
        pthread_mutex_unlock(&c->mu);
        mn__free(e);
        return;
    }
    push_front(c, e);
    c->n++;
    while (c->n > MAX_ENTRIES && c->tail) {
        qentry *old = c->tail;
        unlink_e(c, old);
        mn__hmap_del(&c->map, old->key, old->key_len);
        mn__free(old);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
}

/* "mnemo:qe:<model>:<hex sha256 of the text>" */
static void shared_key(const mn_db *db, const char *text, size_t len, char *out, size_t cap)
{
    uint8_t h[32];
    char hex[65];
    int i;
    mn__sha256(text, len, h);
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    snprintf(out, cap, "mnemo:qe:%s:%s", db->vec_model, hex);
}

static bool shared_get(mn_db *db, const char *key, float *out)
{
    const char *argv[2] = {"GET", key};
    redisReply *rep = NULL;
    bool hit = false;
    if (mn__redis_cmd(db->redis, &rep, NULL, 2, argv, NULL) != MN_OK)
        return false;
    if (rep->type == REDIS_REPLY_STRING && rep->len == (size_t)db->qcache->dim * sizeof(float)) {
        memcpy(out, rep->str, rep->len);
        hit = true;
    }
    freeReplyObject(rep);
    return hit;
}

static void shared_put(mn_db *db, const char *key, const float *vec)
{
    const char *argv[5] = {"SET", key, (const char *)vec, "EX", SHARED_TTL};
    size_t lens[5] = {3, strlen(key), (size_t)db->qcache->dim * sizeof(float), 2,
                      sizeof SHARED_TTL - 1};
    redisReply *rep = NULL;
    if (mn__redis_cmd(db->redis, &rep, NULL, 5, argv, lens) == MN_OK)
        freeReplyObject(rep);
}

int mn__embed_query(mn_db *db, const char *text, size_t len, float *out, mn_err *err)
{
    mn__qcache *c = db->qcache;
    char key[256];
    int rc;
    if (!c || len > MAX_KEY_BYTES)
        return mn__embed_text(db, text, len, out, err);
    if (local_get(c, text, len, out)) {
        atomic_fetch_add(&c->hits_local, 1);
        return MN_OK;
    }
    if (c->shared) {
        shared_key(db, text, len, key, sizeof key);
        if (shared_get(db, key, out)) {
            atomic_fetch_add(&c->hits_shared, 1);
            local_put(c, text, len, out);
            return MN_OK;
        }
    }
    atomic_fetch_add(&c->misses, 1);
    rc = mn__embed_text(db, text, len, out, err);
    if (rc)
        return rc;
    local_put(c, text, len, out);
    if (c->shared)
        shared_put(db, key, out);
    return MN_OK;
}

void mn__qcache_stats(const mn__qcache *c, int64_t *out_local, int64_t *out_shared,
                      int64_t *out_misses, bool *out_shared_on)
{
    *out_local = c ? atomic_load(&c->hits_local) : 0;
    *out_shared = c ? atomic_load(&c->hits_shared) : 0;
    *out_misses = c ? atomic_load(&c->misses) : 0;
    *out_shared_on = c && c->shared;
}

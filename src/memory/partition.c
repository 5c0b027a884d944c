/* partition.c - per-user partitions: the in-RAM search state (vectors, BM25 postings, row
 * metadata) built lazily from the store, cached under a memory budget with LRU eviction.
 * A partition is placed in the map before it is loaded, so a write committed during the
 * load is either in the load's scan or inserted afterwards by its writer (duplicates are
 * detected by id). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "memory_int.h"

/* Several nodes: while the store's watch is down, a cached partition's version is compared
 * with the store's at most this often (a write on another node shows within this time). */
#define VERSION_POLL_MS 500

static int make_key(const mn__pkey *k, mn__buf *b)
{
    mn__buf_init(b, 512);
    return mn__buf_printf(b, "%s\x1f%d\x1f%s", k->tenant, (int)k->scope,
                          k->user_id ? k->user_id : "");
}

size_t mn__part_bytes(const mn__part *p)
{
    size_t per_row = sizeof(mn_id) + sizeof(int64_t) + 3 + sizeof(uint64_t) +
                     sizeof(mn__hmap_slot) * 2;
    return sizeof *p + p->cap * per_row + mn__vecset_bytes(&p->vecs) +
           (p->bm ? mn__bm25_bytes(p->bm) : 0) + p->cover.cap * sizeof(mn__hmap_slot) +
           (p->hnsw ? mn__hnsw_bytes(p->hnsw) : 0);
}

static void lru_unlink(mn_db *db, mn__part *p)
{
    if (p->lru_prev)
        p->lru_prev->lru_next = p->lru_next;
    else if (db->lru_head == p)
        db->lru_head = p->lru_next;
    if (p->lru_next)
        p->lru_next->lru_prev = p->lru_prev;
    else if (db->lru_tail == p)
        db->lru_tail = p->lru_prev;
    p->lru_prev = p->lru_next = NULL;
}

static void lru_push_front(mn_db *db, mn__part *p)
{
    p->lru_prev = NULL;
    p->lru_next = db->lru_head;
    if (db->lru_head)
        db->lru_head->lru_prev = p;
    db->lru_head = p;
    if (!db->lru_tail)
        db->lru_tail = p;
}

static void part_free(mn__part *p)
{
    if (!p)
        return;
    pthread_rwlock_destroy(&p->lock);
    mn__free(p->key);
    mn__free(p->tenant);
    mn__free(p->user_id);
    mn__free(p->ids);
    mn__free(p->created);
    mn__free(p->kind);
    mn__free(p->role);
    mn__free(p->status);
    mn__free(p->alive);
    mn__free(p->session);
    mn__free(p->speaker);
    mn__hmap_release(&p->by_id);
    mn__hmap_release(&p->cover);
    mn__vecset_release(&p->vecs);
    mn__hnsw_free(p->hnsw);
    mn__bm25_free(p->bm);
    mn__free(p);
}

static int part_new(mn_db *db, const mn__pkey *k, const char *key, size_t key_len,
                    mn__part **out)
{
    mn__part *p = mn__calloc(1, sizeof *p);
    int rc = MN_ENOMEM;
    if (!p)
        return MN_ENOMEM;
    pthread_rwlock_init(&p->lock, NULL);
    mn__hmap_init(&p->by_id);
    mn__hmap_init(&p->cover);
    {
        mn__eprof pf = mn__eprof_of(db, k->tenant); /* tenants may have their own model */
        mn__vecset_init(&p->vecs, pf.emb ? pf.emb->dim : 0);
    }
    p->key = mn__strndup(key, key_len);
    p->tenant = mn__strdup(k->tenant);
    p->user_id = k->user_id ? mn__strdup(k->user_id) : NULL;
    p->scope = k->scope;
    if (!p->key || !p->tenant || (k->user_id && !p->user_id))
        goto fail;
    rc = mn__bm25_new(db->rank.bm25_k1, db->rank.bm25_b, db->rank.idf_pow, &p->bm);
    if (rc)
        goto fail;
    *out = p;
    return MN_OK;
fail:
    part_free(p);
    return rc;
}

static int grow_rows(mn__part *p)
{
    size_t ncap = p->cap ? p->cap * 2 : 64;
#define GROW(field)                                                                          \
    do {                                                                                     \
        void *nf = mn__realloc(p->field, ncap * sizeof *p->field);                           \
        if (!nf)                                                                             \
            return MN_ENOMEM;                                                                \
        p->field = nf;                                                                       \
    } while (0)
    GROW(ids);
    GROW(created);
    GROW(kind);
    GROW(role);
    GROW(status);
    GROW(alive);
    GROW(session);
    GROW(speaker);
#undef GROW
    p->cap = ncap;
    return MN_OK;
}

long mn__part_find(const mn__part *p, mn_id id)
{
    void *v = mn__hmap_get(&p->by_id, (const char *)&id, sizeof id);
    return v ? (long)((uintptr_t)v - 1) : -1;
}

void mn__part_reindex(mn_db *db, const mn__pkey *k, mn_id id)
{
    mn__part *p = mn__part_peek(db, k);
    mn__arena a;
    mn__row row;
    if (!p)
        return;
    mn__arena_init(&a, 4096);
    pthread_rwlock_wrlock(&p->lock);
    if (!p->load_rc) {
        int rc = db->sops->get(db->store, k, id, &a, &row, NULL);
        if (rc == MN_ENOTFOUND)
            mn__part_remove_id(p, id);
        else if (rc || mn__part_put_row(db, p, &row))
            p->stale = true;
    }
    pthread_rwlock_unlock(&p->lock);
    mn__part_release(db, p);
    mn__arena_release(&a);
}

void mn__part_remove_id(mn__part *p, mn_id id)
{
    long i = mn__part_find(p, id);
    if (i < 0)
        return;
    p->alive[i] = 0;
    p->n_alive--;
    mn__bm25_remove(p->bm, (uint32_t)i);
    mn__hmap_del(&p->by_id, (const char *)&id, sizeof id);
}

/* Appends the date's words ("may 2023") so that keyword queries naming a month or year
 * match the messages of that time. */
static int add_date_words(mn__buf *b, int64_t ms)
{
    char d[32];
    mn__fmt_date_human(ms, d);
    return mn__buf_printf(b, " %s", strchr(d, ' ') ? strchr(d, ' ') + 1 : d);
}

int mn__part_put_row(mn_db *db, mn__part *p, const mn__row *r)
{
    mn__buf text;
    mn__terms terms;
    mn__tok *tok = NULL;
    float *vec = NULL;
    const float *use_vec = NULL;
    mn__eprof pf;
    size_t text_len;
    long old;
    size_t i;
    int rc;

    mn__buf_init(&text, 0);
    mn__terms_init(&terms);
    if (p->n == p->cap && (rc = grow_rows(p)) != MN_OK)
        goto cleanup;
    rc = mn__index_text(db, r, &text);
    if (rc)
        goto cleanup;
    text_len = text.len; /* the embedded part; date words are for keywords only */
    if (db->rank.index_date && (rc = add_date_words(&text, r->created_at_ms)) != MN_OK)
        goto cleanup;
    tok = mn__tok_acquire(db);
    if (!tok) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    rc = mn__terms_of(tok, text.data, text.len, true, &terms);
    if (rc)
        goto cleanup;
    pf = mn__eprof_of(db, p->tenant);
    if (pf.emb) {
        if (r->embedding && r->embed_model && r->dim == pf.emb->dim &&
            !strcmp(r->embed_model, pf.vec_model)) {
            use_vec = r->embedding;
        } else if (!pf.emb->remote) {
            /* local embedders are cheap: vectors of another recipe are redone at load;
             * remote ones leave a zero row until the background embedder stores one */
            vec = mn__malloc(sizeof(float) * (size_t)pf.emb->dim);
            if (!vec) {
                rc = MN_ENOMEM;
                goto cleanup;
            }
            rc = pf.emb->embed(pf.emb, text.data, text_len, vec, NULL);
            if (rc)
                goto cleanup;
            use_vec = vec;
        }
    }
    i = p->n;
    rc = mn__bm25_add(p->bm, (uint32_t)i, terms.v, terms.n);
    if (rc)
        goto cleanup;
    /* from here a failure leaves the indexes out of step: the partition is marked stale
     * and rebuilt from the store on next use */
    if (p->vecs.dim && (rc = mn__vecset_add(&p->vecs, use_vec)) != MN_OK) {
        p->stale = true;
        goto cleanup;
    }
    old = mn__part_find(p, r->id);
    rc = mn__hmap_put(&p->by_id, (const char *)&r->id, sizeof r->id, (void *)(uintptr_t)(i + 1));
    if (rc) {
        p->stale = true;
        goto cleanup;
    }
    if (old >= 0) { /* replaced: an update, or a row seen by both a load and its writer */
        p->alive[old] = 0;
        p->n_alive--;
        mn__bm25_remove(p->bm, (uint32_t)old);
    }
    if (r->kind == MN_KIND_SUMMARY && r->status == MN_STATUS_ACTIVE) {
        /* a search that matches an archived message finds its summary (search.c) */
        size_t s;
        for (s = 0; s < r->n_sources; s++)
            if (mn__hmap_put(&p->cover, (const char *)&r->sources[s], sizeof r->sources[s],
                             (void *)(intptr_t)r->id)) {
                p->stale = true;
                rc = MN_ENOMEM;
                goto cleanup;
            }
    }
    p->ids[i] = r->id;
    p->created[i] = r->created_at_ms;
    p->kind[i] = (uint8_t)r->kind;
    p->role[i] = (uint8_t)r->role;
    p->status[i] = (uint8_t)r->status;
    p->alive[i] = 1;
    p->session[i] = r->session_id ? mn__hash64(r->session_id, strlen(r->session_id), 1) : 0;
    p->speaker[i] = mn__speaker_key(tok, r);
    p->n++;
    p->n_alive++;
    atomic_store(&p->cur_bytes, mn__part_bytes(p));
cleanup:
    mn__free(vec);
    mn__tok_release(db, tok);
    mn__terms_release(&terms);
    mn__buf_release(&text);
    return rc;
}

typedef struct load_ctx {
    mn_db *db;
    mn__part *p;
    int rc;
    size_t n_pending; /* rows without a vector of the current model */
} load_ctx;

static int load_row(void *ctx, const mn__row *r)
{
    load_ctx *lc = ctx;
    mn_db *db = lc->db;
    mn__eprof pf = mn__eprof_of(db, r->tenant);
    if (pf.emb && (!r->embedding || !r->embed_model || strcmp(r->embed_model, pf.vec_model)))
        lc->n_pending++;
    lc->rc = mn__part_put_row(lc->db, lc->p, r);
    return lc->rc;
}

/* Rows loaded without a stored vector of the current model: have a background job store
 * them (jobs.c, job_backfill.c), on whichever node takes it. */
static void submit_backfill(mn_db *db, const mn__pkey *k)
{
    mn__job j;
    memset(&j, 0, sizeof j);
    memcpy(j.kind, "embed_backfill", sizeof "embed_backfill");
    memcpy(j.tenant, k->tenant, MN_MIN(strlen(k->tenant), sizeof j.tenant - 1));
    j.scope = k->scope;
    if (k->user_id)
        memcpy(j.user_id, k->user_id, MN_MIN(strlen(k->user_id), sizeof j.user_id - 1));
    mn__jobs_submit(db, &j, NULL);
}

/* Evicts least recently used idle partitions until the budget holds. Caller holds db->mu. */
static void evict_locked(mn_db *db)
{
    mn__part *p = db->lru_tail;
    while (p && db->parts_bytes > db->opts.memory_budget_bytes) {
        mn__part *prev = p->lru_prev;
        if (p->refs == 0 && p->loaded) {
            lru_unlink(db, p);
            mn__hmap_del(&db->parts, p->key, strlen(p->key));
            db->parts_bytes -= p->bytes;
            db->n_parts--;
            part_free(p);
        }
        p = prev;
    }
}

static void unmap_locked(mn_db *db, mn__part *p)
{
    lru_unlink(db, p);
    mn__hmap_del(&db->parts, p->key, strlen(p->key));
    db->parts_bytes -= p->bytes;
    db->n_parts--;
    p->dropped = true;
}

/* Polling, for when the store's watch is down: at most every VERSION_POLL_MS, compares the
 * cached copy's version with the store's; marks it outdated when they differ. A failed read
 * keeps the cached copy. */
static bool version_changed(mn_db *db, mn__part *p, const mn__pkey *k)
{
    int64_t now, v = 0;
    if (!db->watched || db->sops->watch_live(db->store))
        return false;
    now = mn__now_ms();
    if (now - atomic_load(&p->checked_ms) < VERSION_POLL_MS)
        return false;
    atomic_store(&p->checked_ms, now);
    if (db->sops->version(db->store, k, &v, NULL) != MN_OK || v == atomic_load(&p->version))
        return false;
    pthread_mutex_lock(&db->mu);
    p->outdated = true;
    pthread_mutex_unlock(&db->mu);
    return true;
}

void mn__parts_on_change(void *ctx, const mn__pkey *k)
{
    mn_db *db = ctx;
    mn__part *p;
    mn__buf key;
    pthread_mutex_lock(&db->mu);
    if (!k) {
        for (p = db->lru_head; p; p = p->lru_next)
            p->outdated = true;
    } else if (make_key(k, &key) == MN_OK) {
        p = mn__hmap_get(&db->parts, key.data, key.len);
        if (p)
            p->outdated = true;
    }
    pthread_mutex_unlock(&db->mu);
    if (k)
        mn__buf_release(&key);
}

int mn__part_acquire(mn_db *db, const mn__pkey *k, mn__part **out, mn_err *err)
{
    mn__buf key;
    mn__part *p;
    load_ctx lc;
    int rc;

    *out = NULL;
    rc = make_key(k, &key);
    if (rc) {
        mn__buf_release(&key);
        return mn__err_set(err, rc, NULL, "partition key too long");
    }
    for (;;) {
        pthread_mutex_lock(&db->mu);
        p = mn__hmap_get(&db->parts, key.data, key.len);
        if (p && p->loaded && (p->load_rc || p->stale) && p->refs == 0) {
            unmap_locked(db, p); /* failed or broken: forget it and load again */
            part_free(p);
            p = NULL;
        }
        if (p && p->loaded && p->outdated) {
            /* another node wrote it: load a fresh copy; holders of this one keep it until
             * their release frees it */
            unmap_locked(db, p);
            if (p->refs == 0)
                part_free(p);
            p = NULL;
        }
        if (p) {
            p->refs++;
            lru_unlink(db, p);
            lru_push_front(db, p);
            pthread_mutex_unlock(&db->mu);
            /* wait for a load in progress: the loader holds the write lock */
            pthread_rwlock_rdlock(&p->lock);
            rc = p->load_rc;
            pthread_rwlock_unlock(&p->lock);
            if (rc) {
                mn__part_release(db, p);
                mn__buf_release(&key);
                return mn__err_set(err, rc, "retry; see the server log",
                                   "loading the memories of user '%.64s' failed: %s",
                                   k->user_id ? k->user_id : "(system)", mn_strerror(rc));
            }
            if (version_changed(db, p, k)) {
                mn__part_release(db, p);
                continue; /* marked outdated: the next round loads it again */
            }
            mn__buf_release(&key);
            *out = p;
            return MN_OK;
        }
        rc = part_new(db, k, key.data, key.len, &p);
        if (!rc)
            rc = mn__hmap_put(&db->parts, key.data, key.len, p);
        if (rc) {
            pthread_mutex_unlock(&db->mu);
            part_free(p);
            mn__buf_release(&key);
            return mn__err_set(err, rc, NULL, "out of memory creating a partition");
        }
        p->refs = 1;
        lru_push_front(db, p);
        db->n_parts++;
        pthread_rwlock_wrlock(&p->lock);
        pthread_mutex_unlock(&db->mu);
        break;
    }
    /* load outside db->mu: others wait on this partition only */
    lc.db = db;
    lc.p = p;
    lc.rc = 0;
    lc.n_pending = 0;
    rc = MN_OK;
    if (db->watched) {
        /* read before the scan: a write in between makes the copy look older, not newer */
        int64_t v = 0;
        rc = db->sops->version(db->store, k, &v, err);
        atomic_store(&p->version, v);
        atomic_store(&p->checked_ms, mn__now_ms());
    }
    if (rc == MN_OK)
        rc = db->sops->scan_partition(db->store, k, load_row, &lc, err);
    /* The scan returns what load_row returned, without a message: name what failed. */
    if (lc.rc)
        rc = mn__err_set(err, lc.rc, NULL, "indexing a memory of user '%.64s' failed: %s",
                         k->user_id ? k->user_id : "(system)", mn_strerror(lc.rc));
    p->load_rc = rc;
    pthread_rwlock_unlock(&p->lock);
    pthread_mutex_lock(&db->mu);
    p->loaded = true;
    p->bytes = mn__part_bytes(p);
    db->parts_bytes += p->bytes;
    evict_locked(db);
    pthread_mutex_unlock(&db->mu);
    mn__buf_release(&key);
    if (rc) {
        mn__part_release(db, p);
        return rc;
    }
    if (lc.n_pending && db->jobs)
        submit_backfill(db, k);
    *out = p;
    return MN_OK;
}

mn__part *mn__part_peek(mn_db *db, const mn__pkey *k)
{
    /* The key is built on the stack: an allocation that failed here would read as "not
     * loaded", and the cached partition would miss a write its caller just committed. Ids
     * are checked to MN_MAX_ID_BYTES, so the key (make_key's format) always fits. */
    char key[2 * MN_MAX_ID_BYTES + 32];
    mn__part *p = NULL;
    int n = snprintf(key, sizeof key, "%s\x1f%d\x1f%s", k->tenant, (int)k->scope,
                     k->user_id ? k->user_id : "");
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    pthread_mutex_lock(&db->mu);
    p = mn__hmap_get(&db->parts, key, (size_t)n);
    if (p)
        p->refs++;
    pthread_mutex_unlock(&db->mu);
    return p;
}

void mn__part_release(mn_db *db, mn__part *p)
{
    bool free_it = false;
    if (!p)
        return;
    pthread_mutex_lock(&db->mu);
    p->refs--;
    if (p->dropped && p->refs == 0) {
        free_it = true;
    } else if (p->loaded && !p->dropped) {
        /* sizes change with writes (cur_bytes is kept by the writers): keep the budget's
         * account current without taking the partition lock under db->mu */
        size_t nb = atomic_load(&p->cur_bytes);
        db->parts_bytes += nb - p->bytes;
        p->bytes = nb;
        if (db->parts_bytes > db->opts.memory_budget_bytes)
            evict_locked(db);
    }
    pthread_mutex_unlock(&db->mu);
    if (free_it)
        part_free(p);
}

void mn__part_drop(mn_db *db, const mn__pkey *k)
{
    mn__buf key;
    mn__part *p;
    bool free_it = false;
    if (make_key(k, &key) != MN_OK) {
        mn__buf_release(&key);
        return;
    }
    pthread_mutex_lock(&db->mu);
    p = mn__hmap_get(&db->parts, key.data, key.len);
    if (p) {
        unmap_locked(db, p);
        free_it = p->refs == 0;
    }
    pthread_mutex_unlock(&db->mu);
    if (free_it)
        part_free(p);
    mn__buf_release(&key);
}

void mn__parts_free_all(mn_db *db)
{
    mn__part *p;
    mn__part_hnsw_stop(db); /* it holds references to partitions */
    p = db->lru_head;
    while (p) {
        mn__part *next = p->lru_next;
        part_free(p);
        p = next;
    }
    db->lru_head = db->lru_tail = NULL;
    mn__hmap_release(&db->parts);
    db->parts_bytes = 0;
    db->n_parts = 0;
}

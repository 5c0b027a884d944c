/* hash.c - xxHash wrappers and a string-keyed open-addressing hash map. */
#include <string.h>
#include <xxhash.h>

#include "core.h"

#define TOMB ((char *)&tomb_marker)
static char tomb_marker;

uint64_t mn__hash64(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}

uint32_t mn__hash32(const void *p, size_t n, uint32_t seed)
{
    return XXH32(p, n, seed);
}

void mn__hmap_init(mn__hmap *m)
{
    memset(m, 0, sizeof *m);
}

int mn__hmap_live(const mn__hmap *m, size_t i)
{
    return m->slots[i].key && m->slots[i].key != TOMB;
}

void mn__hmap_release(mn__hmap *m)
{
    size_t i;
    for (i = 0; i < m->cap; i++)
        if (mn__hmap_live(m, i))
            mn__free(m->slots[i].key);
    mn__free(m->slots);
    memset(m, 0, sizeof *m);
}

static mn__hmap_slot *find(const mn__hmap *m, const char *key, size_t len, uint64_t h)
{
    size_t i, mask;
    if (!m->cap)
        return NULL;
    mask = m->cap - 1;
    for (i = h & mask;; i = (i + 1) & mask) {
        mn__hmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMB && s->hash == h && s->key_len == len && !memcmp(s->key, key, len))
            return s;
    }
}

void *mn__hmap_get(const mn__hmap *m, const char *key, size_t len)
{
    mn__hmap_slot *s = find(m, key, len, mn__hash64(key, len, 0));
    return s ? s->val : NULL;
}

static int grow(mn__hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16, i, mask;
    mn__hmap_slot *ns;
    if ((m->n + 1) * 4 < m->cap * 3 && m->n_tomb * 8 < m->cap)
        ncap = m->cap; /* only tombstones to clear */
    ns = mn__calloc(ncap, sizeof *ns);
    if (!ns)
        return MN_ENOMEM;
    mask = ncap - 1;
    for (i = 0; i < m->cap; i++) {
        size_t j;
        if (!mn__hmap_live(m, i))
            continue;
        for (j = m->slots[i].hash & mask; ns[j].key; j = (j + 1) & mask)
            ;
        ns[j] = m->slots[i];
    }
    mn__free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->n_tomb = 0;
    return MN_OK;
}

int mn__hmap_put(mn__hmap *m, const char *key, size_t len, void *val)
{
    uint64_t h = mn__hash64(key, len, 0);
    mn__hmap_slot *s = find(m, key, len, h);
    size_t i, mask;
    char *k;
    if (s) {
        s->val = val;
        return MN_OK;
    }
    if ((m->n + m->n_tomb + 1) * 4 >= m->cap * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    k = mn__malloc(len + 1);
    if (!k)
        return MN_ENOMEM;
    memcpy(k, key, len);
    k[len] = '\0';
    mask = m->cap - 1;
    for (i = h & mask; m->slots[i].key && m->slots[i].key != TOMB; i = (i + 1) & mask)
        ;
    if (m->slots[i].key == TOMB)
        m->n_tomb--;
    m->slots[i].key = k;
    m->slots[i].key_len = len;
    m->slots[i].hash = h;
    m->slots[i].val = val;
    m->n++;
    return MN_OK;
}

void *mn__hmap_del(mn__hmap *m, const char *key, size_t len)
{
    mn__hmap_slot *s = find(m, key, len, mn__hash64(key, len, 0));
    void *v;
    if (!s)
        return NULL;
    v = s->val;
    mn__free(s->key);
    s->key = TOMB;
    s->val = NULL;
    m->n--;
    m->n_tomb++;
    return v;
}

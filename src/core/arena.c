/* arena.c - bump allocator: results and per-request scratch, released in one step. */
#include <string.h>

#include "core.h"

struct mn__arena_block {
    mn__arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void mn__arena_init(mn__arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
    a->total = 0;
}

void mn__arena_release(mn__arena *a)
{
    mn__arena_block *b = a->head, *next;
    while (b) {
        next = b->next;
        mn__free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *mn__arena_alloc(mn__arena *a, size_t n)
{
    mn__arena_block *b = a->head;
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (!b || b->size - b->used < need) {
        size_t sz = need > a->block_size ? need : a->block_size;
        b = mn__malloc(sizeof *b + sz);
        if (!b)
            return NULL;
        b->size = sz;
        b->used = 0;
        if (a->head && need > a->block_size) {
            /* oversized block goes behind the current one so its free space stays usable */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
        a->total += sz;
    }
    b->used += need;
    return b->data + b->used - need;
}

char *mn__arena_strndup(mn__arena *a, const char *s, size_t n)
{
    char *d;
    if (!s)
        return NULL;
    d = mn__arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mn__arena_strdup(mn__arena *a, const char *s)
{
    return s ? mn__arena_strndup(a, s, strlen(s)) : NULL;
}

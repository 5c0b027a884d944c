/* alloc.c - the counting allocator. Each block carries a 16-byte header with its size so that
 * live bytes can be counted; fault injection makes the n-th allocation fail. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define HDR 16

static _Atomic int64_t live_bytes;
static _Atomic int64_t live_blocks;
static _Atomic int64_t fail_countdown; /* 0: off */

void mn__alloc_fail_after(int64_t n)
{
    atomic_store(&fail_countdown, n > 0 ? n : 0);
}

int64_t mn__alloc_fail_pending(void)
{
    return atomic_load(&fail_countdown);
}

static int should_fail(void)
{
    int64_t c = atomic_load(&fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return c == 1;
    }
    return 0;
}

void *mn__malloc(size_t n)
{
    unsigned char *p;
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    p = malloc(n + HDR); /* checksrc: allow */
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add(&live_bytes, (int64_t)n);
    atomic_fetch_add(&live_blocks, 1);
    return p + HDR;
}

void *mn__calloc(size_t count, size_t size)
{
    void *p;
    if (size && count > SIZE_MAX / size)
        return NULL;
    p = mn__malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *mn__realloc(void *p, size_t n)
{
    unsigned char *base, *nb;
    size_t old;
    if (!p)
        return mn__malloc(n);
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    base = (unsigned char *)p - HDR;
    memcpy(&old, base, sizeof old);
    nb = realloc(base, n + HDR); /* checksrc: allow */
    if (!nb)
        return NULL;
    memcpy(nb, &n, sizeof n);
    atomic_fetch_add(&live_bytes, (int64_t)n - (int64_t)old);
    return nb + HDR;
}

void mn__free(void *p)
{
    unsigned char *base;
    size_t n;
    if (!p)
        return;
    base = (unsigned char *)p - HDR;
    memcpy(&n, base, sizeof n);
    atomic_fetch_sub(&live_bytes, (int64_t)n);
    atomic_fetch_sub(&live_blocks, 1);
    free(base); /* checksrc: allow */
}

char *mn__strndup(const char *s, size_t n)
{
    size_t len;
    char *d;
    if (!s)
        return NULL;
    len = strnlen(s, n);
    d = mn__malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *mn__strdup(const char *s)
{
    return s ? mn__strndup(s, strlen(s)) : NULL;
}

int64_t mn__alloc_live_bytes(void)
{
    return atomic_load(&live_bytes);
}

int64_t mn__alloc_live_blocks(void)
{
    return atomic_load(&live_blocks);
}

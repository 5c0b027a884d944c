/* ratelimit.c - an optional token bucket per API key: `rate` tokens per second up to
 * `burst`; a request takes one or gets a 429 with the seconds to wait. */
#include <math.h>
#include <string.h>

#include "http_int.h"

#define MAX_BUCKETS 100000

typedef struct bucket {
    double tokens;
    int64_t last_ns;
} bucket;

struct mn__ratelimit {
    pthread_mutex_t mu;
    mn__hmap map;
    double rate, burst;
};

int mn__rl_new(double per_s, double burst, mn__ratelimit **out)
{
    mn__ratelimit *rl = mn__calloc(1, sizeof *rl);
    if (!rl)
        return MN_ENOMEM;
    pthread_mutex_init(&rl->mu, NULL);
    mn__hmap_init(&rl->map);
    rl->rate = per_s;
    rl->burst = burst < 1 ? 1 : burst;
    *out = rl;
    return MN_OK;
}

static void drop_all(mn__ratelimit *rl)
{
    size_t i;
    for (i = 0; i < rl->map.cap; i++)
        if (mn__hmap_live(&rl->map, i))
            mn__free(rl->map.slots[i].val);
    mn__hmap_release(&rl->map);
    mn__hmap_init(&rl->map);
}

void mn__rl_free(mn__ratelimit *rl)
{
    if (!rl)
        return;
    drop_all(rl);
    pthread_mutex_destroy(&rl->mu);
    mn__free(rl);
}

int mn__rl_take(mn__ratelimit *rl, const char *who, int64_t now_ns)
{
    bucket *b;
    int wait = 0;
    pthread_mutex_lock(&rl->mu);
    b = mn__hmap_get(&rl->map, who, strlen(who));
    if (!b) {
        /* Keys are few; the bound only guards against a flood of distinct names. */
        if (rl->map.n >= MAX_BUCKETS)
            drop_all(rl);
        b = mn__malloc(sizeof *b);
        if (!b || mn__hmap_put(&rl->map, who, strlen(who), b)) {
            mn__free(b);
            pthread_mutex_unlock(&rl->mu);
            return 0; /* out of memory: let the request through rather than fail it */
        }
        b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rate;
    if (b->tokens > rl->burst)
        b->tokens = rl->burst;
    b->last_ns = now_ns;
    if (b->tokens >= 1.0)
        b->tokens -= 1.0;
    else
        wait = (int)ceil((1.0 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->mu);
    return wait < 0 ? 1 : wait;
}

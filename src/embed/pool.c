/* pool.c - a few tokenizers kept for reuse by the embedders: a tokenizer is not thread-safe
 * and holds a stemmer, so each call borrows one instead of creating its own. */
#include "embed_int.h"

void mn__embed_pool_init(mn__tokpool *p)
{
    pthread_mutex_init(&p->mu, NULL);
    p->n = 0;
}

void mn__embed_pool_release(mn__tokpool *p)
{
    int i;
    for (i = 0; i < p->n; i++)
        mn__tok_free(p->free[i]);
    p->n = 0;
    pthread_mutex_destroy(&p->mu);
}

mn__tok *mn__embed_pool_get(mn__tokpool *p)
{
    mn__tok *t = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n > 0)
        t = p->free[--p->n];
    pthread_mutex_unlock(&p->mu);
    if (!t && mn__tok_new(&t))
        return NULL;
    return t;
}

/* More threads than slots: the extra tokenizers are freed rather than kept. */
void mn__embed_pool_put(mn__tokpool *p, mn__tok *t)
{
    pthread_mutex_lock(&p->mu);
    if (p->n < MN_EMBED_POOL_MAX) {
        p->free[p->n++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (t)
        mn__tok_free(t);
}

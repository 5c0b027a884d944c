/* workers.c - a pool of threads for requests that wait on a store commit. The event threads
 * of libmicrohttpd (one per core) must not sleep in a commit: they suspend such a request,
 * hand it here and go on serving other connections; a worker runs it and resumes the
 * connection. Many writes in flight at once is also what lets the store group them into
 * one commit. */
#include <string.h>

#include "http_int.h"

typedef struct job {
    mn__hreq *rq;
    struct job *next;
} job;

struct mn__workers {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    job *head, *tail;
    bool stopping;
    int n;
    pthread_t *threads;
    void (*run)(mn__hreq *rq);
};

static void *worker_main(void *arg)
{
    mn__workers *w = arg;
    for (;;) {
        job *j;
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->mu);
        j = w->head;
        if (!j) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        w->run(j->rq);
        mn__free(j);
    }
}

int mn__workers_start(int n, void (*run)(mn__hreq *rq), mn__workers **out)
{
    mn__workers *w = mn__calloc(1, sizeof *w);
    int i;
    *out = NULL;
    if (!w)
        return MN_ENOMEM;
    w->threads = mn__calloc((size_t)n, sizeof *w->threads);
    if (!w->threads) {
        mn__free(w);
        return MN_ENOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->run = run;
    for (i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
            break;
        w->n++;
    }
    if (w->n == 0) {
        mn__workers_stop(w);
        return MN_ENOMEM;
    }
    *out = w;
    return MN_OK;
}

int mn__workers_submit(mn__workers *w, mn__hreq *rq)
{
    job *j = mn__malloc(sizeof *j);
    if (!j)
        return MN_ENOMEM;
    j->rq = rq;
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        mn__free(j);
        return MN_ECLOSED;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return MN_OK;
}

void mn__workers_stop(mn__workers *w)
{
    int i;
    if (!w)
        return;
    /* Jobs already queued still run: their connections wait to be resumed. */
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    mn__free(w->threads);
    mn__free(w);
}

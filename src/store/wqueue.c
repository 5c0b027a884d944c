/* wqueue.c - the write queue both backends' writers share (group commit): callers validate
 * their request, queue it and sleep; a writer thread takes what is queued as one group,
 * runs it in one transaction of its backend and wakes each caller with its own result.
 * What differs between SQLite and PostgreSQL (statements, ids, retries) stays in
 * sqlite_writer.c and pg_writer.c. */
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "store_int.h"

/* Bounds on one group, so that the first caller of a group does not wait for an unbounded
 * amount of work queued behind it. */
#define MAX_GROUP 1024      /* requests */
#define MAX_GROUP_ROWS 8192 /* rows written, counting each non-put request as one */

void mn__wq_init(mn__wq *q, int64_t commit_delay_us)
{
    pthread_condattr_t ca;
    memset(q, 0, sizeof *q);
    q->commit_delay_us = commit_delay_us;
    pthread_mutex_init(&q->mu, NULL);
    /* the commit delay is measured on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond_work, &ca);
    pthread_condattr_destroy(&ca);
}

void mn__wq_destroy(mn__wq *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond_work);
}

/* ---- waking callers ------------------------------------------------------------------------ */

/* One writer (SQLite) on Linux: the callers of a group are woken by one futex call on the
 * word of the group's parity. Several writers (PostgreSQL) run groups of both parities at
 * once, and a shared word would wake callers of other groups: a semaphore each. */
static bool group_wake(const mn__wq *q)
{
#ifdef __linux__
    return q->run_inline != NULL;
#else
    (void)q;
    return false;
#endif
}

static void wait_done(mn__wq *q, mn__wreq *r)
{
#ifdef __linux__
    if (group_wake(q)) {
        _Atomic uint32_t *w = &q->wake_word[r->parity];
        for (;;) {
            uint32_t seen = atomic_load(w);
            if (atomic_load(&r->finished))
                return;
            /* returns at once if the word moved since it was read: no lost wake-up */
            syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        }
    }
#endif
    while (sem_wait(&r->done) != 0)
        ; /* EINTR: a signal handler ran; the request is still in flight */
}

static void wake_group(mn__wq *q, mn__wreq *group)
{
    mn__wreq *r, *next;
    unsigned parities = 0, p;
    if (!group_wake(q)) {
        for (r = group; r; r = next) {
            next = r->next; /* r lives on its caller's stack: gone once it wakes */
            sem_post(&r->done);
        }
        return;
    }
    for (r = group; r; r = next) {
        next = r->next;
        parities |= 1u << r->parity;
        atomic_store(&r->finished, 1);
    }
#ifdef __linux__
    /* Usually one parity; two when the previous group was cut at its bounds and its rest
     * came with this one. */
    for (p = 0; p < 2; p++) {
        if (!(parities & (1u << p)))
            continue;
        atomic_fetch_add(&q->wake_word[p], 1);
        syscall(SYS_futex, &q->wake_word[p], FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
#else
    (void)p;
#endif
}

/* ---- the writers' side ------------------------------------------------------------------ */

static size_t weight(const mn__wreq *r)
{
    return r->op == MN__W_PUT ? r->n_rows : 1;
}

mn__wreq *mn__wq_take(mn__wq *q, uint64_t *out_ticket)
{
    mn__wreq *group, *r;
    size_t n = 0, rows;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head || (q->paused && !q->stopping) || q->busy) {
            if (q->stopping && !q->head) {
                pthread_mutex_unlock(&q->mu);
                return NULL;
            }
            pthread_cond_wait(&q->cond_work, &q->mu);
        }
        if (q->commit_delay_us <= 0 || q->stopping || q->n_queued >= MAX_GROUP)
            break;
        {
            /* Wait a little for more writers so that they share this commit. */
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += (long)(q->commit_delay_us % 1000000) * 1000;
            until.tv_sec += q->commit_delay_us / 1000000 + until.tv_nsec / 1000000000;
            until.tv_nsec %= 1000000000;
            while (!q->stopping && q->n_queued < MAX_GROUP &&
                   pthread_cond_timedwait(&q->cond_work, &q->mu, &until) == 0)
                ;
        }
        if (q->head)
            break;
        /* another writer took them: wait again */
    }
    group = q->head;
    rows = weight(group);
    for (r = group; r->next && n + 1 < MAX_GROUP && rows < MAX_GROUP_ROWS; r = r->next) {
        n++;
        rows += weight(r->next);
    }
    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    r->next = NULL;
    q->n_queued -= n + 1;
    q->last_group = n + 1;
    if (q->run_inline)
        q->busy = true;
    *out_ticket = q->ticket_next++;
    pthread_mutex_unlock(&q->mu);
    return group;
}

void mn__wq_finish(mn__wq *q, mn__wreq *group, bool committed, int64_t n_ok)
{
    pthread_mutex_lock(&q->mu);
    if (committed) {
        q->n_commits++;
        q->n_committed_ops += n_ok;
    }
    q->busy = false; /* the writer thread takes what queued meanwhile: nobody to wake */
    pthread_mutex_unlock(&q->mu);
    /* Woken outside the mutex: a caller woken under it would at once block on it again
     * (with 64 callers that lock convoy was a quarter of their CPU). */
    wake_group(q, group);
}

void mn__wq_fail_rest(mn__wreq *group, const mn_err *e)
{
    mn__wreq *r;
    for (r = group; r; r = r->next) {
        if (r->rc == MN_OK) {
            r->rc = e->code ? e->code : MN_EINTERNAL;
            r->err = *e;
        }
    }
}

void mn__wq_ticket_wait(mn__wq *q, uint64_t ticket)
{
    pthread_mutex_lock(&q->mu);
    while (q->ticket_turn != ticket)
        pthread_cond_wait(&q->cond_work, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

void mn__wq_ticket_done(mn__wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->ticket_turn++;
    pthread_cond_broadcast(&q->cond_work);
    pthread_mutex_unlock(&q->mu);
}

void mn__wq_stop(mn__wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond_work);
    pthread_mutex_unlock(&q->mu);
}

void mn__wq_wait_callers(mn__wq *q)
{
    /* Woken callers still touch q on their way out (and one running its request inline
     * still uses the writer's connection); let them leave first. Polled: this runs once, at
     * close, and a condition signalled by every leaving caller would cost each add. */
    const struct timespec nap = {0, 100000};
    while (atomic_load(&q->n_in_submit))
        nanosleep(&nap, NULL);
}

void mn__wq_pause(mn__wq *q, bool paused)
{
    pthread_mutex_lock(&q->mu);
    q->paused = paused;
    pthread_cond_broadcast(&q->cond_work);
    pthread_mutex_unlock(&q->mu);
}

size_t mn__wq_len(mn__wq *q)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->n_queued;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void mn__wq_counts(mn__wq *q, int64_t *out_commits, int64_t *out_ops)
{
    pthread_mutex_lock(&q->mu);
    *out_commits = q->n_commits;
    *out_ops = q->n_committed_ops;
    pthread_mutex_unlock(&q->mu);
}

/* ---- the callers' side ------------------------------------------------------------------ */

/* Runs r on the caller's thread as a group of one (q->busy is set by the caller). */
static void run_here(mn__wq *q, mn__wreq *r)
{
    int64_t n_ok = 0;
    bool committed, wake;
    r->next = NULL;
    committed = q->run_inline(q->inline_ctx, r, &n_ok);
    pthread_mutex_lock(&q->mu);
    if (committed) {
        q->n_commits++;
        q->n_committed_ops += n_ok;
    }
    q->busy = false;
    q->last_group = 1;
    /* callers that queued meanwhile did not wake the writer: it could not run them */
    wake = q->head || q->stopping;
    pthread_mutex_unlock(&q->mu);
    if (wake)
        pthread_cond_broadcast(&q->cond_work);
}

int mn__wq_submit(mn__wq *q, mn__wreq *r, mn_err *err)
{
    const char *name = q->name ? q->name : "?";
    bool inline_run, wake;
    int rc;
    if (!atomic_load(&q->running))
        return mn__err_set(err, q->read_only ? MN_EPERM : MN_ECLOSED,
                           q->read_only ? "open the store read-write to change it" : NULL,
                           "store '%s': %s", name,
                           q->read_only ? "opened read-only" : "closed");
    r->now_ms = mn__now_ms();
    mn__err_clear(&r->err);
    pthread_mutex_lock(&q->mu);
    if (q->stopping) {
        pthread_mutex_unlock(&q->mu);
        return mn__err_set(err, MN_ECLOSED, NULL, "store '%s': closing", name);
    }
    atomic_fetch_add(&q->n_in_submit, 1);
    inline_run = q->run_inline && !q->busy && !q->head && !q->paused &&
                 q->commit_delay_us <= 0 && q->last_group <= 1;
    if (inline_run) {
        q->busy = true;
        pthread_mutex_unlock(&q->mu);
        run_here(q, r);
    } else {
        if (group_wake(q)) {
            /* the next group to be taken gets this ticket: its parity picks the word */
            r->parity = (unsigned)(q->ticket_next & 1);
            atomic_store(&r->finished, 0);
        } else {
            sem_init(&r->done, 0, 0);
        }
        if (q->tail)
            q->tail->next = r;
        else
            q->head = r;
        q->tail = r;
        q->n_queued++;
        /* A busy single writer takes this when it is done (the writer thread loops, an
         * inline caller wakes it), so only an idle one needs the wake-up. */
        wake = !(q->run_inline && q->busy);
        pthread_mutex_unlock(&q->mu);
        /* broadcast: a writer waiting for its id turn on this condition must not take the
         * wake-up meant for an idle one */
        if (wake)
            pthread_cond_broadcast(&q->cond_work);
        wait_done(q, r);
        if (!group_wake(q))
            sem_destroy(&r->done);
    }
    rc = r->rc;
    if (rc && err) {
        *err = r->err;
        err->code = rc;
    }
    atomic_fetch_sub(&q->n_in_submit, 1); /* last touch of q: close may free it after */
    return rc;
}

static int check_row(const mn__row *r, size_t i, mn_err *err)
{
    mn__pkey k = mn__row_pkey(r);
    const char *bad = NULL;
    int rc = mn__sq_check_pkey(&k, err);
    if (rc) {
        mn__err_prefix(err, "row %zu", i);
        return rc;
    }
    if (!r->text)
        bad = "text is missing";
    else if (r->kind && !mn__sq_kind_text(r->kind))
        bad = "kind is out of range";
    else if (r->role && !mn__sq_role_text(r->role))
        bad = "role is out of range";
    else if (r->status && !mn__sq_status_text(r->status))
        bad = "status is out of range";
    else if (r->n_sources && !r->sources)
        bad = "n_sources without sources";
    else if (r->n_sources > MN_MAX_SOURCES)
        bad = "more than MN_MAX_SOURCES sources";
    else if (r->embedding && (r->dim <= 0 || r->dim > 65536 || !r->embed_model))
        bad = "embedding needs dim in 1..65536 and embed_model";
    else if (!r->embedding && (r->dim || r->embed_model))
        bad = "dim or embed_model without embedding";
    if (bad)
        return mn__err_set(err, MN_EINVAL, NULL, "row %zu: %s", i, bad);
    return MN_OK;
}

int mn__wq_check_rows(const mn__row *rows, size_t n, mn_err *err)
{
    size_t i;
    int rc;
    for (i = 0; i < n; i++)
        if ((rc = check_row(&rows[i], i, err)) != MN_OK)
            return rc;
    return MN_OK;
}

int mn__wq_check_patch(const mn__pkey *k, mn_id id, const mn__row_patch *p, mn_err *err)
{
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    if (!p)
        return mn__err_set(err, MN_EINVAL, NULL, "update of memory %lld: no patch",
                           (long long)id);
    if (p->status && !mn__sq_status_text(p->status))
        return mn__err_set(err, MN_EINVAL, NULL, "update of memory %lld: status %d out of range",
                           (long long)id, (int)p->status);
    if (p->embedding && (p->dim <= 0 || p->dim > 65536 || !p->embed_model))
        return mn__err_set(err, MN_EINVAL, NULL,
                           "update of memory %lld: embedding needs dim in 1..65536 and "
                           "embed_model",
                           (long long)id);
    return MN_OK;
}

void mn__wq_put_done(mn__row *rows, size_t n, int rc, int64_t now_ms)
{
    size_t i;
    for (i = 0; i < n; i++) {
        mn__row *r = &rows[i];
        if (rc) {
            r->id = 0; /* nothing was stored */
            continue;
        }
        if (!r->created_at_ms)
            r->created_at_ms = now_ms;
        if (!r->updated_at_ms)
            r->updated_at_ms = r->created_at_ms;
    }
}

/* ---- the requests both backends queue ----------------------------------------------------- */

int mn__wq_put_batch(mn__store *st, mn__row *rows, size_t n, mn_err *err)
{
    mn__wreq r;
    int rc = mn__wq_check_rows(rows, n, err);
    if (rc || n == 0)
        return rc;
    memset(&r, 0, sizeof r);
    r.op = MN__W_PUT;
    r.rows = rows;
    r.n_rows = n;
    rc = mn__wq_submit(st->wq, &r, err);
    mn__wq_put_done(rows, n, rc, r.now_ms);
    return rc;
}

int mn__wq_update(mn__store *st, const mn__pkey *k, mn_id id, const mn__row_patch *p,
                  mn_err *err)
{
    mn__wreq r;
    int rc = mn__wq_check_patch(k, id, p, err);
    if (rc)
        return rc;
    memset(&r, 0, sizeof r);
    r.op = MN__W_UPDATE;
    r.k = k;
    r.id = id;
    r.patch = p;
    return mn__wq_submit(st->wq, &r, err);
}

int mn__wq_delete_one(mn__store *st, const mn__pkey *k, mn_id id, mn_err *err)
{
    mn__wreq r;
    int rc = mn__sq_check_pkey(k, err);
    if (rc)
        return rc;
    memset(&r, 0, sizeof r);
    r.op = MN__W_DELETE_ONE;
    r.k = k;
    r.id = id;
    return mn__wq_submit(st->wq, &r, err);
}

int mn__wq_delete_partition(mn__store *st, const mn__pkey *k, int64_t *out_n, mn_err *err)
{
    mn__wreq r;
    int rc = mn__sq_check_pkey(k, err);
    if (out_n)
        *out_n = 0;
    if (rc)
        return rc;
    memset(&r, 0, sizeof r);
    r.op = MN__W_DELETE_PART;
    r.k = k;
    rc = mn__wq_submit(st->wq, &r, err);
    if (rc == MN_OK && out_n)
        *out_n = r.n_deleted;
    return rc;
}

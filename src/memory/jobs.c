/* jobs.c - background jobs of the engine (embedding backfill now; compaction and re-embedding
 * plug in the same way). A job names its kind and the partition it works on. With Redis, jobs
 * go to one stream read by a consumer group that every node joins: any node picks up work,
 * and a job whose node died before acknowledging it is claimed by another after claim_ms
 * (XAUTOCLAIM). Without Redis, or while it is down, jobs run on a local queue of this node
 * (lost if the node dies; the condition that made them, such as pending embeddings, stays in
 * the store and makes them again). One worker thread per database runs them one at a time.
 *
 * Adding a kind: write `int handler(mn_db *, const mn__job *, mn_err *)` (idempotent: a job
 * may run twice when its node dies after the work and before the acknowledgement) and add a
 * line to `kinds` below. Submit with mn__jobs_submit. A handler returning MN_EINVAL,
 * MN_ENOTFOUND or MN_ESCHEMA is not retried; other errors leave the job to be claimed
 * again. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memory_int.h"

#define STREAM "mnemo:jobs"
#define GROUP "mnemo"
#define STREAM_MAXLEN "100000"
#define DEDUPE_TTL "60"
#define BLOCK_MS 300
#define MAX_LOCAL 1024
#define DEFAULT_CLAIM_MS 30000

static const struct {
    const char *kind;
    mn__job_fn run;
} kinds[] = {
    {"embed_backfill", mn__job_embed_backfill},
    {"compact", mn__job_compact}, /* compact_job.c */
};

typedef struct lnode {
    mn__job job;
    struct lnode *next;
} lnode;

struct mn__jobs {
    mn_db *db;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    lnode *head, *tail;
    size_t n_local;
    bool stop;
    char consumer[64];
    int claim_ms;
    int test_delay_ms;
    struct redisContext *conn; /* the worker's own blocking connection */
    int64_t retry_at_ms;
    int backoff_ms;
    int64_t next_claim_ms;
    bool group_ok;
    _Atomic int64_t n_done, n_failed, n_shared, n_local_total;
};

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    char *end;
    long n;
    if (!v || !*v)
        return def;
    n = strtol(v, &end, 10);
    return *end || n < lo || n > hi ? def : (int)n;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- running one job --------------------------------------------------------------------- */

static bool permanent(int rc)
{
    return rc == MN_EINVAL || rc == MN_ENOTFOUND || rc == MN_ESCHEMA;
}

/* Runs j; returns whether it is finished (done, or failed for good). */
static bool run_job(mn__jobs *js, const mn__job *j)
{
    mn_err err;
    size_t i;
    int rc = MN_EINVAL;
    mn__err_clear(&err);
    if (js->test_delay_ms)
        nap_ms(js->test_delay_ms); /* test hook: a window to kill the node mid-job */
    for (i = 0; i < MN_ARRAY_LEN(kinds); i++)
        if (!strcmp(kinds[i].kind, j->kind))
            break;
    if (i == MN_ARRAY_LEN(kinds))
        mn__err_set(&err, MN_EINVAL, NULL, "unknown job kind '%s'", j->kind);
    else
        rc = kinds[i].run(js->db, j, &err);
    if (rc == MN_OK) {
        atomic_fetch_add(&js->n_done, 1);
        mn__log(&js->db->log, MN_LOG_DEBUG, "job %s for '%s' of tenant '%s' done%s%s",
                j->kind, j->user_id[0] ? j->user_id : "(system)", j->tenant,
                j->id[0] ? " (stream id " : "", j->id[0] ? j->id : "");
        return true;
    }
    atomic_fetch_add(&js->n_failed, 1);
    mn__log(&js->db->log, MN_LOG_WARN, "job %s for '%s' of tenant '%s' failed%s: %s", j->kind,
            j->user_id[0] ? j->user_id : "(system)", j->tenant,
            permanent(rc) ? "" : " (it will be retried)", err.msg);
    return permanent(rc);
}

/* ---- the Redis stream ---------------------------------------------------------------------*/

static void dedupe_key(const mn__job *j, char *out, size_t cap)
{
    snprintf(out, cap, "mnemo:job:%s:%d:%s:%s", j->kind, (int)j->scope, j->tenant, j->user_id);
}

static void conn_drop(mn__jobs *js, const char *why)
{
    char msg[160];
    /* why may point into the connection freed here */
    snprintf(msg, sizeof msg, "%s", why && why[0] ? why : "connection lost");
    why = msg;
    if (js->conn)
        redisFree(js->conn);
    js->conn = NULL;
    js->group_ok = false;
    js->backoff_ms = js->backoff_ms ? MN_MIN(js->backoff_ms * 2, 2000) : 100;
    js->retry_at_ms = mn__now_ms() + js->backoff_ms;
    mn__redis_failed(js->db->redis, why);
}

/* A stream entry's fields into j. */
static void parse_entry(const redisReply *e, mn__job *j)
{
    const redisReply *f;
    size_t i;
    memset(j, 0, sizeof *j);
    j->scope = MN_SCOPE_USER;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        return;
    snprintf(j->id, sizeof j->id, "%.*s", (int)MN_MIN(e->element[0]->len, 40),
             e->element[0]->str ? e->element[0]->str : "");
    f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        int n = (int)f->element[i + 1]->len;
        if (!k || !v)
            continue;
        if (!strcmp(k, "kind"))
            snprintf(j->kind, sizeof j->kind, "%.*s", n, v);
        else if (!strcmp(k, "tenant"))
            snprintf(j->tenant, sizeof j->tenant, "%.*s", n, v);
        else if (!strcmp(k, "user"))
            snprintf(j->user_id, sizeof j->user_id, "%.*s", n, v);
        else if (!strcmp(k, "scope"))
            j->scope = n == 6 && !memcmp(v, "system", 6) ? MN_SCOPE_SYSTEM : MN_SCOPE_USER;
        else if (!strcmp(k, "arg"))
            snprintf(j->arg, sizeof j->arg, "%.*s", n, v);
    }
}

/* Runs the entries of an array reply; acknowledges (and deletes) the finished ones. */
static void run_entries(mn__jobs *js, const redisReply *arr)
{
    size_t i;
    for (i = 0; arr && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
        mn__job j;
        char dk[400];
        redisReply *r;
        if (arr->element[i]->type != REDIS_REPLY_ARRAY)
            continue; /* deleted meanwhile */
        parse_entry(arr->element[i], &j);
        if (!j.id[0] || !run_job(js, &j))
            continue;
        dedupe_key(&j, dk, sizeof dk);
        r = redisCommand(js->conn, "XACK %s %s %s", STREAM, GROUP, j.id);
        if (r)
            freeReplyObject(r);
        r = redisCommand(js->conn, "XDEL %s %s", STREAM, j.id);
        if (r)
            freeReplyObject(r);
        r = redisCommand(js->conn, "DEL %s", dk);
        if (r)
            freeReplyObject(r);
        if (js->conn->err)
            return;
    }
}

/* One round on the stream: claims jobs of dead consumers when due, then waits up to
 * BLOCK_MS for a new one. Returns false when Redis is not reachable. */
static bool stream_round(mn__jobs *js)
{
    redisReply *r;
    mn_err err;
    if (!js->conn) {
        if (mn__now_ms() < js->retry_at_ms)
            return false;
        if (mn__redis_connect(js->db->redis, BLOCK_MS + 2000, &js->conn, &err) != MN_OK) {
            js->conn = NULL;
            conn_drop(js, err.msg);
            return false;
        }
        js->backoff_ms = 0;
        mn__redis_ok(js->db->redis);
    }
    if (!js->group_ok) {
        /* from 0: entries added before any node created the group still run */
        r = redisCommand(js->conn, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM, GROUP);
        if (!r) {
            conn_drop(js, js->conn->errstr);
            return false;
        }
        js->group_ok = r->type != REDIS_REPLY_ERROR || (r->str && strstr(r->str, "BUSYGROUP"));
        freeReplyObject(r);
        if (!js->group_ok)
            return false;
    }
    if (mn__now_ms() >= js->next_claim_ms) {
        char idle[24];
        snprintf(idle, sizeof idle, "%d", js->claim_ms);
        r = redisCommand(js->conn, "XAUTOCLAIM %s %s %s %s 0-0 COUNT 8", STREAM, GROUP,
                         js->consumer, idle);
        if (!r) {
            conn_drop(js, js->conn->errstr);
            return false;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
            run_entries(js, r->element[1]);
        freeReplyObject(r);
        js->next_claim_ms = mn__now_ms() + MN_MAX(js->claim_ms / 2, 100);
        if (js->conn->err) {
            conn_drop(js, js->conn->errstr);
            return false;
        }
    }
    r = redisCommand(js->conn, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >", GROUP,
                     js->consumer, BLOCK_MS, STREAM);
    if (!r) {
        conn_drop(js, js->conn->errstr);
        return false;
    }
    /* [[stream, [entry...]]] or nil after the block time */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        run_entries(js, r->element[0]->element[1]);
    else if (r->type == REDIS_REPLY_ERROR && r->str && strstr(r->str, "NOGROUP"))
        js->group_ok = false; /* the stream was deleted: create it again */
    freeReplyObject(r);
    if (js->conn->err) {
        conn_drop(js, js->conn->errstr);
        return false;
    }
    return true;
}

static int shared_submit(mn_db *db, const mn__job *j, mn_err *err)
{
    char dk[400];
    const char *scope = j->scope == MN_SCOPE_SYSTEM ? "system" : "user";
    const char *set[6] = {"SET", dk, "1", "NX", "EX", DEDUPE_TTL};
    const char *xadd[15] = {"XADD", STREAM, "MAXLEN", "~", STREAM_MAXLEN, "*",
                            "kind", j->kind, "tenant", j->tenant, "scope", scope,
                            "user", j->user_id, "arg"};
    const char *argv[16];
    redisReply *r;
    int rc;
    dedupe_key(j, dk, sizeof dk);
    rc = mn__redis_cmd(db->redis, &r, err, 6, set, NULL);
    if (rc)
        return rc;
    rc = r->type == REDIS_REPLY_NIL ? 1 : 0; /* the same job is queued already */
    freeReplyObject(r);
    if (rc)
        return MN_OK;
    memcpy(argv, xadd, sizeof xadd);
    argv[15] = j->arg;
    rc = mn__redis_cmd(db->redis, &r, err, 16, argv, NULL);
    if (rc)
        return rc;
    freeReplyObject(r);
    atomic_fetch_add(&db->jobs->n_shared, 1);
    return MN_OK;
}

/* ---- the worker ---------------------------------------------------------------------------*/

static void *worker_main(void *arg)
{
    mn__jobs *js = arg;
    pthread_mutex_lock(&js->mu);
    while (!js->stop) {
        if (js->head) {
            lnode *n = js->head;
            js->head = n->next;
            if (!js->head)
                js->tail = NULL;
            js->n_local--;
            pthread_mutex_unlock(&js->mu);
            run_job(js, &n->job); /* local: no one else would retry it */
            mn__free(n);
            pthread_mutex_lock(&js->mu);
            continue;
        }
        if (js->db->redis) {
            bool up;
            pthread_mutex_unlock(&js->mu);
            up = stream_round(js);
            pthread_mutex_lock(&js->mu);
            if (!up && !js->stop && !js->head) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 100 * 1000000L;
                until.tv_sec += until.tv_nsec / 1000000000;
                until.tv_nsec %= 1000000000;
                pthread_cond_timedwait(&js->cond, &js->mu, &until);
            }
            continue;
        }
        pthread_cond_wait(&js->cond, &js->mu);
    }
    pthread_mutex_unlock(&js->mu);
    if (js->conn)
        redisFree(js->conn);
    js->conn = NULL;
    return NULL;
}

int mn__jobs_start(mn_db *db, mn_err *err)
{
    mn__jobs *js = mn__calloc(1, sizeof *js);
    uint32_t rnd = (uint32_t)(mn__mono_ns() ^ (uint64_t)getpid() * 2654435761u);
    char host[40] = "node";
    int rc;
    if (!js)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory starting the job worker");
    js->db = db;
    pthread_mutex_init(&js->mu, NULL);
    pthread_cond_init(&js->cond, NULL);
    gethostname(host, sizeof host - 1);
    snprintf(js->consumer, sizeof js->consumer, "%.32s-%d-%08x", host, (int)getpid(), rnd);
    js->claim_ms = env_int("MNEMO_JOBS_CLAIM_MS", DEFAULT_CLAIM_MS, 100, 86400000);
    js->test_delay_ms = env_int("MNEMO_JOBS_TEST_DELAY_MS", 0, 0, 600000);
    rc = pthread_create(&js->th, NULL, worker_main, js);
    if (rc) {
        pthread_mutex_destroy(&js->mu);
        pthread_cond_destroy(&js->cond);
        mn__free(js);
        return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                           "cannot start the job worker (error %d)", rc);
    }
    js->started = true;
    db->jobs = js;
    return MN_OK;
}

void mn__jobs_stop(mn_db *db)
{
    mn__jobs *js = db->jobs;
    lnode *n, *next;
    if (!js)
        return;
    pthread_mutex_lock(&js->mu);
    js->stop = true;
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->mu);
    if (js->started)
        pthread_join(js->th, NULL);
    if (js->n_local)
        mn__log(&db->log, MN_LOG_INFO,
                "%zu local job(s) dropped at close; they are made again when needed",
                js->n_local);
    for (n = js->head; n; n = next) {
        next = n->next;
        mn__free(n);
    }
    pthread_mutex_destroy(&js->mu);
    pthread_cond_destroy(&js->cond);
    mn__free(js);
    db->jobs = NULL;
}

int mn__jobs_submit(mn_db *db, const mn__job *j, mn_err *err)
{
    mn__jobs *js = db->jobs;
    lnode *n, *q;
    if (!js)
        return mn__err_set(err, MN_ECLOSED, NULL, "no job worker (read-only database)");
    if (db->redis && shared_submit(db, j, NULL) == MN_OK)
        return MN_OK;
    n = mn__calloc(1, sizeof *n);
    if (!n)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory queueing a job");
    n->job = *j;
    n->job.id[0] = '\0';
    pthread_mutex_lock(&js->mu);
    for (q = js->head; q; q = q->next)
        if (!strcmp(q->job.kind, j->kind) && q->job.scope == j->scope &&
            !strcmp(q->job.tenant, j->tenant) && !strcmp(q->job.user_id, j->user_id))
            break;
    if (q || js->n_local >= MAX_LOCAL || js->stop) {
        pthread_mutex_unlock(&js->mu);
        mn__free(n);
        return MN_OK; /* queued already, or full: the cause stays and makes it again */
    }
    if (js->tail)
        js->tail->next = n;
    else
        js->head = n;
    js->tail = n;
    js->n_local++;
    atomic_fetch_add(&js->n_local_total, 1);
    pthread_cond_signal(&js->cond);
    pthread_mutex_unlock(&js->mu);
    return MN_OK;
}

void mn__jobs_stats(mn_db *db, int64_t *out_done, int64_t *out_failed, int64_t *out_queued)
{
    mn__jobs *js = db->jobs;
    *out_done = js ? atomic_load(&js->n_done) : 0;
    *out_failed = js ? atomic_load(&js->n_failed) : 0;
    *out_queued = 0;
    if (js) {
        pthread_mutex_lock(&js->mu);
        *out_queued = (int64_t)js->n_local;
        pthread_mutex_unlock(&js->mu);
    }
}

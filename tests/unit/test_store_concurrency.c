/* test_store_concurrency.c - the SQLite store's writer thread: requests grouped into one
 * commit keep their own results, many writer threads lose nothing, and kill -9 during load
 * loses no acknowledged write (the file passes integrity_check afterwards). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/store/store_int.h"
#include "t.h"

#define OPS (&mn__store_sqlite)

static mn__store *open_store(const char *path, int commit_delay_us)
{
    mn__store *s = NULL;
    mn_err err = {0};
    mn__store_cfg cfg = {0};
    cfg.commit_delay_us = commit_delay_us;
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    return s;
}

static mn__row row_for(const char *user, const char *text)
{
    mn__row r;
    memset(&r, 0, sizeof r);
    r.tenant = "t";
    r.scope = MN_SCOPE_USER;
    r.user_id = user;
    r.kind = MN_KIND_MESSAGE;
    r.status = MN_STATUS_ACTIVE;
    r.text = text;
    return r;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- one group, four requests, four results -------------------------------------------------*/

struct req {
    mn__store *s;
    int what;
    mn_id id;
    int rc;
    mn_err err;
};

static void *req_main(void *arg)
{
    struct req *q = arg;
    mn__pkey k = {"t", MN_SCOPE_USER, "u1"};
    mn__row r = row_for("u1", "grouped");
    mn__row_patch p;
    memset(&p, 0, sizeof p);
    p.text = "changed";
    switch (q->what) {
    case 0:
        q->rc = OPS->put_batch(q->s, &r, 1, &q->err);
        q->id = r.id;
        break;
    case 1:
        r.metadata_json = "[]"; /* refused by the schema, inside the group's transaction */
        q->rc = OPS->put_batch(q->s, &r, 1, &q->err);
        q->id = r.id;
        break;
    case 2:
        q->rc = OPS->update(q->s, &k, 999999, &p, &q->err);
        break;
    default:
        q->rc = OPS->delete_one(q->s, &k, q->id, &q->err);
        break;
    }
    return NULL;
}

TEST(store_group_commit_isolates_requests)
{
    char path[512];
    mn__store *s;
    mn__store_stats before, after;
    mn__row r = row_for("u1", "to delete"), out;
    mn__pkey k = {"t", MN_SCOPE_USER, "u1"};
    mn__arena a;
    struct req q[4];
    pthread_t th[4];
    mn_err err = {0};
    int i;
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    s = open_store(path, 0);
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT_OK(OPS->stats(s, &before, &err), &err);

    /* While paused, the four requests queue up; resuming runs them as one transaction. */
    mn__sq_writer_pause(s, true);
    memset(q, 0, sizeof q);
    for (i = 0; i < 4; i++) {
        q[i].s = s;
        q[i].what = i;
        if (i == 3)
            q[i].id = r.id;
        ASSERT_EQ(pthread_create(&th[i], NULL, req_main, &q[i]), 0);
    }
    while (mn__sq_queue_len(s) < 4)
        sleep_ms(1);
    mn__sq_writer_pause(s, false);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);

    ASSERT_OK(q[0].rc, &q[0].err);
    ASSERT(q[0].id > 0);
    ASSERT_EQ(q[1].rc, MN_EINVAL);
    ASSERT_EQ(q[1].id, 0);
    ASSERT(strstr(q[1].err.msg, "CHECK") != NULL);
    ASSERT_EQ(q[2].rc, MN_ENOTFOUND);
    ASSERT(strstr(q[2].err.msg, "999999") != NULL);
    ASSERT_OK(q[3].rc, &q[3].err);

    ASSERT_OK(OPS->stats(s, &after, &err), &err);
    ASSERT_EQ(after.n_commits, before.n_commits + 1);
    ASSERT_EQ(after.n_committed_ops, before.n_committed_ops + 2);
    ASSERT_EQ(after.n_memories, 1);
    mn__arena_init(&a, 0);
    ASSERT_OK(OPS->get(s, &k, q[0].id, &a, &out, &err), &err);
    ASSERT_EQ(OPS->get(s, &k, r.id, &a, &out, &err), MN_ENOTFOUND);
    mn__arena_release(&a);
    OPS->close(s);
}

TEST(store_close_runs_queued_requests)
{
    char path[512];
    mn__store *s;
    struct req q;
    pthread_t th;
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    s = open_store(path, 0);
    mn__sq_writer_pause(s, true);
    memset(&q, 0, sizeof q);
    q.s = s;
    ASSERT_EQ(pthread_create(&th, NULL, req_main, &q), 0);
    while (mn__sq_queue_len(s) < 1)
        sleep_ms(1);
    OPS->close(s); /* still paused: close must drain the queue anyway */
    pthread_join(th, NULL);
    ASSERT_OK(q.rc, &q.err);
    s = open_store(path, 0);
    {
        mn__store_stats st;
        mn_err err = {0};
        ASSERT_OK(OPS->stats(s, &st, &err), &err);
        ASSERT_EQ(st.n_memories, 1);
    }
    OPS->close(s);
}

/* ---- many writers -----------------------------------------------------------------------------*/

#define N_THREADS 8
#define N_PER_THREAD 150

struct writer {
    mn__store *s;
    int t;
    mn_id ids[N_PER_THREAD];
    int rc;
    mn_err err;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char user[16], text[32];
    int i;
    snprintf(user, sizeof user, "u%d", w->t % 3); /* threads share partitions */
    for (i = 0; i < N_PER_THREAD && w->rc == 0; i++) {
        mn__row r;
        snprintf(text, sizeof text, "thread %d item %d", w->t, i);
        r = row_for(user, text);
        w->rc = OPS->put_batch(w->s, &r, 1, &w->err);
        w->ids[i] = r.id;
    }
    return NULL;
}

struct idset {
    mn_id *ids;
    size_t n, cap;
};

static int collect_id(void *ctx, const mn__row *r)
{
    struct idset *set = ctx;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        mn_id *p = mn__realloc(set->ids, cap * sizeof *p);
        if (!p)
            return MN_ENOMEM;
        set->ids = p;
        set->cap = cap;
    }
    set->ids[set->n++] = r->id;
    return 0;
}

static bool has_id(const struct idset *set, mn_id id)
{
    size_t lo = 0, hi = set->n; /* ids come oldest first: sorted */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ids[mid] == id)
            return true;
        if (set->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

TEST(store_concurrent_writers_group_commit)
{
    char path[512];
    mn__store *s;
    static struct writer w[N_THREADS];
    pthread_t th[N_THREADS];
    mn__store_stats st;
    struct idset set = {0};
    mn_err err = {0};
    int64_t versions = 0;
    int i, j;
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    /* A short commit delay makes grouping certain, not just likely. */
    s = open_store(path, 2000);
    for (i = 0; i < N_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].s = s;
        w[i].t = i;
        ASSERT_EQ(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < N_THREADS; i++)
        ASSERT_OK(w[i].rc, &w[i].err);

    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    fprintf(stderr, "    group commit: %lld ops in %lld commits (%.1f per commit)\n",
            (long long)st.n_committed_ops, (long long)st.n_commits,
            (double)st.n_committed_ops / (double)(st.n_commits ? st.n_commits : 1));
    ASSERT_EQ(st.n_committed_ops, N_THREADS * N_PER_THREAD);
    ASSERT(st.n_commits < st.n_committed_ops);
    ASSERT_EQ(st.n_memories, N_THREADS * N_PER_THREAD);

    ASSERT_OK(OPS->scan_tenant(s, "t", collect_id, &set, &err), &err);
    ASSERT_EQ(set.n, N_THREADS * N_PER_THREAD);
    for (i = 0; i < N_THREADS; i++)
        for (j = 0; j < N_PER_THREAD; j++)
            ASSERT(has_id(&set, w[i].ids[j]));
    for (i = 0; i < 3; i++) {
        char user[16];
        mn__pkey k = {"t", MN_SCOPE_USER, user};
        int64_t v;
        snprintf(user, sizeof user, "u%d", i);
        ASSERT_OK(OPS->version(s, &k, &v, &err), &err);
        versions += v;
    }
    ASSERT_EQ(versions, N_THREADS * N_PER_THREAD); /* one bump per single-row put */
    mn__free(set.ids);
    OPS->close(s);
}

/* ---- kill -9 during load ----------------------------------------------------------------------*/

#define CRASH_THREADS 4

struct ack {
    int64_t id;
    int32_t thread;
    int32_t pad;
};

struct crash_writer {
    mn__store *s;
    int t;
    int fd;
};

static void *crash_writer_main(void *arg)
{
    struct crash_writer *cw = arg;
    char user[16];
    unsigned seed = (unsigned)(getpid() * 31 + cw->t);
    snprintf(user, sizeof user, "w%d", cw->t);
    for (;;) {
        mn__row r[3];
        struct ack acks[3];
        mn_err err;
        int n = 1 + (int)(rand_r(&seed) % 3), i;
        for (i = 0; i < n; i++)
            r[i] = row_for(user, "a memory written under load, then the power goes out");
        if (OPS->put_batch(cw->s, r, (size_t)n, &err) != 0)
            _exit(3);
        /* Acknowledged: only now may the parent count on these ids. One write of at most
         * PIPE_BUF bytes is atomic, so the parent never sees half a batch. */
        for (i = 0; i < n; i++) {
            acks[i].id = r[i].id;
            acks[i].thread = cw->t;
            acks[i].pad = 0;
        }
        if (write(cw->fd, acks, (size_t)n * sizeof acks[0]) != (ssize_t)(n * sizeof acks[0]))
            _exit(4);
    }
    return NULL;
}

static void crash_child(const char *path, int fd)
{
    static struct crash_writer cw[CRASH_THREADS];
    pthread_t th[CRASH_THREADS];
    mn__store *s = NULL;
    mn_err err;
    int i;
    if (OPS->open(path, NULL, &s, &err) != 0)
        _exit(2);
    for (i = 0; i < CRASH_THREADS; i++) {
        cw[i].s = s;
        cw[i].t = i;
        cw[i].fd = fd;
        if (pthread_create(&th[i], NULL, crash_writer_main, &cw[i]) != 0)
            _exit(5);
    }
    for (i = 0; i < CRASH_THREADS; i++)
        pthread_join(th[i], NULL);
    _exit(0);
}

struct acks {
    struct ack *a;
    size_t n, cap;
};

/* Reads whole records from fd into acks; returns bytes read, 0 at end of file. */
static ssize_t read_acks(int fd, struct acks *acks, char *carry, size_t *n_carry)
{
    char buf[4096];
    ssize_t got;
    size_t have, off = 0;
    memcpy(buf, carry, *n_carry);
    got = read(fd, buf + *n_carry, sizeof buf - *n_carry);
    if (got <= 0)
        return got;
    have = *n_carry + (size_t)got;
    while (have - off >= sizeof(struct ack)) {
        if (acks->n == acks->cap) {
            size_t cap = acks->cap ? acks->cap * 2 : 1024;
            struct ack *p = mn__realloc(acks->a, cap * sizeof *p);
            ASSERT(p != NULL);
            acks->a = p;
            acks->cap = cap;
        }
        memcpy(&acks->a[acks->n++], buf + off, sizeof(struct ack));
        off += sizeof(struct ack);
    }
    *n_carry = have - off;
    memcpy(carry, buf + off, *n_carry);
    return got;
}

static void crash_cycle(const char *path, struct acks *acks, unsigned *seed)
{
    int fds[2], status = 0, wait_ms = 20 + (int)(rand_r(seed) % 280);
    char carry[sizeof(struct ack)];
    size_t n_carry = 0, n_before = acks->n;
    int64_t t_first = 0;
    pid_t pid;
    ASSERT_EQ(pipe(fds), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(path, fds[1]);
    }
    close(fds[1]);
    /* Let it run for a random time after its first acknowledged write, then pull the plug. */
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int64_t now = mn__mono_ns();
        if (t_first && now - t_first > (int64_t)wait_ms * 1000000)
            break;
        if (poll(&p, 1, 10) > 0) {
            ssize_t got = read_acks(fds[0], acks, carry, &n_carry);
            ASSERT(got > 0); /* the child died on its own: see its exit code below */
            if (!t_first && acks->n > n_before)
                t_first = mn__mono_ns();
        }
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    while (read_acks(fds[0], acks, carry, &n_carry) > 0)
        ;
    close(fds[0]);
    ASSERT_EQ(n_carry, 0);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ASSERT(acks->n > n_before);
}

static void check_after_crash(const char *path, const struct acks *acks, int n_crashes)
{
    mn__store *s = open_store(path, 0);
    mn__arena a;
    mn__row out;
    mn__store_stats st;
    mn_err err = {0};
    sqlite3 *db;
    sqlite3_stmt *q;
    size_t i;
    long long n_rows;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    ASSERT_STR((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM memories", -1, &q, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    n_rows = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);

    mn__arena_init(&a, 0);
    for (i = 0; i < acks->n; i++) {
        char user[16];
        mn__pkey k = {"t", MN_SCOPE_USER, user};
        snprintf(user, sizeof user, "w%d", acks->a[i].thread);
        ASSERT_OK(OPS->get(s, &k, acks->a[i].id, &a, &out, &err), &err);
        if (a.total > (1u << 20)) {
            mn__arena_release(&a);
            mn__arena_init(&a, 0);
        }
    }
    mn__arena_release(&a);
    /* Extra rows can only be the batches in flight at each kill: committed, not acknowledged. */
    ASSERT(n_rows >= (long long)acks->n);
    ASSERT(n_rows <= (long long)acks->n + n_crashes * CRASH_THREADS * 3);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.n_memories, n_rows); /* partition counts are transactional too */
    OPS->close(s);
}

TEST(store_kill9_loses_no_acknowledged_write)
{
    char path[512];
    struct acks acks = {0};
    unsigned seed = (unsigned)(time(NULL) ^ getpid());
    int cycle;
    snprintf(path, sizeof path, "%s/crash/m.db", t_tmpdir());
    for (cycle = 0; cycle < 3; cycle++) {
        crash_cycle(path, &acks, &seed);
        check_after_crash(path, &acks, cycle + 1);
    }
    mn__free(acks.a);
}

/* ---- a group's size is bounded ---------------------------------------------------------------*/

#define BIG_BATCH 5000

struct big {
    mn__store *s;
    mn__row *rows;
    int rc;
    mn_err err;
};

static void *big_main(void *arg)
{
    struct big *b = arg;
    b->rc = OPS->put_batch(b->s, b->rows, BIG_BATCH, &b->err);
    return NULL;
}

TEST(store_group_is_bounded_by_rows)
{
    char path[512];
    mn__store *s;
    struct big b[3];
    pthread_t th[3];
    mn__store_stats st;
    mn_err err = {0};
    int i, j;
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    s = open_store(path, 0);
    mn__sq_writer_pause(s, true);
    for (i = 0; i < 3; i++) {
        b[i].s = s;
        b[i].rows = mn__calloc(BIG_BATCH, sizeof(mn__row));
        ASSERT(b[i].rows != NULL);
        for (j = 0; j < BIG_BATCH; j++)
            b[i].rows[j] = row_for("u1", "bulk");
        ASSERT_EQ(pthread_create(&th[i], NULL, big_main, &b[i]), 0);
        while (mn__sq_queue_len(s) < (size_t)i + 1) /* keep the queue order known */
            sleep_ms(1);
    }
    mn__sq_writer_pause(s, false);
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ASSERT_OK(b[i].rc, &b[i].err);
    }
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    /* 5000 + 5000 reaches the 8192-row bound: the third batch gets its own commit. */
    ASSERT_EQ(st.n_commits, 2);
    ASSERT_EQ(st.n_committed_ops, 3);
    ASSERT_EQ(st.n_memories, 3 * BIG_BATCH);
    ASSERT(b[2].rows[0].id > b[1].rows[BIG_BATCH - 1].id);
    for (i = 0; i < 3; i++)
        mn__free(b[i].rows);
    OPS->close(s);
}

/* test_store_writes.c - the SQLite write path outside the shared conformance suite: migration
 * 0004 (CHECK lists as comparisons, so that an INSERT builds no temporary b-tree) on a new
 * and on an upgraded file, and single writes run by their caller while the writer thread is
 * idle, alone and mixed with queued groups. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "../../src/store/store_int.h"
#include "t.h"

#define OPS (&mn__store_sqlite)

/* The writer's INSERT, as sqlite_writer.c prepares it. */
#define INSERT_SQL                                                                           \
    "INSERT INTO memories (tenant, scope, user_id, kind, role, status, session_id, text, "   \
    "created_at, updated_at, metadata, sources, superseded_by, embed_model, embedding) "     \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", t_tmpdir(), name);
}

static long long sql1(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs sql on the file; returns the SQLite result code. */
static int sql_run(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* How many temporary b-trees (OpenEphemeral) the program of the writer's INSERT opens. */
static int insert_temp_btrees(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = 0;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "EXPLAIN " INSERT_SQL, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        n += !strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int newest(void)
{
    int i, v = 0;
    for (i = 0; mn__migrations[i].sql; i++)
        v = MN_MAX(v, mn__migrations[i].version);
    return v;
}

static mn__row row(const char *user, const char *text)
{
    mn__row r;
    memset(&r, 0, sizeof r);
    r.tenant = "t";
    r.scope = MN_SCOPE_USER;
    r.user_id = user;
    r.text = text;
    return r;
}

/* The CHECKs still refuse what 0001's refused, and accept what it accepted. */
static void checks_hold(const char *path)
{
    static const char *const bad[] = {
        "INSERT INTO memories (tenant, scope, user_id, kind, text, created_at, updated_at) "
        "VALUES ('t', 'user', 'u', 'note', 'x', 1, 1)",
        "INSERT INTO memories (tenant, scope, user_id, kind, status, text, created_at, "
        "updated_at) VALUES ('t', 'user', 'u', 'fact', 'gone', 'x', 1, 1)",
        "INSERT INTO memories (tenant, scope, user_id, kind, status, text, created_at, "
        "updated_at) VALUES ('t', 'user', 'u', NULL, 'active', 'x', 1, 1)",
        "INSERT INTO memory_history (memory_id, tenant, version_at, text, status) "
        "VALUES (1, 't', 1, 'x', 'deleted')",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_EQ(sql_run(path, bad[i]) & 0xff, SQLITE_CONSTRAINT);
    ASSERT_EQ(sql_run(path, "INSERT INTO memories (tenant, scope, user_id, kind, status, text, "
                            "created_at, updated_at) VALUES ('t', 'user', 'u', 'summary', "
                            "'superseded', 'ok', 1, 1)"),
              SQLITE_OK);
}

TEST(store_sqlite_new_file_insert_builds_no_temp_btree)
{
    char path[512];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn_err err = {0};
    db_path(path, sizeof path, "m.db");
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    OPS->close(s);
    ASSERT_EQ(insert_temp_btrees(path), 0);
    checks_hold(path);
}

/* A file written by the migrations before 0004 is upgraded in place: its rows stay, its
 * CHECKs become comparisons, and the writer's own connection uses the new text at once. */
TEST(store_sqlite_0004_upgrades_an_older_file)
{
    char path[512], sql[128];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn__store_stats st;
    mn__row r = row("u1", "written before the upgrade");
    mn_err err = {0};
    int i;
    db_path(path, sizeof path, "old.db");
    for (i = 0; mn__migrations[i].sql && mn__migrations[i].version < 4; i++)
        ASSERT_EQ(sql_run(path, mn__migrations[i].sql), SQLITE_OK);
    ASSERT_EQ(i, 3);
    snprintf(sql, sizeof sql,
             "INSERT INTO meta (key, value) VALUES ('schema_version', '%d')", i);
    ASSERT_EQ(sql_run(path, sql), SQLITE_OK);
    ASSERT_EQ(sql_run(path, "INSERT INTO memories (tenant, scope, user_id, kind, text, "
                            "created_at, updated_at) VALUES ('t', 'user', 'u0', 'message', "
                            "'old row', 1, 1)"),
              SQLITE_OK);
    ASSERT_EQ(insert_temp_btrees(path), 2); /* kind and status: the cost 0004 removes */

    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.schema_version, newest());
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT(r.id > 1);
    OPS->close(s);

    ASSERT_EQ(insert_temp_btrees(path), 0);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%kind IN (%' "
                         "OR sql LIKE '%status IN (%'"),
              0);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'migration%'"), 0);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM memories WHERE text = 'old row'"), 1);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM pragma_integrity_check WHERE "
                         "integrity_check <> 'ok'"),
              0);
    checks_hold(path);
}

/* Single writes with nobody else writing run on the caller's thread: each is its own
 * commit; a request that fails alone leaves nothing behind and the next one works. */
TEST(store_sqlite_single_writes_commit_one_by_one)
{
    char path[512];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn__store_stats st0, st;
    mn__pkey k = {"t", MN_SCOPE_USER, "u1"};
    mn__row r = row("u1", "first"), bad = row("u1", "bad kind");
    mn_err err = {0};
    int64_t n_del = 0;
    int i;
    db_path(path, sizeof path, "m.db");
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    ASSERT_OK(OPS->stats(s, &st0, &err), &err);
    for (i = 0; i < 5; i++) {
        r = row("u1", "one of five");
        ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
        ASSERT(r.id > 0);
    }
    ASSERT_EQ(OPS->delete_one(s, &k, 999999, &err), MN_ENOTFOUND);
    ASSERT(strstr(err.msg, "999999") != NULL);
    bad.metadata_json = "[1, 2]"; /* refused by the CHECK (an object is expected) */
    ASSERT_EQ(OPS->put_batch(s, &bad, 1, &err), MN_EINVAL);
    ASSERT_EQ(bad.id, 0);
    ASSERT_OK(OPS->delete_one(s, &k, r.id, &err), &err);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.n_commits - st0.n_commits, 6);
    ASSERT_EQ(st.n_committed_ops - st0.n_committed_ops, 6);
    ASSERT_EQ(st.n_memories, 4);
    ASSERT_OK(OPS->delete_partition(s, &k, &n_del, &err), &err);
    ASSERT_EQ(n_del, 4);
    OPS->close(s);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM memories"), 0);
    ASSERT_EQ(sql1(path, "SELECT n_memories FROM partitions WHERE user_id = 'u1'"), 0);
}

#define N_THREADS 8
#define N_PER_THREAD 150

struct writer {
    mn__store *s;
    int t, rc;
    mn_id ids[N_PER_THREAD];
    mn_err err;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char user[16];
    int i;
    snprintf(user, sizeof user, "u%d", w->t % 3);
    for (i = 0; i < N_PER_THREAD && w->rc == MN_OK; i++) {
        mn__row r = row(user, "concurrent single add");
        w->rc = OPS->put_batch(w->s, &r, 1, &w->err);
        w->ids[i] = r.id;
    }
    return NULL;
}

/* No commit delay: callers alternate between running alone and joining the writer's groups.
 * Every add is stored once, with its own id, and the partition counts agree. */
TEST(store_sqlite_inline_and_grouped_writes_mix)
{
    char path[512];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn__store_stats st;
    static struct writer w[N_THREADS];
    pthread_t th[N_THREADS];
    mn_err err = {0};
    int i, j, t2, j2;
    db_path(path, sizeof path, "m.db");
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
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
    ASSERT_EQ(st.n_memories, N_THREADS * N_PER_THREAD);
    ASSERT_EQ(st.n_committed_ops, N_THREADS * N_PER_THREAD);
    OPS->close(s);
    for (i = 0; i < N_THREADS; i++)
        for (j = 0; j < N_PER_THREAD; j++) {
            ASSERT(w[i].ids[j] > 0);
            for (t2 = i; t2 < N_THREADS; t2++)
                for (j2 = t2 == i ? j + 1 : 0; j2 < N_PER_THREAD; j2++)
                    ASSERT(w[i].ids[j] != w[t2].ids[j2]);
        }
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM memories"), N_THREADS * N_PER_THREAD);
    ASSERT_EQ(sql1(path, "SELECT sum(n_memories) FROM partitions"), N_THREADS * N_PER_THREAD);
}

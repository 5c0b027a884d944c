/* store_conformance.c - the one list of store tests that every backend must pass: schema
 * and migrations, round trips of every field, list filters and pagination, updates with
 * history, deletes, partition versions, atomic batches, refused schemas, read-only mode,
 * allocation failures, group commit, many writers, kill -9 during load and bounded groups.
 * Each STORE_TEST runs on SQLite as "store_<name>" and, when MNEMO_TEST_PG holds a server
 * URI (tests/suites/pg.sh starts one with scripts/pg-tmp), on PostgreSQL as
 * "pg_store_<name>", each PostgreSQL test in fresh schemas of its own. Tests of one backend
 * only (SQLite file corruption, WAL, integrity_check) live in test_store.c. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
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

/* ---- the backend under test -----------------------------------------------------------------*/

enum { BE_SQLITE, BE_PG };
#define MAX_STORES 96

static struct {
    int kind;
    const struct mn__store_ops *ops;
    const char *base;  /* MNEMO_TEST_PG */
    PGconn *admin;
    int n;
    char names[MAX_STORES][64];
    char uris[MAX_STORES][1024];
    char schemas[MAX_STORES][96];
} B;

#define OPS (B.ops)

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void be_start(int kind)
{
    memset(&B, 0, sizeof B);
    B.kind = kind;
    B.ops = kind == BE_PG ? &mn__store_pg : &mn__store_sqlite;
    if (kind != BE_PG)
        return;
    B.base = getenv("MNEMO_TEST_PG");
    ASSERT(B.base && B.base[0]);
    B.admin = PQconnectdb(B.base);
    if (PQstatus(B.admin) != CONNECTION_OK)
        t_fail(__FILE__, __LINE__, "cannot connect to MNEMO_TEST_PG: %s",
               PQerrorMessage(B.admin));
    PQsetNoticeProcessor(B.admin, quiet, NULL);
}

static void be_finish(void)
{
    int i;
    if (B.kind != BE_PG)
        return;
    for (i = 0; i < B.n; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", B.schemas[i]);
        PQclear(PQexec(B.admin, sql));
    }
    PQfinish(B.admin);
}

/* The location of the test's store called name: a file in the test's directory, or a fresh
 * schema of the PostgreSQL database (search_path set in the URI). Same name, same store. */
static const char *be_uri(const char *name)
{
    int i;
    for (i = 0; i < B.n; i++)
        if (!strcmp(B.names[i], name))
            return B.uris[i];
    ASSERT(B.n < MAX_STORES);
    i = B.n++;
    memcpy(B.names[i], name, MN_MIN(strlen(name) + 1, sizeof B.names[i]));
    B.names[i][sizeof B.names[i] - 1] = '\0';
    if (B.kind == BE_SQLITE) {
        snprintf(B.uris[i], sizeof B.uris[i], "%s/%s", t_tmpdir(), name);
    } else {
        char sql[160];
        size_t o, j;
        PGresult *r;
        o = (size_t)snprintf(B.schemas[i], sizeof B.schemas[i], "mnemo_t%d_", (int)getpid());
        for (j = 0; name[j] && o + 1 < sizeof B.schemas[i]; j++) {
            char c = name[j];
            B.schemas[i][o++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
        }
        B.schemas[i][o] = '\0';
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", B.schemas[i]);
        r = PQexec(B.admin, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            t_fail(__FILE__, __LINE__, "%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        {
            char schema[96];
            memcpy(schema, B.schemas[i], sizeof schema);
            snprintf(B.uris[i], sizeof B.uris[i], "%s%coptions=-csearch_path%%3D%s", B.base,
                     strchr(B.base, '?') ? '&' : '?', schema);
        }
    }
    return B.uris[i];
}

/* Runs one SQL statement on the store at uri directly, outside mnemo; returns the first
 * column of the first row as an integer (or -1). */
static long long be_sql1(const char *uri, const char *sql)
{
    long long v = -1;
    if (B.kind == BE_SQLITE) {
        sqlite3 *db;
        sqlite3_stmt *st;
        ASSERT_EQ(sqlite3_open(uri, &db), SQLITE_OK);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            t_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(uri);
        PGresult *r;
        ASSERT(PQstatus(c) == CONNECTION_OK);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            t_fail(__FILE__, __LINE__, "%s: %s", sql, PQresultErrorMessage(r));
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
    }
    return v;
}

/* Tables of the store at uri. */
static long long be_tables(const char *uri)
{
    return be_sql1(uri, B.kind == BE_SQLITE
                            ? "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                            : "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()");
}

static int be_newest_schema(void)
{
    const struct mn__migration *m = B.kind == BE_PG ? mn__pg_migrations : mn__migrations;
    int i, v = 0;
    for (i = 0; m[i].sql; i++)
        v = m[i].version > v ? m[i].version : v;
    return v;
}

/* Registers the test body as store_<name> (SQLite) and pg_store_<name> (PostgreSQL, only
 * when MNEMO_TEST_PG is set: the suite that sets it fails when no server can start). */
#define STORE_TEST(name)                                                                     \
    static void st_##name(void);                                                             \
    static void sq_##name(void)                                                              \
    {                                                                                        \
        be_start(BE_SQLITE);                                                                 \
        st_##name();                                                                         \
        be_finish();                                                                         \
    }                                                                                        \
    static void pg_##name(void)                                                              \
    {                                                                                        \
        be_start(BE_PG);                                                                     \
        st_##name();                                                                         \
        be_finish();                                                                         \
    }                                                                                        \
    __attribute__((constructor)) static void reg_st_##name(void)                             \
    {                                                                                        \
        t_register("store_" #name, __FILE__, sq_##name);                                     \
        if (getenv("MNEMO_TEST_PG"))                                                         \
            t_register("pg_store_" #name, __FILE__, pg_##name);                              \
    }                                                                                        \
    static void st_##name(void)

/* ---- helpers --------------------------------------------------------------------------------*/

static mn__store *open_store_delay(const char *path, int commit_delay_us)
{
    mn__store *s = NULL;
    mn_err err = {0};
    mn__store_cfg cfg = {0};
    cfg.commit_delay_us = commit_delay_us;
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    ASSERT(s != NULL);
    return s;
}

static mn__store *open_store(const char *path)
{
    return open_store_delay(path, 0);
}

static mn__row user_row(const char *user, const char *text)
{
    mn__row r;
    memset(&r, 0, sizeof r);
    r.tenant = "t1";
    r.scope = MN_SCOPE_USER;
    r.user_id = user;
    r.kind = MN_KIND_MESSAGE;
    r.role = MN_ROLE_USER;
    r.status = MN_STATUS_ACTIVE;
    r.text = text;
    return r;
}

static mn__row row_for(const char *user, const char *text)
{
    mn__row r = user_row(user, text);
    r.tenant = "t";
    r.role = MN_ROLE_NONE;
    return r;
}

static mn_id put1(mn__store *s, mn__row r)
{
    mn_err err = {0};
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT(r.id > 0);
    return r.id;
}

static int64_t version_of(mn__store *s, const char *tenant, const char *user)
{
    mn__pkey k = {tenant, user ? MN_SCOPE_USER : MN_SCOPE_SYSTEM, user};
    int64_t v = -1;
    mn_err err = {0};
    ASSERT_OK(OPS->version(s, &k, &v, &err), &err);
    return v;
}

static int has_ci(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

/* ---- schema ---------------------------------------------------------------------------------*/

STORE_TEST(migrates_empty_store)
{
    const char *path = be_uri("m.db");
    mn__store *s = open_store(path);
    mn__store_stats st;
    mn_err err = {0};
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.schema_version, be_newest_schema());
    ASSERT_EQ(st.n_memories, 0);
    ASSERT(st.file_bytes > 0);
    OPS->close(s);
    ASSERT_EQ(be_sql1(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
              be_newest_schema());
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM memories"), 0);
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM partitions"), 0);
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM memory_history"), 0);
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM api_keys"), 0);
    /* opening again applies nothing */
    s = open_store(path);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.schema_version, be_newest_schema());
    OPS->close(s);
}

STORE_TEST(reopen_keeps_data_and_version)
{
    const char *path;
    mn__store *s;
    mn__row out;
    mn__arena a;
    mn__store_stats st;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn_err err = {0};
    mn_id id;
    path = be_uri("m.db");
    s = open_store(path);
    id = put1(s, user_row("u1", "I live in Lisbon"));
    put1(s, user_row("u1", "I like tea"));
    ASSERT_EQ(version_of(s, "t1", "u1"), 2);
    OPS->close(s);

    s = open_store(path);
    mn__arena_init(&a, 0);
    ASSERT_OK(OPS->get(s, &k, id, &a, &out, &err), &err);
    ASSERT_STR(out.text, "I live in Lisbon");
    ASSERT_EQ(version_of(s, "t1", "u1"), 2);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.schema_version, be_newest_schema());
    ASSERT_EQ(st.n_memories, 2);
    mn__arena_release(&a);
    OPS->close(s);
}

STORE_TEST(roundtrip_every_field)
{
    const char *path;
    mn__store *s;
    mn__row r, out;
    mn__arena a;
    mn_id srcs[3] = {7, 8, 123456789012LL};
    float vec[5] = {0.5f, -1.25f, 3.0f, 0.0f, 1e-3f};
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn__pkey sys = {"t1", MN_SCOPE_SYSTEM, NULL};
    mn_err err = {0};
    int i;
    path = be_uri("m.db");
    s = open_store(path);
    r = user_row("u1", "Summary: likes tea, lives in Lisbon");
    r.kind = MN_KIND_SUMMARY;
    r.role = MN_ROLE_ASSISTANT;
    r.status = MN_STATUS_ARCHIVED;
    r.session_id = "s-42";
    r.metadata_json = "{\"topic\":\"life\",\"n\":2}";
    r.created_at_ms = 1683554160000LL;
    r.sources = srcs;
    r.n_sources = 3;
    r.superseded_by = 99;
    r.embed_model = "mock-5";
    r.embedding = vec;
    r.dim = 5;
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT(r.id > 0);
    ASSERT_EQ(r.created_at_ms, 1683554160000LL);
    ASSERT_EQ(r.updated_at_ms, 1683554160000LL);

    mn__arena_init(&a, 0);
    ASSERT_OK(OPS->get(s, &k, r.id, &a, &out, &err), &err);
    ASSERT_EQ(out.id, r.id);
    ASSERT_STR(out.tenant, "t1");
    ASSERT_STR(out.user_id, "u1");
    ASSERT_EQ(out.scope, MN_SCOPE_USER);
    ASSERT_EQ(out.kind, MN_KIND_SUMMARY);
    ASSERT_EQ(out.role, MN_ROLE_ASSISTANT);
    ASSERT_EQ(out.status, MN_STATUS_ARCHIVED);
    ASSERT_STR(out.session_id, "s-42");
    ASSERT_STR(out.text, "Summary: likes tea, lives in Lisbon");
    ASSERT_STR(out.metadata_json, "{\"topic\":\"life\",\"n\":2}");
    ASSERT_EQ(out.created_at_ms, 1683554160000LL);
    ASSERT_EQ(out.n_sources, 3);
    for (i = 0; i < 3; i++)
        ASSERT_EQ(out.sources[i], srcs[i]);
    ASSERT_EQ(out.superseded_by, 99);
    ASSERT_STR(out.embed_model, "mock-5");
    ASSERT_EQ(out.dim, 5);
    for (i = 0; i < 5; i++)
        ASSERT_EQ(out.embedding[i], vec[i]);

    /* Absent fields come back NULL/0; a pending embedding has no model. */
    r = user_row("u1", "plain");
    r.role = MN_ROLE_NONE;
    r.kind = 0;   /* defaults to message */
    r.status = 0; /* defaults to active */
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT(r.created_at_ms > 0);
    ASSERT_OK(OPS->get(s, &k, r.id, &a, &out, &err), &err);
    ASSERT_EQ(out.kind, MN_KIND_MESSAGE);
    ASSERT_EQ(out.status, MN_STATUS_ACTIVE);
    ASSERT_EQ(out.role, MN_ROLE_NONE);
    ASSERT(out.session_id == NULL && out.metadata_json == NULL && out.sources == NULL);
    ASSERT(out.embed_model == NULL && out.embedding == NULL && out.dim == 0);
    ASSERT_EQ(out.created_at_ms, r.created_at_ms);

    /* Several rows from one snapshot (where the backend has get_many): absent ids and
     * rows of another partition come back not found, in place. */
    if (OPS->get_many) {
        mn_id ids[4];
        mn__row outs[4];
        bool found[4];
        mn__row other = user_row("u2", "not yours");
        ASSERT_OK(OPS->put_batch(s, &other, 1, &err), &err);
        ids[0] = r.id;
        ids[1] = r.id + 1000000;
        ids[2] = other.id;
        ids[3] = r.id;
        ASSERT_OK(OPS->get_many(s, &k, ids, 4, &a, outs, found, &err), &err);
        ASSERT(found[0] && !found[1] && !found[2] && found[3]);
        ASSERT_STR(outs[0].text, "plain");
        ASSERT_EQ(outs[3].id, r.id);
    }

    /* A row of another partition is not found, nor is the system scope's. */
    k.user_id = "u2";
    ASSERT_EQ(OPS->get(s, &k, r.id, &a, &out, &err), MN_ENOTFOUND);
    ASSERT(strstr(err.msg, "u2") != NULL);
    ASSERT_EQ(OPS->get(s, &sys, r.id, &a, &out, &err), MN_ENOTFOUND);

    /* System scope. */
    r = user_row(NULL, "Our store opens at 9");
    r.scope = MN_SCOPE_SYSTEM;
    r.kind = MN_KIND_FACT;
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT_OK(OPS->get(s, &sys, r.id, &a, &out, &err), &err);
    ASSERT(out.user_id == NULL);
    ASSERT_EQ(out.scope, MN_SCOPE_SYSTEM);
    ASSERT_EQ(version_of(s, "t1", NULL), 1);
    mn__arena_release(&a);
    OPS->close(s);
}

STORE_TEST(rejects_bad_rows_before_writing)
{
    const char *path;
    mn__store *s;
    mn__row r[2];
    mn_err err = {0};
    path = be_uri("m.db");
    s = open_store(path);
    r[0] = user_row("u1", "ok");
    r[1] = user_row(NULL, "user scope without user");
    ASSERT_EQ(OPS->put_batch(s, r, 2, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "row 1") != NULL);
    r[1] = user_row("u1", NULL);
    ASSERT_EQ(OPS->put_batch(s, r, 2, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "text") != NULL);
    r[1] = user_row("u1", "x");
    r[1].scope = MN_SCOPE_SYSTEM;
    ASSERT_EQ(OPS->put_batch(s, r, 2, &err), MN_EINVAL);
    r[1] = user_row("u1", "x");
    r[1].dim = 3;
    ASSERT_EQ(OPS->put_batch(s, r, 2, &err), MN_EINVAL);
    ASSERT_EQ(r[0].id, 0);
    ASSERT_EQ(version_of(s, "t1", "u1"), 0);
    OPS->close(s);
}

STORE_TEST(batch_is_all_or_nothing)
{
    const char *path;
    mn__store *s;
    mn__row r[3];
    mn__store_stats st;
    mn_err err = {0};
    path = be_uri("m.db");
    s = open_store(path);
    put1(s, user_row("u1", "before"));
    r[0] = user_row("u1", "one");
    r[1] = user_row("u2", "two");
    r[2] = user_row("u1", "three");
    r[2].metadata_json = "[1,2]"; /* not an object: the schema refuses it */
    ASSERT_EQ(OPS->put_batch(s, r, 3, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "row 2") != NULL);
    ASSERT_EQ(r[0].id, 0);
    ASSERT_EQ(r[1].id, 0);
    ASSERT_EQ(r[2].id, 0);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.n_memories, 1);
    ASSERT_EQ(version_of(s, "t1", "u1"), 1);
    ASSERT_EQ(version_of(s, "t1", "u2"), 0);
    r[2].metadata_json = "{not json";
    ASSERT_EQ(OPS->put_batch(s, r, 3, &err), MN_EINVAL);
    r[2].metadata_json = "{\"a\":1}";
    ASSERT_OK(OPS->put_batch(s, r, 3, &err), &err);
    ASSERT(r[0].id < r[1].id && r[1].id < r[2].id);
    ASSERT_EQ(version_of(s, "t1", "u1"), 3); /* two runs of u1 rows, one bump each */
    ASSERT_EQ(version_of(s, "t1", "u2"), 1);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.n_memories, 4);
    OPS->close(s);
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM memories"), 4);
}

/* ---- list ----------------------------------------------------------------------------------*/

static mn__store *seed_list(const char *path, mn_id ids[20])
{
    mn__store *s = open_store(path);
    mn__row r[20];
    char texts[20][24];
    mn_err err = {0};
    int i;
    /* 20 rows: kinds cycle message/preference/fact/summary, every 5th archived, even ones
     * in session "a", created at 1000*i. */
    for (i = 0; i < 20; i++) {
        snprintf(texts[i], sizeof texts[i], "memory %d", i);
        r[i] = user_row("u1", texts[i]);
        r[i].kind = (mn_kind)(1 + i % 4);
        r[i].status = i % 5 == 0 ? MN_STATUS_ARCHIVED : MN_STATUS_ACTIVE;
        r[i].session_id = i % 2 ? NULL : "a";
        r[i].created_at_ms = 1000 * (i + 1);
    }
    ASSERT_OK(OPS->put_batch(s, r, 20, &err), &err);
    for (i = 0; i < 20; i++)
        ids[i] = r[i].id;
    put1(s, user_row("u2", "other user"));
    return s;
}

static int64_t list_n(mn__store *s, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                      mn__row **rows, size_t *n)
{
    int64_t total = -1;
    mn_err err = {0};
    ASSERT_OK(OPS->list(s, f, after, limit, a, rows, n, &total, &err), &err);
    return total;
}


STORE_TEST(list_filters)
{
    const char *path;
    mn__store *s;
    mn_id ids[20];
    mn_filter f;
    mn__arena a;
    mn__row *rows;
    size_t n, i;
    mn_err err = {0};
    int64_t total;
    path = be_uri("m.db");
    s = seed_list(path, ids);
    mn__arena_init(&a, 0);
    memset(&f, 0, sizeof f);
    f.tenant = "t1";
    f.user_id = "u1";

    /* Default: active only, newest first. */
    total = list_n(s, &f, 0, 100, &a, &rows, &n);
    ASSERT_EQ(total, 16);
    ASSERT_EQ(n, 16);
    ASSERT_EQ(rows[0].id, ids[19]);
    for (i = 1; i < n; i++)
        ASSERT(rows[i].id < rows[i - 1].id);
    for (i = 0; i < n; i++) {
        ASSERT_EQ(rows[i].status, MN_STATUS_ACTIVE);
        ASSERT_STR(rows[i].user_id, "u1");
        ASSERT(rows[i].embedding == NULL);
    }

    f.statuses = MN_STATUS_BIT(MN_STATUS_ARCHIVED);
    ASSERT_EQ(list_n(s, &f, 0, 100, &a, &rows, &n), 4);
    f.statuses = MN_STATUS_BIT(MN_STATUS_ARCHIVED) | MN_STATUS_BIT(MN_STATUS_ACTIVE);
    ASSERT_EQ(list_n(s, &f, 0, 100, &a, &rows, &n), 20);

    f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE) | MN_KIND_BIT(MN_KIND_FACT);
    ASSERT_EQ(list_n(s, &f, 0, 100, &a, &rows, &n), 10);
    for (i = 0; i < n; i++)
        ASSERT(rows[i].kind == MN_KIND_PREFERENCE || rows[i].kind == MN_KIND_FACT);

    f.kinds = 0;
    f.session_id = "a";
    ASSERT_EQ(list_n(s, &f, 0, 100, &a, &rows, &n), 10);
    for (i = 0; i < n; i++)
        ASSERT_STR(rows[i].session_id, "a");

    f.session_id = NULL;
    f.since_ms = 5000; /* rows 4.. */
    f.until_ms = 9000; /* ..7 */
    ASSERT_EQ(list_n(s, &f, 0, 100, &a, &rows, &n), 4);
    ASSERT_EQ(rows[0].created_at_ms, 8000);
    ASSERT_EQ(rows[3].created_at_ms, 5000);

    /* Limit 0 counts only; bad masks and missing users are refused. */
    f.since_ms = f.until_ms = 0;
    ASSERT_EQ(list_n(s, &f, 0, 0, &a, &rows, &n), 20);
    ASSERT_EQ(n, 0);
    f.kinds = 1u << 9;
    ASSERT_EQ(OPS->list(s, &f, 0, 10, &a, &rows, &n, &total, &err), MN_EINVAL);
    f.kinds = 0;
    f.user_id = NULL;
    ASSERT_EQ(OPS->list(s, &f, 0, 10, &a, &rows, &n, &total, &err), MN_EINVAL);
    f.user_id = "nobody";
    ASSERT_EQ(list_n(s, &f, 0, 10, &a, &rows, &n), 0);
    ASSERT_EQ(n, 0);
    f.user_id = "u1";
    f.tenant = "t2";
    ASSERT_EQ(list_n(s, &f, 0, 10, &a, &rows, &n), 0);
    mn__arena_release(&a);
    OPS->close(s);
}

STORE_TEST(list_pagination)
{
    const char *path;
    mn__store *s;
    mn_id ids[20], after = 0, seen[20];
    mn_filter f;
    mn__arena a;
    mn__row *rows;
    size_t n, n_seen = 0, i;
    int pages = 0;
    path = be_uri("m.db");
    s = seed_list(path, ids);
    mn__arena_init(&a, 0);
    memset(&f, 0, sizeof f);
    f.tenant = "t1";
    f.user_id = "u1";
    f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED);
    for (;;) {
        int64_t total = list_n(s, &f, after, 6, &a, &rows, &n);
        ASSERT_EQ(total, 20); /* the total ignores the cursor */
        if (n == 0)
            break;
        pages++;
        ASSERT(n <= 6);
        for (i = 0; i < n; i++) {
            ASSERT(n_seen < 20);
            seen[n_seen++] = rows[i].id;
        }
        after = rows[n - 1].id;
    }
    ASSERT_EQ(pages, 4);
    ASSERT_EQ(n_seen, 20);
    for (i = 0; i < 20; i++)
        ASSERT_EQ(seen[i], ids[19 - i]);
    mn__arena_release(&a);
    OPS->close(s);
}

/* ---- update, history, delete ---------------------------------------------------------------*/

struct hist {
    int n;
    char text[4][32];
    mn_status status[4];
    int64_t at[4];
};

static int hist_fn(void *ctx, const mn__row *r)
{
    struct hist *h = ctx;
    if (h->n < 4) {
        snprintf(h->text[h->n], sizeof h->text[0], "%s", r->text);
        h->status[h->n] = r->status;
        h->at[h->n] = r->updated_at_ms;
    }
    h->n++;
    return 0;
}


STORE_TEST(update_keeps_history)
{
    const char *path;
    mn__store *s;
    mn__row r, out;
    mn__row_patch p;
    mn__arena a;
    struct hist h;
    float vec[3] = {1, 2, 3};
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"}, other = {"t1", MN_SCOPE_USER, "u2"};
    mn_err err = {0};
    int64_t v0;
    path = be_uri("m.db");
    s = open_store(path);
    mn__arena_init(&a, 0);
    r = user_row("u1", "I like coffee");
    r.created_at_ms = 1000;
    r.metadata_json = "{\"v\":1}";
    r.embed_model = "m";
    r.embedding = vec;
    r.dim = 3;
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    v0 = version_of(s, "t1", "u1");

    memset(&p, 0, sizeof p);
    p.text = "I like tea";
    p.clear_embedding = true;
    ASSERT_OK(OPS->update(s, &k, r.id, &p, &err), &err);
    ASSERT_EQ(version_of(s, "t1", "u1"), v0 + 1);
    ASSERT_OK(OPS->get(s, &k, r.id, &a, &out, &err), &err);
    ASSERT_STR(out.text, "I like tea");
    ASSERT_STR(out.metadata_json, "{\"v\":1}"); /* untouched */
    ASSERT(out.embedding == NULL && out.embed_model == NULL);
    ASSERT(out.updated_at_ms > 1000);
    ASSERT_EQ(out.created_at_ms, 1000);

    memset(&p, 0, sizeof p);
    p.status = MN_STATUS_SUPERSEDED;
    p.superseded_by = 77;
    ASSERT_OK(OPS->update(s, &k, r.id, &p, &err), &err);

    /* Embedding only: no new history entry. */
    memset(&p, 0, sizeof p);
    p.embed_model = "m2";
    p.embedding = vec;
    p.dim = 3;
    ASSERT_OK(OPS->update(s, &k, r.id, &p, &err), &err);
    ASSERT_OK(OPS->get(s, &k, r.id, &a, &out, &err), &err);
    ASSERT_EQ(out.status, MN_STATUS_SUPERSEDED);
    ASSERT_EQ(out.superseded_by, 77);
    ASSERT_STR(out.embed_model, "m2");
    ASSERT_EQ(out.dim, 3);
    ASSERT_EQ(out.embedding[2], 3.0f);

    memset(&h, 0, sizeof h);
    ASSERT_OK(OPS->history(s, &k, r.id, hist_fn, &h, &err), &err);
    ASSERT_EQ(h.n, 2);
    ASSERT_STR(h.text[0], "I like coffee");
    ASSERT_EQ(h.at[0], 1000);
    ASSERT_EQ(h.status[0], MN_STATUS_ACTIVE);
    ASSERT_STR(h.text[1], "I like tea");
    ASSERT_EQ(h.status[1], MN_STATUS_ACTIVE);

    /* Another partition cannot see or change it. */
    memset(&p, 0, sizeof p);
    p.text = "hijack";
    ASSERT_EQ(OPS->update(s, &other, r.id, &p, &err), MN_ENOTFOUND);
    ASSERT_EQ(OPS->history(s, &other, r.id, hist_fn, &h, &err), MN_ENOTFOUND);
    ASSERT_EQ(OPS->update(s, &k, r.id + 1000, &p, &err), MN_ENOTFOUND);
    p.metadata_json = "\"not an object\"";
    p.text = NULL;
    ASSERT_EQ(OPS->update(s, &k, r.id, &p, &err), MN_EINVAL);
    memset(&h, 0, sizeof h);
    ASSERT_OK(OPS->history(s, &k, r.id, hist_fn, &h, &err), &err);
    ASSERT_EQ(h.n, 2); /* the failed update left nothing behind */

    /* A memory without history gives no rows, not an error. */
    memset(&h, 0, sizeof h);
    ASSERT_OK(OPS->history(s, &k, put1(s, user_row("u1", "fresh")), hist_fn, &h, &err),
              &err);
    ASSERT_EQ(h.n, 0);
    mn__arena_release(&a);
    OPS->close(s);
}

STORE_TEST(delete_one_and_partition)
{
    const char *path;
    mn__store *s;
    mn__row r[5], out;
    mn__row_patch p;
    mn__arena a;
    mn__store_stats st;
    mn__pkey k1 = {"t1", MN_SCOPE_USER, "u1"}, k2 = {"t1", MN_SCOPE_USER, "u2"};
    mn__pkey sys = {"t1", MN_SCOPE_SYSTEM, NULL};
    mn_err err = {0};
    int64_t n = -1, v;
    mn_id newest;
    int i;
    path = be_uri("m.db");
    s = open_store(path);
    mn__arena_init(&a, 0);
    for (i = 0; i < 4; i++)
        r[i] = user_row(i < 3 ? "u1" : "u2", "x");
    r[4] = user_row(NULL, "system");
    r[4].scope = MN_SCOPE_SYSTEM;
    ASSERT_OK(OPS->put_batch(s, r, 5, &err), &err);
    memset(&p, 0, sizeof p);
    p.text = "y";
    ASSERT_OK(OPS->update(s, &k1, r[0].id, &p, &err), &err);

    v = version_of(s, "t1", "u1");
    ASSERT_OK(OPS->delete_one(s, &k1, r[1].id, &err), &err);
    ASSERT_EQ(version_of(s, "t1", "u1"), v + 1);
    ASSERT_EQ(OPS->get(s, &k1, r[1].id, &a, &out, &err), MN_ENOTFOUND);
    ASSERT_EQ(OPS->delete_one(s, &k1, r[1].id, &err), MN_ENOTFOUND);
    ASSERT_EQ(OPS->delete_one(s, &k2, r[0].id, &err), MN_ENOTFOUND); /* not u2's */
    ASSERT_EQ(version_of(s, "t1", "u1"), v + 1);

    v = version_of(s, "t1", "u1");
    ASSERT_OK(OPS->delete_partition(s, &k1, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(version_of(s, "t1", "u1"), v + 1); /* never goes back to 0 */
    ASSERT_EQ(OPS->get(s, &k1, r[0].id, &a, &out, &err), MN_ENOTFOUND);
    ASSERT_OK(OPS->get(s, &k2, r[3].id, &a, &out, &err), &err);
    ASSERT_OK(OPS->get(s, &sys, r[4].id, &a, &out, &err), &err);
    ASSERT_OK(OPS->delete_partition(s, &k1, &n, &err), &err);
    ASSERT_EQ(n, 0);
    k1.user_id = "never-seen";
    ASSERT_OK(OPS->delete_partition(s, &k1, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(version_of(s, "t1", "never-seen"), 0);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.n_memories, 2);

    /* Ids are never reused, even after the newest row is deleted. */
    newest = r[4].id;
    ASSERT_OK(OPS->delete_one(s, &sys, newest, &err), &err);
    ASSERT(put1(s, user_row("u2", "later")) > newest);
    mn__arena_release(&a);
    OPS->close(s);
    ASSERT_EQ(be_sql1(path, "SELECT count(*) FROM memory_history"), 0); /* went with u1 */
    ASSERT_EQ(be_sql1(path, "SELECT sum(n_memories) FROM partitions"),
              be_sql1(path, "SELECT count(*) FROM memories"));
}

/* ---- scans ---------------------------------------------------------------------------------*/

struct collect {
    int n;
    mn_id ids[16];
    int dims[16];
    float first[16];
    int stop_after;
};

static int collect_fn(void *ctx, const mn__row *r)
{
    struct collect *c = ctx;
    if (c->n < 16) {
        c->ids[c->n] = r->id;
        c->dims[c->n] = r->dim;
        c->first[c->n] = r->embedding ? r->embedding[0] : -1.0f;
    }
    c->n++;
    return c->stop_after && c->n == c->stop_after ? 42 : 0;
}


STORE_TEST(scans)
{
    const char *path;
    mn__store *s;
    mn__row r[5];
    float vecs[5][4];
    struct collect c;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn_err err = {0};
    int i, j;
    path = be_uri("m.db");
    s = open_store(path);
    for (i = 0; i < 5; i++) {
        for (j = 0; j < 4; j++)
            vecs[i][j] = (float)(i * 10 + j);
        r[i] = user_row(i == 3 ? "u2" : "u1", "x");
        r[i].status = i == 1 ? MN_STATUS_ARCHIVED : MN_STATUS_ACTIVE;
        if (i != 2) {
            r[i].embed_model = "m";
            r[i].embedding = vecs[i];
            r[i].dim = 4;
        }
    }
    r[4].scope = MN_SCOPE_SYSTEM;
    r[4].user_id = NULL;
    ASSERT_OK(OPS->put_batch(s, r, 5, &err), &err);
    {
        mn__row other = user_row("u1", "other tenant");
        other.tenant = "t2";
        put1(s, other);
    }

    memset(&c, 0, sizeof c);
    ASSERT_OK(OPS->scan_partition(s, &k, collect_fn, &c, &err), &err);
    ASSERT_EQ(c.n, 3); /* any status */
    ASSERT_EQ(c.ids[0], r[0].id);
    ASSERT_EQ(c.ids[1], r[1].id);
    ASSERT_EQ(c.ids[2], r[2].id);
    ASSERT_EQ(c.dims[0], 4);
    ASSERT_EQ(c.first[1], 10.0f);
    ASSERT_EQ(c.dims[2], 0); /* pending */

    memset(&c, 0, sizeof c);
    ASSERT_OK(OPS->scan_tenant(s, "t1", collect_fn, &c, &err), &err);
    ASSERT_EQ(c.n, 5);
    for (i = 0; i < 5; i++)
        ASSERT_EQ(c.ids[i], r[i].id);

    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    ASSERT_EQ(OPS->scan_tenant(s, "t1", collect_fn, &c, &err), 42);
    ASSERT_EQ(c.n, 2);
    /* The connection went back to the pool mid-scan: the next read sees new rows. */
    put1(s, user_row("u1", "after the stopped scan"));
    memset(&c, 0, sizeof c);
    ASSERT_OK(OPS->scan_partition(s, &k, collect_fn, &c, &err), &err);
    ASSERT_EQ(c.n, 4);
    OPS->close(s);
}

STORE_TEST(future_schema_is_refused)
{
    const char *path = be_uri("m.db");
    mn__store *s = NULL;
    mn_err err = {0};
    OPS->close(open_store(path));
    be_sql1(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ESCHEMA);
    ASSERT(s == NULL);
    ASSERT(strstr(err.msg, "99") != NULL);
    ASSERT(strstr(err.msg, path) != NULL);
    ASSERT(err.hint[0] != '\0');
    ASSERT_EQ(be_sql1(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 99);
}

/* A database (file or schema) with tables of something else is not touched. */
STORE_TEST(foreign_store_is_refused)
{
    const char *path = be_uri("other.db");
    mn__store *s = NULL;
    mn_err err = {0};
    be_sql1(path, "CREATE TABLE memories (x int)");
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ESCHEMA);
    ASSERT(s == NULL);
    ASSERT(strstr(err.msg, "not a mnemo store") != NULL);
    ASSERT_EQ(be_tables(path), 1); /* untouched */
}

STORE_TEST(read_only)
{
    const char *path;
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn__row r = user_row("u1", "x"), out;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn__arena a;
    mn_err err = {0};
    mn_id id;
    int64_t n;
    cfg.read_only = true;
    path = be_uri("missing.db");
    ASSERT(OPS->open(path, &cfg, &s, &err) < 0);
    ASSERT(s == NULL);

    path = be_uri("m.db");
    s = open_store(path);
    id = put1(s, user_row("u1", "kept"));
    OPS->close(s);
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    mn__arena_init(&a, 0);
    ASSERT_OK(OPS->get(s, &k, id, &a, &out, &err), &err);
    ASSERT_STR(out.text, "kept");
    ASSERT_EQ(OPS->put_batch(s, &r, 1, &err), MN_EPERM);
    ASSERT_EQ(OPS->delete_partition(s, &k, &n, &err), MN_EPERM);
    mn__arena_release(&a);
    OPS->close(s);
}

/* Every allocation the store makes may fail: each run must end with a clean error or
 * success, nothing leaked (the runner checks) and nothing half-written. */
STORE_TEST(survives_allocation_failures)
{
    const char *path;
    int64_t n;
    int n_failed = 0;
    mn_id srcs[2] = {1, 2};
    float vec[2] = {1, 2};
    for (n = 1; n < 60; n++) {
        mn__store *s = NULL;
        mn__row r = user_row("u1", "text"), *rows, out;
        mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
        mn__arena a;
        mn_filter f;
        size_t nr;
        int64_t total;
        struct collect c;
        mn_err err = {0};
        int rc;
        r.sources = srcs;
        r.n_sources = 2;
        r.embed_model = "m";
        r.embedding = vec;
        r.dim = 2;
        char name[32];
        snprintf(name, sizeof name, "f%lld/m.db", (long long)n);
        path = be_uri(name);
        mn__alloc_fail_after(n);
        rc = OPS->open(path, NULL, &s, &err);
        if (rc) {
            ASSERT_EQ(rc, MN_ENOMEM);
            ASSERT(s == NULL);
            n_failed++;
            continue;
        }
        mn__arena_init(&a, 0);
        memset(&f, 0, sizeof f);
        f.tenant = "t1";
        f.user_id = "u1";
        memset(&c, 0, sizeof c);
        rc = OPS->put_batch(s, &r, 1, &err);
        ASSERT(rc == MN_OK || rc == MN_ENOMEM);
        if (rc == MN_OK)
            rc = OPS->get(s, &k, r.id, &a, &out, &err);
        if (rc == MN_OK)
            rc = OPS->list(s, &f, 0, 10, &a, &rows, &nr, &total, &err);
        if (rc == MN_OK)
            rc = OPS->scan_partition(s, &k, collect_fn, &c, &err);
        ASSERT(rc == MN_OK || rc == MN_ENOMEM);
        n_failed += rc != MN_OK;
        mn__arena_release(&a);
        OPS->close(s);
        mn__alloc_fail_after(0);
        if (rc == MN_OK && c.n == 1)
            break; /* past the last allocation: everything succeeded */
    }
    mn__alloc_fail_after(0);
    ASSERT(n_failed > 3);
    ASSERT(n < 60);
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

STORE_TEST(group_commit_isolates_requests)
{
    const char *path;
    mn__store *s;
    mn__store_stats before, after;
    mn__row r = row_for("u1", "to delete"), out;
    mn__pkey k = {"t", MN_SCOPE_USER, "u1"};
    mn__arena a;
    struct req q[4];
    pthread_t th[4];
    mn_err err = {0};
    int i;
    path = be_uri("m.db");
    s = open_store(path);
    ASSERT_OK(OPS->put_batch(s, &r, 1, &err), &err);
    ASSERT_OK(OPS->stats(s, &before, &err), &err);

    /* While paused, the four requests queue up; resuming runs them as one transaction. */
    mn__store_writer_pause(s, true);
    memset(q, 0, sizeof q);
    for (i = 0; i < 4; i++) {
        q[i].s = s;
        q[i].what = i;
        if (i == 3)
            q[i].id = r.id;
        ASSERT_EQ(pthread_create(&th[i], NULL, req_main, &q[i]), 0);
    }
    while (mn__store_queue_len(s) < 4)
        sleep_ms(1);
    mn__store_writer_pause(s, false);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);

    ASSERT_OK(q[0].rc, &q[0].err);
    ASSERT(q[0].id > 0);
    ASSERT_EQ(q[1].rc, MN_EINVAL);
    ASSERT_EQ(q[1].id, 0);
    ASSERT(has_ci(q[1].err.msg, "check"));
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

STORE_TEST(close_runs_queued_requests)
{
    const char *path;
    mn__store *s;
    struct req q;
    pthread_t th;
    path = be_uri("m.db");
    s = open_store(path);
    mn__store_writer_pause(s, true);
    memset(&q, 0, sizeof q);
    q.s = s;
    ASSERT_EQ(pthread_create(&th, NULL, req_main, &q), 0);
    while (mn__store_queue_len(s) < 1)
        sleep_ms(1);
    OPS->close(s); /* still paused: close must drain the queue anyway */
    pthread_join(th, NULL);
    ASSERT_OK(q.rc, &q.err);
    s = open_store(path);
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

STORE_TEST(concurrent_writers_group_commit)
{
    const char *path;
    mn__store *s;
    static struct writer w[N_THREADS];
    pthread_t th[N_THREADS];
    mn__store_stats st;
    struct idset set = {0};
    mn_err err = {0};
    int64_t versions = 0;
    int i, j;
    path = be_uri("m.db");
    /* A short commit delay makes grouping certain, not just likely. */
    s = open_store_delay(path, 2000);
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
    mn__store *s = open_store(path);
    mn__arena a;
    mn__row out;
    mn__store_stats st;
    mn_err err = {0};
    size_t i;
    long long n_rows;
    if (B.kind == BE_SQLITE) { /* the file itself must be sound (SQLite only) */
        sqlite3 *db;
        sqlite3_stmt *q;
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
        ASSERT_STR((const char *)sqlite3_column_text(q, 0), "ok");
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
    n_rows = be_sql1(path, "SELECT count(*) FROM memories");

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

STORE_TEST(kill9_loses_no_acknowledged_write)
{
    const char *path;
    struct acks acks = {0};
    unsigned seed = (unsigned)(time(NULL) ^ getpid());
    int cycle;
    path = be_uri("crash/m.db");
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

STORE_TEST(group_is_bounded_by_rows)
{
    const char *path;
    mn__store *s;
    struct big b[3];
    pthread_t th[3];
    mn__store_stats st;
    mn_err err = {0};
    int i, j;
    path = be_uri("m.db");
    s = open_store(path);
    mn__store_writer_pause(s, true);
    for (i = 0; i < 3; i++) {
        b[i].s = s;
        b[i].rows = mn__calloc(BIG_BATCH, sizeof(mn__row));
        ASSERT(b[i].rows != NULL);
        for (j = 0; j < BIG_BATCH; j++)
            b[i].rows[j] = row_for("u1", "bulk");
        ASSERT_EQ(pthread_create(&th[i], NULL, big_main, &b[i]), 0);
        while (mn__store_queue_len(s) < (size_t)i + 1) /* keep the queue order known */
            sleep_ms(1);
    }
    mn__store_writer_pause(s, false);
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

/* ---- API keys and users ---------------------------------------------------------------------*/

STORE_TEST(keys_and_users)
{
    const char *path = be_uri("m.db");
    mn__store *s = open_store(path);
    mn__key_row k1, k2, *rows;
    mn__user_row *users, u;
    mn__arena a;
    mn__pkey ka = {"t1", MN_SCOPE_USER, "alice"};
    mn_err err = {0};
    size_t n;
    int64_t cnt = -1, total = -1;
    int i;
    mn__arena_init(&a, 0);
    memset(&k1, 0, sizeof k1);
    memset(&k2, 0, sizeof k2);
    for (i = 0; i < 32; i++) {
        k1.hash[i] = (uint8_t)i;
        k2.hash[i] = (uint8_t)(255 - i);
    }
    k1.prefix = "mn_AAAAAAAA";
    k1.tenant = "acme";
    k1.name = "ci";
    k2.prefix = "mn_AAAAAAAA"; /* prefixes may collide; digests may not */
    k2.tenant = "globex";
    ASSERT_OK(OPS->key_put(s, &k1, &err), &err);
    ASSERT_OK(OPS->key_put(s, &k2, &err), &err);
    ASSERT(k1.id > 0 && k2.id > k1.id);
    ASSERT(k1.created_at_ms > 0);
    ASSERT_EQ(OPS->key_put(s, &k1, &err), MN_EINVAL); /* same digest */
    ASSERT_OK(OPS->key_find(s, "mn_AAAAAAAA", &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_STR(rows[0].tenant, "acme");
    ASSERT_STR(rows[0].name, "ci");
    ASSERT_STR(rows[1].name, "");
    ASSERT_EQ(rows[1].hash[0], 255);
    ASSERT_EQ(rows[0].revoked_at_ms, 0);
    ASSERT_OK(OPS->key_find(s, "mn_BBBBBBBB", &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_OK(OPS->key_count_active(s, &cnt, &err), &err);
    ASSERT_EQ(cnt, 2);
    ASSERT_OK(OPS->key_revoke(s, k2.id, &err), &err);
    ASSERT_OK(OPS->key_revoke(s, k2.id, &err), &err);
    ASSERT_EQ(OPS->key_revoke(s, k2.id + 100, &err), MN_ENOTFOUND);
    ASSERT_OK(OPS->key_count_active(s, &cnt, &err), &err);
    ASSERT_EQ(cnt, 1);
    ASSERT_OK(OPS->key_list(s, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT(rows[1].revoked_at_ms > 0);

    /* users: only those with memories, by id, paginated */
    put1(s, user_row("carol", "x"));
    put1(s, user_row("alice", "x"));
    put1(s, user_row("alice", "y"));
    put1(s, user_row("bob", "x"));
    {
        mn__row sys = user_row(NULL, "system");
        sys.scope = MN_SCOPE_SYSTEM;
        put1(s, sys);
    }
    ASSERT_OK(OPS->user_list(s, "t1", NULL, 2, &a, &users, &n, &total, &err), &err);
    ASSERT_EQ(total, 3);
    ASSERT_EQ(n, 2);
    ASSERT_STR(users[0].user_id, "alice");
    ASSERT_EQ(users[0].n_memories, 2);
    ASSERT_STR(users[1].user_id, "bob");
    ASSERT_OK(OPS->user_list(s, "t1", "bob", 2, &a, &users, &n, &total, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_STR(users[0].user_id, "carol");
    ASSERT_EQ(OPS->user_list(s, "t1", NULL, 0, &a, &users, &n, &total, &err), MN_ERANGE);
    ASSERT_OK(OPS->user_get(s, "t1", "alice", &u, &err), &err);
    ASSERT_EQ(u.n_memories, 2);
    ASSERT(u.created_at_ms > 0 && u.updated_at_ms >= u.created_at_ms);
    ASSERT_EQ(OPS->user_get(s, "t1", "zed", &u, &err), MN_ENOTFOUND);
    ASSERT_OK(OPS->delete_partition(s, &ka, NULL, &err), &err);
    ASSERT_OK(OPS->user_get(s, "t1", "alice", &u, &err), &err); /* known, now empty */
    ASSERT_EQ(u.n_memories, 0);
    ASSERT_OK(OPS->user_list(s, "t1", NULL, 10, &a, &users, &n, &total, &err), &err);
    ASSERT_EQ(total, 2);
    ASSERT_STR(users[0].user_id, "bob");
    mn__arena_release(&a);
    OPS->close(s);
}

/* ---- background embedding -------------------------------------------------------------------*/

STORE_TEST(pending_embeddings)
{
    const char *path = be_uri("m.db");
    mn__store *s = open_store(path);
    mn__row r[5], *rows, out;
    mn__embed_update u[3];
    mn__pkey k1 = {"t1", MN_SCOPE_USER, "u1"};
    mn__arena a;
    float vec[3] = {1, 2, 3}, v2[3] = {4, 5, 6};
    mn_err err = {0};
    size_t n, written = 99;
    int64_t v0;
    int i;
    ASSERT(OPS->scan_pending && OPS->set_embeddings);
    mn__arena_init(&a, 0);
    for (i = 0; i < 5; i++)
        r[i] = user_row(i < 4 ? "u1" : "u2", "x");
    r[1].embed_model = "m1"; /* embedded by model m1 */
    r[1].embedding = vec;
    r[1].dim = 3;
    ASSERT_OK(OPS->put_batch(s, r, 5, &err), &err);

    ASSERT_OK(OPS->scan_pending(s, NULL, 0, 10, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 4); /* all but the embedded one, in id order */
    ASSERT_EQ(rows[0].id, r[0].id);
    ASSERT_EQ(rows[1].id, r[2].id);
    ASSERT_STR(rows[3].user_id, "u2");
    ASSERT(rows[0].embedding == NULL);
    ASSERT_OK(OPS->scan_pending(s, NULL, r[2].id, 2, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(rows[0].id, r[3].id);
    ASSERT_OK(OPS->scan_pending(s, "m2", 0, 10, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 5); /* model m2 wants m1's vector redone too */
    ASSERT_OK(OPS->scan_pending(s, "m1", 0, 10, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(OPS->scan_pending(s, NULL, 0, 0, &a, &rows, &n, &err), MN_ERANGE);

    /* Written only where the text is still the one embedded (same updated_at). */
    v0 = version_of(s, "t1", "u1");
    memset(u, 0, sizeof u);
    for (i = 0; i < 3; i++) {
        u[i].k = k1;
        u[i].embed_model = "m2";
        u[i].vec = v2;
        u[i].dim = 3;
    }
    u[0].id = r[0].id;
    u[0].updated_at_ms = r[0].updated_at_ms;
    u[1].id = r[2].id;
    u[1].updated_at_ms = r[2].updated_at_ms + 1; /* edited since: skipped */
    u[2].id = r[3].id;
    u[2].updated_at_ms = r[3].updated_at_ms;
    ASSERT_OK(OPS->set_embeddings(s, u, 3, &written, &err), &err);
    ASSERT_EQ(written, 2);
    ASSERT_EQ(version_of(s, "t1", "u1"), v0 + 1); /* one bump for the partition */
    ASSERT_OK(OPS->get(s, &k1, r[0].id, &a, &out, &err), &err);
    ASSERT_STR(out.embed_model, "m2");
    ASSERT_EQ(out.dim, 3);
    ASSERT_EQ(out.embedding[2], 6.0f);
    ASSERT_EQ(out.updated_at_ms, r[0].updated_at_ms); /* not a user's edit */
    ASSERT_OK(OPS->get(s, &k1, r[2].id, &a, &out, &err), &err);
    ASSERT(out.embedding == NULL);
    ASSERT_OK(OPS->scan_pending(s, NULL, 0, 10, &a, &rows, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_OK(OPS->set_embeddings(s, u, 0, &written, &err), &err);
    ASSERT_EQ(written, 0);
    mn__arena_release(&a);
    OPS->close(s);
}

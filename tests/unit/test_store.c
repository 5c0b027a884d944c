/* test_store.c - the SQLite store on real files: schema and migrations, round trips of every
 * field, list filters and pagination, updates with history, deletes, partition versions,
 * atomic batches and clean errors for bad files. */
#include <sqlite3.h>
#include <stdio.h>

#include "../../src/store/store_int.h"
#include "t.h"

#define OPS (&mn__store_sqlite)

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", t_tmpdir(), name);
}

static mn__store *open_store(const char *path)
{
    mn__store *s = NULL;
    mn_err err = {0};
    mn__store_cfg cfg = {0};
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    ASSERT(s != NULL);
    return s;
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

/* Runs one SQL statement on the file directly; returns the first column of the first row
 * as an integer (or -1). */
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

TEST(store_uri_picks_backend)
{
    ASSERT(mn__store_for_uri("mnemo-data/mnemo.db") == &mn__store_sqlite);
    ASSERT(mn__store_for_uri("/abs/x.db") == &mn__store_sqlite);
    ASSERT(mn__store_for_uri("postgres://h/db") == NULL);
    ASSERT(mn__store_for_uri("postgresql://h/db") == NULL);
    ASSERT_STR(mn__store_sqlite.name, "sqlite");
}

/* A new file is migrated to the newest embedded migration. */
static int newest_schema(void)
{
    int i, v = 0;
    for (i = 0; mn__migrations[i].sql; i++)
        v = mn__migrations[i].version > v ? mn__migrations[i].version : v;
    return v;
}

TEST(store_migrates_empty_file_and_creates_dirs)
{
    char path[512];
    mn__store *s;
    mn__store_stats st;
    mn_err err = {0};
    db_path(path, sizeof path, "a/b/c/m.db");
    s = open_store(path);
    ASSERT_OK(OPS->stats(s, &st, &err), &err);
    ASSERT_EQ(st.schema_version, newest_schema());
    ASSERT_EQ(st.n_memories, 0);
    ASSERT(st.file_bytes > 0);
    OPS->close(s);
    ASSERT_EQ(sql1(path, "SELECT value FROM meta WHERE key = 'schema_version'"), newest_schema());
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('memories', "
                         "'partitions', 'memory_history', 'memories_partition')"),
              4);
    {
        sqlite3 *db;
        sqlite3_stmt *q;
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
        ASSERT_STR((const char *)sqlite3_column_text(q, 0), "wal");
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
}

TEST(store_reopen_keeps_data_and_version)
{
    char path[512];
    mn__store *s;
    mn__row out;
    mn__arena a;
    mn__store_stats st;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn_err err = {0};
    mn_id id;
    db_path(path, sizeof path, "m.db");
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
    ASSERT_EQ(st.schema_version, newest_schema());
    ASSERT_EQ(st.n_memories, 2);
    mn__arena_release(&a);
    OPS->close(s);
}

TEST(store_roundtrip_every_field)
{
    char path[512];
    mn__store *s;
    mn__row r, out;
    mn__arena a;
    mn_id srcs[3] = {7, 8, 123456789012LL};
    float vec[5] = {0.5f, -1.25f, 3.0f, 0.0f, 1e-3f};
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn__pkey sys = {"t1", MN_SCOPE_SYSTEM, NULL};
    mn_err err = {0};
    int i;
    db_path(path, sizeof path, "m.db");
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

TEST(store_rejects_bad_rows_before_writing)
{
    char path[512];
    mn__store *s;
    mn__row r[2];
    mn_err err = {0};
    db_path(path, sizeof path, "m.db");
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

TEST(store_batch_is_all_or_nothing)
{
    char path[512];
    mn__store *s;
    mn__row r[3];
    mn__store_stats st;
    mn_err err = {0};
    db_path(path, sizeof path, "m.db");
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
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM memories"), 4);
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

TEST(store_list_filters)
{
    char path[512];
    mn__store *s;
    mn_id ids[20];
    mn_filter f;
    mn__arena a;
    mn__row *rows;
    size_t n, i;
    mn_err err = {0};
    int64_t total;
    db_path(path, sizeof path, "m.db");
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

TEST(store_list_pagination)
{
    char path[512];
    mn__store *s;
    mn_id ids[20], after = 0, seen[20];
    mn_filter f;
    mn__arena a;
    mn__row *rows;
    size_t n, n_seen = 0, i;
    int pages = 0;
    db_path(path, sizeof path, "m.db");
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

TEST(store_update_keeps_history)
{
    char path[512];
    mn__store *s;
    mn__row r, out;
    mn__row_patch p;
    mn__arena a;
    struct hist h;
    float vec[3] = {1, 2, 3};
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"}, other = {"t1", MN_SCOPE_USER, "u2"};
    mn_err err = {0};
    int64_t v0;
    db_path(path, sizeof path, "m.db");
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

TEST(store_delete_one_and_partition)
{
    char path[512];
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
    db_path(path, sizeof path, "m.db");
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
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM memory_history"), 0); /* went with u1 */
    ASSERT_EQ(sql1(path, "SELECT sum(n_memories) FROM partitions"),
              sql1(path, "SELECT count(*) FROM memories"));
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

TEST(store_scans)
{
    char path[512];
    mn__store *s;
    mn__row r[5];
    float vecs[5][4];
    struct collect c;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn_err err = {0};
    int i, j;
    db_path(path, sizeof path, "m.db");
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

/* ---- bad files -----------------------------------------------------------------------------*/

TEST(store_future_schema_is_refused)
{
    char path[512];
    mn__store *s = NULL;
    mn_err err = {0};
    sqlite3 *db;
    db_path(path, sizeof path, "m.db");
    OPS->close(open_store(path));
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ESCHEMA);
    ASSERT(s == NULL);
    ASSERT(strstr(err.msg, "99") != NULL);
    ASSERT(strstr(err.msg, path) != NULL);
    ASSERT(err.hint[0] != '\0');
}

TEST(store_garbage_file_is_a_clean_error)
{
    char path[512];
    mn__store *s = NULL;
    mn_err err = {0};
    FILE *f;
    int i;
    db_path(path, sizeof path, "garbage.db");
    f = fopen(path, "wb");
    ASSERT(f != NULL);
    for (i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ECORRUPT);
    ASSERT(s == NULL);
    ASSERT(strstr(err.msg, path) != NULL);

    /* Truncated header of a real database. */
    db_path(path, sizeof path, "short.db");
    f = fopen(path, "wb");
    ASSERT(f != NULL);
    fputs("SQLite format 3", f);
    fclose(f);
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ECORRUPT);

    /* A directory where the file should be. */
    db_path(path, sizeof path, "");
    ASSERT(OPS->open(path, NULL, &s, &err) < 0);
    ASSERT(s == NULL);
}

TEST(store_foreign_sqlite_file_is_refused)
{
    char path[512];
    mn__store *s = NULL;
    mn_err err = {0};
    sqlite3 *db;
    db_path(path, sizeof path, "other.db");
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE memories (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ(OPS->open(path, NULL, &s, &err), MN_ESCHEMA);
    ASSERT(strstr(err.msg, "not a mnemo store") != NULL);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM sqlite_master"), 1); /* untouched */
}

TEST(store_read_only)
{
    char path[512];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn__row r = user_row("u1", "x"), out;
    mn__pkey k = {"t1", MN_SCOPE_USER, "u1"};
    mn__arena a;
    mn_err err = {0};
    mn_id id;
    int64_t n;
    cfg.read_only = true;
    db_path(path, sizeof path, "missing.db");
    ASSERT(OPS->open(path, &cfg, &s, &err) < 0);
    ASSERT(s == NULL);

    db_path(path, sizeof path, "m.db");
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

TEST(store_maps_sqlite_errors)
{
    ASSERT_EQ(mn__sq_map_rc(SQLITE_FULL), MN_EFULL);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_CORRUPT), MN_ECORRUPT);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_NOTADB), MN_ECORRUPT);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_BUSY), MN_EBUSY);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_IOERR_FSYNC), MN_EIO);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_NOMEM), MN_ENOMEM);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_CONSTRAINT_CHECK), MN_EINVAL);
    ASSERT_EQ(mn__sq_map_rc(SQLITE_DONE), MN_OK);
}

TEST(store_enum_text_matches_public_names)
{
    int v;
    /* The store pins its own copy of the names (they are the file format); they must stay
     * the words of the public API. */
    for (v = MN_KIND_MESSAGE; v <= MN_KIND_SUMMARY; v++)
        ASSERT_STR(mn__sq_kind_text((mn_kind)v), mn_kind_name((mn_kind)v));
    for (v = MN_STATUS_ACTIVE; v <= MN_STATUS_SUPERSEDED; v++)
        ASSERT_STR(mn__sq_status_text((mn_status)v), mn_status_name((mn_status)v));
    for (v = MN_SCOPE_USER; v <= MN_SCOPE_SYSTEM; v++)
        ASSERT_STR(mn__sq_scope_text((mn_scope)v), mn_scope_name((mn_scope)v));
    ASSERT_STR(mn__sq_role_text(MN_ROLE_USER), mn_role_name(MN_ROLE_USER));
    ASSERT_STR(mn__sq_role_text(MN_ROLE_ASSISTANT), mn_role_name(MN_ROLE_ASSISTANT));
    ASSERT(mn__sq_role_text(MN_ROLE_NONE) == NULL); /* stored as NULL */
    ASSERT(mn__sq_kind_text((mn_kind)9) == NULL);
}

/* Every allocation the store makes may fail: each run must end with a clean error or
 * success, nothing leaked (the runner checks) and nothing half-written. */
TEST(store_survives_allocation_failures)
{
    char path[512];
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
        snprintf(path, sizeof path, "%s/f%lld/m.db", t_tmpdir(), (long long)n);
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

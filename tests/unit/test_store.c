/* test_store.c - what only one store backend has, outside the shared conformance suite
 * (store_conformance.c): SQLite's file handling (parent directories, WAL mode, garbage and
 * truncated files), the mapping of SQLite result codes and PostgreSQL SQLSTATEs to MN_E*,
 * the choice of backend by URI, and the stored enum names. */
#include <sqlite3.h>
#include <stdio.h>

#include "../../src/store/store_int.h"
#include "t.h"

#define OPS (&mn__store_sqlite)

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", t_tmpdir(), name);
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
    ASSERT(mn__store_for_uri("postgres://h/db") == &mn__store_pg);
    ASSERT(mn__store_for_uri("postgresql:///db?host=/tmp") == &mn__store_pg);
    ASSERT(mn__store_for_uri("postgresfile.db") == &mn__store_sqlite);
    ASSERT(mn__store_for_uri(NULL) == NULL);
    ASSERT_STR(mn__store_sqlite.name, "sqlite");
    ASSERT_STR(mn__store_pg.name, "postgres");
}

/* SQLite only: the parent directories are created and the file is in WAL mode. */
TEST(store_sqlite_creates_dirs_and_wal)
{
    char path[512];
    mn__store *s = NULL;
    mn__store_cfg cfg = {0};
    mn_err err = {0};
    sqlite3 *db;
    sqlite3_stmt *q;
    db_path(path, sizeof path, "a/b/c/m.db");
    ASSERT_OK(OPS->open(path, &cfg, &s, &err), &err);
    OPS->close(s);
    ASSERT_EQ(sql1(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('memories', "
                         "'partitions', 'memory_history', 'memories_partition')"),
              4);
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    ASSERT_STR((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
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

TEST(store_maps_pg_sqlstates)
{
    ASSERT_EQ(mn__pg_map_state("08006"), MN_EUNAVAIL); /* connection failure */
    ASSERT_EQ(mn__pg_map_state("57P01"), MN_EUNAVAIL); /* admin shutdown (restart) */
    ASSERT_EQ(mn__pg_map_state("57P03"), MN_EUNAVAIL); /* cannot connect now */
    ASSERT_EQ(mn__pg_map_state("23514"), MN_EINVAL);   /* check violation */
    ASSERT_EQ(mn__pg_map_state("22P02"), MN_EINVAL);   /* bad JSON text */
    ASSERT_EQ(mn__pg_map_state("40P01"), MN_EBUSY);    /* deadlock */
    ASSERT_EQ(mn__pg_map_state("53100"), MN_EFULL);
    ASSERT_EQ(mn__pg_map_state("42P01"), MN_ESCHEMA);
    ASSERT_EQ(mn__pg_map_state("57014"), MN_ETIMEOUT);
    ASSERT_EQ(mn__pg_map_state("XX000"), MN_EIO);
    ASSERT_EQ(mn__pg_map_state(NULL), MN_EIO);
}

/* Without a server, opening a PostgreSQL store fails at once with MN_EUNAVAIL and a
 * message that names the store but never its password. */
TEST(store_pg_unreachable_is_unavailable)
{
    char uri[700];
    mn__store *s = NULL;
    mn_err err = {0};
    snprintf(uri, sizeof uri, "postgresql://u:secret@/db?host=%s&connect_timeout=2",
             t_tmpdir());
    ASSERT_EQ(mn__store_pg.open(uri, NULL, &s, &err), MN_EUNAVAIL);
    ASSERT(s == NULL);
    ASSERT(strstr(err.msg, "u:***@") != NULL);
    ASSERT(strstr(err.msg, "secret") == NULL);
    ASSERT(err.hint[0] != '\0');
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

/* store_sqlite.c - the SQLite backend's lifecycle: open (directory, pragmas, migrations),
 * close, error mapping and the ops table. Writes live in sqlite_writer.c, reads in
 * sqlite_read.c, row mapping in sqlite_rows.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store_int.h"

#define BUSY_TIMEOUT_MS 5000

int mn__sq_map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return MN_OK;
    case SQLITE_FULL:
        return MN_EFULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return MN_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return MN_EBUSY;
    case SQLITE_NOMEM:
        return MN_ENOMEM;
    case SQLITE_TOOBIG:
        return MN_ETOOBIG;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
        return MN_EINVAL;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_AUTH:
        return MN_EIO;
    default:
        return MN_EINTERNAL;
    }
}

static const char *hint_for(int code)
{
    switch (code) {
    case MN_EFULL:
        return "free disk space, then retry";
    case MN_ECORRUPT:
        return "check that the path is a mnemo store; restore it from a backup";
    case MN_EBUSY:
        return "another process holds the database; retry";
    case MN_EIO:
        return "check the path, its permissions and the disk";
    case MN_EINVAL:
        return "check the values passed";
    default:
        return NULL;
    }
}

int mn__sq_err(const mn__sq *s, sqlite3 *db, int rc, const char *op, mn_err *err)
{
    int code = mn__sq_map_rc(rc);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (code == MN_OK)
        code = MN_EINTERNAL;
    return mn__err_set(err, code, hint_for(code), "store '%s': %s: %s", s->path, op, msg);
}

mn__sq *mn__sq_from(mn__store *st)
{
    /* The handle begins with its mn__store head (store_int.h). */
    return (mn__sq *)st;
}

int mn__sq_stmt(mn__sq *s, sqlite3 *db, sqlite3_stmt **slot, const char *sql, mn_err *err)
{
    int rc;
    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return MN_OK;
    }
    rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        *slot = NULL;
        return mn__sq_err(s, db, rc, "prepare statement", err);
    }
    return MN_OK;
}

/* mkdir -p for the parent directory of path. */
static int make_parent_dir(const mn__sq *s, mn_err *err)
{
    char *dir = mn__strdup(s->path), *p;
    int rc = MN_OK;
    if (!dir)
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", s->path);
    p = strrchr(dir, '/');
    if (!p || p == dir)
        goto cleanup;
    *p = '\0';
    for (p = dir + 1; ; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            rc = mn__err_set(err, MN_EIO, "check the permissions of the parent directory",
                             "store '%s': cannot create directory '%s': %s", s->path, dir,
                             strerror(errno));
            goto cleanup;
        }
        *p = c;
        if (c == '\0')
            break;
    }
cleanup:
    mn__free(dir);
    return rc;
}

static int exec(mn__sq *s, sqlite3 *db, const char *sql, const char *op, mn_err *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MN_OK : mn__sq_err(s, db, rc, op, err);
}

int mn__sq_conn_open(mn__sq *s, bool read_only, sqlite3 **out, mn_err *err)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc;
    flags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    *out = NULL;
    rc = sqlite3_open_v2(s->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = mn__sq_err(s, db, rc, "open", err);
        if (rc == MN_EIO && read_only)
            mn__err_set(err, rc, "read-only mode needs an existing store",
                        "store '%s': cannot open read-only: %s", s->path,
                        db ? sqlite3_errmsg(db) : "no such file");
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = exec(s, db, "PRAGMA foreign_keys=ON", "set pragmas", err);
    if (rc)
        goto fail;
    if (!read_only) {
        rc = exec(s, db, s->cfg.sync_normal ? "PRAGMA synchronous=NORMAL" :
                                              "PRAGMA synchronous=FULL",
                  "set pragmas", err);
        if (rc)
            goto fail;
    }
    *out = db;
    return MN_OK;
fail:
    sqlite3_close_v2(db);
    return rc;
}

/* WAL is a property of the file: set once by the writer; readers inherit it. */
static int set_wal(mn__sq *s, mn_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *mode;
    int rc = sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = mn__sq_err(s, s->wdb, rc, "set WAL mode", err);
        goto cleanup;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal")) {
        rc = mn__err_set(err, MN_EIO, "the file system must support shared memory (no NFS)",
                         "store '%s': cannot switch to WAL mode (journal mode is '%s')",
                         s->path, mode ? mode : "?");
        goto cleanup;
    }
    rc = MN_OK;
cleanup:
    sqlite3_finalize(st);
    return rc;
}

static int newest_migration(void)
{
    int i, v = 0;
    for (i = 0; mn__migrations[i].sql; i++)
        v = MN_MAX(v, mn__migrations[i].version);
    return v;
}

/* Reads meta.schema_version: 0 for an empty file; MN_ESCHEMA for a SQLite file that is not
 * a mnemo store; MN_ECORRUPT for a value that is not a version number. */
static int read_version(mn__sq *s, sqlite3 *db, int *out, mn_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *v;
    char *end;
    long n;
    int rc, n_tables = 0, has_meta = 0;
    *out = 0;
    rc = sqlite3_prepare_v2(db,
                            "SELECT count(*), count(*) FILTER (WHERE name = 'meta') "
                            "FROM sqlite_master WHERE type = 'table'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = mn__sq_err(s, db, rc, "read the schema", err);
        goto cleanup;
    }
    n_tables = sqlite3_column_int(st, 0);
    has_meta = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (!has_meta) {
        rc = MN_OK;
        if (n_tables > 0)
            rc = mn__err_set(err, MN_ESCHEMA, "point mnemo at its own file or an empty one",
                             "store '%s': SQLite database with %d tables but no mnemo meta "
                             "table: not a mnemo store",
                             s->path, n_tables);
        goto cleanup;
    }
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                            NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                         "store '%s': meta table has no schema_version", s->path);
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        rc = mn__sq_err(s, db, rc, "read the schema version", err);
        goto cleanup;
    }
    v = (const char *)sqlite3_column_text(st, 0);
    errno = 0;
    n = v ? strtol(v, &end, 10) : -1;
    if (!v || end == v || *end || errno || n < 0 || n > 1000000) {
        rc = mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                         "store '%s': schema_version is '%s', expected a number", s->path,
                         v ? v : "NULL");
        goto cleanup;
    }
    *out = (int)n;
    rc = MN_OK;
cleanup:
    sqlite3_finalize(st);
    return rc;
}

static int too_new(const mn__sq *s, int version, int newest, mn_err *err)
{
    return mn__err_set(err, MN_ESCHEMA, "upgrade mnemo to open this file",
                       "store '%s': schema version %d is newer than this build of mnemo "
                       "supports (%d)",
                       s->path, version, newest);
}

/* Applies one migration in its own transaction. The version is read again under the write
 * lock so that two processes opening a new file at once do not both apply it. */
static int apply_one(mn__sq *s, const struct mn__migration *m, mn_err *err)
{
    char sql[96], op[96];
    int rc, cur = 0;
    rc = exec(s, s->wdb, "BEGIN IMMEDIATE", "begin migration", err);
    if (rc)
        return rc;
    rc = read_version(s, s->wdb, &cur, err);
    if (rc || cur >= m->version)
        goto done;
    snprintf(op, sizeof op, "migration %s", m->name);
    rc = exec(s, s->wdb, m->sql, op, err);
    if (rc)
        goto done;
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '%d')",
             m->version);
    rc = exec(s, s->wdb, sql, "record the schema version", err);
done:
    if (rc) {
        sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(s, s->wdb, "COMMIT", "commit migration", err);
}

static int migrate(mn__sq *s, mn_err *err)
{
    int i, rc, newest = newest_migration();
    rc = read_version(s, s->wdb, &s->schema_version, err);
    if (rc)
        return rc;
    if (s->schema_version > newest)
        return too_new(s, s->schema_version, newest, err);
    for (i = 0; mn__migrations[i].sql; i++) {
        const struct mn__migration *m = &mn__migrations[i];
        if (m->version <= s->schema_version)
            continue;
        rc = apply_one(s, m, err);
        if (rc)
            return rc;
        mn__log(s->cfg.log, MN_LOG_INFO, "store '%s': applied migration %s", s->path,
                m->name);
    }
    rc = read_version(s, s->wdb, &s->schema_version, err);
    if (rc == MN_OK && s->schema_version > newest)
        rc = too_new(s, s->schema_version, newest, err);
    return rc;
}

/* Read-only: nothing may change, so the file must already be at a version we know. */
static int check_read_only(mn__sq *s, mn_err *err)
{
    sqlite3 *db = NULL;
    int rc, newest = newest_migration();
    rc = mn__sq_conn_open(s, true, &db, err);
    if (rc == MN_OK)
        rc = read_version(s, db, &s->schema_version, err);
    if (rc == MN_OK && s->schema_version > newest)
        rc = too_new(s, s->schema_version, newest, err);
    if (rc == MN_OK && s->schema_version < newest)
        rc = mn__err_set(err, MN_ESCHEMA, "open it once read-write to migrate it",
                         "store '%s': schema version %d is older than %d and the store is "
                         "opened read-only",
                         s->path, s->schema_version, newest);
    sqlite3_close_v2(db);
    return rc;
}

static void sq_close(mn__store *st)
{
    mn__sq *s = mn__sq_from(st);
    int i;
    if (!s)
        return;
    mn__sq_writer_stop(s);
    for (i = 0; i < MN__SQ_W_N; i++)
        sqlite3_finalize(s->wst[i]);
    /* The last connection to close checkpoints the WAL, so readers go first. */
    mn__sq_readers_close(s);
    sqlite3_close_v2(s->wdb);
    pthread_mutex_destroy(&s->pool_mu);
    mn__wq_destroy(&s->wq);
    mn__free(s->path);
    mn__free(s);
}

static int sq_open(const char *uri, const mn__store_cfg *cfg, mn__store **out, mn_err *err)
{
    mn__sq *s = NULL;
    int rc;
    *out = NULL;
    if (!uri || !uri[0])
        return mn__err_set(err, MN_EINVAL, "pass the path of the database file",
                           "store: path is empty");
    if (!strcmp(uri, ":memory:") || !strncmp(uri, "file:", 5))
        return mn__err_set(err, MN_EINVAL, "pass a plain file path",
                           "store '%s': in-memory databases and SQLite URIs are not supported",
                           uri);
    if (sqlite3_threadsafe() == 0)
        return mn__err_set(err, MN_EINTERNAL, "link a thread-safe SQLite",
                           "store '%s': SQLite was built without thread support", uri);
    s = mn__calloc(1, sizeof *s);
    if (!s)
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", uri);
    s->base.ops = &mn__store_sqlite;
    if (cfg)
        s->cfg = *cfg;
    mn__wq_init(&s->wq, s->cfg.commit_delay_us);
    s->base.wq = &s->wq;
    pthread_mutex_init(&s->pool_mu, NULL);
    s->path = mn__strdup(uri);
    if (!s->path) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory", uri);
        goto fail;
    }
    s->wq.name = s->path;
    s->wq.read_only = s->cfg.read_only;
    if (s->cfg.read_only) {
        rc = check_read_only(s, err);
        if (rc)
            goto fail;
        *out = &s->base;
        return MN_OK;
    }
    rc = make_parent_dir(s, err);
    if (rc == MN_OK)
        rc = mn__sq_conn_open(s, false, &s->wdb, err);
    if (rc == MN_OK)
        rc = set_wal(s, err);
    if (rc == MN_OK)
        rc = migrate(s, err);
    if (rc == MN_OK)
        rc = mn__sq_writer_start(s, err);
    if (rc)
        goto fail;
    mn__log(s->cfg.log, MN_LOG_DEBUG, "store '%s': open, schema version %d, synchronous=%s",
            s->path, s->schema_version, s->cfg.sync_normal ? "NORMAL" : "FULL");
    *out = &s->base;
    return MN_OK;
fail:
    sq_close(&s->base);
    return rc;
}

const struct mn__store_ops mn__store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .put_batch = mn__wq_put_batch,
    .get = mn__sq_get,
    .get_many = mn__sq_get_many,
    .scan_partition = mn__sq_scan_partition,
    .list = mn__sq_list,
    .update = mn__wq_update,
    .delete_one = mn__wq_delete_one,
    .delete_partition = mn__wq_delete_partition,
    .scan_tenant = mn__sq_scan_tenant,
    .history = mn__sq_history,
    .version = mn__sq_version,
    .stats = mn__sq_stats,
    .key_put = mn__sq_key_put,
    .key_find = mn__sq_key_find,
    .key_list = mn__sq_key_list,
    .key_revoke = mn__sq_key_revoke,
    .key_count_active = mn__sq_key_count_active,
    .user_list = mn__sq_user_list,
    .user_get = mn__sq_user_get,
    .scan_pending = mn__sq_scan_pending,
    .set_embeddings = mn__sq_set_embeddings,
};

/* store_pg.c - the PostgreSQL backend's lifecycle: open (URI, first connection, migrations
 * under an advisory lock, writer threads), close, the mapping of SQLSTATEs to MN_E* codes,
 * and the ops table. Connections live in pg_conn.c, writes in pg_writer.c, reads in
 * pg_read.c, keys and users in pg_keys.c, the LISTEN side in pg_watch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

/* The advisory lock that serialises migrations of nodes starting at once ("mnemo" in hex). */
#define MIGRATION_LOCK "6d6e656d6f"
#define N_WRITERS 2

/* Connections per node (MNEMO_PG_POOL): enough for the writers and the concurrent readers of
 * the server's threads, bounded so that N nodes stay under max_connections. */
static int pool_size(void)
{
    const char *v = getenv("MNEMO_PG_POOL");
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return v && *v && !*end && n >= 2 && n <= 1000 ? (int)n : 24;
}

mn__pg *mn__pg_from(mn__store *st)
{
    /* The handle begins with its mn__store head (store_int.h). */
    return (mn__pg *)st;
}

int mn__pg_map_state(const char *st)
{
    if (!st || strlen(st) != 5)
        return MN_EIO;
    if (!strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
        !strcmp(st, "57P03"))
        return MN_EUNAVAIL; /* connection lost, server shutting down or starting */
    if (!strcmp(st, "57014"))
        return MN_ETIMEOUT;
    if (!strcmp(st, "53100"))
        return MN_EFULL;
    if (!strcmp(st, "53200"))
        return MN_ENOMEM;
    if (!strcmp(st, "53300") || !strcmp(st, "40001") || !strcmp(st, "40P01") ||
        !strcmp(st, "55P03"))
        return MN_EBUSY;
    if (!strncmp(st, "22", 2) || !strncmp(st, "23", 2))
        return MN_EINVAL; /* data exception, integrity constraint */
    if (!strcmp(st, "54000"))
        return MN_ETOOBIG;
    if (!strncmp(st, "28", 2) || !strcmp(st, "42501") || !strcmp(st, "25006"))
        return MN_EPERM;
    if (!strcmp(st, "42P01") || !strcmp(st, "42703"))
        return MN_ESCHEMA; /* a table or column is missing: not our schema */
    return MN_EIO;
}

static const char *hint_for(int code)
{
    switch (code) {
    case MN_EUNAVAIL:
        return "retry shortly; mnemo reconnects by itself";
    case MN_EFULL:
        return "free disk space on the PostgreSQL server";
    case MN_EBUSY:
        return "retry";
    case MN_EPERM:
        return "check the role's privileges and the URI's user";
    case MN_ESCHEMA:
        return "point mnemo at its own database or schema";
    case MN_EINVAL:
        return "check the values passed";
    default:
        return NULL;
    }
}

int mn__pg_err(mn__pg *s, mn__pg_conn *c, const PGresult *r, const char *op, mn_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[200];
    size_t n = 0;
    int code;
    if (!msg)
        msg = c ? PQerrorMessage(c->c) : "unknown error";
    while (msg[n] && msg[n] != '\n' && n + 1 < sizeof line)
        n++;
    memcpy(line, msg, n);
    line[n] = '\0';
    if (c && PQstatus(c->c) != CONNECTION_OK) {
        c->broken = true;
        code = MN_EUNAVAIL;
    } else {
        code = mn__pg_map_state(state);
    }
    return mn__err_set(err, code, hint_for(code), "store '%s': %s: %s", s->name, op, line);
}

/* The URI without its password (user:password@ and password=), for messages and logs. */
static char *redact(const char *uri)
{
    mn__buf b;
    const char *p = strstr(uri, "://"), *at, *end, *colon, *pw;
    mn__buf_init(&b, 0);
    if (!p)
        goto plain;
    p += 3;
    end = p + strcspn(p, "/?");
    at = memchr(p, '@', (size_t)(end - p));
    colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
    if (colon) {
        if (mn__buf_append(&b, uri, (size_t)(colon + 1 - uri)) || mn__buf_puts(&b, "***"))
            goto fail;
        uri = at;
    }
plain:
    while ((pw = strstr(uri, "password=")) != NULL) {
        if (mn__buf_append(&b, uri, (size_t)(pw - uri) + 9) || mn__buf_puts(&b, "***"))
            goto fail;
        uri = pw + 9 + strcspn(pw + 9, "&");
    }
    if (mn__buf_puts(&b, uri))
        goto fail;
    return mn__buf_take(&b, NULL);
fail:
    mn__buf_release(&b);
    return NULL;
}

static int newest(void)
{
    int i, v = 0;
    for (i = 0; mn__pg_migrations[i].sql; i++)
        v = MN_MAX(v, mn__pg_migrations[i].version);
    return v;
}

/* Text result of a one-row query run with the simple protocol; NULL on error (err set). */
static PGresult *query1(mn__pg *s, mn__pg_conn *c, const char *sql, const char *op,
                        mn_err *err)
{
    PGresult *r = PQexec(c->c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        mn__pg_err(s, c, r, op, err);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* meta.schema_version: 0 for an empty schema; MN_ESCHEMA for one with other tables. */
static int read_version(mn__pg *s, mn__pg_conn *c, int *out, mn_err *err)
{
    PGresult *r;
    const char *v;
    char *end;
    long n;
    int rc = MN_OK;
    *out = 0;
    r = query1(s, c,
               "SELECT to_regclass('meta') IS NOT NULL, (SELECT count(*) FROM pg_tables "
               "WHERE schemaname = current_schema())",
               "read the schema", err);
    if (!r)
        return err ? err->code : MN_EIO;
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t")) {
        if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "0"))
            rc = mn__err_set(err, MN_ESCHEMA,
                             "point mnemo at its own database or schema (options=-csearch_path=...)",
                             "store '%s': schema has %s tables but no mnemo meta table: not a "
                             "mnemo store",
                             s->name, PQgetvalue(r, 0, 1));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    r = query1(s, c, "SELECT value FROM meta WHERE key = 'schema_version'",
               "read the schema version", err);
    if (!r)
        return err ? err->code : MN_EIO;
    v = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : NULL;
    n = v ? strtol(v, &end, 10) : -1;
    if (!v || end == v || *end || n < 0 || n > 1000000)
        rc = mn__err_set(err, MN_ECORRUPT, "restore the database from a backup",
                         "store '%s': schema_version is '%s', expected a number", s->name,
                         v ? v : "missing");
    else
        *out = (int)n;
    PQclear(r);
    return rc;
}

static int too_new(const mn__pg *s, int version, mn_err *err)
{
    return mn__err_set(err, MN_ESCHEMA, "upgrade mnemo to open this database",
                       "store '%s': schema version %d is newer than this build of mnemo "
                       "supports (%d)",
                       s->name, version, newest());
}

/* Applies the missing migrations in one transaction, under an advisory lock so that nodes
 * starting together migrate once; the version is read again under the lock. */
static int migrate(mn__pg *s, mn__pg_conn *c, mn_err *err)
{
    char sql[160], op[96];
    int i, rc, cur = 0;
    rc = mn__pg_exec(s, c, "BEGIN", "begin migration", err);
    if (rc)
        return rc;
    rc = mn__pg_exec(s, c, "SELECT pg_advisory_xact_lock(x'" MIGRATION_LOCK "'::bigint)",
                     "lock for migration", err);
    if (rc == MN_OK)
        rc = read_version(s, c, &cur, err);
    if (rc == MN_OK && cur > newest())
        rc = too_new(s, cur, err);
    for (i = 0; rc == MN_OK && mn__pg_migrations[i].sql; i++) {
        const struct mn__migration *m = &mn__pg_migrations[i];
        if (m->version <= cur)
            continue;
        snprintf(op, sizeof op, "migration %s", m->name);
        rc = mn__pg_exec(s, c, m->sql, op, err);
        if (rc)
            break;
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta (key, value) VALUES ('schema_version', '%d') "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 m->version);
        rc = mn__pg_exec(s, c, sql, "record the schema version", err);
        if (rc == MN_OK)
            mn__log(s->cfg.log, MN_LOG_INFO, "store '%s': applied migration %s", s->name,
                    m->name);
        cur = m->version;
    }
    if (rc) {
        mn__pg_exec(s, c, "ROLLBACK", "roll back migration", NULL);
        return rc;
    }
    rc = mn__pg_exec(s, c, "COMMIT", "commit migration", err);
    if (rc == MN_OK)
        s->schema_version = cur;
    return rc;
}

static int check_read_only(mn__pg *s, mn__pg_conn *c, mn_err *err)
{
    int rc = read_version(s, c, &s->schema_version, err);
    if (rc == MN_OK && s->schema_version > newest())
        rc = too_new(s, s->schema_version, err);
    if (rc == MN_OK && s->schema_version < newest())
        rc = mn__err_set(err, MN_ESCHEMA, "open it once read-write to migrate it",
                         "store '%s': schema version %d is older than %d and the store is "
                         "opened read-only",
                         s->name, s->schema_version, newest());
    return rc;
}

static void pg_close(mn__store *st)
{
    mn__pg *s = mn__pg_from(st);
    if (!s)
        return;
    mn__pg_watch_stop(s);
    mn__pg_writers_stop(s);
    mn__pg_pool_close(s);
    mn__pg_sql_free(s);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cond);
    mn__wq_destroy(&s->wq);
    mn__free(s->uri);
    mn__free(s->name);
    mn__free(s);
}

static int pg_open(const char *uri, const mn__store_cfg *cfg, mn__store **out, mn_err *err)
{
    mn__pg *s;
    mn__pg_conn *c = NULL;
    uint64_t tag = 0;
    int rc;
    *out = NULL;
    if (!uri || !uri[0])
        return mn__err_set(err, MN_EINVAL, "pass a postgres:// URI", "store: URI is empty");
    s = mn__calloc(1, sizeof *s);
    if (!s)
        return mn__err_set(err, MN_ENOMEM, NULL, "store: out of memory");
    s->base.ops = &mn__store_pg;
    if (cfg)
        s->cfg = *cfg;
    mn__wq_init(&s->wq, s->cfg.commit_delay_us);
    s->base.wq = &s->wq;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    s->max_open = pool_size();
    if (getrandom(&tag, sizeof tag, 0) != (ssize_t)sizeof tag)
        tag = (uint64_t)mn__mono_ns() ^ ((uint64_t)getpid() << 32);
    snprintf(s->node_tag, sizeof s->node_tag, "%016llx", (unsigned long long)tag);
    s->uri = mn__strdup(uri);
    s->name = redact(uri);
    if (!s->uri || !s->name || mn__pg_sql_init(s)) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "store: out of memory");
        goto fail;
    }
    s->wq.name = s->name;
    s->wq.read_only = s->cfg.read_only;
    rc = mn__pg_conn_get(s, &c, err);
    if (rc)
        goto fail;
    rc = s->cfg.read_only ? check_read_only(s, c, err) : migrate(s, c, err);
    mn__pg_conn_put(s, c);
    if (rc == MN_OK && !s->cfg.read_only)
        rc = mn__pg_writers_start(s, N_WRITERS, err);
    if (rc)
        goto fail;
    mn__log(s->cfg.log, MN_LOG_DEBUG, "store '%s': open, schema version %d", s->name,
            s->schema_version);
    *out = &s->base;
    return MN_OK;
fail:
    pg_close(&s->base);
    return rc;
}

const struct mn__store_ops mn__store_pg = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .put_batch = mn__pg_put_batch,
    .get = mn__pg_get,
    .get_many = mn__pg_get_many,
    .scan_partition = mn__pg_scan_partition,
    .list = mn__pg_list,
    .update = mn__wq_update,
    .delete_one = mn__wq_delete_one,
    .delete_partition = mn__wq_delete_partition,
    .scan_tenant = mn__pg_scan_tenant,
    .history = mn__pg_history,
    .version = mn__pg_version,
    .stats = mn__pg_stats,
    .key_put = mn__pg_key_put,
    .key_find = mn__pg_key_find,
    .key_list = mn__pg_key_list,
    .key_revoke = mn__pg_key_revoke,
    .key_count_active = mn__pg_key_count_active,
    .user_list = mn__pg_user_list,
    .user_get = mn__pg_user_get,
    .watch = mn__pg_watch,
    .watch_live = mn__pg_watch_live,
    .scan_pending = mn__pg_scan_pending,
    .set_embeddings = mn__pg_set_embeddings,
};

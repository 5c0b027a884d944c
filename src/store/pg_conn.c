/* pg_conn.c - the PostgreSQL backend's connections: the statement texts (prepared lazily on
 * each connection), the pool with its fail-fast and backoff while the server is down, and
 * the calls that run a statement and read binary results. */
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define POOL_WAIT_MS 5000 /* a caller waits this long for a free connection */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000

const int mn__pg_ins_rows[MN__PG_N_INS] = {1, 4, 16, 64, 256};

#define COLS                                                                                 \
    "id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "           \
    "created_at, updated_at, sources, superseded_by, embed_model, embedding"
#define COLS_NOVEC                                                                           \
    "id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "           \
    "created_at, updated_at, sources, superseded_by, embed_model, NULL::bytea AS embedding"
#define PKEY_WHERE "tenant = $1 AND scope = $2 AND user_id = $3"
#define LIST_WHERE                                                                           \
    PKEY_WHERE " AND kind = ANY($4::text[]) AND status = ANY($5::text[]) "                   \
               "AND ($6::text IS NULL OR session_id = $6::text) "                            \
               "AND ($7::bigint = 0 OR created_at >= $7::bigint) "                           \
               "AND ($8::bigint = 0 OR created_at < $8::bigint)"
/* Partition bumps carry a NOTIFY in the same statement: it is delivered on commit only. */
#define PART_NOTIFY ") SELECT pg_notify('" MN__PG_CHANNEL "', $8) FROM b"

static const char *const fixed_sql[MN__PG_Q_INS_1] = {
    [MN__PG_Q_GET] = "SELECT " COLS " FROM memories WHERE " PKEY_WHERE " AND id = $4::bigint",
    [MN__PG_Q_GET_MANY] = "SELECT " COLS " FROM memories WHERE " PKEY_WHERE
                          " AND id = ANY($4::bigint[])",
    [MN__PG_Q_SCAN_PART] = "SELECT " COLS " FROM memories WHERE " PKEY_WHERE " ORDER BY id",
    [MN__PG_Q_SCAN_TENANT] = "SELECT " COLS " FROM memories WHERE tenant = $1 ORDER BY id",
    [MN__PG_Q_HISTORY] =
        "SELECT h.memory_id, h.version_at, h.text, h.metadata, h.status, e.n FROM "
        "(SELECT count(*) AS n FROM memories WHERE " PKEY_WHERE " AND id = $4::bigint) e "
        "LEFT JOIN memory_history h ON e.n > 0 AND h.tenant = $1 AND h.scope = $2 "
        "AND h.user_id = $3 AND h.memory_id = $4::bigint ORDER BY h.id",
    [MN__PG_Q_VERSION] = "SELECT version FROM partitions WHERE " PKEY_WHERE,
    [MN__PG_Q_STATS] = "SELECT coalesce(sum(n_memories), 0)::bigint, "
                       "pg_database_size(current_database()) FROM partitions",
    /* The count and the page in one statement: one snapshot. */
    [MN__PG_Q_LIST] = "WITH t AS (SELECT count(*) AS c FROM memories WHERE " LIST_WHERE ") "
                      "SELECT t.c, m.* FROM t LEFT JOIN LATERAL (SELECT " COLS_NOVEC
                      " FROM memories WHERE " LIST_WHERE
                      " AND ($9::bigint = 0 OR id < $9::bigint) ORDER BY id DESC "
                      "LIMIT $10::int) m ON true ORDER BY m.id DESC NULLS LAST",
    [MN__PG_Q_IDS] = "SELECT nextval('memory_ids') FROM generate_series(1, $1::int)",
    [MN__PG_Q_PART_UPSERT] =
        "WITH b AS (INSERT INTO partitions (tenant, scope, user_id, version, n_memories, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6::bigint, "
        "$6::bigint) ON CONFLICT (tenant, scope, user_id) DO UPDATE SET "
        "version = partitions.version + excluded.version, "
        "n_memories = CASE WHEN $7::bool THEN 0 ELSE partitions.n_memories END "
        "+ excluded.n_memories, updated_at = excluded.updated_at RETURNING 1" PART_NOTIFY,
    [MN__PG_Q_PART_UPDATE] =
        "WITH b AS (UPDATE partitions SET version = version + $4::bigint, "
        "n_memories = CASE WHEN $7::bool THEN 0 ELSE n_memories END + $5::bigint, "
        "updated_at = $6::bigint WHERE " PKEY_WHERE " RETURNING 1" PART_NOTIFY,
    [MN__PG_Q_EXISTS] = "SELECT 1 FROM memories WHERE " PKEY_WHERE " AND id = $4::bigint",
    [MN__PG_Q_HIST_SAVE] =
        "INSERT INTO memory_history (tenant, scope, user_id, memory_id, version_at, text, "
        "metadata, status) SELECT tenant, scope, user_id, id, updated_at, text, metadata, "
        "status FROM memories WHERE " PKEY_WHERE " AND id = $4::bigint",
    [MN__PG_Q_UPDATE] =
        "UPDATE memories SET text = coalesce($5::text, text), "
        "metadata = coalesce($6::text, metadata), status = coalesce($7::text, status), "
        "superseded_by = coalesce($8::bigint, superseded_by), "
        "updated_at = coalesce($9::bigint, updated_at), "
        "embed_model = CASE WHEN $10::bool THEN $11::text ELSE embed_model END, "
        "embedding = CASE WHEN $10::bool THEN $12::bytea ELSE embedding END "
        "WHERE " PKEY_WHERE " AND id = $4::bigint",
    [MN__PG_Q_DELETE_ONE] = "DELETE FROM memories WHERE " PKEY_WHERE " AND id = $4::bigint",
    [MN__PG_Q_DELETE_PART] = "DELETE FROM memories WHERE " PKEY_WHERE,
    [MN__PG_Q_KEY_PUT] = "INSERT INTO api_keys (prefix, hash, tenant, name, created_at) "
                         "VALUES ($1, $2::bytea, $3, $4, $5::bigint) RETURNING id",
    [MN__PG_Q_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2::bigint) "
                            "WHERE id = $1::bigint",
    [MN__PG_Q_KEY_FIND] = "SELECT id, prefix, hash, tenant, name, created_at, "
                          "coalesce(revoked_at, 0) FROM api_keys WHERE prefix = $1 ORDER BY id",
    [MN__PG_Q_KEY_LIST] = "SELECT id, prefix, hash, tenant, name, created_at, "
                          "coalesce(revoked_at, 0) FROM api_keys ORDER BY id",
    [MN__PG_Q_KEY_COUNT] = "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL",
    [MN__PG_Q_USER_LIST] = "SELECT user_id, n_memories, created_at, updated_at FROM partitions "
                           "WHERE tenant = $1 AND scope = 'user' AND n_memories > 0 "
                           "AND user_id > $2 ORDER BY user_id LIMIT $3::int",
    [MN__PG_Q_USER_COUNT] = "SELECT count(*) FROM partitions WHERE tenant = $1 "
                            "AND scope = 'user' AND n_memories > 0",
    [MN__PG_Q_USER_GET] = "SELECT n_memories, created_at, updated_at FROM partitions "
                          "WHERE tenant = $1 AND scope = 'user' AND user_id = $2",
};

/* "INSERT ... VALUES (...), (...)" for n rows of MN__PG_INS_COLS parameters. */
static char *insert_sql(int n)
{
    static const char *const casts[MN__PG_INS_COLS] = {
        "bigint", "text", "text",   "text", "text", "text",   "text", "text",
        "text",   "bigint", "bigint", "text", "text", "bigint", "text", "bytea"};
    mn__buf b;
    int i, j, rc;
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "INSERT INTO memories (id, tenant, scope, user_id, kind, role, "
                          "status, session_id, text, created_at, updated_at, metadata, "
                          "sources, superseded_by, embed_model, embedding) VALUES ");
    for (i = 0; i < n && rc == MN_OK; i++) {
        rc = mn__buf_puts(&b, i ? ", (" : "(");
        for (j = 0; j < MN__PG_INS_COLS && rc == MN_OK; j++)
            rc = mn__buf_printf(&b, "%s$%d::%s", j ? ", " : "", i * MN__PG_INS_COLS + j + 1,
                                casts[j]);
        if (rc == MN_OK)
            rc = mn__buf_putc(&b, ')');
    }
    if (rc) {
        mn__buf_release(&b);
        return NULL;
    }
    return mn__buf_take(&b, NULL);
}

int mn__pg_sql_init(mn__pg *s)
{
    int i;
    for (i = 0; i < MN__PG_Q_INS_1; i++)
        s->sql[i] = (char *)fixed_sql[i];
    for (i = 0; i < MN__PG_N_INS; i++) {
        s->sql[MN__PG_Q_INS_1 + i] = insert_sql(mn__pg_ins_rows[i]);
        if (!s->sql[MN__PG_Q_INS_1 + i])
            return MN_ENOMEM;
    }
    return MN_OK;
}

void mn__pg_sql_free(mn__pg *s)
{
    int i;
    for (i = 0; i < MN__PG_N_INS; i++) {
        mn__free(s->sql[MN__PG_Q_INS_1 + i]);
        s->sql[MN__PG_Q_INS_1 + i] = NULL;
    }
}

/* ---- connections ----------------------------------------------------------------------------*/

/* The library never prints: the server's notices are dropped. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Copies libpq's message of a failed connect, first line only. */
static void first_line(const char *msg, char *out, size_t cap)
{
    size_t n = 0;
    while (msg && msg[n] && msg[n] != '\n' && n + 1 < cap)
        n++;
    if (msg)
        memcpy(out, msg, n);
    out[n] = '\0';
}

int mn__pg_connect(mn__pg *s, const char *app, PGconn **out, mn_err *err)
{
    /* Defaults first: what the URI says wins (later keywords override earlier ones). Over
     * TCP, keepalives and a user timeout turn a vanished server (network partition, host
     * down) into a failed call within seconds instead of a request that hangs. */
    const char *const keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "tcp_user_timeout", "application_name",
                                "dbname", NULL};
    const char *const vals[] = {"3", "10", "3", "3", "15000", app, s->uri, NULL};
    char msg[160];
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    *out = NULL;
    if (!c)
        return mn__err_set(err, MN_ENOMEM, NULL, "store '%s': out of memory connecting",
                           s->name);
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(PQerrorMessage(c), msg, sizeof msg);
        PQfinish(c);
        return mn__err_set(err, MN_EUNAVAIL,
                           "check that PostgreSQL is running and the URI (host, port, "
                           "database, user) is right",
                           "store '%s': cannot connect: %s", s->name, msg);
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    *out = c;
    return MN_OK;
}

static void conn_close(mn__pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->c);
    mn__free(c);
}

/* Closes a list of connections (outside the pool lock) and frees their slots. */
static void close_list(mn__pg *s, mn__pg_conn *list)
{
    int n = 0;
    while (list) {
        mn__pg_conn *next = list->next;
        conn_close(list);
        list = next;
        n++;
    }
    if (n) {
        pthread_mutex_lock(&s->pool_mu);
        s->n_open -= n;
        pthread_cond_broadcast(&s->pool_cond);
        pthread_mutex_unlock(&s->pool_mu);
    }
}

int mn__pg_conn_get(mn__pg *s, mn__pg_conn **out, mn_err *err)
{
    mn__pg_conn *c = NULL, *stale = NULL;
    PGconn *pc = NULL;
    int64_t deadline = mn__now_ms() + POOL_WAIT_MS;
    mn_err e;
    int rc;
    *out = NULL;
    mn__err_clear(&e);
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        int64_t now = mn__now_ms();
        while (s->idle && !c) {
            mn__pg_conn *p = s->idle;
            s->idle = p->next;
            s->n_idle--;
            if (p->gen == s->gen) {
                c = p;
            } else { /* opened before a connection broke: likely dead too */
                p->next = stale;
                stale = p;
            }
        }
        if (c)
            break;
        if (s->down && now < s->retry_at_ms) {
            int64_t wait = s->retry_at_ms - now;
            char why[sizeof s->down_msg];
            memcpy(why, s->down_msg, sizeof why); /* another connect may rewrite it */
            pthread_mutex_unlock(&s->pool_mu);
            close_list(s, stale);
            return mn__err_set(err, MN_EUNAVAIL, "retry shortly; mnemo reconnects by itself",
                               "store '%s' is unavailable (next connect in %lld ms): %s",
                               s->name, (long long)wait, why);
        }
        if (s->n_open < s->max_open) {
            s->n_open++; /* this slot is ours while we connect */
            break;
        }
        if (stale) { /* free their slots first */
            pthread_mutex_unlock(&s->pool_mu);
            close_list(s, stale);
            stale = NULL;
            pthread_mutex_lock(&s->pool_mu);
            continue;
        }
        if (now >= deadline) {
            int n = s->n_open;
            pthread_mutex_unlock(&s->pool_mu);
            return mn__err_set(err, MN_EBUSY, "retry, or raise MNEMO_PG_POOL",
                               "store '%s': all %d connections busy for %d ms", s->name, n,
                               POOL_WAIT_MS);
        }
        {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 50 * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000;
            until.tv_nsec %= 1000000000;
            pthread_cond_timedwait(&s->pool_cond, &s->pool_mu, &until);
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    close_list(s, stale);
    if (c) {
        c->next = NULL;
        *out = c;
        return MN_OK;
    }
    c = mn__calloc(1, sizeof *c);
    rc = c ? mn__pg_connect(s, "mnemo", &pc, &e)
           : mn__err_set(&e, MN_ENOMEM, NULL, "store '%s': out of memory", s->name);
    if (rc && err)
        *err = e;
    pthread_mutex_lock(&s->pool_mu);
    if (rc) {
        s->n_open--;
        pthread_cond_broadcast(&s->pool_cond);
        if (rc == MN_EUNAVAIL) {
            bool was_down = s->down;
            s->down = true;
            s->backoff_ms = s->backoff_ms ? MN_MIN(s->backoff_ms * 2, BACKOFF_MAX_MS)
                                          : BACKOFF_FIRST_MS;
            s->retry_at_ms = mn__now_ms() + s->backoff_ms;
            first_line(e.msg, s->down_msg, sizeof s->down_msg);
            pthread_mutex_unlock(&s->pool_mu);
            if (!was_down)
                mn__log(s->cfg.log, MN_LOG_WARN, "%s; failing requests fast and retrying",
                        e.msg);
        } else {
            pthread_mutex_unlock(&s->pool_mu);
        }
        mn__free(c);
        return rc;
    }
    if (s->down)
        mn__log(s->cfg.log, MN_LOG_INFO, "store '%s': connected again", s->name);
    s->down = false;
    s->backoff_ms = 0;
    c->gen = s->gen;
    pthread_mutex_unlock(&s->pool_mu);
    c->c = pc;
    *out = c;
    return MN_OK;
}

void mn__pg_conn_put(mn__pg *s, mn__pg_conn *c)
{
    if (!c)
        return;
    if (!c->broken && PQstatus(c->c) != CONNECTION_OK)
        c->broken = true;
    if (!c->broken && PQtransactionStatus(c->c) != PQTRANS_IDLE) {
        /* Left inside a transaction by an error path: end it, or drop the connection. */
        PGresult *r = PQexec(c->c, "ROLLBACK");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            c->broken = true;
        PQclear(r);
    }
    pthread_mutex_lock(&s->pool_mu);
    if (c->broken) {
        s->gen++; /* its siblings of the same age are suspect: drop them when taken */
    } else if (c->gen == s->gen) {
        c->next = s->idle;
        s->idle = c;
        s->n_idle++;
        c = NULL;
    }
    if (c)
        s->n_open--;
    pthread_cond_broadcast(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_mu);
    conn_close(c);
}

void mn__pg_pool_close(mn__pg *s)
{
    mn__pg_conn *c = s->idle, *next;
    for (; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    s->idle = NULL;
    s->n_idle = 0;
}

/* ---- statements -----------------------------------------------------------------------------*/

static int prepare(mn__pg *s, mn__pg_conn *c, int q, char *name, size_t name_cap, mn_err *err)
{
    PGresult *r;
    int rc = MN_OK;
    snprintf(name, name_cap, "mn%d", q);
    if (c->prepared & (1u << q))
        return MN_OK;
    r = PQprepare(c->c, name, s->sql[q], 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = mn__pg_err(s, c, r, "prepare statement", err);
    else
        c->prepared |= 1u << q;
    PQclear(r);
    return rc;
}

int mn__pg_run(mn__pg *s, mn__pg_conn *c, int q, int n, const char *const *vals,
               const int *lens, const int *fmts, const char *op, PGresult **out, mn_err *err)
{
    char name[16];
    PGresult *r;
    ExecStatusType st;
    int rc = prepare(s, c, q, name, sizeof name, err);
    *out = NULL;
    if (rc)
        return rc;
    r = PQexecPrepared(c->c, name, n, vals, lens, fmts, 1);
    st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = mn__pg_err(s, c, r, op, err);
        PQclear(r);
        return rc;
    }
    *out = r;
    return MN_OK;
}

int mn__pg_scan(mn__pg *s, mn__pg_conn *c, int q, int n, const char *const *vals,
                const char *op, mn__pg_res_fn fn, void *ctx, mn_err *err)
{
    char name[16];
    PGresult *r;
    int rc = prepare(s, c, q, name, sizeof name, err);
    if (rc)
        return rc;
    if (!PQsendQueryPrepared(c->c, name, n, vals, NULL, NULL, 1))
        return mn__pg_err(s, c, NULL, op, err);
    PQsetSingleRowMode(c->c);
    /* After a stop, the remaining rows are read and dropped: the connection must be idle
     * before it goes back to the pool. */
    while ((r = PQgetResult(c->c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            if (rc == MN_OK)
                rc = fn(ctx, r, err);
        } else if (st != PGRES_TUPLES_OK && rc == MN_OK) {
            rc = mn__pg_err(s, c, r, op, err);
        }
        PQclear(r);
    }
    return rc;
}

int mn__pg_exec(mn__pg *s, mn__pg_conn *c, const char *sql, const char *op, mn_err *err)
{
    PGresult *r = PQexec(c->c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = MN_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = mn__pg_err(s, c, r, op, err);
    PQclear(r);
    return rc;
}

int64_t mn__pg_i64(const PGresult *r, int row, int col)
{
    uint64_t v = 0;
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    memcpy(&v, PQgetvalue(r, row, col), 8);
    return (int64_t)be64toh(v);
}

const char *mn__pg_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

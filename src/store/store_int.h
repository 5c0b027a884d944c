/* store_int.h - shared between the store backends' own files: the embedded migrations, the
 * common head of every backend handle, the SQLite backend's state and internal calls
 * (store_sqlite.c, sqlite_*.c) and the PostgreSQL backend's (store_pg.c, pg_*.c). */
#ifndef MN_STORE_INT_H
#define MN_STORE_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store.h"

/* Numbered migrations from src/store/sql/NNNN_name.sql, in order, ended by {0,0,0}.
 * Generated at build time by scripts/embed-sql. */
struct mn__migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct mn__migration mn__migrations[];
/* The same for PostgreSQL, from src/store/sql/pg/NNNN_name.sql (same numbers, same logical
 * schema). */
extern const struct mn__migration mn__pg_migrations[];

/* Every backend handle starts with this, so a backend can check that a handle is its own. */
typedef struct mn__wq mn__wq;
struct mn__store {
    const struct mn__store_ops *ops;
    mn__wq *wq; /* the backend's write queue (wqueue.c), inside its own struct */
};

/* Test hooks of either backend (store.c): while paused, write requests queue up without
 * running, so that a test can build a group of a known size. */
void mn__store_writer_pause(mn__store *st, bool paused);
size_t mn__store_queue_len(mn__store *st);

/* ---- SQLite backend ---------------------------------------------------------------------- */

/* Statements cached on the writer connection (sqlite_writer.c). */
enum {
    MN__SQ_W_BEGIN,
    MN__SQ_W_COMMIT,
    MN__SQ_W_ROLLBACK,
    MN__SQ_W_SAVEPOINT,
    MN__SQ_W_RELEASE,
    MN__SQ_W_ROLLBACK_TO,
    MN__SQ_W_INSERT,
    MN__SQ_W_PART_BUMP,
    MN__SQ_W_PART_DEL,
    MN__SQ_W_EXISTS,
    MN__SQ_W_HISTORY,
    MN__SQ_W_UPDATE,
    MN__SQ_W_DELETE_ONE,
    MN__SQ_W_DELETE_PART,
    MN__SQ_W_N
};

/* Statements cached on each reader connection (sqlite_read.c). */
enum {
    MN__SQ_R_GET,
    MN__SQ_R_SCAN_PART,
    MN__SQ_R_SCAN_TENANT,
    MN__SQ_R_HISTORY,
    MN__SQ_R_VERSION,
    MN__SQ_R_COUNT,
    MN__SQ_R_N
};

typedef struct mn__sq_reader {
    sqlite3 *db;
    sqlite3_stmt *st[MN__SQ_R_N];
    struct mn__sq_reader *next;
} mn__sq_reader;

/* ==== the write queue both backends share (wqueue.c) ==================================== */
typedef struct mn__wreq mn__wreq; /* a queued write request; defined below */

struct mn__wq {
    pthread_mutex_t mu;         /* guards everything here */
    pthread_cond_t cond_work;   /* writers wait for requests, for resume and for their id
                                   turn; close waits for the callers to leave */
    mn__wreq *head, *tail;
    size_t n_queued;
    _Atomic size_t n_in_submit; /* callers inside submit: close waits until they left */
    bool stopping;
    bool paused;                /* test hook: requests queue up but are not run */
    uint64_t ticket_next;       /* groups in the order they left the queue (PostgreSQL ids) */
    uint64_t ticket_turn;
    int64_t n_commits;
    int64_t n_committed_ops;
    int64_t commit_delay_us;    /* a writer waits this long for more callers to join */
    _Atomic bool running;       /* a writer runs: set by the backend around its threads */
    bool read_only;             /* for the message when nothing runs */
    const char *name;           /* the store's name in messages; borrowed */
    /* A backend with one writer connection (SQLite) may let a caller run its own request
     * when the writer is idle and the load is low: no hand-off to the writer thread and back
     * (two thread switches, most of a single add's overhead). busy: a group is running, by
     * the writer thread or a caller; last_group: requests in the last group, inline only
     * after a group of one, so that under load the writer keeps grouping. */
    bool (*run_inline)(void *ctx, mn__wreq *group, int64_t *out_ok);
    void *inline_ctx;
    bool busy;
    size_t last_group;
    /* With one writer, the callers of a group sleep on one of two words (the parity of the
     * group's ticket) and are woken together by one futex call, not one by one: each single
     * wake-up let the woken caller preempt the writer (Linux; elsewhere a semaphore each). */
    _Atomic uint32_t wake_word[2];
};

typedef struct mn__sq {
    mn__store base;
    char *path;
    mn__store_cfg cfg;   /* cfg.log is borrowed for the store's lifetime */
    int schema_version;

    /* Writer: one connection, used only by the writer thread once it runs. */
    sqlite3 *wdb;
    sqlite3_stmt *wst[MN__SQ_W_N];
    pthread_t writer;
    bool writer_started;
    struct mn__sq_wctx *wctx; /* the writer's scratch, used by whoever runs a group */
    mn__wq wq;

    /* Readers: a pool of idle connections, opened on demand. */
    pthread_mutex_t pool_mu;
    mn__sq_reader *idle;
    int n_idle;
} mn__sq;

/* Scratch for rows handed to callbacks: sources and the aligned copy of the embedding. */
typedef struct mn__sq_scratch {
    mn_id *ids;
    size_t ids_cap;
    float *vec;
    size_t vec_cap;
} mn__sq_scratch;

/* The column list every row query selects, in the order mn__sq_row_read expects; the _NOVEC
 * variant leaves the embedding out (lists do not need it). */
#define MN__SQ_COLS                                                                          \
    "id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "           \
    "created_at, updated_at, sources, superseded_by, embed_model, embedding"
#define MN__SQ_COLS_NOVEC                                                                    \
    "id, tenant, user_id, scope, kind, role, status, session_id, text, metadata, "           \
    "created_at, updated_at, sources, superseded_by, embed_model, NULL"

/* store_sqlite.c */
/* Maps a SQLite result code to MN_E* and fills err with "store '<path>': <op>: <sqlite
 * message>". db may be NULL (then the generic text of rc is used). Returns the code. */
int mn__sq_err(const mn__sq *s, sqlite3 *db, int rc, const char *op, mn_err *err);
int mn__sq_map_rc(int rc);
/* Opens one connection with the store's pragmas; read-only connections for readers. */
int mn__sq_conn_open(mn__sq *s, bool read_only, sqlite3 **out, mn_err *err);
/* Prepares sql once into *slot (persistent), or resets the cached statement. */
int mn__sq_stmt(mn__sq *s, sqlite3 *db, sqlite3_stmt **slot, const char *sql, mn_err *err);
mn__sq *mn__sq_from(mn__store *st);

/* sqlite_writer.c */
int mn__sq_writer_start(mn__sq *s, mn_err *err);
void mn__sq_writer_stop(mn__sq *s); /* runs what is queued, then joins the thread */
/* A write of another file of the backend (sqlite_keys.c): fn runs on the writer thread with
 * s->wdb inside the group transaction and its own savepoint, like the built-in requests, and
 * the call returns after the commit. now_ms is the request's time. */
typedef int (*mn__sq_write_fn)(mn__sq *s, void *ctx, int64_t now_ms, mn_err *err);
int mn__sq_write_call(mn__sq *s, mn__sq_write_fn fn, void *ctx, mn_err *err);
/* Test hooks: while paused, write requests queue up without running, so a test can build a
 * group of a known size. */

/* sqlite_read.c */
int mn__sq_reader_get(mn__sq *s, mn__sq_reader **out, mn_err *err);
void mn__sq_reader_put(mn__sq *s, mn__sq_reader *r);
void mn__sq_readers_close(mn__sq *s);
int mn__sq_get_many(mn__store *st, const mn__pkey *k, const mn_id *ids, size_t n,
                    mn__arena *a, mn__row *out, bool *found, mn_err *err);
int mn__sq_get(mn__store *st, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
               mn_err *err);
int mn__sq_scan_partition(mn__store *st, const mn__pkey *k, mn__row_fn fn, void *ctx,
                          mn_err *err);
int mn__sq_list(mn__store *st, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err);
int mn__sq_scan_tenant(mn__store *st, const char *tenant, mn__row_fn fn, void *ctx,
                       mn_err *err);
int mn__sq_history(mn__store *st, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                   mn_err *err);
int mn__sq_version(mn__store *st, const mn__pkey *k, int64_t *out_version, mn_err *err);
int mn__sq_stats(mn__store *st, mn__store_stats *out, mn_err *err);

/* sqlite_keys.c: API keys and the users of a tenant */
int mn__sq_key_put(mn__store *st, mn__key_row *k, mn_err *err);
int mn__sq_key_find(mn__store *st, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                    size_t *out_n, mn_err *err);
int mn__sq_key_list(mn__store *st, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                    mn_err *err);
int mn__sq_key_revoke(mn__store *st, mn_id id, mn_err *err);
int mn__sq_key_count_active(mn__store *st, int64_t *out_n, mn_err *err);
int mn__sq_user_list(mn__store *st, const char *tenant, const char *after, int limit,
                     mn__arena *a, mn__user_row **out_rows, size_t *out_n, int64_t *out_total,
                     mn_err *err);
int mn__sq_user_get(mn__store *st, const char *tenant, const char *user_id, mn__user_row *out,
                    mn_err *err);

/* sqlite_embed.c: rows waiting for an embedding, and writing their vectors */
int mn__sq_scan_pending(mn__store *st, const char *model, mn_id after, int limit, mn__arena *a,
                        mn__row **out_rows, size_t *out_n, mn_err *err);
int mn__sq_set_embeddings(mn__store *st, const mn__embed_update *u, size_t n, size_t *out_n,
                          mn_err *err);

/* sqlite_rows.c: the stored text of the enums (part of the file format). */
const char *mn__sq_scope_text(mn_scope v);
const char *mn__sq_kind_text(mn_kind v);
const char *mn__sq_role_text(mn_role v); /* NULL for MN_ROLE_NONE */
const char *mn__sq_status_text(mn_status v);
/* Checks a partition key: tenant set, user_id set exactly for the user scope. */
int mn__sq_check_pkey(const mn__pkey *k, mn_err *err);
/* Binds tenant, scope and user_id (NULL for system) to parameters first..first+2. With
 * part_key, the system user_id is bound as '' (the partitions table's key). */
int mn__sq_bind_pkey(sqlite3_stmt *st, int first, const mn__pkey *k, bool part_key);
/* "[1,2,3]" into b. */
int mn__sq_sources_json(const mn_id *ids, size_t n, mn__buf *b);
/* Parses stored sources "[1,2,3]" strictly into out (cap ids); MN_ECORRUPT when malformed. */
int mn__sq_sources_parse(const char *s, mn_id *out, size_t cap, size_t *out_n);
/* The little-endian bytes of a vector: v itself on little-endian hosts, else a copy in sc. */
const void *mn__sq_vec_blob(const float *v, int dim, mn__sq_scratch *sc);
void mn__sq_scratch_release(mn__sq_scratch *sc);
/* Reads the current row of st (columns MN__SQ_COLS). With an arena every string and array
 * is copied into it; without, strings point into the statement and arrays into sc, valid
 * until the next step. A malformed stored value gives MN_ECORRUPT. */
int mn__sq_row_read(const mn__sq *s, sqlite3_stmt *st, mn__arena *a, mn__sq_scratch *sc,
                    mn__row *out, mn_err *err);

/* ---- PostgreSQL backend ------------------------------------------------------------------ */

/* Prepared statements, prepared lazily on each connection (pg_conn.c has their text). The
 * multi-row inserts come in a few fixed sizes; a batch is cut into chunks of those. */
enum {
    MN__PG_Q_GET,
    MN__PG_Q_GET_MANY,
    MN__PG_Q_SCAN_PART,
    MN__PG_Q_SCAN_TENANT,
    MN__PG_Q_HISTORY,
    MN__PG_Q_VERSION,
    MN__PG_Q_STATS,
    MN__PG_Q_LIST,
    MN__PG_Q_IDS,
    MN__PG_Q_PART_UPSERT,
    MN__PG_Q_PART_UPDATE,
    MN__PG_Q_EXISTS,
    MN__PG_Q_HIST_SAVE,
    MN__PG_Q_UPDATE,
    MN__PG_Q_DELETE_ONE,
    MN__PG_Q_DELETE_PART,
    MN__PG_Q_KEY_PUT,
    MN__PG_Q_KEY_REVOKE,
    MN__PG_Q_KEY_FIND,
    MN__PG_Q_KEY_LIST,
    MN__PG_Q_KEY_COUNT,
    MN__PG_Q_USER_LIST,
    MN__PG_Q_USER_COUNT,
    MN__PG_Q_USER_GET,
    MN__PG_Q_INS_1,   /* INS_1 + i inserts mn__pg_ins_rows[i] rows */
    MN__PG_Q_INS_4,
    MN__PG_Q_INS_16,
    MN__PG_Q_INS_64,
    MN__PG_Q_INS_256,
    MN__PG_Q_N
};
#define MN__PG_N_INS 5
#define MN__PG_INS_COLS 16
extern const int mn__pg_ins_rows[MN__PG_N_INS];

/* The NOTIFY channel of partition versions (docs/SCALING.md). */
#define MN__PG_CHANNEL "mnemo_parts"

typedef struct mn__pg_conn {
    PGconn *c;
    uint64_t gen;              /* pool generation when opened */
    uint32_t prepared;         /* bit q: statement q is prepared on this connection */
    bool broken;               /* the server went away: closed, never pooled again */
    struct mn__pg_conn *next;
} mn__pg_conn;

#define MN__PG_MAX_WRITERS 4

typedef struct mn__pg {
    mn__store base;
    char *uri;                 /* as given, for libpq */
    char *name;                /* the URI without its password, for messages */
    mn__store_cfg cfg;         /* cfg.log is borrowed for the store's lifetime */
    int schema_version;
    char node_tag[20];         /* this process's mark in NOTIFY payloads */
    char *sql[MN__PG_Q_N];     /* statement texts; the inserts are built at open */

    /* The pool. After a connection broke, gen goes up and idle connections of an older gen
     * are closed instead of used: a restarted server left them all dead. While down (a
     * connect failed), callers fail at once with MN_EUNAVAIL until retry_at_ms; then one
     * connect is tried, and the wait doubles on each failure (backoff, at most 2 s). */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cond;  /* a connection came back or a slot freed */
    mn__pg_conn *idle;
    int n_idle;
    int n_open;                /* connections open or being opened, idle ones included */
    int max_open;              /* MNEMO_PG_POOL, default 24: callers wait for a free one */
    uint64_t gen;
    bool down;
    int64_t retry_at_ms;
    int backoff_ms;
    char down_msg[160];

    /* Writers: threads that each take the queued requests as one group transaction. */
    mn__wq wq;
    pthread_t writers[MN__PG_MAX_WRITERS];
    int n_writers;

    /* The watch (LISTEN): its own connection and thread. */
    pthread_t listener;
    bool listening;
    _Atomic bool listen_stop;
    _Atomic bool watch_live;
    mn__watch_fn watch_fn;
    void *watch_ctx;
} mn__pg;

/* store_pg.c */
mn__pg *mn__pg_from(mn__store *st);
/* Fills err from a failed result (or the connection's message when r is NULL):
 * "store '<name>': <op>: <server message>" with the code mapped from the SQLSTATE; marks
 * the connection broken when the server is gone. Returns the code. */
int mn__pg_err(mn__pg *s, mn__pg_conn *c, const PGresult *r, const char *op, mn_err *err);
int mn__pg_map_state(const char *sqlstate);

/* pg_conn.c: the pool and statements */
int mn__pg_sql_init(mn__pg *s);
void mn__pg_sql_free(mn__pg *s);
/* Opens one new connection (no pool, no backoff): the listener's, and the pool's. app is
 * its application_name (pg_stat_activity) unless the URI sets one. */
int mn__pg_connect(mn__pg *s, const char *app, PGconn **out, mn_err *err);
int mn__pg_conn_get(mn__pg *s, mn__pg_conn **out, mn_err *err);
void mn__pg_conn_put(mn__pg *s, mn__pg_conn *c);
void mn__pg_pool_close(mn__pg *s);
/* Runs prepared statement q with n text parameters (vals[i] NULL for SQL NULL; lens and
 * fmts may be NULL for all-text; fmts[i] 1 for binary). Results are binary. *out is the
 * result to PQclear on success; NULL on error. */
int mn__pg_run(mn__pg *s, mn__pg_conn *c, int q, int n, const char *const *vals,
               const int *lens, const int *fmts, const char *op, PGresult **out, mn_err *err);
/* As mn__pg_run, but streams the rows one by one to fn(ctx, res) (single-row mode). A
 * non-zero return of fn stops the scan and is returned. */
typedef int (*mn__pg_res_fn)(void *ctx, const PGresult *r, mn_err *err);
int mn__pg_scan(mn__pg *s, mn__pg_conn *c, int q, int n, const char *const *vals,
                const char *op, mn__pg_res_fn fn, void *ctx, mn_err *err);
/* A statement without parameters or result rows (BEGIN, SAVEPOINT ...). */
int mn__pg_exec(mn__pg *s, mn__pg_conn *c, const char *sql, const char *op, mn_err *err);
/* Binary result values. */
int64_t mn__pg_i64(const PGresult *r, int row, int col);
const char *mn__pg_text(const PGresult *r, int row, int col); /* NULL when SQL NULL */

/* pg_writer.c */
int mn__pg_writers_start(mn__pg *s, int n, mn_err *err);
void mn__pg_writers_stop(mn__pg *s); /* runs what is queued, then joins */
int mn__pg_put_batch(mn__store *st, mn__row *rows, size_t n, mn_err *err);
/* A write of another file (pg_keys.c), run by a writer inside the group transaction and a
 * savepoint of its own; returns after the commit. */
typedef int (*mn__pg_write_fn)(mn__pg *s, mn__pg_conn *c, void *ctx, int64_t now_ms,
                               mn_err *err);
int mn__pg_write_call(mn__pg *s, mn__pg_write_fn fn, void *ctx, mn_err *err);

/* pg_read.c */
int mn__pg_get_many(mn__store *st, const mn__pkey *k, const mn_id *ids, size_t n,
                    mn__arena *a, mn__row *out, bool *found, mn_err *err);
int mn__pg_get(mn__store *st, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
               mn_err *err);
int mn__pg_scan_partition(mn__store *st, const mn__pkey *k, mn__row_fn fn, void *ctx,
                          mn_err *err);
int mn__pg_list(mn__store *st, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err);
int mn__pg_scan_tenant(mn__store *st, const char *tenant, mn__row_fn fn, void *ctx,
                       mn_err *err);
int mn__pg_history(mn__store *st, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                   mn_err *err);
int mn__pg_version(mn__store *st, const mn__pkey *k, int64_t *out_version, mn_err *err);
int mn__pg_stats(mn__store *st, mn__store_stats *out, mn_err *err);
/* The partition key as parameters: tenant, scope text, user_id ('' for system). */
void mn__pg_pkey_vals(const mn__pkey *k, const char **vals);
/* Background embedding: rows waiting for a vector (pg_read.c), and writing them through the
 * writers with a version bump and NOTIFY per partition (pg_writer.c). */
int mn__pg_scan_pending(mn__store *st, const char *model, mn_id after, int limit, mn__arena *a,
                        mn__row **out_rows, size_t *out_n, mn_err *err);
int mn__pg_set_embeddings(mn__store *st, const mn__embed_update *u, size_t n, size_t *out_n,
                          mn_err *err);

/* pg_keys.c */
int mn__pg_key_put(mn__store *st, mn__key_row *k, mn_err *err);
int mn__pg_key_find(mn__store *st, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                    size_t *out_n, mn_err *err);
int mn__pg_key_list(mn__store *st, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                    mn_err *err);
int mn__pg_key_revoke(mn__store *st, mn_id id, mn_err *err);
int mn__pg_key_count_active(mn__store *st, int64_t *out_n, mn_err *err);
int mn__pg_user_list(mn__store *st, const char *tenant, const char *after, int limit,
                     mn__arena *a, mn__user_row **out_rows, size_t *out_n, int64_t *out_total,
                     mn_err *err);
int mn__pg_user_get(mn__store *st, const char *tenant, const char *user_id, mn__user_row *out,
                    mn_err *err);

/* pg_watch.c: LISTEN for partition changes of other nodes */
int mn__pg_watch(mn__store *st, mn__watch_fn fn, void *ctx, mn_err *err);
bool mn__pg_watch_live(mn__store *st);
void mn__pg_watch_stop(mn__pg *s);

/* ==== the write queue (wqueue.c) ========================================================== */
enum { MN__W_PUT, MN__W_UPDATE, MN__W_DELETE_ONE, MN__W_DELETE_PART, MN__W_CALL, MN__W_SET_EMB };

struct mn__wreq {
    int op;                      /* MN__W_* */
    mn__row *rows;               /* put: borrowed from the caller, who sleeps until done */
    size_t n_rows;               /* put; set_emb: entries of emb */
    const mn__pkey *k;
    mn_id id;
    const mn__row_patch *patch;
    const mn__embed_update *emb; /* set_emb (PostgreSQL) */
    union {                      /* MN__W_CALL: run by a writer on its connection */
        mn__sq_write_fn sq;
        mn__pg_write_fn pg;
    } call;
    void *call_ctx;
    int64_t now_ms;              /* set by submit */
    int64_t n_deleted;           /* out: delete_part */
    size_t n_written;            /* out: set_emb */
    int rc;                      /* out */
    mn_err err;                  /* out */
    sem_t done;                  /* posted by the writer outside the queue's mutex */
    _Atomic int finished;        /* one writer: set by it, then its wake word is woken */
    unsigned parity;             /* one writer: the wake word this caller sleeps on */
    mn__wreq *next;
};

void mn__wq_init(mn__wq *q, int64_t commit_delay_us);
void mn__wq_destroy(mn__wq *q);
/* Caller: queues r and sleeps until a writer has committed (or failed) it; returns its rc
 * with its message. No writer running: MN_ECLOSED, or MN_EPERM when read_only. */
int mn__wq_submit(mn__wq *q, mn__wreq *r, mn_err *err);
/* The store ops both backends queue the same way (checked, submitted, results set) on
 * st->wq: entries of their ops tables. */
int mn__wq_put_batch(mn__store *st, mn__row *rows, size_t n, mn_err *err);
int mn__wq_update(mn__store *st, const mn__pkey *k, mn_id id, const mn__row_patch *p,
                  mn_err *err);
int mn__wq_delete_one(mn__store *st, const mn__pkey *k, mn_id id, mn_err *err);
int mn__wq_delete_partition(mn__store *st, const mn__pkey *k, int64_t *out_n, mn_err *err);
/* Writer: waits for work and takes the next group (linked by next, bounded in requests and
 * rows), with its turn for ordered id allocation. NULL: stopping and nothing left. */
mn__wreq *mn__wq_take(mn__wq *q, uint64_t *out_ticket);
/* Writer: counts the group and wakes its callers (each with its own rc). */
void mn__wq_finish(mn__wq *q, mn__wreq *group, bool committed, int64_t n_ok);
/* Gives every request of group still at MN_OK the error e. */
void mn__wq_fail_rest(mn__wreq *group, const mn_err *e);
void mn__wq_ticket_wait(mn__wq *q, uint64_t ticket);
void mn__wq_ticket_done(mn__wq *q);
void mn__wq_stop(mn__wq *q);         /* before joining the writers: they drain and leave */
void mn__wq_wait_callers(mn__wq *q); /* after joining: woken callers have left submit */
void mn__wq_pause(mn__wq *q, bool paused);
size_t mn__wq_len(mn__wq *q);
void mn__wq_counts(mn__wq *q, int64_t *out_commits, int64_t *out_ops);
/* Checks before queuing: rows of a put, an update's patch (MN_EINVAL naming the field). */
int mn__wq_check_rows(const mn__row *rows, size_t n, mn_err *err);
int mn__wq_check_patch(const mn__pkey *k, mn_id id, const mn__row_patch *p, mn_err *err);
/* After a put: ids of a failed one are 0; times default to the submit time. */
void mn__wq_put_done(mn__row *rows, size_t n, int rc, int64_t now_ms);
static inline mn__pkey mn__row_pkey(const mn__row *r)
{
    mn__pkey k = {r->tenant, r->scope, r->user_id};
    return k;
}

#endif /* MN_STORE_INT_H */

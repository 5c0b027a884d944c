/* store.h - durability layer: one ops table, one backend per family of files (store_sqlite.c
 * and sqlite_*.c; store_pg.c and pg_*.c). The store is the source of truth; the engine
 * (src/memory) caches partitions built from it. Every write returns only after its
 * transaction has committed. */
#ifndef MN_STORE_H
#define MN_STORE_H

#include <stdbool.h>

#include "../core/core.h"

typedef struct mn__store mn__store;

/* The key of a partition: the memories of one user, or the system memories, of a tenant. */
typedef struct mn__pkey {
    const char *tenant;
    mn_scope scope;
    const char *user_id; /* NULL for MN_SCOPE_SYSTEM */
} mn__pkey;

/* One memory row. For writes every pointer is borrowed for the call; for reads strings and
 * arrays live in the arena passed to the call. */
typedef struct mn__row {
    mn_id id;
    const char *tenant;
    const char *user_id;
    mn_scope scope;
    mn_kind kind;
    mn_role role;
    mn_status status;
    const char *session_id;
    const char *text;
    const char *metadata_json;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    const mn_id *sources;
    size_t n_sources;
    mn_id superseded_by;
    const char *embed_model; /* NULL: embedding pending */
    const float *embedding;  /* dim floats, or NULL */
    int dim;
} mn__row;

/* Fields of an update; NULL/0 leave a field unchanged. The old version goes to history. */
typedef struct mn__row_patch {
    const char *text;
    const char *metadata_json;
    mn_status status;
    mn_id superseded_by;
    bool clear_embedding;   /* the text changed: embedding becomes pending */
    const char *embed_model;
    const float *embedding;
    int dim;
} mn__row_patch;

typedef struct mn__store_cfg {
    bool sync_normal;
    bool read_only;
    int commit_delay_us;
    const mn__logger *log;
} mn__store_cfg;

typedef struct mn__store_stats {
    int64_t n_memories;
    int64_t n_commits;       /* transactions committed by the writer */
    int64_t n_committed_ops; /* write requests they carried: ops/commits = group size */
    int schema_version;
    int64_t file_bytes;
} mn__store_stats;

/* An API key as stored: never the key itself, only its SHA-256 and its public prefix. For
 * writes the strings are borrowed for the call; for reads they live in the call's arena. */
typedef struct mn__key_row {
    mn_id id;
    const char *prefix;
    uint8_t hash[32];
    const char *tenant;
    const char *name;
    int64_t created_at_ms;
    int64_t revoked_at_ms; /* 0: active */
} mn__key_row;

/* A user of a tenant with its memory count (the partitions table). */
typedef struct mn__user_row {
    const char *user_id;
    int64_t n_memories;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} mn__user_row;

/* Called by a store thread when another process changed a partition (k, valid for the
 * call), or with k == NULL when changes may have been missed (reconnected): every cached
 * partition is suspect. */
typedef void (*mn__watch_fn)(void *ctx, const mn__pkey *k);

/* Row callback for scans: return 0 to go on, non-zero to stop (that value is returned). The
 * row is valid for the call only. */
typedef int (*mn__row_fn)(void *ctx, const mn__row *row);

/* One vector for set_embeddings; everything borrowed for the call. */
typedef struct mn__embed_update {
    mn__pkey k;
    mn_id id;
    int64_t updated_at_ms;
    const char *embed_model;
    const float *vec;
    int dim;
} mn__embed_update;

struct mn__store_ops {
    const char *name;
    int (*open)(const char *uri, const mn__store_cfg *cfg, mn__store **out, mn_err *err);
    void (*close)(mn__store *s);
    /* Inserts n rows atomically; sets rows[i].id (monotonic, never reused) and, when 0,
     * created_at_ms/updated_at_ms. Bumps the partition versions. */
    int (*put_batch)(mn__store *s, mn__row *rows, size_t n, mn_err *err);
    /* One row of partition k; MN_ENOTFOUND if absent or in another partition. */
    int (*get)(mn__store *s, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
               mn_err *err);
    /* Rows ids[0..n) of partition k from one snapshot: found[i] tells whether out[i] was
     * filled (absent or in another partition: false, not an error). NULL where a backend
     * lacks it: callers then call get once per id. */
    int (*get_many)(mn__store *s, const mn__pkey *k, const mn_id *ids, size_t n,
                    mn__arena *a, mn__row *out, bool *found, mn_err *err);
    /* Every row of a partition, any status, oldest first, with embeddings. */
    int (*scan_partition)(mn__store *s, const mn__pkey *k, mn__row_fn fn, void *ctx,
                          mn_err *err);
    /* Rows matching the filter, newest first, ids < after when after > 0, at most limit;
     * *out_total counts all matches. Rows live in a. */
    int (*list)(mn__store *s, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err);
    int (*update)(mn__store *s, const mn__pkey *k, mn_id id, const mn__row_patch *p,
                  mn_err *err);
    int (*delete_one)(mn__store *s, const mn__pkey *k, mn_id id, mn_err *err);
    /* Deletes a whole partition (forget a user); *out_n gets the count. */
    int (*delete_partition)(mn__store *s, const mn__pkey *k, int64_t *out_n, mn_err *err);
    /* Every row of a tenant (both scopes), oldest first: export. */
    int (*scan_tenant)(mn__store *s, const char *tenant, mn__row_fn fn, void *ctx,
                       mn_err *err);
    /* Previous versions of a memory, oldest first (text, metadata, status, updated_at). */
    int (*history)(mn__store *s, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                   mn_err *err);
    /* Partition version: bumped in every write transaction touching the partition. */
    int (*version)(mn__store *s, const mn__pkey *k, int64_t *out_version, mn_err *err);
    int (*stats)(mn__store *s, mn__store_stats *out, mn_err *err);

    /* ---- API keys and users of a tenant (sqlite_keys.c) ---- */
    /* Stores a new key; sets k->id and, when 0, k->created_at_ms. */
    int (*key_put)(mn__store *s, mn__key_row *k, mn_err *err);
    /* Every key (active or revoked) whose prefix is `prefix`; rows live in a. */
    int (*key_find)(mn__store *s, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                    size_t *out_n, mn_err *err);
    /* Every key, oldest first; rows live in a. */
    int (*key_list)(mn__store *s, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                    mn_err *err);
    /* Marks a key revoked (once; a second call keeps the first time). MN_ENOTFOUND. */
    int (*key_revoke)(mn__store *s, mn_id id, mn_err *err);
    int (*key_count_active)(mn__store *s, int64_t *out_n, mn_err *err);
    /* Users of a tenant with at least one memory, by user id, after `after` (NULL: from
     * the start), at most limit; *out_total counts them all. Rows live in a. */
    int (*user_list)(mn__store *s, const char *tenant, const char *after, int limit,
                     mn__arena *a, mn__user_row **out_rows, size_t *out_n, int64_t *out_total,
                     mn_err *err);
    /* Counters of one user (n_memories 0 when forgotten); MN_ENOTFOUND when never written.
     * out->user_id is left NULL. */
    int (*user_get)(mn__store *s, const char *tenant, const char *user_id, mn__user_row *out,
                    mn_err *err);

    /* ---- several processes on one store (NULL where a backend has one writer process) ---- */
    /* Starts telling fn about partitions written by other processes (PostgreSQL: LISTEN on
     * the channel the write transactions NOTIFY). fn runs on a store thread. */
    int (*watch)(mn__store *s, mn__watch_fn fn, void *ctx, mn_err *err);
    /* Whether the watch is connected now; while it is not, callers poll version(). */
    bool (*watch_live)(mn__store *s);

    /* ---- background embedding (sqlite_embed.c); NULL where a backend lacks them ---- */
    /* Rows whose embedding is pending (embed_model NULL) or, when model is non-NULL, made
     * by another model: id > after, in id order, at most limit, without their vectors.
     * Rows live in a. */
    int (*scan_pending)(mn__store *s, const char *model, mn_id after, int limit, mn__arena *a,
                        mn__row **out_rows, size_t *out_n, mn_err *err);
    /* Stores the vectors of n rows in one transaction, without history. A row is written
     * only when it still exists with updated_at == u[i].updated_at_ms (the text embedded is
     * still its text); *out_n (may be NULL) gets how many were. Bumps the versions of the
     * partitions written. */
    int (*set_embeddings)(mn__store *s, const mn__embed_update *u, size_t n,
                          size_t *out_n, mn_err *err);
};


extern const struct mn__store_ops mn__store_sqlite;
extern const struct mn__store_ops mn__store_pg;

/* Picks the backend for a URI: postgres:// and postgresql:// are PostgreSQL; anything else
 * is a SQLite path. */
const struct mn__store_ops *mn__store_for_uri(const char *uri);

/* ---- fault injection (store_fault.c), for tests ----
 * While enabled, mn__store_for_uri returns a table that counts each store call and forwards
 * it; after mn__store_fail_after(n) the n-th call that follows fails with MN_EIO (n <= 0:
 * none). mn__store_fault_calls counts the calls since the last mn__store_fail_after. */
void mn__store_fault_enable(bool on);
void mn__store_fail_after(int64_t n);
int64_t mn__store_fault_calls(void);
const struct mn__store_ops *mn__store_fault_wrap(const struct mn__store_ops *ops);

#endif /* MN_STORE_H */

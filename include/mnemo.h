/* mnemo.h - the one public header of libmnemo, a persistent memory store for LLM apps.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *  - Every fallible function returns int: MN_OK (0) or a negative MN_E* code.
 *  - The optional last parameter `mn_err *err` receives a message naming what was wrong
 *    and a hint; pass NULL when not needed. It is filled without allocating.
 *  - Strings are UTF-8 and NUL-terminated. Pointers passed in are borrowed for the
 *    duration of the call unless stated otherwise.
 *  - Times are milliseconds since the Unix epoch, UTC.
 *  - mn_db is shared between threads: every function taking an mn_db may be called
 *    concurrently. Result objects are owned by the caller and are not shared.
 */
#ifndef MNEMO_H
#define MNEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MN_BUILDING) && defined(__GNUC__)
#define MN_EXTERN __attribute__((visibility("default")))
#else
#define MN_EXTERN
#endif

#define MN_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------------------------ */

/* X(name, number, description). Numbers are never reused. */
#define MN_ERRNO_MAP(X)                                                                      \
    X(EINVAL, -1, "invalid argument")                                                        \
    X(ENOMEM, -2, "out of memory")                                                           \
    X(ENOTFOUND, -3, "not found")                                                            \
    X(ETOOBIG, -4, "value over its limit")                                                   \
    X(EIO, -5, "input/output error")                                                         \
    X(ECORRUPT, -6, "database file is corrupt")                                              \
    X(EBUSY, -7, "busy, try again")                                                          \
    X(EUTF8, -8, "invalid UTF-8")                                                            \
    X(ESCHEMA, -9, "unsupported schema version")                                             \
    X(ECLOSED, -10, "handle is closed")                                                      \
    X(EUNAVAIL, -11, "service unavailable")                                                  \
    X(EEXIST, -12, "already exists")                                                         \
    X(EFULL, -13, "storage is full")                                                         \
    X(EDIM, -14, "vector dimension mismatch")                                                \
    X(EPARSE, -15, "malformed input")                                                        \
    X(ERANGE, -16, "value out of range")                                                     \
    X(ENOMODEL, -17, "embedding model not available")                                        \
    X(EAUTH, -18, "not authenticated")                                                       \
    X(EPERM, -19, "not permitted")                                                           \
    X(ETIMEOUT, -20, "timed out")                                                            \
    X(EPROVIDER, -21, "remote provider failed")                                              \
    X(ERATE, -22, "rate limit exceeded")                                                     \
    X(EINTERNAL, -23, "internal error")

typedef enum mn_errno {
    MN_OK = 0,
#define MN__ERR_ENUM(name, num, desc) MN_##name = (num),
    MN_ERRNO_MAP(MN__ERR_ENUM)
#undef MN__ERR_ENUM
} mn_errno;

/* Error detail. `msg` names the object, what was expected and what was found; `hint` says
 * how to fix it (may be empty). */
typedef struct mn_err {
    int code;
    char msg[256];
    char hint[192];
} mn_err;

/* Static strings; never NULL. "unknown error" / "EUNKNOWN" for codes not in the map. */
MN_EXTERN const char *mn_strerror(int code);
MN_EXTERN const char *mn_err_name(int code); /* "ENOTFOUND" */
MN_EXTERN const char *mn_version(void);

/* ---- enums ------------------------------------------------------------------------------- */

typedef int64_t mn_id;

typedef enum mn_scope { MN_SCOPE_USER = 1, MN_SCOPE_SYSTEM = 2 } mn_scope;

typedef enum mn_kind {
    MN_KIND_MESSAGE = 1,
    MN_KIND_PREFERENCE = 2,
    MN_KIND_FACT = 3,
    MN_KIND_SUMMARY = 4
} mn_kind;
#define MN_KIND_BIT(k) (1u << (k))

typedef enum mn_role { MN_ROLE_NONE = 0, MN_ROLE_USER = 1, MN_ROLE_ASSISTANT = 2 } mn_role;

typedef enum mn_status {
    MN_STATUS_ACTIVE = 1,
    MN_STATUS_ARCHIVED = 2,
    MN_STATUS_SUPERSEDED = 3
} mn_status;
#define MN_STATUS_BIT(s) (1u << (s))

typedef enum mn_search_mode {
    MN_MODE_DEFAULT = 0, /* the best measured mode: hybrid */
    MN_MODE_HYBRID = 1,
    MN_MODE_VECTOR = 2,
    MN_MODE_KEYWORD = 3
} mn_search_mode;

/* Names used in JSON, the CLI and the store ("message", "archived", ...). Static strings;
 * NULL for values out of range. The _parse functions return 0 when the name is unknown,
 * except mn_role_parse, which returns -1 (0 is MN_ROLE_NONE). */
MN_EXTERN const char *mn_kind_name(mn_kind k);
MN_EXTERN const char *mn_role_name(mn_role r);
MN_EXTERN const char *mn_status_name(mn_status s);
MN_EXTERN const char *mn_scope_name(mn_scope s);
MN_EXTERN const char *mn_mode_name(mn_search_mode m);
MN_EXTERN mn_kind mn_kind_parse(const char *s);
MN_EXTERN mn_role mn_role_parse(const char *s); /* "" and "none" give MN_ROLE_NONE */
MN_EXTERN mn_status mn_status_parse(const char *s);
MN_EXTERN mn_scope mn_scope_parse(const char *s);
MN_EXTERN int mn_mode_parse(const char *s, mn_search_mode *out_mode); /* MN_EINVAL if unknown */

/* ---- limits ------------------------------------------------------------------------------ */

#define MN_MAX_ID_BYTES 128        /* tenant, user id, session id */
#define MN_MAX_K 1000              /* search k */
#define MN_DEFAULT_TEXT_BYTES 32768
#define MN_DEFAULT_METADATA_BYTES 16384
#define MN_DEFAULT_BATCH 1000
#define MN_MAX_SOURCES 4096

/* ---- database ---------------------------------------------------------------------------- */

typedef struct mn_db mn_db;

typedef enum mn_log_level {
    MN_LOG_DEBUG = 0,
    MN_LOG_INFO = 1,
    MN_LOG_WARN = 2,
    MN_LOG_ERROR = 3
} mn_log_level;

/* Log callback: `msg` is borrowed for the call only. Called from any thread. */
typedef void (*mn_log_fn)(void *ctx, mn_log_level level, const char *msg);

typedef struct mn_db_opts {
    const char *path;         /* SQLite file (NULL: "./mnemo-data/mnemo.db"; parent dir is created)
                                 or a postgres:// URI (several nodes: docs/SCALING.md) */
    const char *embedder;     /* "builtin" (default), "mock" (tests only), "none" (keyword only) */
    const char *model_path;   /* built-in model file; NULL: $MNEMO_MODEL or the default search list */
    bool sync_normal;         /* true: synchronous=NORMAL (may lose the last commits on power loss) */
    bool read_only;
    size_t memory_budget_bytes; /* partitions cache budget; 0: 512 MiB */
    size_t max_text_bytes;      /* 0: MN_DEFAULT_TEXT_BYTES */
    size_t max_metadata_bytes;  /* 0: MN_DEFAULT_METADATA_BYTES */
    size_t max_batch;           /* 0: MN_DEFAULT_BATCH */
    int commit_delay_us;        /* group commit: extra wait for more writers; 0: none */
    mn_log_fn log;              /* NULL: silent */
    void *log_ctx;
    mn_log_level log_level;
    const char *redis_url;      /* redis://host:port shared by several nodes (query-embedding
                                   cache, job stream); NULL: local only. Optional at run time:
                                   while it is down the node works locally (mn_db_cluster_get) */
    /* Remote embedders (docs/PROVIDERS.md): embedder "openai" (OpenAI-compatible: OpenAI,
     * Ollama, vLLM, llama.cpp server, HF TEI), "azure" or "cohere". Memories are stored at
     * once with their embedding pending and embedded by a background worker. Strings are
     * borrowed for mn_db_open only. */
    const char *embed_url;        /* base URL or endpoint; NULL: the provider's public API */
    const char *embed_api_key;    /* NULL: none (local servers) */
    const char *embed_model;      /* required for a remote embedder */
    int embed_dim;                /* required for a remote embedder; replies are checked */
    bool embed_send_dim;          /* ask the provider for embed_dim dimensions */
    const char *embed_api_version; /* Azure api-version; NULL: 2024-02-01 */
    int embed_timeout_ms;         /* one request; 0: 30000 */
    int embed_max_attempts;       /* tries per request, retries on 429/5xx; 0: 4 */
    int embed_batch;              /* texts per request; 0: 64 */
    int embed_batch_delay_ms;     /* wait up to this for a short batch to fill; 0: 20 */
    int embed_workers;            /* background embedding threads; 0: 1 */
    const char *embed_tenants;    /* JSON file: per-tenant embedders (docs/PROVIDERS.md) */
    /* OpenAI-compatible chat model for summaries and extraction; NULL llm_model: offline
     * (extractive summaries, rule-based extraction). */
    const char *llm_url;          /* base URL or /chat/completions endpoint */
    const char *llm_api_key;
    const char *llm_model;
    int llm_timeout_ms;           /* 0: 60000 */
    /* Compression (docs/COMPRESSION.md): a user whose active messages pass this count is
     * compacted in the background; 0: only on request (mn_compact). */
    int compact_threshold;
    /* Preference and fact extraction from user messages on add: NULL or "off", "rules"
     * (offline), "llm" (the LLM, rules when it fails). */
    const char *extract;
} mn_db_opts;

MN_EXTERN void mn_db_opts_init(mn_db_opts *o);

/* Opens (creating and migrating when needed) the database. `opts` may be NULL for defaults;
 * it is copied. On success *out_db is owned by the caller: close with mn_db_close.
 * Errors: MN_EIO, MN_ECORRUPT, MN_ESCHEMA (file from a newer mnemo), MN_ENOMEM. A missing
 * built-in model is not an error: vector search is disabled and mn_db_info says why. */
MN_EXTERN int mn_db_open(const mn_db_opts *opts, mn_db **out_db, mn_err *err);

/* Waits for pending writes and background work, then frees everything. NULL is a no-op.
 * No other call on `db` may be running or follow. */
MN_EXTERN void mn_db_close(mn_db *db);

typedef struct mn_db_info {
    const char *embedder;    /* static or owned by db: valid until mn_db_close */
    const char *model_id;    /* e.g. "builtin-glove100-v1"; "" when none */
    int dim;                 /* 0 when vector search is off */
    const char *vector_note; /* why vector search is off, or "" */
    const char *kernel;      /* "avx512", "avx2" or "scalar" */
    int64_t n_memories;      /* all tenants */
    int64_t n_partitions;    /* loaded now */
    size_t partition_bytes;  /* RAM held by loaded partitions */
    int schema_version;
} mn_db_info;

MN_EXTERN int mn_db_info_get(mn_db *db, mn_db_info *out_info, mn_err *err);

/* ---- memories ---------------------------------------------------------------------------- */

/* Input for an add. Everything is borrowed for the call. */
typedef struct mn_memory_in {
    const char *tenant;        /* NULL: "default" */
    const char *user_id;       /* required for MN_SCOPE_USER, must be NULL for MN_SCOPE_SYSTEM */
    mn_scope scope;            /* 0: MN_SCOPE_USER */
    mn_kind kind;              /* 0: MN_KIND_MESSAGE */
    mn_role role;
    const char *session_id;    /* optional */
    const char *text;          /* required, 1..max_text_bytes of valid UTF-8 */
    int64_t created_at_ms;     /* 0: now */
    const char *metadata_json; /* optional JSON object, at most max_metadata_bytes */
    const mn_id *sources;      /* ids this memory was derived from (summaries, facts) */
    size_t n_sources;
    mn_status status;          /* 0: MN_STATUS_ACTIVE */
} mn_memory_in;

MN_EXTERN void mn_memory_in_init(mn_memory_in *m);

/* One memory as returned by the library. All pointers point into the mn_results that holds
 * it and live until mn_results_free. Optional strings are NULL when absent. */
typedef struct mn_memory {
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
    mn_id superseded_by;       /* 0 when none */
    bool embedding_pending;    /* stored but not yet embedded by the current model */
} mn_memory;

typedef struct mn_hit {
    mn_memory mem;
    double score;          /* final ranking score, higher is better */
    double score_keyword;  /* normalised BM25 part in [0,1], 0 when not matched */
    double score_vector;   /* cosine similarity, 0 when not used */
} mn_hit;

/* A list of memories. Owned by the caller; free with mn_results_free. */
typedef struct mn_results {
    size_t n;
    mn_hit *hits;
    int64_t total;          /* list: number of memories matching the filters */
    mn_id next_after;       /* list: cursor for the next page, 0 when this is the last */
    mn_search_mode mode;    /* search: the mode that ran (vector falls back to keyword) */
    const char *note;       /* search: e.g. why vector search was skipped; "" otherwise */
    void *priv_;            /* internal */
} mn_results;

MN_EXTERN void mn_results_free(mn_results *r); /* NULL is a no-op */

/* Writes one memory as a compact JSON object, the same shape as an export line (without
 * the newline). *out is owned by the caller: free it with mn_free. */
MN_EXTERN int mn_memory_json(const mn_memory *m, char **out, size_t *out_len, mn_err *err);

/* Parses RFC 3339 / ISO 8601 ("2024-05-01", "2024-05-01T10:00:00Z", "...+02:00", fractions)
 * or an integer of ms since the epoch. MN_EINVAL when unparseable. */
MN_EXTERN int mn_time_parse(const char *s, int64_t *out_ms);
/* Formats ms since the epoch as "2024-05-01T10:00:00Z" into out (32 bytes). */
MN_EXTERN void mn_time_format(int64_t ms, char out[32]);

/* Frees memory the library returned to the caller (strings of mn_memory_json, ...). */
MN_EXTERN void mn_free(void *p);

/* Adds one memory. Returns after the write is durable (committed). *out_id gets its id.
 * Errors: MN_EINVAL (missing/bad field, message names it), MN_EUTF8, MN_ETOOBIG, MN_EIO,
 * MN_EFULL. Nothing is stored on error. */
MN_EXTERN int mn_memory_add(mn_db *db, const mn_memory_in *m, mn_id *out_id, mn_err *err);

/* Adds n memories in one transaction: all or none. out_ids (may be NULL) receives n ids.
 * On a validation error err->msg names the index of the first bad item. */
MN_EXTERN int mn_memory_add_batch(mn_db *db, const mn_memory_in *items, size_t n,
                                  mn_id *out_ids, mn_err *err);

/* Fetches one memory of (tenant, user_id). user_id NULL means the system scope.
 * MN_ENOTFOUND when it does not exist or belongs to another user or tenant. */
MN_EXTERN int mn_memory_get(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                            mn_results **out, mn_err *err);

typedef struct mn_filter {
    const char *tenant;     /* NULL: "default" */
    const char *user_id;    /* NULL with scope MN_SCOPE_SYSTEM */
    mn_scope scope;         /* 0: MN_SCOPE_USER */
    unsigned kinds;         /* MN_KIND_BIT mask; 0: all kinds */
    unsigned statuses;      /* MN_STATUS_BIT mask; 0: active only */
    const char *session_id; /* NULL: any */
    int64_t since_ms;       /* inclusive; 0: unbounded */
    int64_t until_ms;       /* exclusive; 0: unbounded */
} mn_filter;

MN_EXTERN void mn_filter_init(mn_filter *f);

/* Lists memories matching f, newest first, `limit` (1..MN_MAX_K) per page. Pass
 * after = 0 for the first page and results->next_after for the next one. */
MN_EXTERN int mn_memory_list(mn_db *db, const mn_filter *f, mn_id after, int limit,
                             mn_results **out, mn_err *err);

/* Changes a memory. NULL/0 fields are left as they are. The previous version is kept in the
 * memory's history. */
typedef struct mn_memory_patch {
    const char *text;
    const char *metadata_json;
    mn_status status;
} mn_memory_patch;

MN_EXTERN int mn_memory_update(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                               const mn_memory_patch *patch, mn_err *err);

/* Deletes one memory for good. MN_ENOTFOUND as for get. */
MN_EXTERN int mn_memory_delete(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                               mn_err *err);

/* Deletes every memory of a user of a tenant. *out_n (may be NULL) gets the count.
 * Forgetting a user with no memories is not an error (count 0). */
MN_EXTERN int mn_user_forget(mn_db *db, const char *tenant, const char *user_id,
                             int64_t *out_n, mn_err *err);

/* ---- search ------------------------------------------------------------------------------ */

typedef struct mn_search_opts {
    mn_filter filter;
    const char *query;      /* required, 1..max_text_bytes */
    int k;                  /* 1..MN_MAX_K (mn_search_opts_init sets 10) */
    mn_search_mode mode;
    double min_score;       /* drop hits scoring below; 0: keep all */
    /* When the question is asked (ms since the epoch), the reference of "last week",
     * "two months ago", "recently": memories from then rank a little higher. 0: now;
     * negative: MN_ERANGE. */
    int64_t as_of_ms;
} mn_search_opts;

MN_EXTERN void mn_search_opts_init(mn_search_opts *o);

/* Returns up to k memories best matching the query, best first. An unknown user gives an
 * empty result, not an error. */
MN_EXTERN int mn_search(mn_db *db, const mn_search_opts *o, mn_results **out, mn_err *err);

/* ---- export / import --------------------------------------------------------------------- */

/* Sink for export: write len bytes; return 0 or a negative MN_E* code to stop. */
typedef int (*mn_write_fn)(void *ctx, const char *buf, size_t len);

/* Writes the memories of one user (user_id NULL: every memory of the tenant, system scope
 * included) as NDJSON, one memory object per line, oldest first. */
MN_EXTERN int mn_export(mn_db *db, const char *tenant, const char *user_id, mn_write_fn write,
                        void *ctx, mn_err *err);

typedef struct mn_import_stats {
    int64_t n_lines;
    int64_t n_added;
} mn_import_stats;

/* Imports NDJSON as written by mn_export into `tenant` (NULL: "default"; a "tenant" field in
 * the lines is ignored). New ids are assigned; `sources` are remapped to the new ids of the
 * same import. Validates every line first and stores nothing when one is bad (the message
 * names the line). `data` is borrowed. */
MN_EXTERN int mn_import(mn_db *db, const char *tenant, const char *data, size_t len,
                        mn_import_stats *out_stats, mn_err *err);

/* ---- memory history ---------------------------------------------------------------------- */

/* Earlier versions of a memory (one per mn_memory_update that changed text, metadata or
 * status), oldest first. Each hit's mem has id (the memory's), text, metadata_json, status
 * and updated_at_ms (when that version was written); scores are 0. Owned by the caller:
 * free with mn_results_free. MN_ENOTFOUND as for mn_memory_get. */
MN_EXTERN int mn_memory_history(mn_db *db, const char *tenant, const char *user_id, mn_id id,
                                mn_results **out, mn_err *err);

/* ---- users of a tenant ------------------------------------------------------------------- */

typedef struct mn_user_info {
    const char *user_id;   /* lives in the mn_users that holds it */
    int64_t n_memories;    /* every status */
    int64_t created_at_ms; /* first write */
    int64_t updated_at_ms; /* last write */
} mn_user_info;

/* A page of users. Owned by the caller; free with mn_users_free. */
typedef struct mn_users {
    size_t n;
    mn_user_info *users;
    int64_t total;          /* users of the tenant with at least one memory */
    const char *next_after; /* cursor for the next page; NULL when this is the last */
    void *priv_;            /* internal */
} mn_users;

MN_EXTERN void mn_users_free(mn_users *u); /* NULL is a no-op */

/* Lists the users of a tenant (NULL: "default") that have at least one memory, ordered by
 * user id, `limit` (1..MN_MAX_K) per page, starting after user id `after` (NULL: first page).
 * Errors: MN_EINVAL (bad tenant or cursor), MN_ERANGE (limit), MN_EIO. */
MN_EXTERN int mn_user_list(mn_db *db, const char *tenant, const char *after, int limit,
                           mn_users **out, mn_err *err);

/* One user's counters into *out (user_id points to the caller's string). MN_ENOTFOUND when
 * the user has no memory in the tenant (never written, or forgotten). */
MN_EXTERN int mn_user_get(mn_db *db, const char *tenant, const char *user_id,
                          mn_user_info *out, mn_err *err);

/* ---- API keys ---------------------------------------------------------------------------- */

/* A key is "mn_" followed by 43 base64url characters (32 random bytes); only its SHA-256 is
 * stored. Its first MN_KEY_PREFIX_LEN characters are kept in clear as a public label. */
#define MN_KEY_LEN 46
#define MN_KEY_PREFIX_LEN 11 /* "mn_" and 8 characters */

typedef struct mn_key_info {
    mn_id id;
    const char *prefix;     /* e.g. "mn_Ab3dE6gH" */
    const char *tenant;
    const char *name;       /* label given at creation; "" when none */
    int64_t created_at_ms;
    int64_t revoked_at_ms;  /* 0 while the key is active */
} mn_key_info;

/* A list of keys. Owned by the caller; free with mn_keys_free. */
typedef struct mn_keys {
    size_t n;
    mn_key_info *keys;
    void *priv_; /* internal */
} mn_keys;

MN_EXTERN void mn_keys_free(mn_keys *k); /* NULL is a no-op */

/* Creates a key for `tenant` (required) with an optional label `name` (NULL or up to
 * MN_MAX_ID_BYTES bytes). The clear key is written once to out_key (NUL-terminated) and
 * never stored; *out_id (may be NULL) gets its id. Returns after the write is durable.
 * Errors: MN_EINVAL, MN_EIO (no randomness or store error), MN_EPERM (read-only). */
MN_EXTERN int mn_key_create(mn_db *db, const char *tenant, const char *name,
                            char out_key[MN_KEY_LEN + 1], mn_id *out_id, mn_err *err);

/* Checks a presented key in time independent of its content. On success the tenant is
 * copied to out_tenant and *out_id (may be NULL) gets the key's id. MN_EAUTH when the key
 * is malformed, unknown or revoked (the message says which, never echoing the key). */
MN_EXTERN int mn_key_verify(mn_db *db, const char *key, char out_tenant[MN_MAX_ID_BYTES + 1],
                            mn_id *out_id, mn_err *err);

/* Every key, active and revoked, oldest first. */
MN_EXTERN int mn_key_list(mn_db *db, mn_keys **out, mn_err *err);

/* Revokes a key by id. MN_ENOTFOUND when there is no such key; revoking twice is not an
 * error. */
MN_EXTERN int mn_key_revoke(mn_db *db, mn_id id, mn_err *err);

/* Number of active (not revoked) keys: a server with none runs in development mode. */
MN_EXTERN int mn_key_count_active(mn_db *db, int64_t *out_n, mn_err *err);

/* ---- embedding and statistics ------------------------------------------------------------ */

/* Embeds text (len bytes of valid UTF-8, 1..max_text_bytes) with the database's embedder
 * into out_vec, which holds `dim` floats; dim must equal mn_db_info.dim. The vector has unit
 * length (all zero when the text has no usable word). Thread-safe.
 * Errors: MN_ENOMODEL (no embedder), MN_EDIM, MN_EINVAL, MN_EUTF8, MN_ETOOBIG. */
MN_EXTERN int mn_embed(mn_db *db, const char *text, size_t len, float *out_vec, int dim,
                       mn_err *err);

/* Counters for monitoring; cheap enough to read on every scrape. */
typedef struct mn_db_stats {
    int64_t n_memories;       /* all tenants */
    int64_t n_partitions;     /* loaded now */
    size_t partition_bytes;   /* RAM held by loaded partitions */
    int64_t memory_bytes;     /* every byte the library holds through its allocator */
    int64_t n_commits;        /* write transactions committed by the store */
    int64_t n_committed_ops;  /* write requests they carried (group commit size = ops/commits) */
    int64_t file_bytes;       /* size of the store file, 0 when unknown */
    int64_t n_embeds;         /* texts embedded by this process (adds, searches, mn_embed) */
    int64_t embed_ns;         /* time spent in the embedder for them */
    int64_t n_embedded_background; /* vectors stored by the background embedder (remote) */
    int64_t n_embed_failures; /* its failed batches: the memories stay pending, retried */
} mn_db_stats;

MN_EXTERN int mn_db_stats_get(mn_db *db, mn_db_stats *out, mn_err *err);

/* How this node works with the others (docs/SCALING.md), for /readyz and the metrics. The
 * strings are static. Never fails and does no I/O. */
typedef struct mn_cluster_info {
    const char *store;          /* "sqlite" or "postgres" */
    const char *change_feed;    /* "none" (one process), "notify" (LISTEN connected) or "poll" */
    const char *redis;          /* "off" (not configured), "up" or "down" */
    const char *jobs;           /* "redis" (shared stream) or "local" */
    const char *query_cache;    /* "local" or "local+redis" */
    int64_t jobs_done;
    int64_t jobs_failed;
    int64_t jobs_queued_local;
    int64_t qcache_hits_local;
    int64_t qcache_hits_shared;
    int64_t qcache_misses;
} mn_cluster_info;

MN_EXTERN void mn_db_cluster_get(mn_db *db, mn_cluster_info *out);

/* ---- compression (docs/COMPRESSION.md) ---------------------------------------------------- */

typedef struct mn_compact_opts {
    const char *tenant;     /* NULL: "default" */
    const char *user_id;    /* required */
    int keep_recent;        /* the newest messages stay raw; 0: 20, -1: none */
    int min_cluster;        /* fewest messages a summary stands for; 0: 5 */
    int max_cluster;        /* most messages a summary stands for; 0: 10 */
    double min_similarity;  /* cosine joining two neighbouring groups once both are big
                               enough; 0: 0.5 */
    int summary_tokens;     /* token budget of one summary; 0: 200 */
    bool offline;           /* extractive summaries even when an LLM is configured */
    bool dry_run;           /* count what would be done; write nothing */
} mn_compact_opts;

MN_EXTERN void mn_compact_opts_init(mn_compact_opts *o);

typedef struct mn_compact_stats {
    int64_t active_before;  /* active memories of the user, every kind */
    int64_t active_after;
    int64_t n_candidates;   /* active messages considered */
    int64_t n_clusters;     /* clusters summarized by this run */
    int64_t n_archived;     /* messages archived by this run */
    int64_t n_failed;       /* clusters left as they were after an LLM error */
    bool used_llm;
    int64_t duration_ms;
} mn_compact_stats;

/* Compresses a user's memories: clusters related active messages (cosine on embeddings,
 * within a conversation session, deterministic), stores one `summary` memory per cluster
 * (sources = the messages, metadata first_at/last_at) and archives the messages (still
 * searchable with the archived status, never deleted). Incremental and idempotent: a second
 * run on unchanged memories adds nothing. Runs outside the store writer except for its own
 * small transactions; adds go on meanwhile. out (may be NULL) gets the counts. Errors:
 * MN_EINVAL, MN_ENOMODEL (no embedder), MN_EPROVIDER (the LLM failed: clusters done before
 * are kept), MN_EIO. */
MN_EXTERN int mn_compact(mn_db *db, const mn_compact_opts *o, mn_compact_stats *out,
                         mn_err *err);

/* ---- context for the prompt (docs/CONTEXT.md) --------------------------------------------- */

/* What a context may hold (mn_context_opts.include). */
#define MN_CONTEXT_PREFERENCES (1u << 0) /* memories of kind preference */
#define MN_CONTEXT_FACTS (1u << 1)       /* memories of kind fact */
#define MN_CONTEXT_MEMORIES (1u << 2)    /* messages relevant to the question */
#define MN_CONTEXT_SUMMARIES (1u << 3)   /* summaries of earlier conversations */
#define MN_CONTEXT_SYSTEM (1u << 4)      /* the tenant's system memories */
#define MN_CONTEXT_ALL 0x1fu

#define MN_CONTEXT_MAX_TOKENS 1000000 /* largest max_tokens accepted */

/* Sections of the prompt block, in the order they appear. */
typedef enum mn_context_section {
    MN_SECTION_SYSTEM = 1,      /* "System notes:" tenant-wide memories */
    MN_SECTION_PREFERENCES = 2, /* "User preferences:" */
    MN_SECTION_FACTS = 3,       /* "Known facts about the user:" */
    MN_SECTION_MEMORIES = 4,    /* "Relevant memories:" messages, each with its date */
    MN_SECTION_SUMMARIES = 5,   /* "Summary of earlier conversations:" */
    MN_SECTION_QUESTION = 6     /* "Current question:" always present, holds no item */
} mn_context_section;

/* Static section names used in JSON ("system", "preferences", "facts", "memories",
 * "summaries", "question"); NULL when out of range. */
MN_EXTERN const char *mn_context_section_name(mn_context_section s);

typedef struct mn_context_opts {
    const char *tenant;     /* NULL: "default" */
    const char *user_id;    /* required */
    const char *query;      /* required: the current question, 1..max_text_bytes */
    int max_tokens;         /* budget of the whole prompt block, 1..MN_CONTEXT_MAX_TOKENS;
                               init: 1000 */
    int k;                  /* search candidates per kind, 1..MN_MAX_K; init: 20 */
    double min_score;       /* relevance threshold: memories whose relevance to the
                               question (mn_context_item.relevance) is below are left out;
                               init: the default measured in docs/CONTEXT.md; 0: keep all */
    unsigned include;       /* MN_CONTEXT_* mask; init: MN_CONTEXT_ALL; 0: same */
    const char *model;      /* chat model the block is for: picks the BPE encoding
                               (cl100k_base, o200k_base); NULL: cl100k_base; unknown: a
                               safe estimate, flagged in the result */
    const char *session_id; /* optional: only memories of this session */
    int64_t as_of_ms;       /* when the question is asked (ms since the epoch): time
                               expressions in it ("last week") count back from here, as in
                               mn_search_opts; 0: now */
} mn_context_opts;

MN_EXTERN void mn_context_opts_init(mn_context_opts *o);

/* One memory placed in the prompt block. Pointers live in the mn_context that holds it. */
typedef struct mn_context_item {
    mn_id id;
    mn_kind kind;
    mn_scope scope;             /* MN_SCOPE_SYSTEM only in MN_SECTION_SYSTEM */
    mn_context_section section;
    double score;               /* search score; 0 for items not ranked by the question */
    int64_t created_at_ms;
    const char *text;           /* the memory's text as stored */
    size_t n_tokens;            /* tokens of its line in the block */
    double relevance;           /* absolute relevance to the question in [0, 1], compared
                                   with min_score; 0 for items not ranked by the question */
} mn_context_item;

/* A built context. Owned by the caller; free with mn_context_free. Not shared between
 * threads while being read and freed. */
typedef struct mn_context {
    const char *prompt;         /* the whole block, sections then "Current question:" */
    size_t prompt_len;
    const char *memories;       /* the block without the question section ("" when no memory
                                   was selected): what a proxy injects as a system message */
    size_t memories_len;
    const mn_context_item *items; /* in prompt order */
    size_t n_items;
    size_t n_tokens;            /* tokens of `prompt`: never more than max_tokens */
    size_t max_tokens;          /* the budget */
    bool estimated;             /* n_tokens is an estimate (unknown model or no rank table) */
    const char *encoding;       /* "cl100k_base", "o200k_base" or "estimate" (static) */
    size_t n_candidates;        /* distinct memories considered */
    size_t n_below_score;       /* left out by the relevance threshold */
    size_t n_duplicates;        /* left out as (near-)duplicates or covered by a summary */
    size_t n_over_budget;       /* relevant but left out for the budget */
    void *priv_;                /* internal */
} mn_context;

/* Builds the context of a question for one user: searches the user's memories (and the
 * tenant's system memories), keeps those scoring at least min_score, and lays them out under
 * the token budget (docs/CONTEXT.md). The prompt is counted with the exact BPE encoding of
 * the model and never exceeds max_tokens. On success *out is owned by the caller (free with
 * mn_context_free); on error *out is NULL. An unknown user gives a context with no memory.
 * Thread-safe. Errors: MN_EINVAL (missing/bad option, message names it), MN_ERANGE
 * (max_tokens or k out of range), MN_ETOOBIG (the question alone does not fit the budget:
 * raise max_tokens or shorten the question), MN_EUTF8, MN_ENOMEM, MN_EIO. */
MN_EXTERN int mn_context_build(mn_db *db, const mn_context_opts *o, mn_context **out,
                               mn_err *err);

MN_EXTERN void mn_context_free(mn_context *c); /* NULL is a no-op */

/* The OpenAI chat `messages` array of the context as compact JSON: a system message with
 * the memories (left out when there is none) and a user message with the question.
 * *out is owned by the caller: free it with mn_free. Errors: MN_EINVAL, MN_ENOMEM. */
MN_EXTERN int mn_context_messages_json(const mn_context *c, char **out, size_t *out_len,
                                       mn_err *err);

/* The whole context as one compact JSON object: {"prompt", "items": [{"id", "kind",
 * "scope", "section", "score", "created_at", "text", "tokens"}], "tokens": {"used",
 * "budget", "estimated", "encoding"}, "messages": [...], "stats": {...}}, the body of
 * POST /v1/users/{user}/context. *out is owned by the caller: free it with mn_free. */
MN_EXTERN int mn_context_json(const mn_context *c, char **out, size_t *out_len, mn_err *err);

#ifdef __cplusplus
}
#endif
#endif /* MNEMO_H */

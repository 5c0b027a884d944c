/* memory_int.h - the engine's private structures: the database handle, per-user partitions
 * (the in-RAM search state built from the store), and the helpers shared by the engine's
 * files. Lock order: db->mu, then a partition's lock; never the other way round. */
#ifndef MN_MEMORY_INT_H
#define MN_MEMORY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../core/core.h"
#include "../embed/embed.h"
#include "../index/index.h"
#include "../store/store.h"
#include "../text/text.h"

/* Ranking parameters; the defaults are the best measured on the dev data
 * (bench/results/retrieval.md, docs/RETRIEVAL.md). */
typedef struct mn__rank_cfg {
    float bm25_k1;
    float bm25_b;
    float idf_pow;     /* BM25 idf exponent: > 1 favours the question's rarest words */
    float w_keyword;   /* hybrid blend weight of the normalised BM25 score */
    float rrf_c;       /* > 0: reciprocal rank fusion with this constant instead */
    float min_vec;     /* a vector-only hit needs at least this cosine */
    bool index_speaker; /* index "<speaker>: <text>" */
    bool index_date;    /* add the date's words to the keyword index */
    float neighbor;     /* share of the best neighbouring turn's score a row inherits */
    float w_session;    /* share of the best other turn of its session a row inherits */
    float w_role;  /* score factor of rows said by the role the query points at */
    float w_speaker;    /* score boost of rows whose speaker the query names */
    float w_time;       /* score boost of rows inside the question's "last week" window */
} mn__rank_cfg;

/* One loaded partition. Rows are dense indexes 0..n-1 in load/insert order. */
typedef struct mn__part {
    char *key;             /* "tenant\x1f" scope "\x1f" user */
    char *tenant;
    char *user_id;         /* NULL for the system scope */
    mn_scope scope;
    pthread_rwlock_t lock; /* guards everything below */
    size_t n, cap;
    mn_id *ids;
    int64_t *created;
    uint8_t *kind;
    uint8_t *role;
    uint8_t *status;
    uint8_t *alive;        /* 0: deleted or replaced by a newer row of the same id */
    uint64_t *session;     /* hash of the session id, 0 when none */
    uint64_t *speaker;     /* mn__speaker_key of the row, 0 when none */
    mn__hmap by_id;        /* 8-byte id -> row + 1 */
    mn__hmap cover;        /* 8-byte id of a summarized message -> id of its summary */
    mn__vecset vecs;
    mn__bm25 *bm;
    size_t n_alive;
    /* part_hnsw.c: the graph of rows [0, hnsw_upto) once the partition is big enough;
     * hnsw_dead_base is n - n_alive when it was last brought up to date */
    mn__hnsw *hnsw;
    size_t hnsw_upto, hnsw_dead_base;
    _Atomic bool hnsw_syncing; /* queued for the builder, or being caught up */
    /* owned by db->mu */
    int refs;
    bool loaded;
    int load_rc;
    bool dropped;          /* removed from the map while in use: freed on last release */
    bool stale;            /* indexes out of step after a failed insert: rebuild on next use */
    /* Several nodes on one store (docs/SCALING.md): outdated means another node wrote the
     * partition (told by the store's watch): reload on next acquire, even while in use.
     * version is the store's version when loaded; checked_ms when last compared (polling,
     * while the watch is down). */
    bool outdated;
    _Atomic int64_t version;
    _Atomic int64_t checked_ms;
    struct mn__part *lru_prev, *lru_next;
    size_t bytes;            /* as last accounted in db->parts_bytes */
    _Atomic size_t cur_bytes; /* as last measured by a writer */
} mn__part;

struct mn_db {
    mn_db_opts opts;
    char *path;
    char *model_path;
    mn__logger log;
    const struct mn__store_ops *sops;
    mn__store *store;
    mn__embedder *emb;       /* NULL: keyword only */
    char *vec_model;         /* embed_model stored with vectors: emb->model_id + recipe */
    char vector_note[256];
    mn__rank_cfg rank;

    pthread_mutex_t mu;      /* partitions map, LRU, tokenizer pool, counters */
    mn__hmap parts;
    mn__part *lru_head, *lru_tail; /* head = most recently used */
    size_t parts_bytes;
    int64_t n_parts;

    bool watched;            /* other processes write the store too (PostgreSQL) */
    struct mn__redis *redis; /* NULL: no Redis configured (redis.c) */
    struct mn__qcache *qcache; /* query-embedding cache (qcache.c); NULL without embedder */
    struct mn__jobs *jobs;   /* background jobs (jobs.c); NULL when read-only */

    pthread_mutex_t tok_mu;  /* the tokenizer pool */
    mn__tok *tok_pool[16];
    int n_tok_pool;

    /* Providers, compression, extraction (eprof.c, embed_worker.c, compact*.c, extract*.c;
     * docs/PROVIDERS.md, docs/COMPRESSION.md). Set at open, read-only afterwards. */
    mn__hmap eprofs;          /* tenant -> struct mn__eprof *: tenants with their own embedder */
    bool any_remote;          /* some embedder is remote: the worker embeds pending rows */
    struct mn__ewk *ewk;      /* background embedder (embed_worker.c); NULL when not needed */
    struct mn__llm *llm;      /* chat model; NULL: offline */
    int extract_mode;         /* MN__EXTRACT_* */
    _Atomic int closing;      /* set first by mn_db_close: provider calls give up */
    pthread_mutex_t bpe_mu;
    struct mn__bpe *bpe;      /* token counter for summaries, opened on first use */
    bool bpe_tried;
    struct mn__bpe *bpe_o200k; /* context_build.c: o200k_base, opened on first use (bpe_mu) */
    bool bpe_o200k_tried;
    struct mn__xq *xq;        /* LLM extraction queue (extract.c); NULL unless extract=llm */
    pthread_mutex_t compact_mu;
    mn__hmap compacting;      /* partition key -> 1 while a compaction runs on it */
    struct mn__hbuild *hbuild; /* part_hnsw.c: graph builder thread, started on first use */
    bool hbuild_failed;        /* (db->mu) it could not be started: searches catch up */
};

/* ---- validate.c --------------------------------------------------------------------- */
int mn__tenant_or_default(const char *tenant, const char **out, mn_err *err);
/* Checks scope/user pairing and ids; fills k. */
int mn__pkey_make(const char *tenant, mn_scope scope, const char *user_id, mn__pkey *out_k,
                  mn_err *err);
int mn__check_text(const mn_db *db, const char *what, const char *text, mn_err *err);
/* Validates a metadata JSON object (size, depth, object type) and returns its compact form
 * in *out (caller frees with mn__free); NULL/empty input gives *out = NULL. */
int mn__metadata_normalize(const mn_db *db, const char *json, char **out, mn_err *err);
int mn__check_memory_in(const mn_db *db, const mn_memory_in *m, mn_err *err);

/* ---- text.c: what gets indexed -------------------------------------------------------- */
/* The text embedded and keyword-indexed for a row: "<speaker>: <text>" when configured.
 * Written to b (reset first). */
int mn__index_text(const mn_db *db, const mn__row *r, mn__buf *b);
/* Keyword terms (stems, stopwords dropped) of a text, appended to terms/arena. */
typedef struct mn__terms {
    mn__term *v;
    size_t n, cap;
    mn__arena arena;
} mn__terms;
void mn__terms_init(mn__terms *t);
void mn__terms_release(mn__terms *t);
int mn__terms_of(mn__tok *tok, const char *text, size_t len, bool keep_stop_if_all,
                 mn__terms *out);
/* Key of the first word (stemmed) of a message's speaker, 0 when none; compares equal to
 * mn__term_key of a query term naming that speaker. */
uint64_t mn__speaker_key(mn__tok *tok, const mn__row *r);
uint64_t mn__term_key(const mn__term *t);
mn__tok *mn__tok_acquire(mn_db *db);
void mn__tok_release(mn_db *db, mn__tok *t);
/* Embeds with the db's embedder into out (dim floats). MN_ENOMODEL when none. */
int mn__embed_text(mn_db *db, const char *text, size_t len, float *out, mn_err *err);
/* monitor.c: counts one embedding call of ns nanoseconds (mn_db_stats). */
void mn__embed_account(int64_t ns);

/* ---- partition.c ---------------------------------------------------------------------- */
/* Finds or loads the partition of k and returns it referenced (not locked). */
int mn__part_acquire(mn_db *db, const mn__pkey *k, mn__part **out, mn_err *err);
/* Returns the partition of k when it is loaded, referenced; NULL otherwise. */
mn__part *mn__part_peek(mn_db *db, const mn__pkey *k);
void mn__part_release(mn_db *db, mn__part *p);
/* Drops the partition of k from the cache (after forget). */
void mn__part_drop(mn_db *db, const mn__pkey *k);
/* Adds or replaces a row in a partition; caller holds the write lock. */
int mn__part_put_row(mn_db *db, mn__part *p, const mn__row *r);
void mn__part_remove_id(mn__part *p, mn_id id);
/* Re-reads row id of k from the store after a write and puts it into the partition of k
 * when that is loaded (a row gone from the store leaves it; a failed read marks the
 * partition stale, to be reloaded). */
void mn__part_reindex(mn_db *db, const mn__pkey *k, mn_id id);
/* Index of the live row of id, or -1. Caller holds a lock. */
long mn__part_find(const mn__part *p, mn_id id);
void mn__parts_free_all(mn_db *db);
/* The store's watch callback (mn__watch_fn, ctx = db): marks the partition of k outdated,
 * or every partition when k is NULL. */
void mn__parts_on_change(void *ctx, const mn__pkey *k);
size_t mn__part_bytes(const mn__part *p);

/* ---- part_hnsw.c: HNSW for big partitions (docs/INDEX.md) ---------------------------- */
/* The graph builder holds the write lock this long at most at a time. */
#define MN__HNSW_SYNC_BUDGET_NS (20 * 1000000LL)
/* Vector rows from which a partition searches through its graph (MNEMO_HNSW_MIN_ROWS). */
size_t mn__hnsw_min_rows(void);
void mn__hnsw_set_min_rows(size_t n); /* tests: 0 goes back to the default / environment */
/* vec[i] = cosine of row i for rows with smask set (-2 otherwise, or for rows the graph did
 * not propose and that are not keyword hits (kw[i] > 0; kw may be NULL)). Exact below the
 * threshold. *out_want_sync: the graph is behind; call mn__part_hnsw_want after unlocking.
 * Caller holds the read lock. MN_ENOMEM only. */
int mn__part_vec_scores(const mn__part *p, const float *q, const uint8_t *smask,
                        size_t n_eligible, const float *kw, int k, float *vec,
                        bool *out_want_sync);
/* Builds or catches the graph up (deleted rows, late vectors, new rows) for at most
 * budget_ns (0: no limit). Caller holds the write lock. Never fails: rows it could not
 * index stay on the exact path. */
void mn__part_hnsw_sync(mn__part *p, int64_t budget_ns);
int64_t mn__part_hnsw_searches(void); /* searches answered through a graph, process-wide */
/* After a search asked for it (want_sync): queues p for the builder thread, which catches
 * its graph up in slices of the write lock. Caller holds a reference and no lock. */
void mn__part_hnsw_want(mn_db *db, mn__part *p);
/* Stops the builder (mn__parts_free_all calls it first), dropping what is queued. */
void mn__part_hnsw_stop(mn_db *db);

/* ---- scale-out: redis.c, qcache.c, jobs.c, job_backfill.c (docs/SCALING.md) ----------- */
typedef struct mn__redis mn__redis;
typedef struct mn__qcache mn__qcache;
typedef struct mn__jobs mn__jobs;
struct redisContext;
struct redisReply;
int mn__redis_open(const char *url, const mn__logger *log, mn__redis **out, mn_err *err);
void mn__redis_close(mn__redis *r);
const char *mn__redis_name(const mn__redis *r);
bool mn__redis_up(mn__redis *r);
/* A new blocking connection (the job worker's own), commands timing out after timeout_ms. */
int mn__redis_connect(mn__redis *r, int timeout_ms, struct redisContext **out, mn_err *err);
/* A command on a pooled connection: MN_EUNAVAIL at once while Redis is down, MN_EIO for an
 * error reply. *out is freed by the caller with freeReplyObject. */
int mn__redis_cmd(mn__redis *r, struct redisReply **out, mn_err *err, int argc,
                  const char **argv, const size_t *lens);
void mn__redis_failed(mn__redis *r, const char *why); /* a connection broke: down, backoff */
void mn__redis_reply_free(struct redisReply *rep);
void mn__redis_ok(mn__redis *r);
int mn__qcache_new(mn_db *db, mn__qcache **out);
void mn__qcache_free(mn__qcache *c);
/* Embeds a search query through the cache (local LRU, then Redis when shared). */
int mn__embed_query(mn_db *db, const char *text, size_t len, float *out, mn_err *err);
void mn__qcache_stats(const mn__qcache *c, int64_t *out_local, int64_t *out_shared,
                      int64_t *out_misses, bool *out_shared_on);
/* A background job on one partition; kind names its handler (table in jobs.c). */
typedef struct mn__job {
    char kind[32];
    char tenant[MN_MAX_ID_BYTES + 1];
    mn_scope scope;
    char user_id[MN_MAX_ID_BYTES + 1]; /* "" for the system scope */
    char arg[256];
    char id[48];                       /* stream entry id; "" for a local job */
} mn__job;
typedef int (*mn__job_fn)(mn_db *db, const mn__job *job, mn_err *err);
int mn__jobs_start(mn_db *db, mn_err *err);
void mn__jobs_stop(mn_db *db);
/* Queues a job: on the Redis stream when it is up, else locally; a job of the same kind and
 * partition already queued is not queued twice. */
int mn__jobs_submit(mn_db *db, const mn__job *job, mn_err *err);
void mn__jobs_stats(mn_db *db, int64_t *out_done, int64_t *out_failed, int64_t *out_queued);
int mn__job_embed_backfill(mn_db *db, const mn__job *job, mn_err *err);

/* ---- embedding profiles (eprof.c) ------------------------------------------------------ */
/* The embedder a tenant's memories use: its own (embed_tenants) or the database's. */
typedef struct mn__eprof {
    mn__embedder *emb;     /* NULL: keyword only */
    const char *vec_model; /* model id + index recipe stored with each vector; NULL with emb */
} mn__eprof;
mn__eprof mn__eprof_of(const mn_db *db, const char *tenant);
/* The "t1"-style recipe appended to a model id: *out owned by the caller (mn__free). */
int mn__vec_model_make(const mn__embedder *e, char **out);
/* providers.c: everything the provider options open (eprofs, LLM, extraction mode) */
int mn__providers_open(mn_db *db, mn_err *err);
void mn__providers_close(mn_db *db);
/* Opens the remote default embedder named by db->opts.embedder from the embed_* options. */
int mn__eprof_open_remote(mn_db *db, const char *which, mn__embedder **out, mn_err *err);
/* Reads db->opts.embed_tenants; then clears the borrowed option strings. */
int mn__eprofs_open(mn_db *db, mn_err *err);
void mn__eprofs_close(mn_db *db);
/* Embeds n documents (memories) of a tenant: one batched call for remote embedders. */
int mn__embed_docs(mn_db *db, const mn__eprof *pf, const char *const *texts,
                   const size_t *lens, size_t n, float *out, mn_err *err);
/* Embeds a search query of a tenant (the database's own through qcache.c). */
int mn__embed_query_of(mn_db *db, const mn__eprof *pf, const char *text, size_t len,
                       float *out, mn_err *err);

/* ---- embed_worker.c: embeddings of remote embedders, in the background ----------------- */
int mn__ewk_start(mn_db *db, mn_err *err);
void mn__ewk_stop(mn_db *db);
/* Tells the worker that rows were stored pending. Cheap; any thread. */
void mn__ewk_kick(mn_db *db);
typedef struct mn__ewk_stats {
    int64_t n_embedded, n_batches, n_failures, n_pending_seen;
    int64_t last_error_ms;
    char last_error[256];
} mn__ewk_stats;
void mn__ewk_stats_get(mn_db *db, mn__ewk_stats *out);
/* Runs the worker's loop once in the calling thread until nothing is pending or an error:
 * for tests and the compaction of a database without a worker. */
int mn__ewk_drain(mn_db *db, mn_err *err);
/* Puts vecs of rows (ids of partition k) into the loaded partition, if any. */
void mn__part_set_vectors(mn_db *db, const mn__pkey *k, const mn_id *ids, const float *vecs,
                          size_t n, int dim);

/* ---- compaction and extraction (compact*.c, extract*.c) -------------------------------- */
typedef struct mn__cluster_cfg {
    size_t min_size;       /* runs smaller than this always join their closer neighbour,
                              even past max_size */
    size_t max_size;       /* runs at least min_size big stop growing here */
    double min_similarity; /* two big-enough neighbouring runs join above this cosine */
} mn__cluster_cfg;
/* Cuts n vectors (unit length, time order) into runs of neighbours: out_ends (n slots) gets
 * the end index of each run. Deterministic. MN_ENOMEM only. */
int mn__cluster_runs(const float *vecs, int dim, size_t n, const mn__cluster_cfg *cfg,
                     size_t *out_ends, size_t *out_n);
/* One message of a cluster, for its summary; everything borrowed. */
typedef struct mn__cmsg {
    mn_id id;
    const char *text;
    const char *speaker;   /* metadata.speaker, or NULL */
    mn_role role;
    int64_t created_at_ms;
    const float *vec;      /* unit vector, or NULL */
} mn__cmsg;
/* BPE tokens (cl100k_base; an upper estimate without the table) of s[0..len). */
size_t mn__count_tokens(mn_db *db, const char *s, size_t len);
/* "8 May 2023: " or "8 May 2023 to 9 May 2023: " for the cluster's span. */
int mn__summary_header(const mn__cmsg *m, size_t n, mn__buf *out);
int mn__summarize_extractive(mn_db *db, const mn__eprof *pf, const mn__cmsg *m, size_t n,
                             const float *centroid, int budget_tokens, mn__buf *out,
                             mn_err *err);
int mn__summarize_llm(mn_db *db, const mn__cmsg *m, size_t n, int budget_tokens, mn__buf *out,
                      mn_err *err);
/* A preference or fact stated in a message (extract_rules.c). Statements with the same
 * subject are about the same thing: the newer supersedes the older. */
typedef struct mn__fact {
    mn_kind kind;      /* MN_KIND_PREFERENCE or MN_KIND_FACT */
    char subject[96];  /* "location", "taste:coffee", "family:sister:lives" */
    char text[320];    /* "<who> lives in Berlin" */
} mn__fact;
/* Statements of a user's message by English rules; who names the user in the texts ("User"
 * when NULL). At most cap, *out_n gets how many. Never fails. */
int mn__extract_rules(const char *text, const char *who, mn__fact *out, size_t cap,
                      size_t *out_n);
/* A string field of a metadata object, copied into a, or NULL. */
const char *mn__meta_str(const char *metadata_json, const char *field, mn__arena *a);
enum { MN__EXTRACT_OFF = 0, MN__EXTRACT_RULES = 1, MN__EXTRACT_LLM = 2 };
/* The LLM extraction thread (extract.c): started when extract is "llm". */
int mn__xq_start(mn_db *db, mn_err *err);
void mn__xq_stop(mn_db *db);
/* After an add committed: extraction and the compaction trigger for the rows' users. */
void mn__after_add(mn_db *db, const mn__row *rows, size_t n);
int mn__job_compact(mn_db *db, const struct mn__job *job, mn_err *err);
/* Queues a compaction of k when its loaded partition has opts.compact_threshold active
 * messages or more (at most once a minute per user). */
void mn__compact_trigger(mn_db *db, const mn__pkey *k);

/* ---- results.c ------------------------------------------------------------------------ */
int mn__results_new(size_t n, mn_results **out);
mn__arena *mn__results_arena(mn_results *r);
/* Copies a store row into hit i (strings into the results' arena). */
int mn__results_set_row(mn_results *res, size_t i, const mn__row *r, const char *vec_model);

/* ---- qtime.c -------------------------------------------------------------------------- */
/* The window of creation times a relative time expression of question q points at ("last
 * week", "two months ago", "yesterday", "recently"), ref_ms being when it is asked: 1 and
 * [*out_from_ms, *out_to_ms), or 0 when q has none (or ref_ms <= 0). The first expression
 * counts. */
int mn__query_window(const char *q, int64_t ref_ms, int64_t *out_from_ms, int64_t *out_to_ms);

#endif /* MN_MEMORY_INT_H */

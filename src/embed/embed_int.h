/* embed_int.h - shared by the files of src/embed only: the layout of the model file
 * (docs/MODEL_FORMAT.md), the built-in embedder's handle and its tokenizer pool. */
#ifndef MN_EMBED_INT_H
#define MN_EMBED_INT_H

#include <pthread.h>

#include "../text/text.h"
#include "embed.h"

#define MN_MODEL_MAGIC "MNEMOVEC"
#define MN_MODEL_VERSION 1
#define MN_MODEL_HEADER_BYTES 128
#define MN_MODEL_ENDIAN_MARK 0x01020304u
#define MN_MODEL_TYPE_I8 1  /* int8 components, one float scale per row */
#define MN_MODEL_TYPE_F32 2 /* float components (measurements; not what setup builds) */
#define MN_MODEL_ALIGN 64   /* every section starts on a multiple of this */
#define MN_MODEL_MAX_DIM 1024
#define MN_MODEL_MAX_WORDS (1u << 24)
#define MN_MODEL_FILENAME "mnemo-glove100.bin"

/* Header field offsets; all little-endian. */
enum {
    MH_MAGIC = 0,         /* 8 bytes "MNEMOVEC" */
    MH_VERSION = 8,       /* u32 */
    MH_HEADER_BYTES = 12, /* u32, 128 */
    MH_ENDIAN = 16,       /* u32 0x01020304 */
    MH_DIM = 20,          /* u32 */
    MH_N_WORDS = 24,      /* u32 */
    MH_N_BUCKETS = 28,    /* u32, power of two */
    MH_SRC_VOCAB = 32,    /* u32, words in the source vocabulary (Zipf's V) */
    MH_VEC_TYPE = 36,     /* u32, MN_MODEL_TYPE_* */
    MH_FILE_BYTES = 40,   /* u64 */
    MH_BODY_XXH64 = 48,   /* u64, XXH64 seed 0 of bytes [header_bytes, file_bytes) */
    MH_OFF_BUCKETS = 56,  /* u64, u32[n_buckets]: row + 1, 0 empty */
    MH_OFF_WORD_OFFS = 64, /* u64, u32[n_words + 1]: offsets into the word bytes */
    MH_OFF_SCALES = 72,   /* u64, f32[n_words] (int8 type only) */
    MH_OFF_WORDS = 80,    /* u64, word bytes, word_offs[n_words] of them */
    MH_OFF_VECTORS = 88,  /* u64, n_words * dim components */
    MH_MAX_PROBE = 96,    /* u32, longest probe sequence of the table */
    MH_ABTT_PCS = 100,    /* u32, principal components removed after centring; ~0u: raw */
    MH_SOURCE = 104,      /* 16 bytes, NUL-padded name of the source vectors */
    MH_HEADER_XXH64 = 120 /* u64, XXH64 seed 0 of bytes [0, 120) */
};

/* Tokenizers are not thread-safe and not free to create: a few are kept for reuse. */
#define MN_EMBED_POOL_MAX 16
typedef struct mn__tokpool {
    pthread_mutex_t mu;
    mn__tok *free[MN_EMBED_POOL_MAX];
    int n;
} mn__tokpool;

void mn__embed_pool_init(mn__tokpool *p);
void mn__embed_pool_release(mn__tokpool *p);
mn__tok *mn__embed_pool_get(mn__tokpool *p); /* NULL on OOM */
void mn__embed_pool_put(mn__tokpool *p, mn__tok *t);

typedef struct mn__builtin {
    mn__embedder base;
    char model_id[48];
    char *path;                 /* owned */
    const unsigned char *map;   /* the whole file, read-only */
    size_t map_bytes;
    uint32_t dim, n_words, n_buckets, max_probe, vec_type, src_vocab;
    const uint32_t *buckets;
    const uint32_t *word_offs;
    const char *words;
    const float *scales;        /* NULL for MN_MODEL_TYPE_F32 */
    const int8_t *vec_i8;
    const float *vec_f32;
    double zipf_log;            /* ln(1.78 V): p(rank r) = 1 / (r * zipf_log) */
    mn__embed_tunables tun;
    float *common;              /* unit vector removed from every sentence, or NULL; owned */
    mn__embed_weigher weigher;  /* NULL: SIF (mn__embed_builtin_set_weigher) */
    void *weigher_ctx;
    mn__tokpool pool;
} mn__builtin;

/* Row of a word in the model (= its frequency rank - 1), or -1 when unknown. */
int64_t mn__embed_lookup(const mn__builtin *b, const char *w, size_t len);
/* The embed callback of the built-in embedder (builtin_embed.c). */
int mn__embed_builtin_vector(mn__embedder *e, const char *text, size_t len, float *out,
                             mn_err *err);

/* ---- remote embedders (remote.c, http_openai.c, http_cohere.c) ---------------------------- */
typedef struct mn__remote mn__remote;

/* What differs between providers: the endpoint, the request body and the reply's shape. */
typedef struct mn__rprov {
    const char *name;
    const char *default_url;
    int (*endpoint)(const mn__remote *r, const char *base, mn__buf *out);
    int (*body)(const mn__remote *r, const char *const *texts, const size_t *lens, size_t n,
                int use, mn__buf *out);
    int (*parse)(const char *body, size_t len, size_t n, int dim, float *out, mn_err *err);
} mn__rprov;

extern const mn__rprov mn__rprov_openai;
extern const mn__rprov mn__rprov_cohere;

struct mn__remote {
    mn__embedder base;
    const mn__rprov *prov;
    char model_id[160];
    char what[200];          /* "embedder 'openai' (model m)" for messages */
    char *model;             /* owned copies */
    char *endpoint;
    char *api_version;       /* NULL unless Azure */
    char *auth_header;       /* "Authorization: Bearer k" / "api-key: k", or NULL */
    const char *headers[4];
    bool azure;
    bool send_dim;
    int timeout_ms, connect_timeout_ms, max_batch;
    mn__retry_policy retry;
    int query_timeout_ms;    /* a search waits on a query: shorter than for documents */
    mn__retry_policy query_retry;
    const _Atomic int *cancel;
};

/* Reads a JSON array of exactly dim finite numbers into out, normalised to unit length.
 * `item` numbers it in messages. MN_EPROVIDER when it is anything else. */
struct cJSON;
int mn__embed_read_vec(const struct cJSON *arr, int dim, size_t item, float *out, mn_err *err);
/* A reply body that is not what was expected: MN_EPROVIDER, "<why>; reply starts: '...'". */
int mn__embed_bad_reply(mn_err *err, const char *body, size_t len, const char *why);

#endif /* MN_EMBED_INT_H */

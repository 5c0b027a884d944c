/* embed.h - embedders turn text into unit vectors. Built-in offline model (GloVe word
 * vectors, SIF weights, hashed character n-grams for unknown words) and a deterministic mock
 * for tests; remote providers (OpenAI-compatible, Cohere) behind the same struct. */
#ifndef MN_EMBED_H
#define MN_EMBED_H

#include "../core/core.h"

typedef struct mn__embedder mn__embedder;

struct mn__embedder {
    const char *name;     /* "builtin", "mock" */
    const char *model_id; /* stored with each vector; vectors of different ids never mix */
    int dim;
    /* Writes dim floats of unit length (all zero when the text has no usable word) to out.
     * Thread-safe. */
    int (*embed)(mn__embedder *e, const char *text, size_t len, float *out, mn_err *err);
    void (*destroy)(mn__embedder *e); /* frees the embedder and what it holds */
    /* ---- remote providers (remote.c); zero for the local embedders ---- */
    bool remote;          /* a network call: kept off the write path (docs/PROVIDERS.md) */
    /* Embeds n texts for `use` into out (n * dim floats, unit length). NULL: embed() once
     * per text. embed() of a remote embedder embeds a query. Thread-safe. */
    int (*embed_batch)(mn__embedder *e, const char *const *texts, const size_t *lens,
                       size_t n, int use, float *out, mn_err *err);
};

/* What a text is embedded for: some providers (Cohere input_type) embed the two apart. */
enum { MN__EMBED_QUERY = 0, MN__EMBED_DOCUMENT = 1 };

/* Settings of a remote embedder (docs/PROVIDERS.md). Strings are copied by _new. */
typedef struct mn__remote_cfg {
    const char *provider;    /* "openai" (OpenAI-compatible: OpenAI, Ollama, vLLM, llama.cpp
                                server, HF TEI), "azure" (openai with api-key header and
                                api-version), "cohere" (/v2/embed) */
    const char *url;         /* base URL or full endpoint; NULL: the provider's public API */
    const char *api_key;     /* NULL or "": no authentication (local servers) */
    const char *model;       /* required */
    int dim;                 /* required: the vectors' dimension; replies are checked */
    bool send_dim;           /* ask for dim ("dimensions" / "output_dimension") */
    const char *api_version; /* Azure's api-version; NULL: "2024-02-01" for azure */
    int timeout_ms;          /* per request; 0: 30000 */
    int connect_timeout_ms;  /* 0: 5000 */
    int max_attempts;        /* per request, retries included; 0: 4 */
    int max_total_ms;        /* retries of one request stop after this; 0: 60000 */
    int max_batch;           /* texts per request; 0: 64 */
    const _Atomic int *cancel; /* borrowed for the embedder's life: set at shutdown */
} mn__remote_cfg;

/* A remote embedder. Validates the settings, does no I/O. MN_EINVAL names the bad field. */
int mn__embed_remote_new(const mn__remote_cfg *cfg, mn__embedder **out, mn_err *err);
/* Checks a reply body for n texts of dim floats and writes them, normalised, to out.
 * MN_EPROVIDER with a message saying what is wrong (not JSON, missing field, count, wrong
 * dimension, non-finite value). Exposed for tests. */
int mn__embed_parse_openai(const char *body, size_t len, size_t n, int dim, float *out,
                           mn_err *err);
int mn__embed_parse_cohere(const char *body, size_t len, size_t n, int dim, float *out,
                           mn_err *err);

/* Opens the built-in model file (format in docs/MODEL_FORMAT.md), memory-mapped. path NULL:
 * $MNEMO_MODEL, then the default locations (mn__embed_default_paths). MN_ENOMODEL with a
 * message naming the paths tried and how to get the file (scripts/setup). */
int mn__embed_builtin_open(const char *path, mn__embedder **out, mn_err *err);
int mn__embed_mock_new(int dim, mn__embedder **out, mn_err *err);

/* NULL-terminated list of the default model locations, searched in order. */
const char *const *mn__embed_default_paths(void);

/* Knobs of the built-in sentence vector, kept in one struct so that they can be measured.
 * Word weight: sif_a / (sif_a + p(w)), p from the word's frequency rank (Zipf). */
typedef struct mn__embed_tunables {
    float sif_a;         /* SIF smoothing; 1e-3 */
    float oov_weight;    /* times the weight of the rarest known word, for unknown words; 1 */
    float oov_norm;      /* length of an unknown word's n-gram vector (a word vector is ~5); 4 */
    float number_weight; /* extra factor for words that are numbers; 1 */
} mn__embed_tunables;

void mn__embed_tunables_init(mn__embed_tunables *t);
/* Both change the vectors the built-in embedder produces: call them before the embedder is
 * shared between threads, and never between vectors that will be compared. MN_EINVAL for
 * another embedder or out-of-range values. */
int mn__embed_builtin_set_tunables(mn__embedder *e, const mn__embed_tunables *t, mn_err *err);
/* SIF's second step: removes the projection on u (dim floats, normalised here, copied) from
 * every sentence vector before normalisation. u NULL removes it. */
int mn__embed_builtin_set_common(mn__embedder *e, const float *u, int dim, mn_err *err);

/* A word weight in place of SIF's, for measuring other weightings (bench/retrieval's
 * embed-weights): called for every word of every text with the word as the tokenizer gives
 * it (case-folded), its model row (-1: unknown) and the SIF weight it would have. fn NULL
 * restores SIF. Same rules as set_tunables: before sharing, never between compared vectors;
 * fn must be thread-safe when the embedder is shared. */
typedef float (*mn__embed_weigher)(void *ctx, const char *word, size_t len, int64_t row,
                                   float sif_weight);
int mn__embed_builtin_set_weigher(mn__embedder *e, mn__embed_weigher fn, void *ctx,
                                  mn_err *err);

/* ---- fault injection (embed_fault.c), for tests ----
 * While enabled, mn__embed_fault_wrap wraps *e (which it then owns: freeing the wrapper
 * frees it) so that each embed call is counted and forwarded; after mn__embed_fail_after(n)
 * the n-th call that follows fails with MN_EPROVIDER (n <= 0: none). A no-op when disabled.
 * MN_ENOMEM leaves *e as it was. */
void mn__embed_fault_enable(bool on);
void mn__embed_fail_after(int64_t n);
int64_t mn__embed_fault_calls(void);
int mn__embed_fault_wrap(mn__embedder **e);

#endif /* MN_EMBED_H */

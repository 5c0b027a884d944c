/* embed.h - embedders turn text into unit vectors. Built-in offline model (GloVe word
 * vectors, SIF weights, hashed character n-grams for unknown words) and a deterministic mock
 * for tests; remote providers come later behind the same struct. */
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
    void (*free)(mn__embedder *e);
};

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

#endif /* MN_EMBED_H */

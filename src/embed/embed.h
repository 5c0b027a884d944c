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

/* Opens the built-in model file (format in docs/ARCHITECTURE.md), memory-mapped. path NULL:
 * $MNEMO_MODEL, then the default locations (mn__embed_default_paths). MN_ENOMODEL with a
 * message naming the paths tried and how to get the file (scripts/setup). */
int mn__embed_builtin_open(const char *path, mn__embedder **out, mn_err *err);
int mn__embed_mock_new(int dim, mn__embedder **out, mn_err *err);

/* NULL-terminated list of the default model locations, searched in order. */
const char *const *mn__embed_default_paths(void);

#endif /* MN_EMBED_H */

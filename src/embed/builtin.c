/* builtin.c - the built-in model file: finding it, mapping it read-only, checking every
 * field before use (a truncated or foreign file is an error, never a crash), word lookup,
 * and the knobs of the built-in embedder. Format: docs/MODEL_FORMAT.md. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "embed_int.h"

#define CORRUPT_HINT "delete the file and run scripts/setup (or make setup) to rebuild it"
#define MISSING_HINT                                                                          \
    "run scripts/setup (or make setup) to build the model file, or set MNEMO_MODEL to its path"
#define MISSING 1 /* try_open: no file at that path; the search goes on */

static uint32_t rd32(const unsigned char *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static uint64_t rd64(const unsigned char *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static int corrupt(mn_err *err, const char *path, const char *fmt, ...) MN_PRINTF(3, 4);
static int corrupt(mn_err *err, const char *path, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mn__err_set(err, MN_ECORRUPT, CORRUPT_HINT, "model file '%s' is corrupt: %s", path,
                       what);
}

/* A section must start on MN_MODEL_ALIGN inside the body and end inside the file. */
static int section(const mn__builtin *b, const char *name, size_t hdr_off, uint64_t bytes,
                   const void **out, mn_err *err)
{
    uint64_t off = rd64(b->map, hdr_off);
    if (off < MN_MODEL_HEADER_BYTES || off % MN_MODEL_ALIGN || off > b->map_bytes ||
        bytes > b->map_bytes - off)
        return corrupt(err, b->path,
                       "%s section at offset %llu with %llu bytes does not fit the file of %zu "
                       "bytes",
                       name, (unsigned long long)off, (unsigned long long)bytes, b->map_bytes);
    *out = b->map + off;
    return MN_OK;
}

static int check_header(mn__builtin *b, mn_err *err)
{
    const unsigned char *m = b->map;
    uint32_t v;
    if (b->map_bytes < MN_MODEL_HEADER_BYTES)
        return corrupt(err, b->path, "%zu bytes, shorter than the %d-byte header", b->map_bytes,
                       MN_MODEL_HEADER_BYTES);
    if (memcmp(m + MH_MAGIC, MN_MODEL_MAGIC, 8))
        return corrupt(err, b->path, "magic is not %s (not a mnemo model file)", MN_MODEL_MAGIC);
    if (rd32(m, MH_ENDIAN) != MN_MODEL_ENDIAN_MARK)
        return corrupt(err, b->path, "byte-order mark is 0x%08x, expected 0x%08x",
                       rd32(m, MH_ENDIAN), MN_MODEL_ENDIAN_MARK);
    v = rd32(m, MH_VERSION);
    if (v != MN_MODEL_VERSION)
        return corrupt(err, b->path, "format version %u, this build reads version %d", v,
                       MN_MODEL_VERSION);
    if (rd32(m, MH_HEADER_BYTES) != MN_MODEL_HEADER_BYTES)
        return corrupt(err, b->path, "header size %u, expected %d", rd32(m, MH_HEADER_BYTES),
                       MN_MODEL_HEADER_BYTES);
    if (XXH64(m, MH_HEADER_XXH64, 0) != rd64(m, MH_HEADER_XXH64))
        return corrupt(err, b->path, "header checksum mismatch");
    if (rd64(m, MH_FILE_BYTES) != b->map_bytes)
        return corrupt(err, b->path, "header says %llu bytes, file has %zu (truncated?)",
                       (unsigned long long)rd64(m, MH_FILE_BYTES), b->map_bytes);
    if (XXH64(m + MN_MODEL_HEADER_BYTES, b->map_bytes - MN_MODEL_HEADER_BYTES, 0) !=
        rd64(m, MH_BODY_XXH64))
        return corrupt(err, b->path, "body checksum mismatch");

    b->dim = rd32(m, MH_DIM);
    b->n_words = rd32(m, MH_N_WORDS);
    b->n_buckets = rd32(m, MH_N_BUCKETS);
    b->src_vocab = rd32(m, MH_SRC_VOCAB);
    b->vec_type = rd32(m, MH_VEC_TYPE);
    b->max_probe = rd32(m, MH_MAX_PROBE);
    if (b->dim < 1 || b->dim > MN_MODEL_MAX_DIM)
        return corrupt(err, b->path, "dimension %u, expected 1..%d", b->dim, MN_MODEL_MAX_DIM);
    if (b->n_words < 1 || b->n_words > MN_MODEL_MAX_WORDS)
        return corrupt(err, b->path, "%u words, expected 1..%u", b->n_words, MN_MODEL_MAX_WORDS);
    if (b->n_buckets <= b->n_words || (b->n_buckets & (b->n_buckets - 1)) ||
        b->max_probe >= b->n_buckets)
        return corrupt(err, b->path, "hash table of %u buckets (longest probe %u) for %u words",
                       b->n_buckets, b->max_probe, b->n_words);
    if (b->src_vocab < b->n_words)
        return corrupt(err, b->path, "source vocabulary of %u words is smaller than the %u rows",
                       b->src_vocab, b->n_words);
    if (b->vec_type != MN_MODEL_TYPE_I8 && b->vec_type != MN_MODEL_TYPE_F32)
        return corrupt(err, b->path, "vector type %u, expected %d (int8) or %d (float)",
                       b->vec_type, MN_MODEL_TYPE_I8, MN_MODEL_TYPE_F32);
    return MN_OK;
}

/* Everything a lookup or an embedding reads is checked here, once, so that neither needs a
 * bounds check: the checksum catches damage, these checks catch a wrong writer. */
static int check_body(mn__builtin *b, mn_err *err)
{
    const void *p;
    uint64_t n = b->n_words, dim = b->dim, i, word_bytes;
    int rc;
    if ((rc = section(b, "bucket", MH_OFF_BUCKETS, 4 * (uint64_t)b->n_buckets, &p, err)))
        return rc;
    b->buckets = p;
    if ((rc = section(b, "word offset", MH_OFF_WORD_OFFS, 4 * (n + 1), &p, err)))
        return rc;
    b->word_offs = p;
    if (b->word_offs[0] != 0)
        return corrupt(err, b->path, "first word offset is %u, expected 0", b->word_offs[0]);
    for (i = 0; i < n; i++) {
        uint32_t len = b->word_offs[i + 1] - b->word_offs[i];
        if (b->word_offs[i + 1] <= b->word_offs[i] || len > MN_TOK_MAX_WORD)
            return corrupt(err, b->path, "word %llu has offsets %u..%u", (unsigned long long)i,
                           b->word_offs[i], b->word_offs[i + 1]);
    }
    word_bytes = b->word_offs[n];
    if ((rc = section(b, "word", MH_OFF_WORDS, word_bytes, &p, err)))
        return rc;
    b->words = p;
    for (i = 0; i < b->n_buckets; i++)
        if (b->buckets[i] > b->n_words)
            return corrupt(err, b->path, "bucket %llu holds row %u of %u", (unsigned long long)i,
                           b->buckets[i], b->n_words);
    if (b->vec_type == MN_MODEL_TYPE_I8) {
        if ((rc = section(b, "scale", MH_OFF_SCALES, 4 * n, &p, err)))
            return rc;
        b->scales = p;
        for (i = 0; i < n; i++)
            if (!isfinite(b->scales[i]) || b->scales[i] < 0)
                return corrupt(err, b->path, "scale of row %llu is %g", (unsigned long long)i,
                               (double)b->scales[i]);
        if ((rc = section(b, "vector", MH_OFF_VECTORS, n * dim, &p, err)))
            return rc;
        b->vec_i8 = p;
    } else {
        if ((rc = section(b, "vector", MH_OFF_VECTORS, 4 * n * dim, &p, err)))
            return rc;
        b->vec_f32 = p;
        for (i = 0; i < n * dim; i++)
            if (!isfinite(b->vec_f32[i]))
                return corrupt(err, b->path, "component %llu of row %llu is not finite",
                               (unsigned long long)(i % dim), (unsigned long long)(i / dim));
    }
    return MN_OK;
}

int64_t mn__embed_lookup(const mn__builtin *b, const char *w, size_t len)
{
    uint32_t mask = b->n_buckets - 1, i = (uint32_t)(XXH64(w, len, 0) & mask), probe;
    for (probe = 0; probe <= b->max_probe; probe++, i = (i + 1) & mask) {
        uint32_t v = b->buckets[i], lo, hi;
        if (!v)
            return -1;
        lo = b->word_offs[v - 1];
        hi = b->word_offs[v];
        if (hi - lo == len && !memcmp(b->words + lo, w, len))
            return (int64_t)v - 1;
    }
    return -1;
}

static void builtin_free(mn__embedder *e)
{
    mn__builtin *b = (mn__builtin *)e;
    if (!b)
        return;
    mn__embed_pool_release(&b->pool);
    if (b->map)
        munmap((void *)b->map, b->map_bytes);
    mn__free(b->common);
    mn__free(b->path);
    mn__free(b);
}

/* Maps and checks one file. MISSING when nothing is at that path (the caller searches on);
 * any other failure is final: a broken file must not be hidden by one found later. */
static int try_open(const char *path, mn__embedder **out, mn_err *err)
{
    mn__builtin *b = NULL;
    struct stat st;
    void *map;
    int fd = -1, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return MISSING;
        return mn__err_set(err, MN_EIO, NULL, "cannot open model file '%s': %s", path,
                           strerror(errno));
    }
    b = mn__calloc(1, sizeof *b);
    if (b)
        mn__embed_pool_init(&b->pool);
    if (!b || !(b->path = mn__strdup(path))) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory opening model file '%s'", path);
        goto cleanup;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        rc = mn__err_set(err, MN_EIO, NULL, "model file '%s' is not a regular file", path);
        goto cleanup;
    }
    if ((uint64_t)st.st_size > ((uint64_t)1 << 40)) {
        rc = corrupt(err, path, "%lld bytes is far too large", (long long)st.st_size);
        goto cleanup;
    }
    b->map_bytes = (size_t)st.st_size;
    if (b->map_bytes < MN_MODEL_HEADER_BYTES) {
        rc = corrupt(err, path, "%zu bytes, shorter than the %d-byte header", b->map_bytes,
                     MN_MODEL_HEADER_BYTES);
        goto cleanup;
    }
    /* MAP_POPULATE: the checksum reads every page anyway; one call beats a fault per page. */
    map = mmap(NULL, b->map_bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) {
        rc = mn__err_set(err, MN_EIO, NULL, "cannot map model file '%s': %s", path,
                         strerror(errno));
        goto cleanup;
    }
    b->map = map;
    if ((rc = check_header(b, err)) || (rc = check_body(b, err)))
        goto cleanup;

    b->zipf_log = log(1.78 * (double)b->src_vocab);
    mn__embed_tunables_init(&b->tun);
    snprintf(b->model_id, sizeof b->model_id, "builtin-glove%u-v%d", b->dim, MN_MODEL_VERSION);
    b->base.name = "builtin";
    b->base.model_id = b->model_id;
    b->base.dim = (int)b->dim;
    b->base.embed = mn__embed_builtin_vector;
    b->base.destroy = builtin_free;
    *out = &b->base;
    b = NULL;
    rc = MN_OK;
cleanup:
    if (fd >= 0)
        close(fd);
    builtin_free(b ? &b->base : NULL);
    return rc;
}

static void add_tried(char *tried, size_t cap, const char *path)
{
    size_t used = strlen(tried);
    if (used < cap)
        snprintf(tried + used, cap - used, "%s%s", used ? ", " : "", path);
}

int mn__embed_builtin_open(const char *path, mn__embedder **out, mn_err *err)
{
    const char *const *defaults = mn__embed_default_paths();
    const char *env = getenv("MNEMO_MODEL");
    char tried[1024] = "";
    int rc;
    size_t i;
    if (!out)
        return mn__err_set(err, MN_EINVAL, NULL, "no output pointer for the model");
    *out = NULL;
    if (path) {
        rc = try_open(path, out, err);
        if (rc == MISSING)
            return mn__err_set(err, MN_ENOMODEL, MISSING_HINT, "model file '%s' not found",
                               path);
        return rc;
    }
    if (env && *env) {
        rc = try_open(env, out, err);
        if (rc != MISSING)
            return rc;
        add_tried(tried, sizeof tried, env);
    }
    for (i = 0; defaults[i]; i++) {
        rc = try_open(defaults[i], out, err);
        if (rc != MISSING)
            return rc;
        add_tried(tried, sizeof tried, defaults[i]);
    }
    return mn__err_set(err, MN_ENOMODEL, MISSING_HINT, "no model file %s; tried %s",
                       MN_MODEL_FILENAME, tried);
}

void mn__embed_tunables_init(mn__embed_tunables *t)
{
    t->sif_a = 1e-3f;
    t->oov_weight = 1.0f;
    t->oov_norm = 4.0f;
    t->number_weight = 1.0f;
}

static mn__builtin *as_builtin(mn__embedder *e, mn_err *err)
{
    if (!e || e->embed != mn__embed_builtin_vector) {
        mn__err_set(err, MN_EINVAL, NULL, "embedder '%s' is not the built-in one",
                    e && e->name ? e->name : "(null)");
        return NULL;
    }
    return (mn__builtin *)e;
}

int mn__embed_builtin_set_tunables(mn__embedder *e, const mn__embed_tunables *t, mn_err *err)
{
    mn__builtin *b = as_builtin(e, err);
    if (!b)
        return MN_EINVAL;
    if (!t || !(t->sif_a > 0 && t->sif_a < 1e6f) || !(t->oov_weight >= 0 && t->oov_weight < 1e6f) ||
        !(t->oov_norm >= 0 && t->oov_norm < 1e6f) ||
        !(t->number_weight >= 0 && t->number_weight < 1e6f))
        return mn__err_set(err, MN_EINVAL, "sif_a must be > 0, the others >= 0, all finite",
                           "built-in embedder tunables out of range");
    b->tun = *t;
    return MN_OK;
}

int mn__embed_builtin_set_weigher(mn__embedder *e, mn__embed_weigher fn, void *ctx,
                                  mn_err *err)
{
    mn__builtin *b = as_builtin(e, err);
    if (!b)
        return MN_EINVAL;
    b->weigher = fn;
    b->weigher_ctx = ctx;
    return MN_OK;
}

int mn__embed_builtin_set_common(mn__embedder *e, const float *u, int dim, mn_err *err)
{
    mn__builtin *b = as_builtin(e, err);
    double norm = 0;
    float *c;
    int i;
    if (!b)
        return MN_EINVAL;
    if (!u) {
        mn__free(b->common);
        b->common = NULL;
        return MN_OK;
    }
    if (dim != e->dim)
        return mn__err_set(err, MN_EDIM, NULL,
                           "common component has %d dimensions, the model has %d", dim, e->dim);
    for (i = 0; i < dim; i++)
        norm += (double)u[i] * u[i];
    if (!(norm > 0) || !isfinite(norm))
        return mn__err_set(err, MN_EINVAL, NULL, "common component has no direction (length %g)",
                           sqrt(norm));
    c = mn__malloc((size_t)dim * sizeof *c);
    if (!c)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for the common component");
    for (i = 0; i < dim; i++)
        c[i] = (float)(u[i] / sqrt(norm));
    mn__free(b->common);
    b->common = c;
    return MN_OK;
}

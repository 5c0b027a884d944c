/* fuzz_model_file.c - target model_file: the built-in embedder's model file loader
 * (src/embed/builtin.c, docs/MODEL_FORMAT.md). A small complete model (a few words, int8
 * vectors with scales, a hash table of buckets) is damaged by the input and opened: a bad
 * file is an error, never a crash; a file that opens must embed any text into a finite
 * vector of unit length (or zero). Input: byte 0 = number of patches, then 3 bytes per patch
 * (2 of offset, 1 value set there), then a flags byte (bit 0: leave the body checksum
 * stale, bit 1: the header checksum), then the text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../src/embed/embed_int.h"
#include "fuzz.h"

#define DIM 8
#define BUCKETS 64

static const char *const words[] = {"the", "cat", "dog", "tea", "coffee", "peanut",
                                    "allergic", "oslo", "sister", "puppy", "meeting", "12"};
#define N_WORDS (sizeof words / sizeof words[0])

static uint8_t *tmpl;
static size_t tmpl_len;
static char path[600];

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static size_t align(size_t x)
{
    return (x + MN_MODEL_ALIGN - 1) / MN_MODEL_ALIGN * MN_MODEL_ALIGN;
}

static void build_template(void)
{
    size_t off_buckets, off_offs, off_scales, off_words, off_vecs, end, i, wb = 0;
    uint32_t probe_max = 0, *buckets;
    uint8_t *b;
    for (i = 0; i < N_WORDS; i++)
        wb += strlen(words[i]);
    off_buckets = MN_MODEL_HEADER_BYTES;
    off_offs = align(off_buckets + 4 * BUCKETS);
    off_scales = align(off_offs + 4 * (N_WORDS + 1));
    off_words = align(off_scales + 4 * N_WORDS);
    off_vecs = align(off_words + wb);
    end = align(off_vecs + N_WORDS * DIM);
    b = mn__calloc(1, end);
    if (!b)
        fz_fail("out of memory");
    memcpy(b + MH_MAGIC, MN_MODEL_MAGIC, 8);
    put32(b + MH_VERSION, MN_MODEL_VERSION);
    put32(b + MH_HEADER_BYTES, MN_MODEL_HEADER_BYTES);
    put32(b + MH_ENDIAN, MN_MODEL_ENDIAN_MARK);
    put32(b + MH_DIM, DIM);
    put32(b + MH_N_WORDS, N_WORDS);
    put32(b + MH_N_BUCKETS, BUCKETS);
    put32(b + MH_SRC_VOCAB, 400000);
    put32(b + MH_VEC_TYPE, MN_MODEL_TYPE_I8);
    put64(b + MH_FILE_BYTES, end);
    put64(b + MH_OFF_BUCKETS, off_buckets);
    put64(b + MH_OFF_WORD_OFFS, off_offs);
    put64(b + MH_OFF_SCALES, off_scales);
    put64(b + MH_OFF_WORDS, off_words);
    put64(b + MH_OFF_VECTORS, off_vecs);
    put32(b + MH_ABTT_PCS, ~0u);
    memcpy(b + MH_SOURCE, "fuzz", 4);
    buckets = (uint32_t *)(void *)(b + off_buckets);
    for (i = 0, wb = 0; i < N_WORDS; i++) {
        size_t len = strlen(words[i]), d;
        uint32_t h = (uint32_t)(XXH64(words[i], len, 0) & (BUCKETS - 1)), probe = 0;
        float scale = 0.01f * (float)(i + 1);
        put32(b + off_offs + 4 * i, (uint32_t)wb);
        memcpy(b + off_words + wb, words[i], len);
        wb += len;
        while (buckets[h]) {
            h = (h + 1) & (BUCKETS - 1);
            probe++;
        }
        buckets[h] = (uint32_t)i + 1;
        probe_max = probe > probe_max ? probe : probe_max;
        memcpy(b + off_scales + 4 * i, &scale, 4);
        for (d = 0; d < DIM; d++)
            b[off_vecs + i * DIM + d] = (uint8_t)(int8_t)((int)((i * 7 + d * 13) % 255) - 127);
    }
    put32(b + off_offs + 4 * N_WORDS, (uint32_t)wb);
    put32(b + MH_MAX_PROBE, probe_max);
    tmpl = b;
    tmpl_len = end;
    snprintf(path, sizeof path, "%s/model.bin", fz_tmpdir());
}

static void check_vector(mn__embedder *e, const uint8_t *text, size_t len)
{
    float v[MN_MODEL_MAX_DIM];
    double norm = 0;
    int i;
    if (e->embed(e, (const char *)text, len, v, NULL) != MN_OK)
        return;
    for (i = 0; i < e->dim; i++) {
        if (!isfinite(v[i]))
            fz_fail("embedding component %d is %g", i, (double)v[i]);
        norm += (double)v[i] * v[i];
    }
    if (norm != 0 && fabs(sqrt(norm) - 1) > 1e-3)
        fz_fail("embedding has length %g", sqrt(norm));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn__embedder *e = NULL;
    uint8_t *copy, flags;
    int64_t before;
    mn_err err;
    int rc;
    if (size < 1)
        return 0;
    if (!tmpl)
        build_template();
    before = fz_live_bytes();
    copy = fz_patched_copy(tmpl, tmpl_len, &data, &size, &flags);
    if (!(flags & 1))
        put64(copy + MH_BODY_XXH64,
              XXH64(copy + MN_MODEL_HEADER_BYTES, tmpl_len - MN_MODEL_HEADER_BYTES, 0));
    if (!(flags & 2))
        put64(copy + MH_HEADER_XXH64, XXH64(copy, MH_HEADER_XXH64, 0));
    fz_write_file(path, copy, tmpl_len);
    mn__free(copy);
    rc = mn__embed_builtin_open(path, &e, &err);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "open: %s %s\n", mn_err_name(rc), rc ? err.msg : "");
    if (rc == MN_OK) {
        check_vector(e, data, size);
        e->destroy(e);
    } else if (rc != MN_ECORRUPT) {
        fz_fail("open: unexpected %s: %s", mn_err_name(rc), err.msg);
    }
    FZ_NO_LEAK(before);
    return 0;
}

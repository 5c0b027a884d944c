/* test_embed.c - embedders: the model file's checks (truncated, garbage, crafted files with
 * valid checksums), SIF weighting on a tiny hand-made model, and on the real model (which
 * scripts/setup builds; without it these tests fail): unit length, determinism, paraphrase
 * ranking, unknown words, empty and invalid input, threads, tunables; the mock embedder. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "../../src/embed/embed_int.h"
#include "t.h"

#define SETUP_HINT "run scripts/setup (or make setup) to build models/mnemo-glove100.bin"

static float dot(const float *a, const float *b, int dim)
{
    double s = 0;
    int i;
    for (i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

static int is_zero(const float *v, int dim)
{
    int i;
    for (i = 0; i < dim; i++)
        if (v[i] != 0)
            return 0;
    return 1;
}

static mn__embedder *open_real(void)
{
    mn__embedder *e = NULL;
    mn_err err = {0};
    int rc = mn__embed_builtin_open(NULL, &e, &err);
    if (rc)
        t_fail(__FILE__, __LINE__, "the built-in model is needed: %s: %s; %s", mn_err_name(rc),
               err.msg, SETUP_HINT);
    return e;
}

static void embed(mn__embedder *e, const char *text, float *out)
{
    mn_err err = {0};
    ASSERT_OK(e->embed(e, text, strlen(text), out, &err), &err);
}

static float sim(mn__embedder *e, const char *a, const char *b)
{
    float va[MN_MODEL_MAX_DIM], vb[MN_MODEL_MAX_DIM];
    embed(e, a, va);
    embed(e, b, vb);
    return dot(va, vb, e->dim);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(p, 1, n, f), n);
    ASSERT_EQ(fclose(f), 0);
}

/* Reads a whole file into a buffer from the counting allocator. */
static unsigned char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;
    ASSERT(f != NULL);
    ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ASSERT(n > 0);
    rewind(f);
    p = mn__malloc((size_t)n);
    ASSERT(p != NULL);
    ASSERT_EQ(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *out_len = (size_t)n;
    return p;
}

/* Opening `path` must fail with `code`, and the message must name the file and say `what`. */
static void expect_open_fails(const char *path, int code, const char *what)
{
    mn__embedder *e = NULL;
    mn_err err = {0};
    int rc = mn__embed_builtin_open(path, &e, &err);
    if (rc != code)
        t_fail(__FILE__, __LINE__, "opening %s: expected %s, got %s (%s)", path,
               mn_err_name(code), mn_err_name(rc), err.msg);
    ASSERT(e == NULL);
    if (!strstr(err.msg, path) && strlen(err.msg) < sizeof err.msg - 1)
        t_fail(__FILE__, __LINE__, "message does not name the file: %s", err.msg);
    if (what && !strstr(err.msg, what))
        t_fail(__FILE__, __LINE__, "message \"%s\" does not say \"%s\"", err.msg, what);
}

/* ---- a tiny model written by hand, following docs/MODEL_FORMAT.md ------------------------ */

#define TINY_DIM 4
#define TINY_VOCAB 1000
#define TINY_BUCKETS 8
enum { T_BUCKETS = 128, T_OFFS = 192, T_SCALES = 256, T_WORDS = 320, T_VECS = 384 };
static const char *tiny_words[] = {"apple", "banana", "cherry"};

typedef struct tiny {
    unsigned char b[640];
    size_t len;
} tiny;

static void put32(tiny *t, size_t off, uint32_t v)
{
    memcpy(t->b + off, &v, 4);
}

static void put64(tiny *t, size_t off, uint64_t v)
{
    memcpy(t->b + off, &v, 8);
}

static uint32_t get32(const tiny *t, size_t off)
{
    uint32_t v;
    memcpy(&v, t->b + off, 4);
    return v;
}

static void tiny_seal(tiny *t)
{
    put64(t, MH_BODY_XXH64, XXH64(t->b + 128, t->len - 128, 0));
    put64(t, MH_HEADER_XXH64, XXH64(t->b, 120, 0));
}

/* apple = (1,0,0,0), banana = (0,2,0,0), cherry = (0,0,-1,1) */
static void tiny_build(tiny *t, int type)
{
    static const float vecs[3][TINY_DIM] = {{1, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, -1, 1}};
    uint32_t at = 0, i, j, max_probe = 0;
    memset(t, 0, sizeof *t);
    t->len = type == MN_MODEL_TYPE_I8 ? 448 : 512;
    memcpy(t->b, MN_MODEL_MAGIC, 8);
    put32(t, MH_VERSION, MN_MODEL_VERSION);
    put32(t, MH_HEADER_BYTES, 128);
    put32(t, MH_ENDIAN, MN_MODEL_ENDIAN_MARK);
    put32(t, MH_DIM, TINY_DIM);
    put32(t, MH_N_WORDS, 3);
    put32(t, MH_N_BUCKETS, TINY_BUCKETS);
    put32(t, MH_SRC_VOCAB, TINY_VOCAB);
    put32(t, MH_VEC_TYPE, (uint32_t)type);
    put64(t, MH_FILE_BYTES, t->len);
    put64(t, MH_OFF_BUCKETS, T_BUCKETS);
    put64(t, MH_OFF_WORD_OFFS, T_OFFS);
    put64(t, MH_OFF_SCALES, T_SCALES);
    put64(t, MH_OFF_WORDS, T_WORDS);
    put64(t, MH_OFF_VECTORS, T_VECS);
    memcpy(t->b + MH_SOURCE, "test", 4);
    for (i = 0; i < 3; i++) {
        size_t n = strlen(tiny_words[i]);
        uint32_t slot = (uint32_t)(XXH64(tiny_words[i], n, 0) & (TINY_BUCKETS - 1)), probe = 0;
        put32(t, T_OFFS + 4 * i, at);
        memcpy(t->b + T_WORDS + at, tiny_words[i], n);
        at += (uint32_t)n;
        while (get32(t, T_BUCKETS + 4 * slot)) {
            slot = (slot + 1) & (TINY_BUCKETS - 1);
            probe++;
        }
        put32(t, T_BUCKETS + 4 * slot, i + 1);
        max_probe = MN_MAX(max_probe, probe);
        for (j = 0; j < TINY_DIM; j++) {
            if (type == MN_MODEL_TYPE_F32) {
                memcpy(t->b + T_VECS + 4 * (i * TINY_DIM + j), &vecs[i][j], 4);
            } else {
                float mx = i == 1 ? 2.0f : 1.0f, scale = mx / 127;
                t->b[T_VECS + i * TINY_DIM + j] = (unsigned char)(int8_t)(vecs[i][j] * 127 / mx);
                memcpy(t->b + T_SCALES + 4 * i, &scale, 4);
            }
        }
    }
    put32(t, T_OFFS + 12, at);
    put32(t, MH_MAX_PROBE, max_probe);
    tiny_seal(t);
}

static mn__embedder *tiny_open(const tiny *t, const char *name)
{
    char path[512];
    mn__embedder *e = NULL;
    mn_err err = {0};
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
    write_file(path, t->b, t->len);
    ASSERT_OK(mn__embed_builtin_open(path, &e, &err), &err);
    return e;
}

static void tiny_expect_corrupt(const tiny *t, const char *what)
{
    static int n;
    char path[512];
    snprintf(path, sizeof path, "%s/bad%d.bin", t_tmpdir(), n++);
    write_file(path, t->b, t->len);
    expect_open_fails(path, MN_ECORRUPT, what);
}

TEST(embed_tiny_model_opens_and_looks_up)
{
    tiny t;
    mn__embedder *e;
    mn__builtin *b;
    float v[TINY_DIM];
    tiny_build(&t, MN_MODEL_TYPE_I8);
    e = tiny_open(&t, "tiny.bin");
    b = (mn__builtin *)e;
    ASSERT_STR(e->name, "builtin");
    ASSERT_STR(e->model_id, "builtin-glove4-v1");
    ASSERT_EQ(e->dim, TINY_DIM);
    ASSERT_EQ(mn__embed_lookup(b, "apple", 5), 0);
    ASSERT_EQ(mn__embed_lookup(b, "banana", 6), 1);
    ASSERT_EQ(mn__embed_lookup(b, "cherry", 6), 2);
    ASSERT_EQ(mn__embed_lookup(b, "cherr", 5), -1);
    ASSERT_EQ(mn__embed_lookup(b, "cherryy", 7), -1);
    embed(e, "Apple!", v);
    ASSERT_NEAR(v[0], 1, 1e-6);
    ASSERT_NEAR(v[1], 0, 1e-6);
    embed(e, "banana", v);
    ASSERT_NEAR(v[1], 1, 1e-6);
    embed(e, "cherry", v);
    ASSERT_NEAR(v[2], -0.70710678, 1e-5);
    ASSERT_NEAR(v[3], 0.70710678, 1e-5);
    e->destroy(e);
}

/* The weights follow a / (a + p(r)) with p(r) = 1 / (r ln(1.78 V)), r the 1-based row. */
TEST(embed_tiny_sif_weights)
{
    tiny t;
    mn__embedder *e;
    mn__embed_tunables tun;
    float v[TINY_DIM], v2[TINY_DIM];
    double a = 1e-3, lz = log(1.78 * TINY_VOCAB), w1, w2;
    tiny_build(&t, MN_MODEL_TYPE_I8);
    e = tiny_open(&t, "tiny.bin");
    w1 = a / (a + 1 / (1 * lz));
    w2 = a / (a + 1 / (2 * lz));
    embed(e, "apple banana", v);
    ASSERT_NEAR(v[1] / v[0], 2 * w2 / w1, 1e-4);
    ASSERT_NEAR(dot(v, v, TINY_DIM), 1, 1e-5);
    /* stopwords are dropped while there is anything else */
    embed(e, "the apple banana of it", v2);
    ASSERT_EQ(memcmp(v, v2, sizeof v), 0);
    /* another a gives other weights */
    mn__embed_tunables_init(&tun);
    tun.sif_a = 0.5f;
    ASSERT_OK(mn__embed_builtin_set_tunables(e, &tun, NULL), NULL);
    embed(e, "apple banana", v);
    w1 = 0.5 / (0.5 + 1 / lz);
    w2 = 0.5 / (0.5 + 1 / (2 * lz));
    ASSERT_NEAR(v[1] / v[0], 2 * w2 / w1, 1e-4);
    e->destroy(e);
}

TEST(embed_tiny_float_vectors)
{
    tiny t, q;
    mn__embedder *e, *eq;
    float v[TINY_DIM], vq[TINY_DIM];
    tiny_build(&t, MN_MODEL_TYPE_F32);
    tiny_build(&q, MN_MODEL_TYPE_I8);
    e = tiny_open(&t, "f32.bin");
    eq = tiny_open(&q, "i8.bin");
    embed(e, "apple banana cherry zorblax", v);
    embed(eq, "apple banana cherry zorblax", vq);
    ASSERT_NEAR(dot(v, vq, TINY_DIM), 1, 1e-5);
    e->destroy(e);
    eq->destroy(eq);
}

TEST(embed_tiny_each_bad_field_rejected)
{
    tiny t;
    float nan_scale = NAN;
    /* the unmodified file opens: the failures below come from the one changed field */
    tiny_build(&t, MN_MODEL_TYPE_I8);
    {
        mn__embedder *good = tiny_open(&t, "good.bin");
        good->destroy(good);
    }

    tiny_build(&t, MN_MODEL_TYPE_I8);
    memcpy(t.b, "NOTMNEMO", 8);
    tiny_expect_corrupt(&t, "magic");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, MH_VERSION, 2);
    tiny_expect_corrupt(&t, "format version 2");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, MH_DIM, 5); /* header changed, checksum not redone */
    tiny_expect_corrupt(&t, "header checksum");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    t.b[T_VECS + 1] ^= 1; /* body changed, checksum not redone */
    tiny_expect_corrupt(&t, "body checksum");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    t.len += 64;
    tiny_expect_corrupt(&t, "header says 448 bytes, file has 512");

    /* valid checksums, wrong content: what a buggy writer would produce */
    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, MH_DIM, 0);
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "dimension 0");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, MH_N_BUCKETS, 6);
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "hash table");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, MH_VEC_TYPE, 3);
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "vector type 3");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put64(&t, MH_OFF_VECTORS, 448);
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "vector section");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put64(&t, MH_OFF_WORDS, T_WORDS + 1); /* unaligned */
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "word section");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, T_BUCKETS, 4); /* row 3 of 3 rows */
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "bucket 0 holds row 4");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    put32(&t, T_OFFS + 8, get32(&t, T_OFFS + 4)); /* word 1 empty */
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "word 1 has offsets");

    tiny_build(&t, MN_MODEL_TYPE_I8);
    memcpy(t.b + T_SCALES + 4, &nan_scale, 4);
    tiny_seal(&t);
    tiny_expect_corrupt(&t, "scale of row 1");
}

/* ---- the real model ------------------------------------------------------------------------ */

TEST(embed_real_model_present_and_described)
{
    mn__embedder *e = open_real();
    mn__builtin *b = (mn__builtin *)e;
    ASSERT_STR(e->name, "builtin");
    ASSERT_STR(e->model_id, "builtin-glove100-v1");
    ASSERT_EQ(e->dim, 100);
    ASSERT_EQ(b->n_words, 50000);
    ASSERT_EQ(b->vec_type, MN_MODEL_TYPE_I8);
    /* rows are in frequency order; punctuation is not kept */
    ASSERT_EQ(mn__embed_lookup(b, "the", 3), 0);
    ASSERT(mn__embed_lookup(b, "food", 4) > 0);
    ASSERT(mn__embed_lookup(b, "peanuts", 7) > mn__embed_lookup(b, "food", 4));
    ASSERT(mn__embed_lookup(b, "caroline", 8) > 0);
    ASSERT_EQ(mn__embed_lookup(b, ",", 1), -1);
    ASSERT_EQ(mn__embed_lookup(b, "zorblax", 7), -1);
    e->destroy(e);
}

TEST(embed_real_unit_length_and_deterministic)
{
    static const char *texts[] = {
        "I am allergic to peanuts",
        "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
        "zorblax flimflam 2023",
        "what",
        "Café naïve résumé — über straße 東京",
    };
    mn__embedder *e = open_real(), *e2 = open_real();
    float a[100], b[100], c[100];
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        embed(e, texts[i], a);
        embed(e, texts[i], b);
        embed(e2, texts[i], c);
        ASSERT_NEAR(dot(a, a, 100), 1, 1e-5);
        ASSERT_EQ(memcmp(a, b, sizeof a), 0);
        ASSERT_EQ(memcmp(a, c, sizeof a), 0);
    }
    e->destroy(e);
    e2->destroy(e2);
}

TEST(embed_real_paraphrase_beats_unrelated)
{
    static const char *triples[][3] = {
        {"what food should I avoid", "I am allergic to peanuts", "my car is red"},
        {"what pets do they have", "Melanie has two dogs and a cat",
         "the meeting was moved to Tuesday"},
        {"how is his health", "he was diagnosed with diabetes last year",
         "she bought a new guitar"},
        {"favorite sport", "I love playing basketball on weekends", "the soup was too salty"},
        {"what instrument does he play", "he has been learning the violin for years",
         "our flight was delayed by two hours"},
        {"when is her birthday", "she was born on the fifth of March",
         "the printer is out of paper"},
        {"what kind of music does she like", "she listens to jazz and classical records",
         "he fixed the leaking roof"},
        {"where did they go on vacation", "they spent two weeks at the beach in Hawaii",
         "the report is due on Friday"},
    };
    mn__embedder *e = open_real();
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(triples); i++) {
        float near = sim(e, triples[i][0], triples[i][1]);
        float far = sim(e, triples[i][0], triples[i][2]);
        if (!(near > far + 0.1f))
            t_fail(__FILE__, __LINE__, "\"%s\": \"%s\" %.3f should beat \"%s\" %.3f",
                   triples[i][0], triples[i][1], (double)near, triples[i][2], (double)far);
    }
    e->destroy(e);
}

TEST(embed_real_unknown_words_match_each_other)
{
    mn__embedder *e = open_real();
    float with = sim(e, "the zorblax project is late", "notes about zorblax");
    float without = sim(e, "the zorblax project is late", "notes about the garden");
    ASSERT(with > without + 0.1f);
    /* a near spelling shares n-grams, an unrelated unknown word does not */
    ASSERT(sim(e, "zorblax", "zorblaxes") > sim(e, "zorblax", "quimtrel") + 0.2f);
    e->destroy(e);
}

TEST(embed_real_empty_and_punctuation_give_zero)
{
    static const char *texts[] = {"", "   ", "!!! ... ???", "--- *** ,,,", "\xff\xfe\xfd"};
    mn__embedder *e = open_real();
    float v[100];
    size_t i;
    mn_err err = {0};
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        v[0] = 42;
        embed(e, texts[i], v);
        ASSERT(is_zero(v, 100));
    }
    ASSERT_OK(e->embed(e, NULL, 0, v, &err), &err);
    ASSERT(is_zero(v, 100));
    ASSERT_EQ(e->embed(e, NULL, 5, v, &err), MN_EINVAL);
    e->destroy(e);
}

TEST(embed_real_invalid_utf8_does_not_crash)
{
    static const char *texts[] = {
        "peanuts \xc3", "\xc3\x28 peanuts", "pea\xffnuts", "\xe2\x82 allergic \xf0\x9f\x92",
        "\xed\xa0\x80 surrogate", "\xc0\xaf overlong", "\xf8\x88\x80\x80\x80 five bytes",
    };
    mn__embedder *e = open_real();
    float v[100];
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        embed(e, texts[i], v);
        ASSERT_NEAR(dot(v, v, 100), 1, 1e-5);
    }
    e->destroy(e);
}

TEST(embed_real_stopwords_only_still_embed)
{
    mn__embedder *e = open_real();
    float v[100], w[100];
    embed(e, "I am the one who is", v);
    ASSERT_NEAR(dot(v, v, 100), 1, 1e-5);
    embed(e, "it was not me", w);
    ASSERT_NEAR(dot(w, w, 100), 1, 1e-5);
    ASSERT(dot(v, w, 100) < 0.999f);
    e->destroy(e);
}

TEST(embed_real_truncated_copies_rejected)
{
    mn__embedder *e = open_real();
    const char *src = ((mn__builtin *)e)->path;
    size_t len, cuts[6], i;
    unsigned char *data = read_file(src, &len);
    char path[512];
    cuts[0] = 0;
    cuts[1] = 64;
    cuts[2] = 127;
    cuts[3] = 128;
    cuts[4] = len / 2;
    cuts[5] = len - 1;
    for (i = 0; i < MN_ARRAY_LEN(cuts); i++) {
        snprintf(path, sizeof path, "%s/cut%zu.bin", t_tmpdir(), i);
        write_file(path, data, cuts[i]);
        expect_open_fails(path, MN_ECORRUPT, NULL);
    }
    /* one flipped bit in the vectors */
    data[len - 1000] ^= 0x10;
    snprintf(path, sizeof path, "%s/flip.bin", t_tmpdir());
    write_file(path, data, len);
    expect_open_fails(path, MN_ECORRUPT, "checksum");
    mn__free(data);
    e->destroy(e);
}

TEST(embed_garbage_files_rejected)
{
    char path[512];
    unsigned char *junk = mn__malloc(1 << 20);
    uint64_t s = 12345;
    size_t i;
    ASSERT(junk != NULL);
    for (i = 0; i < (1 << 20); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        junk[i] = (unsigned char)(s >> 56);
    }
    snprintf(path, sizeof path, "%s/junk.bin", t_tmpdir());
    write_file(path, junk, 1 << 20);
    expect_open_fails(path, MN_ECORRUPT, "magic");
    /* the right magic in front of garbage */
    memcpy(junk, MN_MODEL_MAGIC, 8);
    write_file(path, junk, 1 << 20);
    expect_open_fails(path, MN_ECORRUPT, NULL);
    mn__free(junk);
    /* a directory is not a model */
    expect_open_fails(t_tmpdir(), MN_EIO, NULL);
}

TEST(embed_missing_model_says_how_to_get_it)
{
    char path[512], *old = getenv("MNEMO_MODEL") ? mn__strdup(getenv("MNEMO_MODEL")) : NULL;
    mn__embedder *e = NULL;
    mn_err err = {0};
    int rc;
    snprintf(path, sizeof path, "%s/nowhere/model.bin", t_tmpdir());
    expect_open_fails(path, MN_ENOMODEL, "not found");
    rc = mn__embed_builtin_open(path, &e, &err);
    ASSERT(strstr(err.hint, "scripts/setup") != NULL);

    /* a missing $MNEMO_MODEL is skipped (the search goes on), a broken one is an error */
    setenv("MNEMO_MODEL", path, 1);
    rc = mn__embed_builtin_open(NULL, &e, &err);
    if (rc == MN_OK)
        e->destroy(e);
    else if (rc != MN_ENOMODEL || !strstr(err.msg, "nowhere/model.bin"))
        t_fail(__FILE__, __LINE__, "expected OK or ENOMODEL naming the path: %s %s",
               mn_err_name(rc), err.msg);
    snprintf(path, sizeof path, "%s/broken.bin", t_tmpdir());
    write_file(path, "MNEMOVEC", 8);
    setenv("MNEMO_MODEL", path, 1);
    ASSERT_EQ(mn__embed_builtin_open(NULL, &e, &err), MN_ECORRUPT);
    ASSERT(strstr(err.msg, "broken.bin") != NULL);
    if (old)
        setenv("MNEMO_MODEL", old, 1);
    else
        unsetenv("MNEMO_MODEL");
    mn__free(old);
    ASSERT_EQ(mn__embed_builtin_open(NULL, NULL, &err), MN_EINVAL);
}

TEST(embed_default_paths)
{
    const char *const *p = mn__embed_default_paths();
    size_t n = 0, i;
    int exe_models = 0, usr_share = 0;
    ASSERT_STR(p[0], "models/mnemo-glove100.bin");
    for (i = 0; p[i]; i++, n++) {
        size_t len = strlen(p[i]);
        ASSERT(len > 18 && !strcmp(p[i] + len - 18, "mnemo-glove100.bin"));
        exe_models += len > 30 && !strcmp(p[i] + len - 29, "/../models/mnemo-glove100.bin");
        usr_share += !strcmp(p[i], "/usr/share/mnemo/mnemo-glove100.bin");
    }
    ASSERT_EQ(n, 5);
    ASSERT_EQ(exe_models, 1);
    ASSERT_EQ(usr_share, 1);
    ASSERT(mn__embed_default_paths() == p);
}

typedef struct job {
    mn__embedder *e;
    const float (*want)[100];
    int bad;
} job;

static const char *thread_texts[] = {
    "I am allergic to peanuts", "zorblax meeting at noon", "the cat sat on the mat",
    "she plays the violin", "", "we went hiking in the mountains last summer",
};

static void *worker(void *arg)
{
    job *j = arg;
    float v[100];
    int round;
    size_t i;
    for (round = 0; round < 300; round++) {
        for (i = 0; i < MN_ARRAY_LEN(thread_texts); i++) {
            if (j->e->embed(j->e, thread_texts[i], strlen(thread_texts[i]), v, NULL) ||
                memcmp(v, j->want[i], sizeof v))
                j->bad++;
        }
    }
    return NULL;
}

TEST(embed_real_threads_agree)
{
    mn__embedder *e = open_real();
    float want[MN_ARRAY_LEN(thread_texts)][100];
    pthread_t th[4];
    job jobs[4];
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(thread_texts); i++)
        embed(e, thread_texts[i], want[i]);
    for (i = 0; i < 4; i++) {
        jobs[i].e = e;
        jobs[i].want = (const float(*)[100])want;
        jobs[i].bad = 0;
        ASSERT_EQ(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(jobs[i].bad, 0);
    }
    e->destroy(e);
}

TEST(embed_real_common_component_removed)
{
    mn__embedder *e = open_real(), *m = NULL;
    float a[100], b[100], b0[100], c[100];
    mn_err err = {0};
    embed(e, "I am allergic to peanuts", a);
    embed(e, "she listens to jazz records", b0);
    ASSERT_OK(mn__embed_builtin_set_common(e, a, 100, &err), &err);
    embed(e, "she listens to jazz records", b);
    ASSERT_NEAR(dot(b, a, 100), 0, 1e-5);
    ASSERT_NEAR(dot(b, b, 100), 1, 1e-5);
    embed(e, "I am allergic to peanuts", c); /* nothing is left of it */
    ASSERT(dot(c, c, 100) < 1e-6f || fabs(dot(c, a, 100)) < 1e-2);
    ASSERT_OK(mn__embed_builtin_set_common(e, NULL, 0, &err), &err);
    embed(e, "she listens to jazz records", b);
    ASSERT_EQ(memcmp(b, b0, sizeof b), 0);
    ASSERT_EQ(mn__embed_builtin_set_common(e, a, 99, &err), MN_EDIM);
    memset(c, 0, sizeof c);
    ASSERT_EQ(mn__embed_builtin_set_common(e, c, 100, &err), MN_EINVAL);
    ASSERT_OK(mn__embed_mock_new(100, &m, &err), &err);
    ASSERT_EQ(mn__embed_builtin_set_common(m, a, 100, &err), MN_EINVAL);
    m->destroy(m);
    e->destroy(e);
}

TEST(embed_tunables_checked)
{
    mn__embedder *e = open_real();
    mn__embed_tunables t;
    float v0[100], v1[100];
    mn_err err = {0};
    mn__embed_tunables_init(&t);
    ASSERT_NEAR(t.sif_a, 1e-3, 1e-9);
    ASSERT_NEAR(t.oov_weight, 1, 0);
    t.sif_a = 0;
    ASSERT_EQ(mn__embed_builtin_set_tunables(e, &t, &err), MN_EINVAL);
    t.sif_a = NAN;
    ASSERT_EQ(mn__embed_builtin_set_tunables(e, &t, &err), MN_EINVAL);
    mn__embed_tunables_init(&t);
    t.oov_norm = -1;
    ASSERT_EQ(mn__embed_builtin_set_tunables(e, &t, &err), MN_EINVAL);
    ASSERT_EQ(mn__embed_builtin_set_tunables(e, NULL, &err), MN_EINVAL);
    embed(e, "the zorblax project about food and peanuts", v0);
    mn__embed_tunables_init(&t);
    t.oov_weight = 0;
    ASSERT_OK(mn__embed_builtin_set_tunables(e, &t, &err), &err);
    embed(e, "the zorblax project about food and peanuts", v1);
    ASSERT(dot(v0, v1, 100) < 0.99f);
    e->destroy(e);
}

TEST(embed_open_survives_allocation_failures)
{
    int k;
    for (k = 1; k < 12; k++) {
        mn__embedder *e = NULL;
        float v[100];
        int rc;
        mn__alloc_fail_after(k);
        rc = mn__embed_builtin_open(NULL, &e, NULL);
        if (rc == MN_OK) {
            rc = e->embed(e, "peanuts and zorblax", 19, v, NULL);
            ASSERT(rc == MN_OK || rc == MN_ENOMEM);
            if (rc)
                ASSERT(is_zero(v, 100));
            mn__alloc_fail_after(0);
            e->destroy(e);
        } else {
            mn__alloc_fail_after(0);
            ASSERT_EQ(rc, MN_ENOMEM);
            ASSERT(e == NULL);
        }
    }
    ASSERT_EQ(mn__alloc_live_bytes(), 0);
}

/* ---- mock ---------------------------------------------------------------------------------- */

TEST(embed_mock_basics)
{
    mn__embedder *m = NULL;
    float a[64], b[64];
    mn_err err = {0};
    ASSERT_OK(mn__embed_mock_new(64, &m, &err), &err);
    ASSERT_STR(m->name, "mock");
    ASSERT_STR(m->model_id, "mock-64");
    ASSERT_EQ(m->dim, 64);
    embed(m, "Hello, World!", a);
    embed(m, "hello world", b);
    ASSERT_EQ(memcmp(a, b, sizeof a), 0);
    ASSERT_NEAR(dot(a, a, 64), 1, 1e-5);
    ASSERT(sim(m, "red apple pie", "green apple pie") > sim(m, "red apple pie", "blue car"));
    ASSERT(sim(m, "red apple pie", "green apple pie") < 0.99f);
    embed(m, " ,.;", a);
    ASSERT(is_zero(a, 64));
    m->destroy(m);
    ASSERT_EQ(mn__embed_mock_new(0, &m, &err), MN_EINVAL);
    ASSERT_EQ(mn__embed_mock_new(100000, &m, &err), MN_EINVAL);
    ASSERT_OK(mn__embed_mock_new(8, &m, &err), &err);
    ASSERT_STR(m->model_id, "mock-8");
    m->destroy(m);
}

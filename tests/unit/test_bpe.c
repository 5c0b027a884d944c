/* test_bpe.c - token counting: ids of hand-checked strings (taken from js-tiktoken 1.0.21),
 * the two merge implementations against each other, round trips through the token bytes,
 * file checks, the model map, the estimate and the chat overhead. The rank tables are
 * found like the library finds them (models/ under the repository, or MNEMO_BPE_DIR);
 * scripts/setup-bpe builds them. tests/suites/bpe.sh compares with js-tiktoken at scale. */
#include <pthread.h>
#include <stdint.h>

#include "../../src/context/bpe_int.h"
#include "t.h"

static mn__bpe *open_enc(const char *name)
{
    mn__bpe *b = NULL;
    mn_err err;
    int rc = mn__bpe_open(name, NULL, &b, &err);
    if (rc != MN_OK)
        t_fail(__FILE__, __LINE__, "mn__bpe_open(%s): %s (%s) - run scripts/setup-bpe", name,
               err.msg, mn_err_name(rc));
    return b;
}

static void expect_ids(const mn__bpe *b, const char *text, const uint32_t *want, size_t n_want)
{
    uint32_t ids[64];
    size_t n = 0, count = 0;
    ASSERT_OK(mn__bpe_encode(b, text, strlen(text), ids, 64, &n), NULL);
    ASSERT_OK(mn__bpe_count(b, text, strlen(text), &count), NULL);
    if (n != n_want || count != n_want)
        t_fail(__FILE__, __LINE__, "%s \"%s\": %zu ids, count %zu, want %zu", mn__bpe_name(b),
               text, n, count, n_want);
    for (size_t i = 0; i < n; i++)
        if (ids[i] != want[i])
            t_fail(__FILE__, __LINE__, "%s \"%s\": id %zu is %u, want %u", mn__bpe_name(b),
                   text, i, ids[i], want[i]);
}

#define EXPECT(b, text, ...)                                                                 \
    do {                                                                                     \
        static const uint32_t w_[] = {__VA_ARGS__};                                          \
        expect_ids(b, text, w_, sizeof w_ / sizeof w_[0]);                                   \
    } while (0)

TEST(bpe_known_ids_cl100k)
{
    mn__bpe *b = open_enc("cl100k_base");
    ASSERT_STR(mn__bpe_name(b), "cl100k_base");
    ASSERT_EQ(mn__bpe_vocab_size(b), 100256);
    EXPECT(b, "hello world", 15339, 1917);
    /* contractions stand alone, in either case */
    EXPECT(b, "I'M HERE, DON'T GO", 40, 28703, 19804, 11, 45373, 17773, 12890);
    /* \s+(?!\S) leaves the last space for the word; \s*[\r\n]+ keeps the newlines */
    EXPECT(b, "a  b\n\n  c", 64, 220, 293, 271, 220, 272);
    /* numbers in groups of three; a space before digits is its own token */
    EXPECT(b, "12345 67", 4513, 1774, 220, 3080);
    EXPECT(b, "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 3458, 38672, 588,
           53050, 76502, 22656, 45918, 252);
    EXPECT(b, "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ok", 9468, 239, 235, 9468, 237, 121, 5509);
    /* special tokens in the text are ordinary text */
    EXPECT(b, "<|endoftext|>", 27, 91, 8862, 728, 428, 91, 29);
    mn__bpe_close(b);
}

TEST(bpe_known_ids_o200k)
{
    mn__bpe *b = open_enc("o200k_base");
    ASSERT_STR(mn__bpe_name(b), "o200k_base");
    ASSERT_EQ(mn__bpe_vocab_size(b), 199998);
    EXPECT(b, "hello world", 24912, 2375);
    /* contractions stay with their word */
    EXPECT(b, "I'M HERE, DON'T GO", 40, 95346, 32396, 11, 153384, 22136);
    EXPECT(b, "a  b\n\n  c", 64, 220, 287, 279, 220, 274);
    EXPECT(b, "12345 67", 7633, 2548, 220, 5462);
    EXPECT(b, "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 1503, 9954, 737,
           30469, 17428, 40909);
    EXPECT(b, "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ok", 82514, 52622, 121, 4763);
    EXPECT(b, "<|endoftext|>", 27, 91, 419, 1440, 919, 91, 29);
    mn__bpe_close(b);
}

/* Long pieces go through the heap merge; counts from js-tiktoken. */
TEST(bpe_long_pieces)
{
    const char *names[] = {"cl100k_base", "o200k_base"};
    size_t n = 10000;
    char *buf = mn__malloc(n);
    ASSERT(buf != NULL);
    for (size_t e = 0; e < 2; e++) {
        mn__bpe *b = open_enc(names[e]);
        size_t count;
        memset(buf, ' ', n);
        ASSERT_OK(mn__bpe_count(b, buf, 10000, &count), NULL);
        ASSERT_EQ(count, 79);
        memset(buf, 'a', n);
        ASSERT_OK(mn__bpe_count(b, buf, 1000, &count), NULL);
        ASSERT_EQ(count, 125);
        memset(buf, '9', n);
        ASSERT_OK(mn__bpe_count(b, buf, 1000, &count), NULL);
        ASSERT_EQ(count, 334);
        mn__bpe_close(b);
    }
    mn__free(buf);
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Bytes drawn from a small alphabet (so that long merges happen) or from all 256. */
static void random_bytes(uint8_t *p, size_t n, int wide)
{
    static const char alpha[] = "aabbeeinnorsstt   \n..,,''";
    for (size_t i = 0; i < n; i++)
        p[i] = wide ? (uint8_t)rnd() : (uint8_t)alpha[rnd() % (sizeof alpha - 1)];
}

TEST(bpe_merge_small_equals_large)
{
    const char *names[] = {"cl100k_base", "o200k_base"};
    uint8_t piece[MN__BPE_SMALL_PIECE];
    uint32_t a[MN__BPE_SMALL_PIECE], c[MN__BPE_SMALL_PIECE];
    for (size_t e = 0; e < 2; e++) {
        mn__bpe *b = open_enc(names[e]);
        for (int iter = 0; iter < 400; iter++) {
            size_t n = 2 + rnd() % (MN__BPE_SMALL_PIECE - 1);
            random_bytes(piece, n, iter % 4 == 0);
            mn__bpe_sink s1 = {a, n, 0}, s2 = {c, n, 0};
            mn__bpe_merge_small(b, piece, n, &s1);
            ASSERT_OK(mn__bpe_merge_large(b, piece, n, &s2), NULL);
            ASSERT_EQ(s1.n, s2.n);
            ASSERT(memcmp(a, c, s1.n * sizeof a[0]) == 0);
            /* the parts spell the piece */
            size_t at = 0;
            for (size_t i = 0; i < s1.n; i++) {
                const char *tb;
                size_t tl;
                ASSERT_OK(mn__bpe_token_bytes(b, a[i], &tb, &tl), NULL);
                ASSERT(at + tl <= n && memcmp(piece + at, tb, tl) == 0);
                at += tl;
            }
            ASSERT_EQ(at, n);
        }
        mn__bpe_close(b);
    }
}

/* Decoding the ids gives the input back, whatever the bytes (invalid UTF-8 included). */
TEST(bpe_round_trip_any_bytes)
{
    const char *names[] = {"cl100k_base", "o200k_base"};
    size_t cap = 2048;
    uint8_t *text = mn__malloc(cap);
    uint32_t *ids = mn__malloc(cap * sizeof *ids);
    ASSERT(text && ids);
    for (size_t e = 0; e < 2; e++) {
        mn__bpe *b = open_enc(names[e]);
        for (int iter = 0; iter < 200; iter++) {
            size_t n = rnd() % cap;
            random_bytes(text, n, iter % 2);
            if (iter == 0) {
                static const char bad[] = "\xff\xfe abc \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80"
                                          " \xe2\x82 caf\xc3";
                n = sizeof bad - 1;
                memcpy(text, bad, n);
            }
            size_t n_ids = 0, count = 0;
            ASSERT_OK(mn__bpe_encode(b, (const char *)text, n, ids, cap, &n_ids), NULL);
            ASSERT_OK(mn__bpe_count(b, (const char *)text, n, &count), NULL);
            ASSERT_EQ(count, n_ids);
            size_t at = 0;
            for (size_t i = 0; i < n_ids; i++) {
                const char *tb;
                size_t tl;
                ASSERT_OK(mn__bpe_token_bytes(b, ids[i], &tb, &tl), NULL);
                ASSERT(at + tl <= n && memcmp(text + at, tb, tl) == 0);
                at += tl;
            }
            ASSERT_EQ(at, n);
        }
        mn__bpe_close(b);
    }
    mn__free(text);
    mn__free(ids);
}

TEST(bpe_encode_capacity_and_args)
{
    mn__bpe *b = open_enc("cl100k_base");
    uint32_t ids[3] = {0, 0, 0};
    size_t n = 0;
    ASSERT_EQ(mn__bpe_encode(b, "12345 67", 8, ids, 2, &n), MN_ETOOBIG);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(ids[0], 4513);
    ASSERT_EQ(ids[1], 1774);
    ASSERT_EQ(ids[2], 0);
    ASSERT_OK(mn__bpe_count(b, "", 0, &n), NULL);
    ASSERT_EQ(n, 0);
    ASSERT_OK(mn__bpe_count(b, NULL, 0, &n), NULL);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(mn__bpe_count(b, NULL, 3, &n), MN_EINVAL);
    ASSERT_EQ(mn__bpe_count(NULL, "x", 1, &n), MN_EINVAL);
    const char *tb;
    size_t tl;
    ASSERT_EQ(mn__bpe_token_bytes(b, 100256, &tb, &tl), MN_ENOTFOUND);
    ASSERT_OK(mn__bpe_token_bytes(b, 15339, &tb, &tl), NULL);
    ASSERT_EQ(tl, 5);
    ASSERT(memcmp(tb, "hello", 5) == 0);
    ASSERT_STR(mn__bpe_source(b), "js-tiktoken@1.0.21");
    mn__bpe_close(b);
}

typedef struct {
    const mn__bpe *b;
    const char *text;
    size_t len;
    size_t count;
} thread_job;

static void *count_job(void *arg)
{
    thread_job *j = arg;
    for (int i = 0; i < 50; i++) {
        size_t n = 0;
        if (mn__bpe_count(j->b, j->text, j->len, &n) != MN_OK || (i && n != j->count))
            return NULL;
        j->count = n;
    }
    return j;
}

TEST(bpe_shared_between_threads)
{
    mn__bpe *b = open_enc("o200k_base");
    static const char text[] =
        "The quick brown fox jumps over the lazy dog. \xe6\x97\xa5\xe6\x9c\xac  \n\n 12345 "
        "DON'T \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd";
    size_t want;
    ASSERT_OK(mn__bpe_count(b, text, sizeof text - 1, &want), NULL);
    pthread_t th[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){b, text, sizeof text - 1, 0};
        ASSERT_EQ(pthread_create(&th[i], NULL, count_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ASSERT(ret == &jobs[i]);
        ASSERT_EQ(jobs[i].count, want);
    }
    mn__bpe_close(b);
}

/* ---- file checks ------------------------------------------------------------------------ */

static size_t copy_table(const char *enc, const char *dst_name, uint8_t **out_data)
{
    char src[600], dst[600];
    const char *const *dirs = mn__bpe_default_dirs();
    FILE *f = NULL;
    for (size_t i = 0; dirs[i] && !f; i++) {
        snprintf(src, sizeof src, "%s/%s.bpe", dirs[i], enc);
        f = fopen(src, "rb");
    }
    if (!f)
        t_fail(__FILE__, __LINE__, "no %s.bpe found - run scripts/setup-bpe", enc);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = mn__malloc(n);
    ASSERT(data != NULL);
    ASSERT_EQ(fread(data, 1, n, f), n);
    fclose(f);
    snprintf(dst, sizeof dst, "%s/%s", t_tmpdir(), dst_name);
    f = fopen(dst, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(data, 1, n, f), n);
    fclose(f);
    *out_data = data;
    return n;
}

static void write_file(const char *name, const uint8_t *data, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(data, 1, n, f), n);
    fclose(f);
}

TEST(bpe_open_errors)
{
    mn__bpe *b = (mn__bpe *)1;
    mn_err err;
    ASSERT_EQ(mn__bpe_open("p50k_base", NULL, &b, &err), MN_EINVAL);
    ASSERT(b == NULL);
    ASSERT(strstr(err.msg, "p50k_base") != NULL);

    /* missing: the message names the path tried */
    ASSERT_EQ(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), MN_ENOMODEL);
    ASSERT(strstr(err.msg, "cl100k_base.bpe") != NULL);

    /* a good copy opens from an explicit directory */
    uint8_t *data;
    size_t n = copy_table("cl100k_base", "cl100k_base.bpe", &data);
    ASSERT_OK(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), &err);
    mn__bpe_close(b);

    /* the table of another encoding under this name */
    write_file("o200k_base.bpe", data, n);
    ASSERT_EQ(mn__bpe_open("o200k_base", t_tmpdir(), &b, &err), MN_ECORRUPT);

    /* one flipped byte in the body: checksum */
    data[n / 2] ^= 0x40;
    write_file("cl100k_base.bpe", data, n);
    ASSERT_EQ(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), MN_ECORRUPT);
    ASSERT(strstr(err.msg, "checksum") != NULL);
    data[n / 2] ^= 0x40;

    /* truncated */
    write_file("cl100k_base.bpe", data, n - 8);
    ASSERT_EQ(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), MN_ECORRUPT);

    /* newer format version */
    data[8] = 9;
    write_file("cl100k_base.bpe", data, n);
    ASSERT_EQ(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), MN_ESCHEMA);
    data[8] = 1;

    /* not a table at all */
    memcpy(data, "NOTABPE!", 8);
    write_file("cl100k_base.bpe", data, 200);
    ASSERT_EQ(mn__bpe_open("cl100k_base", t_tmpdir(), &b, &err), MN_ECORRUPT);
    ASSERT(b == NULL);
    mn__free(data);
}

/* ---- model map, estimate, overhead ------------------------------------------------------ */

TEST(bpe_model_map)
{
    static const struct {
        const char *model, *enc;
    } cases[] = {
        {"gpt-4o", "o200k_base"},
        {"gpt-4o-mini", "o200k_base"},
        {"gpt-4o-2024-08-06", "o200k_base"},
        {"GPT-4O", "o200k_base"},
        {"chatgpt-4o-latest", "o200k_base"},
        {"gpt-4.1", "o200k_base"},
        {"gpt-4.1-nano", "o200k_base"},
        {"gpt-4.5-preview", "o200k_base"},
        {"gpt-5", "o200k_base"},
        {"gpt-5-mini", "o200k_base"},
        {"o1", "o200k_base"},
        {"o1-mini", "o200k_base"},
        {"o3", "o200k_base"},
        {"o3-pro", "o200k_base"},
        {"o4-mini", "o200k_base"},
        {"gpt-oss-20b", "o200k_base"},
        {"openai/gpt-4o", "o200k_base"},
        {"ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base"},
        {"gpt-4", "cl100k_base"},
        {"gpt-4-0613", "cl100k_base"},
        {"gpt-4-turbo", "cl100k_base"},
        {"gpt-4-32k", "cl100k_base"},
        {"gpt-3.5-turbo", "cl100k_base"},
        {"gpt-3.5-turbo-0125", "cl100k_base"},
        {"gpt-35-turbo", "cl100k_base"},
        {"ft:gpt-3.5-turbo-0613:acme::x1", "cl100k_base"},
        {"text-embedding-3-small", "cl100k_base"},
        {"text-embedding-3-large", "cl100k_base"},
        {"text-embedding-ada-002", "cl100k_base"},
        {"o1x", NULL},
        {"gpt-4x", NULL},
        {"gpt-3", NULL},
        {"text-embedding-ada-002-v2", NULL},
        {"claude-3-5-sonnet", NULL},
        {"llama3", NULL},
        {"", NULL},
        {"ft:", NULL},
    };
    for (size_t i = 0; i < MN_ARRAY_LEN(cases); i++) {
        const char *got = mn__bpe_encoding_for_model(cases[i].model);
        if (cases[i].enc ? !got || strcmp(got, cases[i].enc) : got != NULL)
            t_fail(__FILE__, __LINE__, "model '%s': got %s, want %s", cases[i].model,
                   got ? got : "NULL", cases[i].enc ? cases[i].enc : "NULL");
    }
    ASSERT(mn__bpe_encoding_for_model(NULL) == NULL);
}

TEST(bpe_estimate_bounds_english)
{
    static const char *texts[] = {
        "hello world",
        "I'm planning to attend a concert with my friend Emily in a few weeks and I was "
        "wondering if you could recommend some good places to eat near the venue.",
        "The user would prefer responses that utilize their existing resources, such as "
        "their Suica card and TripIt app, to provide personalized tips for navigating "
        "Tokyo's public transportation.\n\n1. Take the Ginza Line towards Asakusa.",
        "int main(void)\n{\n    return 0;\n}\n",
        "WE'RE OUT OF MILK!!! Call 555-0199 before 10:30, OK?",
        "Caf\xc3\xa9 au lait, cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e et na\xc3\xafvet\xc3\xa9.",
    };
    const char *names[] = {"cl100k_base", "o200k_base"};
    for (size_t e = 0; e < 2; e++) {
        mn__bpe *b = open_enc(names[e]);
        for (size_t i = 0; i < MN_ARRAY_LEN(texts); i++) {
            size_t exact, est;
            int flag = -1;
            ASSERT_OK(mn__bpe_count(b, texts[i], strlen(texts[i]), &exact), NULL);
            est = mn__bpe_estimate(texts[i], strlen(texts[i]));
            if (est < exact || est > 2 * exact + 2)
                t_fail(__FILE__, __LINE__, "%s: estimate %zu for %zu tokens of \"%s\"",
                       names[e], est, exact, texts[i]);
            ASSERT_OK(mn__bpe_count_or_estimate(b, texts[i], strlen(texts[i]), &est, &flag),
                      NULL);
            ASSERT_EQ(est, exact);
            ASSERT_EQ(flag, 0);
        }
        mn__bpe_close(b);
    }
    size_t n;
    int flag = -1;
    ASSERT_OK(mn__bpe_count_or_estimate(NULL, "hello world", 11, &n, &flag), NULL);
    ASSERT_EQ(flag, 1);
    ASSERT_EQ(n, mn__bpe_estimate("hello world", 11));
    ASSERT_EQ(mn__bpe_estimate("", 0), 0);
    ASSERT_EQ(mn__bpe_estimate(NULL, 5), 0);
    /* a byte cannot be more than one token, and every 4-byte character is costed as 4 */
    ASSERT_EQ(mn__bpe_estimate("\xf0\x9f\x98\x80", 4), 5);
}

TEST(bpe_chat_overhead)
{
    /* cookbook: 3 per message, 1 per name, 3 to prime the reply */
    ASSERT_EQ(mn__chat_overhead(0, 0), 3);
    ASSERT_EQ(mn__chat_overhead(1, 0), 6);
    ASSERT_EQ(mn__chat_overhead(4, 2), 17);
}

/* Every allocation that fails ends in a clean MN_ENOMEM with nothing leaked. */
TEST(bpe_allocation_failures)
{
    mn__bpe *b = NULL;
    mn_err err;
    mn__alloc_fail_after(1);
    ASSERT_EQ(mn__bpe_open("cl100k_base", NULL, &b, &err), MN_ENOMEM);
    ASSERT(b == NULL);
    mn__alloc_fail_after(0);
    b = open_enc("cl100k_base");
    char text[600];
    memset(text, '=', sizeof text);
    size_t n = 0;
    /* ordinary pieces need no allocation at all */
    mn__alloc_fail_after(1);
    ASSERT_OK(mn__bpe_count(b, "hello world, again and again", 28, &n), NULL);
    ASSERT_EQ(n, 6);
    /* a piece over MN__BPE_SMALL_PIECE bytes takes one */
    ASSERT_EQ(mn__bpe_count(b, text, sizeof text, &n), MN_ENOMEM);
    ASSERT_EQ(n, 0);
    mn__alloc_fail_after(0);
    ASSERT_OK(mn__bpe_count(b, text, sizeof text, &n), NULL);
    ASSERT(n > 0);
    mn__bpe_close(b);
}

/* test_text.c - tokenizer: normalisation and case folding, apostrophes, CJK, stopword flags,
 * stemming, numbers, invalid UTF-8, overlong words, early stop. */
#include "../../src/text/text.h"
#include "t.h"

typedef struct out {
    char s[2048];
    size_t len;
    int n;
    int stops[64];
    int nums[64];
    uint32_t pos[64];
    int mode; /* 0: words, 1: stems */
    int stop_after;
} out;

static void put(out *o, const char *p, size_t n)
{
    if (o->len + n + 2 >= sizeof o->s)
        return;
    if (o->len)
        o->s[o->len++] = ' ';
    memcpy(o->s + o->len, p, n);
    o->len += n;
    o->s[o->len] = 0;
}

static int collect(void *ctx, const mn__word *w)
{
    out *o = ctx;
    ASSERT(w->word_len > 0 && w->word_len <= MN_TOK_MAX_WORD);
    ASSERT(w->stem_len > 0);
    if (o->n < 64) {
        o->stops[o->n] = w->is_stop;
        o->nums[o->n] = w->is_number;
        o->pos[o->n] = w->pos;
    }
    o->n++;
    if (o->mode)
        put(o, w->stem, w->stem_len);
    else
        put(o, w->word, w->word_len);
    if (o->stop_after && o->n == o->stop_after)
        return 7;
    return 0;
}

/* Tokenizes text (len -1: strlen) and returns the words (mode 0) or stems (mode 1). */
static const char *run(mn__tok *t, out *o, const char *text, long len, int mode)
{
    memset(o, 0, sizeof *o);
    o->mode = mode;
    ASSERT_EQ(mn__tokenize(t, text, len < 0 ? strlen(text) : (size_t)len, collect, o), 0);
    return o->s;
}

TEST(tok_ascii_case_stem_stop)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    ASSERT_STR(run(t, &o, "The Running DOGS were jumping!", -1, 0),
               "the running dogs were jumping");
    ASSERT_EQ(o.stops[0], 1);
    ASSERT_EQ(o.stops[1], 0);
    ASSERT_EQ(o.stops[2], 0);
    ASSERT_EQ(o.stops[3], 1);
    ASSERT_EQ(o.pos[4], 4);
    ASSERT_STR(run(t, &o, "The Running DOGS were jumping!", -1, 1), "the run dog were jump");
    ASSERT_STR(run(t, &o, "connections connected connecting", -1, 1),
               "connect connect connect");
    mn__tok_free(t);
}

TEST(tok_unicode_fold)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    /* ß folds to ss, accents go, fullwidth and ligature forms become plain letters */
    ASSERT_STR(run(t, &o, "Stra\xc3\x9f" "e \xc3\x89" "COLE Caf\xc3\xa9 na\xc3\xafve "
                          "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3 \xef\xac\x81le", -1, 0),
               "strasse ecole cafe naive abc file");
    /* decomposed input (e + combining acute) gives the same word as precomposed */
    ASSERT_STR(run(t, &o, "cafe\xcc\x81", -1, 0), "cafe");
    /* Greek and Cyrillic fold; non-Latin words are their own stem */
    ASSERT_STR(run(t, &o, "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 "
                          "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", -1, 1),
               "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1 "
               "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
    /* Devanagari keeps its vowel signs (stripping them would merge different words) */
    ASSERT_STR(run(t, &o, "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
                          "\xe0\xa5\x87", -1, 0),
               "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87");
    mn__tok_free(t);
}

TEST(tok_apostrophes)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    ASSERT_STR(run(t, &o, "Don't touch Caroline's O'Brien students' 'quoted' it\xe2\x80\x99s "
                          "CAROLINE'S rock'n'roll", -1, 0),
               "dont touch caroline obrien students quoted it caroline rocknroll");
    ASSERT_EQ(o.stops[0], 1); /* "dont" */
    ASSERT_EQ(o.stops[1], 0);
    ASSERT_STR(run(t, &o, "x's 's' end'", -1, 0), "x s end");
    mn__tok_free(t);
}

TEST(tok_cjk_each_char)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    /* 我爱北京 hello世界 */
    ASSERT_STR(run(t, &o, "\xe6\x88\x91\xe7\x88\xb1\xe5\x8c\x97\xe4\xba\xac hello"
                          "\xe4\xb8\x96\xe7\x95\x8c", -1, 0),
               "\xe6\x88\x91 \xe7\x88\xb1 \xe5\x8c\x97 \xe4\xba\xac hello \xe4\xb8\x96 "
               "\xe7\x95\x8c");
    ASSERT_EQ(o.n, 7);
    ASSERT_EQ(o.pos[6], 6);
    /* kana keep their voicing mark: が stays が (not か) */
    ASSERT_STR(run(t, &o, "\xe3\x81\x8c", -1, 0), "\xe3\x81\x8c");
    mn__tok_free(t);
}

TEST(tok_emoji_and_symbols)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    /* I ❤️ pizza 🍕!!! 👍🏽ok — a_b c-d e.f */
    ASSERT_STR(run(t, &o, "I \xe2\x9d\xa4\xef\xb8\x8f pizza \xf0\x9f\x8d\x95!!! "
                          "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbdok \xe2\x80\x94 a_b c-d e.f", -1, 0),
               "i pizza ok a b c d e f");
    /* soft hyphen and zero-width joiner do not split a word */
    ASSERT_STR(run(t, &o, "co\xc2\xadop ab\xe2\x80\x8d" "cd", -1, 0), "coop abcd");
    mn__tok_free(t);
}

TEST(tok_invalid_utf8)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    /* stray continuation, bad lead + ASCII, truncated sequence, overlong '/', surrogate */
    ASSERT_STR(run(t, &o, "ab\xff" "cd\xc3(ef\xe2\x82 gh\xc0\xafij\xed\xa0\x80kl", -1, 0),
               "ab cd ef gh ij kl");
    ASSERT_STR(run(t, &o, "a\0b", 3, 0), "a b");
    ASSERT_STR(run(t, &o, "end\xe2\x82", -1, 0), "end");
    ASSERT_STR(run(t, &o, "\xf0\x9f", -1, 0), "");
    ASSERT_EQ(o.n, 0);
    mn__tok_free(t);
}

TEST(tok_empty_input)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    ASSERT_STR(run(t, &o, "", 0, 0), "");
    ASSERT_EQ(o.n, 0);
    ASSERT_STR(run(t, &o, "  ,.;!? -- ''' \t\n", -1, 0), "");
    ASSERT_EQ(o.n, 0);
    ASSERT_EQ(mn__tokenize(t, NULL, 0, collect, &o), 0);
    mn__tok_free(t);
}

TEST(tok_long_word_cut)
{
    mn__tok *t;
    out o;
    char buf[4000];
    size_t i, n = 0;
    ASSERT_OK(mn__tok_new(&t), NULL);
    for (i = 0; i < 1000; i++)
        buf[n++] = (char)('a' + i % 26);
    memcpy(buf + n, " next", 5);
    n += 5;
    run(t, &o, buf, (long)n, 0);
    ASSERT_EQ(o.n, 2);
    ASSERT_EQ(strlen(o.s), 64 + 5);
    ASSERT(!memcmp(o.s, buf, 64));
    ASSERT_EQ(o.pos[1], 1);
    /* 1000 x "é": cut on a character boundary after folding to "e" */
    n = 0;
    for (i = 0; i < 1000; i++) {
        buf[n++] = '\xc3';
        buf[n++] = '\xa9';
    }
    run(t, &o, buf, (long)n, 0);
    ASSERT_EQ(o.n, 1);
    ASSERT_EQ(strlen(o.s), 64);
    ASSERT_EQ(o.s[63], 'e');
    /* 1000 x "ж" (2 bytes, not stripped): 64 bytes = 32 characters, never half of one */
    n = 0;
    for (i = 0; i < 1000; i++) {
        buf[n++] = '\xd0';
        buf[n++] = '\xb6';
    }
    run(t, &o, buf, (long)n, 0);
    ASSERT_EQ(strlen(o.s), 64);
    /* a letter drowned in combining marks is still one short word */
    n = 0;
    buf[n++] = 'a';
    for (i = 0; i < 1500; i++) {
        buf[n++] = '\xcc';
        buf[n++] = '\x81';
    }
    memcpy(buf + n, " b", 2);
    n += 2;
    ASSERT_STR(run(t, &o, buf, (long)n, 0), "a b");
    mn__tok_free(t);
}

TEST(tok_numbers)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    ASSERT_STR(run(t, &o, "Call 911 at 3pm, room \xef\xbc\x94\xef\xbc\x92 in 2023", -1, 0),
               "call 911 at 3pm room 42 in 2023");
    ASSERT_EQ(o.nums[0], 0);
    ASSERT_EQ(o.nums[1], 1);
    ASSERT_EQ(o.nums[3], 0);
    ASSERT_EQ(o.nums[5], 1);
    ASSERT_EQ(o.nums[7], 1);
    ASSERT_STR(run(t, &o, "running 3pm 1990s", -1, 1), "run 3pm 1990s");
    mn__tok_free(t);
}

TEST(tok_callback_stops)
{
    mn__tok *t;
    out o;
    ASSERT_OK(mn__tok_new(&t), NULL);
    memset(&o, 0, sizeof o);
    o.stop_after = 2;
    ASSERT_EQ(mn__tokenize(t, "one two three four", 18, collect, &o), 7);
    ASSERT_EQ(o.n, 2);
    ASSERT_STR(o.s, "one two");
    /* the tokenizer is reusable after an early stop; positions restart at 0 */
    run(t, &o, "alpha beta", -1, 0);
    ASSERT_EQ(o.pos[0], 0);
    ASSERT_EQ(o.pos[1], 1);
    mn__tok_free(t);
}

TEST(tok_new_out_of_memory)
{
    mn__tok *t = (mn__tok *)&t;
    int i, rc;
    for (i = 1; i <= 3; i++) {
        mn__alloc_fail_after(i);
        rc = mn__tok_new(&t);
        mn__alloc_fail_after(0);
        if (rc == MN_OK) {
            mn__tok_free(t);
            continue;
        }
        ASSERT_EQ(rc, MN_ENOMEM);
        ASSERT(t == NULL);
    }
}

TEST(stopwords_list)
{
    size_t i, n = mn__stopword_count();
    ASSERT(n > 150);
    for (i = 0; i < n; i++) {
        const char *w = mn__stopword_at(i);
        ASSERT(w != NULL);
        if (i > 0)
            ASSERT(strcmp(mn__stopword_at(i - 1), w) < 0); /* sorted, no duplicates */
        if (!mn__is_stopword(w, strlen(w)))
            t_fail(__FILE__, __LINE__, "'%s' not found", w);
    }
    ASSERT(mn__stopword_at(n) == NULL);
    ASSERT(mn__is_stopword("the", 3));
    ASSERT(mn__is_stopword("theyre", 6));
    ASSERT(!mn__is_stopword("thee", 4));
    ASSERT(!mn__is_stopword("th", 2));
    ASSERT(!mn__is_stopword("cat", 3));
    ASSERT(!mn__is_stopword("", 0));
    ASSERT(!mn__is_stopword("The", 3)); /* input is expected folded */
    ASSERT(!mn__is_stopword("yourselvesx", 11));
}

/* Stems come from a cache after the first sighting: a second pass over many distinct words
 * (enough to collide in the cache) must give exactly the stems of the first. */
typedef struct stems {
    char *s;
    size_t len, cap;
} stems;

static int keep_stem(void *ctx, const mn__word *w)
{
    stems *o = ctx;
    ASSERT(o->len + w->stem_len + 1 <= o->cap);
    memcpy(o->s + o->len, w->stem, w->stem_len);
    o->len += w->stem_len;
    o->s[o->len++] = ' ';
    return 0;
}

TEST(tok_stem_cache_consistent)
{
    mn__tok *t;
    stems a = {0}, b = {0};
    char *text;
    size_t n = 0, i;
    static const char *const suffix[] = {"ing", "ed", "s", "ations", "ness", "ly", "",
                                         "izationalisms"};
    text = mn__malloc(200000);
    a.cap = b.cap = 200000;
    a.s = mn__malloc(a.cap);
    b.s = mn__malloc(b.cap);
    ASSERT(text && a.s && b.s);
    for (i = 0; i < 5000; i++) {
        const char *sfx = suffix[i % MN_ARRAY_LEN(suffix)];
        text[n++] = (char)('b' + i % 23);
        text[n++] = (char)('a' + (i / 23) % 26);
        text[n++] = (char)('e' + (i / 598) % 20);
        text[n++] = 'r';
        memcpy(text + n, sfx, strlen(sfx));
        n += strlen(sfx);
        text[n++] = ' ';
    }
    ASSERT_OK(mn__tok_new(&t), NULL);
    ASSERT_EQ(mn__tokenize(t, text, n, keep_stem, &a), 0);
    ASSERT_EQ(mn__tokenize(t, text, n, keep_stem, &b), 0);
    ASSERT_EQ(a.len, b.len);
    ASSERT(!memcmp(a.s, b.s, a.len));
    ASSERT(a.len < n); /* some suffixes were really stemmed away */
    mn__tok_free(t);
    mn__free(text);
    mn__free(a.s);
    mn__free(b.s);
}

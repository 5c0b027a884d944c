/* tok.c - the tokenizer: splits UTF-8 text into words, normalises each word (NFKC, case
 * fold, accents stripped for alphabetic scripts), flags stopwords and stems English words.
 * The rules are listed in docs/INDEX.md; the hot path (ASCII words) does no Unicode work. */
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "text.h"

/* Raw bytes kept per word before normalisation: four times the output cap so that accents
 * or wide forms that normalisation removes cannot starve a word of its first 64 bytes. */
#define RAW_MAX (4 * MN_TOK_MAX_WORD)

/* Normalisation for alphabetic words: NFKC + case fold + marks removed ("École" -> "ecole",
 * "Straße" -> "strasse", fullwidth "ＡＢ" -> "ab"). COMPOSE puts back what survives. */
#define OPTS_STRIP                                                                           \
    (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |           \
     UTF8PROC_IGNORE)
/* Scripts whose marks are vowels or voicing (Indic, Thai, kana) keep them. */
#define OPTS_KEEP (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

enum cls { SEP, WORD, APOS, CJK, SKIP };

/* Stemming is over half of the tokenizer's time, and word frequencies are skewed: a small
 * direct-mapped cache of recent (word, stem) pairs answers most calls. */
#define CACHE_SLOTS 1024
#define CACHE_LEN 23

typedef struct stem_slot {
    uint8_t word_len, stem_len; /* word_len 0: empty slot */
    char word[CACHE_LEN];
    char stem[CACHE_LEN + 1];
} stem_slot;

struct mn__tok {
    struct sb_stemmer *stemmer;
    utf8proc_int32_t *cps; /* decomposition scratch, grows on demand */
    size_t cps_cap;
    size_t raw_len;
    int raw_ascii;     /* every raw byte is ASCII: the fast path applies */
    int raw_keep_mark; /* the word has a character from a script that needs its marks */
    uint32_t pos;
    char raw[RAW_MAX];
    char word[MN_TOK_MAX_WORD + 1];
    stem_slot cache[CACHE_SLOTS];
};

/* 1 for Han ideographs and Japanese kana: written without spaces, so each character is a
 * word of its own (a crude but predictable stand-in for a segmenter). */
static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x323AF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
           (c >= 0xFF66 && c <= 0xFF9F);
}

/* Scripts where combining marks carry vowels (Devanagari .. Myanmar, Khmer): stripping
 * them would merge unrelated words, so words containing them keep their marks. */
static int needs_marks(int32_t c)
{
    return (c >= 0x0900 && c <= 0x109F) || (c >= 0x1780 && c <= 0x17FF);
}

static enum cls classify(int32_t c)
{
    utf8proc_category_t cat;
    if (c < 0x80) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            return WORD;
        return c == '\'' ? APOS : SEP;
    }
    if (c == 0x2019 || c == 0x02BC || c == 0xFF07)
        return APOS;
    if (is_cjk(c))
        return CJK;
    cat = utf8proc_category(c);
    if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO)
        return WORD; /* letters, marks, numbers */
    if (cat == UTF8PROC_CATEGORY_CF)
        return SKIP; /* soft hyphen, zero-width joiners: invisible, never split a word */
    return SEP;
}

/* Decodes one code point at p; an invalid sequence yields -1 and length 1 so that the
 * caller steps over one bad byte and treats it as a separator. */
static size_t decode(const char *p, size_t n, int32_t *out_c)
{
    utf8proc_ssize_t r;
    if ((unsigned char)p[0] < 0x80) {
        *out_c = (unsigned char)p[0];
        return 1;
    }
    r = utf8proc_iterate((const utf8proc_uint8_t *)p, (utf8proc_ssize_t)n, out_c);
    if (r <= 0) {
        *out_c = -1;
        return 1;
    }
    return (size_t)r;
}

int mn__tok_new(mn__tok **out)
{
    mn__tok *t = mn__calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return MN_ENOMEM;
    t->stemmer = sb_stemmer_new("english", NULL);
    t->cps_cap = 2 * RAW_MAX;
    t->cps = mn__malloc(t->cps_cap * sizeof *t->cps);
    if (!t->stemmer || !t->cps) {
        mn__tok_free(t);
        return MN_ENOMEM;
    }
    *out = t;
    return MN_OK;
}

void mn__tok_free(mn__tok *t)
{
    if (!t)
        return;
    if (t->stemmer)
        sb_stemmer_delete(t->stemmer);
    mn__free(t->cps);
    mn__free(t);
}

/* Length of the longest prefix of s[0..n) that is at most max bytes and ends on a UTF-8
 * character boundary (s is well-formed). */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Normalises the raw word into t->word; returns its length (0: nothing left to index, e.g.
 * only marks) or a negative MN_E* code. *out_num is set when every character is a digit. */
static long normalize(mn__tok *t, int *out_num)
{
    utf8proc_option_t opts = t->raw_keep_mark ? OPTS_KEEP : OPTS_STRIP;
    utf8proc_ssize_t n, i, kept = 0, bytes;
    int has_ln = 0, all_num = 1;
    size_t len;

    if (t->raw_ascii) {
        for (len = 0; len < t->raw_len && len < MN_TOK_MAX_WORD; len++) {
            char c = t->raw[len];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + ('a' - 'A'));
            if (c < '0' || c > '9')
                all_num = 0;
            t->word[len] = c;
        }
        t->word[len] = 0;
        *out_num = all_num;
        return (long)len;
    }
    for (;;) {
        n = utf8proc_decompose((const utf8proc_uint8_t *)t->raw, (utf8proc_ssize_t)t->raw_len,
                               t->cps, (utf8proc_ssize_t)t->cps_cap, opts);
        if (n < 0)
            return 0; /* cannot happen for valid input; index nothing rather than fail */
        if ((size_t)n < t->cps_cap) /* reencode writes a NUL after the last byte */
            break;
        {
            size_t ncap = (size_t)n + 16;
            utf8proc_int32_t *nc = mn__realloc(t->cps, ncap * sizeof *nc);
            if (!nc)
                return MN_ENOMEM;
            t->cps = nc;
            t->cps_cap = ncap;
        }
    }
    /* normalisation can produce punctuation ("½" -> "1⁄2"); keep letters, digits, marks */
    for (i = 0; i < n; i++) {
        utf8proc_category_t cat = utf8proc_category(t->cps[i]);
        if (cat < UTF8PROC_CATEGORY_LU || cat > UTF8PROC_CATEGORY_NO)
            continue;
        if (cat < UTF8PROC_CATEGORY_MN || cat > UTF8PROC_CATEGORY_ME)
            has_ln = 1;
        if (cat < UTF8PROC_CATEGORY_ND)
            all_num = 0;
        t->cps[kept++] = t->cps[i];
    }
    if (!has_ln)
        return 0;
    bytes = utf8proc_reencode(t->cps, kept, opts);
    if (bytes < 0)
        return 0;
    len = cut_utf8((const char *)t->cps, (size_t)bytes, MN_TOK_MAX_WORD);
    memcpy(t->word, t->cps, len);
    t->word[len] = 0;
    *out_num = all_num;
    return (long)len;
}

static int all_ascii_letters(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return 0;
    return 1;
}

/* Sets w->stem to the Snowball stem of t->word, from the cache when it is there. */
static int stem(mn__tok *t, size_t len, mn__word *w)
{
    uint32_t h = 2166136261u;
    const sb_symbol *s;
    stem_slot *slot;
    size_t i, n;
    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)t->word[i]) * 16777619u;
    slot = &t->cache[(h ^ (h >> 15)) & (CACHE_SLOTS - 1)];
    if (slot->word_len == len && !memcmp(slot->word, t->word, len)) {
        w->stem = slot->stem;
        w->stem_len = slot->stem_len;
        return MN_OK;
    }
    s = sb_stemmer_stem(t->stemmer, (const sb_symbol *)t->word, (int)len);
    if (!s)
        return MN_ENOMEM;
    n = (size_t)sb_stemmer_length(t->stemmer);
    w->stem = (const char *)s;
    w->stem_len = n;
    if (len <= CACHE_LEN && n <= CACHE_LEN) {
        slot->word_len = (uint8_t)len;
        slot->stem_len = (uint8_t)n;
        memcpy(slot->word, t->word, len);
        memcpy(slot->stem, s, n);
        slot->stem[n] = 0;
    }
    return MN_OK;
}

/* Normalises, stems and hands over the pending raw word. Returns the callback's value, or
 * a negative MN_E* code. */
static int flush(mn__tok *t, mn__word_fn fn, void *ctx)
{
    mn__word w;
    long len;
    int num = 0;

    if (t->raw_len == 0)
        return 0;
    len = normalize(t, &num);
    t->raw_len = 0;
    if (len <= 0)
        return (int)len;
    memset(&w, 0, sizeof w);
    w.word = t->word;
    w.word_len = (size_t)len;
    w.stem = t->word;
    w.stem_len = (size_t)len;
    w.is_number = num;
    w.pos = t->pos++;
    if (all_ascii_letters(t->word, (size_t)len)) {
        w.is_stop = mn__is_stopword(t->word, (size_t)len);
        if (stem(t, (size_t)len, &w) != MN_OK)
            return MN_ENOMEM;
    }
    return fn(ctx, &w);
}

static void start_word(mn__tok *t)
{
    t->raw_len = 0;
    t->raw_ascii = 1;
    t->raw_keep_mark = 0;
}

/* Appends one character's bytes to the raw word; the tail of an overlong word is dropped
 * here so that memory stays bounded whatever the input. */
static void append(mn__tok *t, const char *p, size_t n, int32_t c)
{
    if (t->raw_len + n > RAW_MAX)
        return;
    memcpy(t->raw + t->raw_len, p, n);
    t->raw_len += n;
    if (c >= 0x80) {
        t->raw_ascii = 0;
        if (needs_marks(c))
            t->raw_keep_mark = 1;
    }
}

int mn__tokenize(mn__tok *t, const char *text, size_t len, mn__word_fn fn, void *ctx)
{
    size_t i = 0;
    int in_word = 0, rc = 0;

    t->pos = 0;
    start_word(t);
    while (i < len) {
        int32_t c;
        size_t n = decode(text + i, len - i, &c);
        enum cls k = c < 0 ? SEP : classify(c);

        if (k == WORD) {
            if (!in_word) {
                start_word(t);
                in_word = 1;
            }
            append(t, text + i, n, c);
            i += n;
            continue;
        }
        if (k == SKIP) {
            i += n;
            continue;
        }
        if (k == APOS && in_word && i + n < len) {
            /* "don't" -> "dont"; possessive "Caroline's" -> "caroline" */
            int32_t c2, c3;
            size_t n2 = decode(text + i + n, len - i - n, &c2);
            enum cls k2 = c2 < 0 ? SEP : classify(c2);
            int possessive = 0;
            if (c2 == 's' || c2 == 'S') {
                possessive = 1; /* unless a letter or digit follows the s */
                if (i + n + n2 < len) {
                    decode(text + i + n + n2, len - i - n - n2, &c3);
                    possessive = c3 < 0 || classify(c3) != WORD;
                }
            }
            if (possessive) {
                i += n + n2;
                in_word = 0;
                rc = flush(t, fn, ctx);
                if (rc)
                    return rc;
                continue;
            }
            if (k2 == WORD) {
                i += n;
                continue;
            }
        }
        if (in_word) {
            in_word = 0;
            rc = flush(t, fn, ctx);
            if (rc)
                return rc;
        }
        if (k == CJK) {
            start_word(t);
            append(t, text + i, n, c);
            t->raw_keep_mark = 1;
            rc = flush(t, fn, ctx);
            if (rc)
                return rc;
        }
        i += n;
    }
    if (in_word)
        rc = flush(t, fn, ctx);
    return rc;
}

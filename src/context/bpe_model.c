/* bpe_model.c - which encoding an OpenAI model name uses, and the estimate used when the
 * model is unknown or its rank table is missing (tuned in docs/TOKENIZER.md). */
#include "bpe_int.h"

enum { EXACT, WORD, PREFIX };

/* First match wins, so the more specific names come first ("gpt-4o" before "gpt-4").
 * WORD matches the name alone or followed by '-' ("o1", "o1-mini", but not "o1x"). */
static const struct {
    const char *name;
    int how;
    const char *encoding;
} MODELS[] = {
    {"gpt-4o", PREFIX, "o200k_base"},
    {"chatgpt-4o", PREFIX, "o200k_base"},
    {"gpt-4.1", PREFIX, "o200k_base"},
    {"gpt-4.5", PREFIX, "o200k_base"},
    {"gpt-5", PREFIX, "o200k_base"},
    {"gpt-oss", PREFIX, "o200k_base"},
    {"o1", WORD, "o200k_base"},
    {"o3", WORD, "o200k_base"},
    {"o4", WORD, "o200k_base"},
    {"gpt-4", WORD, "cl100k_base"},
    {"gpt-3.5-turbo", PREFIX, "cl100k_base"},
    {"gpt-35-turbo", PREFIX, "cl100k_base"},
    {"text-embedding-3-", PREFIX, "cl100k_base"},
    {"text-embedding-ada-002", EXACT, "cl100k_base"},
};

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: 1 when name[0..n) begins with key; *out_rest is what follows. */
static int has_prefix(const char *name, size_t n, const char *key, size_t *out_rest)
{
    size_t k = strlen(key);
    if (k > n)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)name[i]) != key[i])
            return 0;
    *out_rest = n - k;
    return 1;
}

const char *mn__bpe_encoding_for_model(const char *model)
{
    if (!model)
        return NULL;
    const char *name = model;
    size_t n = strlen(model), rest;
    /* "openai/gpt-4o" (routers), "ft:gpt-4o-mini-2024-07-18:org::id" (fine-tuned) */
    if (has_prefix(name, n, "openai/", &rest)) {
        name += n - rest;
        n = rest;
    }
    if (has_prefix(name, n, "ft:", &rest)) {
        name += n - rest;
        const char *colon = memchr(name, ':', rest);
        n = colon ? (size_t)(colon - name) : rest;
    }
    for (size_t i = 0; i < MN_ARRAY_LEN(MODELS); i++) {
        if (!has_prefix(name, n, MODELS[i].name, &rest))
            continue;
        const char *after = name + (n - rest);
        if (MODELS[i].how == PREFIX || rest == 0 || (MODELS[i].how == WORD && *after == '-'))
            return MODELS[i].encoding;
    }
    return NULL;
}

/* Weights in thousandths of a token, tuned on the corpus of tests/bpe (docs/TOKENIZER.md has
 * the table). Runs of ASCII are costed per run, because BPE joins a word with its leading
 * space, cuts numbers into groups of up to three digits and has tokens for runs of spaces
 * and symbols. Other characters are costed by block: the less text of a script the
 * vocabulary saw, the closer it gets to one token per UTF-8 byte. */
#define LETTERS_PER_TOKEN 4
#define CAPS_PER_TOKEN 2
#define DIGITS_PER_TOKEN 3
#define SYMBOLS_PER_TOKEN 2
#define SPACES_PER_TOKEN 8
#define NEWLINES_PER_TOKEN 2

static uint32_t char_milli(uint32_t c)
{
    if (c < 0x100)
        return 1000; /* Latin-1: often joined with the rest of the word */
    if (c < 0x180)
        return 1500; /* Latin Extended-A */
    if (c < 0x370)
        return 2000; /* Latin Extended-B, IPA, modifier letters, combining marks: bytes */
    if (c < 0x530)
        return 1200; /* Greek, Cyrillic: capitals fall to bytes in cl100k */
    if (c < 0x900)
        return 2000; /* Armenian, Hebrew, Arabic, Syriac, Thaana */
    if (c < 0x2000)
        return 3000; /* Indic, Southeast Asian, Georgian, Ethiopic, Vietnamese letters */
    if (c < 0x2070)
        return 1000; /* general punctuation: typographic quotes, dashes, ZWJ */
    if (c < 0x3000)
        return 3000; /* letterlike, number forms, arrows, math, symbols, dingbats */
    if (c >= 0x3200 && c < 0x3400)
        return 3000; /* enclosed CJK, CJK compatibility */
    if (c < 0xA000)
        return 2000; /* CJK punctuation, kana, CJK ideographs */
    if (c >= 0xAC00 && c < 0xD7B0)
        return 2000; /* Hangul syllables */
    if (c >= 0xFE00 && c < 0xFE10)
        return 1000; /* variation selectors (emoji presentation) */
    if (c >= 0xFF00 && c < 0xFFF0)
        return 2000; /* fullwidth and halfwidth forms */
    return c < 0x10000 ? 3000 : 4000; /* rare blocks, emoji: one token per byte at worst */
}

static size_t run_len(const uint8_t *s, size_t len, size_t i, int (*in)(uint8_t))
{
    size_t j = i;
    while (j < len && in(s[j]))
        j++;
    return j - i;
}

static int is_letter(uint8_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int is_newline(uint8_t c)
{
    return c == '\n' || c == '\r';
}

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static int is_symbol(uint8_t c)
{
    return c > ' ' && c < 0x7F && !is_letter(c) && !is_digit(c);
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

size_t mn__bpe_estimate(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    uint64_t milli = 0;
    size_t i = 0, k;
    if (!text)
        return 0;
    while (i < len) {
        uint8_t c = s[i];
        if (is_letter(c)) {
            k = run_len(s, len, i, is_letter);
            size_t upper = 0;
            for (size_t m = i; m < i + k; m++)
                upper += s[m] <= 'Z';
            /* capitals (acronyms, shouting, identifiers, base64) split into short tokens */
            milli += 1000 * ceil_div(k, upper >= 2 ? CAPS_PER_TOKEN : LETTERS_PER_TOKEN);
        } else if (is_digit(c)) {
            k = run_len(s, len, i, is_digit);
            milli += 1000 * ceil_div(k, DIGITS_PER_TOKEN);
        } else if (is_newline(c)) {
            k = run_len(s, len, i, is_newline);
            milli += 1000 * ceil_div(k, NEWLINES_PER_TOKEN);
        } else if (is_blank(c)) {
            /* one space joins the next word; longer runs (indentation) are tokens */
            k = run_len(s, len, i, is_blank);
            if (k > 1)
                milli += 1000 * ceil_div(k, SPACES_PER_TOKEN);
            else if (i + 1 == len || is_digit(s[i + 1]) || is_newline(s[i + 1]))
                milli += 1000; /* a lone space joins a word or symbol after it, not these */
        } else if (c < 0x80) {
            k = run_len(s, len, i, is_symbol);
            k = k ? k : 1; /* control characters */
            milli += 1000 * ceil_div(k, SYMBOLS_PER_TOKEN);
        } else {
            /* a well-formed sequence costs by its block, any other byte one token */
            uint32_t cp = 0;
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (n > 1 && i + n <= len) {
                cp = c & (0x7Fu >> n);
                for (size_t m = 1; m < n; m++)
                    cp = (cp << 6) | (s[i + m] & 0x3Fu);
            }
            k = n > 1 && i + n <= len ? n : 1;
            milli += k > 1 ? char_milli(cp) : 1000;
        }
        i += k;
    }
    /* One token of margin: what remains under on English is a rare name split one more
     * time than its letters suggest. */
    return len ? (size_t)ceil_div(milli, 1000) + 1 : 0;
}

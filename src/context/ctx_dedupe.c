/* ctx_dedupe.c - near-duplicate detection for the context builder: a memory that says what
 * another chosen memory already says ("I love hiking!" and "i love hiking") costs tokens
 * and tells the model nothing new. Works on text alone, so it needs no vectors. */
#include <stdlib.h>
#include <string.h>

#include "context.h"

/* Bytes of a word: ASCII letters and digits, and every non-ASCII byte (letters of other
 * scripts, emoji), so that CJK text is not reduced to nothing. */
static bool word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int mn__ctx_sig_make(mn__arena *a, const char *text, size_t len, mn__ctx_sig *out)
{
    const unsigned char *s = (const unsigned char *)text;
    uint64_t whole = 1469598103934665603ull; /* FNV-1a over the folded words */
    size_t i = 0, n = 0, cap = 0, w;
    char word[64];

    memset(out, 0, sizeof *out);
    for (i = 0; i < len; i++) /* upper bound of the word count */
        cap += word_byte(s[i]) && (i == 0 || !word_byte(s[i - 1]));
    if (cap) {
        out->words = mn__arena_alloc(a, cap * sizeof *out->words);
        if (!out->words)
            return MN_ENOMEM;
    }
    i = 0;
    while (i < len) {
        size_t wl = 0;
        uint64_t h = 0;
        while (i < len && !word_byte(s[i]))
            i++;
        if (i >= len)
            break;
        while (i < len && word_byte(s[i])) {
            unsigned char c = fold(s[i++]);
            if (wl < sizeof word)
                word[wl] = (char)c;
            wl++;
            whole = (whole ^ c) * 1099511628211ull;
        }
        whole = (whole ^ ' ') * 1099511628211ull;
        /* words longer than the scratch are told apart by length and their first 64 bytes */
        h = mn__hash64(word, MN_MIN(wl, sizeof word), wl);
        out->words[n++] = h;
    }
    if (n > 1) {
        qsort(out->words, n, sizeof *out->words, cmp_u64);
        for (i = 1, w = 1; i < n; i++)
            if (out->words[i] != out->words[w - 1])
                out->words[w++] = out->words[i];
        n = w;
    }
    out->n_words = n;
    out->whole = whole;
    return MN_OK;
}

bool mn__ctx_sig_near(const mn__ctx_sig *x, const mn__ctx_sig *y)
{
    size_t i = 0, j = 0, both = 0, uni;
    if (x->whole == y->whole)
        return true;
    if (x->n_words < MN__CTX_NEAR_DUP_MIN_WORDS || y->n_words < MN__CTX_NEAR_DUP_MIN_WORDS)
        return false;
    while (i < x->n_words && j < y->n_words) {
        if (x->words[i] == y->words[j]) {
            both++;
            i++;
            j++;
        } else if (x->words[i] < y->words[j]) {
            i++;
        } else {
            j++;
        }
    }
    uni = x->n_words + y->n_words - both;
    return (double)both >= MN__CTX_NEAR_DUP * (double)uni;
}

/* bpe_pretok.c - the pre-tokenizers of cl100k_base and o200k_base: hand-written equivalents
 * of their regular expressions (pat_str in js-tiktoken), giving the same pieces as the
 * backtracking matcher of JavaScript does, alternative by alternative. The rules and their
 * derivation are in docs/TOKENIZER.md. */
#include <utf8proc.h>

#include "bpe_int.h"

/* Character classes of the patterns. UP and LO are o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
 * and [\p{Ll}\p{Lm}\p{Lo}\p{M}]; a mark is in both without being a letter. */
enum {
    C_L = 1,     /* \p{L} */
    C_N = 2,     /* \p{N} */
    C_WS = 4,    /* \s as JavaScript defines it */
    C_CRLF = 8,  /* \r or \n */
    C_UP = 16,
    C_LO = 32,
};

/* JavaScript's \s: the Zs category plus TAB..CR, U+FEFF, U+2028, U+2029. Unlike Rust's \s
 * it excludes U+0085 and includes U+FEFF; js-tiktoken is the reference the tests hold us to. */
static int is_js_space(uint32_t c)
{
    switch (c) {
    case 0x00A0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000: case 0xFEFF:
        return 1;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

static unsigned unicode_class(uint32_t c)
{
    if (is_js_space(c))
        return C_WS;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
        return C_L | C_UP;
    case UTF8PROC_CATEGORY_LL:
        return C_L | C_LO;
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_L | C_UP | C_LO;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_UP | C_LO;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_N;
    default:
        return 0;
    }
}

/* Class of the character at s[i] (i < n) and its length in bytes. A byte that does not
 * start a well-formed sequence (stray continuation, overlong, surrogate, past U+10FFFF,
 * truncated) is a character of its own with no class, like punctuation. */
static inline unsigned char_at(const uint8_t *s, size_t n, size_t i, size_t *out_len)
{
    uint8_t b0 = s[i];
    if (b0 < 0x80) {
        *out_len = 1;
        if ((b0 | 0x20) >= 'a' && (b0 | 0x20) <= 'z')
            return b0 >= 'a' ? (C_L | C_LO) : (C_L | C_UP);
        if (b0 >= '0' && b0 <= '9')
            return C_N;
        if (b0 == '\r' || b0 == '\n')
            return C_WS | C_CRLF;
        if (b0 == ' ' || (b0 >= '\t' && b0 <= '\r'))
            return C_WS;
        return 0;
    }
    *out_len = 1;
    uint32_t c;
    size_t len;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        c = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        c = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        c = b0 & 0x07u;
    } else {
        return 0;
    }
    if (i + len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        uint8_t b = s[i + k];
        if ((b & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (b & 0x3Fu);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return 0;
    *out_len = len;
    return unicode_class(c);
}

/* End of the longest run of characters from i whose class has any bit of `want`. */
static size_t run_of(const uint8_t *s, size_t n, size_t i, unsigned want)
{
    while (i < n) {
        size_t len;
        if (!(char_at(s, n, i, &len) & want))
            break;
        i += len;
    }
    return i;
}

/* End of a run of characters with none of the bits of `avoid`. */
static size_t run_without(const uint8_t *s, size_t n, size_t i, unsigned avoid)
{
    while (i < n) {
        size_t len;
        if (char_at(s, n, i, &len) & avoid)
            break;
        i += len;
    }
    return i;
}

/* Length of the contraction 's 't 're 've 'm 'll 'd (either case of each letter) at s[i],
 * or 0. Only the ASCII apostrophe. */
static size_t contraction(const uint8_t *s, size_t n, size_t i)
{
    if (i + 1 >= n || s[i] != '\'')
        return 0;
    uint8_t a = s[i + 1] | 0x20;
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (i + 2 >= n)
        return 0;
    uint8_t b = s[i + 2] | 0x20;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* The three whitespace alternatives shared by both patterns, tried in order at pos (a
 * whitespace character):  \s*[\r\n]+  |  \s+(?!\S)  |  \s+ */
static size_t whitespace_piece(const uint8_t *s, size_t n, size_t pos)
{
    size_t i = pos, last_start = pos, after_crlf = 0, n_chars = 0;
    while (i < n) {
        size_t len;
        unsigned c = char_at(s, n, i, &len);
        if (!(c & C_WS))
            break;
        if (c & C_CRLF)
            after_crlf = i + len;
        last_start = i;
        i += len;
        n_chars++;
    }
    /* \s* backs off until the next character is \r or \n: the last one of the run, and the
     * [\r\n]+ after it takes only that one since nothing after it is \r or \n. */
    if (after_crlf)
        return after_crlf;
    /* \s+(?!\S): at the end of the text the whole run; before a non-space, all but the
     * last character, which then starts the next piece (" word"). */
    if (i == n || n_chars < 2)
        return i;
    return last_start;
}

/* ` ?[^\s\p{L}\p{N}]+` followed by a run of `tail`; 0 when it does not match at pos. */
static size_t punct_piece(const uint8_t *s, size_t n, size_t pos, unsigned c0, int slash_tail)
{
    size_t start = pos;
    if (s[pos] == ' ' && pos + 1 < n) {
        size_t len1;
        if (!(char_at(s, n, pos + 1, &len1) & (C_WS | C_L | C_N)))
            start = pos + 1;
    }
    if (start == pos && (c0 & (C_WS | C_L | C_N)))
        return 0;
    size_t i = run_without(s, n, start, C_WS | C_L | C_N);
    while (i < n && (s[i] == '\r' || s[i] == '\n' || (slash_tail && s[i] == '/')))
        i++;
    return i;
}

/* \p{N}{1,3} */
static size_t number_piece(const uint8_t *s, size_t n, size_t pos)
{
    size_t i = pos;
    for (int k = 0; k < 3 && i < n; k++) {
        size_t len;
        if (!(char_at(s, n, i, &len) & C_N))
            break;
        i += len;
    }
    return i;
}

static size_t cl100k_next(const uint8_t *s, size_t n, size_t pos)
{
    size_t len0, len1;
    unsigned c0 = char_at(s, n, pos, &len0);

    /* '(?:s|t|re|ve|m|ll|d), case spelled out in the pattern */
    size_t k = contraction(s, n, pos);
    if (k)
        return pos + k;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c0 & C_L)
        return run_of(s, n, pos, C_L);
    if (!(c0 & (C_CRLF | C_L | C_N)) && pos + len0 < n &&
        (char_at(s, n, pos + len0, &len1) & C_L))
        return run_of(s, n, pos + len0, C_L);
    /* \p{N}{1,3} */
    if (c0 & C_N)
        return number_piece(s, n, pos);
    /* ` ?[^\s\p{L}\p{N}]+[\r\n]*` */
    k = punct_piece(s, n, pos, c0, 0);
    if (k)
        return k;
    return whitespace_piece(s, n, pos);
}

/* o200k's first alternative from `start`: [UP]*[LO]+ then an optional contraction; 0 when
 * it does not match. The backtracking of [UP]* is resolved in one pass: if the character
 * after the greedy [UP]* run is not LO, the matcher gives back run characters one by one
 * and succeeds at the last one that is also LO (a Lm, Lo or mark), ending right after it. */
static size_t o200k_alt1(const uint8_t *s, size_t n, size_t start)
{
    size_t i = start, last_both_end = 0;
    while (i < n) {
        size_t len;
        unsigned c = char_at(s, n, i, &len);
        if (!(c & C_UP))
            break;
        if (c & C_LO)
            last_both_end = i + len;
        i += len;
    }
    size_t end;
    size_t len;
    if (i < n && (char_at(s, n, i, &len) & C_LO))
        end = run_of(s, n, i, C_LO);
    else if (last_both_end)
        end = last_both_end;
    else
        return 0;
    return end + contraction(s, n, end);
}

/* o200k's second alternative from `start`: [UP]+[LO]* then an optional contraction. */
static size_t o200k_alt2(const uint8_t *s, size_t n, size_t start)
{
    size_t i = run_of(s, n, start, C_UP);
    if (i == start)
        return 0;
    size_t end = run_of(s, n, i, C_LO);
    return end + contraction(s, n, end);
}

static size_t o200k_next(const uint8_t *s, size_t n, size_t pos)
{
    size_t len0;
    unsigned c0 = char_at(s, n, pos, &len0);
    /* [^\r\n\p{L}\p{N}]? is greedy: each alternative first tries with the optional
     * character taken, then without it. */
    int opt = !(c0 & (C_CRLF | C_L | C_N)) && pos + len0 < n;
    size_t k = opt ? o200k_alt1(s, n, pos + len0) : 0;

    if (!k)
        k = o200k_alt1(s, n, pos);
    if (!k && opt)
        k = o200k_alt2(s, n, pos + len0);
    if (!k)
        k = o200k_alt2(s, n, pos);
    if (k)
        return k;
    if (c0 & C_N)
        return number_piece(s, n, pos);
    k = punct_piece(s, n, pos, c0, 1);
    if (k)
        return k;
    return whitespace_piece(s, n, pos);
}

size_t mn__bpe_pretok_next(int kind, const uint8_t *s, size_t n, size_t pos)
{
    if (kind == MN__PRETOK_O200K)
        return o200k_next(s, n, pos);
    return cl100k_next(s, n, pos);
}

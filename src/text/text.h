/* text.h - turning text into words: Unicode normalisation and case folding (utf8proc), word
 * splitting, the stopword list, and Snowball English stemming (libstemmer). Used by keyword
 * indexing, the built-in embedder and query handling. */
#ifndef MN_TEXT_H
#define MN_TEXT_H

#include "../core/core.h"

typedef struct mn__tok mn__tok;

/* One word of the input. `word` is the NFKC case-folded form, `stem` the Snowball stem of
 * it (equal to word for non-Latin scripts and numbers). Both are valid for the callback
 * only. `pos` counts words from 0, stopwords included. */
typedef struct mn__word {
    const char *word;
    size_t word_len;
    const char *stem;
    size_t stem_len;
    int is_stop;
    int is_number;
    uint32_t pos;
} mn__word;

/* Return 0 to continue, non-zero to stop (returned by mn__tokenize). */
typedef int (*mn__word_fn)(void *ctx, const mn__word *w);

/* A tokenizer holds a stemmer and scratch buffers: not thread-safe, cheap to keep per
 * thread or in a pool. */
int mn__tok_new(mn__tok **out);
void mn__tok_free(mn__tok *t);

/* Splits text into words (letters and digits; CJK characters one word each; apostrophes
 * inside words dropped: "don't" -> "dont", a possessive "'s" is cut: "Caroline's" ->
 * "caroline"). Invalid UTF-8 bytes are treated as separators. Returns 0, the callback's
 * non-zero value when it stopped, or MN_ENOMEM. Full rules: docs/INDEX.md. */
int mn__tokenize(mn__tok *t, const char *text, size_t len, mn__word_fn fn, void *ctx);

/* 1 when the case-folded word is an English stopword. */
int mn__is_stopword(const char *w, size_t len);
/* The stopword list itself (sorted bytewise), for tests and for callers that build their
 * own tables: entry i, or NULL when i >= mn__stopword_count(). */
size_t mn__stopword_count(void);
const char *mn__stopword_at(size_t i);

/* Words longer than this many bytes (after normalisation) are cut to it on a character
 * boundary; they are still emitted so that a query with the same long word matches. */
#define MN_TOK_MAX_WORD 64

#endif /* MN_TEXT_H */

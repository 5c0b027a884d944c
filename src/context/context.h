/* context.h - the context builder: exact token counting with the BPE encodings of OpenAI
 * models (cl100k_base, o200k_base) and, in its own section, prompt assembly under a token
 * budget. Used by the engine; nothing here talks to the network. */
#ifndef MN_CONTEXT_H
#define MN_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/core.h"

/* ==== token counting (bpe_*.c, docs/TOKENIZER.md) =========================================
 * Byte-pair encoding as tiktoken does it: the text is cut into pieces by the encoding's
 * pre-tokenizer (a hand-written equivalent of its regular expression), each piece is merged
 * byte pair by byte pair, lowest rank first, using the rank table of the encoding. Rank
 * tables are files <dir>/<encoding>.bpe built once by scripts/setup-bpe from the npm package
 * js-tiktoken; nothing is downloaded at run time. Special tokens in the text are counted as
 * ordinary text (tiktoken's encode_ordinary), which is how chat message content is sent. */

typedef struct mn__bpe mn__bpe;

/* Opens the rank table of `encoding` ("cl100k_base" or "o200k_base"), memory-mapped. `dir`
 * NULL searches mn__bpe_default_dirs() in order; otherwise only `dir`. The file is checked
 * (magic, version, checksum, bounds, pattern) before use.
 * Errors: MN_EINVAL (unknown encoding name), MN_ENOMODEL (no file; the message lists the
 * paths tried and says to run scripts/setup-bpe), MN_ECORRUPT (bad file), MN_EIO, MN_ENOMEM.
 * Thread rule: the handle is immutable after open; any number of threads may count with it
 * at once. Close it once, after the last user. */
int mn__bpe_open(const char *encoding, const char *dir, mn__bpe **out_bpe, mn_err *err);
void mn__bpe_close(mn__bpe *bpe); /* NULL is a no-op */

/* NULL-terminated list of the directories searched, in order: $MNEMO_BPE_DIR (when set),
 * models/ under the working directory, <exe dir>/../models, <exe dir>/../share/mnemo,
 * /usr/local/share/mnemo, /usr/share/mnemo. Built once; valid for the life of the process. */
const char *const *mn__bpe_default_dirs(void);

const char *mn__bpe_name(const mn__bpe *bpe);       /* "cl100k_base"; borrowed from bpe */
const char *mn__bpe_source(const mn__bpe *bpe);     /* "js-tiktoken@1.0.21"; borrowed */
uint32_t mn__bpe_vocab_size(const mn__bpe *bpe);    /* ordinary tokens (ranks 0..n-1) */

/* Number of tokens of text[0..len) into *out_n. Never allocates for pieces up to 256 bytes
 * (all ordinary text); longer pieces (a run of 300 spaces, a 1 KB base64 blob) take one
 * scratch allocation. Any bytes are accepted: a byte that is not part of well-formed UTF-8
 * is a piece of its own class, encoded as its byte (js-tiktoken would first have replaced
 * it with U+FFFD). Errors: MN_EINVAL (NULL bpe, or NULL text with len > 0), MN_ENOMEM. */
int mn__bpe_count(const mn__bpe *bpe, const char *text, size_t len, size_t *out_n);

/* Token ids of text[0..len): writes min(n, cap) ids to out_ids and n to *out_n. Returns
 * MN_ETOOBIG when cap < n (out_ids then holds the first cap ids). Errors as mn__bpe_count. */
int mn__bpe_encode(const mn__bpe *bpe, const char *text, size_t len, uint32_t *out_ids,
                   size_t cap, size_t *out_n);

/* The bytes of token `id` (an ordinary rank): *out_bytes points into the mapped file (valid
 * until mn__bpe_close), not NUL-terminated. MN_ENOTFOUND for an id with no bytes. */
int mn__bpe_token_bytes(const mn__bpe *bpe, uint32_t id, const char **out_bytes,
                        size_t *out_len);

/* Encoding of an OpenAI model name: "o200k_base" for gpt-4o*, chatgpt-4o*, gpt-4.1*,
 * gpt-4.5*, gpt-5*, o1*, o3*, o4*, gpt-oss*; "cl100k_base" for gpt-4 / gpt-4-* (not 4o/4.x),
 * gpt-3.5-turbo*, gpt-35-turbo* (Azure), text-embedding-3-*, text-embedding-ada-002. A
 * fine-tuned "ft:<base>:..." maps as its base. NULL for anything else (use the estimate).
 * The returned string is static. */
const char *mn__bpe_encoding_for_model(const char *model);

/* Upper estimate of the token count of text for a model whose tokenizer is unknown or whose
 * table is missing. Weights per UTF-8 sequence length and character class, set so that it
 * is at least the cl100k_base and o200k_base counts of prose in English and the common
 * scripts (measured in docs/TOKENIZER.md); not a bound for adversarial input. */
size_t mn__bpe_estimate(const char *text, size_t len);

/* Exact count when bpe is non-NULL, else the estimate; *out_estimated (may be NULL) is set
 * to 1 for an estimate, 0 for an exact count. */
int mn__bpe_count_or_estimate(const mn__bpe *bpe, const char *text, size_t len,
                              size_t *out_n, int *out_estimated);

/* Chat format overhead, as OpenAI's cookbook ("How to count tokens with tiktoken") states it
 * for gpt-3.5-turbo-0613 and later chat models: each message costs its content tokens plus
 * 3 (<|start|>{role}<|message|> ... <|end|>; the role name counts as content), a `name`
 * field adds 1, and every reply is primed with <|start|>assistant<|message|>: 3 more. */
#define MN__CHAT_TOKENS_PER_MESSAGE 3
#define MN__CHAT_TOKENS_PER_NAME 1
#define MN__CHAT_REPLY_PRIMING 3

/* Overhead of a chat request with n_messages messages, n_names of which carry a name:
 * 3 * n_messages + n_names + 3. Add the BPE count of every role and content string. */
size_t mn__chat_overhead(size_t n_messages, size_t n_names);

/* ==== end of token counting ============================================================== */

/* ==== prompt assembly (ctx_*.c, docs/CONTEXT.md) ==========================================
 * Pure layout of a context under a token budget: the engine (src/memory/context_build.c)
 * runs the searches and hands over plain items; nothing here reads the store or the
 * partitions. */

/* One candidate memory; every pointer is borrowed for the call. */
typedef struct mn__ctx_item {
    mn_id id;
    mn_kind kind;
    mn_scope scope;
    double score;          /* the search's ranking score: orders the candidates */
    double relevance;      /* absolute relevance to the question in [0, 1]: the threshold
                              applies to it (score would not do: it is normalised per query,
                              so the best hit of any question looks relevant) */
    bool ranked;           /* found by the question's search; false: listed */
    int64_t created_at_ms;
    const char *text;      /* as stored; newlines and controls are flattened in the line */
    const char *speaker;   /* shown as "Caroline: text"; NULL: none */
    const mn_id *sources;  /* summaries: the messages they stand in for */
    size_t n_sources;
} mn__ctx_item;

typedef struct mn__ctx_req {
    const char *query;           /* the current question */
    size_t max_tokens;           /* budget of the whole block, >= 1 */
    const mn__bpe *bpe;          /* exact counts with this table; NULL: mn__bpe_estimate */
    const char *encoding;        /* reported name (static): "cl100k_base", "estimate", ... */
    unsigned include;            /* MN_CONTEXT_* mask; 0: all */
    double min_score;            /* items of every kind but preference with a relevance
                                    below are out */
    const mn__ctx_item *items;
    size_t n_items;
} mn__ctx_req;

/* Default relevance threshold of mn_context_opts.min_score, chosen on the LoCoMo dev data
 * (bench/context, bench/results/context.md, docs/CONTEXT.md). */
#define MN__CTX_MIN_SCORE 0.35
/* Share of min_score each further candidate needs once the best one reached min_score. */
#define MN__CTX_FLOOR_SHARE 0.5

/* Selects and lays out the items (priority, relevance threshold, duplicates, summaries in
 * place of their sources, budget: docs/CONTEXT.md) into a new context. The block's exact
 * count never exceeds max_tokens. *out is owned by the caller: mn_context_free. Errors:
 * MN_EINVAL (no question, zero budget), MN_ETOOBIG (the question alone is over the budget),
 * MN_ENOMEM. */
int mn__ctx_assemble(const mn__ctx_req *req, mn_context **out, mn_err *err);

/* Near-duplicate check of two texts (ctx_dedupe.c): equal after folding case, punctuation
 * and spaces, or word sets with a Jaccard similarity of at least MN__CTX_NEAR_DUP when both
 * have MN__CTX_NEAR_DUP_MIN_WORDS words or more. */
#define MN__CTX_NEAR_DUP 0.85
#define MN__CTX_NEAR_DUP_MIN_WORDS 5
typedef struct mn__ctx_sig {
    uint64_t whole;        /* hash of the folded text */
    uint64_t *words;       /* sorted distinct word hashes */
    size_t n_words;
} mn__ctx_sig;
/* Signature of text[0..len); words allocated in a. MN_ENOMEM only. */
int mn__ctx_sig_make(mn__arena *a, const char *text, size_t len, mn__ctx_sig *out);
bool mn__ctx_sig_near(const mn__ctx_sig *x, const mn__ctx_sig *y);

/* ==== end of prompt assembly ============================================================= */

#endif /* MN_CONTEXT_H */

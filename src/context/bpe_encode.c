/* bpe_encode.c - counting and encoding: pre-tokenize, look each piece up whole (most words
 * are one token), merge the rest byte pair by byte pair. No allocation except for pieces
 * longer than MN__BPE_SMALL_PIECE bytes. */
#include "bpe_int.h"

static int bpe_run(const mn__bpe *b, const uint8_t *s, size_t n, mn__bpe_sink *sink)
{
    size_t pos = 0;
    while (pos < n) {
        size_t end = mn__bpe_pretok_next(b->pretok, s, n, pos);
        size_t len = end - pos;
        uint32_t r = mn__bpe_rank(b, s + pos, len);
        if (r != MN__BPE_NO_RANK) {
            mn__bpe_sink_put(sink, r);
        } else if (len <= MN__BPE_SMALL_PIECE) {
            mn__bpe_merge_small(b, s + pos, len, sink);
        } else {
            int rc = mn__bpe_merge_large(b, s + pos, len, sink);
            if (rc != MN_OK)
                return rc;
        }
        pos = end;
    }
    return MN_OK;
}

int mn__bpe_count(const mn__bpe *bpe, const char *text, size_t len, size_t *out_n)
{
    if (out_n)
        *out_n = 0;
    if (!bpe || !out_n || (!text && len > 0))
        return MN_EINVAL;
    mn__bpe_sink sink = {NULL, 0, 0};
    int rc = bpe_run(bpe, (const uint8_t *)text, len, &sink);
    if (rc == MN_OK)
        *out_n = sink.n;
    return rc;
}

int mn__bpe_encode(const mn__bpe *bpe, const char *text, size_t len, uint32_t *out_ids,
                   size_t cap, size_t *out_n)
{
    if (out_n)
        *out_n = 0;
    if (!bpe || !out_n || (!text && len > 0) || (!out_ids && cap > 0))
        return MN_EINVAL;
    mn__bpe_sink sink = {out_ids, cap, 0};
    int rc = bpe_run(bpe, (const uint8_t *)text, len, &sink);
    if (rc != MN_OK)
        return rc;
    *out_n = sink.n;
    return sink.n > cap ? MN_ETOOBIG : MN_OK;
}

int mn__bpe_token_bytes(const mn__bpe *bpe, uint32_t id, const char **out_bytes,
                        size_t *out_len)
{
    if (!bpe || !out_bytes || !out_len)
        return MN_EINVAL;
    if (id >= bpe->n_tokens || bpe->tok_off[id + 1] == bpe->tok_off[id])
        return MN_ENOTFOUND;
    *out_bytes = (const char *)bpe->tok_bytes + bpe->tok_off[id];
    *out_len = bpe->tok_off[id + 1] - bpe->tok_off[id];
    return MN_OK;
}

int mn__bpe_count_or_estimate(const mn__bpe *bpe, const char *text, size_t len,
                              size_t *out_n, int *out_estimated)
{
    if (out_estimated)
        *out_estimated = bpe == NULL;
    if (bpe)
        return mn__bpe_count(bpe, text, len, out_n);
    if (!out_n || (!text && len > 0))
        return MN_EINVAL;
    *out_n = mn__bpe_estimate(text, len);
    return MN_OK;
}

size_t mn__chat_overhead(size_t n_messages, size_t n_names)
{
    return MN__CHAT_TOKENS_PER_MESSAGE * n_messages + MN__CHAT_TOKENS_PER_NAME * n_names +
           MN__CHAT_REPLY_PRIMING;
}

/* bpe_int.h - shared by the BPE files of the context builder (bpe_load.c, bpe_pretok.c,
 * bpe_merge.c, bpe_encode.c): the loaded table, the rank lookup and the pre-tokenizers.
 * The file format is described in docs/TOKENIZER.md. */
#ifndef MN_BPE_INT_H
#define MN_BPE_INT_H

#include <string.h>

#include "context.h"

#define MN__BPE_NO_RANK UINT32_MAX
/* Pieces up to this many bytes are merged on the stack; longer ones use a heap. */
#define MN__BPE_SMALL_PIECE 256

/* Which hand-written pre-tokenizer an encoding uses (the "pretok" field of the file). */
enum { MN__PRETOK_CL100K = 1, MN__PRETOK_O200K = 2 };

struct mn__bpe {
    char name[32];
    char source[64];
    int pretok;
    uint32_t n_tokens;
    uint32_t hash_mask;
    uint32_t max_token_len;
    const uint32_t *tok_off;  /* n_tokens + 1 offsets into tok_bytes, by rank */
    const uint8_t *tok_bytes;
    const uint32_t *slots;    /* open addressing by FNV-1a: rank + 1, or 0 when empty */
    uint32_t byte_rank[256];
    void *map;
    size_t map_len;
};

/* Where the ids of an encoding go: the first `cap` ids are stored in ids (NULL when only
 * counting), n counts them all. */
typedef struct mn__bpe_sink {
    uint32_t *ids;
    size_t cap;
    size_t n;
} mn__bpe_sink;

static inline void mn__bpe_sink_put(mn__bpe_sink *s, uint32_t id)
{
    if (s->n < s->cap)
        s->ids[s->n] = id;
    s->n++;
}

/* FNV-1a over the bytes, 32 bits: the hash the converter (scripts/build-bpe) used to fill
 * the slots of the file. */
static inline uint32_t mn__bpe_fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

/* Rank of the byte string p[0..n), or MN__BPE_NO_RANK. */
static inline uint32_t mn__bpe_rank(const mn__bpe *b, const uint8_t *p, size_t n)
{
    if (n == 1)
        return b->byte_rank[p[0]];
    if (n > b->max_token_len)
        return MN__BPE_NO_RANK;
    uint32_t i = mn__bpe_fnv1a(p, n) & b->hash_mask;
    for (;;) {
        uint32_t v = b->slots[i];
        if (v == 0)
            return MN__BPE_NO_RANK;
        uint32_t r = v - 1, off = b->tok_off[r];
        if (b->tok_off[r + 1] - off == n && memcmp(b->tok_bytes + off, p, n) == 0)
            return r;
        i = (i + 1) & b->hash_mask;
    }
}

/* End (byte offset) of the piece that starts at pos < n, for the pre-tokenizer `kind`. */
size_t mn__bpe_pretok_next(int kind, const uint8_t *s, size_t n, size_t pos);

/* Byte-pair merge of one piece p[0..n) (n >= 2) whose whole has no rank; the ranks of the
 * resulting parts go to the sink in order. _small needs n <= MN__BPE_SMALL_PIECE and never
 * allocates; _large takes any n and allocates its work arrays (MN_ENOMEM). Both produce the
 * same result; the unit tests hold them to it. */
void mn__bpe_merge_small(const mn__bpe *b, const uint8_t *p, size_t n, mn__bpe_sink *sink);
int mn__bpe_merge_large(const mn__bpe *b, const uint8_t *p, size_t n, mn__bpe_sink *sink);

#endif /* MN_BPE_INT_H */

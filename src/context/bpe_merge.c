/* bpe_merge.c - byte-pair merge of one piece, as tiktoken does it: start from single bytes
 * and repeatedly join the adjacent pair whose bytes have the lowest rank (the leftmost such
 * pair on a tie) until no adjacent pair has a rank. Two implementations with one result:
 * an array scan for ordinary pieces and a heap for long ones (a run of 10,000 spaces). */
#include "bpe_int.h"

void mn__bpe_merge_small(const mn__bpe *b, const uint8_t *p, size_t n, mn__bpe_sink *sink)
{
    /* pos[i] is where part i starts (pos[m] == n); pair[i] the rank of parts i and i+1
     * joined; part[i] the rank of part i. Removing a part shifts the arrays: cheap at this
     * size, and no pointer chasing. */
    uint32_t pos[MN__BPE_SMALL_PIECE + 1], pair[MN__BPE_SMALL_PIECE], part[MN__BPE_SMALL_PIECE];
    size_t m = n;

    for (size_t i = 0; i < n; i++) {
        pos[i] = (uint32_t)i;
        part[i] = b->byte_rank[p[i]];
    }
    pos[n] = (uint32_t)n;
    for (size_t i = 0; i + 1 < n; i++)
        pair[i] = mn__bpe_rank(b, p + i, 2);

    while (m > 1) {
        uint32_t best = MN__BPE_NO_RANK;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            if (pair[i] < best) {
                best = pair[i];
                at = i;
            }
        }
        if (best == MN__BPE_NO_RANK)
            break;
        part[at] = best;
        memmove(pos + at + 1, pos + at + 2, (m - at - 1) * sizeof pos[0]);
        if (at + 2 < m)
            memmove(part + at + 1, part + at + 2, (m - at - 2) * sizeof part[0]);
        if (at + 3 < m)
            memmove(pair + at + 1, pair + at + 2, (m - at - 3) * sizeof pair[0]);
        m--;
        if (at + 1 < m)
            pair[at] = mn__bpe_rank(b, p + pos[at], pos[at + 2] - pos[at]);
        if (at > 0)
            pair[at - 1] = mn__bpe_rank(b, p + pos[at - 1], pos[at + 1] - pos[at - 1]);
    }
    for (size_t i = 0; i < m; i++)
        mn__bpe_sink_put(sink, part[i]);
}

/* A candidate pair in the heap: parts starting at `start` and at the part after it, which
 * ends at `end`. It is stale once either part has changed, which shows as a different end. */
typedef struct heap_item {
    uint32_t rank;
    uint32_t start;
    uint32_t end;
} heap_item;

static int item_less(const heap_item *a, const heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->start < b->start);
}

static void heap_push(heap_item *h, size_t *n, heap_item it)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!item_less(&it, &h[up]))
            break;
        h[i] = h[up];
        i = up;
    }
    h[i] = it;
}

static heap_item heap_pop(heap_item *h, size_t *n)
{
    heap_item top = h[0], last = h[--*n];
    size_t i = 0, cnt = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= cnt)
            break;
        if (c + 1 < cnt && item_less(&h[c + 1], &h[c]))
            c++;
        if (!item_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (cnt > 0)
        h[i] = last;
    return top;
}

static void push_pair(const mn__bpe *b, const uint8_t *p, heap_item *h, size_t *hn,
                      uint32_t start, uint32_t end)
{
    uint32_t r = mn__bpe_rank(b, p + start, end - start);
    if (r != MN__BPE_NO_RANK) {
        heap_item it = {r, start, end};
        heap_push(h, hn, it);
    }
}

int mn__bpe_merge_large(const mn__bpe *b, const uint8_t *p, size_t n, mn__bpe_sink *sink)
{
    if (n >= UINT32_MAX / 4)
        return MN_ETOOBIG;
    /* Parts are a linked list over byte offsets: next[s] is where the part starting at s
     * ends (the next part's start), prev[s] where the previous part starts; part[s] its
     * rank. Every merge adds at most two candidates, so 3n heap slots suffice. */
    size_t heap_cap = 3 * n;
    size_t bytes = (n + 1) * sizeof(uint32_t) * 3 + n + heap_cap * sizeof(heap_item);
    uint8_t *mem = mn__malloc(bytes);
    if (!mem)
        return MN_ENOMEM;
    heap_item *h = (heap_item *)mem;
    uint32_t *next = (uint32_t *)(h + heap_cap);
    uint32_t *prev = next + (n + 1);
    uint32_t *part = prev + (n + 1);
    uint8_t *alive = (uint8_t *)(part + (n + 1));
    size_t hn = 0;

    for (size_t i = 0; i < n; i++) {
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)i - 1; /* wraps for i == 0; never read there */
        part[i] = b->byte_rank[p[i]];
        alive[i] = 1;
    }
    for (size_t i = 0; i + 1 < n; i++)
        push_pair(b, p, h, &hn, (uint32_t)i, (uint32_t)(i + 2));

    while (hn > 0) {
        heap_item it = heap_pop(h, &hn);
        uint32_t s = it.start, j = next[s];
        if (!alive[s] || j >= n || next[j] != it.end)
            continue;
        /* join part s with part j */
        alive[j] = 0;
        part[s] = it.rank;
        next[s] = it.end;
        if (it.end < n)
            prev[it.end] = s;
        if (s > 0)
            push_pair(b, p, h, &hn, prev[s], it.end);
        if (it.end < n)
            push_pair(b, p, h, &hn, s, next[it.end]);
    }
    for (uint32_t s = 0; s < n; s = next[s])
        mn__bpe_sink_put(sink, part[s]);
    mn__free(mem);
    return MN_OK;
}

/* hnsw.c - HNSW graph over the rows of a vector set: node storage, seeded level draws, the
 * layer search (shared by queries and by linking), linking a row (search of each level,
 * then the neighbour heuristic and back links), and deletion by tombstone with repair of
 * the neighbours' links. Design notes and measurements: docs/INDEX.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

#define HNSW_MAX_M 64
#define HNSW_MAX_M0 (2 * HNSW_MAX_M)
#define HNSW_MAX_LEVEL 24

enum { HNSW_ABSENT = 0, HNSW_LIVE = 1, HNSW_DEAD = 2 };

struct mn__hnsw {
    int dim;
    int m, m0;         /* list sizes above level 0, and on level 0 */
    int ef_c;
    double ml;         /* level multiplier 1/ln(m) */
    uint64_t rng;      /* splitmix64 state */
    size_t cap;        /* rows with a slot */
    size_t n_live, n_dead;
    uint32_t *links0;  /* cap * (m0 + 1): count, then ids */
    uint32_t **up;     /* per row: levels 1..level, each (m + 1) ids; NULL at level 0 */
    uint8_t *level;
    uint8_t *state;    /* HNSW_* */
    int64_t entry;     /* -1: empty */
    int max_level;
    size_t up_bytes;
};

struct mn__hnsw_hit {
    float s;
    uint32_t id;
};
typedef struct mn__hnsw_hit hit;

/* The list of row x on level l: [0] is the count. */
static inline uint32_t *links(const mn__hnsw *h, uint32_t x, int l)
{
    if (l == 0)
        return h->links0 + (size_t)x * (size_t)(h->m0 + 1);
    return h->up[x] + (size_t)(l - 1) * (size_t)(h->m + 1);
}

/* Ties go to the smaller row so that results never depend on visiting order. */
static inline int better(float sa, uint32_t ia, float sb, uint32_t ib)
{
    return sa > sb || (sa == sb && ia < ib);
}

/* ---- scratch and heaps ------------------------------------------------------------------ */

void mn__hnsw_scratch_init(mn__hnsw_scratch *s)
{
    memset(s, 0, sizeof *s);
}

void mn__hnsw_scratch_release(mn__hnsw_scratch *s)
{
    mn__free(s->seen);
    mn__free(s->cand);
    mn__free(s->res);
    memset(s, 0, sizeof *s);
}

/* Grows the seen bitset to the graph's rows and res to n_res + 1 entries. */
static int scratch_fit(mn__hnsw_scratch *s, const mn__hnsw *h, size_t n_res)
{
    size_t words = (h->cap + 63) / 64;
    void *p;
    if (words > s->seen_words) {
        p = mn__realloc(s->seen, words * sizeof *s->seen);
        if (!p)
            return MN_ENOMEM;
        s->seen = p;
        s->seen_words = words;
    }
    if (n_res + 1 > s->res_cap) {
        p = mn__realloc(s->res, (n_res + 1) * sizeof *s->res);
        if (!p)
            return MN_ENOMEM;
        s->res = p;
        s->res_cap = n_res + 1;
    }
    if (s->cand_cap < 64) {
        p = mn__realloc(s->cand, 64 * sizeof *s->cand);
        if (!p)
            return MN_ENOMEM;
        s->cand = p;
        s->cand_cap = 64;
    }
    return MN_OK;
}

/* Candidates: a max-heap (best on top). Results: a min-heap (worst on top), bounded. */
static void cand_push(hit *a, size_t *n, hit x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(x.s, x.id, a[p].s, a[p].id))
            break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

static hit cand_pop(hit *a, size_t *n)
{
    hit top = a[0], x = a[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && better(a[c + 1].s, a[c + 1].id, a[c].s, a[c].id))
            c++;
        if (!better(a[c].s, a[c].id, x.s, x.id))
            break;
        a[i] = a[c];
        i = c;
    }
    if (m)
        a[i] = x;
    return top;
}

static void res_sift_down(hit *a, size_t n, size_t i)
{
    hit x = a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && better(a[c].s, a[c].id, a[c + 1].s, a[c + 1].id))
            c++;
        if (!better(x.s, x.id, a[c].s, a[c].id))
            break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}

/* Keeps the best ef; returns 1 when x made the cut. */
static int res_push(hit *a, size_t *n, size_t ef, hit x)
{
    size_t i;
    if (*n == ef) {
        if (!better(x.s, x.id, a[0].s, a[0].id))
            return 0;
        a[0] = x;
        res_sift_down(a, *n, 0);
        return 1;
    }
    i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(a[p].s, a[p].id, x.s, x.id))
            break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
    return 1;
}

/* ---- search ------------------------------------------------------------------------------ */

/* Greedy walk from ep down to level `stop` + 1 (one best node per level). */
static hit descend(const mn__hnsw *h, const mn__vecset *vs, const float *q, uint32_t ep,
                   int from, int stop)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)h->dim;
    hit cur;
    int l;
    cur.id = ep;
    cur.s = k->dot_f32(q, vs->f32 + (size_t)ep * d, d);
    for (l = from; l > stop; l--) {
        int changed = 1;
        while (changed) {
            const uint32_t *ln = links(h, cur.id, l);
            uint32_t j;
            changed = 0;
            for (j = 1; j <= ln[0]; j++) {
                float s = k->dot_f32(q, vs->f32 + (size_t)ln[j] * d, d);
                if (better(s, ln[j], cur.s, cur.id)) {
                    cur.s = s;
                    cur.id = ln[j];
                    changed = 1;
                }
            }
        }
    }
    return cur;
}

/* Best-first search of one level from the entry set eps (which may alias s->res): the ef
 * best rows that are live, pass the filter and are not `self` end up in s->res (a min-heap
 * of *out_n). Tombstones and filtered rows are walked through, never returned; while fewer
 * than ef results are known the walk goes on (a selective filter explores more). */
static int search_layer(const mn__hnsw *h, const mn__vecset *vs, const float *q,
                        const hit *eps, size_t n_ep, size_t ef, int l, mn__hnsw_filter filter,
                        void *ctx, uint32_t self, mn__hnsw_scratch *s, size_t *out_n)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)h->dim, n_c = 0, n_r = 0, i;
    uint32_t fresh[HNSW_MAX_M0], n_new;
    uint64_t *seen;
    hit *res;
    int rc = scratch_fit(s, h, ef);
    if (rc)
        return rc;
    seen = s->seen;
    memset(seen, 0, ((h->cap + 63) / 64) * sizeof *seen);
    if (n_ep > s->cand_cap) {
        void *p = mn__realloc(s->cand, n_ep * 2 * sizeof *s->cand);
        if (!p)
            return MN_ENOMEM;
        s->cand = p;
        s->cand_cap = n_ep * 2;
    }
    /* eps may be s->res: move them to the candidate heap before results are written */
    for (i = 0; i < n_ep; i++) {
        uint32_t id = eps[i].id;
        if (seen[id >> 6] & (1ull << (id & 63)))
            continue;
        seen[id >> 6] |= 1ull << (id & 63);
        cand_push(s->cand, &n_c, eps[i]);
    }
    res = s->res;
    for (i = 0; i < n_c; i++) {
        hit e = s->cand[i];
        if (h->state[e.id] == HNSW_LIVE && e.id != self && (!filter || filter(ctx, e.id)))
            res_push(res, &n_r, ef, e);
    }
    while (n_c) {
        hit c = cand_pop(s->cand, &n_c);
        const uint32_t *ln;
        uint32_t j;
        if (n_r == ef && better(res[0].s, res[0].id, c.s, c.id))
            break; /* the best unexplored is worse than the worst kept */
        ln = links(h, c.id, l);
        /* Unseen neighbours first, with every cache line of their vectors requested at
         * once: the loads overlap instead of each dot product waiting for its own. */
        n_new = 0;
        for (j = 1; j <= ln[0]; j++) {
            uint32_t id = ln[j];
            const char *vp;
            size_t b;
            if (seen[id >> 6] & (1ull << (id & 63)))
                continue;
            seen[id >> 6] |= 1ull << (id & 63);
            fresh[n_new++] = id;
            vp = (const char *)(vs->f32 + (size_t)id * d);
            for (b = 0; b < d * sizeof(float); b += 64)
                __builtin_prefetch(vp + b);
        }
        for (j = 0; j < n_new; j++) {
            uint32_t id = fresh[j];
            hit x;
            x.id = id;
            x.s = k->dot_f32(q, vs->f32 + (size_t)id * d, d);
            if (n_r == ef && !better(x.s, x.id, res[0].s, res[0].id))
                continue;
            if (n_c == s->cand_cap) {
                void *p = mn__realloc(s->cand, s->cand_cap * 2 * sizeof *s->cand);
                if (!p)
                    return MN_ENOMEM;
                s->cand = p;
                s->cand_cap *= 2;
            }
            cand_push(s->cand, &n_c, x);
            if (h->state[id] == HNSW_LIVE && id != self && (!filter || filter(ctx, id)))
                res_push(res, &n_r, ef, x);
        }
    }
    *out_n = n_r;
    return MN_OK;
}

int mn__hnsw_search(const mn__hnsw *h, const mn__vecset *vs, const float *q, int ef,
                    mn__hnsw_filter filter, void *ctx, mn__hnsw_scratch *scratch,
                    mn__topk *out)
{
    mn__hnsw_scratch own;
    size_t n_r = 0, i;
    hit ep;
    int rc;

    mn__topk_reset(out);
    if (vs->dim != h->dim)
        return MN_EINVAL;
    if (out->k <= 0 || h->entry < 0 || h->n_live == 0)
        return MN_OK;
    if (ef < out->k)
        ef = out->k;
    if (!scratch) {
        mn__hnsw_scratch_init(&own);
        scratch = &own;
    }
    ep = descend(h, vs, q, (uint32_t)h->entry, h->max_level, 0);
    rc = search_layer(h, vs, q, &ep, 1, (size_t)ef, 0, filter, ctx, UINT32_MAX, scratch,
                      &n_r);
    if (rc == MN_OK)
        for (i = 0; i < n_r; i++)
            mn__topk_push(out, scratch->res[i].s, scratch->res[i].id);
    if (scratch == &own)
        mn__hnsw_scratch_release(&own);
    return rc;
}

/* ---- the graph --------------------------------------------------------------------------- */

void mn__hnsw_opts_init(mn__hnsw_opts *o)
{
    o->m = 16;
    o->ef_construction = 200;
    o->seed = 0x6d6e656d6f686e73ull; /* "mnemohns" */
}

int mn__hnsw_new(const mn__hnsw_opts *o, int dim, mn__hnsw **out)
{
    mn__hnsw_opts def;
    mn__hnsw *h;
    *out = NULL;
    if (!o) {
        mn__hnsw_opts_init(&def);
        o = &def;
    }
    if (dim <= 0 || o->m < 2 || o->m > HNSW_MAX_M || o->ef_construction < 1 ||
        o->ef_construction > 1 << 20)
        return MN_EINVAL;
    h = mn__calloc(1, sizeof *h);
    if (!h)
        return MN_ENOMEM;
    h->dim = dim;
    h->m = o->m;
    h->m0 = 2 * o->m;
    h->ef_c = o->ef_construction;
    h->ml = 1.0 / log((double)o->m);
    h->rng = o->seed;
    h->entry = -1;
    *out = h;
    return MN_OK;
}

void mn__hnsw_free(mn__hnsw *h)
{
    size_t i;
    if (!h)
        return;
    for (i = 0; i < h->cap; i++)
        mn__free(h->up[i]);
    mn__free(h->up);
    mn__free(h->links0);
    mn__free(h->level);
    mn__free(h->state);
    mn__free(h);
}

bool mn__hnsw_contains(const mn__hnsw *h, uint32_t row)
{
    return row < h->cap && h->state[row] == HNSW_LIVE;
}

size_t mn__hnsw_count(const mn__hnsw *h)
{
    return h->n_live;
}

size_t mn__hnsw_deleted(const mn__hnsw *h)
{
    return h->n_dead;
}

size_t mn__hnsw_bytes(const mn__hnsw *h)
{
    return sizeof *h + h->cap * ((size_t)(h->m0 + 1) * sizeof(uint32_t) + sizeof(uint32_t *) + 2) +
           h->up_bytes;
}

uint64_t mn__hnsw_digest(const mn__hnsw *h)
{
    uint64_t d = mn__hash64(&h->entry, sizeof h->entry, (uint64_t)h->max_level);
    size_t i;
    int l;
    for (i = 0; i < h->cap; i++) {
        if (h->state[i] == HNSW_ABSENT)
            continue;
        d = mn__hash64(&h->state[i], 1, d ^ i);
        d = mn__hash64(&h->level[i], 1, d);
        for (l = 0; l <= h->level[i]; l++) {
            const uint32_t *ln = links(h, (uint32_t)i, l);
            d = mn__hash64(ln, (ln[0] + 1) * sizeof *ln, d);
        }
    }
    return d;
}

/* Room for rows 0..n-1. On failure the arrays already moved stay valid (larger than cap). */
static int reserve(mn__hnsw *h, size_t n)
{
    size_t ncap = h->cap ? h->cap : 64, per0 = (size_t)(h->m0 + 1);
    void *p;
    if (n <= h->cap)
        return MN_OK;
    while (ncap < n)
        ncap *= 2;
    if (ncap > (size_t)UINT32_MAX + 1 || ncap > SIZE_MAX / (per0 * sizeof(uint32_t)))
        return MN_ETOOBIG;
#define GROW(field, sz)                                                                      \
    do {                                                                                     \
        p = mn__realloc(h->field, ncap * (sz));                                              \
        if (!p)                                                                              \
            return MN_ENOMEM;                                                                \
        h->field = p;                                                                        \
        memset((char *)p + h->cap * (sz), 0, (ncap - h->cap) * (sz));                        \
    } while (0)
    GROW(links0, per0 * sizeof(uint32_t));
    GROW(up, sizeof(uint32_t *));
    GROW(level, 1);
    GROW(state, 1);
#undef GROW
    h->cap = ncap;
    return MN_OK;
}

/* Level of a new node: floor(-ln(u) * ml), u uniform in (0, 1], from a splitmix64 stream. */
static int draw_level(mn__hnsw *h)
{
    uint64_t z = (h->rng += 0x9e3779b97f4a7c15ull);
    double u;
    int l;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    u = ((double)(z >> 11) + 1.0) / 9007199254740992.0;
    l = (int)(-log(u) * h->ml);
    return l < HNSW_MAX_LEVEL ? l : HNSW_MAX_LEVEL;
}

static int cmp_hit(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return better(x->s, x->id, y->s, y->id) ? -1 : 1;
}

/* The neighbour heuristic: candidates best first; a candidate is kept when it is more
 * similar to the base than to every neighbour kept so far (it covers a new direction), up
 * to mmax. Writes the kept ids to out and returns how many. Sorts c. */
static size_t select_neighbors(const mn__hnsw *h, const mn__vecset *vs, hit *c,
                               size_t n, size_t mmax, uint32_t *out)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)h->dim, i, j, n_out = 0;
    qsort(c, n, sizeof *c, cmp_hit);
    if (n <= mmax) { /* room for all: pruning would only cut links */
        for (i = 0; i < n; i++)
            out[i] = c[i].id;
        return n;
    }
    for (i = 0; i < n && n_out < mmax; i++) {
        const float *v = vs->f32 + (size_t)c[i].id * d;
        int keep = 1;
        for (j = 0; j < n_out && keep; j++)
            if (k->dot_f32(v, vs->f32 + (size_t)out[j] * d, d) > c[i].s)
                keep = 0;
        if (keep)
            out[n_out++] = c[i].id;
    }
    return n_out;
}

static int in_list(const uint32_t *ln, uint32_t id)
{
    uint32_t i;
    for (i = 1; i <= ln[0]; i++)
        if (ln[i] == id)
            return 1;
    return 0;
}

/* Adds a back link u -> x on level l; a full list is cut back with the heuristic. */
static void link_back(mn__hnsw *h, const mn__vecset *vs, uint32_t u, uint32_t x, int l)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)h->dim, mmax = (size_t)(l ? h->m : h->m0), n = 0, i;
    uint32_t *ln = links(h, u, l);
    hit c[HNSW_MAX_M0 + 1];
    const float *uv = vs->f32 + (size_t)u * d;
    if (u == x || in_list(ln, x))
        return;
    if (ln[0] < mmax) {
        ln[1 + ln[0]++] = x;
        return;
    }
    for (i = 1; i <= ln[0]; i++)
        if (h->state[ln[i]] == HNSW_LIVE) {
            c[n].id = ln[i];
            c[n++].s = k->dot_f32(uv, vs->f32 + (size_t)ln[i] * d, d);
        }
    c[n].id = x;
    c[n++].s = k->dot_f32(uv, vs->f32 + (size_t)x * d, d);
    ln[0] = (uint32_t)select_neighbors(h, vs, c, n, mmax, ln + 1);
}

static void unlink_node(mn__hnsw *h, const mn__vecset *vs, uint32_t x);

int mn__hnsw_insert(mn__hnsw *h, const mn__vecset *vs, uint32_t row)
{
    mn__hnsw_scratch s;
    size_t d = (size_t)h->dim, i;
    uint32_t *sel = NULL, *nsel = NULL, *up = NULL;
    uint64_t rng0 = h->rng;
    int level, top, l, rc = MN_OK;
    bool fresh, reset;

    if (vs->dim != h->dim || row >= vs->n)
        return MN_EINVAL;
    if (vs->scale[row] <= 0.0f)
        return MN_OK; /* no vector, no direction: nothing to link */
    rc = reserve(h, (size_t)row + 1);
    if (rc)
        return rc;
    fresh = h->state[row] == HNSW_ABSENT;
    level = fresh ? draw_level(h) : h->level[row];
    mn__hnsw_scratch_init(&s);
    if (fresh && level > 0) {
        size_t nb = (size_t)level * (size_t)(h->m + 1) * sizeof *up;
        up = mn__calloc(1, nb);
        if (!up) {
            rc = MN_ENOMEM;
            goto cleanup;
        }
    }
    /* Phase 1, read only: the neighbours of every level. Nothing changes until all are
     * known, so an allocation failure leaves the graph as it was. */
    /* a graph of tombstones only (besides this row) leads nowhere: start afresh */
    reset = h->entry >= 0 && h->n_live - (h->state[row] == HNSW_LIVE ? 1u : 0u) == 0;
    top = h->entry < 0 || reset ? -1 : MN_MIN(level, h->max_level);
    sel = mn__malloc((size_t)(top + 1 > 0 ? top + 1 : 1) * (size_t)h->m0 * sizeof *sel);
    nsel = mn__calloc((size_t)(top + 1 > 0 ? top + 1 : 1), sizeof *nsel);
    if (!sel || !nsel) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    if (top >= 0 && !(h->n_live + h->n_dead == 1 && h->entry == (int64_t)row)) {
        const float *q = vs->f32 + (size_t)row * d;
        hit ep;
        size_t n_w;
        ep = descend(h, vs, q, (uint32_t)h->entry, h->max_level, top);
        rc = scratch_fit(&s, h, (size_t)h->ef_c);
        if (rc)
            goto cleanup;
        s.res[0] = ep;
        n_w = 1;
        for (l = top; l >= 0; l--) {
            rc = search_layer(h, vs, q, s.res, n_w, h->ef_c, l, NULL, NULL, row, &s,
                                       &n_w);
            if (rc)
                goto cleanup;
            if (n_w == 0) { /* only tombstones or itself around: keep walking from ep */
                s.res[0] = ep;
                n_w = 1;
                nsel[l] = 0;
                continue;
            }
            /* select_neighbors sorts a copy; res stays the next level's entry set */
            if (s.cand_cap < n_w) {
                hit *p = mn__realloc(s.cand, n_w * sizeof *p);
                if (!p) {
                    rc = MN_ENOMEM;
                    goto cleanup;
                }
                s.cand = p;
                s.cand_cap = n_w;
            }
            memcpy(s.cand, s.res, n_w * sizeof *s.res);
            /* m new links on every level; level 0 lists fill up to m0 with back links */
            nsel[l] = (uint32_t)select_neighbors(h, vs, s.cand, n_w, (size_t)h->m,
                                                  sel + (size_t)l * (size_t)h->m0);
        }
    }
    /* Phase 2: link. No allocation from here on. */
    if (reset) {
        for (i = 0; i < h->cap; i++) {
            if (i == row || h->state[i] == HNSW_ABSENT)
                continue;
            if (h->up[i])
                h->up_bytes -= (size_t)h->level[i] * (size_t)(h->m + 1) * sizeof **h->up;
            mn__free(h->up[i]);
            h->up[i] = NULL;
            h->links0[i * (size_t)(h->m0 + 1)] = 0;
            h->level[i] = 0;
            h->state[i] = HNSW_ABSENT;
        }
        h->n_live = h->state[row] == HNSW_LIVE;
        h->n_dead = h->state[row] == HNSW_DEAD;
        h->entry = -1;
        h->max_level = 0;
    }
    if (!fresh) {
        if (h->state[row] == HNSW_LIVE)
            unlink_node(h, vs, row); /* its vector changed: old links mislead */
        if (h->state[row] == HNSW_LIVE)
            h->n_live--;
        else
            h->n_dead--;
        for (l = 0; l <= h->level[row]; l++)
            links(h, row, l)[0] = 0;
    } else {
        h->level[row] = (uint8_t)level;
        h->up[row] = up;
        if (up)
            h->up_bytes += (size_t)level * (size_t)(h->m + 1) * sizeof *up;
        up = NULL;
    }
    h->state[row] = HNSW_LIVE;
    h->n_live++;
    for (l = 0; l <= top; l++) {
        uint32_t *ln = links(h, row, l), *sl = sel + (size_t)l * (size_t)h->m0;
        ln[0] = nsel[l];
        memcpy(ln + 1, sl, nsel[l] * sizeof *sl);
        for (i = 0; i < nsel[l]; i++)
            link_back(h, vs, sl[i], row, l);
    }
    if (h->entry < 0 || level > h->max_level) {
        h->entry = (int64_t)row;
        h->max_level = level;
    }
cleanup:
    if (rc)
        h->rng = rng0; /* a failed insert draws nothing: the next one gets the same level */
    mn__free(up);
    mn__free(sel);
    mn__free(nsel);
    mn__hnsw_scratch_release(&s);
    return rc;
}

/* Removes x from the lists of its neighbours; each neighbour that lost the link is relinked
 * among its remaining neighbours and x's (the heuristic picks). x keeps its own links. */
static void unlink_node(mn__hnsw *h, const mn__vecset *vs, uint32_t x)
{
    const mn__kernels *k = mn__kernels_best();
    size_t d = (size_t)h->dim;
    int l;
    for (l = 0; l <= h->level[x]; l++) {
        const uint32_t *xl = links(h, x, l);
        size_t mmax = (size_t)(l ? h->m : h->m0);
        uint32_t j;
        for (j = 1; j <= xl[0]; j++) {
            uint32_t u = xl[j], *ul, i;
            hit c[2 * HNSW_MAX_M0];
            const float *uv;
            size_t n = 0;
            if (h->state[u] != HNSW_LIVE)
                continue; /* tombstones are waypoints only: their links stay */
            ul = links(h, u, l);
            if (!in_list(ul, x))
                continue;
            uv = vs->f32 + (size_t)u * d;
            for (i = 1; i <= ul[0]; i++)
                if (ul[i] != x && h->state[ul[i]] == HNSW_LIVE) {
                    c[n].id = ul[i];
                    c[n++].s = k->dot_f32(uv, vs->f32 + (size_t)ul[i] * d, d);
                }
            for (i = 1; i <= xl[0]; i++) {
                uint32_t v = xl[i];
                size_t t;
                int dup = v == u || h->state[v] != HNSW_LIVE;
                for (t = 0; t < n && !dup; t++)
                    dup = c[t].id == v;
                if (dup)
                    continue;
                c[n].id = v;
                c[n++].s = k->dot_f32(uv, vs->f32 + (size_t)v * d, d);
            }
            ul[0] = (uint32_t)select_neighbors(h, vs, c, n, mmax, ul + 1);
        }
    }
}

void mn__hnsw_delete(mn__hnsw *h, const mn__vecset *vs, uint32_t row)
{
    if (row >= h->cap || h->state[row] != HNSW_LIVE || vs->dim != h->dim)
        return;
    h->state[row] = HNSW_DEAD;
    h->n_live--;
    h->n_dead++;
    unlink_node(h, vs, row);
}

/* ctx_assemble.c - lays out a context under a token budget: which candidate memories go in
 * (priority, relevance threshold, duplicates, summaries in place of their sources), in which
 * section and order, and the exact count of the final block (docs/CONTEXT.md). */
#include <stdlib.h>
#include <string.h>

#include "context.h"

#define N_SECT 7 /* sections are 1..6; index 0 unused */

static const char *const headers[N_SECT] = {
    NULL,
    "System notes:\n",
    "User preferences:\n",
    "Known facts about the user:\n",
    "Relevant memories:\n",
    "Summary of earlier conversations:\n",
    "Current question:\n",
};

/* The caller's mn_context and the arena that holds everything it points to, freed as one. */
typedef struct holder {
    mn_context c;
    mn__arena arena;
} holder;

typedef struct cand {
    const mn__ctx_item *it;
    mn_context_section sec;
    int prio;          /* 1 standing (preferences), 2 facts and system notes, 3 the rest */
    size_t order;      /* position in priority order: larger is dropped first */
    char *line;        /* "- [8 May 2023] Caroline: text\n" */
    size_t line_len;
    size_t n_tokens;
    mn__ctx_sig sig;
    bool chosen;
} cand;

typedef struct asm_state {
    const mn__ctx_req *req;
    mn__arena *a;           /* the result's arena */
    cand *c;                /* eligible candidates, in priority order */
    size_t n;
    size_t sect_tokens[N_SECT]; /* header plus the blank line closing the section */
    size_t n_in[N_SECT];        /* chosen items per section */
    size_t used;                /* additive estimate of the block's tokens */
    mn__buf block;
    size_t question_at;         /* offset of the question section in block */
} asm_state;

static int count(const mn__ctx_req *req, const char *s, size_t len, size_t *out)
{
    if (!req->bpe) {
        *out = mn__bpe_estimate(s, len);
        return MN_OK;
    }
    return mn__bpe_count(req->bpe, s, len, out);
}

static mn_context_section section_of(const mn__ctx_item *it)
{
    if (it->scope == MN_SCOPE_SYSTEM)
        return MN_SECTION_SYSTEM; /* never mixed with the user's own memories */
    switch (it->kind) {
    case MN_KIND_PREFERENCE:
        return MN_SECTION_PREFERENCES;
    case MN_KIND_FACT:
        return MN_SECTION_FACTS;
    case MN_KIND_SUMMARY:
        return MN_SECTION_SUMMARIES;
    default:
        return MN_SECTION_MEMORIES;
    }
}

static unsigned include_bit(mn_context_section s)
{
    switch (s) {
    case MN_SECTION_SYSTEM:
        return MN_CONTEXT_SYSTEM;
    case MN_SECTION_PREFERENCES:
        return MN_CONTEXT_PREFERENCES;
    case MN_SECTION_FACTS:
        return MN_CONTEXT_FACTS;
    case MN_SECTION_SUMMARIES:
        return MN_CONTEXT_SUMMARIES;
    default:
        return MN_CONTEXT_MEMORIES;
    }
}

/* Preferences are the user's standing instructions (diet, language, tone): they apply to
 * any question, so they come first and skip the relevance threshold. Facts and the tenant's
 * notes come next; summaries and messages compete on score. */
static int priority_of(const mn__ctx_item *it)
{
    if (it->kind == MN_KIND_PREFERENCE)
        return 1;
    if (it->kind == MN_KIND_FACT || it->scope == MN_SCOPE_SYSTEM)
        return 2;
    return 3;
}

static int cmp_priority(const void *pa, const void *pb)
{
    const cand *x = pa, *y = pb;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->it->score != y->it->score)
        return x->it->score > y->it->score ? -1 : 1;
    if (x->it->created_at_ms != y->it->created_at_ms) /* newer first among equals */
        return x->it->created_at_ms > y->it->created_at_ms ? -1 : 1;
    return x->it->id < y->it->id ? -1 : x->it->id > y->it->id;
}

/* Appends s with newlines, tabs and other control bytes turned into single spaces, and the
 * ends trimmed: one memory is one line, and a memory cannot forge a section header. */
static int put_flat(mn__buf *b, const char *s, size_t len)
{
    size_t i, start = b->len;
    bool space = false;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            space = b->len > start;
            continue;
        }
        if (space && mn__buf_putc(b, ' '))
            return MN_ENOMEM;
        space = false;
        if (mn__buf_putc(b, (char)ch))
            return MN_ENOMEM;
    }
    return MN_OK;
}

/* Dated sections show "[8 May 2023]" before each line; a summary whose text already opens
 * with its date (compression writes "8 May 2023 to 9 May 2023: ...") is not dated twice. */
static int make_line(asm_state *st, cand *c, mn__buf *tmp)
{
    const mn__ctx_item *it = c->it;
    char date[32];
    size_t text_at;
    bool dated = c->sec == MN_SECTION_FACTS || c->sec == MN_SECTION_MEMORIES ||
                 c->sec == MN_SECTION_SUMMARIES;
    int rc;

    tmp->len = 0;
    if (mn__buf_puts(tmp, "- "))
        return MN_ENOMEM;
    mn__fmt_date_human(it->created_at_ms, date);
    if (dated && c->sec == MN_SECTION_SUMMARIES && !strncmp(it->text, date, strlen(date)))
        dated = false;
    if (dated && mn__buf_printf(tmp, "[%s] ", date))
        return MN_ENOMEM;
    if (it->speaker && it->speaker[0]) {
        if (put_flat(tmp, it->speaker, strlen(it->speaker)) || mn__buf_puts(tmp, ": "))
            return MN_ENOMEM;
    }
    text_at = tmp->len;
    if (put_flat(tmp, it->text, strlen(it->text)))
        return MN_ENOMEM;
    if (tmp->len == text_at)
        return MN_ENOTFOUND; /* nothing to show */
    if ((rc = mn__ctx_sig_make(st->a, tmp->data + text_at, tmp->len - text_at, &c->sig)))
        return rc;
    if (mn__buf_putc(tmp, '\n'))
        return MN_ENOMEM;
    c->line = mn__arena_strndup(st->a, tmp->data, tmp->len);
    if (!c->line)
        return MN_ENOMEM;
    c->line_len = tmp->len;
    return count(st->req, c->line, c->line_len, &c->n_tokens);
}

static bool sources_have(const mn__ctx_item *summary, mn_id id)
{
    size_t i;
    for (i = 0; i < summary->n_sources; i++)
        if (summary->sources[i] == id)
            return true;
    return false;
}

static void choose(asm_state *st, cand *c, bool on)
{
    size_t cost = c->n_tokens;
    if (on ? st->n_in[c->sec]++ == 0 : --st->n_in[c->sec] == 0)
        cost += st->sect_tokens[c->sec];
    c->chosen = on;
    if (on)
        st->used += cost;
    else
        st->used -= cost;
}

/* The greedy pass over candidates in priority order; an item that does not fit is passed
 * over and smaller ones after it still get their chance. */
static void select_greedy(asm_state *st, mn_context *ctx)
{
    size_t i, j, budget = st->req->max_tokens;
    for (i = 0; i < st->n; i++) {
        cand *c = &st->c[i];
        size_t cost = c->n_tokens + (st->n_in[c->sec] ? 0 : st->sect_tokens[c->sec]);
        size_t freed = 0, n_mem = st->n_in[MN_SECTION_MEMORIES], n_covered = 0;
        bool dup = false;
        for (j = 0; j < st->n && !dup; j++) {
            const cand *o = &st->c[j];
            if (!o->chosen)
                continue;
            if (o->sec == MN_SECTION_SUMMARIES && c->sec == MN_SECTION_MEMORIES &&
                sources_have(o->it, c->it->id))
                dup = true; /* its summary stands in for it */
            else if (mn__ctx_sig_near(&o->sig, &c->sig))
                dup = true;
        }
        if (dup) {
            ctx->n_duplicates++;
            continue;
        }
        if (c->sec == MN_SECTION_SUMMARIES) { /* chosen messages it covers make room */
            for (j = 0; j < st->n; j++) {
                const cand *o = &st->c[j];
                if (o->chosen && o->sec == MN_SECTION_MEMORIES && sources_have(c->it, o->it->id)) {
                    freed += o->n_tokens;
                    n_covered++;
                }
            }
            if (n_covered && n_covered == n_mem)
                freed += st->sect_tokens[MN_SECTION_MEMORIES];
        }
        if (st->used - freed + cost > budget) {
            ctx->n_over_budget++;
            continue;
        }
        for (j = 0; n_covered && j < st->n; j++) {
            cand *o = &st->c[j];
            if (o->chosen && o->sec == MN_SECTION_MEMORIES && sources_have(c->it, o->it->id)) {
                choose(st, o, false);
                ctx->n_duplicates++;
            }
        }
        choose(st, c, true);
    }
}

static int cmp_line_order(const void *pa, const void *pb)
{
    const cand *x = *(const cand *const *)pa, *y = *(const cand *const *)pb;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    /* dated sections read as a timeline; the others keep their priority order */
    if (x->sec == MN_SECTION_FACTS || x->sec == MN_SECTION_MEMORIES ||
        x->sec == MN_SECTION_SUMMARIES) {
        if (x->it->created_at_ms != y->it->created_at_ms)
            return x->it->created_at_ms < y->it->created_at_ms ? -1 : 1;
        if (x->it->id != y->it->id)
            return x->it->id < y->it->id ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Writes the block of the chosen items into st->block; out_sorted gets them in order. */
static int render(asm_state *st, cand **sorted, size_t *out_n)
{
    size_t i, n = 0;
    int s;
    for (i = 0; i < st->n; i++)
        if (st->c[i].chosen)
            sorted[n++] = &st->c[i];
    if (n > 1)
        qsort(sorted, n, sizeof *sorted, cmp_line_order);
    st->block.len = 0;
    for (i = 0, s = 0; i < n; i++) {
        if ((int)sorted[i]->sec != s) {
            if (s && mn__buf_putc(&st->block, '\n'))
                return MN_ENOMEM;
            s = (int)sorted[i]->sec;
            if (mn__buf_puts(&st->block, headers[s]))
                return MN_ENOMEM;
        }
        if (mn__buf_append(&st->block, sorted[i]->line, sorted[i]->line_len))
            return MN_ENOMEM;
    }
    if (s && mn__buf_putc(&st->block, '\n'))
        return MN_ENOMEM;
    st->question_at = st->block.len;
    if (mn__buf_puts(&st->block, headers[MN_SECTION_QUESTION]) ||
        mn__buf_append(&st->block, st->req->query, strlen(st->req->query)))
        return MN_ENOMEM;
    *out_n = n;
    return MN_OK;
}

static int fill_result(asm_state *st, cand **sorted, size_t n, size_t n_tokens,
                       mn_context *ctx)
{
    mn_context_item *items = NULL;
    size_t i, mlen = st->question_at;
    char *prompt = mn__arena_strndup(st->a, st->block.data, st->block.len);
    if (!prompt)
        return MN_ENOMEM;
    while (mlen && prompt[mlen - 1] == '\n')
        mlen--;
    ctx->memories = mn__arena_strndup(st->a, prompt, mlen);
    if (n) {
        items = mn__arena_alloc(st->a, n * sizeof *items);
        if (!items)
            return MN_ENOMEM;
    }
    if (!ctx->memories)
        return MN_ENOMEM;
    for (i = 0; i < n; i++) {
        const mn__ctx_item *it = sorted[i]->it;
        mn_context_item *o = &items[i];
        memset(o, 0, sizeof *o);
        o->id = it->id;
        o->kind = it->kind ? it->kind : MN_KIND_MESSAGE;
        o->scope = it->scope ? it->scope : MN_SCOPE_USER;
        o->section = sorted[i]->sec;
        o->score = it->ranked ? it->score : 0.0;
        o->relevance = it->ranked ? it->relevance : 0.0;
        o->created_at_ms = it->created_at_ms;
        o->text = mn__arena_strdup(st->a, it->text);
        o->n_tokens = sorted[i]->n_tokens;
        if (!o->text)
            return MN_ENOMEM;
    }
    ctx->prompt = prompt;
    ctx->prompt_len = st->block.len;
    ctx->memories_len = mlen;
    ctx->items = items;
    ctx->n_items = n;
    ctx->n_tokens = n_tokens;
    ctx->max_tokens = st->req->max_tokens;
    ctx->estimated = st->req->bpe == NULL;
    ctx->encoding = st->req->bpe ? st->req->encoding : "estimate";
    return MN_OK;
}

/* Eligible candidates (section wanted, relevant, something to show) in priority order. */
static int gather(asm_state *st, mn_context *ctx)
{
    const mn__ctx_req *req = st->req;
    unsigned include = req->include ? req->include : MN_CONTEXT_ALL;
    mn__buf tmp;
    double best[2] = {0, 0}; /* user scope, system scope */
    size_t i;
    int rc = MN_OK;

    st->c = mn__arena_alloc(st->a, (req->n_items ? req->n_items : 1) * sizeof *st->c);
    if (!st->c)
        return MN_ENOMEM;
    /* The question is about a scope's memories only when its best candidate reaches
     * min_score; then each candidate needs a share of it (docs/CONTEXT.md). */
    for (i = 0; i < req->n_items; i++) {
        const mn__ctx_item *it = &req->items[i];
        int sc = it->scope == MN_SCOPE_SYSTEM;
        if (it->text && it->kind != MN_KIND_PREFERENCE &&
            (include & include_bit(section_of(it))) && it->relevance > best[sc])
            best[sc] = it->relevance;
    }
    for (i = 0; i < req->n_items; i++) {
        const mn__ctx_item *it = &req->items[i];
        cand *c = &st->c[st->n];
        int sc = it->scope == MN_SCOPE_SYSTEM;
        if (!it->text)
            continue;
        memset(c, 0, sizeof *c);
        c->it = it;
        c->sec = section_of(it);
        c->prio = priority_of(it);
        if (!(include & include_bit(c->sec)))
            continue;
        if (it->kind != MN_KIND_PREFERENCE && req->min_score > 0 &&
            (best[sc] < req->min_score || it->relevance < req->min_score * MN__CTX_FLOOR_SHARE)) {
            ctx->n_below_score++;
            continue;
        }
        st->n++;
    }
    if (st->n > 1)
        qsort(st->c, st->n, sizeof *st->c, cmp_priority);
    mn__buf_init(&tmp, 0);
    for (i = 0; i < st->n && rc == MN_OK; i++) {
        st->c[i].order = i;
        rc = make_line(st, &st->c[i], &tmp);
        if (rc == MN_ENOTFOUND) { /* only spaces: drop it, keep the order dense */
            memmove(&st->c[i], &st->c[i + 1], (st->n - i - 1) * sizeof *st->c);
            st->n--;
            i--;
            rc = MN_OK;
        }
    }
    mn__buf_release(&tmp);
    return rc;
}

int mn__ctx_assemble(const mn__ctx_req *req, mn_context **out, mn_err *err)
{
    asm_state st;
    holder *h = NULL;
    cand **sorted = NULL;
    size_t q_tokens = 0, n_tokens = 0, n_sorted = 0, i;
    int rc, s;

    *out = NULL;
    if (!req || !req->query || !req->query[0])
        return mn__err_set(err, MN_EINVAL, "pass the user's current question",
                           "context: the question is missing or empty");
    if (req->max_tokens == 0)
        return mn__err_set(err, MN_EINVAL, "use a budget of 1 token or more",
                           "context: max_tokens is 0");
    memset(&st, 0, sizeof st);
    st.req = req;
    mn__buf_init(&st.block, 0);
    h = mn__calloc(1, sizeof *h);
    if (!h) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    mn__arena_init(&h->arena, 0);
    h->c.priv_ = h;
    st.a = &h->arena;

    /* the question section is the block of a context with no memory */
    if ((rc = render(&st, NULL, &n_sorted)) || (rc = count(req, st.block.data, st.block.len,
                                                           &q_tokens)))
        goto cleanup;
    if (q_tokens > req->max_tokens) {
        rc = mn__err_set(err, MN_ETOOBIG,
                         "raise max_tokens or send a shorter question",
                         "context: the question alone is %zu tokens (%s), over the budget of "
                         "%zu tokens",
                         q_tokens, req->bpe ? req->encoding : "estimate", req->max_tokens);
        goto cleanup;
    }
    if ((rc = gather(&st, &h->c)))
        goto cleanup;
    for (s = 1; s < MN_SECTION_QUESTION; s++) {
        size_t a = 0, b = 0;
        if ((rc = count(req, headers[s], strlen(headers[s]), &a)) || (rc = count(req, "\n", 1, &b)))
            goto cleanup;
        st.sect_tokens[s] = a + b;
    }
    st.used = q_tokens;
    select_greedy(&st, &h->c);
    sorted = mn__malloc((st.n ? st.n : 1) * sizeof *sorted);
    if (!sorted) {
        rc = MN_ENOMEM;
        goto cleanup;
    }
    /* The sum of parts is an estimate of the whole (BPE pieces may join across lines):
     * count the real block and drop the lowest-priority item until it fits. */
    for (;;) {
        cand *last = NULL;
        if ((rc = render(&st, sorted, &n_sorted)) ||
            (rc = count(req, st.block.data, st.block.len, &n_tokens)))
            goto cleanup;
        if (n_tokens <= req->max_tokens)
            break;
        for (i = 0; i < st.n; i++)
            if (st.c[i].chosen)
                last = &st.c[i];
        if (!last) { /* cannot happen: the bare question was counted to fit */
            rc = mn__err_set(err, MN_EINTERNAL, NULL, "context: bare question over budget");
            goto cleanup;
        }
        choose(&st, last, false);
        h->c.n_over_budget++;
    }
    h->c.n_candidates = req->n_items;
    if ((rc = fill_result(&st, sorted, n_sorted, n_tokens, &h->c)))
        goto cleanup;
    *out = &h->c;
    h = NULL;
cleanup:
    if (rc == MN_ENOMEM)
        mn__err_set(err, rc, NULL, "context: out of memory laying out %zu memories",
                    req->n_items);
    if (h) {
        mn__arena_release(&h->arena);
        mn__free(h);
    }
    mn__free(sorted);
    mn__buf_release(&st.block);
    return rc;
}

void mn_context_free(mn_context *c)
{
    holder *h;
    if (!c)
        return;
    h = c->priv_;
    mn__arena_release(&h->arena);
    mn__free(h);
}

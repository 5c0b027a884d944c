/* results.c - mn_results: an array of hits whose strings live in one arena, freed at once. */
#include <string.h>

#include "memory_int.h"

typedef struct results_priv {
    mn__arena arena;
} results_priv;

int mn__results_new(size_t n, mn_results **out)
{
    mn_results *r = mn__calloc(1, sizeof *r);
    results_priv *pv = mn__calloc(1, sizeof *pv);
    if (!r || !pv)
        goto fail;
    mn__arena_init(&pv->arena, 8192);
    r->priv_ = pv;
    r->note = "";
    if (n) {
        r->hits = mn__arena_alloc(&pv->arena, n * sizeof *r->hits);
        if (!r->hits)
            goto fail;
        memset(r->hits, 0, n * sizeof *r->hits);
    }
    r->n = n;
    *out = r;
    return MN_OK;
fail:
    if (pv)
        mn__arena_release(&pv->arena);
    mn__free(pv);
    mn__free(r);
    return MN_ENOMEM;
}

mn__arena *mn__results_arena(mn_results *r)
{
    return &((results_priv *)r->priv_)->arena;
}

void mn_results_free(mn_results *r)
{
    if (!r)
        return;
    if (r->priv_) {
        mn__arena_release(&((results_priv *)r->priv_)->arena);
        mn__free(r->priv_);
    }
    mn__free(r);
}

int mn__results_set_row(mn_results *res, size_t i, const mn__row *r, const char *vec_model)
{
    mn__arena *a = mn__results_arena(res);
    mn_memory *m = &res->hits[i].mem;
    m->id = r->id;
    m->scope = r->scope;
    m->kind = r->kind;
    m->role = r->role;
    m->status = r->status;
    m->created_at_ms = r->created_at_ms;
    m->updated_at_ms = r->updated_at_ms;
    m->superseded_by = r->superseded_by;
    m->embedding_pending = !r->embed_model || !vec_model || strcmp(r->embed_model, vec_model);
    m->tenant = mn__arena_strdup(a, r->tenant);
    m->user_id = mn__arena_strdup(a, r->user_id);
    m->session_id = mn__arena_strdup(a, r->session_id);
    m->text = mn__arena_strdup(a, r->text);
    m->metadata_json = mn__arena_strdup(a, r->metadata_json);
    if ((r->tenant && !m->tenant) || (r->text && !m->text) ||
        (r->metadata_json && !m->metadata_json) || (r->user_id && !m->user_id) ||
        (r->session_id && !m->session_id))
        return MN_ENOMEM;
    m->n_sources = r->n_sources;
    m->sources = NULL;
    if (r->n_sources) {
        mn_id *s = mn__arena_alloc(a, r->n_sources * sizeof *s);
        if (!s)
            return MN_ENOMEM;
        memcpy(s, r->sources, r->n_sources * sizeof *s);
        m->sources = s;
    }
    return MN_OK;
}

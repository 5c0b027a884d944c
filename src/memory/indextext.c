/* indextext.c - what the engine indexes for a row (the stored text stays as given), query
 * terms, the tokenizer pool, and the embedding call. */
#include <cjson/cJSON.h>
#include <string.h>

#include "memory_int.h"

/* The speaker of a message: metadata.speaker when present, else the role. */
static int speaker_of(const mn__row *r, char *out, size_t cap)
{
    out[0] = '\0';
    if (r->metadata_json && strstr(r->metadata_json, "\"speaker\"")) {
        cJSON *j = cJSON_Parse(r->metadata_json);
        const cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "speaker") : NULL;
        if (cJSON_IsString(s) && s->valuestring[0]) {
            size_t n = strlen(s->valuestring);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, s->valuestring, n);
            out[n] = '\0';
        }
        cJSON_Delete(j);
    }
    return out[0] != '\0';
}

static int first_stem(void *ctx, const mn__word *w)
{
    if (w->is_stop)
        return 0;
    *(uint64_t *)ctx = mn__hash64(w->stem, w->stem_len, 7);
    return 1; /* stop after the first word */
}

uint64_t mn__speaker_key(mn__tok *tok, const mn__row *r)
{
    char who[96];
    uint64_t key = 0;
    if (r->kind != MN_KIND_MESSAGE || !speaker_of(r, who, sizeof who))
        return 0;
    mn__tokenize(tok, who, strlen(who), first_stem, &key);
    return key;
}

uint64_t mn__term_key(const mn__term *t)
{
    return mn__hash64(t->s, t->len, 7);
}

int mn__index_text(const mn_db *db, const mn__row *r, mn__buf *b)
{
    char who[96];
    int rc = MN_OK;
    b->len = 0;
    if (db->rank.index_speaker && r->kind == MN_KIND_MESSAGE && speaker_of(r, who, sizeof who))
        rc = mn__buf_printf(b, "%s: ", who);
    if (!rc)
        rc = mn__buf_puts(b, r->text);
    return rc;
}

void mn__terms_init(mn__terms *t)
{
    t->v = NULL;
    t->n = t->cap = 0;
    mn__arena_init(&t->arena, 4096);
}

void mn__terms_release(mn__terms *t)
{
    mn__free(t->v);
    mn__arena_release(&t->arena);
    t->v = NULL;
    t->n = t->cap = 0;
}

typedef struct collect {
    mn__terms *out;
    size_t n_stop_from; /* first term that is a stopword, for the all-stopwords fallback */
    bool keep_stop;
    int rc;
} collect;

static int push_term(mn__terms *t, const char *s, size_t len)
{
    char *copy;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        mn__term *nv = mn__realloc(t->v, ncap * sizeof *nv);
        if (!nv)
            return MN_ENOMEM;
        t->v = nv;
        t->cap = ncap;
    }
    copy = mn__arena_strndup(&t->arena, s, len);
    if (!copy)
        return MN_ENOMEM;
    t->v[t->n].s = copy;
    t->v[t->n].len = (uint32_t)len;
    t->n++;
    return MN_OK;
}

static int on_word(void *ctx, const mn__word *w)
{
    collect *c = ctx;
    if (w->is_stop && !c->keep_stop)
        return 0;
    c->rc = push_term(c->out, w->stem, w->stem_len);
    return c->rc;
}

int mn__terms_of(mn__tok *tok, const char *text, size_t len, bool keep_stop_if_all,
                 mn__terms *out)
{
    collect c = {out, 0, false, 0};
    size_t start = out->n;
    int rc = mn__tokenize(tok, text, len, on_word, &c);
    if (rc)
        return c.rc ? c.rc : rc;
    if (out->n == start && keep_stop_if_all) {
        c.keep_stop = true;
        rc = mn__tokenize(tok, text, len, on_word, &c);
        if (rc)
            return c.rc ? c.rc : rc;
    }
    return MN_OK;
}

mn__tok *mn__tok_acquire(mn_db *db)
{
    mn__tok *t = NULL;
    pthread_mutex_lock(&db->tok_mu);
    if (db->n_tok_pool > 0)
        t = db->tok_pool[--db->n_tok_pool];
    pthread_mutex_unlock(&db->tok_mu);
    if (!t && mn__tok_new(&t) != MN_OK)
        return NULL;
    return t;
}

void mn__tok_release(mn_db *db, mn__tok *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&db->tok_mu);
    if (db->n_tok_pool < (int)MN_ARRAY_LEN(db->tok_pool)) {
        db->tok_pool[db->n_tok_pool++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&db->tok_mu);
    if (t)
        mn__tok_free(t);
}

int mn__embed_text(mn_db *db, const char *text, size_t len, float *out, mn_err *err)
{
    if (!db->emb)
        return mn__err_set(err, MN_ENOMODEL, "run scripts/setup to build the model file",
                           "vector search is off: %s", db->vector_note);
    {
        int64_t t0 = mn__mono_ns();
        int rc = db->emb->embed(db->emb, text, len, out, err);
        mn__embed_account(mn__mono_ns() - t0); /* mn_db_stats: embedder latency */
        return rc;
    }
}

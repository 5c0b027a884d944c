/* compact_summary.c - the text of a cluster's summary. Offline: an extractive summary, the
 * sentences most central to the cluster (cosine to its mean vector) that fit a token budget
 * (BPE count), put back in time order with their speakers. With an LLM: a summary asked for
 * as JSON and checked against a schema; a bad reply is an error, never a summary. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../context/context.h"
#include "../llm/llm.h"
#include "memory_int.h"

#define MAX_SENT_BYTES 600 /* longer runs without a full stop are cut here */

size_t mn__count_tokens(mn_db *db, const char *s, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&db->bpe_mu);
    if (!db->bpe_tried) {
        db->bpe_tried = true;
        if (mn__bpe_open("cl100k_base", NULL, &db->bpe, NULL) != MN_OK)
            db->bpe = NULL; /* the estimate stands in (an upper bound for prose) */
    }
    pthread_mutex_unlock(&db->bpe_mu);
    if (mn__bpe_count_or_estimate(db->bpe, s, len, &n, NULL) != MN_OK)
        n = mn__bpe_estimate(s, len);
    return n;
}

typedef struct sent {
    size_t msg;          /* index in the cluster */
    size_t off, len;     /* in the message's text */
    double score;
    float *vec;          /* NULL without a local embedder */
    size_t words;
} sent;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends the sentences of text to *v (grown in a). */
static int split(mn__arena *a, size_t msg, const char *t, sent **v, size_t *n, size_t *cap)
{
    size_t i = 0, len = strlen(t);
    while (i < len) {
        size_t s, e;
        while (i < len && is_space(t[i]))
            i++;
        s = i;
        while (i < len && i - s < MAX_SENT_BYTES) {
            char c = t[i++];
            if (c == '\n')
                break;
            if ((c == '.' || c == '!' || c == '?') && (i == len || is_space(t[i])))
                break;
        }
        while (i < len && i - s >= MAX_SENT_BYTES && ((unsigned char)t[i] & 0xC0) == 0x80)
            i++; /* never cut inside a UTF-8 sequence */
        e = i;
        while (e > s && is_space(t[e - 1]))
            e--;
        if (e == s)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            sent *nv = mn__arena_alloc(a, nc * sizeof *nv);
            if (!nv)
                return MN_ENOMEM;
            if (*n)
                memcpy(nv, *v, *n * sizeof *nv);
            *v = nv;
            *cap = nc;
        }
        memset(&(*v)[*n], 0, sizeof **v);
        (*v)[*n].msg = msg;
        (*v)[*n].off = s;
        (*v)[*n].len = e - s;
        (*n)++;
    }
    return MN_OK;
}

static size_t count_words(const char *s, size_t n)
{
    size_t i, w = 0;
    bool in = false;
    for (i = 0; i < n; i++) {
        bool sp = is_space(s[i]);
        if (!sp && !in)
            w++;
        in = !sp;
    }
    return w;
}

static double dotf(const float *a, const float *b, int dim)
{
    double d = 0;
    int j;
    for (j = 0; j < dim; j++)
        d += (double)a[j] * b[j];
    return d;
}

/* Who said message m, for the summary text. */
static const char *who(const mn__cmsg *m)
{
    if (m->speaker && m->speaker[0])
        return m->speaker;
    return m->role == MN_ROLE_ASSISTANT ? "Assistant" : m->role == MN_ROLE_USER ? "User" : NULL;
}

int mn__summary_header(const mn__cmsg *m, size_t n, mn__buf *out)
{
    char d0[32], d1[32];
    mn__fmt_date_human(m[0].created_at_ms, d0);
    mn__fmt_date_human(m[n - 1].created_at_ms, d1);
    return strcmp(d0, d1) ? mn__buf_printf(out, "%s to %s: ", d0, d1)
                          : mn__buf_printf(out, "%s: ", d0);
}

static int cmp_pick(const void *a, const void *b)
{
    const sent *x = *(const sent *const *)a, *y = *(const sent *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->msg != y->msg)
        return x->msg < y->msg ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_time(const void *a, const void *b)
{
    const sent *x = *(const sent *const *)a, *y = *(const sent *const *)b;
    if (x->msg != y->msg)
        return x->msg < y->msg ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

int mn__summarize_extractive(mn_db *db, const mn__eprof *pf, const mn__cmsg *m, size_t n,
                             const float *centroid, int budget, mn__buf *out, mn_err *err)
{
    mn__arena a;
    sent *v = NULL, **order = NULL, **picked = NULL;
    size_t n_s = 0, cap = 0, i, j, n_p = 0, used;
    bool local = pf->emb && !pf->emb->remote;
    int dim = pf->emb ? pf->emb->dim : 0, rc = MN_OK;
    mn__buf line;

    mn__arena_init(&a, 65536);
    mn__buf_init(&line, 0);
    for (i = 0; i < n && rc == MN_OK; i++)
        rc = split(&a, i, m[i].text, &v, &n_s, &cap);
    if (rc)
        goto oom;
    order = mn__arena_alloc(&a, (n_s ? n_s : 1) * sizeof *order);
    picked = mn__arena_alloc(&a, (n_s ? n_s : 1) * sizeof *picked);
    if (!order || !picked)
        goto oom;
    for (i = 0; i < n_s; i++) {
        sent *s = &v[i];
        const char *t = m[s->msg].text + s->off;
        double c = 0, lenf;
        s->words = count_words(t, s->len);
        if (local && centroid) {
            s->vec = mn__arena_alloc(&a, (size_t)dim * sizeof *s->vec);
            if (!s->vec)
                goto oom;
            /* sentences are embedded locally: cheap, and finer than whole messages */
            if (pf->emb->embed(pf->emb, t, s->len, s->vec, NULL) != MN_OK)
                memset(s->vec, 0, (size_t)dim * sizeof *s->vec);
            c = dotf(s->vec, centroid, dim);
        } else if (centroid && m[s->msg].vec) {
            c = dotf(m[s->msg].vec, centroid, dim);
        }
        /* "Thanks!" and "Wow, cool" are central to nothing: short sentences weigh less */
        lenf = s->words < 3 ? 0.3 : s->words < 6 ? 0.7 : 1.0;
        s->score = c * lenf;
        order[i] = s;
    }
    qsort(order, n_s, sizeof *order, cmp_pick);
    rc = mn__summary_header(m, n, out);
    if (rc)
        goto oom;
    used = mn__count_tokens(db, out->data, out->len);
    for (i = 0; i < n_s; i++) {
        sent *s = order[i];
        size_t t;
        bool dup = false;
        for (j = 0; j < n_p && s->vec; j++)
            if (picked[j]->vec && dotf(s->vec, picked[j]->vec, dim) > 0.92)
                dup = true; /* says what a chosen sentence says */
        if (dup)
            continue;
        line.len = 0;
        rc = mn__buf_printf(&line, "%s%s%.*s ", who(&m[s->msg]) ? who(&m[s->msg]) : "",
                            who(&m[s->msg]) ? ": " : "", (int)s->len, m[s->msg].text + s->off);
        if (rc)
            goto oom;
        t = mn__count_tokens(db, line.data, line.len);
        if (used + t > (size_t)budget && n_p > 0)
            continue; /* a shorter one further down may still fit */
        if (used + t > (size_t)budget && n_p == 0 && s->len > 40) {
            /* not even the best sentence fits: keep its start */
            size_t keep = (size_t)budget * 3;
            if (keep < s->len) {
                while (keep > 0 && ((unsigned char)m[s->msg].text[s->off + keep] & 0xC0) == 0x80)
                    keep--;
                s->len = keep;
            }
        }
        picked[n_p++] = s;
        used += t;
        if (used >= (size_t)budget)
            break;
    }
    qsort(picked, n_p, sizeof *picked, cmp_time);
    for (i = 0; i < n_p; i++) {
        const sent *s = picked[i];
        const char *w = who(&m[s->msg]);
        bool same = i > 0 && picked[i - 1]->msg == s->msg;
        bool same_spk = i > 0 && w && who(&m[picked[i - 1]->msg]) &&
                        !strcmp(w, who(&m[picked[i - 1]->msg]));
        if (i && (rc = mn__buf_putc(out, ' ')) != MN_OK)
            goto oom;
        if (w && !same && !same_spk && (rc = mn__buf_printf(out, "%s: ", w)) != MN_OK)
            goto oom;
        if ((rc = mn__buf_append(out, m[s->msg].text + s->off, s->len)) != MN_OK)
            goto oom;
    }
    goto cleanup;
oom:
    rc = mn__err_set(err, rc ? rc : MN_ENOMEM, NULL, "out of memory summarizing %zu messages",
                     n);
cleanup:
    mn__buf_release(&line);
    mn__arena_release(&a);
    return rc;
}

/* ---- with the LLM -------------------------------------------------------------------------*/

static const char *SYSTEM_PROMPT =
    "You compress an excerpt of a conversation into a memory for later retrieval. Write a "
    "short summary in the third person that keeps every concrete detail: names, places, "
    "dates, numbers, preferences, plans, decisions. No commentary. Reply with a JSON object "
    "{\"summary\": \"...\"}.";

int mn__summarize_llm(mn_db *db, const mn__cmsg *m, size_t n, int budget, mn__buf *out,
                      mn_err *err)
{
    mn__buf user, schema;
    cJSON *reply = NULL;
    const cJSON *s;
    char d[32];
    size_t i;
    int rc;

    mn__buf_init(&user, (size_t)1 << 20);
    mn__buf_init(&schema, 0);
    rc = mn__buf_puts(&user, "Conversation excerpt:\n");
    for (i = 0; i < n && rc == MN_OK; i++) {
        mn__fmt_date_human(m[i].created_at_ms, d);
        rc = mn__buf_printf(&user, "[%s] %s%s%s\n", d, who(&m[i]) ? who(&m[i]) : "",
                            who(&m[i]) ? ": " : "", m[i].text);
    }
    if (rc == MN_OK)
        rc = mn__buf_printf(&user, "\nAt most %d words.", budget * 3 / 4);
    /* the schema bounds the length too: a runaway answer is refused, not stored */
    if (rc == MN_OK)
        rc = mn__buf_printf(&schema, "{\"type\":\"object\",\"required\":[\"summary\"],"
                                     "\"additionalProperties\":false,\"properties\":{"
                                     "\"summary\":{\"type\":\"string\",\"minLength\":1,"
                                     "\"maxLength\":%d}}}",
                            budget * 8);
    if (rc) {
        rc = mn__err_set(err, rc, NULL, "cannot build the summary request (%zu messages)", n);
        goto cleanup;
    }
    rc = mn__llm_json(db->llm, SYSTEM_PROMPT, user.data, "cluster_summary", schema.data, &reply,
                      err);
    if (rc)
        goto cleanup;
    s = cJSON_GetObjectItemCaseSensitive(reply, "summary");
    rc = mn__summary_header(m, n, out);
    if (rc == MN_OK)
        rc = mn__buf_puts(out, s->valuestring);
    if (rc == MN_OK && !mn__utf8_valid(out->data, out->len, NULL))
        rc = mn__err_set(err, MN_EPROVIDER, NULL, "LLM summary is not valid UTF-8");
cleanup:
    cJSON_Delete(reply);
    mn__buf_release(&user);
    mn__buf_release(&schema);
    return rc;
}

/* extract.c - work that follows a committed add: preferences and facts extracted from the
 * user's messages (rules inline: they cost microseconds; the LLM on a background thread, so
 * that no add waits on it), each stored as a `preference` or `fact` memory whose source is
 * the message. A newer statement on the same subject supersedes the older one: status
 * superseded, superseded_by set, the old version kept in history. Then the compaction
 * trigger. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../llm/llm.h"
#include "memory_int.h"

#define MAX_FACTS 8
#define MAX_EXISTING 2000  /* active statements of one user read to find the subject */
#define QUEUE_MAX 10000    /* messages waiting for the LLM; past it they get rules only */
#define N_STRIPES 16

/* Statements of one user are written one message at a time, so that two adds cannot both
 * miss each other's statement on the same subject. */
static pthread_mutex_t stripes[N_STRIPES] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *stripe_of(const mn__pkey *k)
{
    uint64_t h = mn__hash64(k->tenant, strlen(k->tenant), 7);
    h ^= mn__hash64(k->user_id, strlen(k->user_id), h);
    return &stripes[h % N_STRIPES];
}

/* The source message of a statement (borrowed). */
typedef struct src {
    mn__pkey k;
    mn_id id;
    const char *session_id;
    int64_t created_at_ms;
} src;

typedef struct old {
    mn_id id;
    int64_t created;
    const char *subject;
    const char *text;
} old;

static int supersede(mn_db *db, const mn__pkey *k, mn_id id, mn_id by)
{
    mn__row_patch rp;
    int rc;
    memset(&rp, 0, sizeof rp);
    rp.status = MN_STATUS_SUPERSEDED;
    rp.superseded_by = by;
    rc = db->sops->update(db->store, k, id, &rp, NULL);
    if (rc == MN_OK)
        mn__part_reindex(db, k, id);
    return rc == MN_ENOTFOUND ? MN_OK : rc;
}

/* Active statements of the user, with their subjects. */
static int read_existing(mn_db *db, const mn__pkey *k, mn__arena *a, old **out, size_t *out_n)
{
    mn_filter f;
    mn__row *rows = NULL;
    size_t n = 0, i, m = 0;
    int64_t total = 0;
    old *v;
    int rc;
    mn_filter_init(&f);
    f.tenant = k->tenant;
    f.user_id = k->user_id;
    f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE) | MN_KIND_BIT(MN_KIND_FACT);
    f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE);
    rc = db->sops->list(db->store, &f, 0, MAX_EXISTING, a, &rows, &n, &total, NULL);
    if (rc)
        return rc;
    v = mn__arena_alloc(a, (n ? n : 1) * sizeof *v);
    if (!v)
        return MN_ENOMEM;
    for (i = 0; i < n; i++) {
        const char *subj = mn__meta_str(rows[i].metadata_json, "subject", a);
        if (!subj)
            continue; /* added by the application, not extracted: not ours to supersede */
        v[m].id = rows[i].id;
        v[m].created = rows[i].created_at_ms;
        v[m].subject = subj;
        v[m].text = rows[i].text;
        m++;
    }
    *out = v;
    *out_n = m;
    return MN_OK;
}

/* Stores the statements of one message and supersedes what they replace. */
static int apply(mn_db *db, const src *s, const mn__fact *f, size_t nf, const char *method)
{
    pthread_mutex_t *mu = stripe_of(&s->k);
    mn__arena a;
    old *ex = NULL;
    size_t n_ex = 0, i, j;
    mn__buf meta;
    int rc;

    mn__arena_init(&a, 16384);
    mn__buf_init(&meta, 0);
    pthread_mutex_lock(mu);
    rc = read_existing(db, &s->k, &a, &ex, &n_ex);
    for (i = 0; rc == MN_OK && i < nf; i++) {
        mn_memory_in in;
        mn_id nid = 0, newer = 0;
        bool same = false;
        for (j = 0; j < n_ex; j++)
            if (!strcmp(ex[j].subject, f[i].subject)) {
                if (!strcmp(ex[j].text, f[i].text))
                    same = true; /* said again: nothing new */
                else if (ex[j].created > s->created_at_ms)
                    newer = ex[j].id; /* an import of older messages: the stored one wins */
            }
        if (same)
            continue;
        meta.len = 0;
        rc = mn__buf_puts(&meta, "{\"subject\":");
        if (!rc)
            rc = mn__buf_json_str(&meta, f[i].subject, strlen(f[i].subject));
        if (!rc)
            rc = mn__buf_puts(&meta, ",\"extracted_by\":");
        if (!rc)
            rc = mn__buf_json_str(&meta, method, strlen(method));
        if (!rc)
            rc = mn__buf_putc(&meta, '}');
        if (rc)
            break;
        mn_memory_in_init(&in);
        in.tenant = s->k.tenant;
        in.user_id = s->k.user_id;
        in.kind = f[i].kind;
        in.role = MN_ROLE_NONE;
        in.session_id = s->session_id;
        in.text = f[i].text;
        in.created_at_ms = s->created_at_ms;
        in.metadata_json = meta.data;
        in.sources = &s->id;
        in.n_sources = 1;
        in.status = newer ? MN_STATUS_SUPERSEDED : MN_STATUS_ACTIVE;
        rc = mn_memory_add(db, &in, &nid, NULL);
        if (rc)
            break;
        if (newer) {
            rc = supersede(db, &s->k, nid, newer);
            continue;
        }
        for (j = 0; j < n_ex && rc == MN_OK; j++)
            if (ex[j].id && !strcmp(ex[j].subject, f[i].subject) &&
                ex[j].created <= s->created_at_ms) {
                rc = supersede(db, &s->k, ex[j].id, nid);
                ex[j].id = 0;
            }
    }
    pthread_mutex_unlock(mu);
    if (rc)
        mn__log(&db->log, MN_LOG_WARN, "extraction for user '%s' of tenant '%s' stopped: %s",
                s->k.user_id, s->k.tenant, mn_strerror(rc));
    mn__buf_release(&meta);
    mn__arena_release(&a);
    return rc;
}

static void extract_rules_row(mn_db *db, const mn__row *r)
{
    mn__fact f[MAX_FACTS];
    mn__arena a;
    size_t nf = 0;
    src s;
    mn__arena_init(&a, 1024);
    /* most messages state nothing: the speaker's name is looked up only when one does */
    mn__extract_rules(r->text, NULL, f, MAX_FACTS, &nf);
    if (nf && r->metadata_json)
        mn__extract_rules(r->text, mn__meta_str(r->metadata_json, "speaker", &a), f, MAX_FACTS,
                          &nf);
    if (nf) {
        s.k.tenant = r->tenant;
        s.k.scope = MN_SCOPE_USER;
        s.k.user_id = r->user_id;
        s.id = r->id;
        s.session_id = r->session_id;
        s.created_at_ms = r->created_at_ms;
        apply(db, &s, f, nf, "rules");
    }
    mn__arena_release(&a);
}

/* ---- the LLM, in the background ----------------------------------------------------------*/

typedef struct qitem {
    struct qitem *next;
    char *tenant, *user, *session, *text, *who;
    mn_id id;
    int64_t created;
} qitem;

typedef struct mn__xq {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    qitem *head, *tail;
    size_t n;
    bool stop;
} mn__xq;

static void qitem_free(qitem *q)
{
    mn__free(q->tenant);
    mn__free(q->user);
    mn__free(q->session);
    mn__free(q->text);
    mn__free(q->who);
    mn__free(q);
}

static const char *XSYSTEM =
    "You extract durable facts and preferences about the user from one message they wrote. "
    "Only what the message states about the user or their family, home, work, health, diet, "
    "tastes and plans; nothing about other people in general, nothing guessed. For each "
    "statement give kind (preference for likes, dislikes, favourites and diet; fact for "
    "everything else), a subject key (location, hometown, name, age, job, employer, diet, "
    "allergy:<thing>, taste:<thing>, favorite:<thing>, family:<relation>:<attribute>, "
    "plan:<topic>; lower case, words joined by '-') and a short third-person text naming "
    "the user as given. Reply with JSON {\"items\": [...]}; an empty list when there is "
    "nothing.";

static const char *XSCHEMA =
    "{\"type\":\"object\",\"required\":[\"items\"],\"additionalProperties\":false,"
    "\"properties\":{\"items\":{\"type\":\"array\",\"maxItems\":8,\"items\":{\"type\":\"object\","
    "\"required\":[\"kind\",\"subject\",\"text\"],\"additionalProperties\":false,\"properties\":{"
    "\"kind\":{\"enum\":[\"preference\",\"fact\"]},"
    "\"subject\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":80},"
    "\"text\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":300}}}}}}";

static void llm_one(mn_db *db, const qitem *q)
{
    mn__buf user;
    cJSON *reply = NULL;
    const cJSON *items, *it;
    mn__fact f[MAX_FACTS];
    size_t nf = 0;
    mn_err err;
    char method[160];
    src s;
    int rc;
    mn__buf_init(&user, (size_t)1 << 16);
    rc = mn__buf_printf(&user, "The user is called: %s\nMessage: %s", q->who ? q->who : "User",
                        q->text);
    if (!rc)
        rc = mn__llm_json(db->llm, XSYSTEM, user.data, "extraction", XSCHEMA, &reply, &err);
    mn__buf_release(&user);
    if (rc) {
        if (rc != MN_ECLOSED)
            mn__log(&db->log, MN_LOG_WARN, "LLM extraction of memory %lld failed (rules "
                                           "applied only): %s",
                    (long long)q->id, rc == MN_ENOMEM ? "out of memory" : err.msg);
        return;
    }
    items = cJSON_GetObjectItemCaseSensitive(reply, "items");
    cJSON_ArrayForEach(it, items)
    {
        const char *kind = cJSON_GetObjectItemCaseSensitive(it, "kind")->valuestring;
        const char *subj = cJSON_GetObjectItemCaseSensitive(it, "subject")->valuestring;
        const char *text = cJSON_GetObjectItemCaseSensitive(it, "text")->valuestring;
        size_t i;
        if (nf == MAX_FACTS || !mn__utf8_valid(text, strlen(text), NULL) ||
            !mn__utf8_valid(subj, strlen(subj), NULL))
            continue;
        f[nf].kind = !strcmp(kind, "preference") ? MN_KIND_PREFERENCE : MN_KIND_FACT;
        snprintf(f[nf].subject, sizeof f[nf].subject, "%s", subj);
        for (i = 0; f[nf].subject[i]; i++) /* keys compare equal whatever the case */
            if (f[nf].subject[i] >= 'A' && f[nf].subject[i] <= 'Z')
                f[nf].subject[i] = (char)(f[nf].subject[i] - 'A' + 'a');
            else if (f[nf].subject[i] == ' ')
                f[nf].subject[i] = '-';
        snprintf(f[nf].text, sizeof f[nf].text, "%s", text);
        nf++;
    }
    cJSON_Delete(reply);
    if (!nf)
        return;
    snprintf(method, sizeof method, "llm:%s", mn__llm_model(db->llm));
    s.k.tenant = q->tenant;
    s.k.scope = MN_SCOPE_USER;
    s.k.user_id = q->user;
    s.id = q->id;
    s.session_id = q->session;
    s.created_at_ms = q->created;
    apply(db, &s, f, nf, method);
}

static void *xq_main(void *arg)
{
    mn_db *db = arg;
    mn__xq *x = db->xq;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        qitem *q;
        while (!x->stop && !x->head)
            pthread_cond_wait(&x->cond, &x->mu);
        if (x->stop)
            break;
        q = x->head;
        x->head = q->next;
        if (!x->head)
            x->tail = NULL;
        x->n--;
        pthread_mutex_unlock(&x->mu);
        llm_one(db, q);
        qitem_free(q);
        pthread_mutex_lock(&x->mu);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int mn__xq_start(mn_db *db, mn_err *err)
{
    mn__xq *x;
    if (db->extract_mode != MN__EXTRACT_LLM || !db->llm || db->opts.read_only)
        return MN_OK;
    x = mn__calloc(1, sizeof *x);
    if (!x)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory starting extraction");
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cond, NULL);
    db->xq = x;
    if (pthread_create(&x->th, NULL, xq_main, db)) {
        pthread_mutex_destroy(&x->mu);
        pthread_cond_destroy(&x->cond);
        mn__free(x);
        db->xq = NULL;
        return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                           "cannot start the extraction thread");
    }
    return MN_OK;
}

void mn__xq_stop(mn_db *db)
{
    mn__xq *x = db->xq;
    qitem *q, *next;
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    x->stop = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->th, NULL);
    if (x->n)
        mn__log(&db->log, MN_LOG_INFO, "%zu message(s) left without LLM extraction at close "
                                       "(their rule-based statements are stored)",
                x->n);
    for (q = x->head; q; q = next) {
        next = q->next;
        qitem_free(q);
    }
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cond);
    mn__free(x);
    db->xq = NULL;
}

static void enqueue(mn_db *db, const mn__row *r)
{
    mn__xq *x = db->xq;
    qitem *q;
    mn__arena a;
    const char *who;
    if (!x)
        return;
    q = mn__calloc(1, sizeof *q);
    if (!q)
        return;
    mn__arena_init(&a, 512);
    who = mn__meta_str(r->metadata_json, "speaker", &a);
    q->tenant = mn__strdup(r->tenant);
    q->user = mn__strdup(r->user_id);
    q->session = mn__strdup(r->session_id);
    q->text = mn__strdup(r->text);
    q->who = mn__strdup(who);
    q->id = r->id;
    q->created = r->created_at_ms;
    mn__arena_release(&a);
    if (!q->tenant || !q->user || !q->text || (r->session_id && !q->session)) {
        qitem_free(q);
        return;
    }
    pthread_mutex_lock(&x->mu);
    if (x->n >= QUEUE_MAX || x->stop) {
        pthread_mutex_unlock(&x->mu);
        qitem_free(q);
        return;
    }
    if (x->tail)
        x->tail->next = q;
    else
        x->head = q;
    x->tail = q;
    x->n++;
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->mu);
}

void mn__after_add(mn_db *db, const mn__row *rows, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const mn__row *r = &rows[i];
        if (r->scope != MN_SCOPE_USER || r->kind != MN_KIND_MESSAGE)
            continue;
        if (db->extract_mode != MN__EXTRACT_OFF && r->role == MN_ROLE_USER &&
            r->status == MN_STATUS_ACTIVE) {
            extract_rules_row(db, r);
            if (db->extract_mode == MN__EXTRACT_LLM)
                enqueue(db, r);
        }
        /* once per user of the batch */
        if (i + 1 == n || strcmp(rows[i + 1].tenant, r->tenant) || !rows[i + 1].user_id ||
            strcmp(rows[i + 1].user_id, r->user_id)) {
            mn__pkey k = {r->tenant, MN_SCOPE_USER, r->user_id};
            mn__compact_trigger(db, &k);
        }
    }
}

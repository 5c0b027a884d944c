/* compact.c - compression of a user's memories (mn_compact): read the partition from the
 * store, take the active messages that have a vector of the tenant's model (minus the newest
 * few), group them by conversation session, cut each session into runs of related turns
 * (compact_cluster.c), and for each run store one `summary` memory with the run as its
 * sources, then archive the run's messages. Each summary and each archive is its own small
 * write, so adds go on meanwhile. A run is known by a key of its source ids kept in the
 * summary's metadata: a run that already has a summary is not summarized again (a second run
 * is a no-op; a run interrupted between the two steps is finished, not duplicated). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../llm/llm.h"
#include "memory_int.h"

#define GAP_MS (2LL * 3600 * 1000) /* messages without a session: a pause this long splits */
#define DEF_KEEP 20
#define DEF_MIN 5
#define DEF_MAX 10
#define DEF_SIM 0.5
#define DEF_BUDGET 200

void mn_compact_opts_init(mn_compact_opts *o)
{
    memset(o, 0, sizeof *o);
}

const char *mn__meta_str(const char *metadata_json, const char *field, mn__arena *a)
{
    cJSON *j;
    const cJSON *v;
    const char *out = NULL;
    if (!metadata_json || !strstr(metadata_json, field))
        return NULL;
    j = cJSON_Parse(metadata_json);
    v = j ? cJSON_GetObjectItemCaseSensitive(j, field) : NULL;
    if (cJSON_IsString(v) && v->valuestring[0])
        out = mn__arena_strdup(a, v->valuestring);
    cJSON_Delete(j);
    return out;
}

typedef struct crow {
    mn__cmsg m;
    const char *session;
    size_t group;
} crow;

typedef struct scan {
    mn_db *db;
    mn__eprof pf;
    mn__arena a;
    crow *rows;
    size_t n, cap;
    int64_t active;
    mn__hmap done;   /* cluster keys of active summaries */
    mn__buf text;
    int rc;
} scan;

static int take_row(void *ctx, const mn__row *r)
{
    scan *s = ctx;
    crow *c;
    float *vec;
    int dim;
    if (r->status != MN_STATUS_ACTIVE)
        return 0;
    s->active++;
    if (r->kind == MN_KIND_SUMMARY) {
        const char *key = mn__meta_str(r->metadata_json, "cluster", &s->a);
        if (key && mn__hmap_put(&s->done, key, strlen(key), (void *)1))
            return s->rc = MN_ENOMEM;
        return 0;
    }
    if (r->kind != MN_KIND_MESSAGE || !s->pf.emb)
        return 0;
    dim = s->pf.emb->dim;
    vec = mn__arena_alloc(&s->a, (size_t)dim * sizeof *vec);
    if (!vec)
        return s->rc = MN_ENOMEM;
    if (r->embedding && r->embed_model && r->dim == dim &&
        !strcmp(r->embed_model, s->pf.vec_model)) {
        memcpy(vec, r->embedding, (size_t)dim * sizeof *vec);
    } else if (!s->pf.emb->remote) {
        /* a local embedder redoes a missing or outdated vector, as a partition load does */
        if (mn__index_text(s->db, r, &s->text) != MN_OK ||
            s->pf.emb->embed(s->pf.emb, s->text.data, s->text.len, vec, NULL) != MN_OK)
            return 0;
    } else {
        return 0; /* pending at a remote provider: compacted once it has its vector */
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        crow *nr = mn__realloc(s->rows, nc * sizeof *nr);
        if (!nr)
            return s->rc = MN_ENOMEM;
        s->rows = nr;
        s->cap = nc;
    }
    c = &s->rows[s->n++];
    memset(c, 0, sizeof *c);
    c->m.id = r->id;
    c->m.text = mn__arena_strdup(&s->a, r->text);
    c->m.speaker = mn__meta_str(r->metadata_json, "speaker", &s->a);
    c->m.role = r->role;
    c->m.created_at_ms = r->created_at_ms;
    c->m.vec = vec;
    c->session = r->session_id ? mn__arena_strdup(&s->a, r->session_id) : NULL;
    if (!c->m.text || (r->session_id && !c->session))
        return s->rc = MN_ENOMEM;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->m.created_at_ms != y->m.created_at_ms)
        return x->m.created_at_ms < y->m.created_at_ms ? -1 : 1;
    return x->m.id < y->m.id ? -1 : x->m.id > y->m.id;
}

static int by_group(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return by_time(a, b);
}

/* Numbers conversations in order of their first message: a session id is one; messages
 * without one are cut by pauses of GAP_MS. */
static int assign_groups(crow *rows, size_t n)
{
    mn__hmap sess;
    size_t i, next = 1, gap_group = 0;
    int64_t last_free = 0;
    int rc = MN_OK;
    mn__hmap_init(&sess);
    for (i = 0; i < n && rc == MN_OK; i++) {
        crow *c = &rows[i];
        if (c->session) {
            void *g = mn__hmap_get(&sess, c->session, strlen(c->session));
            if (!g) {
                g = (void *)(uintptr_t)next++;
                rc = mn__hmap_put(&sess, c->session, strlen(c->session), g);
            }
            c->group = (size_t)(uintptr_t)g;
        } else {
            if (!gap_group || c->m.created_at_ms - last_free > GAP_MS)
                gap_group = next++;
            last_free = c->m.created_at_ms;
            c->group = gap_group;
        }
    }
    mn__hmap_release(&sess);
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    mn_id x = *(const mn_id *)a, y = *(const mn_id *)b;
    return x < y ? -1 : x > y;
}

/* The key of a run: its sorted source ids, hashed. */
static void cluster_key(const crow *run, size_t n, mn_id *ids, char out[24])
{
    size_t i;
    for (i = 0; i < n; i++)
        ids[i] = run[i].m.id;
    qsort(ids, n, sizeof *ids, cmp_id);
    snprintf(out, 24, "c%016llx", (unsigned long long)mn__hash64(ids, n * sizeof *ids, 0x636d70));
}

typedef struct job {
    mn_db *db;
    const mn_compact_opts *o;
    const char *tenant;
    mn__eprof pf;
    mn__buf text, meta;
    mn__cmsg *msgs;
    mn_id *ids;
    float *centroid;
    mn_compact_stats *st;
    int first_rc;
    mn_err first_err;
} job;

static int archive_run(job *j, const crow *run, size_t n)
{
    mn_memory_patch p;
    mn_err e;
    size_t i;
    memset(&p, 0, sizeof p);
    p.status = MN_STATUS_ARCHIVED;
    for (i = 0; i < n; i++) {
        int rc = mn_memory_update(j->db, j->tenant, j->o->user_id, run[i].m.id, &p, &e);
        if (rc == MN_ENOTFOUND)
            continue; /* forgotten meanwhile */
        if (rc) {
            mn__err_prefix(&e, "archiving memory %lld", (long long)run[i].m.id);
            j->first_err = e;
            return rc;
        }
        j->st->n_archived++;
    }
    return MN_OK;
}

static int summarize_run(job *j, const crow *run, size_t n, const char *key, mn_err *err)
{
    size_t i;
    int dim = j->pf.emb->dim, d, rc;
    int budget = j->o->summary_tokens > 0 ? j->o->summary_tokens : DEF_BUDGET;
    char t0[32], t1[32];
    memset(j->centroid, 0, (size_t)dim * sizeof *j->centroid);
    for (i = 0; i < n; i++) {
        j->msgs[i] = run[i].m;
        for (d = 0; d < dim; d++)
            j->centroid[d] += run[i].m.vec[d];
    }
    {
        double nn = 0;
        for (d = 0; d < dim; d++)
            nn += (double)j->centroid[d] * j->centroid[d];
        if (nn > 0)
            for (d = 0; d < dim; d++)
                j->centroid[d] = (float)(j->centroid[d] / sqrt(nn));
    }
    j->text.len = 0;
    j->meta.len = 0;
    if (j->db->llm && !j->o->offline) {
        rc = mn__summarize_llm(j->db, j->msgs, n, budget, &j->text, err);
        j->st->used_llm = true;
    } else {
        rc = mn__summarize_extractive(j->db, &j->pf, j->msgs, n, j->centroid, budget, &j->text,
                                      err);
    }
    if (rc)
        return rc;
    mn__fmt_time_iso(run[0].m.created_at_ms, t0);
    mn__fmt_time_iso(run[n - 1].m.created_at_ms, t1);
    rc = mn__buf_printf(&j->meta, "{\"summary_of\":%zu,\"first_at\":\"%s\",\"last_at\":\"%s\","
                                  "\"cluster\":\"%s\",\"method\":",
                        n, t0, t1, key);
    if (!rc && j->db->llm && !j->o->offline) {
        char m[200];
        snprintf(m, sizeof m, "llm:%s", mn__llm_model(j->db->llm));
        rc = mn__buf_json_str(&j->meta, m, strlen(m));
    } else if (!rc) {
        rc = mn__buf_puts(&j->meta, "\"extractive\"");
    }
    if (!rc)
        rc = mn__buf_putc(&j->meta, '}');
    if (rc)
        return mn__err_set(err, rc, NULL, "out of memory building a summary");
    return MN_OK;
}

static int store_summary(job *j, const crow *run, size_t n, mn_err *err)
{
    mn_memory_in in;
    size_t i;
    mn_memory_in_init(&in);
    in.tenant = j->tenant;
    in.user_id = j->o->user_id;
    in.kind = MN_KIND_SUMMARY;
    in.role = MN_ROLE_NONE;
    in.session_id = run[0].session;
    in.text = j->text.data;
    in.created_at_ms = run[0].m.created_at_ms;
    in.metadata_json = j->meta.data;
    for (i = 0; i < n; i++) /* sources in time order: the order the summary tells them */
        j->ids[i] = run[i].m.id;
    in.sources = j->ids;
    in.n_sources = n;
    return mn_memory_add(j->db, &in, NULL, err);
}

/* One run: summary (unless it has one already), then the archive of its messages. */
static int do_run(job *j, const mn__hmap *done, const crow *run, size_t n)
{
    char key[24];
    mn_err e;
    int rc;
    cluster_key(run, n, j->ids, key);
    if (j->o->dry_run) {
        j->st->n_clusters++;
        j->st->n_archived += (int64_t)n;
        return MN_OK;
    }
    if (!mn__hmap_get(done, key, strlen(key))) {
        mn__err_clear(&e);
        rc = summarize_run(j, run, n, key, &e);
        if (rc == MN_OK)
            rc = store_summary(j, run, n, &e);
        if (rc) {
            j->st->n_failed++;
            if (!j->first_rc) {
                j->first_rc = rc;
                j->first_err = e;
            }
            /* an LLM failure leaves this run raw for the next time; others go on */
            return rc == MN_EPROVIDER || rc == MN_ERATE || rc == MN_ETIMEOUT ||
                           rc == MN_EUNAVAIL || rc == MN_EAUTH
                       ? MN_OK
                       : rc;
        }
        j->st->n_clusters++; /* a summary added by this run */
    }
    return archive_run(j, run, n);
}

static int busy_enter(mn_db *db, const char *key, size_t len)
{
    int rc = MN_OK;
    pthread_mutex_lock(&db->compact_mu);
    if (mn__hmap_get(&db->compacting, key, len))
        rc = MN_EBUSY;
    else
        rc = mn__hmap_put(&db->compacting, key, len, (void *)1);
    pthread_mutex_unlock(&db->compact_mu);
    return rc;
}

static void busy_leave(mn_db *db, const char *key, size_t len)
{
    pthread_mutex_lock(&db->compact_mu);
    mn__hmap_del(&db->compacting, key, len);
    pthread_mutex_unlock(&db->compact_mu);
}

int mn_compact(mn_db *db, const mn_compact_opts *o, mn_compact_stats *out, mn_err *err)
{
    mn_compact_stats st;
    mn__pkey k;
    scan s;
    job j;
    mn__cluster_cfg cc;
    size_t *ends = NULL, i, g0, keep, n;
    float *gv = NULL;
    char bkey[2 * MN_MAX_ID_BYTES + 8];
    int bkey_len = 0, rc;
    int64_t t0 = mn__now_ms();

    mn__err_clear(err);
    memset(&st, 0, sizeof st);
    memset(&s, 0, sizeof s);
    memset(&j, 0, sizeof j);
    if (out)
        memset(out, 0, sizeof *out);
    if (!o)
        return mn__err_set(err, MN_EINVAL, NULL, "compact options are NULL");
    rc = mn__pkey_make(o->tenant, MN_SCOPE_USER, o->user_id, &k, err);
    if (rc)
        return rc;
    if (o->keep_recent < -1 || o->min_cluster < 0 || o->max_cluster < 0 ||
        o->summary_tokens < 0 || o->summary_tokens > 4000 || o->min_similarity < 0 ||
        o->min_similarity > 1)
        return mn__err_set(err, MN_ERANGE, "see mn_compact_opts in mnemo.h",
                           "compact option out of range");
    s.db = db;
    s.pf = mn__eprof_of(db, k.tenant);
    if (!s.pf.emb)
        return mn__err_set(err, MN_ENOMODEL, "configure an embedder",
                           "compression clusters by embeddings and none is configured for "
                           "tenant '%.64s'",
                           k.tenant);
    if (db->opts.read_only && !o->dry_run)
        return mn__err_set(err, MN_EPERM, NULL, "the database is open read-only");
    bkey_len = snprintf(bkey, sizeof bkey, "%s\x1f%s", k.tenant, k.user_id);
    rc = busy_enter(db, bkey, (size_t)bkey_len);
    if (rc == MN_EBUSY)
        return mn__err_set(err, MN_EBUSY, "wait for it to finish",
                           "a compaction of user '%.64s' is already running", k.user_id);
    if (rc)
        return mn__err_set(err, rc, NULL, "out of memory");
    mn__arena_init(&s.a, 65536);
    mn__hmap_init(&s.done);
    mn__buf_init(&s.text, 0);
    mn__buf_init(&j.text, 0);
    mn__buf_init(&j.meta, 0);
    rc = db->sops->scan_partition(db->store, &k, take_row, &s, err);
    if (rc == MN_OK && s.rc)
        rc = mn__err_set(err, s.rc, NULL, "out of memory reading user '%.64s'", k.user_id);
    if (rc)
        goto cleanup;
    st.active_before = s.active;
    if (s.n) /* NULL rows when there are none: qsort wants a valid pointer */
        qsort(s.rows, s.n, sizeof *s.rows, by_time);
    keep = o->keep_recent < 0 ? 0 : o->keep_recent ? (size_t)o->keep_recent : DEF_KEEP;
    n = s.n > keep ? s.n - keep : 0; /* the newest stay raw: the conversation goes on */
    st.n_candidates = (int64_t)n;
    rc = assign_groups(s.rows, n);
    if (rc) {
        rc = mn__err_set(err, rc, NULL, "out of memory grouping messages");
        goto cleanup;
    }
    if (n)
        qsort(s.rows, n, sizeof *s.rows, by_group);
    cc.min_size = (size_t)(o->min_cluster ? o->min_cluster : DEF_MIN);
    cc.max_size = (size_t)(o->max_cluster ? o->max_cluster : DEF_MAX);
    cc.min_similarity = o->min_similarity > 0 ? o->min_similarity : DEF_SIM;
    if (cc.max_size < cc.min_size)
        cc.max_size = cc.min_size;
    j.db = db;
    j.o = o;
    j.tenant = k.tenant;
    j.pf = s.pf;
    j.st = &st;
    ends = mn__malloc((n ? n : 1) * sizeof *ends);
    gv = mn__malloc((n ? n : 1) * (size_t)s.pf.emb->dim * sizeof *gv);
    j.msgs = mn__malloc((n ? n : 1) * sizeof *j.msgs);
    j.ids = mn__malloc((n ? n : 1) * sizeof *j.ids);
    j.centroid = mn__malloc((size_t)s.pf.emb->dim * sizeof *j.centroid);
    if (!ends || !gv || !j.msgs || !j.ids || !j.centroid) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory compacting %zu messages", n);
        goto cleanup;
    }
    for (g0 = 0; g0 < n && rc == MN_OK;) {
        size_t g1 = g0, n_runs = 0, r, start;
        int dim = s.pf.emb->dim;
        while (g1 < n && s.rows[g1].group == s.rows[g0].group)
            g1++;
        for (i = g0; i < g1; i++)
            memcpy(gv + (i - g0) * (size_t)dim, s.rows[i].m.vec, (size_t)dim * sizeof *gv);
        rc = mn__cluster_runs(gv, dim, g1 - g0, &cc, ends, &n_runs);
        if (rc) {
            rc = mn__err_set(err, rc, NULL, "out of memory clustering");
            break;
        }
        for (r = 0, start = 0; r < n_runs && rc == MN_OK; start = ends[r], r++) {
            size_t len = ends[r] - start;
            if (len < 2)
                continue; /* a lone message is its own summary */
            rc = do_run(&j, &s.done, &s.rows[g0 + start], len);
            if (rc && err)
                *err = j.first_err;
        }
        g0 = g1;
    }
    if (rc == MN_OK && j.first_rc) {
        rc = j.first_rc;
        if (err) {
            *err = j.first_err;
            mn__err_prefix(err, "%lld of %lld clusters not summarized", (long long)st.n_failed,
                           (long long)(st.n_failed + st.n_clusters));
        }
    }
cleanup:
    st.active_after = st.active_before + st.n_clusters - st.n_archived;
    st.duration_ms = mn__now_ms() - t0;
    if (out)
        *out = st;
    if (rc == MN_OK && st.n_clusters)
        mn__log(&db->log, MN_LOG_INFO,
                "compacted user '%s' of tenant '%s': %lld clusters, %lld messages archived, "
                "active %lld -> %lld in %lld ms",
                k.user_id, k.tenant, (long long)st.n_clusters, (long long)st.n_archived,
                (long long)st.active_before, (long long)st.active_after,
                (long long)st.duration_ms);
    mn__free(ends);
    mn__free(gv);
    mn__free(j.msgs);
    mn__free(j.ids);
    mn__free(j.centroid);
    mn__free(s.rows);
    mn__buf_release(&s.text);
    mn__buf_release(&j.text);
    mn__buf_release(&j.meta);
    mn__hmap_release(&s.done);
    mn__arena_release(&s.a);
    busy_leave(db, bkey, (size_t)bkey_len);
    return rc;
}

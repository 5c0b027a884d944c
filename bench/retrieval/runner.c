/* runner.c - loads a dataset into a fresh mnemo database, asks every question of every
 * system (the two BM25 baselines and mn_search in each mode), and accumulates hit@k,
 * recall@k, search latency and the prompt tokens of the top 10. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const sys_names[BT_N_SYS] = {
    "BM25 (baseline)", "BM25 + stopwords (baseline)", "mnemo keyword", "mnemo vector",
    "mnemo hybrid",    "mnemo default",
};

static const mn_search_mode sys_modes[BT_N_SYS] = {
    MN_MODE_DEFAULT, MN_MODE_DEFAULT, MN_MODE_KEYWORD,
    MN_MODE_VECTOR,  MN_MODE_HYBRID,  MN_MODE_DEFAULT,
};

#define NO_TURN ((size_t)-1)
#define N_MNEMO (BT_N_SYS - BT_SYS_KEYWORD)

typedef struct id_turn {
    mn_id id;
    size_t turn;
} id_turn;

double bt_tokens_approx(size_t bytes)
{
    return ceil((double)bytes / 4.0);
}

static void print_err(const char *what, int rc, const mn_err *e)
{
    fprintf(stderr, "retrieval: %s failed: %s (%s)%s%s\n", what,
            e->msg[0] ? e->msg : mn_strerror(rc), mn_err_name(rc), e->hint[0] ? "; " : "",
            e->hint);
}

static int cmp_id_turn(const void *a, const void *b)
{
    mn_id x = ((const id_turn *)a)->id, y = ((const id_turn *)b)->id;
    return (x > y) - (x < y);
}

static size_t turn_of(const id_turn *map, size_t n, mn_id id)
{
    id_turn key = {id, 0};
    const id_turn *f = bsearch(&key, map, n, sizeof *map, cmp_id_turn);
    return f ? f->turn : NO_TURN;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Stores every turn of c, one transaction per session, and records the ids. */
static int ingest(mn_db *db, bt_corpus *c)
{
    mn_memory_in *items = NULL;
    size_t s, i, cap = 0;
    mn_err e = {0};
    int rc = 0;

    c->ids = bt_calloc(c->n_turns, sizeof *c->ids);
    for (s = 0; s < c->n_sess && rc == 0; s++) {
        size_t lo = c->sess_start[s];
        size_t hi = s + 1 < c->n_sess ? c->sess_start[s + 1] : c->n_turns;
        if (hi == lo)
            continue;
        bt_grow((void **)&items, &cap, hi - lo, sizeof *items);
        for (i = lo; i < hi; i++) {
            mn_memory_in *m = &items[i - lo];
            const bt_turn *t = &c->turns[i];
            mn_memory_in_init(m);
            m->user_id = c->user_id;
            m->role = t->role;
            m->session_id = t->session_id;
            m->text = t->text;
            m->created_at_ms = t->created_at_ms;
            m->metadata_json = t->metadata_json;
        }
        rc = mn_memory_add_batch(db, items, hi - lo, c->ids + lo, &e);
        if (rc != 0) {
            char what[200];
            snprintf(what, sizeof what, "adding session %zu of %s (%zu turns)", s, c->user_id,
                     hi - lo);
            print_err(what, rc, &e);
        }
    }
    free(items);
    return rc;
}

static void score(const bt_dataset *ds, const bt_question *q, const size_t *ranked, size_t n,
                  bt_sys_result *sr)
{
    size_t f5 = 0, f10 = 0, i, j;
    bt_acc *accs[2];
    int n_acc = 0, a;

    for (i = 0; i < q->n_evidence; i++) {
        for (j = 0; j < n && j < 10; j++) {
            if (ranked[j] == q->evidence[i]) {
                f10++;
                f5 += j < 5;
                break;
            }
        }
    }
    accs[n_acc++] = &sr->cats[q->cat];
    if (ds->cats[q->cat].scored)
        accs[n_acc++] = &sr->overall;
    for (a = 0; a < n_acc; a++) {
        bt_acc *acc = accs[a];
        acc->n++;
        acc->hit5 += f5 > 0;
        acc->hit10 += f10 > 0;
        acc->rec5 += (double)f5 / (double)q->n_evidence;
        acc->rec10 += (double)f10 / (double)q->n_evidence;
    }
}

static void add_latency(bt_sys_result *sr, int64_t ns)
{
    bt_grow((void **)&sr->lat_ns, &sr->cap_lat, sr->n_lat + 1, sizeof *sr->lat_ns);
    sr->lat_ns[sr->n_lat++] = (double)ns;
}

/* BT_MISSES=1: prints each question the default mode misses at k = 10, with its evidence
 * and the top three results, to stderr (for looking at failures, not for the report). */
static void print_miss(const bt_corpus *c, const bt_question *q, const mn_results *res,
                       const size_t *ranked, size_t n)
{
    size_t i, j;
    for (i = 0; i < n; i++)
        for (j = 0; j < q->n_evidence; j++)
            if (ranked[i] == q->evidence[j])
                return;
    fprintf(stderr, "MISS [%s] %s\n", c->user_id, q->text);
    for (j = 0; j < q->n_evidence && j < 3; j++)
        fprintf(stderr, "   evidence: %.200s\n", c->turns[q->evidence[j]].text);
    for (i = 0; i < res->n && i < 3; i++)
        fprintf(stderr, "   got %.3f: %.160s\n", res->hits[i].score, res->hits[i].mem.text);
}

static int run_mnemo(mn_db *db, const bt_corpus *c, const id_turn *map, const bt_question *q,
                     int sys, bt_sys_result *sr, size_t *ranked, size_t *out_n)
{
    mn_search_opts o;
    mn_results *res = NULL;
    mn_err e = {0};
    int64_t t0;
    size_t i;
    int rc;

    mn_search_opts_init(&o);
    o.filter.user_id = c->user_id;
    o.query = q->text;
    o.k = BT_K;
    o.mode = sys_modes[sys];
    o.as_of_ms = q->asked_ms;
    t0 = bt_now_ns();
    rc = mn_search(db, &o, &res, &e);
    add_latency(sr, bt_now_ns() - t0);
    if (rc != 0) {
        char what[200];
        snprintf(what, sizeof what, "mn_search (%s) for %s", mn_mode_name(o.mode),
                 c->user_id);
        print_err(what, rc, &e);
        return rc;
    }
    if (sys_modes[sys] != MN_MODE_DEFAULT && res->mode != sys_modes[sys]) {
        if (sr->n_fallback++ == 0)
            snprintf(sr->note, sizeof sr->note, "ran as %s: %s", mn_mode_name(res->mode),
                     res->note ? res->note : "");
    } else if (sys_modes[sys] == MN_MODE_DEFAULT && !sr->note[0]) {
        snprintf(sr->note, sizeof sr->note, "ran as %s", mn_mode_name(res->mode));
    }
    *out_n = 0;
    for (i = 0; i < res->n && i < BT_K; i++) {
        const char *text = res->hits[i].mem.text;
        size_t t = turn_of(map, c->n_turns, res->hits[i].mem.id), si;
        /* an extracted fact or preference stands for the turns it came from */
        for (si = 0; t == NO_TURN && si < res->hits[i].mem.n_sources; si++)
            t = turn_of(map, c->n_turns, res->hits[i].mem.sources[si]);
        ranked[(*out_n)++] = t;
        sr->tokens_sum += bt_tokens_approx(text ? strlen(text) : 0);
    }
    if (getenv("BT_MISSES") && sys_modes[sys] == MN_MODE_DEFAULT)
        print_miss(c, q, res, ranked, *out_n);
    mn_results_free(res);
    return 0;
}

static void run_bm25(bt_bm25 *ix, const bt_corpus *c, const bt_question *q, bt_sys_result *sr,
                     size_t *ranked, size_t *out_n)
{
    int64_t t0 = bt_now_ns();
    size_t i;
    *out_n = bt_bm25_search(ix, q->text, BT_K, ranked);
    add_latency(sr, bt_now_ns() - t0);
    for (i = 0; i < *out_n; i++)
        sr->tokens_sum += bt_tokens_approx(strlen(c->turns[ranked[i]].text));
}

/* Runs both BM25 baselines on q, (re)building their indexes when q's corpus is not the
 * one they hold, and counts the question. */
static void baseline_question(bt_run *r, bt_bm25 *ix[2], size_t *ix_corpus,
                              const bt_question *q)
{
    const bt_corpus *c = &r->ds->corpora[q->corpus];
    size_t ranked[BT_K], i;
    int s;

    if (q->corpus != *ix_corpus) {
        bt_bm25_free(ix[0]);
        bt_bm25_free(ix[1]);
        ix[0] = bt_bm25_build(c, false);
        ix[1] = bt_bm25_build(c, true);
        *ix_corpus = q->corpus;
    }
    for (i = 0; i < c->n_turns; i++)
        r->history_tokens_sum += bt_tokens_approx(strlen(c->turns[i].text));
    r->n_questions++;
    for (s = BT_SYS_BM25; s <= BT_SYS_BM25_STOP; s++) {
        size_t n = 0;
        run_bm25(ix[s == BT_SYS_BM25_STOP], c, q, &r->sys[s], ranked, &n);
        r->sys[s].ran = true;
        score(r->ds, q, ranked, n, &r->sys[s]);
    }
}

static void run_init(bt_run *r, const bt_dataset *ds)
{
    int s;
    memset(r, 0, sizeof *r);
    r->ds = ds;
    for (s = 0; s < BT_N_SYS; s++)
        r->sys[s].name = sys_names[s];
}

void bt_run_baselines(const bt_dataset *ds, bt_run *out)
{
    bt_bm25 *ix[2] = {NULL, NULL};
    size_t qi, ix_corpus = NO_TURN;
    run_init(out, ds);
    for (qi = 0; qi < ds->n_questions; qi++)
        baseline_question(out, ix, &ix_corpus, &ds->questions[qi]);
    bt_bm25_free(ix[0]);
    bt_bm25_free(ix[1]);
}

static id_turn *build_map(const bt_corpus *c)
{
    id_turn *m = bt_malloc(c->n_turns * sizeof *m);
    size_t i;
    for (i = 0; i < c->n_turns; i++) {
        m[i].id = c->ids[i];
        m[i].turn = i;
    }
    qsort(m, c->n_turns, sizeof *m, cmp_id_turn);
    return m;
}

/* One untimed search per user, so that loading a partition is not counted as search time. */
static int warm_up(mn_db *db, const bt_corpus *c)
{
    mn_search_opts o;
    mn_results *res = NULL;
    mn_err e = {0};
    int rc;
    mn_search_opts_init(&o);
    o.filter.user_id = c->user_id;
    o.query = "warm up";
    o.k = 1;
    o.mode = MN_MODE_KEYWORD;
    rc = mn_search(db, &o, &res, &e);
    if (rc != 0)
        print_err("warm-up search", rc, &e);
    mn_results_free(res);
    return rc;
}

int bt_run_dataset(const bt_run_cfg *cfg, bt_dataset *ds, bt_run *out)
{
    mn_db_opts opts;
    mn_db_info info;
    mn_db *db = NULL;
    mn_err e = {0};
    char path[4096];
    size_t qi, cur = NO_TURN, ix_corpus = NO_TURN, ci, ranked[BT_K];
    bt_bm25 *ix[2] = {NULL, NULL};
    id_turn *map = NULL;
    int64_t t0;
    int rc = -1, s, j;

    run_init(out, ds);
    snprintf(path, sizeof path, "%s/%s.db", cfg->db_dir, ds->name);
    mn_db_opts_init(&opts);
    opts.path = path;
    opts.embedder = cfg->embedder;
    opts.extract = cfg->extract;
    opts.sync_normal = true; /* a benchmark database: durability of the last commit moot */
    if ((rc = mn_db_open(&opts, &db, &e)) != 0) {
        print_err("opening the database", rc, &e);
        rc = -1;
        goto cleanup;
    }
    if ((rc = mn_db_info_get(db, &info, &e)) != 0) {
        print_err("mn_db_info_get", rc, &e);
        rc = -1;
        goto cleanup;
    }
    copy_str(out->embedder, sizeof out->embedder, info.embedder);
    copy_str(out->model_id, sizeof out->model_id, info.model_id);
    copy_str(out->vector_note, sizeof out->vector_note, info.vector_note);
    copy_str(out->kernel, sizeof out->kernel, info.kernel);
    out->dim = info.dim;

    t0 = bt_now_ns();
    for (ci = 0; ci < ds->n_corpora; ci++) {
        if (ingest(db, &ds->corpora[ci]) != 0) {
            rc = -1;
            goto cleanup;
        }
    }
    out->ingest_s = (double)(bt_now_ns() - t0) / 1e9;
    for (ci = 0; ci < ds->n_corpora; ci++) {
        if (warm_up(db, &ds->corpora[ci]) != 0) {
            rc = -1;
            goto cleanup;
        }
    }

    for (qi = 0; qi < ds->n_questions; qi++) {
        const bt_question *q = &ds->questions[qi];
        const bt_corpus *c = &ds->corpora[q->corpus];
        if (q->corpus != cur) {
            free(map);
            map = build_map(c);
            cur = q->corpus;
        }
        baseline_question(out, ix, &ix_corpus, q);
        for (j = 0; j < N_MNEMO; j++) {
            /* The first search of a question reads its rows from disk; rotating which mode
             * goes first spreads that cost evenly over the modes. */
            bt_sys_result *sr;
            size_t n = 0;
            s = BT_SYS_KEYWORD + (int)((qi + (size_t)j) % N_MNEMO);
            sr = &out->sys[s];
            if (run_mnemo(db, c, map, q, s, sr, ranked, &n) != 0) {
                rc = -1;
                goto cleanup;
            }
            sr->ran = true;
            score(ds, q, ranked, n, sr);
        }
    }
    rc = bt_run_scale(db, ds, out);
cleanup:
    bt_bm25_free(ix[0]);
    bt_bm25_free(ix[1]);
    free(map);
    mn_db_close(db);
    return rc;
}

void bt_run_free(bt_run *r)
{
    int s;
    for (s = 0; s < BT_N_SYS; s++)
        free(r->sys[s].lat_ns);
    free(r->scale.lat_ns);
    memset(r, 0, sizeof *r);
}

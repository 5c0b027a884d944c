/* compression.c - bench/compression: what compression does to a user's memory on the LoCoMo
 * dev conversations (shared/data). Each conversation is stored as one user, every question
 * is answered with a context of at most --max-tokens tokens (search hits in rank order, as
 * many as fit, exact BPE count), then the user is compacted (offline summarizer unless an
 * LLM is configured) and the same is measured again. Reported, before and after: active
 * memories, context tokens, and the evidence hit rate of the context (an evidence turn
 * counts as found when it is in the context or in the sources of a summary that is).
 * A second compaction must add nothing (--verify fails the run otherwise); --sweep adds
 * a table of other cluster and summary sizes.
 * Usage: compression [--data DIR] [--out FILE] [--max-tokens N] [--k N] [--verify] [--sweep]
 * Links the retrieval harness's loaders; a client of mnemo.h plus the token counter. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/context/context.h"
#include "../../src/memory/memory_int.h"
#include "../retrieval/bench.h"

typedef struct opts {
    const char *data_dir, *out, *embedder;
    int max_tokens, k;
    bool verify, sweep;
    mn_compact_opts co; /* --min-cluster, --max-cluster, --min-sim, --budget, --keep */
} opts;

typedef struct phase {
    int64_t active;        /* active memories, all users */
    double tokens_sum;     /* context tokens, summed over questions */
    size_t n_q, n_hit;     /* scored questions, those with evidence in the context */
    size_t n_quoted;       /* ... with an evidence turn's words in the context's text */
    size_t n_items_sum;
    double stored_tokens;  /* BPE tokens of the text of the active memories */
} phase;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int64_t active_count(mn_db *db, const char *user)
{
    mn_filter f;
    mn_results *r = NULL;
    mn_err e;
    int64_t n = -1;
    mn_filter_init(&f);
    f.user_id = user;
    if (mn_memory_list(db, &f, 0, 1, &r, &e) == MN_OK)
        n = r->total;
    mn_results_free(r);
    return n;
}

/* Whether text holds the first sentence (or first 60 bytes) of turn: an extractive summary
 * copies sentences, so this is "the detail itself is in the prompt". */
static bool quotes(const char *text, const char *turn)
{
    char probe[64];
    size_t n = strcspn(turn, ".!?\n");
    if (n > 60)
        n = 60;
    if (n < 12)
        n = strlen(turn) < 60 ? strlen(turn) : 60;
    memcpy(probe, turn, n);
    probe[n] = '\0';
    return strstr(text, probe) != NULL;
}

/* One question: the context as the hits that fit max_tokens, and whether evidence is in it. */
static int ask(mn_db *db, const mn__bpe *bpe, const bt_corpus *c, const bt_question *q,
               const opts *o, phase *ph)
{
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err e;
    size_t used = 0, i, j;
    bool hit = false, quoted = false;
    int rc;
    mn_search_opts_init(&so);
    so.filter.user_id = c->user_id;
    so.query = q->text;
    so.k = o->k;
    rc = mn_search(db, &so, &r, &e);
    if (rc) {
        fprintf(stderr, "compression: search failed: %s\n", e.msg);
        return rc;
    }
    for (i = 0; i < r->n; i++) {
        const mn_memory *m = &r->hits[i].mem;
        char line[65536], d[32];
        size_t t = 0;
        mn_time_format(m->created_at_ms, d);
        /* the line a prompt would carry: date and text */
        snprintf(line, sizeof line, "- [%.10s] %s\n", d, m->text);
        mn__bpe_count_or_estimate(bpe, line, strlen(line), &t, NULL);
        if (used + t > (size_t)o->max_tokens)
            break;
        used += t;
        ph->n_items_sum++;
        if (m->kind == MN_KIND_SUMMARY) {
            for (j = 0; j < m->n_sources; j++) {
                long t2 = bt_turn_of(c, m->sources[j]);
                if (!bt_is_evidence(q, t2))
                    continue;
                hit = true;
                /* the stricter count: the summary's own text carries the turn's words */
                if (quotes(m->text, c->turns[t2].text))
                    quoted = true;
            }
        } else if (bt_is_evidence(q, bt_turn_of(c, m->id))) {
            hit = quoted = true;
        }
    }
    ph->tokens_sum += (double)used;
    ph->n_q++;
    ph->n_hit += hit;
    ph->n_quoted += quoted;
    mn_results_free(r);
    return 0;
}

/* Tokens of the text of a user's active memories: what a "whole memory" prompt would cost. */
static double stored_tokens(mn_db *db, const mn__bpe *bpe, const char *user)
{
    mn_filter f;
    mn_results *r = NULL;
    mn_err e;
    mn_id after = 0;
    double sum = 0;
    size_t i;
    mn_filter_init(&f);
    f.user_id = user;
    do {
        if (mn_memory_list(db, &f, after, 1000, &r, &e) != MN_OK)
            return -1;
        for (i = 0; i < r->n; i++) {
            size_t t = 0;
            mn__bpe_count_or_estimate(bpe, r->hits[i].mem.text, strlen(r->hits[i].mem.text), &t,
                                      NULL);
            sum += (double)t;
        }
        after = r->next_after;
        mn_results_free(r);
        r = NULL;
    } while (after);
    return sum;
}

static int measure(mn_db *db, const mn__bpe *bpe, const bt_dataset *ds, const opts *o,
                   phase *ph)
{
    size_t i;
    memset(ph, 0, sizeof *ph);
    for (i = 0; i < ds->n_corpora; i++) {
        ph->active += active_count(db, ds->corpora[i].user_id);
        ph->stored_tokens += stored_tokens(db, bpe, ds->corpora[i].user_id);
    }

    for (i = 0; i < ds->n_questions; i++) {
        const bt_question *q = &ds->questions[i];
        if (!ds->cats[q->cat].scored || q->n_evidence == 0)
            continue;
        if (ask(db, bpe, &ds->corpora[q->corpus], q, o, ph))
            return -1;
    }
    return 0;
}

static int ingest(mn_db *db, bt_corpus *c)
{
    mn_memory_in *items = bt_calloc(c->n_turns ? c->n_turns : 1, sizeof *items);
    size_t i;
    mn_err e;
    int rc;
    c->ids = bt_calloc(c->n_turns ? c->n_turns : 1, sizeof *c->ids);
    for (i = 0; i < c->n_turns; i++) {
        mn_memory_in *m = &items[i];
        const bt_turn *t = &c->turns[i];
        mn_memory_in_init(m);
        m->user_id = c->user_id;
        m->role = t->role;
        m->session_id = t->session_id;
        m->text = t->text;
        m->created_at_ms = t->created_at_ms;
        m->metadata_json = t->metadata_json;
    }
    rc = mn_memory_add_batch(db, items, c->n_turns, c->ids, &e);
    if (rc)
        fprintf(stderr, "compression: adding %s: %s\n", c->user_id, e.msg);
    free(items);
    return rc;
}

/* Archived messages are still found when the search asks for them. */
static size_t archived_found(mn_db *db, const bt_dataset *ds)
{
    size_t i, found = 0;
    for (i = 0; i < ds->n_corpora; i++) {
        const bt_corpus *c = &ds->corpora[i];
        mn_search_opts so;
        mn_results *r = NULL;
        mn_err e;
        mn_search_opts_init(&so);
        so.filter.user_id = c->user_id;
        so.filter.statuses = MN_STATUS_BIT(MN_STATUS_ARCHIVED);
        so.query = c->turns[c->n_turns / 3].text;
        so.k = 5;
        if (mn_search(db, &so, &r, &e) == MN_OK && r->n &&
            r->hits[0].mem.status == MN_STATUS_ARCHIVED)
            found++;
        mn_results_free(r);
    }
    return found;
}

static int parse(int argc, char **argv, opts *o)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data") && i + 1 < argc)
            o->data_dir = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc)
            o->out = argv[++i];
        else if (!strcmp(a, "--max-tokens") && i + 1 < argc)
            o->max_tokens = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--k") && i + 1 < argc)
            o->k = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--embedder") && i + 1 < argc)
            o->embedder = argv[++i];
        else if (!strcmp(a, "--verify"))
            o->verify = true;
        else if (!strcmp(a, "--sweep"))
            o->sweep = true;
        else if (!strcmp(a, "--min-cluster") && i + 1 < argc)
            o->co.min_cluster = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--max-cluster") && i + 1 < argc)
            o->co.max_cluster = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--min-sim") && i + 1 < argc)
            o->co.min_similarity = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--budget") && i + 1 < argc)
            o->co.summary_tokens = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--keep") && i + 1 < argc)
            o->co.keep_recent = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: compression [--data DIR] [--out FILE] [--max-tokens N] "
                            "[--k N] [--embedder builtin|mock] [--verify] [--sweep]\n");
            return -1;
        }
    }
    if (o->max_tokens < 50 || o->k < 1 || o->k > MN_MAX_K) {
        fprintf(stderr, "compression: --max-tokens >= 50 and --k 1..%d\n", MN_MAX_K);
        return -1;
    }
    return 0;
}

/* One configuration: a fresh database, the conversations stored, measured, compacted twice,
 * measured again. */
typedef struct result {
    mn_compact_opts co;
    phase before, after;
    int64_t clusters, archived, second_clusters, second_archived, compact_ms;
    size_t found;
} result;

static int run_config(bt_dataset *ds, const mn__bpe *bpe, const opts *o, const char *dir,
                      int idx, result *res)
{
    char dbpath[PATH_MAX], side[PATH_MAX + 8];
    mn_db_opts dbo;
    mn_db *db = NULL;
    mn_err e;
    size_t i;
    int pass, rc = -1;
    int64_t t0;
    snprintf(dbpath, sizeof dbpath, "%s/c%d.db", dir, idx);
    mn_db_opts_init(&dbo);
    dbo.path = dbpath;
    dbo.embedder = o->embedder;
    dbo.sync_normal = true; /* a throwaway file: speed over power-loss safety */
    if (mn_db_open(&dbo, &db, &e)) {
        fprintf(stderr, "compression: open: %s\n", e.msg);
        return -1;
    }
    for (i = 0; i < ds->n_corpora; i++) {
        free(ds->corpora[i].ids);
        ds->corpora[i].ids = NULL;
        if (ingest(db, &ds->corpora[i]))
            goto cleanup;
    }
    if (measure(db, bpe, ds, o, &res->before))
        goto cleanup;
    for (pass = 0; pass < 2; pass++) { /* the second run must be a no-op */
        t0 = bt_now_ns();
        for (i = 0; i < ds->n_corpora; i++) {
            mn_compact_opts co = res->co;
            mn_compact_stats st;
            co.user_id = ds->corpora[i].user_id;
            if (mn_compact(db, &co, &st, &e)) {
                fprintf(stderr, "compression: compact %s: %s\n", co.user_id, e.msg);
                goto cleanup;
            }
            *(pass ? &res->second_clusters : &res->clusters) += st.n_clusters;
            *(pass ? &res->second_archived : &res->archived) += st.n_archived;
        }
        if (!pass)
            res->compact_ms = (bt_now_ns() - t0) / 1000000;
    }
    if (measure(db, bpe, ds, o, &res->after))
        goto cleanup;
    res->found = archived_found(db, ds);
    rc = 0;
cleanup:
    mn_db_close(db);
    unlink(dbpath);
    snprintf(side, sizeof side, "%s-wal", dbpath);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", dbpath);
    unlink(side);
    return rc;
}

/* Ingest time of every conversation, one add per turn (as a chat app sends them), with
 * extraction off or by rules; *out_facts gets the statements extracted. */
static int ingest_cost(bt_dataset *ds, const char *dir, const char *extract, double *out_s,
                       int64_t *out_facts)
{
    char dbpath[PATH_MAX], side[PATH_MAX + 8];
    mn_db_opts dbo;
    mn_db *db = NULL;
    mn_err e;
    size_t i, t;
    int64_t t0;
    int rc = -1;
    snprintf(dbpath, sizeof dbpath, "%s/x-%s.db", dir, extract);
    mn_db_opts_init(&dbo);
    dbo.path = dbpath;
    dbo.embedder = "builtin";
    dbo.sync_normal = true;
    dbo.extract = extract;
    if (mn_db_open(&dbo, &db, &e)) {
        fprintf(stderr, "compression: open: %s\n", e.msg);
        return -1;
    }
    *out_facts = 0;
    t0 = bt_now_ns();
    for (i = 0; i < ds->n_corpora; i++) {
        const bt_corpus *c = &ds->corpora[i];
        for (t = 0; t < c->n_turns; t++) {
            mn_memory_in m;
            mn_memory_in_init(&m);
            m.user_id = c->user_id;
            m.role = c->turns[t].role;
            m.session_id = c->turns[t].session_id;
            m.text = c->turns[t].text;
            m.created_at_ms = c->turns[t].created_at_ms;
            m.metadata_json = c->turns[t].metadata_json;
            if (mn_memory_add(db, &m, NULL, &e)) {
                fprintf(stderr, "compression: add: %s\n", e.msg);
                goto cleanup;
            }
        }
    }
    *out_s = (double)(bt_now_ns() - t0) / 1e9;
    for (i = 0; i < ds->n_corpora; i++) {
        mn_filter f;
        mn_results *r = NULL;
        mn_filter_init(&f);
        f.user_id = ds->corpora[i].user_id;
        f.kinds = MN_KIND_BIT(MN_KIND_PREFERENCE) | MN_KIND_BIT(MN_KIND_FACT);
        f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
        if (mn_memory_list(db, &f, 0, 1, &r, &e) == MN_OK)
            *out_facts += r->total;
        mn_results_free(r);
    }
    rc = 0;
cleanup:
    mn_db_close(db);
    unlink(dbpath);
    snprintf(side, sizeof side, "%s-wal", dbpath);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", dbpath);
    unlink(side);
    return rc;
}

static double rate(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0;
}

/* "Intel(R) Xeon(R) ... (2 cores)" from /proc/cpuinfo, for the report. */
static void machine(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], model[256] = "unknown CPU";
    int cores = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
        }
        if (!strncmp(line, "processor", 9))
            cores++;
    }
    if (f)
        fclose(f);
    snprintf(out, cap, "%s, %d logical cores", model, cores);
}

typedef struct cost {
    double off_s, rules_s;
    int64_t facts;
    double rules_ns;  /* the rules alone, per message */
    bool ran;
} cost;

/* CPU cost of the rules alone: every turn, 20 times. */
static double rules_ns(const bt_dataset *ds)
{
    mn__fact f[8];
    size_t i, t, n, sink = 0;
    int rep;
    int64_t t0 = bt_now_ns();
    for (rep = 0; rep < 20; rep++)
        for (i = 0; i < ds->n_corpora; i++)
            for (t = 0; t < ds->corpora[i].n_turns; t++) {
                mn__extract_rules(ds->corpora[i].turns[t].text, NULL, f, 8, &n);
                sink += n;
            }
    return (double)(bt_now_ns() - t0) / (20.0 * (double)ds->n_memories) + (double)(sink & 0);
}

static void report(FILE *f, const bt_dataset *ds, const opts *o, const mn__bpe *bpe,
                   const result *res, size_t n_cfg, const cost *x)
{
    const result *r = &res[0];
    const phase *b = &r->before, *a = &r->after;
    size_t i;
    fprintf(f, "# Compression on LoCoMo dev\n\n"
               "`make bench-compression` (bench/compression): the %zu conversations of "
               "shared/data/locomo_dev.json.gz, one user each (%zu turns), %zu scored "
               "questions (categories 1-4 with evidence). A question's context is the search "
               "hits (default hybrid search, top %d) in rank order, as many as fit in %d "
               "tokens (cl100k_base%s), each as \"- [date] text\". Evidence is found when an "
               "evidence turn is in the context, or in the sources of a summary that is (the "
               "issue's measure); the stricter line counts a summary only when its own text "
               "carries the evidence turn's first sentence. Compaction: mn_compact with its "
               "defaults, offline extractive summarizer, embedder %s.\n\n",
            ds->n_corpora, ds->n_memories, b->n_q, o->k, o->max_tokens,
            bpe ? "" : ", estimated", o->embedder);
    {
        char m[400];
        const char *commit = getenv("MNEMO_BENCH_COMMIT");
        machine(m, sizeof m);
        fprintf(f, "Machine: %s. Commit: %s.\n\n", m, commit && commit[0] ? commit : "unknown");
    }
    fprintf(f, "| | before | after | change |\n|---|---|---|---|\n");
    fprintf(f, "| active memories | %lld | %lld | %.1fx fewer |\n", (long long)b->active,
            (long long)a->active, a->active ? (double)b->active / (double)a->active : 0);
    fprintf(f, "| tokens of the active memories' text | %.0f | %.0f | %.1fx fewer |\n",
            b->stored_tokens, a->stored_tokens,
            a->stored_tokens ? b->stored_tokens / a->stored_tokens : 0);
    fprintf(f, "| context tokens per question (max_tokens %d) | %.0f | %.0f | %.2fx |\n",
            o->max_tokens, b->tokens_sum / (double)b->n_q, a->tokens_sum / (double)a->n_q,
            b->tokens_sum ? a->tokens_sum / b->tokens_sum : 0);
    fprintf(f, "| memories in the context per question | %.1f | %.1f | |\n",
            (double)b->n_items_sum / (double)b->n_q, (double)a->n_items_sum / (double)a->n_q);
    fprintf(f, "| evidence hit rate of the context | %.3f | %.3f | %+.3f |\n",
            rate(b->n_hit, b->n_q), rate(a->n_hit, a->n_q),
            rate(a->n_hit, a->n_q) - rate(b->n_hit, b->n_q));
    fprintf(f, "| ... stricter: evidence words in the context's text | %.3f | %.3f | %+.3f |\n",
            rate(b->n_quoted, b->n_q), rate(a->n_quoted, a->n_q),
            rate(a->n_quoted, a->n_q) - rate(b->n_quoted, b->n_q));
    fprintf(f, "\nCompaction: %lld summaries, %lld messages archived, %lld ms for the %zu "
               "conversations. Second run: %lld summaries, %lld archived (must be 0). "
               "Archived messages found by a search with status=archived: %zu of %zu "
               "conversations.\n",
            (long long)r->clusters, (long long)r->archived, (long long)r->compact_ms,
            ds->n_corpora, (long long)r->second_clusters, (long long)r->second_archived,
            r->found, ds->n_corpora);
    if (x->ran)
        fprintf(f, "\n## Extraction cost on ingest\n\nThe rules alone: %.1f us per message "
                   "(all %zu turns, 20 times). End to end, the turns added one by one "
                   "(synchronous=NORMAL, built-in embedder, best of three runs each): %.0f "
                   "turns/s without extraction, %.0f turns/s with `extract=rules`; %lld "
                   "preferences and facts extracted from the users' turns (each one list of "
                   "the user's statements and one small write). On this shared 2-core machine "
                   "the end-to-end difference is within the run-to-run noise.\n",
                x->rules_ns / 1000.0, ds->n_memories, (double)ds->n_memories / x->off_s,
                (double)ds->n_memories / x->rules_s, (long long)x->facts);
    if (n_cfg < 2)
        return;
    fprintf(f, "\n## Summary size against detail kept\n\nThe same run with other settings "
               "(min_cluster / max_cluster / summary_tokens; the first row is the default). "
               "Bigger summaries keep more of the messages' words and cost stored tokens; "
               "bigger clusters compress more and their summaries keep less.\n\n"
               "| min / max / tokens | active after | stored tokens after | evidence hit | "
               "stricter | memories in context |\n|---|---|---|---|---|---|\n");
    for (i = 0; i < n_cfg; i++) {
        r = &res[i];
        fprintf(f, "| %d / %d / %d%s | %lld (%.1fx) | %.0f (%.1fx) | %.3f | %.3f | %.1f |\n",
                r->co.min_cluster ? r->co.min_cluster : 5,
                r->co.max_cluster ? r->co.max_cluster : 10,
                r->co.summary_tokens ? r->co.summary_tokens : 200, i ? "" : " (default)",
                (long long)r->after.active,
                r->after.active ? (double)r->before.active / (double)r->after.active : 0,
                r->after.stored_tokens,
                r->after.stored_tokens ? r->before.stored_tokens / r->after.stored_tokens : 0,
                rate(r->after.n_hit, r->after.n_q), rate(r->after.n_quoted, r->after.n_q),
                (double)r->after.n_items_sum / (double)r->after.n_q);
    }
}

int main(int argc, char **argv)
{
    /* the defaults first, then the trade-off between summary size and detail kept */
    static const int sweep[][3] = {{0, 0, 0},    {5, 10, 100}, {5, 10, 400},
                                   {4, 40, 200}, {3, 6, 200},  {8, 16, 300}};
    opts o;
    char path[PATH_MAX + 16], tmpl[] = "/tmp/mnemo-compress-XXXXXX";
    bt_dataset ds;
    result res[sizeof sweep / sizeof *sweep];
    mn_err e;
    mn__bpe *bpe = NULL;
    size_t i, n_cfg;
    FILE *f = NULL;
    cost xc;
    int rc = 1;

    memset(&ds, 0, sizeof ds);
    memset(&o, 0, sizeof o);
    memset(res, 0, sizeof res);
    o.embedder = "builtin";
    o.max_tokens = 1000;
    o.k = 50;
    mn_compact_opts_init(&o.co);
    if (parse(argc, argv, &o))
        return 2;
    if (!o.data_dir)
        o.data_dir = is_dir("../shared/data") ? "../shared/data" : "../../shared/data";
    snprintf(path, sizeof path, "%s/locomo_dev.json.gz", o.data_dir);
    if (access(path, R_OK)) {
        fprintf(stderr, "compression: cannot read %s: %s (pass --data DIR)\n", path,
                strerror(errno));
        return 2;
    }
    if (bt_load_locomo(path, 0, &ds))
        return 2;
    if (!mkdtemp(tmpl)) {
        perror("compression: mkdtemp");
        goto cleanup;
    }
    if (mn__bpe_open("cl100k_base", NULL, &bpe, &e))
        fprintf(stderr, "compression: no BPE table (%s): token counts are estimates\n", e.msg);
    memset(&xc, 0, sizeof xc);
    if (o.sweep) {
        /* alternated, best of three each: the first runs pay for a cold page cache */
        int64_t none = 0;
        int round;
        double s_off, s_rules;
        xc.off_s = xc.rules_s = 1e30;
        for (round = 0; round < 3; round++) {
            if (ingest_cost(&ds, tmpl, "off", &s_off, &none) ||
                ingest_cost(&ds, tmpl, "rules", &s_rules, &xc.facts))
                goto cleanup;
            xc.off_s = s_off < xc.off_s ? s_off : xc.off_s;
            xc.rules_s = s_rules < xc.rules_s ? s_rules : xc.rules_s;
        }
        xc.rules_ns = rules_ns(&ds);
        xc.ran = true;
    }
    n_cfg = o.sweep ? sizeof sweep / sizeof *sweep : 1;
    for (i = 0; i < n_cfg; i++) {
        res[i].co = o.co;
        if (i) {
            res[i].co.min_cluster = sweep[i][0];
            res[i].co.max_cluster = sweep[i][1];
            res[i].co.summary_tokens = sweep[i][2];
        }
        if (run_config(&ds, bpe, &o, tmpl, (int)i, &res[i]))
            goto cleanup;
        fprintf(stderr, "compression: config %zu: active %lld -> %lld, hit %.3f -> %.3f\n", i,
                (long long)res[i].before.active, (long long)res[i].after.active,
                rate(res[i].before.n_hit, res[i].before.n_q),
                rate(res[i].after.n_hit, res[i].after.n_q));
    }
    f = o.out ? fopen(o.out, "w") : stdout;
    if (!f) {
        perror("compression: --out");
        goto cleanup;
    }
    report(f, &ds, &o, bpe, res, n_cfg, &xc);
    rc = 0;
    for (i = 0; o.verify && i < n_cfg; i++) {
        const result *r = &res[i];
        if (r->second_clusters || r->second_archived || r->found != ds.n_corpora ||
            (i == 0 && r->after.active * 5 > r->before.active)) {
            fprintf(stderr, "compression: --verify failed for config %zu (second run %lld/%lld, "
                            "active %lld -> %lld, archived found %zu/%zu)\n",
                    i, (long long)r->second_clusters, (long long)r->second_archived,
                    (long long)r->before.active, (long long)r->after.active, r->found,
                    ds.n_corpora);
            rc = 1;
        }
    }
cleanup:
    if (f && f != stdout)
        fclose(f);
    mn__bpe_close(bpe);
    bt_dataset_free(&ds);
    if (strcmp(tmpl, "/tmp/mnemo-compress-XXXXXX"))
        rmdir(tmpl);
    return rc;
}

/* context.c - bench/context: what mn_context_build puts in front of the LLM on the LoCoMo
 * dev conversations (shared/data). Each conversation is one user; every question gets a
 * context at 500 and 1000 tokens. Reported: the share of questions whose context holds an
 * evidence turn (or a summary of one), the tokens injected against the tokens of the whole
 * conversation (exact BPE, cl100k_base), and the score distributions that set the default
 * relevance threshold: evidence hits, other hits, and hits of unrelated questions (the
 * questions of another conversation, LoCoMo's adversarial category, off-topic questions).
 * --verify recounts every prompt and checks the budget and the section rules.
 * Usage: context [--data DIR] [--out FILE] [--embedder NAME] [--verify] [--no-compact]
 * Links the retrieval harness's loaders; a client of mnemo.h plus the token counter. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../../src/context/context.h"
#include "../retrieval/bench.h"

#define K_SEARCH 20
#define N_BUDGETS 2
static const int budgets[N_BUDGETS] = {500, 1000};
static const double sweep_t[] = {0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5};
#define N_SWEEP (sizeof sweep_t / sizeof sweep_t[0])

/* Questions about nothing a chat between friends would hold: the context of each must be
 * empty. Asked of every conversation. */
static const char *const off_topic[] = {
    "What is the capital of Australia?",
    "How do I reverse a linked list in C?",
    "What is the boiling point of water at sea level in Fahrenheit?",
    "Explain how photosynthesis works in plants.",
    "Convert 100 degrees Fahrenheit to Celsius.",
    "Who wrote the Odyssey?",
    "What is the time complexity of quicksort in the worst case?",
    "How many moons does Jupiter have?",
    "What is the derivative of sin(x)?",
    "How does TCP congestion control work?",
    "What is the chemical formula of table salt?",
    "Which planet is closest to the sun?",
    "How do I configure a PostgreSQL replication slot?",
    "What is the difference between a mutex and a semaphore?",
    "When did the Roman Empire fall?",
    "What is the speed of light in a vacuum?",
    "How do I compute a SHA-256 checksum on Linux?",
    "What causes the tides on Earth?",
    "What is the square root of 1764?",
    "Which enzyme breaks down starch in saliva?",
    "How many bytes are in a kilobyte according to the IEC?",
    "What is the tallest mountain in South America?",
    "How does a Bloom filter work?",
    "What is the GDP of Norway?",
    "Explain the Pythagorean theorem.",
    "What is the atomic number of carbon?",
    "How do vaccines train the immune system?",
    "What programming language is the Linux kernel written in?",
    "What is the longest river in Africa?",
    "How is interest compounded monthly calculated?",
};
#define N_OFF_TOPIC (sizeof off_topic / sizeof off_topic[0])

typedef struct opts {
    const char *data_dir, *out, *embedder;
    bool verify, compact;
} opts;

/* A growable list of scores. */
typedef struct dist {
    double *v;
    size_t n, cap;
} dist;

static void dist_add(dist *d, double x)
{
    bt_grow((void **)&d->v, &d->cap, d->n + 1, sizeof *d->v);
    d->v[d->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const dist *d, double q)
{
    if (!d->n)
        return NAN;
    return d->v[(size_t)(q * (double)(d->n - 1) + 0.5)];
}

/* Per-question score data of the search the context builder runs (top K_SEARCH). */
typedef struct scores {
    dist ev_hit, other_hit;   /* every hit of a scored question: evidence or not */
    dist best_ev;             /* per scored question: best score of an evidence hit (-1: none) */
    dist top_conv, top_adv, top_off; /* per unrelated question: its best hit (0: none) */
    dist conv_hit, adv_hit, off_hit; /* every hit of unrelated questions */
} scores;

/* A context run at one budget. */
typedef struct ctx_acc {
    size_t n_q, n_hit;        /* scored questions, those with evidence in the context */
    size_t cat_n[BT_MAX_CATS], cat_hit[BT_MAX_CATS];
    double tokens_sum;        /* tokens injected (the whole block), summed */
    double mem_tokens_sum;    /* the same without the question section */
    double history_sum;       /* tokens of the question's whole conversation, summed */
    double items_sum;
    size_t n_unrel, n_unrel_injected; /* unrelated questions and those given any memory */
    size_t n_off, n_off_injected;
} ctx_acc;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
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
        fprintf(stderr, "context: adding %s: %s\n", c->user_id, e.msg);
    free(items);
    return rc;
}

/* The whole conversation as a naive app would send it: one dated line per turn, the same
 * line format the context uses, counted exactly. */
static double history_tokens(const mn__bpe *bpe, const bt_corpus *c)
{
    size_t i, n, total = 0;
    char *line = NULL;
    size_t cap = 0;
    for (i = 0; i < c->n_turns; i++) {
        const bt_turn *t = &c->turns[i];
        char date[32];
        const char *spk = t->metadata_json ? strstr(t->metadata_json, "\"speaker\":\"") : NULL;
        int spk_len = 0;
        size_t need = strlen(t->text) + 256;
        if (spk) {
            spk += 11;
            spk_len = (int)strcspn(spk, "\"");
        }
        bt_grow((void **)&line, &cap, need, 1);
        mn__fmt_date_human(t->created_at_ms, date);
        snprintf(line, cap, "- [%s] %.*s%s%s\n", date, spk_len, spk ? spk : "",
                 spk ? ": " : "", t->text);
        mn__bpe_count(bpe, line, strlen(line), &n);
        total += n;
    }
    free(line);
    return (double)total;
}

/* Every candidate of the builder with its relevance: no threshold, no budget to speak of. */
static mn_context *candidates(mn_db *db, const char *user, const char *query)
{
    mn_context_opts co;
    mn_context *x = NULL;
    mn_err e;
    mn_context_opts_init(&co);
    co.user_id = user;
    co.query = query;
    co.k = K_SEARCH;
    co.min_score = 0;
    co.max_tokens = MN_CONTEXT_MAX_TOKENS;
    if (mn_context_build(db, &co, &x, &e)) {
        fprintf(stderr, "context: build for %s: %s\n", user, e.msg);
        exit(1);
    }
    return x;
}

static void collect_unrelated(mn_db *db, const char *user, const char *query, dist *top,
                              dist *all)
{
    mn_context *x = candidates(db, user, query);
    double best = 0;
    size_t i;
    for (i = 0; i < x->n_items; i++) {
        dist_add(all, x->items[i].relevance);
        if (x->items[i].relevance > best)
            best = x->items[i].relevance;
    }
    dist_add(top, best);
    mn_context_free(x);
}

static void collect_scores(mn_db *db, const bt_dataset *ds, scores *s)
{
    size_t qi, i;
    for (qi = 0; qi < ds->n_questions; qi++) {
        const bt_question *q = &ds->questions[qi];
        const bt_corpus *c = &ds->corpora[q->corpus];
        const bt_corpus *other = &ds->corpora[(q->corpus + 1) % ds->n_corpora];
        mn_context *x;
        double best = -1;
        if (!ds->cats[q->cat].scored) {
            collect_unrelated(db, c->user_id, q->text, &s->top_adv, &s->adv_hit);
            continue;
        }
        x = candidates(db, c->user_id, q->text);
        for (i = 0; i < x->n_items; i++) {
            double r = x->items[i].relevance;
            bool ev = bt_is_evidence(q, bt_turn_of(c, x->items[i].id));
            dist_add(ev ? &s->ev_hit : &s->other_hit, r);
            if (ev && r > best)
                best = r;
        }
        dist_add(&s->best_ev, best);
        mn_context_free(x);
        if (ds->n_corpora > 1)
            collect_unrelated(db, other->user_id, q->text, &s->top_conv, &s->conv_hit);
    }
    for (i = 0; i < ds->n_corpora; i++)
        for (qi = 0; qi < N_OFF_TOPIC; qi++)
            collect_unrelated(db, ds->corpora[i].user_id, off_topic[qi], &s->top_off,
                              &s->off_hit);
}

static void sort_all(scores *s)
{
    dist *all[] = {&s->ev_hit,  &s->other_hit, &s->best_ev, &s->top_conv, &s->top_adv,
                   &s->top_off, &s->conv_hit,  &s->adv_hit, &s->off_hit};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        qsort(all[i]->v, all[i]->n, sizeof(double), cmp_double);
}

/* Budget, section and content checks of one context (--verify). */
static int verify_ctx(const mn__bpe *bpe, const mn_context *x, int budget, const char *what)
{
    size_t n = 0, i, j;
    int last = 0;
    mn__bpe_count(bpe, x->prompt, x->prompt_len, &n);
    if (n != x->n_tokens || n > (size_t)budget || x->estimated) {
        fprintf(stderr, "context: verify %s: %zu tokens recounted, %zu reported, budget %d\n",
                what, n, x->n_tokens, budget);
        return -1;
    }
    for (i = 0; i < x->n_items; i++) {
        if ((int)x->items[i].section < last || x->items[i].scope != MN_SCOPE_USER) {
            fprintf(stderr, "context: verify %s: item %zu out of section order\n", what, i);
            return -1;
        }
        last = (int)x->items[i].section;
        for (j = 0; j < i; j++)
            if (x->items[j].id == x->items[i].id) {
                fprintf(stderr, "context: verify %s: id %lld twice\n", what,
                        (long long)x->items[i].id);
                return -1;
            }
    }
    if (!strstr(x->prompt, "Current question:\n")) {
        fprintf(stderr, "context: verify %s: no question section\n", what);
        return -1;
    }
    return 0;
}

static mn_context *build(mn_db *db, const char *user, const char *query, int budget,
                         double min_score)
{
    mn_context_opts co;
    mn_context *x = NULL;
    mn_err e;
    mn_context_opts_init(&co);
    co.user_id = user;
    co.query = query;
    co.max_tokens = budget;
    co.k = K_SEARCH;
    co.model = "gpt-4";
    if (min_score >= 0)
        co.min_score = min_score;
    if (mn_context_build(db, &co, &x, &e)) {
        fprintf(stderr, "context: build for %s: %s\n", user, e.msg);
        exit(1);
    }
    return x;
}

/* An evidence turn is in the context itself or among the sources of a summary in it. */
static bool has_evidence(const bt_corpus *c, const bt_question *q, const mn_context *x,
                         mn_db *db)
{
    size_t i, j;
    for (i = 0; i < x->n_items; i++) {
        const mn_context_item *it = &x->items[i];
        if (bt_is_evidence(q, bt_turn_of(c, it->id)))
            return true;
        if (it->kind == MN_KIND_SUMMARY) {
            mn_results *r = NULL;
            mn_err e;
            bool found = false;
            if (mn_memory_get(db, NULL, c->user_id, it->id, &r, &e) == MN_OK && r->n)
                for (j = 0; j < r->hits[0].mem.n_sources && !found; j++)
                    found = bt_is_evidence(q, bt_turn_of(c, r->hits[0].mem.sources[j]));
            mn_results_free(r);
            if (found)
                return true;
        }
    }
    return false;
}

static int run_contexts(mn_db *db, const mn__bpe *bpe, const bt_dataset *ds,
                        const double *hist, double min_score, bool verify, ctx_acc *acc)
{
    size_t qi, b, i;
    for (b = 0; b < N_BUDGETS; b++) {
        ctx_acc *a = &acc[b];
        memset(a, 0, sizeof *a);
        for (qi = 0; qi < ds->n_questions; qi++) {
            const bt_question *q = &ds->questions[qi];
            const bt_corpus *c = &ds->corpora[q->corpus];
            size_t other = (q->corpus + 1) % ds->n_corpora;
            mn_context *x;
            if (!ds->cats[q->cat].scored)
                continue;
            x = build(db, c->user_id, q->text, budgets[b], min_score);
            if (verify && verify_ctx(bpe, x, budgets[b], q->text))
                return -1;
            bool hit = has_evidence(c, q, x, db);
            a->n_q++;
            a->n_hit += hit;
            a->cat_n[q->cat]++;
            a->cat_hit[q->cat] += hit;
            a->tokens_sum += (double)x->n_tokens;
            if (x->memories_len) {
                size_t mt = 0;
                mn__bpe_count(bpe, x->memories, x->memories_len, &mt);
                a->mem_tokens_sum += (double)mt;
            }
            a->history_sum += hist[q->corpus];
            a->items_sum += (double)x->n_items;
            mn_context_free(x);
            if (ds->n_corpora > 1) {
                x = build(db, ds->corpora[other].user_id, q->text, budgets[b], min_score);
                a->n_unrel++;
                a->n_unrel_injected += x->n_items > 0;
                mn_context_free(x);
            }
        }
        for (i = 0; i < ds->n_corpora; i++)
            for (qi = 0; qi < N_OFF_TOPIC; qi++) {
                mn_context *x = build(db, ds->corpora[i].user_id, off_topic[qi], budgets[b],
                                      min_score);
                if (verify && verify_ctx(bpe, x, budgets[b], off_topic[qi]))
                    return -1;
                a->n_off++;
                a->n_off_injected += x->n_items > 0;
                mn_context_free(x);
            }
    }
    return 0;
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
        else if (!strcmp(a, "--embedder") && i + 1 < argc)
            o->embedder = argv[++i];
        else if (!strcmp(a, "--verify"))
            o->verify = true;
        else if (!strcmp(a, "--no-compact"))
            o->compact = false;
        else {
            fprintf(stderr, "usage: context [--data DIR] [--out FILE] [--embedder NAME] "
                            "[--verify] [--no-compact]\n");
            return -1;
        }
    }
    return 0;
}

static void dist_row(FILE *f, const char *name, const dist *d)
{
    fprintf(f, "| %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f |\n", name, d->n,
            quantile(d, 0.1), quantile(d, 0.25), quantile(d, 0.5), quantile(d, 0.75),
            quantile(d, 0.9));
}

static void acc_rows(FILE *f, const char *label, const ctx_acc *acc)
{
    size_t b;
    for (b = 0; b < N_BUDGETS; b++) {
        const ctx_acc *a = &acc[b];
        double used = a->tokens_sum / (double)a->n_q, hist = a->history_sum / (double)a->n_q;
        fprintf(f, "| %s | %d | %.3f | %.0f | %.0f | %.0f | %.1f%% | %.1f | %.3f | %.3f |\n",
                label, budgets[b], (double)a->n_hit / (double)a->n_q, used,
                a->mem_tokens_sum / (double)a->n_q, hist, 100.0 * (1.0 - used / hist),
                a->items_sum / (double)a->n_q,
                a->n_unrel ? (double)a->n_unrel_injected / (double)a->n_unrel : 0.0,
                a->n_off ? (double)a->n_off_injected / (double)a->n_off : 0.0);
    }
}

static const char *acc_header =
    "| run | max_tokens | evidence in context | tokens used | memory tokens | whole "
    "conversation | fewer tokens | items | other-conversation questions given memories | "
    "off-topic questions given memories |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

static void write_report(FILE *f, const opts *o, const bt_dataset *ds, const scores *s,
                         double def, const ctx_acc *main_acc, const ctx_acc *all_acc,
                         const ctx_acc *compact_acc, const mn_db_info *info, double hist_mean,
                         ctx_acc (*sweep_acc)[N_BUDGETS], size_t n_sweep)
{
    struct utsname u;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    size_t i, c;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    if (uname(&u) != 0)
        snprintf(u.machine, sizeof u.machine, "?");
    fprintf(f, "# Context benchmark\n\nGenerated by `build/bench/context` (`make bench-context`); "
               "source in `bench/context/`.\n\n");
    fprintf(f, "- commit: %s\n", getenv("MNEMO_BENCH_COMMIT") ? getenv("MNEMO_BENCH_COMMIT")
                                                                 : "(not given)");
    fprintf(f, "- date: %s\n- machine: %s, %ld cores\n- data: LoCoMo dev, %zu conversations, "
               "%zu memories (one per turn), %zu scored questions (categories 1-4), %zu "
               "adversarial questions (category 5) used as unrelated\n",
            when, u.machine, sysconf(_SC_NPROCESSORS_ONLN), ds->n_corpora, ds->n_memories,
            main_acc[0].n_q, s->top_adv.n);
    fprintf(f, "- embedder: %s (%s), search mode default (hybrid), k = %d per search; "
               "tokens exact BPE cl100k_base (model gpt-4)\n",
            info->embedder, info->model_id, K_SEARCH);
    fprintf(f, "- whole conversation: every turn as the context would show it (`- [date] "
               "speaker: text`), %.0f tokens on average per question\n",
            hist_mean);
    fprintf(f, "- default relevance threshold (min_score): %.2f%s\n\n", def,
            o->verify ? "; --verify: every prompt recounted, within budget, sections in order"
                      : "");

    fprintf(f, "## Context at the default threshold\n\n"
               "Evidence in context: share of scored questions whose context holds an evidence "
               "turn (or a summary whose sources hold one). Tokens used: the whole block with "
               "the question, exact count. Fewer tokens: 1 - used / whole conversation. The "
               "last two columns: share of questions given at least one memory when asked of "
               "a conversation they are not about (should be 0).\n\n%s",
            acc_header);
    acc_rows(f, "default threshold", main_acc);
    acc_rows(f, "no threshold (min_score 0)", all_acc);
    if (compact_acc) {
        acc_rows(f, "after mn_compact (default threshold)", compact_acc);
        acc_rows(f, "after mn_compact (min_score 0)", compact_acc + N_BUDGETS);
    }
    fprintf(f, "\nEvidence in context per category (default threshold):\n\n"
               "| category | n | 500 | 1000 |\n|---|---:|---:|---:|\n");
    for (c = 0; c < (size_t)ds->n_cats; c++) {
        if (!main_acc[0].cat_n[c])
            continue;
        fprintf(f, "| %s | %zu | %.3f | %.3f |\n", ds->cats[c].name, main_acc[0].cat_n[c],
                (double)main_acc[0].cat_hit[c] / (double)main_acc[0].cat_n[c],
                (double)main_acc[1].cat_hit[c] / (double)main_acc[1].cat_n[c]);
    }

    fprintf(f, "\n## Relevance distributions (candidates of the top %d search hits)\n\n"
               "| hits | n | p10 | p25 | p50 | p75 | p90 |\n|---|---:|---:|---:|---:|---:|---:|\n",
            K_SEARCH);
    dist_row(f, "evidence hits", &s->ev_hit);
    dist_row(f, "other hits of the same questions", &s->other_hit);
    dist_row(f, "best evidence hit per question (-1: none in top 20)", &s->best_ev);
    dist_row(f, "hits of questions asked of another conversation", &s->conv_hit);
    dist_row(f, "hits of adversarial questions (category 5)", &s->adv_hit);
    dist_row(f, "hits of off-topic questions", &s->off_hit);
    dist_row(f, "best hit, question of another conversation", &s->top_conv);
    dist_row(f, "best hit, adversarial question", &s->top_adv);
    dist_row(f, "best hit, off-topic question", &s->top_off);

    fprintf(f, "\n## Threshold sweep\n\nmn_context_build with min_score t (the question's best "
               "candidate must reach t, every further one t x %.2f), at both budgets; the last "
               "columns: share of unrelated questions given at least one memory.\n\n"
               "| t | evidence at 500 | evidence at 1000 | tokens at 1000 | other-conversation "
               "injected | off-topic injected |\n|---:|---:|---:|---:|---:|---:|\n",
            MN__CTX_FLOOR_SHARE);
    for (i = 0; i < n_sweep; i++) {
        const ctx_acc *a = sweep_acc[i];
        fprintf(f, "| %.2f | %.3f | %.3f | %.0f | %.3f | %.3f |\n", sweep_t[i],
                (double)a[0].n_hit / (double)a[0].n_q, (double)a[1].n_hit / (double)a[1].n_q,
                a[1].tokens_sum / (double)a[1].n_q,
                (double)a[1].n_unrel_injected / (double)a[1].n_unrel,
                (double)a[1].n_off_injected / (double)a[1].n_off);
    }
    fprintf(f, "\nThe choice of the default and its reasons are in docs/CONTEXT.md.\n");
}

int main(int argc, char **argv)
{
    opts o = {NULL, NULL, "builtin", false, true};
    bt_dataset ds;
    char path[PATH_MAX], dir[] = "/tmp/mnemo-bench-context-XXXXXX", dbpath[PATH_MAX];
    mn__bpe *bpe = NULL;
    mn_db_opts dbo;
    mn_db *db = NULL;
    mn_db_info info;
    mn_context_opts defaults;
    mn_err e;
    scores s;
    ctx_acc main_acc[N_BUDGETS], all_acc[N_BUDGETS];
    ctx_acc compact_acc[2 * N_BUDGETS]; /* default threshold, then min_score 0 */
    ctx_acc sweep_acc[N_SWEEP][N_BUDGETS];
    double *hist = NULL, hist_mean = 0;
    bool compacted = false;
    size_t i;
    int rc = 1;
    FILE *f = stdout;

    memset(&ds, 0, sizeof ds);
    memset(&s, 0, sizeof s);
    dbpath[0] = '\0';
    if (parse(argc, argv, &o))
        return 2;
    if (!o.data_dir)
        o.data_dir = is_dir("../shared/data") ? "../shared/data" : "../../shared/data";
    snprintf(path, sizeof path, "%s/locomo_dev.json.gz", o.data_dir);
    if (bt_load_locomo(path, 0, &ds))
        goto cleanup;
    if (mn__bpe_open("cl100k_base", NULL, &bpe, &e)) {
        fprintf(stderr, "context: %s; %s\n", e.msg, e.hint);
        goto cleanup;
    }
    if (!mkdtemp(dir)) {
        perror("context: mkdtemp");
        goto cleanup;
    }
    snprintf(dbpath, sizeof dbpath, "%s/context.db", dir);
    mn_db_opts_init(&dbo);
    dbo.path = dbpath;
    dbo.embedder = o.embedder;
    dbo.sync_normal = true; /* a throwaway file */
    if (mn_db_open(&dbo, &db, &e)) {
        fprintf(stderr, "context: open: %s\n", e.msg);
        goto cleanup;
    }
    mn_db_info_get(db, &info, &e);
    hist = bt_calloc(ds.n_corpora, sizeof *hist);
    for (i = 0; i < ds.n_corpora; i++) {
        if (ingest(db, &ds.corpora[i]))
            goto cleanup;
        hist[i] = history_tokens(bpe, &ds.corpora[i]);
    }
    collect_scores(db, &ds, &s);
    sort_all(&s);
    mn_context_opts_init(&defaults);
    if (run_contexts(db, bpe, &ds, hist, -1, o.verify, main_acc) ||
        run_contexts(db, bpe, &ds, hist, 0, o.verify, all_acc))
        goto cleanup;
    for (i = 0; i < N_SWEEP; i++)
        if (run_contexts(db, bpe, &ds, hist, sweep_t[i], false, sweep_acc[i]))
            goto cleanup;
    if (o.compact) {
        for (i = 0; i < ds.n_corpora; i++) {
            mn_compact_opts co;
            mn_compact_opts_init(&co);
            co.user_id = ds.corpora[i].user_id;
            if (mn_compact(db, &co, NULL, &e)) {
                fprintf(stderr, "context: compact %s: %s\n", co.user_id, e.msg);
                goto cleanup;
            }
        }
        if (run_contexts(db, bpe, &ds, hist, -1, o.verify, compact_acc) ||
            run_contexts(db, bpe, &ds, hist, 0, o.verify, compact_acc + N_BUDGETS))
            goto cleanup;
        compacted = true;
    }
    hist_mean = main_acc[0].history_sum / (double)main_acc[0].n_q;
    if (o.out && !(f = fopen(o.out, "w"))) {
        perror(o.out);
        goto cleanup;
    }
    write_report(f, &o, &ds, &s, defaults.min_score, main_acc, all_acc,
                 compacted ? compact_acc : NULL, &info, hist_mean, sweep_acc, N_SWEEP);
    if (f != stdout)
        fclose(f);
    for (i = 0; i < N_BUDGETS; i++)
        fprintf(stderr, "context: max_tokens %d: evidence %.3f, %.0f tokens used of %.0f "
                        "(%.1f%% fewer); unrelated given memories %.3f, off-topic %.3f\n",
                budgets[i], (double)main_acc[i].n_hit / (double)main_acc[i].n_q,
                main_acc[i].tokens_sum / (double)main_acc[i].n_q, hist_mean,
                100.0 * (1.0 - main_acc[i].tokens_sum / main_acc[i].history_sum),
                (double)main_acc[i].n_unrel_injected / (double)main_acc[i].n_unrel,
                (double)main_acc[i].n_off_injected / (double)main_acc[i].n_off);
    rc = 0;
cleanup:
    mn_db_close(db);
    if (dbpath[0] && db) {
        char side[PATH_MAX + 8];
        unlink(dbpath);
        snprintf(side, sizeof side, "%s-wal", dbpath);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", dbpath);
        unlink(side);
        rmdir(dir);
    }
    mn__bpe_close(bpe);
    free(hist);
    bt_dataset_free(&ds);
    return rc;
}

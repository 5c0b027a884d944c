/* bench.h - shared types of the retrieval harness: the evaluation datasets as loaded from
 * shared/data (corpora of turns, questions with evidence), the plain BM25 baseline, the
 * runner that scores every system and the markdown report. A client of mnemo.h only. */
#ifndef BENCH_RETRIEVAL_H
#define BENCH_RETRIEVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mnemo.h"

#define BT_K 10          /* every system returns its top 10; hit/recall at 5 and 10 */
#define BT_MAX_CATS 16

/* ---- util.c ------------------------------------------------------------------------- */
/* The harness is a program, not the library: out of memory ends it with a message. */
void *bt_malloc(size_t n);
void *bt_calloc(size_t n, size_t size);
void *bt_realloc(void *p, size_t n);
char *bt_strdup(const char *s);
char *bt_strndup(const char *s, size_t n);
/* Grows *arr (element size `size`) so that it holds at least `need` elements. */
void bt_grow(void **arr, size_t *cap, size_t need, size_t size);
int64_t bt_now_ns(void);
/* Milliseconds since the epoch of a UTC civil time; month 1..12. */
int64_t bt_civil_ms(int year, int month, int day, int hour, int minute);
/* "1:56 pm on 8 May, 2023" (LoCoMo). 0 on success, -1 when malformed. */
int bt_parse_locomo_date(const char *s, int64_t *out_ms);
/* "2023/05/20 (Sat) 02:21" (LongMemEval). 0 on success, -1 when malformed. */
int bt_parse_lme_date(const char *s, int64_t *out_ms);
/* Reads a whole gzip (or plain) file into a NUL-terminated buffer. 0 or -1 with errno. */
int bt_read_gz(const char *path, char **out, size_t *out_len);

/* ---- data --------------------------------------------------------------------------- */
typedef struct bt_turn {
    char *text;
    mn_role role;
    char *session_id;
    int64_t created_at_ms;
    char *metadata_json; /* NULL when none */
    int dia_s, dia_t;    /* LoCoMo "D<s>:<t>"; 0 for LongMemEval */
} bt_turn;

/* One user's memories: a LoCoMo conversation or a LongMemEval haystack. Sessions are
 * contiguous runs of turns [sess_start[i], sess_start[i+1]). */
typedef struct bt_corpus {
    char *user_id;
    bt_turn *turns;
    size_t n_turns, cap_turns;
    size_t *sess_start;
    size_t n_sess, cap_sess;
    mn_id *ids;          /* mnemo id of each turn, after ingest */
    size_t text_bytes;
} bt_corpus;

typedef struct bt_question {
    size_t corpus;       /* index in bt_dataset.corpora; questions are sorted by corpus */
    char *text;
    int cat;             /* index in bt_dataset.cats */
    size_t *evidence;    /* turn indexes in the corpus, distinct */
    size_t n_evidence;
    int64_t asked_ms;    /* when the question is asked (LongMemEval's question_date); 0: now */
} bt_question;

typedef struct bt_category {
    char *name;
    bool scored;         /* false: reported apart, not in the overall figures */
} bt_category;

typedef struct bt_dataset {
    const char *name;    /* "locomo", "longmemeval" */
    const char *unit;    /* "conversation", "haystack" */
    bt_corpus *corpora;
    size_t n_corpora, cap_corpora;
    bt_question *questions;
    size_t n_questions, cap_questions;
    bt_category cats[BT_MAX_CATS];
    int n_cats;
    size_t n_unscored_no_evidence; /* questions dropped because no evidence id resolved */
    size_t n_abstention;           /* LongMemEval _abs questions, counted apart */
    size_t n_memories;
} bt_dataset;

/* Loaders. `limit` (0: all) bounds the questions that enter the overall scores; only the
 * corpora those questions need are loaded. On error they print one line to stderr and
 * return -1; the dataset is then released by the caller with bt_dataset_free. */
int bt_load_locomo(const char *path, size_t limit, bt_dataset *out);
int bt_load_longmemeval(const char *path, size_t limit, bt_dataset *out);
void bt_dataset_free(bt_dataset *d);

/* Helpers shared by the loaders (data.c). */
bt_corpus *bt_corpus_add(bt_dataset *d, const char *user_id);
void bt_corpus_pop(bt_dataset *d); /* drops the last corpus added */
/* Copy of s[0..len) cut to at most max_bytes on a UTF-8 character boundary. */
char *bt_clip_text(const char *s, size_t len, size_t max_bytes);
bt_turn *bt_turn_add(bt_corpus *c);
void bt_session_begin(bt_corpus *c);
bt_question *bt_question_add(bt_dataset *d);
int bt_cat_index(bt_dataset *d, const char *name, bool scored);
/* Index of the turn of memory `id` in c (c->ids ascend in turn order after ingest), or -1. */
long bt_turn_of(const bt_corpus *c, mn_id id);
/* Whether turn (an index from bt_turn_of; -1 is never) is evidence of q. */
bool bt_is_evidence(const bt_question *q, long turn);

/* ---- bm25.c: the plain baseline ----------------------------------------------------- */
typedef struct bt_bm25 bt_bm25;
/* Indexes the turns of c: lower-cased ASCII [a-z0-9]+ tokens, no stemming; `stopwords`
 * drops a standard English stopword list from documents and queries. k1 1.2, b 0.75. */
bt_bm25 *bt_bm25_build(const bt_corpus *c, bool stopwords);
/* Fills out_turns with up to k turn indexes, best first; returns how many. */
size_t bt_bm25_search(bt_bm25 *ix, const char *query, size_t k, size_t *out_turns);
void bt_bm25_free(bt_bm25 *ix);
bool bt_is_stopword(const char *w, size_t len);

/* ---- runner.c ----------------------------------------------------------------------- */
enum {
    BT_SYS_BM25 = 0,
    BT_SYS_BM25_STOP,
    BT_SYS_KEYWORD,
    BT_SYS_VECTOR,
    BT_SYS_HYBRID,
    BT_SYS_DEFAULT,
    BT_N_SYS
};

typedef struct bt_acc {
    size_t n;
    double hit5, hit10, rec5, rec10;
} bt_acc;

typedef struct bt_sys_result {
    const char *name;
    bt_acc overall;
    bt_acc cats[BT_MAX_CATS];
    double *lat_ns;        /* one per query */
    size_t n_lat, cap_lat;
    double tokens_sum;     /* approximate prompt tokens of the returned top 10 */
    size_t n_fallback;     /* mnemo ran another mode than asked (vector without model) */
    char note[160];        /* the library's note of the first fallback */
    bool ran;
} bt_sys_result;

typedef struct bt_run_cfg {
    const char *db_dir;
    const char *embedder;
    const char *extract; /* mn_db_opts.extract: NULL (off) or "rules" */
} bt_run_cfg;

typedef struct bt_run {
    const bt_dataset *ds;
    bt_sys_result sys[BT_N_SYS];
    double ingest_s;
    double history_tokens_sum; /* tokens of a question's whole corpus, summed over questions */
    size_t n_questions;        /* scored + apart, as run */
    char embedder[64], model_id[96], vector_note[192], kernel[16];
    int dim;
    bt_sys_result scale; /* latencies of the questions asked of one BT_SCALE_N-memory user */
    size_t scale_n;      /* memories that user holds (fewer when the dataset is smaller) */
} bt_run;

/* Loads ds into a fresh mnemo database under cfg->db_dir (recording the ids in ds's
 * corpora), runs every question through every system. 0 on success; -1 after printing
 * the library's error. */
int bt_run_dataset(const bt_run_cfg *cfg, bt_dataset *ds, bt_run *out);
/* ---- scale.c ----------------------------------------------------------------------- */
#define BT_SCALE_N 1000
/* Adds one user holding the dataset's first BT_SCALE_N turns to db and times every question
 * asked of it (default mode) into out->scale. 0, or -1 after printing the error. */
int bt_run_scale(mn_db *db, const bt_dataset *ds, bt_run *out);

/* The two BM25 baselines alone, without a database (--baseline-only). */
void bt_run_baselines(const bt_dataset *ds, bt_run *out);
void bt_run_free(bt_run *r);
/* Approximate prompt tokens of a text: bytes / 4, rounded up. */
double bt_tokens_approx(size_t bytes);

/* ---- report.c ----------------------------------------------------------------------- */
typedef struct bt_report_cfg {
    const char *data_dir;
    const char *embedder;
    const char *dataset;
    size_t limit;
    const char *db_dir;
    const char *extract; /* NULL: extraction off */
} bt_report_cfg;

/* Writes the markdown report of the runs to f. */
void bt_report_write(FILE *f, const bt_report_cfg *cfg, const bt_run *runs, size_t n_runs);

#endif /* BENCH_RETRIEVAL_H */

/* longmemeval.c - loads LongMemEval-S (longmemeval_s_dev.jsonl.gz): per question a fresh
 * user holding every turn of its haystack sessions, evidence = the turns flagged has_answer;
 * abstention questions (_abs) are only counted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"

/* Fixed order so the per-type table reads the same on every run; unknown types follow. */
static const char *const known_types[] = {
    "single-session-user", "single-session-assistant", "single-session-preference",
    "multi-session",       "knowledge-update",         "temporal-reasoning",
};

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static void push_evidence(bt_question *q, size_t turn)
{
    q->evidence = bt_realloc(q->evidence, (q->n_evidence + 1) * sizeof *q->evidence);
    q->evidence[q->n_evidence++] = turn;
}

/* Loads the haystack of one question into corpus c and its evidence into q. */
static int load_haystack(const char *qid, const cJSON *obj, bt_corpus *c, bt_question *q)
{
    const cJSON *sids = cJSON_GetObjectItemCaseSensitive(obj, "haystack_session_ids");
    const cJSON *dates = cJSON_GetObjectItemCaseSensitive(obj, "haystack_dates");
    const cJSON *sess = cJSON_GetObjectItemCaseSensitive(obj, "haystack_sessions");
    int n = cJSON_GetArraySize(sess), i;

    if (!cJSON_IsArray(sess) || cJSON_GetArraySize(sids) != n ||
        cJSON_GetArraySize(dates) != n) {
        fprintf(stderr,
                "retrieval: LongMemEval %s: expected haystack_sessions, haystack_session_ids "
                "and haystack_dates arrays of one length\n",
                qid);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const cJSON *turns = cJSON_GetArrayItem(sess, i), *t;
        const cJSON *sid = cJSON_GetArrayItem(sids, i), *date = cJSON_GetArrayItem(dates, i);
        int64_t ms;
        bool begun = false;

        if (!cJSON_IsString(sid) || !cJSON_IsString(date) ||
            bt_parse_lme_date(date->valuestring, &ms) != 0) {
            fprintf(stderr,
                    "retrieval: LongMemEval %s session %d: expected a session id and a date "
                    "like '2023/05/20 (Sat) 02:21', found '%s'\n",
                    qid, i, cJSON_IsString(date) ? date->valuestring : "(missing)");
            return -1;
        }
        cJSON_ArrayForEach(t, turns)
        {
            const char *role = str_of(t, "role"), *content = str_of(t, "content");
            bt_turn *bt;
            if (!role || !content) {
                fprintf(stderr,
                        "retrieval: LongMemEval %s session %s: a turn lacks role or content\n",
                        qid, sid->valuestring);
                return -1;
            }
            if (!*content)
                continue; /* the library rejects empty texts; nothing to retrieve */
            if (!begun) {
                bt_session_begin(c);
                begun = true;
            }
            bt = bt_turn_add(c);
            bt->text = bt_clip_text(content, strlen(content), MN_DEFAULT_TEXT_BYTES);
            bt->role = strcmp(role, "assistant") == 0 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
            bt->session_id = bt_strdup(sid->valuestring);
            bt->created_at_ms = ms;
            c->text_bytes += strlen(bt->text);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "has_answer")))
                push_evidence(q, c->n_turns - 1);
        }
    }
    return 0;
}

/* One JSONL line. Returns 1 when it produced a scored question, 0 when not, -1 on error. */
static int load_line(bt_dataset *d, const char *line, size_t len, size_t lineno)
{
    cJSON *obj = cJSON_ParseWithLength(line, len);
    const char *qid, *qtype, *text;
    bt_corpus *c;
    bt_question *q;
    int rc = -1;

    if (!cJSON_IsObject(obj)) {
        fprintf(stderr, "retrieval: LongMemEval line %zu: expected a JSON object\n", lineno);
        goto cleanup;
    }
    qid = str_of(obj, "question_id");
    qtype = str_of(obj, "question_type");
    text = str_of(obj, "question");
    if (!qid || !qtype || !text || !*text) {
        fprintf(stderr,
                "retrieval: LongMemEval line %zu: expected question_id, question_type and "
                "question strings\n",
                lineno);
        goto cleanup;
    }
    if (ends_with(qid, "_abs")) {
        d->n_abstention++;
        rc = 0;
        goto cleanup;
    }
    c = bt_corpus_add(d, qid);
    q = bt_question_add(d);
    q->corpus = d->n_corpora - 1;
    q->text = bt_strdup(text);
    if (!str_of(obj, "question_date") ||
        bt_parse_lme_date(str_of(obj, "question_date"), &q->asked_ms) != 0)
        q->asked_ms = 0;
    q->cat = bt_cat_index(d, qtype, true);
    if (q->cat < 0) {
        fprintf(stderr, "retrieval: LongMemEval: more than %d question types\n", BT_MAX_CATS);
        goto cleanup;
    }
    if (load_haystack(qid, obj, c, q) != 0)
        goto cleanup;
    if (q->n_evidence == 0) {
        free(q->text);
        d->n_questions--;
        bt_corpus_pop(d);
        d->n_unscored_no_evidence++;
        rc = 0;
        goto cleanup;
    }
    d->n_memories += c->n_turns;
    rc = 1;
cleanup:
    cJSON_Delete(obj);
    return rc;
}

int bt_load_longmemeval(const char *path, size_t limit, bt_dataset *d)
{
    char *buf = NULL, *p, *end;
    size_t len, n_scored = 0, lineno = 0, i;
    int rc = -1;

    d->name = "longmemeval";
    d->unit = "haystack";
    for (i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
        bt_cat_index(d, known_types[i], true);
    if (bt_read_gz(path, &buf, &len) != 0) {
        fprintf(stderr, "retrieval: cannot read %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    for (p = buf, end = buf + len; p < end && !(limit && n_scored >= limit);) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int r;
        lineno++;
        if (n > 0 && !(n == 1 && p[0] == '\r')) {
            r = load_line(d, p, n, lineno);
            if (r < 0)
                goto cleanup;
            n_scored += (size_t)r;
        }
        p += n + 1;
    }
    rc = 0;
cleanup:
    free(buf);
    return rc;
}

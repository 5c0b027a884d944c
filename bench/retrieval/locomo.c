/* locomo.c - loads LoCoMo (locomo_dev.json.gz): one user per conversation, one memory per
 * turn with the session date, questions of categories 1-4 scored and category 5
 * (adversarial) reported apart; evidence ids normalised as the data README says. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"

static const char *const cat_names[5] = {"1 multi-hop", "2 temporal", "3 open-domain",
                                         "4 single-hop", "5 adversarial"};

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parses "D<s>:<t>" at p (with an optional ':' after the D, as in a few malformed ids).
 * Returns the end of the match or NULL. */
static const char *match_dia(const char *p, int *s, int *t)
{
    long a = 0, b = 0;
    int n = 0;
    if (*p != 'D')
        return NULL;
    p++;
    if (*p == ':')
        p++;
    for (; isdigit((unsigned char)*p) && n < 6; p++, n++)
        a = a * 10 + (*p - '0');
    if (n == 0 || *p != ':')
        return NULL;
    p++;
    for (n = 0; isdigit((unsigned char)*p) && n < 6; p++, n++)
        b = b * 10 + (*p - '0');
    if (n == 0)
        return NULL;
    *s = (int)a;
    *t = (int)b;
    return p;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Session numbers present in the conversation ("session_N" keys), sorted. */
static size_t session_numbers(const cJSON *conv, int **out)
{
    const cJSON *it;
    int *v = NULL;
    size_t n = 0, cap = 0;
    cJSON_ArrayForEach(it, conv)
    {
        const char *k = it->string, *p;
        int num = 0;
        if (!k || strncmp(k, "session_", 8) != 0 || !cJSON_IsArray(it))
            continue;
        for (p = k + 8; isdigit((unsigned char)*p) && num < 100000; p++)
            num = num * 10 + (*p - '0');
        if (p == k + 8 || *p != '\0')
            continue;
        bt_grow((void **)&v, &cap, n + 1, sizeof *v);
        v[n++] = num;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_int);
    *out = v;
    return n;
}

static char *turn_text(const char *text, const char *caption)
{
    static const char pre[] = " [shares a photo: ";
    size_t lt = strlen(text), lc, n;
    char *s, *clipped;
    if (!caption || !*caption)
        return bt_clip_text(text, lt, MN_DEFAULT_TEXT_BYTES);
    lc = strlen(caption);
    n = lt + sizeof pre - 1 + lc + 1;
    s = bt_malloc(n + 1);
    snprintf(s, n + 1, "%s%s%s]", text, pre, caption);
    clipped = bt_clip_text(s, n, MN_DEFAULT_TEXT_BYTES);
    free(s);
    return clipped;
}

static char *turn_metadata(const char *speaker, const char *dia_id)
{
    cJSON *o = cJSON_CreateObject();
    char *js, *out;
    if (!o || !cJSON_AddStringToObject(o, "speaker", speaker) ||
        !cJSON_AddStringToObject(o, "dia_id", dia_id)) {
        fprintf(stderr, "retrieval: out of memory building metadata\n");
        exit(1);
    }
    js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!js) {
        fprintf(stderr, "retrieval: out of memory building metadata\n");
        exit(1);
    }
    out = bt_strdup(js);
    cJSON_free(js);
    return out;
}

static int load_turns(const char *sid, const cJSON *conv, bt_corpus *c)
{
    const char *spk_a = str_of(conv, "speaker_a"), *spk_b = str_of(conv, "speaker_b");
    int *nums = NULL;
    size_t n_sess = session_numbers(conv, &nums), i;
    int rc = -1;

    if (!spk_a || !spk_b) {
        fprintf(stderr, "retrieval: LoCoMo %s: expected speaker_a and speaker_b strings\n", sid);
        goto cleanup;
    }
    for (i = 0; i < n_sess; i++) {
        char key[64], sess_id[32];
        const char *date;
        const cJSON *turns, *t;
        int64_t ms;

        snprintf(key, sizeof key, "session_%d_date_time", nums[i]);
        snprintf(sess_id, sizeof sess_id, "session_%d", nums[i]);
        date = str_of(conv, key);
        if (!date || bt_parse_locomo_date(date, &ms) != 0) {
            fprintf(stderr,
                    "retrieval: LoCoMo %s: %s is '%s', expected a date like "
                    "'1:56 pm on 8 May, 2023'\n",
                    sid, key, date ? date : "(missing)");
            goto cleanup;
        }
        snprintf(key, sizeof key, "session_%d", nums[i]);
        turns = cJSON_GetObjectItemCaseSensitive(conv, key);
        if (cJSON_GetArraySize(turns) == 0)
            continue;
        bt_session_begin(c);
        cJSON_ArrayForEach(t, turns)
        {
            const char *spk = str_of(t, "speaker"), *dia = str_of(t, "dia_id");
            const char *text = str_of(t, "text");
            bt_turn *bt;
            if (!spk || !dia || !text) {
                fprintf(stderr,
                        "retrieval: LoCoMo %s %s: a turn lacks speaker, dia_id or text\n", sid,
                        key);
                goto cleanup;
            }
            bt = bt_turn_add(c);
            bt->text = turn_text(text, str_of(t, "blip_caption"));
            /* Both speakers are people; speaker_a plays the app's user and speaker_b the
             * other side, so that role-aware ranking sees both roles. */
            bt->role = strcmp(spk, spk_b) == 0 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
            bt->session_id = bt_strdup(sess_id);
            bt->created_at_ms = ms;
            bt->metadata_json = turn_metadata(spk, dia);
            if (!match_dia(dia, &bt->dia_s, &bt->dia_t)) {
                fprintf(stderr, "retrieval: LoCoMo %s: malformed turn dia_id '%s'\n", sid, dia);
                goto cleanup;
            }
            c->text_bytes += strlen(bt->text);
        }
    }
    rc = 0;
cleanup:
    free(nums);
    return rc;
}

static void add_evidence(bt_question *q, const bt_corpus *c, int s, int t)
{
    size_t i;
    for (i = 0; i < c->n_turns; i++) {
        if (c->turns[i].dia_s == s && c->turns[i].dia_t == t)
            break;
    }
    if (i == c->n_turns)
        return; /* the README's rule: ids that do not exist are dropped */
    for (size_t j = 0; j < q->n_evidence; j++) {
        if (q->evidence[j] == i)
            return;
    }
    q->evidence = bt_realloc(q->evidence, (q->n_evidence + 1) * sizeof *q->evidence);
    q->evidence[q->n_evidence++] = i;
}

/* Adds the questions of one conversation; stops when `limit` scored questions exist. */
static void load_questions(bt_dataset *d, size_t ci, const cJSON *qa, size_t limit,
                           size_t *n_scored)
{
    const bt_corpus *c = &d->corpora[ci];
    const cJSON *it;
    int64_t asked = 0;
    size_t i;
    /* LoCoMo's questions carry no date: they are asked the day after the last session */
    for (i = 0; i < c->n_turns; i++)
        if (c->turns[i].created_at_ms > asked)
            asked = c->turns[i].created_at_ms;
    if (asked)
        asked += 86400000LL;
    cJSON_ArrayForEach(it, qa)
    {
        const char *text = str_of(it, "question");
        const cJSON *cat = cJSON_GetObjectItemCaseSensitive(it, "category");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(it, "evidence"), *e;
        bt_question *q;
        int cv;

        if (limit && *n_scored >= limit)
            return;
        if (!text || !cJSON_IsNumber(cat))
            continue;
        cv = cat->valueint;
        if (cv < 1 || cv > 5)
            continue;
        q = bt_question_add(d);
        q->corpus = ci;
        q->asked_ms = asked;
        q->text = bt_strdup(text);
        q->cat = cv - 1; /* categories were registered in order */
        cJSON_ArrayForEach(e, ev)
        {
            const char *p = cJSON_IsString(e) ? e->valuestring : "";
            int s, t;
            while (*p) {
                const char *end = match_dia(p, &s, &t);
                if (end) {
                    add_evidence(q, c, s, t);
                    p = end;
                } else {
                    p++;
                }
            }
        }
        if (q->n_evidence == 0) {
            /* nothing to find: neither scored nor reported apart */
            free(q->text);
            d->n_questions--;
            d->n_unscored_no_evidence++;
            continue;
        }
        if (d->cats[q->cat].scored)
            (*n_scored)++;
    }
}

int bt_load_locomo(const char *path, size_t limit, bt_dataset *d)
{
    char *buf = NULL;
    size_t len, n_scored = 0;
    cJSON *root = NULL;
    const cJSON *sample;
    int i, rc = -1;

    d->name = "locomo";
    d->unit = "conversation";
    for (i = 0; i < 5; i++)
        bt_cat_index(d, cat_names[i], i < 4);
    if (bt_read_gz(path, &buf, &len) != 0) {
        fprintf(stderr, "retrieval: cannot read %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    root = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsArray(root)) {
        fprintf(stderr, "retrieval: %s: expected a JSON array of LoCoMo samples\n", path);
        goto cleanup;
    }
    cJSON_ArrayForEach(sample, root)
    {
        const char *sid = str_of(sample, "sample_id");
        const cJSON *conv = cJSON_GetObjectItemCaseSensitive(sample, "conversation");
        const cJSON *qa = cJSON_GetObjectItemCaseSensitive(sample, "qa");
        bt_corpus *c;

        if (limit && n_scored >= limit)
            break;
        if (!sid || !cJSON_IsObject(conv) || !cJSON_IsArray(qa)) {
            fprintf(stderr,
                    "retrieval: %s: a sample lacks sample_id, conversation or qa\n", path);
            goto cleanup;
        }
        c = bt_corpus_add(d, sid);
        if (load_turns(sid, conv, c) != 0)
            goto cleanup;
        d->n_memories += c->n_turns;
        load_questions(d, d->n_corpora - 1, qa, limit, &n_scored);
    }
    rc = 0;
cleanup:
    cJSON_Delete(root);
    free(buf);
    return rc;
}

/* data.c - the in-memory form of an evaluation dataset (corpora of turns, questions with
 * evidence turns, categories) shared by the LoCoMo and LongMemEval loaders. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

bt_corpus *bt_corpus_add(bt_dataset *d, const char *user_id)
{
    bt_corpus *c;
    bt_grow((void **)&d->corpora, &d->cap_corpora, d->n_corpora + 1, sizeof *d->corpora);
    c = &d->corpora[d->n_corpora++];
    memset(c, 0, sizeof *c);
    c->user_id = bt_strdup(user_id);
    return c;
}

bt_turn *bt_turn_add(bt_corpus *c)
{
    bt_turn *t;
    bt_grow((void **)&c->turns, &c->cap_turns, c->n_turns + 1, sizeof *c->turns);
    t = &c->turns[c->n_turns++];
    memset(t, 0, sizeof *t);
    return t;
}

void bt_session_begin(bt_corpus *c)
{
    bt_grow((void **)&c->sess_start, &c->cap_sess, c->n_sess + 1, sizeof *c->sess_start);
    c->sess_start[c->n_sess++] = c->n_turns;
}

bt_question *bt_question_add(bt_dataset *d)
{
    bt_question *q;
    bt_grow((void **)&d->questions, &d->cap_questions, d->n_questions + 1,
            sizeof *d->questions);
    q = &d->questions[d->n_questions++];
    memset(q, 0, sizeof *q);
    return q;
}

int bt_cat_index(bt_dataset *d, const char *name, bool scored)
{
    int i;
    for (i = 0; i < d->n_cats; i++) {
        if (strcmp(d->cats[i].name, name) == 0)
            return i;
    }
    if (d->n_cats == BT_MAX_CATS)
        return -1;
    d->cats[d->n_cats].name = bt_strdup(name);
    d->cats[d->n_cats].scored = scored;
    return d->n_cats++;
}

char *bt_clip_text(const char *s, size_t len, size_t max_bytes)
{
    if (len > max_bytes) {
        len = max_bytes;
        /* back off to a character boundary so the library sees valid UTF-8 */
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    return bt_strndup(s, len);
}

static void corpus_release(bt_corpus *co)
{
    size_t j;
    for (j = 0; j < co->n_turns; j++) {
        free(co->turns[j].text);
        free(co->turns[j].session_id);
        free(co->turns[j].metadata_json);
    }
    free(co->turns);
    free(co->sess_start);
    free(co->ids);
    free(co->user_id);
    memset(co, 0, sizeof *co);
}

void bt_corpus_pop(bt_dataset *d)
{
    if (d->n_corpora)
        corpus_release(&d->corpora[--d->n_corpora]);
}

void bt_dataset_free(bt_dataset *d)
{
    size_t i;
    int c;
    for (i = 0; i < d->n_corpora; i++)
        corpus_release(&d->corpora[i]);
    free(d->corpora);
    for (i = 0; i < d->n_questions; i++) {
        free(d->questions[i].text);
        free(d->questions[i].evidence);
    }
    free(d->questions);
    for (c = 0; c < d->n_cats; c++)
        free(d->cats[c].name);
    memset(d, 0, sizeof *d);
}

long bt_turn_of(const bt_corpus *c, mn_id id)
{
    size_t lo = 0, hi = c->n_turns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_turns && c->ids[lo] == id ? (long)lo : -1;
}

bool bt_is_evidence(const bt_question *q, long turn)
{
    size_t i;
    for (i = 0; turn >= 0 && i < q->n_evidence; i++)
        if (q->evidence[i] == (size_t)turn)
            return true;
    return false;
}

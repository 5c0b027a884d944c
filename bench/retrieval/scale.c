/* scale.c - search latency for a user of exactly BT_SCALE_N memories: the dataset users
 * hold 500-600 turns each, the latency target is stated for 1,000. One extra user gets the
 * first BT_SCALE_N turns of the dataset (in order, with their sessions and dates) and every
 * question is asked of it in the default mode; only the time is recorded. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SCALE_USER "bench-latency-user"

static int add_turns(mn_db *db, const bt_dataset *ds, size_t *out_n)
{
    mn_memory_in *items = bt_calloc(BT_SCALE_N, sizeof *items);
    mn_id *ids = bt_calloc(BT_SCALE_N, sizeof *ids);
    size_t n = 0, ci, i;
    mn_err e = {0};
    int rc;

    for (ci = 0; ci < ds->n_corpora && n < BT_SCALE_N; ci++) {
        const bt_corpus *c = &ds->corpora[ci];
        for (i = 0; i < c->n_turns && n < BT_SCALE_N; i++, n++) {
            const bt_turn *t = &c->turns[i];
            mn_memory_in_init(&items[n]);
            items[n].user_id = SCALE_USER;
            items[n].role = t->role;
            items[n].session_id = t->session_id;
            items[n].text = t->text;
            items[n].created_at_ms = t->created_at_ms;
            items[n].metadata_json = t->metadata_json;
        }
    }
    rc = mn_memory_add_batch(db, items, n, ids, &e);
    if (rc != 0)
        fprintf(stderr, "retrieval: adding the latency user's %zu memories failed: %s\n", n,
                e.msg[0] ? e.msg : mn_strerror(rc));
    free(items);
    free(ids);
    *out_n = n;
    return rc;
}

static int timed_search(mn_db *db, const char *query, bt_sys_result *sr)
{
    mn_search_opts o;
    mn_results *res = NULL;
    mn_err e = {0};
    int64_t t0;
    int rc;

    mn_search_opts_init(&o);
    o.filter.user_id = SCALE_USER;
    o.query = query;
    o.k = BT_K;
    t0 = bt_now_ns();
    rc = mn_search(db, &o, &res, &e);
    if (sr) {
        bt_grow((void **)&sr->lat_ns, &sr->cap_lat, sr->n_lat + 1, sizeof *sr->lat_ns);
        sr->lat_ns[sr->n_lat++] = (double)(bt_now_ns() - t0);
    }
    if (rc != 0)
        fprintf(stderr, "retrieval: search of the latency user failed: %s\n",
                e.msg[0] ? e.msg : mn_strerror(rc));
    mn_results_free(res);
    return rc;
}

int bt_run_scale(mn_db *db, const bt_dataset *ds, bt_run *out)
{
    size_t qi;
    int rc;

    out->scale.name = "mnemo default";
    if ((rc = add_turns(db, ds, &out->scale_n)) != 0)
        return -1;
    if (timed_search(db, "warm up", NULL) != 0) /* loads the partition, untimed */
        return -1;
    for (qi = 0; qi < ds->n_questions; qi++)
        if (timed_search(db, ds->questions[qi].text, &out->scale) != 0)
            return -1;
    out->scale.ran = out->scale_n > 0;
    return 0;
}

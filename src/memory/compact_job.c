/* compact_job.c - compaction in the background: the job kind "compact" (jobs.c runs it on
 * whichever node takes it, locally without Redis) and the trigger after an add, when a
 * user's active messages pass opts.compact_threshold. */
#include <stdio.h>
#include <string.h>

#include "memory_int.h"

#define COOLDOWN_MS 60000 /* a user that stays over the threshold is not re-queued before */

int mn__job_compact(mn_db *db, const mn__job *j, mn_err *err)
{
    mn_compact_opts o;
    mn_compact_stats st;
    int rc;
    if (j->scope != MN_SCOPE_USER || !j->user_id[0])
        return mn__err_set(err, MN_EINVAL, NULL, "compact job without a user");
    mn_compact_opts_init(&o);
    o.tenant = j->tenant;
    o.user_id = j->user_id;
    rc = mn_compact(db, &o, &st, err);
    if (rc == MN_EBUSY)
        return MN_OK; /* a compaction of this user is running already */
    return rc;
}

/* Active messages of a loaded partition, or a number under `enough` when it has fewer
 * rows than that; -1 when it is not loaded (no cheap count). */
static long active_messages(mn_db *db, const mn__pkey *k, long enough)
{
    mn__part *p = mn__part_peek(db, k);
    long n = 0;
    size_t i;
    if (!p)
        return -1;
    pthread_rwlock_rdlock(&p->lock);
    if (p->load_rc) { /* the read lock waited for a load in progress */
        n = -1;
    } else if ((long)p->n_alive < enough) {
        n = (long)p->n_alive; /* the usual case: too few rows to need a look at them */
    } else {
        for (i = 0; i < p->n; i++)
            n += p->alive[i] && p->status[i] == MN_STATUS_ACTIVE &&
                 p->kind[i] == MN_KIND_MESSAGE;
    }
    pthread_rwlock_unlock(&p->lock);
    mn__part_release(db, p);
    return n;
}

void mn__compact_trigger(mn_db *db, const mn__pkey *k)
{
    char key[2 * MN_MAX_ID_BYTES + 8];
    int64_t now = mn__now_ms();
    long n;
    int len;
    mn__job j;
    void *last;
    if (db->opts.compact_threshold <= 0 || !db->jobs || k->scope != MN_SCOPE_USER)
        return;
    n = active_messages(db, k, db->opts.compact_threshold);
    if (n < db->opts.compact_threshold)
        return;
    len = snprintf(key, sizeof key, "t\x1f%s\x1f%s", k->tenant, k->user_id);
    pthread_mutex_lock(&db->compact_mu);
    last = mn__hmap_get(&db->compacting, key, (size_t)len);
    if (last && now - (int64_t)(intptr_t)last < COOLDOWN_MS) {
        pthread_mutex_unlock(&db->compact_mu);
        return;
    }
    mn__hmap_put(&db->compacting, key, (size_t)len, (void *)(intptr_t)now);
    pthread_mutex_unlock(&db->compact_mu);
    memset(&j, 0, sizeof j);
    memcpy(j.kind, "compact", sizeof "compact");
    snprintf(j.tenant, sizeof j.tenant, "%s", k->tenant);
    snprintf(j.user_id, sizeof j.user_id, "%s", k->user_id);
    j.scope = MN_SCOPE_USER;
    mn__log(&db->log, MN_LOG_INFO, "user '%s' of tenant '%s' has %ld active messages (over %d): "
                                   "compaction queued",
            k->user_id, k->tenant, n, db->opts.compact_threshold);
    mn__jobs_submit(db, &j, NULL);
}

/* cluster.c - what a node reports about working with the others (mn_db_cluster_get): the
 * store's change feed, Redis, the job stream and the query-embedding cache. */
#include <string.h>

#include "memory_int.h"

void mn_db_cluster_get(mn_db *db, mn_cluster_info *out)
{
    bool shared = false;
    memset(out, 0, sizeof *out);
    out->store = db->sops->name;
    out->change_feed = !db->watched                           ? "none"
                       : db->sops->watch_live(db->store) ? "notify"
                                                         : "poll";
    out->redis = !db->redis ? "off" : mn__redis_up(db->redis) ? "up" : "down";
    out->jobs = db->redis && mn__redis_up(db->redis) ? "redis" : "local";
    mn__jobs_stats(db, &out->jobs_done, &out->jobs_failed, &out->jobs_queued_local);
    mn__qcache_stats(db->qcache, &out->qcache_hits_local, &out->qcache_hits_shared,
                     &out->qcache_misses, &shared);
    out->query_cache = shared ? "local+redis" : "local";
}

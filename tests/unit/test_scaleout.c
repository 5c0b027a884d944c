/* test_scaleout.c - the scale-out pieces that need no server: the embedding backfill job on
 * the local queue (no Redis configured), the in-process query-embedding cache, what
 * mn_db_cluster_get reports for a single SQLite node, and the checking of Redis URLs. The
 * same pieces against real PostgreSQL and Redis servers: tests/suites/{multinode,redis}.sh. */
#include <time.h>

#include "t.h"

static mn_db *open_db(const char *embedder, const char *redis_url)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = embedder;
    o.redis_url = redis_url;
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

static mn_id add(mn_db *db, const char *user, const char *text)
{
    mn_memory_in m;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.user_id = user;
    m.text = text;
    m.role = MN_ROLE_USER;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    return id;
}

static size_t search_n(mn_db *db, const char *user, const char *q)
{
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    size_t n;
    mn_search_opts_init(&so);
    so.filter.user_id = user;
    so.query = q;
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    n = r->n;
    mn_results_free(r);
    return n;
}

static bool pending(mn_db *db, const char *user, mn_id id)
{
    mn_results *r = NULL;
    mn_err err;
    bool p;
    ASSERT_OK(mn_memory_get(db, NULL, user, id, &r, &err), &err);
    ASSERT_EQ(r->n, 1);
    p = r->hits[0].mem.embedding_pending;
    mn_results_free(r);
    return p;
}

static void nap_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(scaleout_backfill_job_runs_locally)
{
    mn_db *db = open_db("none", NULL);
    mn_cluster_info ci;
    mn_id ids[5];
    int i, tries, left = 0;
    for (i = 0; i < 5; i++)
        ids[i] = add(db, "u", i % 2 ? "the heron waits by the inlet" : "a walnut fell on the dune");
    mn_db_close(db);

    db = open_db("mock", NULL);
    for (i = 0; i < 5; i++)
        ASSERT(pending(db, "u", ids[i])); /* stored without an embedder */
    ASSERT(search_n(db, "u", "heron") > 0); /* loading the partition submits the job */
    /* The job runs on this node's worker thread; wait for it (bounded). Its rows are
     * committed a moment before it counts itself done. */
    for (tries = 0; tries < 1000; tries++) {
        for (i = 0, left = 0; i < 5; i++)
            left += pending(db, "u", ids[i]);
        mn_db_cluster_get(db, &ci);
        if (!left && ci.jobs_done >= 1)
            break;
        nap_ms(10);
    }
    ASSERT_EQ(left, 0);
    mn_db_cluster_get(db, &ci);
    ASSERT_STR(ci.jobs, "local");
    ASSERT(ci.jobs_done >= 1);
    ASSERT_EQ(ci.jobs_failed, 0);
    mn_db_close(db);

    /* Reopened: nothing pending any more, so no job is made. */
    db = open_db("mock", NULL);
    ASSERT(search_n(db, "u", "walnut") > 0);
    mn_db_cluster_get(db, &ci);
    ASSERT_EQ(ci.jobs_queued_local, 0);
    ASSERT_EQ(ci.jobs_done, 0);
    mn_db_close(db);
}

TEST(scaleout_query_cache_hits_locally)
{
    mn_db *db = open_db("mock", NULL);
    mn_cluster_info ci;
    add(db, "u", "the falcon nests on the glacier");
    ASSERT_EQ(search_n(db, "u", "falcon glacier"), 1);
    mn_db_cluster_get(db, &ci);
    ASSERT_EQ(ci.qcache_misses, 1);
    ASSERT_EQ(ci.qcache_hits_local, 0);
    ASSERT_EQ(search_n(db, "u", "falcon glacier"), 1); /* same answer from the cached vector */
    ASSERT_EQ(search_n(db, "u", "nests"), 1);
    mn_db_cluster_get(db, &ci);
    ASSERT_EQ(ci.qcache_hits_local, 1);
    ASSERT_EQ(ci.qcache_misses, 2);
    ASSERT_EQ(ci.qcache_hits_shared, 0);
    ASSERT_STR(ci.query_cache, "local"); /* no Redis */
    mn_db_close(db);
}

TEST(scaleout_single_sqlite_node_reports_itself)
{
    mn_db *db = open_db("none", NULL);
    mn_cluster_info ci;
    mn_db_cluster_get(db, &ci);
    ASSERT_STR(ci.store, "sqlite");
    ASSERT_STR(ci.change_feed, "none"); /* one process: nothing to watch */
    ASSERT_STR(ci.redis, "off");
    ASSERT_STR(ci.jobs, "local");
    mn_db_close(db);
}

TEST(scaleout_redis_url_is_checked)
{
    static const char *const bad[] = {"http://cache:6379", "redis://", "redis://h:0",
                                      "redis://h:99999", "redis://h:12x", "redis://h/db"};
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    size_t i;
    snprintf(path, sizeof path, "%s/m.db", t_tmpdir());
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mn_db_opts_init(&o);
        o.path = path;
        o.embedder = "none";
        o.redis_url = bad[i];
        ASSERT_EQ(mn_db_open(&o, &db, &err), MN_EINVAL);
        ASSERT(db == NULL);
        ASSERT(strstr(err.msg, "Redis URL") != NULL);
        ASSERT(err.hint[0] != '\0');
    }
}

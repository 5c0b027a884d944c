/* metrics.c - Prometheus metrics: requests by route and status and a latency histogram per
 * route, kept in lock-free counters, plus the engine's gauges (memories, partitions, memory
 * held, commits and their group size, embedder time) read at scrape time. */
#include <stdatomic.h>
#include <string.h>

#include "http_int.h"

static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413,
                               415, 422, 429, 431, 499, 500, 502, 503, 504, 507};
#define N_STATUS (MN_ARRAY_LEN(statuses) + 1) /* + "other" */

static const double bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKET (MN_ARRAY_LEN(bounds_s) + 1) /* + +Inf */

typedef struct rstats {
    _Atomic uint64_t by_status[N_STATUS];
    _Atomic uint64_t bucket[N_BUCKET];
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
} rstats;

struct mn__metrics {
    rstats *routes; /* mn__n_routes + 1: the last one is "no route" */
    int64_t start_ms;
};

int mn__metrics_new(mn__metrics **out)
{
    mn__metrics *m = mn__calloc(1, sizeof *m);
    if (!m)
        return MN_ENOMEM;
    m->routes = mn__calloc(mn__n_routes + 1, sizeof *m->routes);
    if (!m->routes) {
        mn__free(m);
        return MN_ENOMEM;
    }
    m->start_ms = mn__now_ms();
    *out = m;
    return MN_OK;
}

void mn__metrics_free(mn__metrics *m)
{
    if (!m)
        return;
    mn__free(m->routes);
    mn__free(m);
}

static size_t status_slot(int status)
{
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(statuses); i++)
        if (statuses[i] == status)
            return i;
    return N_STATUS - 1;
}

void mn__metrics_observe(mn__metrics *m, int route, int status, int64_t ns)
{
    rstats *r;
    size_t b;
    double s = (double)ns / 1e9;
    if (!m)
        return;
    r = &m->routes[route >= 0 ? (size_t)route : mn__n_routes];
    atomic_fetch_add_explicit(&r->by_status[status_slot(status)], 1, memory_order_relaxed);
    for (b = 0; b < MN_ARRAY_LEN(bounds_s) && s > bounds_s[b]; b++)
        ;
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

static const char *route_label(size_t i)
{
    return i < mn__n_routes ? mn__routes[i].op_id : "none";
}

/* Several nodes (docs/SCALING.md): Redis, the change feed, jobs, the query cache. */
static int cluster_metrics(mn__hsrv *srv, mn__buf *b)
{
    mn_cluster_info ci;
    mn_db_cluster_get(srv->db, &ci);
    return mn__buf_printf(
        b,
        "# HELP mnemo_redis_up 1 while the configured Redis answers (0: down or not set).\n"
        "# TYPE mnemo_redis_up gauge\nmnemo_redis_up %d\n"
        "# HELP mnemo_change_feed_live 1 while the store's change notifications are "
        "connected (0: polling versions, or one process).\n"
        "# TYPE mnemo_change_feed_live gauge\nmnemo_change_feed_live %d\n"
        "# HELP mnemo_jobs_done_total Background jobs this node finished.\n"
        "# TYPE mnemo_jobs_done_total counter\nmnemo_jobs_done_total %lld\n"
        "# HELP mnemo_jobs_failed_total Background job runs that failed.\n"
        "# TYPE mnemo_jobs_failed_total counter\nmnemo_jobs_failed_total %lld\n"
        "# HELP mnemo_jobs_queued_local Jobs waiting on this node's local queue.\n"
        "# TYPE mnemo_jobs_queued_local gauge\nmnemo_jobs_queued_local %lld\n"
        "# HELP mnemo_query_cache_total Query embeddings by where they came from.\n"
        "# TYPE mnemo_query_cache_total counter\n"
        "mnemo_query_cache_total{result=\"local_hit\"} %lld\n"
        "mnemo_query_cache_total{result=\"redis_hit\"} %lld\n"
        "mnemo_query_cache_total{result=\"miss\"} %lld\n",
        !strcmp(ci.redis, "up"), !strcmp(ci.change_feed, "notify"), (long long)ci.jobs_done,
        (long long)ci.jobs_failed, (long long)ci.jobs_queued_local,
        (long long)ci.qcache_hits_local, (long long)ci.qcache_hits_shared,
        (long long)ci.qcache_misses);
}

int mn__metrics_render(mn__hsrv *srv, mn__buf *b)
{
    mn__metrics *m = srv->metrics;
    mn_db_stats st;
    size_t i, j;
    int rc;

    rc = mn__buf_puts(b, "# HELP mnemo_http_requests_total HTTP requests by route and status.\n"
                         "# TYPE mnemo_http_requests_total counter\n");
    for (i = 0; !rc && i <= mn__n_routes; i++)
        for (j = 0; !rc && j < N_STATUS; j++) {
            uint64_t v = atomic_load_explicit(&m->routes[i].by_status[j], memory_order_relaxed);
            char st_s[16];
            if (!v)
                continue;
            if (j < MN_ARRAY_LEN(statuses))
                snprintf(st_s, sizeof st_s, "%d", statuses[j]);
            else
                memcpy(st_s, "other", 6);
            rc = mn__buf_printf(b, "mnemo_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                                route_label(i), st_s, (unsigned long long)v);
        }
    if (!rc)
        rc = mn__buf_puts(b, "# HELP mnemo_http_request_duration_seconds Time from the first "
                             "byte of a request to the end of its reply.\n"
                             "# TYPE mnemo_http_request_duration_seconds histogram\n");
    for (i = 0; !rc && i <= mn__n_routes; i++) {
        rstats *r = &m->routes[i];
        uint64_t cum = 0, n = atomic_load_explicit(&r->count, memory_order_relaxed);
        if (!n)
            continue;
        for (j = 0; !rc && j < N_BUCKET; j++) {
            cum += atomic_load_explicit(&r->bucket[j], memory_order_relaxed);
            if (j < MN_ARRAY_LEN(bounds_s))
                rc = mn__buf_printf(b,
                                    "mnemo_http_request_duration_seconds_bucket{route=\"%s\","
                                    "le=\"%g\"} %llu\n",
                                    route_label(i), bounds_s[j], (unsigned long long)cum);
            else
                rc = mn__buf_printf(b,
                                    "mnemo_http_request_duration_seconds_bucket{route=\"%s\","
                                    "le=\"+Inf\"} %llu\n",
                                    route_label(i), (unsigned long long)cum);
        }
        if (!rc)
            rc = mn__buf_printf(b,
                                "mnemo_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                                "mnemo_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                                route_label(i),
                                (double)atomic_load(&r->sum_ns) / 1e9, route_label(i),
                                (unsigned long long)cum);
    }
    if (rc)
        return rc;
    if (mn_db_stats_get(srv->db, &st, NULL) != MN_OK)
        memset(&st, 0, sizeof st);
    rc = mn__buf_printf(
        b,
        "# HELP mnemo_memories Memories stored, all tenants.\n# TYPE mnemo_memories gauge\n"
        "mnemo_memories %lld\n"
        "# HELP mnemo_partitions_loaded User partitions cached in RAM.\n"
        "# TYPE mnemo_partitions_loaded gauge\nmnemo_partitions_loaded %lld\n"
        "# HELP mnemo_partition_bytes RAM held by cached partitions.\n"
        "# TYPE mnemo_partition_bytes gauge\nmnemo_partition_bytes %zu\n"
        "# HELP mnemo_engine_memory_bytes Bytes the engine holds through its allocator.\n"
        "# TYPE mnemo_engine_memory_bytes gauge\nmnemo_engine_memory_bytes %lld\n"
        "# HELP mnemo_store_file_bytes Size of the store file.\n"
        "# TYPE mnemo_store_file_bytes gauge\nmnemo_store_file_bytes %lld\n"
        "# HELP mnemo_store_commits_total Write transactions committed (group commit).\n"
        "# TYPE mnemo_store_commits_total counter\nmnemo_store_commits_total %lld\n"
        "# HELP mnemo_store_committed_ops_total Write requests carried by those commits; "
        "ops/commits is the mean commit batch size.\n"
        "# TYPE mnemo_store_committed_ops_total counter\nmnemo_store_committed_ops_total %lld\n"
        "# HELP mnemo_embed_seconds_total Time spent in the embedder (adds, searches, "
        "/v1/embeddings).\n"
        "# TYPE mnemo_embed_seconds_total counter\nmnemo_embed_seconds_total %.9f\n"
        "# HELP mnemo_embed_total Texts embedded.\n"
        "# TYPE mnemo_embed_total counter\nmnemo_embed_total %llu\n"
        "# HELP mnemo_http_in_flight Requests being served now.\n"
        "# TYPE mnemo_http_in_flight gauge\nmnemo_http_in_flight %d\n"
        "# HELP mnemo_dev_mode 1 while no API key exists (no auth, tenant default).\n"
        "# TYPE mnemo_dev_mode gauge\nmnemo_dev_mode %d\n"
        "# HELP mnemo_uptime_seconds Seconds since the server started.\n"
        "# TYPE mnemo_uptime_seconds gauge\nmnemo_uptime_seconds %.3f\n",
        (long long)st.n_memories, (long long)st.n_partitions, st.partition_bytes,
        (long long)st.memory_bytes, (long long)st.file_bytes, (long long)st.n_commits,
        (long long)st.n_committed_ops, (double)st.embed_ns / 1e9,
        (unsigned long long)st.n_embeds, atomic_load(&srv->n_active),
        atomic_load(&srv->dev_mode) ? 1 : 0, (double)(mn__now_ms() - m->start_ms) / 1e3);
    if (!rc) /* remote embedders (docs/PROVIDERS.md) */
        rc = mn__buf_printf(
            b,
            "# HELP mnemo_embed_background_total Vectors stored by the background embedder.\n"
            "# TYPE mnemo_embed_background_total counter\nmnemo_embed_background_total %lld\n"
            "# HELP mnemo_embed_failures_total Failed background embedding batches (the "
            "memories stay pending and are retried).\n"
            "# TYPE mnemo_embed_failures_total counter\nmnemo_embed_failures_total %lld\n",
            (long long)st.n_embedded_background, (long long)st.n_embed_failures);
    return rc ? rc : cluster_metrics(srv, b);
}

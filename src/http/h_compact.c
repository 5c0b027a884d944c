/* h_compact.c - POST /v1/users/{user}/compact: runs compression of one user now (on a write
 * worker: it does its own small writes) and answers with what it did (docs/COMPRESSION.md).
 * The body holds optional settings; {} takes the defaults. */
#include <string.h>

#include "http_int.h"

static const char *const fields[] = {"keep_recent",    "min_cluster", "max_cluster",
                                     "min_similarity", "summary_tokens", "offline",
                                     "dry_run",        NULL};

static int read_bool(mn__hreq *rq, const char *name, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->json, name);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return mn__reply_error(rq, MN__H_EFIELD, "use true or false",
                               "field '%s' must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return 0;
}

int mn__h_compact(mn__hreq *rq)
{
    const char *user = rq->params[0];
    mn_compact_opts o;
    mn_compact_stats st;
    long long keep = 0, mn = 0, mx = 0, tok = 0;
    const cJSON *sim;
    mn_err err;
    mn__buf b;
    int rc;

    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send {} for the defaults",
                               "request body must be a JSON object");
    mn_compact_opts_init(&o);
    if ((rc = mn__json_fields(rq, rq->json, "body", fields)) ||
        (rc = mn__json_int(rq, rq->json, "keep_recent", -1, 1000000, &keep)) ||
        (rc = mn__json_int(rq, rq->json, "min_cluster", 0, 10000, &mn)) ||
        (rc = mn__json_int(rq, rq->json, "max_cluster", 0, 10000, &mx)) ||
        (rc = mn__json_int(rq, rq->json, "summary_tokens", 0, 4000, &tok)) ||
        (rc = read_bool(rq, "offline", &o.offline)) || (rc = read_bool(rq, "dry_run", &o.dry_run)))
        return rc;
    sim = cJSON_GetObjectItemCaseSensitive(rq->json, "min_similarity");
    if (sim && (!cJSON_IsNumber(sim) || sim->valuedouble < 0 || sim->valuedouble > 1))
        return mn__reply_error(rq, MN__H_EFIELD, "use a cosine between 0 and 1",
                               "field 'min_similarity' must be a number from 0 to 1");
    o.tenant = rq->tenant;
    o.user_id = user;
    o.keep_recent = (int)keep;
    o.min_cluster = (int)mn;
    o.max_cluster = (int)mx;
    o.summary_tokens = (int)tok;
    o.min_similarity = sim ? sim->valuedouble : 0;
    rc = mn_compact(rq->srv->db, &o, &st, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "{\"user_id\":");
    if (!rc)
        rc = mn__buf_json_str(&b, user, strlen(user));
    if (!rc)
        rc = mn__buf_printf(&b, ",\"active_before\":%lld,\"active_after\":%lld,"
                                "\"candidates\":%lld,\"summaries\":%lld,\"archived\":%lld,"
                                "\"method\":\"%s\",\"dry_run\":%s,\"duration_ms\":%lld}\n",
                            (long long)st.active_before, (long long)st.active_after,
                            (long long)st.n_candidates, (long long)st.n_clusters,
                            (long long)st.n_archived, st.used_llm ? "llm" : "extractive",
                            o.dry_run ? "true" : "false", (long long)st.duration_ms);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

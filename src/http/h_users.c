/* h_users.c - the user routes: the tenant's users with memory counts, forgetting a user
 * (GDPR erasure), NDJSON export of a user and bulk import into the tenant. */
#include <string.h>

#include "http_int.h"

int mn__h_users_list(mn__hreq *rq)
{
    mn_users *u = NULL;
    long long limit = 50;
    const char *after = mn__query(rq, "after");
    mn__buf b;
    mn_err err;
    size_t i;
    int rc = mn__query_int(rq, "limit", 1, MN_MIN(rq->srv->cfg.max_k, (long long)MN_MAX_K),
                           &limit);
    if (rc)
        return rc;
    rc = mn_user_list(rq->srv->db, rq->tenant, after, (int)limit, &u, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "{\"users\":[");
    for (i = 0; !rc && i < u->n; i++) {
        char c[32], up[32];
        mn_time_format(u->users[i].created_at_ms, c);
        mn_time_format(u->users[i].updated_at_ms, up);
        rc = mn__buf_puts(&b, i ? ",{\"user_id\":" : "{\"user_id\":");
        if (!rc)
            rc = mn__buf_json_str(&b, u->users[i].user_id, strlen(u->users[i].user_id));
        if (!rc)
            rc = mn__buf_printf(&b, ",\"memories\":%lld,\"created_at\":\"%s\",\"updated_at\":"
                                    "\"%s\"}",
                                (long long)u->users[i].n_memories, c, up);
    }
    if (!rc)
        rc = mn__buf_printf(&b, "],\"count\":%zu,\"total\":%lld,\"next_after\":", u->n,
                            (long long)u->total);
    if (!rc)
        rc = u->next_after ? mn__buf_json_str(&b, u->next_after, strlen(u->next_after))
                           : mn__buf_puts(&b, "null");
    if (!rc)
        rc = mn__buf_puts(&b, "}\n");
    mn_users_free(u);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

int mn__h_user_forget(mn__hreq *rq)
{
    const char *user = rq->params[0];
    mn_user_info info;
    int64_t n = 0;
    mn__buf b;
    mn_err err;
    int rc = mn_user_get(rq->srv->db, rq->tenant, user, &info, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    rc = mn_user_forget(rq->srv->db, rq->tenant, user, &n, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "{\"user_id\":");
    if (!rc)
        rc = mn__buf_json_str(&b, user, strlen(user));
    if (!rc)
        rc = mn__buf_printf(&b, ",\"deleted\":%lld}\n", (long long)n);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

static int write_out(void *ctx, const char *buf, size_t len)
{
    return mn__buf_append(ctx, buf, len);
}

int mn__h_user_export(mn__hreq *rq)
{
    const char *user = rq->params[0];
    mn_user_info info;
    mn__buf b;
    mn_err err;
    int rc = mn_user_get(rq->srv->db, rq->tenant, user, &info, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, (size_t)rq->srv->cfg.max_export_bytes);
    rc = mn_export(rq->srv->db, rq->tenant, user, write_out, &b, &err);
    if (rc == MN_ETOOBIG)
        rc = mn__reply_error(rq, rc, "use 'mnemo export' on the server or raise max-export",
                             "export of user '%.64s' is over %lld bytes (max-export)", user,
                             rq->srv->cfg.max_export_bytes);
    else if (rc)
        rc = mn__reply_err(rq, rc, &err);
    else if (mn__reply_buf(rq, 200, &b, "application/x-ndjson"))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

static bool ndjson_type(const char *ct)
{
    static const char *const ok[] = {"application/x-ndjson", "application/ndjson",
                                     "application/jsonl", "application/json-lines"};
    size_t i, n;
    if (!ct)
        return false;
    for (i = 0; i < MN_ARRAY_LEN(ok); i++) {
        n = strlen(ok[i]);
        if (!strncmp(ct, ok[i], n) && (ct[n] == '\0' || ct[n] == ';'))
            return true;
    }
    return false;
}

int mn__h_import(mn__hreq *rq)
{
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    mn_import_stats st;
    char body[96];
    mn__buf b;
    mn_err err;
    size_t bad;
    int rc;
    if (!ndjson_type(ct))
        return mn__reply_error(rq, MN__H_EMEDIA, "send Content-Type: application/x-ndjson",
                               "import body must be application/x-ndjson, got '%.64s'",
                               ct ? ct : "no Content-Type");
    if (rq->body.len == 0)
        return mn__reply_error(rq, MN__H_EFIELD, "send one memory object per line",
                               "import body is empty");
    if (!mn__utf8_valid(rq->body.data, rq->body.len, &bad))
        return mn__reply_error(rq, MN_EUTF8, "encode the body as UTF-8",
                               "import body is not valid UTF-8 at byte %zu", bad);
    rc = mn_import(rq->srv->db, rq->tenant, rq->body.data, rq->body.len, &st, &err);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    snprintf(body, sizeof body, "{\"lines\":%lld,\"added\":%lld}\n", (long long)st.n_lines,
             (long long)st.n_added);
    mn__buf_init(&b, 0);
    if (mn__buf_puts(&b, body) || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

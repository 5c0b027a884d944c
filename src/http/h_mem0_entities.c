/* h_mem0_entities.c - the mem0 routes around memories: ping (the key check mem0's client makes
 * when it starts), the entities of a tenant (mnemo users, shown as users, agents, apps and
 * runs), forgetting one entity, and the clear 501 for platform features mnemo does not have. */
#include <string.h>

#include "h_mem0.h"

int mn__h_m0_ping(mn__hreq *rq)
{
    mn__buf b;
    int rc;
    mn__buf_init(&b, 0);
    /* org_id and project_id are placeholders: the client sends them back only on routes
     * for organizations, projects and webhooks, which answer 501 here. */
    rc = mn__buf_puts(&b, "{\"status\":\"ok\",\"message\":\"mnemo: mem0-compatible API "
                          "(docs/MEM0.md)\",\"org_id\":\"mnemo\",\"project_id\":");
    if (!rc)
        rc = mn__buf_json_str(&b, rq->tenant, strlen(rq->tenant));
    if (!rc)
        rc = mn__buf_puts(&b, ",\"user_email\":null}");
    return mn__m0_reply(rq, 200, rc, &b);
}

/* The mem0 entity of a mnemo user id: type and name. */
static const char *entity_of(const char *user, const char **out_name)
{
    static const struct {
        const char *prefix, *type;
        size_t len;
    } map[] = {{"agent:", "agent", 6}, {"app:", "app", 4}, {"run:", "run", 4}};
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(map); i++)
        if (!strncmp(user, map[i].prefix, map[i].len)) {
            *out_name = user + map[i].len;
            return map[i].type;
        }
    *out_name = user;
    return "user";
}

static int page_link(mn__buf *b, const char *name, const char *path, long long page,
                     long long size, bool exists)
{
    if (!exists)
        return mn__buf_printf(b, ",\"%s\":null", name);
    return mn__buf_printf(b, ",\"%s\":\"%s?page=%lld&page_size=%lld\"", name, path, page, size);
}

int mn__h_m0_entities(mn__hreq *rq)
{
    long long page = 1, size = 100, skip, want;
    char after[MN_MAX_ID_BYTES + 1];
    bool have_after = false;
    int64_t total = 0;
    size_t n_out = 0;
    mn__buf b;
    mn_err err;
    int rc;

    if ((rc = mn__query_int(rq, "page", 1, 1000000, &page)) ||
        (rc = mn__query_int(rq, "page_size", 1, MN_MAX_K, &size)))
        return rc;
    skip = (page - 1) * size;
    want = size;
    mn__buf_init(&b, 0);
    rc = mn__buf_puts(&b, "{\"results\":[");
    /* mnemo pages users by cursor; mem0 by number: walk to the page. */
    while (!rc) {
        mn_users *u = NULL;
        size_t i;
        rc = mn_user_list(rq->srv->db, rq->tenant, have_after ? after : NULL, MN_MAX_K, &u,
                          &err);
        if (rc) {
            mn__buf_release(&b);
            return mn__reply_err(rq, rc, &err);
        }
        total = u->total;
        for (i = 0; !rc && i < u->n; i++) {
            const mn_user_info *x = &u->users[i];
            const char *name, *type = entity_of(x->user_id, &name);
            char c[32], up[32];
            if (skip > 0) {
                skip--;
                continue;
            }
            if (want == 0)
                break;
            want--;
            mn_time_format(x->created_at_ms, c);
            mn_time_format(x->updated_at_ms, up);
            rc = mn__buf_puts(&b, n_out++ ? ",{\"id\":" : "{\"id\":");
            if (!rc)
                rc = mn__buf_json_str(&b, name, strlen(name));
            if (!rc)
                rc = mn__buf_puts(&b, ",\"name\":");
            if (!rc)
                rc = mn__buf_json_str(&b, name, strlen(name));
            if (!rc)
                rc = mn__buf_printf(&b, ",\"type\":\"%s\",\"total_memories\":%lld,"
                                        "\"created_at\":\"%s\",\"updated_at\":\"%s\","
                                        "\"metadata\":null,\"owner\":",
                                    type, (long long)x->n_memories, c, up);
            if (!rc)
                rc = mn__buf_json_str(&b, rq->tenant, strlen(rq->tenant));
            if (!rc)
                rc = mn__buf_putc(&b, '}');
        }
        if (!u->next_after || want == 0) {
            mn_users_free(u);
            break;
        }
        snprintf(after, sizeof after, "%s", u->next_after);
        have_after = true;
        mn_users_free(u);
    }
    if (!rc)
        rc = mn__buf_printf(&b, "],\"count\":%lld", (long long)total);
    if (!rc)
        rc = page_link(&b, "next", "/v1/entities/", page + 1, size, page * size < total);
    if (!rc)
        rc = page_link(&b, "previous", "/v1/entities/", page - 1, size, page > 1);
    if (!rc)
        rc = mn__buf_putc(&b, '}');
    return mn__m0_reply(rq, 200, rc, &b);
}

int mn__h_m0_entity_delete(mn__hreq *rq)
{
    const char *type = rq->params[0], *id = rq->params[1];
    char owner[MN_MAX_ID_BYTES + 1];
    mn__m0_ents e;
    mn_user_info info;
    int64_t n = 0;
    mn__buf b;
    mn_err err;
    int rc;

    memset(&e, 0, sizeof e);
    if (!strcmp(type, "user"))
        e.user_id = id;
    else if (!strcmp(type, "agent"))
        e.agent_id = id;
    else if (!strcmp(type, "app"))
        e.app_id = id;
    else if (!strcmp(type, "run"))
        e.run_id = id;
    else
        return mn__reply_error(rq, MN__H_EFIELD, "use user, agent, app or run",
                               "entity type '%.32s' is unknown", type);
    if ((rc = mn__m0_owner(rq, &e, owner)) != 0)
        return rc;
    rc = mn_user_get(rq->srv->db, rq->tenant, owner, &info, &err);
    if (!rc)
        rc = mn_user_forget(rq->srv->db, rq->tenant, owner, &n, &err);
    if (rc == MN_ENOTFOUND)
        return mn__reply_error(rq, rc, "GET /v1/entities/ lists them",
                               "%s '%.64s' has no memories", type, id);
    if (rc)
        return mn__reply_err(rq, rc, &err);
    mn__buf_init(&b, 0);
    rc = mn__buf_printf(&b, "{\"message\":\"Entity deleted successfully!\",\"deleted\":%lld}",
                        (long long)n);
    return mn__m0_reply(rq, 200, rc, &b);
}

int mn__h_m0_unsupported(mn__hreq *rq)
{
    static const struct {
        const char *needle, *feature, *hint;
    } map[] = {
        {"/webhooks/", "webhooks", "mnemo sends no notifications; poll GET /v3/memories/"},
        {"/projects/", "projects", "a mnemo tenant (its API keys) plays the part of a project"},
        {"/organizations/", "organizations", "a mnemo tenant plays the part of one"},
        {"/feedback/", "feedback", "mnemo keeps no feedback on memories"},
        {"/event", "events", "mnemo applies an add before it answers: the add response holds "
                             "its results"},
        {"/exports/", "memory exports", "use GET /v1/users/{user}/export (NDJSON)"},
        {"/profile", "profiles", "POST /v1/users/{user}/context builds a user's context"},
    };
    const char *path = mn__routes[rq->route].path;
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(map); i++)
        if (strstr(path, map[i].needle))
            return mn__reply_error(rq, MN__H_ENOTSUPP, map[i].hint,
                                   "mem0 feature '%s' is not supported by mnemo "
                                   "(docs/MEM0.md lists what is)",
                                   map[i].feature);
    return mn__reply_error(rq, MN__H_ENOTSUPP, "docs/MEM0.md lists what is supported",
                           "this mem0 platform call is not supported by mnemo");
}

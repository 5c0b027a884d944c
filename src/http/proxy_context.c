/* proxy_context.c - the memory block the proxy injects: the context of the last user
 * message, as the text of a system message. */
#include <string.h>

#include "http_int.h"

int mn__proxy_context(mn_db *db, const char *tenant, const char *user, const char *query,
                      const char *model, int max_tokens, char **out_block, int *out_items,
                      mn_err *err)
{
    mn_search_opts so;
    mn_results *res = NULL;
    mn__buf b;
    size_t i;
    int rc;
    (void)model;
    (void)max_tokens;
    *out_block = NULL;
    *out_items = 0;
    mn_search_opts_init(&so);
    so.filter.tenant = tenant;
    so.filter.user_id = user;
    so.query = query;
    so.k = 8;
    rc = mn_search(db, &so, &res, err);
    if (rc)
        return rc;
    mn__buf_init(&b, 0);
    if (res->n)
        rc = mn__buf_puts(&b, "Relevant memories:\n");
    for (i = 0; !rc && i < res->n; i++) {
        char t[32];
        mn_time_format(res->hits[i].mem.created_at_ms, t);
        rc = mn__buf_printf(&b, "- [%.10s] %s\n", t, res->hits[i].mem.text);
    }
    if (!rc && b.len) {
        *out_items = (int)res->n;
        *out_block = mn__buf_take(&b, &i);
    }
    mn_results_free(res);
    mn__buf_release(&b);
    return rc ? mn__err_set(err, rc, NULL, "out of memory building the context") : MN_OK;
}

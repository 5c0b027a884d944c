/* proxy_context.c - the memory block the proxy injects: the library's context of the last
 * user message, without its question section (the question is already the conversation's
 * last message), as the text of a system message. */
#include <string.h>

#include "http_int.h"

int mn__proxy_context(mn_db *db, const char *tenant, const char *user, const char *query,
                      const char *model, int max_tokens, char **out_block, int *out_items,
                      mn_err *err)
{
    mn_context_opts o;
    mn_context *c = NULL;
    int rc;

    *out_block = NULL;
    *out_items = 0;
    mn_context_opts_init(&o);
    o.tenant = tenant;
    o.user_id = user;
    o.query = query;
    o.max_tokens = max_tokens;
    o.model = model && *model ? model : NULL;
    rc = mn_context_build(db, &o, &c, err);
    if (rc == MN_ETOOBIG) {
        /* The question alone fills the budget: nothing would fit beside it. The chat goes
         * on without memory, and the exchange is still stored. */
        mn__err_clear(err);
        return MN_OK;
    }
    if (rc)
        return rc;
    if (c->memories_len) {
        *out_block = mn__strndup(c->memories, c->memories_len);
        if (!*out_block)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory copying the context");
        else
            *out_items = (int)c->n_items;
    }
    mn_context_free(c);
    return rc;
}

/* validate.c - every input the engine accepts is checked here first: ids, texts, metadata,
 * enums. Messages name the field, the limit and what was found. */
#include <cjson/cJSON.h>
#include <string.h>

#include "memory_int.h"

#define MAX_METADATA_DEPTH 16

int mn__tenant_or_default(const char *tenant, const char **out, mn_err *err)
{
    if (!tenant) {
        *out = "default";
        return MN_OK;
    }
    *out = tenant;
    return mn__check_id("tenant", tenant, err);
}

int mn__pkey_make(const char *tenant, mn_scope scope, const char *user_id, mn__pkey *out_k,
                  mn_err *err)
{
    int rc = mn__tenant_or_default(tenant, &out_k->tenant, err);
    if (rc)
        return rc;
    if (scope == 0)
        scope = MN_SCOPE_USER;
    out_k->scope = scope;
    out_k->user_id = NULL;
    if (scope == MN_SCOPE_SYSTEM) {
        if (user_id)
            return mn__err_set(err, MN_EINVAL, "leave user_id empty for system memories",
                               "system-scope memories have no user, but user id '%.64s' was given",
                               user_id);
        return MN_OK;
    }
    if (scope != MN_SCOPE_USER)
        return mn__err_set(err, MN_EINVAL, "use scope 'user' or 'system'",
                           "unknown scope %d", (int)scope);
    rc = mn__check_id("user id", user_id, err);
    if (rc)
        return rc;
    out_k->user_id = user_id;
    return MN_OK;
}

int mn__check_text(const mn_db *db, const char *what, const char *text, mn_err *err)
{
    size_t n, bad, i;
    if (!text)
        return mn__err_set(err, MN_EINVAL, "pass the text to store", "%s is missing", what);
    n = strlen(text);
    for (i = 0; i < n; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            break;
    if (i == n)
        return mn__err_set(err, MN_EINVAL, "send a non-empty text", "%s is empty", what);
    if (n > db->opts.max_text_bytes)
        return mn__err_set(err, MN_ETOOBIG, "split the text or raise max_text_bytes",
                           "%s is %zu bytes, limit is %zu", what, n, db->opts.max_text_bytes);
    if (!mn__utf8_valid(text, n, &bad))
        return mn__err_set(err, MN_EUTF8, "send text as UTF-8",
                           "%s is not valid UTF-8 (bad byte at offset %zu)", what, bad);
    return MN_OK;
}

static int json_depth(const cJSON *j)
{
    int best = 0;
    const cJSON *c;
    for (c = j->child; c; c = c->next) {
        int d = json_depth(c);
        if (d > best)
            best = d;
    }
    return best + 1;
}

int mn__metadata_normalize(const mn_db *db, const char *json, char **out, mn_err *err)
{
    size_t n, bad;
    cJSON *j;
    char *s;
    *out = NULL;
    if (!json || !*json)
        return MN_OK;
    n = strlen(json);
    if (n > db->opts.max_metadata_bytes)
        return mn__err_set(err, MN_ETOOBIG, "store less metadata or raise max_metadata_bytes",
                           "metadata is %zu bytes, limit is %zu", n, db->opts.max_metadata_bytes);
    if (!mn__utf8_valid(json, n, &bad))
        return mn__err_set(err, MN_EUTF8, "send metadata as UTF-8",
                           "metadata is not valid UTF-8 (bad byte at offset %zu)", bad);
    j = cJSON_ParseWithLengthOpts(json, n + 1, NULL, 1); /* n + 1: the NUL ends it */
    if (!j)
        return mn__err_set(err, MN_EPARSE, "send a JSON object such as {\"topic\":\"food\"}",
                           "metadata is not valid JSON");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return mn__err_set(err, MN_EINVAL, "wrap the values in an object",
                           "metadata must be a JSON object");
    }
    if (json_depth(j) > MAX_METADATA_DEPTH) {
        cJSON_Delete(j);
        return mn__err_set(err, MN_ETOOBIG, "flatten the metadata",
                           "metadata nests deeper than %d levels", MAX_METADATA_DEPTH);
    }
    s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory normalising metadata");
    *out = s;
    return MN_OK;
}

int mn__check_memory_in(const mn_db *db, const mn_memory_in *m, mn_err *err)
{
    mn__pkey k;
    int rc = mn__pkey_make(m->tenant, m->scope, m->user_id, &k, err);
    if (rc)
        return rc;
    if (m->kind != 0 && !mn_kind_name(m->kind))
        return mn__err_set(err, MN_EINVAL, "use message, preference, fact or summary",
                           "unknown kind %d", (int)m->kind);
    if ((int)m->role < 0 || !mn_role_name(m->role))
        return mn__err_set(err, MN_EINVAL, "use user, assistant or none",
                           "unknown role %d", (int)m->role);
    if (m->status != 0 && !mn_status_name(m->status))
        return mn__err_set(err, MN_EINVAL, "use active, archived or superseded",
                           "unknown status %d", (int)m->status);
    if (m->session_id) {
        rc = mn__check_id("session id", m->session_id, err);
        if (rc)
            return rc;
    }
    rc = mn__check_text(db, "text", m->text, err);
    if (rc)
        return rc;
    if (m->created_at_ms < 0)
        return mn__err_set(err, MN_EINVAL, "pass a time after 1970 or leave it empty for now",
                           "created_at is negative (%lld)", (long long)m->created_at_ms);
    if (m->n_sources > MN_MAX_SOURCES)
        return mn__err_set(err, MN_ETOOBIG, "cite fewer sources",
                           "%zu sources, limit is %d", m->n_sources, MN_MAX_SOURCES);
    if (m->n_sources && !m->sources)
        return mn__err_set(err, MN_EINVAL, NULL, "n_sources is %zu but sources is NULL",
                           m->n_sources);
    for (size_t i = 0; i < m->n_sources; i++)
        if (m->sources[i] <= 0)
            return mn__err_set(err, MN_EINVAL, "cite ids of existing memories",
                               "source %zu is not a valid id (%lld)", i,
                               (long long)m->sources[i]);
    if (m->metadata_json && *m->metadata_json) {
        char *norm = NULL;
        rc = mn__metadata_normalize(db, m->metadata_json, &norm, err);
        mn__free(norm);
        if (rc)
            return rc;
    }
    return MN_OK;
}

/* names.c - the text names of the public enums, used in JSON, the CLI and the store. */
#include <string.h>

#include "../core/core.h"

static const char *const kinds[] = {NULL, "message", "preference", "fact", "summary"};
static const char *const roles[] = {"none", "user", "assistant"};
static const char *const statuses[] = {NULL, "active", "archived", "superseded"};
static const char *const scopes[] = {NULL, "user", "system"};
static const char *const modes[] = {"default", "hybrid", "vector", "keyword"};

static int lookup(const char *const *names, int n, const char *s)
{
    int i;
    if (!s)
        return 0;
    for (i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], s))
            return i;
    return 0;
}

const char *mn_kind_name(mn_kind k)
{
    return (unsigned)k < MN_ARRAY_LEN(kinds) ? kinds[k] : NULL;
}

const char *mn_role_name(mn_role r)
{
    return (unsigned)r < MN_ARRAY_LEN(roles) ? roles[r] : NULL;
}

const char *mn_status_name(mn_status s)
{
    return (unsigned)s < MN_ARRAY_LEN(statuses) ? statuses[s] : NULL;
}

const char *mn_scope_name(mn_scope s)
{
    return (unsigned)s < MN_ARRAY_LEN(scopes) ? scopes[s] : NULL;
}

const char *mn_mode_name(mn_search_mode m)
{
    return (unsigned)m < MN_ARRAY_LEN(modes) ? modes[m] : NULL;
}

mn_kind mn_kind_parse(const char *s)
{
    return (mn_kind)lookup(kinds, (int)MN_ARRAY_LEN(kinds), s);
}

mn_role mn_role_parse(const char *s)
{
    int i;
    if (!s || !*s)
        return MN_ROLE_NONE;
    for (i = 0; i < (int)MN_ARRAY_LEN(roles); i++)
        if (!strcmp(roles[i], s))
            return (mn_role)i;
    return (mn_role)-1;
}

mn_status mn_status_parse(const char *s)
{
    return (mn_status)lookup(statuses, (int)MN_ARRAY_LEN(statuses), s);
}

mn_scope mn_scope_parse(const char *s)
{
    return (mn_scope)lookup(scopes, (int)MN_ARRAY_LEN(scopes), s);
}

int mn_mode_parse(const char *s, mn_search_mode *out_mode)
{
    int i;
    if (!s)
        return MN_EINVAL;
    for (i = 0; i < (int)MN_ARRAY_LEN(modes); i++) {
        if (!strcmp(modes[i], s)) {
            *out_mode = (mn_search_mode)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

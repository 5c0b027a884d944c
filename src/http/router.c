/* router.c - matches a method and path against the route table: literal segments must be
 * equal, "{name}" segments capture one non-empty segment. A path that matches only with
 * other methods is a 405 with their list, not a 404. */
#include <string.h>

#include "http_int.h"

/* Matches path against pattern; on success params get pointers into scratch (a copy of
 * path whose '/' separators become NULs, so that each captured segment is a string). */
static bool match(const char *pattern, const char *path, char *scratch, size_t cap,
                  const char **params)
{
    size_t n = strlen(path), np = 0, i;
    const char *p = pattern, *s = path;
    if (n + 1 > cap)
        return false;
    while (*p && *s) {
        const char *pe, *se;
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        pe = strchr(p, '/');
        if (!pe)
            pe = p + strlen(p);
        se = strchr(s, '/');
        if (!se)
            se = s + strlen(s);
        if (*p == '{') {
            if (se == s || np >= MN__H_MAX_PARAMS)
                return false;
            params[np++] = scratch + (s - path);
        } else if ((size_t)(pe - p) != (size_t)(se - s) || memcmp(p, s, (size_t)(pe - p))) {
            return false;
        }
        p = pe;
        s = se;
    }
    if (*p || *s)
        return false;
    for (i = 0; i <= n; i++)
        scratch[i] = path[i] == '/' ? '\0' : path[i];
    return true;
}

int mn__route_match(const char *method, const char *path, char *scratch, size_t scratch_cap,
                    const char **params, char *allow, size_t allow_cap)
{
    size_t i, o = 0;
    int found = -1;
    allow[0] = '\0';
    for (i = 0; i < mn__n_routes; i++) {
        const char *tmp[MN__H_MAX_PARAMS];
        if (!match(mn__routes[i].path, path, scratch, scratch_cap, tmp))
            continue;
        if (!strcmp(mn__routes[i].method, method)) {
            /* Match again into the caller's params: scratch may have been reused. */
            match(mn__routes[i].path, path, scratch, scratch_cap, params);
            return (int)i;
        }
        found = -2;
        if (o + strlen(mn__routes[i].method) + 3 < allow_cap)
            o += (size_t)snprintf(allow + o, allow_cap - o, "%s%s", o ? ", " : "",
                                  mn__routes[i].method);
    }
    return found;
}

/* fuzz_http.c - target http_routes: request bodies, path parameters and query strings for
 * every route of the table, run through the dispatcher and handlers (fuzz/hstub.c) against
 * a real database. Every reply must be well-formed: JSON that parses, the one error shape,
 * and never a 5xx caused by input.
 *
 * Input: byte 0 picks the route, byte 1 the Content-Type; then, up to the first NUL byte,
 * newline-separated path parameters {user} (or {file}) and {id} and the query string; the
 * rest is the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hstub.h"

static const char *const ctypes[] = {"application/json", "application/x-ndjson", NULL,
                                     "text/plain", "application/json; charset=utf-8",
                                     "APPLICATION/JSON"};

/* A few memories for user "u" so that get, patch, delete, export and search find rows. */
static void seed(void)
{
    static int done;
    static const char *const texts[] = {"I am allergic to peanuts", "My sister lives in Oslo",
                                        "We adopted a puppy named Max",
                                        "Meeting moved to Thursday"};
    mn_memory_in in;
    size_t i;
    if (done)
        return;
    done = 1;
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        mn_memory_in_init(&in);
        in.user_id = "u";
        in.text = texts[i];
        in.metadata_json = i % 2 ? "{\"speaker\":\"Ann\"}" : NULL;
        if (mn_memory_add(fz_server()->db, &in, NULL, NULL))
            fz_fail("cannot seed the database");
    }
}

/* The route's path with its {params} replaced by the given values. */
static void make_url(const char *pattern, char params[2][256], char *out, size_t cap)
{
    size_t o = 0, np = 0;
    const char *p;
    for (p = pattern; *p && o + 1 < cap;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            const char *v = np < 2 ? params[np] : "x";
            np++;
            while (*v && o + 1 < cap)
                out[o++] = *v++;
            p = e ? e + 1 : p + strlen(p);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const mn__route *r;
    char params[2][256], query[2048], meta[2560], url[1024];
    const uint8_t *mp;
    size_t mn;
    fz_reply rep;
    uint8_t flags;
    if (size < 2)
        return 0;
    seed();
    r = &mn__routes[data[0] % mn__n_routes];
    flags = data[1];
    data += 2;
    size -= 2;
    fz_field(&data, &size, 0, meta, sizeof meta);
    mp = (const uint8_t *)meta;
    mn = strlen(meta);
    fz_field(&mp, &mn, '\n', params[0], sizeof params[0]);
    fz_field(&mp, &mn, '\n', params[1], sizeof params[1]);
    fz_field(&mp, &mn, '\n', query, sizeof query);
    if (!params[0][0])
        snprintf(params[0], sizeof params[0], "u");
    if (!params[1][0])
        snprintf(params[1], sizeof params[1], "1");
    make_url(r->path, params, url, sizeof url);
    fz_request((flags & 0x80) && !strcmp(r->method, "GET") ? "HEAD" : r->method, url,
               ctypes[(flags & 0x7f) % MN_ARRAY_LEN(ctypes)], NULL, query, data, size, &rep);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s %s -> %d %.200s\n", r->method, url, rep.status, rep.body);
    return 0;
}

/* h_ops.c - routes for operators and tools: liveness, readiness, Prometheus metrics, the
 * OpenAPI document and the API explorer at /docs (swagger-ui-dist files fetched by
 * scripts/setup-swagger; a page saying how to get them when they are missing). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_int.h"

int mn__h_healthz(mn__hreq *rq)
{
    return mn__reply_static(rq, 200, "{\"status\":\"ok\"}\n", NULL);
}

int mn__h_readyz(mn__hreq *rq)
{
    mn_db_stats st;
    mn_cluster_info ci;
    mn_err err;
    mn__buf b;
    int rc = mn_db_stats_get(rq->srv->db, &st, &err);
    if (rc)
        return mn__reply_error(rq, MN_EUNAVAIL, err.hint, "store is not answering: %s",
                               err.msg);
    mn_db_cluster_get(rq->srv->db, &ci); /* several nodes: docs/SCALING.md */
    mn__buf_init(&b, 0);
    rc = mn__buf_printf(&b, "{\"status\":\"ready\",\"memories\":%lld,\"vector_search\":%s,"
                            "\"dev_mode\":%s,\"store\":\"%s\",\"change_feed\":\"%s\","
                            "\"redis\":\"%s\",\"jobs\":\"%s\",\"query_cache\":\"%s\","
                            "\"note\":",
                        (long long)st.n_memories, rq->srv->info.dim ? "true" : "false",
                        atomic_load(&rq->srv->dev_mode) ? "true" : "false", ci.store,
                        ci.change_feed, ci.redis, ci.jobs, ci.query_cache);
    if (!rc)
        rc = mn__buf_json_str(&b, rq->srv->info.vector_note, strlen(rq->srv->info.vector_note));
    if (!rc)
        rc = mn__buf_puts(&b, "}\n");
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
    mn__buf_release(&b);
    return rc;
}

int mn__h_metrics(mn__hreq *rq)
{
    mn__buf b;
    int rc;
    mn__buf_init(&b, 0);
    rc = mn__metrics_render(rq->srv, &b);
    if (rc || mn__reply_buf(rq, 200, &b, "text/plain; version=0.0.4; charset=utf-8"))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the metrics");
    mn__buf_release(&b);
    return rc;
}

int mn__h_openapi(mn__hreq *rq)
{
    return mn__reply_static(rq, 200, rq->srv->openapi, NULL);
}

static const char page[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>mnemo API</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\"></head>\n<body><div "
    "id=\"ui\"></div>\n<script src=\"/docs/swagger-ui-bundle.js\"></script>\n<script>\n"
    "SwaggerUIBundle({url: '/openapi.json', dom_id: '#ui', deepLinking: true});\n"
    "</script></body></html>\n";

static const char fallback[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>mnemo API</title></head>\n"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">\n"
    "<h1>mnemo API</h1>\n<p>The API explorer's files (swagger-ui-dist) are not installed. "
    "Fetch them with <code>sh scripts/setup-swagger</code> (part of <code>make setup</code>) "
    "and reload this page, or point <code>--docs-dir</code> at them.</p>\n"
    "<p>The API itself is described by <a href=\"/openapi.json\">/openapi.json</a> "
    "(OpenAPI 3.1) and docs/API.md.</p>\n</body></html>\n";

static int docs_path(const mn__hreq *rq, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", rq->srv->cfg.docs_dir, file);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int mn__h_docs(mn__hreq *rq)
{
    char path[1024];
    if (docs_path(rq, "swagger-ui-bundle.js", path, sizeof path) == 0 &&
        access(path, R_OK) == 0)
        return mn__reply_static(rq, 200, page, "text/html; charset=utf-8");
    return mn__reply_static(rq, 200, fallback, "text/html; charset=utf-8");
}

int mn__h_docs_file(mn__hreq *rq)
{
    static const struct {
        const char *name, *type;
    } files[] = {{"swagger-ui.css", "text/css"},
                 {"swagger-ui-bundle.js", "text/javascript"},
                 {"swagger-ui-standalone-preset.js", "text/javascript"},
                 {"favicon-32x32.png", "image/png"},
                 {"favicon-16x16.png", "image/png"}};
    const char *name = rq->params[0];
    char path[1024], chunk[65536];
    struct stat stt;
    mn__buf b;
    size_t i;
    ssize_t n;
    int fd, rc = 0;
    for (i = 0; i < MN_ARRAY_LEN(files); i++)
        if (!strcmp(files[i].name, name))
            break;
    if (i == MN_ARRAY_LEN(files))
        return mn__reply_error(rq, MN_ENOTFOUND, "the explorer is at /docs",
                               "no file '%.64s' in the API explorer", name);
    if (docs_path(rq, name, path, sizeof path) || (fd = open(path, O_RDONLY)) < 0)
        return mn__reply_error(rq, MN_ENOTFOUND, "run scripts/setup-swagger",
                               "API explorer file '%s' is not installed", name);
    if (fstat(fd, &stt) || stt.st_size > 32 << 20) {
        close(fd);
        return mn__reply_error(rq, MN_EIO, NULL, "cannot read '%s'", name);
    }
    mn__buf_init(&b, 32 << 20);
    while (!rc && (n = read(fd, chunk, sizeof chunk)) > 0)
        rc = mn__buf_append(&b, chunk, (size_t)n);
    close(fd);
    if (rc || mn__reply_buf(rq, 200, &b, files[i].type))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading '%s'", name);
    else
        mn__reply_header(rq, "Cache-Control", "public, max-age=3600");
    mn__buf_release(&b);
    return rc;
}

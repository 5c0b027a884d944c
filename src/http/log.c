/* log.c - the server's log: leveled lines to stderr, plain text or JSON, one access line per
 * request, and the adapter that routes the library's messages into it. Each line is written
 * with one call so that lines of different threads do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int mn__hlog_level_parse(const char *s, mn_log_level *out)
{
    int i;
    for (i = 0; i < 4; i++)
        if (!strcmp(s, level_names[i])) {
            *out = (mn_log_level)i;
            return 0;
        }
    if (!strcmp(s, "warning")) {
        *out = MN_LOG_WARN;
        return 0;
    }
    return -1;
}

static void emit(const mn__buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(STDERR_FILENO, b->data + off, b->len - off);
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

static void line(const mn__hsrv *srv, mn_log_level level, const char *msg)
{
    char t[32];
    mn__buf b;
    mn__buf_init(&b, 16384);
    mn_time_format(mn__now_ms(), t);
    if (srv && srv->json_log) {
        if (!mn__buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", t,
                            level_names[level & 3]) &&
            !mn__buf_json_str(&b, msg, strlen(msg)))
            mn__buf_puts(&b, "}\n");
    } else {
        mn__buf_printf(&b, "%s %-5s %s\n", t, level_names[level & 3], msg);
    }
    emit(&b);
    mn__buf_release(&b);
}

void mn__hlog(const mn__hsrv *srv, mn_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (srv && level < srv->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    line(srv, level, msg);
}

void mn__hlog_lib(void *ctx, mn_log_level level, const char *msg)
{
    mn__hlog(ctx, level, "%s", msg);
}

void mn__hlog_access(const mn__hsrv *srv, const mn__hreq *rq, int64_t dur_ns)
{
    char t[32];
    mn__buf b;
    const char *path = rq->url ? rq->url : "-";
    if (!srv->cfg.access_log || srv->log_level > MN_LOG_INFO)
        return;
    mn__buf_init(&b, 8192);
    mn_time_format(mn__now_ms(), t);
    if (srv->json_log) {
        if (!mn__buf_printf(&b, "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\","
                                "\"method\":\"%s\",\"path\":",
                            t, rq->method ? rq->method : "-") &&
            !mn__buf_json_str(&b, path, strlen(path)) &&
            !mn__buf_printf(&b, ",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,\"rid\":",
                            rq->status, rq->out_bytes, (double)dur_ns / 1e6) &&
            !mn__buf_json_str(&b, rq->rid, strlen(rq->rid)) &&
            !mn__buf_puts(&b, ",\"tenant\":") &&
            !mn__buf_json_str(&b, rq->tenant, strlen(rq->tenant)))
            mn__buf_puts(&b, "}\n");
    } else {
        /* Text form: the path is printed as received up to a bound, control bytes hidden. */
        char p[256];
        size_t i, n = strlen(path) < sizeof p - 1 ? strlen(path) : sizeof p - 1;
        for (i = 0; i < n; i++)
            p[i] = (unsigned char)path[i] < 0x20 || path[i] == ' ' ? '?' : path[i];
        p[n] = '\0';
        mn__buf_printf(&b, "%s info  %s %s %d %zuB %.3fms rid=%s tenant=%s\n", t,
                       rq->method ? rq->method : "-", p, rq->status, rq->out_bytes,
                       (double)dur_ns / 1e6, rq->rid, rq->tenant[0] ? rq->tenant : "-");
    }
    emit(&b);
    mn__buf_release(&b);
}

/* h_ui.c - the memory inspector at /ui: static files (HTML, ES modules, CSS) from the ui
 * directory (--ui-dir, else the checkout's ui/, next to the executable or the install prefix).
 * Only plain names with a known extension are served, so no path can leave the directory. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_int.h"

#define UI_MAX_FILE_BYTES (4 << 20)

/* The page may talk to this server only: no fonts, scripts or beacons from elsewhere. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

static const char fallback[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mnemo memory "
    "inspector</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:2em "
    "auto\">\n<h1>mnemo memory inspector</h1>\n<p>The inspector's files are not installed. "
    "Start the server from the source checkout (they are in <code>ui/</code>) or point "
    "<code>--ui-dir</code> at them.</p>\n</body></html>\n";

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char found_dir[PATH_MAX + 32];

static bool has_index(const char *dir)
{
    char p[PATH_MAX + 64];
    int n = snprintf(p, sizeof p, "%s/index.html", dir);
    return n > 0 && (size_t)n < sizeof p && access(p, R_OK) == 0;
}

/* Searched once: the executable and the checkout do not move while the server runs. */
static void search_dir(void)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int i;
    if (has_index("ui")) {
        memcpy(found_dir, "ui", sizeof "ui");
        return;
    }
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            for (i = 0; i < 2; i++) {
                int w = i ? snprintf(cand, sizeof cand, "%s/../share/mnemo/ui", exe)
                          : snprintf(cand, sizeof cand, "%s/../ui", exe);
                if (w > 0 && (size_t)w < sizeof cand && has_index(cand)) {
                    memcpy(found_dir, cand, (size_t)w + 1);
                    return;
                }
            }
        }
    }
    if (has_index("/usr/local/share/mnemo/ui"))
        memcpy(found_dir, "/usr/local/share/mnemo/ui", sizeof "/usr/local/share/mnemo/ui");
    else if (has_index("/usr/share/mnemo/ui"))
        memcpy(found_dir, "/usr/share/mnemo/ui", sizeof "/usr/share/mnemo/ui");
}

/* The directory in use: --ui-dir when given, else the first one found; NULL when none. */
static const char *ui_dir(const mn__hreq *rq)
{
    const char *d = rq->srv->cfg.ui_dir;
    if (d && *d)
        return d;
    pthread_once(&once, search_dir);
    return found_dir[0] ? found_dir : NULL;
}

/* Content type of a servable name, NULL when the name is not one: letters, digits, '-',
 * '_' and one '.' before a known extension (no "..", no hidden files, no separators). */
static const char *file_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{"html", "text/html; charset=utf-8"},
                 {"js", "text/javascript; charset=utf-8"},
                 {"mjs", "text/javascript; charset=utf-8"},
                 {"css", "text/css; charset=utf-8"},
                 {"svg", "image/svg+xml"},
                 {"png", "image/png"},
                 {"ico", "image/x-icon"},
                 {"json", "application/json"}};
    const char *dot = NULL, *p;
    size_t i;
    for (p = name; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (dot || p == name)
                return NULL;
            dot = p;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_')) {
            return NULL;
        }
    }
    if (!dot || p - name > 128)
        return NULL;
    for (i = 0; i < MN_ARRAY_LEN(types); i++)
        if (!strcmp(dot + 1, types[i].ext))
            return types[i].type;
    return NULL;
}

static void security_headers(mn__hreq *rq)
{
    mn__reply_header(rq, "Content-Security-Policy", csp);
    mn__reply_header(rq, "X-Content-Type-Options", "nosniff");
    mn__reply_header(rq, "Referrer-Policy", "no-referrer");
}

/* Replies with the file, or 304 when the client's copy (If-None-Match) is current. The
 * files change when the server is upgraded, so clients revalidate (no-cache) instead of
 * keeping a copy for a fixed time. */
static int send_file(mn__hreq *rq, const char *dir, const char *name, const char *type)
{
    char path[PATH_MAX + 160], etag[64], chunk[65536];
    const char *inm;
    struct stat st;
    mn__buf b;
    ssize_t n = 0;
    int fd, rc = 0, w = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (w <= 0 || (size_t)w >= sizeof path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return mn__reply_error(rq, MN_ENOTFOUND, "the inspector is at /ui",
                               "no file '%s' in the memory inspector", name);
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > UI_MAX_FILE_BYTES) {
        close(fd);
        return mn__reply_error(rq, MN_ENOTFOUND, "the inspector is at /ui",
                               "'%s' is not a file of the memory inspector", name);
    }
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st.st_mtim.tv_nsec);
    inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm && !strcmp(inm, etag)) {
        close(fd);
        rc = mn__reply_static(rq, 304, "", type);
        if (!rc) {
            mn__reply_header(rq, "ETag", etag);
            mn__reply_header(rq, "Cache-Control", "no-cache");
        }
        return rc ? mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory") : 0;
    }
    mn__buf_init(&b, UI_MAX_FILE_BYTES);
    while (!rc && (n = read(fd, chunk, sizeof chunk)) > 0)
        rc = mn__buf_append(&b, chunk, (size_t)n);
    if (!rc && n < 0)
        rc = MN_EIO;
    close(fd);
    if (rc == MN_EIO)
        rc = mn__reply_error(rq, MN_EIO, NULL, "cannot read '%s' of the memory inspector", name);
    else if (rc || mn__reply_buf(rq, 200, &b, type))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory reading '%s'", name);
    else {
        mn__reply_header(rq, "ETag", etag);
        mn__reply_header(rq, "Cache-Control", "no-cache");
        security_headers(rq);
    }
    mn__buf_release(&b);
    return rc;
}

int mn__h_ui(mn__hreq *rq)
{
    const char *dir = ui_dir(rq);
    if (!dir || !has_index(dir))
        return mn__reply_static(rq, 200, fallback, "text/html; charset=utf-8");
    return send_file(rq, dir, "index.html", "text/html; charset=utf-8");
}

int mn__h_ui_file(mn__hreq *rq)
{
    const char *name = rq->params[0], *type = file_type(name), *dir;
    if (!type)
        return mn__reply_error(rq, MN_ENOTFOUND, "the inspector is at /ui",
                               "no file '%.64s' in the memory inspector", name);
    dir = ui_dir(rq);
    if (!dir)
        return mn__reply_error(rq, MN_ENOTFOUND, "start the server from the source checkout "
                                                 "or set --ui-dir",
                               "the memory inspector's files are not installed");
    return send_file(rq, dir, name, type);
}

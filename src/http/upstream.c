/* upstream.c - one HTTP exchange with the OpenAI-compatible upstream of the proxy, on
 * libcurl's easy interface, run on the proxy's own thread: headers and body reach the caller
 * through callbacks as they arrive (nothing is buffered here), with connect and total
 * timeouts, no redirects, http(s) only, and an abort check polled while waiting. */
#include <ctype.h>
#include <curl/curl.h>
#include <string.h>

#include "http_int.h"

typedef struct xfer {
    const mn__upstream_req *r;
    CURL *curl;
    bool final;      /* the headers of the final (non-1xx) response are complete */
    bool cb_abort;   /* a callback asked to stop */
} xfer;

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n, nlen, vlen;
    const char *colon, *v;
    if (x->cb_abort)
        return 0;
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
        /* 1xx responses end with a blank line too; only the final one counts. */
        if (status >= 200 && !x->final) {
            x->final = true;
            if (x->r->on_headers && x->r->on_headers(x->r->ctx, status)) {
                x->cb_abort = true;
                return 0;
            }
        }
        return len;
    }
    if (!strncmp(p, "HTTP/", 5)) /* a status line starts a new header set */
        return len;
    colon = memchr(p, ':', len);
    if (!colon || !x->r->on_header)
        return len;
    nlen = (size_t)(colon - p);
    for (v = colon + 1; v < p + len && (*v == ' ' || *v == '\t'); v++)
        ;
    vlen = (size_t)(p + len - v);
    while (vlen && isspace((unsigned char)v[vlen - 1]))
        vlen--;
    if (x->r->on_header(x->r->ctx, p, nlen, v, vlen)) {
        x->cb_abort = true;
        return 0;
    }
    return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (x->cb_abort || (x->r->on_data && x->r->on_data(x->r->ctx, p, len))) {
        x->cb_abort = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    xfer *x = ud;
    (void)dt, (void)dn, (void)ut, (void)un;
    if (x->r->should_abort && x->r->should_abort(x->r->ctx)) {
        x->cb_abort = true;
        return 1;
    }
    return 0;
}

int mn__upstream_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? MN_OK : MN_ENOMEM;
}

void mn__upstream_global_release(void)
{
    curl_global_cleanup();
}

int mn__upstream_perform(const mn__upstream_req *r, mn_err *err)
{
    char ebuf[CURL_ERROR_SIZE];
    xfer x;
    CURLcode cc;
    int rc;

    memset(&x, 0, sizeof x);
    x.r = r;
    x.curl = curl_easy_init();
    if (!x.curl)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory starting an upstream request");
    ebuf[0] = '\0';
    curl_easy_setopt(x.curl, CURLOPT_URL, r->url);
    curl_easy_setopt(x.curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x.curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(x.curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x.curl, CURLOPT_CONNECTTIMEOUT, r->connect_timeout_s);
    curl_easy_setopt(x.curl, CURLOPT_TIMEOUT, r->timeout_s);
    curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(x.curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x.curl, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(x.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(x.curl, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(x.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(x.curl, CURLOPT_USERAGENT, "mnemo/" MN_VERSION);
    if (r->body) {
        curl_easy_setopt(x.curl, CURLOPT_POST, 1L);
        curl_easy_setopt(x.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(x.curl, CURLOPT_POSTFIELDS, r->body);
    }
    cc = curl_easy_perform(x.curl);
    if (cc == CURLE_OK) {
        rc = MN_OK;
    } else if (x.cb_abort) {
        rc = mn__err_set(err, MN_ECLOSED, NULL, "upstream request to %.200s stopped", r->url);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = mn__err_set(err, MN_ETIMEOUT,
                         "raise --upstream-timeout or --upstream-connect-timeout, or check "
                         "the upstream",
                         "upstream %.200s did not answer in time: %.200s", r->url,
                         ebuf[0] ? ebuf : curl_easy_strerror(cc));
    } else {
        rc = mn__err_set(err, MN_EPROVIDER, "check --upstream-url and that the upstream runs",
                         "upstream %.200s failed: %.200s", r->url,
                         ebuf[0] ? ebuf : curl_easy_strerror(cc));
    }
    curl_easy_cleanup(x.curl);
    return rc;
}

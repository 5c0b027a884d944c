/* http_client.c - blocking HTTP(S) requests to remote providers (embedders, the LLM) through
 * libcurl: one attempt with connect/total timeouts and a reply size limit, and a retry loop
 * with exponential backoff, full jitter and Retry-After for 429, 5xx and transport errors. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

#define DEF_CONNECT_MS 5000
#define DEF_TIMEOUT_MS 30000
#define DEF_MAX_REPLY ((size_t)16 << 20)
#define DEF_ATTEMPTS 4
#define DEF_BASE_MS 250
#define DEF_MAX_BACKOFF_MS 8000
#define DEF_MAX_TOTAL_MS 60000
#define SNIPPET 160

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mn__http_reply_init(mn__http_reply *r)
{
    r->status = 0;
    r->retry_after_ms = -1;
    mn__buf_init(&r->body, 0);
}

void mn__http_reply_release(mn__http_reply *r)
{
    mn__buf_release(&r->body);
}

typedef struct xfer {
    mn__http_reply *out;
    const mn__http_req *req;
    bool too_big;
    int64_t now_ms;
} xfer;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    xfer *x = ctx;
    size_t len = size * n;
    if (mn__buf_append(&x->out->body, p, len)) {
        x->too_big = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    xfer *x = ctx;
    size_t len = size * n;
    char val[128];
    size_t vl;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        const char *v = p + 12;
        while (v < p + len && (*v == ' ' || *v == '\t'))
            v++;
        vl = (size_t)(p + len - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof val) {
            int64_t ms;
            memcpy(val, v, vl);
            val[vl] = '\0';
            if (mn__http_retry_after(val, x->now_ms, &ms) == MN_OK)
                x->out->retry_after_ms = ms;
        }
    }
    return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const xfer *x = ctx;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return x->req->cancel && *x->req->cancel ? 1 : 0; /* non-zero aborts */
}

static const char *what_of(const mn__http_req *req)
{
    return req->what ? req->what : "remote provider";
}

int mn__http_send(const mn__http_req *req, mn__http_reply *out, mn_err *err)
{
    CURL *c = NULL;
    struct curl_slist *hdrs = NULL, *nh;
    xfer x;
    CURLcode cc;
    int rc = MN_OK;
    size_t i;

    mn__buf_release(&out->body);
    mn__buf_init(&out->body, req->max_reply_bytes ? req->max_reply_bytes : DEF_MAX_REPLY);
    out->status = 0;
    out->retry_after_ms = -1;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return mn__err_set(err, MN_EIO, NULL, "%s: libcurl failed to initialise: %s",
                           what_of(req), curl_easy_strerror(curl_init_rc));
    c = curl_easy_init();
    if (!c)
        return mn__err_set(err, MN_ENOMEM, NULL, "%s: out of memory starting a request",
                           what_of(req));
    for (i = 0; req->headers && req->headers[i]; i++) {
        nh = curl_slist_append(hdrs, req->headers[i]);
        if (!nh) {
            rc = mn__err_set(err, MN_ENOMEM, NULL, "%s: out of memory", what_of(req));
            goto cleanup;
        }
        hdrs = nh;
    }
    /* curl adds "Expect: 100-continue" to big POSTs: one more round trip for nothing */
    nh = curl_slist_append(hdrs, "Expect:");
    if (!nh) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "%s: out of memory", what_of(req));
        goto cleanup;
    }
    hdrs = nh;
    x.out = out;
    x.req = req;
    x.too_big = false;
    x.now_ms = mn__now_ms();
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                        : DEF_CONNECT_MS));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mnemo/" MN_VERSION);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (cc == CURLE_OK)
        goto cleanup;
    if (x.too_big)
        rc = mn__err_set(err, MN_ETOOBIG, "check the provider URL, or raise the reply limit",
                         "%s: reply from %s is over %zu bytes", what_of(req), req->url,
                         out->body.max);
    else if (cc == CURLE_ABORTED_BY_CALLBACK)
        rc = mn__err_set(err, MN_ECLOSED, NULL, "%s: request cancelled (shutting down)",
                         what_of(req));
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = mn__err_set(err, MN_ETIMEOUT, "the provider is slow or down; raise the timeout",
                         "%s: no complete reply from %s within %d ms", what_of(req), req->url,
                         req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS);
    else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
             cc == CURLE_COULDNT_RESOLVE_PROXY)
        rc = mn__err_set(err, MN_EUNAVAIL, "check the provider URL and that it is running",
                         "%s: cannot connect to %s: %s", what_of(req), req->url,
                         curl_easy_strerror(cc));
    else
        rc = mn__err_set(err, MN_EIO, "check the provider URL", "%s: request to %s failed: %s",
                         what_of(req), req->url, curl_easy_strerror(cc));
    out->status = 0;
cleanup:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return rc;
}

/* ---- Retry-After ------------------------------------------------------------------------ */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_uint(const char **p, int digits_max, long *out)
{
    long v = 0;
    int n = 0;
    while (**p >= '0' && **p <= '9' && n < digits_max) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n ? 0 : -1;
}

/* "Wed, 21 Oct 2015 07:28:00 GMT" (IMF-fixdate, the form RFC 9110 requires senders use). */
static int parse_http_date(const char *s, int64_t *out_ms)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const char *p = strchr(s, ',');
    long d, y, hh, mm, ss;
    int m;
    if (!p)
        return -1;
    p++;
    while (*p == ' ')
        p++;
    if (parse_uint(&p, 2, &d) || *p++ != ' ')
        return -1;
    for (m = 0; m < 12; m++)
        if (!strncmp(p, mon[m], 3))
            break;
    if (m == 12 || p[3] != ' ')
        return -1;
    p += 4;
    if (parse_uint(&p, 4, &y) || *p++ != ' ' || parse_uint(&p, 2, &hh) || *p++ != ':' ||
        parse_uint(&p, 2, &mm) || *p++ != ':' || parse_uint(&p, 2, &ss))
        return -1;
    if (strcmp(p, " GMT") || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    *out_ms = ((days_from_civil(y, m + 1, (int)d) * 86400) + hh * 3600 + mm * 60 + ss) * 1000;
    return 0;
}

int mn__http_retry_after(const char *value, int64_t now_ms, int64_t *out_ms)
{
    const char *p = value;
    long secs;
    int64_t at;
    while (*p == ' ')
        p++;
    if (*p >= '0' && *p <= '9') {
        if (parse_uint(&p, 9, &secs) || *p)
            return MN_EINVAL;
        *out_ms = (int64_t)secs * 1000;
        return MN_OK;
    }
    if (parse_http_date(p, &at))
        return MN_EINVAL;
    *out_ms = at > now_ms ? at - now_ms : 0;
    return MN_OK;
}

/* ---- retries ---------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: jitter only needs to differ between callers, not to be secret */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t mn__backoff_ms(const mn__retry_policy *rp, int retry, int64_t retry_after_ms,
                       uint64_t *rng)
{
    int64_t base = rp && rp->base_ms > 0 ? rp->base_ms : DEF_BASE_MS;
    int64_t cap = rp && rp->max_backoff_ms > 0 ? rp->max_backoff_ms : DEF_MAX_BACKOFF_MS;
    int64_t ceil_ms = base, wait;
    int i;
    for (i = 1; i < retry && ceil_ms < cap; i++)
        ceil_ms *= 2;
    if (ceil_ms > cap)
        ceil_ms = cap;
    /* full jitter: spread callers that failed together over [0, ceil] */
    wait = (int64_t)(rng_next(rng) % (uint64_t)(ceil_ms + 1));
    if (retry_after_ms > wait)
        wait = retry_after_ms; /* the server knows better when it will have room */
    return wait;
}

static bool retryable_status(long st)
{
    return st == 429 || st == 408 || (st >= 500 && st <= 599);
}

static bool retryable_rc(int rc)
{
    return rc == MN_ETIMEOUT || rc == MN_EUNAVAIL || rc == MN_EIO;
}

/* Sleeps ms, waking early when cancelled. Returns false when cancelled. */
static bool nap(int64_t ms, const _Atomic int *cancel)
{
    while (ms > 0) {
        int64_t step = ms > 50 ? 50 : ms;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        if (cancel && *cancel)
            return false;
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !(cancel && *cancel);
}

/* The first bytes of a reply body on one line, for messages. */
static void snippet(const mn__buf *b, char *out, size_t cap)
{
    size_t i, o = 0;
    for (i = 0; b->data && i < b->len && o + 1 < cap && o < SNIPPET; i++) {
        unsigned char ch = (unsigned char)b->data[i];
        out[o++] = ch < 0x20 ? ' ' : (char)ch;
    }
    out[o] = '\0';
}

static int status_error(const mn__http_req *req, const mn__http_reply *r, int attempts,
                        mn_err *err)
{
    char body[SNIPPET + 1];
    snippet(&r->body, body, sizeof body);
    if (r->status == 429)
        return mn__err_set(err, MN_ERATE, "lower the request rate or raise the provider quota",
                           "%s: rate limited (HTTP 429) after %d attempt(s): %s", what_of(req),
                           attempts, body);
    if (r->status == 401 || r->status == 403)
        return mn__err_set(err, MN_EAUTH, "check the provider API key",
                           "%s: HTTP %ld from %s: %s", what_of(req), r->status, req->url, body);
    if (r->status >= 500)
        return mn__err_set(err, MN_EPROVIDER, "the provider is failing; retried with backoff",
                           "%s: HTTP %ld from %s after %d attempt(s): %s", what_of(req),
                           r->status, req->url, attempts, body);
    return mn__err_set(err, MN_EPROVIDER, "check the provider URL, model name and settings",
                       "%s: HTTP %ld from %s: %s", what_of(req), r->status, req->url, body);
}

int mn__http_send_retry(const mn__http_req *req, const mn__retry_policy *rp,
                        mn__http_reply *out, mn_err *err)
{
    int max_att = rp && rp->max_attempts > 0 ? rp->max_attempts : DEF_ATTEMPTS;
    int64_t budget = rp && rp->max_total_ms > 0 ? rp->max_total_ms : DEF_MAX_TOTAL_MS;
    int64_t t0 = mn__mono_ns();
    uint64_t rng = (uint64_t)t0 ^ (uint64_t)(uintptr_t)out;
    int attempt, rc = MN_OK;

    for (attempt = 1;; attempt++) {
        int64_t wait, spent;
        rc = mn__http_send(req, out, err);
        if (rc == MN_OK && out->status >= 200 && out->status < 300)
            return MN_OK;
        if (rc == MN_OK && !retryable_status(out->status))
            return status_error(req, out, attempt, err);
        if (rc != MN_OK && !retryable_rc(rc))
            return rc;
        if (attempt >= max_att)
            break;
        wait = mn__backoff_ms(rp, attempt, rc == MN_OK ? out->retry_after_ms : -1, &rng);
        spent = (mn__mono_ns() - t0) / 1000000;
        if (spent + wait > budget)
            break; /* the caller keeps the work and tries later (out->retry_after_ms) */
        if (!nap(wait, req->cancel))
            return mn__err_set(err, MN_ECLOSED, NULL, "%s: request cancelled (shutting down)",
                               what_of(req));
    }
    if (rc == MN_OK)
        return status_error(req, out, attempt, err);
    if (err)
        mn__err_prefix(err, "after %d attempt(s)", attempt);
    return rc;
}

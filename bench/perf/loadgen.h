/* loadgen.h - HTTP/1.1 load generator over keep-alive connections (epoll, one thread):
 * each connection sends a request, waits for the whole reply, records its latency and sends
 * the next one until the time is up. Requests and reply checks are callbacks. */
#ifndef MN_BENCH_LOADGEN_H
#define MN_BENCH_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct lg_buf {
    char *data;
    size_t len, cap;
} lg_buf;

void lg_buf_reset(lg_buf *b);
void lg_buf_cat(lg_buf *b, const char *s, size_t n);
void lg_buf_printf(lg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lg_buf_free(lg_buf *b);

typedef struct lg_spec {
    const char *host; /* numeric IPv4 */
    int port;
    int n_conn;
    double seconds;   /* measuring time */
    double warmup;    /* seconds before measuring: replies before it are checked, not counted;
                         replies that arrive in the window count, with their latency */
    uint64_t max_req; /* stop after sending this many requests; 0: no limit */
    /* Appends one whole request (request line, headers, body) for connection conn. */
    void (*make)(void *ctx, int conn, uint64_t seq, lg_buf *out);
    /* Checks a reply; returns how many items it stored or found (summed into n_items), or
     * -1 when the reply is wrong (counted in n_bad). NULL: 2xx is good, 1 item. */
    long (*check)(void *ctx, int conn, int status, const char *body, size_t len);
    void *ctx;
} lg_spec;

typedef struct lg_result {
    uint64_t n_req;    /* replies counted in the measuring window */
    uint64_t n_bad;    /* wrong replies (status or check), measuring window and warm-up */
    uint64_t n_items;  /* sum of check() results in the window */
    uint64_t n_items_all; /* the same including warm-up: what was acknowledged */
    double seconds;    /* length of the measuring window */
    double rps;        /* requests per second */
    double items_ps;   /* items per second */
    double p50_ms, p99_ms, max_ms;
    int error;         /* connection failures */
} lg_result;

/* 0, or -1 when no connection could be made. */
int lg_run(const lg_spec *spec, lg_result *out);

/* One blocking GET on a new connection: the status (or -1), body into out when non-NULL. */
int lg_get(const char *host, int port, const char *path, lg_buf *out);

#endif

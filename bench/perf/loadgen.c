/* loadgen.c - the epoll load generator of loadgen.h. Replies are parsed just enough to find
 * their end: status line, Content-Length (the server always sends one), body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"
#include "perf.h"

void lg_buf_reset(lg_buf *b)
{
    b->len = 0;
}

static void grow(lg_buf *b, size_t need)
{
    if (b->len + need + 1 <= b->cap)
        return;
    while (b->len + need + 1 > b->cap)
        b->cap = b->cap ? b->cap * 2 : 4096;
    b->data = realloc(b->data, b->cap);
    if (!b->data) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
}

void lg_buf_cat(lg_buf *b, const char *s, size_t n)
{
    grow(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lg_buf_printf(lg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lg_buf_free(lg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

typedef struct conn {
    int fd;
    lg_buf out, in;
    size_t out_off;
    uint64_t seq;
    double t_sent;
} conn;

static int connect_to(const char *host, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Length of a complete reply in b (head + body), 0 when more bytes are needed, -1 when it
 * cannot be parsed. */
static long reply_len(const lg_buf *b, int *status, size_t *body_off)
{
    const char *end, *p;
    long clen = -1;
    if (b->len < 12)
        return 0;
    end = memmem(b->data, b->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    if (strncmp(b->data, "HTTP/1.", 7))
        return -1;
    *status = (int)strtol(b->data + 9, NULL, 10);
    for (p = b->data; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n')
            p++;
        if (!strncasecmp(p, "content-length:", 15)) {
            clen = strtol(p + 15, NULL, 10);
            break;
        }
    }
    if (clen < 0)
        return -1;
    *body_off = (size_t)(end + 4 - b->data);
    if (b->len < *body_off + (size_t)clen)
        return 0;
    return (long)(*body_off + (size_t)clen);
}

static uint64_t n_sent;

static void send_next(const lg_spec *s, conn *c, int idx)
{
    n_sent++;
    lg_buf_reset(&c->out);
    s->make(s->ctx, idx, c->seq++, &c->out);
    c->out_off = 0;
    c->t_sent = perf_now();
}

/* Writes what the socket takes; 0 or -1 on a dead connection. */
static int flush_out(conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)w;
    }
    return 0;
}

/* Writes what it can and asks epoll for EPOLLOUT only while a request is left unsent, so
 * that a large body never waits for an unrelated event. 0 or -1 on a dead connection. */
static int push(int ep, conn *c, uint32_t idx)
{
    struct epoll_event ev;
    int had = c->out_off < c->out.len;
    if (flush_out(c) < 0)
        return -1;
    ev.data.u32 = idx;
    ev.events = EPOLLIN | (c->out_off < c->out.len ? EPOLLOUT : 0u);
    if (had != (c->out_off < c->out.len) || c->out_off < c->out.len)
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

int lg_run(const lg_spec *s, lg_result *out)
{
    conn *cs = calloc((size_t)s->n_conn, sizeof *cs);
    size_t n_lat = 0, cap_lat = 1 << 16;
    double *lat = malloc(cap_lat * sizeof *lat);
    struct epoll_event ev, evs[256];
    double t_start = perf_now(), t_meas = t_start + s->warmup, t_end = t_meas + s->seconds;
    int ep = epoll_create1(0), i, live = 0;
    char rbuf[65536];

    memset(out, 0, sizeof *out);
    n_sent = 0;
    if (!cs || !lat || ep < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    for (i = 0; i < s->n_conn; i++) {
        cs[i].fd = connect_to(s->host, s->port);
        if (cs[i].fd < 0) {
            out->error++;
            continue;
        }
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        cs[i].seq = (uint64_t)i << 40;
        send_next(s, &cs[i], i);
        if (push(ep, &cs[i], (uint32_t)i) == 0)
            live++;
    }
    while (live > 0) {
        int n = epoll_wait(ep, evs, 256, 100), e;
        double now = perf_now();
        for (e = 0; e < n; e++) {
            conn *c = &cs[evs[e].data.u32];
            ssize_t r;
            int status = 0;
            size_t body_off = 0;
            long len;
            if (c->fd < 0)
                continue;
            if ((evs[e].events & EPOLLOUT) && push(ep, c, evs[e].data.u32) < 0) {
                out->error++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                live--;
                continue;
            }
            if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            r = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                out->error++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                live--;
                continue;
            }
            lg_buf_cat(&c->in, rbuf, (size_t)r);
            len = reply_len(&c->in, &status, &body_off);
            if (len == 0)
                continue;
            now = perf_now();
            if (len < 0) {
                out->n_bad++;
                len = (long)c->in.len;
            } else {
                long items = 1;
                if (s->check)
                    items = s->check(s->ctx, (int)evs[e].data.u32, status,
                                     c->in.data + body_off, (size_t)len - body_off);
                else if (status < 200 || status > 299)
                    items = -1;
                if (items < 0) {
                    out->n_bad++;
                    if (out->n_bad <= 3)
                        fprintf(stderr, "loadgen: bad reply %d: %.200s\n", status,
                                c->in.data + body_off);
                } else {
                    out->n_items_all += (uint64_t)items;
                    if (now >= t_meas && now <= t_end) {
                        out->n_items += (uint64_t)items;
                        out->n_req++;
                        if (n_lat == cap_lat) {
                            cap_lat *= 2;
                            lat = realloc(lat, cap_lat * sizeof *lat);
                            if (!lat)
                                exit(1);
                        }
                        lat[n_lat++] = now - c->t_sent;
                    }
                }
            }
            memmove(c->in.data, c->in.data + len, c->in.len - (size_t)len);
            c->in.len -= (size_t)len;
            if (now >= t_end || (s->max_req && n_sent >= s->max_req)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                live--;
                continue;
            }
            send_next(s, c, (int)evs[e].data.u32);
            if (push(ep, c, evs[e].data.u32) < 0) {
                out->error++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                live--;
            }
        }
        if (perf_now() > t_end + 30.0)
            break; /* a stuck server: give up on the stragglers */
    }
    out->seconds = s->seconds;
    out->rps = (double)out->n_req / s->seconds;
    out->items_ps = (double)out->n_items / s->seconds;
    out->max_ms = n_lat ? perf_percentile(lat, n_lat, 100.0) * 1e3 : 0.0;
    out->p50_ms = perf_percentile(lat, n_lat, 50.0) * 1e3;
    out->p99_ms = perf_percentile(lat, n_lat, 99.0) * 1e3;
    for (i = 0; i < s->n_conn; i++) {
        if (cs[i].fd >= 0)
            close(cs[i].fd);
        lg_buf_free(&cs[i].out);
        lg_buf_free(&cs[i].in);
    }
    close(ep);
    free(cs);
    free(lat);
    return out->n_req ? 0 : -1;
}

int lg_get(const char *host, int port, const char *path, lg_buf *out)
{
    lg_buf req = {0}, in = {0};
    int fd = connect_to(host, port), status = -1;
    char rbuf[65536];
    size_t body_off = 0;
    long len = 0;
    if (fd < 0)
        return -1;
    lg_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
    if (send(fd, req.data, req.len, MSG_NOSIGNAL) != (ssize_t)req.len)
        goto cleanup;
    for (;;) {
        ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
        if (r <= 0)
            break;
        lg_buf_cat(&in, rbuf, (size_t)r);
        len = reply_len(&in, &status, &body_off);
        if (len != 0)
            break;
    }
    if (len <= 0) {
        status = -1;
        goto cleanup;
    }
    if (out) {
        lg_buf_reset(out);
        lg_buf_cat(out, in.data + body_off, (size_t)len - body_off);
    }
cleanup:
    close(fd);
    lg_buf_free(&req);
    lg_buf_free(&in);
    return status;
}

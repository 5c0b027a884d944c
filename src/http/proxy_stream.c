/* proxy_stream.c - relays a streamed upstream reply to the client chunk by chunk. The proxy
 * thread pushes bytes as curl receives them; libmicrohttpd pulls them through a content
 * reader on its event thread. With nothing to send, the reader suspends the connection
 * instead of waiting (an event thread never blocks on the upstream), and the next push
 * resumes it. A slow client holds back the upstream once max_pending bytes wait. */
#include <string.h>

#include "http_int.h"

struct mn__pstream {
    pthread_mutex_t mu;
    pthread_cond_t space;   /* signalled when the reader drains or goes away */
    char *data;             /* pending bytes are data[off..len) */
    size_t off, len, cap, max_pending;
    struct MHD_Connection *conn;
    bool suspended;         /* the reader suspended the connection and waits for a push */
    bool eof, failed;       /* the producer is done; failed: end with an error */
    bool gone;              /* libmicrohttpd is done with the response */
    int refs;
};

static void unref(mn__pstream *s)
{
    bool last;
    pthread_mutex_lock(&s->mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->space);
    mn__free(s->data);
    mn__free(s);
}

/* The content reader: runs on an event thread and never waits. */
static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    mn__pstream *s = cls;
    ssize_t n;
    (void)pos;
    pthread_mutex_lock(&s->mu);
    if (s->off < s->len) {
        size_t take = MN_MIN(max, s->len - s->off);
        memcpy(buf, s->data + s->off, take);
        s->off += take;
        if (s->off == s->len)
            s->off = s->len = 0;
        pthread_cond_signal(&s->space);
        n = (ssize_t)take;
    } else if (s->eof) {
        n = s->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Under the lock, so that a push between our check and the suspension cannot be
         * missed: the producer resumes only what it sees suspended. */
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        n = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void reader_free(void *cls)
{
    mn__pstream *s = cls;
    pthread_mutex_lock(&s->mu);
    s->gone = true;
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    unref(s);
}

int mn__pstream_new(struct MHD_Connection *conn, size_t max_pending, mn__pstream **out_s,
                    struct MHD_Response **out_resp)
{
    mn__pstream *s = mn__calloc(1, sizeof *s);
    *out_s = NULL;
    *out_resp = NULL;
    if (!s)
        return MN_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->space, NULL);
    s->conn = conn;
    s->max_pending = max_pending;
    s->refs = 2; /* the producer's and the response's */
    *out_resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s,
                                                  reader_free);
    if (!*out_resp) {
        s->refs = 1;
        unref(s);
        return MN_ENOMEM;
    }
    *out_s = s;
    return MN_OK;
}

int mn__pstream_push(mn__pstream *s, const char *p, size_t n)
{
    int rc = MN_OK;
    pthread_mutex_lock(&s->mu);
    while (!s->gone && s->len - s->off > s->max_pending)
        pthread_cond_wait(&s->space, &s->mu);
    if (s->gone) {
        rc = MN_ECLOSED;
        goto out;
    }
    if (s->off && s->len + n > s->cap) {
        memmove(s->data, s->data + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
    }
    if (s->len + n > s->cap) {
        size_t cap = MN_MAX(s->cap * 2, MN_MAX(s->len + n, (size_t)16384));
        char *d = mn__realloc(s->data, cap);
        if (!d) {
            rc = MN_ENOMEM;
            goto out;
        }
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

bool mn__pstream_gone(mn__pstream *s)
{
    bool g;
    pthread_mutex_lock(&s->mu);
    g = s->gone;
    pthread_mutex_unlock(&s->mu);
    return g;
}

void mn__pstream_end(mn__pstream *s, bool failed)
{
    pthread_mutex_lock(&s->mu);
    s->eof = true;
    s->failed = failed;
    if (s->suspended && !s->gone) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
    pthread_mutex_unlock(&s->mu);
    unref(s);
}

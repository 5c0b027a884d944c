/* guard.c - slow clients. libmicrohttpd's connection timeout counts idle time only, so a
 * client that trickles a header or a body byte by byte (slowloris) would hold a connection
 * for ever. Each connection is tracked here through its phases: waiting for a request
 * (bounded by idle-timeout, like an idle connection), receiving one from its request line to
 * its last body byte (bounded by request-timeout), running (no bound: the server's work).
 * A watchdog thread shuts down the socket of a connection past its bound; libmicrohttpd
 * then closes it as a client that went away. */
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_int.h"

enum { PH_WAIT, PH_READ, PH_RUN };

typedef struct gconn {
    struct gconn *prev, *next;
    int fd;
    _Atomic int phase;
    _Atomic int64_t since_ms; /* start of the phase */
    bool cut;                 /* shut down by the watchdog (under g->mu) */
    _Atomic bool nul_in_uri;  /* the current request's raw URL holds %00 */
    bool linked;              /* in g's list (under g->mu) */
} gconn;

struct mn__guard {
    mn__hsrv *srv;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    gconn *head;
    bool stopping;
    pthread_t thread;
    bool started;
    int64_t n_cut; /* under mu */
};

static gconn *of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_phase(gconn *e, int phase)
{
    if (!e)
        return;
    atomic_store(&e->since_ms, mn__now_ms());
    atomic_store(&e->phase, phase);
}

void mn__guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                             enum MHD_ConnectionNotificationCode code)
{
    mn__hsrv *srv = cls;
    mn__guard *g = srv->guard;
    gconn *e;
    if (!g)
        return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        e = mn__calloc(1, sizeof *e);
        *socket_ctx = e;
        if (!e || !ci)
            return; /* not tracked: libmicrohttpd's own timeout still applies */
        e->fd = ci->connect_fd;
        set_phase(e, PH_WAIT);
        pthread_mutex_lock(&g->mu);
        e->next = g->head;
        if (g->head)
            g->head->prev = e;
        g->head = e;
        e->linked = true;
        pthread_mutex_unlock(&g->mu);
        return;
    }
    e = *socket_ctx;
    if (!e)
        return;
    /* libmicrohttpd closes the socket after this call: unlinked under the lock, the
     * watchdog can never shut down a descriptor that was reused by another connection. */
    pthread_mutex_lock(&g->mu);
    if (e->linked) {
        if (e->prev)
            e->prev->next = e->next;
        else
            g->head = e->next;
        if (e->next)
            e->next->prev = e->prev;
    }
    pthread_mutex_unlock(&g->mu);
    mn__free(e);
    *socket_ctx = NULL;
}

static bool has_encoded_nul(const char *uri)
{
    const char *p;
    for (p = uri; (p = strchr(p, '%')) != NULL; p++)
        if (p[1] == '0' && p[2] == '0')
            return true;
    return false;
}

void *mn__guard_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    gconn *e = of(c);
    (void)cls;
    set_phase(e, PH_READ);
    if (e)
        atomic_store(&e->nul_in_uri, uri && has_encoded_nul(uri));
    return NULL; /* on_access still sees NULL on its first call */
}

bool mn__guard_uri_nul(struct MHD_Connection *c)
{
    gconn *e = of(c);
    return e && atomic_load(&e->nul_in_uri);
}

void mn__guard_request_read(struct MHD_Connection *c)
{
    set_phase(of(c), PH_RUN);
}

void mn__guard_request_done(struct MHD_Connection *c)
{
    set_phase(of(c), PH_WAIT);
}

static void *watch(void *arg)
{
    mn__guard *g = arg;
    int64_t idle_ms = g->srv->cfg.idle_timeout_s * 1000;
    int64_t read_ms = g->srv->cfg.request_timeout_s * 1000;
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec ts;
        int64_t now = mn__now_ms(), n = 0;
        gconn *e;
        for (e = g->head; e; e = e->next) {
            int ph = atomic_load(&e->phase);
            int64_t limit = ph == PH_WAIT ? idle_ms : ph == PH_READ ? read_ms : 0;
            if (limit && !e->cut && now - atomic_load(&e->since_ms) > limit) {
                shutdown(e->fd, SHUT_RDWR);
                e->cut = true;
                n++;
            }
        }
        if (n) {
            g->n_cut += n;
            mn__hlog(g->srv, MN_LOG_WARN,
                     "closed %lld slow connection(s): a request must arrive whole within "
                     "%llds of its first line (request-timeout), the next one within %llds "
                     "(idle-timeout); %lld so far",
                     (long long)n, g->srv->cfg.request_timeout_s, g->srv->cfg.idle_timeout_s,
                     (long long)g->n_cut);
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g->cond, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int mn__guard_start(mn__hsrv *srv, mn__guard **out)
{
    mn__guard *g = mn__calloc(1, sizeof *g);
    *out = NULL;
    if (!g)
        return MN_ENOMEM;
    g->srv = srv;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    if (pthread_create(&g->thread, NULL, watch, g) != 0) {
        mn__guard_stop(g);
        return MN_ENOMEM;
    }
    g->started = true;
    *out = g;
    return MN_OK;
}

int64_t mn__guard_cut_count(mn__guard *g)
{
    int64_t n;
    if (!g)
        return 0;
    pthread_mutex_lock(&g->mu);
    n = g->n_cut;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void mn__guard_stop(mn__guard *g)
{
    gconn *e, *next;
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->mu);
    if (g->started)
        pthread_join(g->thread, NULL);
    /* The daemon is stopped first: every connection was closed and unlinked. */
    for (e = g->head; e; e = next) {
        next = e->next;
        mn__free(e);
    }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cond);
    mn__free(g);
}

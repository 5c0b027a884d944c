/* pg_watch.c - the PostgreSQL backend's watch: a thread with its own connection LISTENs on
 * the channel that every write transaction NOTIFYs (pg_writer.c) and tells the engine which
 * partition another node changed. Notifications sent while the connection was down are lost,
 * so after every (re)connect the engine is told that everything may be stale.
 * MNEMO_PG_LISTEN=0 turns it off (a pooler in transaction mode, such as PgBouncer's, cannot
 * LISTEN): the engine then polls partition versions. */
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define POLL_MS 200
#define BACKOFF_MAX_MS 2000

/* "<node tag>\t<scope>\t<tenant>\t<user>": calls the watcher unless the tag is ours (this
 * process indexes its own writes as it commits them). */
static void deliver(mn__pg *s, const char *payload)
{
    char buf[1024], *f[4], *p;
    size_t n = strlen(payload);
    mn__pkey k;
    int i;
    if (n >= sizeof buf)
        return; /* tenant and user ids are at most 128 bytes: not ours */
    memcpy(buf, payload, n + 1);
    for (i = 0, p = buf; i < 4; i++) {
        f[i] = p;
        p = strchr(p, '\t');
        if (i < 3) {
            if (!p)
                return;
            *p++ = '\0';
        }
    }
    if (!strcmp(f[0], s->node_tag))
        return;
    k.tenant = f[2];
    k.scope = !strcmp(f[1], "system") ? MN_SCOPE_SYSTEM : MN_SCOPE_USER;
    k.user_id = k.scope == MN_SCOPE_SYSTEM ? NULL : f[3];
    s->watch_fn(s->watch_ctx, &k);
}

static void nap_ms(mn__pg *s, int ms)
{
    while (ms > 0 && !atomic_load(&s->listen_stop)) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        ms -= 50;
    }
}

static PGconn *listen_connect(mn__pg *s, bool *logged)
{
    PGconn *c = NULL;
    PGresult *r;
    mn_err e;
    if (mn__pg_connect(s, "mnemo-listen", &c, &e) != MN_OK) {
        if (!*logged)
            mn__log(s->cfg.log, MN_LOG_WARN,
                    "store '%s': partition change notifications are off (%s); polling "
                    "versions until they are back",
                    s->name, e.msg);
        *logged = true;
        return NULL;
    }
    r = PQexec(c, "LISTEN " MN__PG_CHANNEL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQclear(r);
        PQfinish(c);
        return NULL;
    }
    PQclear(r);
    if (*logged)
        mn__log(s->cfg.log, MN_LOG_INFO, "store '%s': partition change notifications are back",
                s->name);
    *logged = false;
    return c;
}

static void *listen_main(void *arg)
{
    mn__pg *s = arg;
    PGconn *c = NULL;
    bool logged = false;
    int backoff = 0;
    while (!atomic_load(&s->listen_stop)) {
        struct pollfd pfd;
        PGnotify *n;
        if (!c) {
            c = listen_connect(s, &logged);
            if (!c) {
                backoff = backoff ? MN_MIN(backoff * 2, BACKOFF_MAX_MS) : 100;
                nap_ms(s, backoff);
                continue;
            }
            backoff = 0;
            atomic_store(&s->watch_live, true);
            /* LISTEN is on: whatever changed before is unknown, whatever changes now is
             * told. */
            s->watch_fn(s->watch_ctx, NULL);
        }
        pfd.fd = PQsocket(c);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, POLL_MS) < 0)
            continue;
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
            atomic_store(&s->watch_live, false);
            PQfinish(c);
            c = NULL;
            continue;
        }
        while ((n = PQnotifies(c)) != NULL) {
            if (n->extra)
                deliver(s, n->extra);
            PQfreemem(n);
        }
    }
    atomic_store(&s->watch_live, false);
    PQfinish(c);
    return NULL;
}

int mn__pg_watch(mn__store *st, mn__watch_fn fn, void *ctx, mn_err *err)
{
    mn__pg *s = mn__pg_from(st);
    const char *env = getenv("MNEMO_PG_LISTEN");
    int rc;
    if (env && (!strcmp(env, "0") || !strcmp(env, "off") || !strcmp(env, "false"))) {
        mn__log(s->cfg.log, MN_LOG_INFO,
                "store '%s': MNEMO_PG_LISTEN=%s: no change notifications; polling partition "
                "versions",
                s->name, env);
        return MN_OK; /* watch_live stays false: the engine polls */
    }
    if (s->listening)
        return mn__err_set(err, MN_EINVAL, NULL, "store '%s': already watched", s->name);
    s->watch_fn = fn;
    s->watch_ctx = ctx;
    atomic_store(&s->listen_stop, false);
    rc = pthread_create(&s->listener, NULL, listen_main, s);
    if (rc != 0)
        return mn__err_set(err, MN_ENOMEM, "raise the thread limit",
                           "store '%s': cannot start the listener thread (error %d)", s->name,
                           rc);
    s->listening = true;
    return MN_OK;
}

bool mn__pg_watch_live(mn__store *st)
{
    return atomic_load(&mn__pg_from(st)->watch_live);
}

void mn__pg_watch_stop(mn__pg *s)
{
    if (!s->listening)
        return;
    atomic_store(&s->listen_stop, true);
    pthread_join(s->listener, NULL);
    s->listening = false;
}

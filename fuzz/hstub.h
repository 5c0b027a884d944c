/* hstub.h - the HTTP layer without sockets, for the fuzz targets: a stand-in for the
 * libmicrohttpd calls the handlers make (headers, query arguments, responses), a server
 * state built as `mnemo serve` builds it, and one call that runs a request through the same
 * steps as the server's dispatcher (route, auth, query check, JSON body, handler). */
#ifndef MN_FUZZ_HSTUB_H
#define MN_FUZZ_HSTUB_H

#include "../src/http/http_int.h"

/* The server state, created on first use over fz_db("http", "builtin") in development mode
 * (no key). Lives until exit. */
mn__hsrv *fz_server(void);

typedef struct fz_reply {
    int status;
    const char *ctype; /* borrowed until the next fz_request */
    const char *body;  /* NUL-terminated copy, valid until the next fz_request */
    size_t len;
} fz_reply;

/* Runs one request: method and url (already percent-decoded, as libmicrohttpd hands it),
 * an optional Content-Type and Authorization, the raw query string ("k=v&k2=v2", encoded),
 * and a body. The body limit and the dispatcher's checks apply as in the server. Fills
 * *out; aborts (a finding) when the handler gave no reply or an error status has a body
 * that is not the error JSON. */
void fz_request(const char *method, const char *url, const char *ctype, const char *auth,
                const char *query, const uint8_t *body, size_t len, fz_reply *out);

#endif /* MN_FUZZ_HSTUB_H */

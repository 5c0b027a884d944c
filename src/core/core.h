/* core.h - the base layer every subsystem uses: counting allocator, errors, growable buffers,
 * arenas, time, logging, hashing, UTF-8 checks. Nothing here includes anything outside core/
 * except the public header's plain types. */
#ifndef MN_CORE_H
#define MN_CORE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo.h"

#if defined(__GNUC__)
#define MN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MN_UNUSED __attribute__((unused))
#else
#define MN_PRINTF(a, b)
#define MN_UNUSED
#endif

#define MN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocator (alloc.c) -------------------------------------------------------------------
 * Every allocation of the project goes through these. They count live bytes (the
 * memory_bytes metric and the leak check of every test) and support fault injection: after
 * mn__alloc_fail_after(n), the n-th following allocation fails (returns NULL). */
void *mn__malloc(size_t n);
void *mn__calloc(size_t count, size_t size);
void *mn__realloc(void *p, size_t n);
void mn__free(void *p);
char *mn__strdup(const char *s);              /* NULL in gives NULL out */
char *mn__strndup(const char *s, size_t n);   /* copies at most n bytes, always terminated */
int64_t mn__alloc_live_bytes(void);
int64_t mn__alloc_live_blocks(void);
void mn__alloc_fail_after(int64_t n);         /* n <= 0 disables */
int64_t mn__alloc_fail_pending(void);         /* allocations left before the failure; 0: fired or off */

/* Fault injection of other calls (fault.c): after mn__fault_arm(f, n) the n-th following
 * mn__fault_hit(f) returns true (n <= 0: never); calls counts the hits asked since arming.
 * Zero-initialised: disarmed. Thread-safe. */
typedef struct mn__fault {
    _Atomic int64_t countdown; /* 0: off */
    _Atomic int64_t calls;
} mn__fault;
void mn__fault_arm(mn__fault *f, int64_t n);
bool mn__fault_hit(mn__fault *f);

/* ---- errors (err.c) ------------------------------------------------------------------------
 * mn__err_set fills err (may be NULL) and returns code, so callers write
 *   return mn__err_set(err, MN_EINVAL, "hint text", "user id is empty");
 * `hint` may be NULL. */
int mn__err_set(mn_err *err, int code, const char *hint, const char *fmt, ...) MN_PRINTF(4, 5);
void mn__err_clear(mn_err *err);
/* Prefixes an existing message: "item 3: <old message>". */
void mn__err_prefix(mn_err *err, const char *fmt, ...) MN_PRINTF(2, 3);

/* ---- growable buffer (buf.c) ---------------------------------------------------------------
 * A byte buffer with a hard maximum; growing past it returns MN_ETOOBIG and leaves the
 * buffer unchanged. Always NUL-terminated after a successful append. Release with
 * mn__buf_release. */
typedef struct mn__buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} mn__buf;

void mn__buf_init(mn__buf *b, size_t max);
void mn__buf_release(mn__buf *b);
int mn__buf_reserve(mn__buf *b, size_t extra);
int mn__buf_append(mn__buf *b, const void *p, size_t n);
int mn__buf_puts(mn__buf *b, const char *s);
int mn__buf_putc(mn__buf *b, char c);
int mn__buf_printf(mn__buf *b, const char *fmt, ...) MN_PRINTF(2, 3);
int mn__buf_vprintf(mn__buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal with quotes and escapes. */
int mn__buf_json_str(mn__buf *b, const char *s, size_t n);
/* Takes the data out: caller frees with mn__free; the buffer is reset. */
char *mn__buf_take(mn__buf *b, size_t *out_len);

/* ---- arena (arena.c) -----------------------------------------------------------------------
 * Bump allocator for scratch and results: many allocations, one release. Not thread-safe. */
typedef struct mn__arena_block mn__arena_block;
typedef struct mn__arena {
    mn__arena_block *head;
    size_t block_size;
    size_t total;
} mn__arena;

void mn__arena_init(mn__arena *a, size_t block_size);
void mn__arena_release(mn__arena *a);
void *mn__arena_alloc(mn__arena *a, size_t n);   /* 16-byte aligned, NULL on OOM */
char *mn__arena_strdup(mn__arena *a, const char *s);  /* NULL in gives NULL out */
char *mn__arena_strndup(mn__arena *a, const char *s, size_t n);

/* ---- time (time.c) -------------------------------------------------------------------------*/
int64_t mn__now_ms(void);        /* wall clock, ms since the epoch */
int64_t mn__mono_ns(void);       /* monotonic clock */
/* "2023-05-08T13:56:00.000Z": always three fraction digits, so the strings sort like the times
 * (as JavaScript's toISOString); out needs 32 bytes. */
void mn__fmt_time_iso(int64_t ms, char out[32]);
/* "8 May 2023"; out needs 32 bytes. */
void mn__fmt_date_human(int64_t ms, char out[32]);
/* Parses RFC 3339 / ISO 8601 ("2023-05-08", "2023-05-08T13:56:00Z", "...+02:00", fractional
 * seconds) or an integer of ms since the epoch. MN_EINVAL when unparseable. */
int mn__parse_time(const char *s, int64_t *out_ms);

/* ---- logging (log.c) -----------------------------------------------------------------------*/
typedef struct mn__logger {
    mn_log_fn fn;
    void *ctx;
    mn_log_level level;
} mn__logger;

void mn__log(const mn__logger *lg, mn_log_level level, const char *fmt, ...) MN_PRINTF(3, 4);

/* ---- hashing (hash.c) ----------------------------------------------------------------------*/
uint64_t mn__hash64(const void *p, size_t n, uint64_t seed);
uint32_t mn__hash32(const void *p, size_t n, uint32_t seed);

/* String-keyed hash map (open addressing, owns copies of its keys, values are borrowed
 * pointers). Not thread-safe. */
typedef struct mn__hmap_slot {
    char *key;
    size_t key_len;
    uint64_t hash;
    void *val;
} mn__hmap_slot;

typedef struct mn__hmap {
    mn__hmap_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t n;
    size_t n_tomb;
} mn__hmap;

void mn__hmap_init(mn__hmap *m);
void mn__hmap_release(mn__hmap *m);     /* frees keys; values are the caller's */
void *mn__hmap_get(const mn__hmap *m, const char *key, size_t key_len);
int mn__hmap_put(mn__hmap *m, const char *key, size_t key_len, void *val); /* replaces */
void *mn__hmap_del(mn__hmap *m, const char *key, size_t key_len);          /* old value */
/* Iteration: for (i = 0; i < m->cap; i++) if (mn__hmap_live(m, i)) ... */
int mn__hmap_live(const mn__hmap *m, size_t i);

/* ---- UTF-8 (utf8.c) ------------------------------------------------------------------------*/
/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or NUL bytes). On failure
 * *out_bad_at (may be NULL) gets the byte offset of the first bad sequence. */
int mn__utf8_valid(const char *s, size_t n, size_t *out_bad_at);

/* ---- ids (ids.c) ---------------------------------------------------------------------------
 * Checks a tenant/user/session id: 1..MN_MAX_ID_BYTES bytes of printable UTF-8 without
 * control characters. `what` names it in the message ("user id"). */
int mn__check_id(const char *what, const char *id, mn_err *err);

/* ---- SHA-256 (sha256.c) --------------------------------------------------------------------
 * FIPS 180-4, for hashing stored secrets (API keys). */
typedef struct mn__sha256_ctx {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t block[64];
    size_t fill;
} mn__sha256_ctx;

void mn__sha256_init(mn__sha256_ctx *s);
void mn__sha256_update(mn__sha256_ctx *s, const void *p, size_t n);
void mn__sha256_final(mn__sha256_ctx *s, uint8_t out[32]); /* also wipes s */
void mn__sha256(const void *p, size_t n, uint8_t out[32]);
/* 1 when a[0..n) equals b[0..n); the time does not depend on where they differ. */
int mn__ct_equal(const void *a, const void *b, size_t n);

/* ---- HTTP client (http_client.c) -----------------------------------------------------------
 * Blocking HTTP(S) through libcurl for the remote providers (embedders, the LLM). Each call
 * uses its own connection state: any number of threads may call at once. */
typedef struct mn__http_req {
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* POST body; NULL sends a GET */
    size_t body_len;
    int connect_timeout_ms;     /* 0: 5000 */
    int timeout_ms;             /* the whole exchange; 0: 30000 */
    size_t max_reply_bytes;     /* 0: 16 MiB */
    const char *what;           /* names the remote in messages: "embedder 'openai'" */
    const _Atomic int *cancel;  /* non-NULL and set: abort transfers and waits (MN_ECLOSED) */
} mn__http_req;

typedef struct mn__http_reply {
    long status;                /* 0 when no reply came */
    mn__buf body;
    int64_t retry_after_ms;     /* from a Retry-After header; -1 when absent */
} mn__http_reply;

typedef struct mn__retry_policy {
    int max_attempts;           /* 0: 4; 1: no retry */
    int base_ms;                /* ceiling of the first wait; doubles per retry; 0: 250 */
    int max_backoff_ms;         /* ceiling of one wait; 0: 8000 */
    int max_total_ms;           /* never wait past this since the first attempt; 0: 60000 */
} mn__retry_policy;

void mn__http_reply_init(mn__http_reply *r);
void mn__http_reply_release(mn__http_reply *r);
/* One attempt. MN_OK whenever a reply came, whatever its status. Transport failures:
 * MN_ETIMEOUT, MN_EUNAVAIL (cannot connect), MN_ETOOBIG (reply over the limit), MN_ECLOSED
 * (cancelled), MN_EIO. */
int mn__http_send(const mn__http_req *req, mn__http_reply *out, mn_err *err);
/* Attempts until a 2xx reply: transport errors, 408, 429 and 5xx are retried after
 * mn__backoff_ms. Other statuses fail at once: MN_EAUTH (401/403), MN_EPROVIDER; after the
 * last attempt MN_ERATE (429), MN_EPROVIDER (5xx) or the transport error. The message has
 * the status and the start of the reply body; out->retry_after_ms keeps the last hint. */
int mn__http_send_retry(const mn__http_req *req, const mn__retry_policy *rp,
                        mn__http_reply *out, mn_err *err);
/* Wait before retry number `retry` (1 = after the first attempt): uniform in
 * [0, min(max_backoff, base * 2^(retry-1))] (full jitter), at least retry_after_ms. */
int64_t mn__backoff_ms(const mn__retry_policy *rp, int retry, int64_t retry_after_ms,
                       uint64_t *rng);
/* A Retry-After value, seconds or an HTTP date, as ms from now_ms. MN_EINVAL otherwise. */
int mn__http_retry_after(const char *value, int64_t now_ms, int64_t *out_ms);

#endif /* MN_CORE_H */

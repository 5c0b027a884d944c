/* test_fault.c - fault injection walks. For each representative operation (open, add, batch
 * add, search, update, delete, forget, export, import, key create and verify) and each kind
 * of fault (the n-th allocation, store call or embedder call fails), n walks over every
 * such call the operation makes, on a fresh copy of a seeded database each time. Every run
 * must end in success or a clean error (a known code and a message), leak nothing, and leave
 * no half-written memory: what the handle shows equals what a freshly opened handle reads
 * from the file, and a write that failed changed nothing. MN_FAULT_VERBOSE=1 prints the
 * number of calls walked. */
#include <unistd.h>

#include "../../src/core/core.h"
#include "../../src/embed/embed.h"
#include "../../src/store/store.h"
#include "t.h"

enum { K_ALLOC, K_STORE, K_EMBED, N_KINDS };
static const char *const kind_names[] = {"allocation", "store call", "embedder call"};

typedef struct walk {
    char tmpl[512], work[512];
    char key[MN_KEY_LEN + 1];
    mn_id ids[8];  /* seeded memories of u1 */
    char *tmpl_view;
} walk;

typedef struct op {
    const char *name;
    int (*fn)(walk *w, mn_db **db, mn_err *err);
    bool writes; /* success changes what is stored; failure must change nothing */
    bool warm;   /* partitions loaded before the operation (else it loads them itself) */
} op;

/* ---- helpers -------------------------------------------------------------------------*/

static int open_path(const char *path, mn_db **db, mn_err *err)
{
    mn_db_opts o;
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "mock";
    o.sync_normal = true;
    return mn_db_open(&o, db, err);
}

static void copy_file(const char *from, const char *to)
{
    char side[600], buf[65536];
    FILE *in = fopen(from, "rb"), *out;
    size_t n;
    snprintf(side, sizeof side, "%s-wal", to);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", to);
    unlink(side);
    out = fopen(to, "wb");
    ASSERT(in && out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ASSERT(fwrite(buf, 1, n, out) == n);
    fclose(in);
    ASSERT(fclose(out) == 0);
}

static void put_results(mn__buf *b, const char *tag, const mn_results *r)
{
    size_t i, j;
    for (i = 0; i < r->n; i++) {
        const mn_memory *m = &r->hits[i].mem;
        /* Not embedding_pending: a background job embeds pending rows at its own pace. */
        ASSERT_OK(mn__buf_printf(b, "%s %lld %s %s %s %d %s|%s|%s|%lld|", tag,
                                 (long long)m->id, mn_kind_name(m->kind),
                                 mn_status_name(m->status), m->user_id ? m->user_id : "-",
                                 (int)m->role, m->session_id ? m->session_id : "-", m->text,
                                 m->metadata_json ? m->metadata_json : "-",
                                 (long long)m->created_at_ms),
                  NULL);
        for (j = 0; j < m->n_sources; j++)
            ASSERT_OK(mn__buf_printf(b, "%lld,", (long long)m->sources[j]), NULL);
        ASSERT_OK(mn__buf_putc(b, '\n'), NULL);
    }
}

/* Everything a client could read back, as text: memories of every partition with every
 * field, users, keys, and which memories a keyword search finds. Taken with faults off. */
static char *view(mn_db *db)
{
    static const char *const users[] = {"u1", "u2", NULL};
    mn__buf b;
    mn_results *r = NULL;
    mn_users *us = NULL;
    mn_keys *ks = NULL;
    mn_filter f;
    mn_search_opts so;
    mn_err err;
    const char *tenants[] = {"default", "t2"};
    size_t i, t, u;
    int64_t n = 0;
    mn__buf_init(&b, 0);
    for (t = 0; t < 2; t++)
        for (u = 0; u < MN_ARRAY_LEN(users); u++) {
            mn_filter_init(&f);
            f.tenant = tenants[t];
            f.user_id = users[u];
            f.scope = users[u] ? MN_SCOPE_USER : MN_SCOPE_SYSTEM;
            f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |
                         MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
            ASSERT_OK(mn_memory_list(db, &f, 0, 1000, &r, &err), &err);
            put_results(&b, "M", r);
            mn_results_free(r);
            mn_search_opts_init(&so);
            so.filter = f;
            so.filter.statuses = 0;
            so.query = "peanuts sister puppy meeting imported";
            so.k = 20;
            so.mode = MN_MODE_KEYWORD;
            ASSERT_OK(mn_search(db, &so, &r, &err), &err);
            for (i = 0; i < r->n; i++)
                ASSERT_OK(mn__buf_printf(&b, "S %lld\n", (long long)r->hits[i].mem.id), NULL);
            mn_results_free(r);
        }
    ASSERT_OK(mn_user_list(db, NULL, NULL, 100, &us, &err), &err);
    for (i = 0; i < us->n; i++)
        ASSERT_OK(mn__buf_printf(&b, "U %s %lld\n", us->users[i].user_id,
                                 (long long)us->users[i].n_memories),
                  NULL);
    mn_users_free(us);
    ASSERT_OK(mn_key_list(db, &ks, &err), &err);
    for (i = 0; i < ks->n; i++)
        ASSERT_OK(mn__buf_printf(&b, "K %lld %s %s %lld\n", (long long)ks->keys[i].id,
                                 ks->keys[i].prefix, ks->keys[i].tenant,
                                 (long long)ks->keys[i].revoked_at_ms),
                  NULL);
    mn_keys_free(ks);
    ASSERT_OK(mn_key_count_active(db, &n, &err), &err);
    ASSERT_OK(mn__buf_printf(&b, "active keys %lld\n", (long long)n), NULL);
    return mn__buf_take(&b, NULL);
}

static void warm(mn_db *db)
{
    char *v = view(db); /* lists and searches every partition: all are loaded after */
    mn__free(v);
}

static mn_id add_one(mn_db *db, const char *user, const char *text, const char *meta)
{
    mn_memory_in in;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&in);
    in.user_id = user;
    in.scope = user ? MN_SCOPE_USER : MN_SCOPE_SYSTEM;
    in.text = text;
    in.metadata_json = meta;
    in.session_id = user ? "s1" : NULL;
    ASSERT_OK(mn_memory_add(db, &in, &id, &err), &err);
    return id;
}

/* The seeded database every run starts from. */
static void seed(walk *w)
{
    mn_db *db = NULL;
    mn_memory_patch p;
    mn_memory_in in;
    mn_err err;
    snprintf(w->tmpl, sizeof w->tmpl, "%s/template.db", t_tmpdir());
    snprintf(w->work, sizeof w->work, "%s/work.db", t_tmpdir());
    ASSERT_OK(open_path(w->tmpl, &db, &err), &err);
    w->ids[0] = add_one(db, "u1", "I am allergic to peanuts", "{\"speaker\":\"Ann\"}");
    w->ids[1] = add_one(db, "u1", "My sister lives in Oslo", NULL);
    w->ids[2] = add_one(db, "u1", "We adopted a puppy named Max", "{\"n\":[1,2]}");
    w->ids[3] = add_one(db, "u1", "The meeting moved to Thursday", NULL);
    w->ids[4] = add_one(db, "u2", "Bob likes peanuts", NULL);
    w->ids[5] = add_one(db, NULL, "Shipping is free over 50 EUR", NULL);
    mn_memory_in_init(&in);
    in.user_id = "u1";
    in.kind = MN_KIND_SUMMARY;
    in.text = "Allergic to peanuts; sister in Oslo";
    in.sources = w->ids;
    in.n_sources = 2;
    ASSERT_OK(mn_memory_add(db, &in, &w->ids[6], &err), &err);
    memset(&p, 0, sizeof p);
    p.text = "The meeting moved to Friday";
    ASSERT_OK(mn_memory_update(db, NULL, "u1", w->ids[3], &p, &err), &err);
    ASSERT_OK(mn_key_create(db, "acme", "fault", w->key, NULL, &err), &err);
    w->tmpl_view = view(db);
    mn_db_close(db);
}

/* ---- the operations ------------------------------------------------------------------*/

static int op_open(walk *w, mn_db **db, mn_err *err)
{
    return open_path(w->work, db, err);
}

static int op_add(walk *w, mn_db **db, mn_err *err)
{
    mn_memory_in in;
    mn_id id = 0;
    int rc;
    (void)w;
    mn_memory_in_init(&in);
    in.user_id = "u1";
    in.text = "I started learning the cello";
    in.session_id = "s2";
    in.metadata_json = "{\"topic\":\"music\"}";
    rc = mn_memory_add(*db, &in, &id, err);
    ASSERT(rc != MN_OK || id > 0);
    return rc;
}

static int op_add_batch(walk *w, mn_db **db, mn_err *err)
{
    mn_memory_in in[3];
    mn_id ids[3];
    const char *texts[] = {"Bob moved to Lisbon", "Bob's cat is called Tom", "Bob hates rain"};
    size_t i;
    (void)w;
    for (i = 0; i < 3; i++) {
        mn_memory_in_init(&in[i]);
        in[i].user_id = "u2";
        in[i].text = texts[i];
        in[i].role = i % 2 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
    }
    return mn_memory_add_batch(*db, in, 3, ids, err);
}

static int op_search(walk *w, mn_db **db, mn_err *err)
{
    mn_search_opts so;
    mn_results *r = NULL;
    int rc;
    (void)w;
    mn_search_opts_init(&so);
    so.filter.user_id = "u1";
    so.query = "what food should I avoid";
    so.k = 3;
    rc = mn_search(*db, &so, &r, err);
    if (rc == MN_OK) {
        ASSERT(r->n > 0);
        mn_results_free(r);
    }
    return rc;
}

static int op_update(walk *w, mn_db **db, mn_err *err)
{
    mn_memory_patch p;
    memset(&p, 0, sizeof p);
    p.text = "My sister moved to Bergen";
    p.metadata_json = "{\"moved\":true}";
    p.status = MN_STATUS_ARCHIVED;
    return mn_memory_update(*db, NULL, "u1", w->ids[1], &p, err);
}

static int op_delete(walk *w, mn_db **db, mn_err *err)
{
    return mn_memory_delete(*db, NULL, "u1", w->ids[2], err);
}

static int op_forget(walk *w, mn_db **db, mn_err *err)
{
    int64_t n = 0;
    int rc;
    (void)w;
    rc = mn_user_forget(*db, NULL, "u1", &n, err);
    ASSERT(rc != MN_OK || n == 5);
    return rc;
}

static int sink(void *ctx, const char *buf, size_t len)
{
    return mn__buf_append(ctx, buf, len);
}

static int op_export(walk *w, mn_db **db, mn_err *err)
{
    mn__buf b;
    int rc;
    (void)w;
    mn__buf_init(&b, 0);
    rc = mn_export(*db, NULL, NULL, sink, &b, err);
    if (rc == MN_OK) /* every memory of the tenant, one line each */
        ASSERT(b.len > 0 && b.data[b.len - 1] == '\n');
    mn__buf_release(&b);
    return rc;
}

static int op_import(walk *w, mn_db **db, mn_err *err)
{
    static const char data[] =
        "{\"id\":1,\"user_id\":\"u1\",\"text\":\"imported one\",\"created_at\":"
        "\"2024-05-01T10:00:00Z\"}\n"
        "{\"id\":2,\"user_id\":\"u1\",\"text\":\"imported two\",\"metadata\":{\"a\":1}}\n"
        "{\"id\":3,\"user_id\":\"u2\",\"kind\":\"summary\",\"text\":\"imported summary\","
        "\"sources\":[1,2]}\n"
        "{\"id\":4,\"scope\":\"system\",\"text\":\"imported rule\"}\n";
    mn_import_stats st;
    int rc;
    (void)w;
    rc = mn_import(*db, "t2", data, sizeof data - 1, &st, err);
    ASSERT(rc != MN_OK || st.n_added == 4);
    return rc;
}

static int op_key_create(walk *w, mn_db **db, mn_err *err)
{
    char key[MN_KEY_LEN + 1];
    (void)w;
    return mn_key_create(*db, "t2", "second", key, NULL, err);
}

static int op_key_verify(walk *w, mn_db **db, mn_err *err)
{
    char tenant[MN_MAX_ID_BYTES + 1];
    int rc = mn_key_verify(*db, w->key, tenant, NULL, err);
    ASSERT(rc != MN_OK || !strcmp(tenant, "acme"));
    return rc;
}

/* ---- the walk ------------------------------------------------------------------------*/

static void arm(int kind, int64_t n)
{
    if (kind == K_ALLOC)
        mn__alloc_fail_after(n);
    else if (kind == K_STORE)
        mn__store_fail_after(n);
    else
        mn__embed_fail_after(n);
}

static void disarm(void)
{
    mn__alloc_fail_after(0);
    mn__store_fail_after(0);
    mn__embed_fail_after(0);
}

/* Whether the n-th call came, i.e. the fault was injected. Read before disarm(). */
static bool fired(int kind, int64_t n)
{
    if (kind == K_ALLOC)
        return mn__alloc_fail_pending() == 0;
    if (kind == K_STORE)
        return mn__store_fault_calls() >= n;
    return mn__embed_fault_calls() >= n;
}

/* Runs op with the n-th call of `kind` failing; returns whether the fault was reached. */
static bool run_once(walk *w, const op *o, int kind, int64_t n)
{
    mn_db *db = NULL, *fresh = NULL;
    mn_err err;
    char *same, *again;
    bool hit;
    int64_t live0 = mn__alloc_live_bytes();
    int rc;

    copy_file(w->tmpl, w->work);
    if (o->fn != op_open) {
        ASSERT_OK(open_path(w->work, &db, &err), &err);
        if (o->warm)
            warm(db);
    }
    memset(&err, 0, sizeof err);
    arm(kind, n);
    rc = o->fn(w, &db, &err);
    hit = fired(kind, n);
    disarm();
    if (rc != MN_OK && (rc > 0 || !strcmp(mn_err_name(rc), "EUNKNOWN") || !err.msg[0]))
        t_fail(__FILE__, __LINE__, "%s, %s %lld: unclean error %d '%s'", o->name,
               kind_names[kind], (long long)n, rc, err.msg);
    if (!hit && rc != MN_OK)
        t_fail(__FILE__, __LINE__, "%s failed without a fault: %s: %s", o->name,
               mn_err_name(rc), err.msg);
    if (!db) { /* open failed: the file must be as it was */
        ASSERT(o->fn == op_open && rc != MN_OK);
        ASSERT_OK(open_path(w->work, &db, &err), &err);
    }
    same = view(db);
    mn_db_close(db);
    ASSERT_OK(open_path(w->work, &fresh, &err), &err);
    again = view(fresh);
    mn_db_close(fresh);
    if (strcmp(same, again))
        t_fail(__FILE__, __LINE__,
               "%s, %s %lld (%s): the handle and the file disagree\n--- handle\n%s--- file\n%s",
               o->name, kind_names[kind], (long long)n, mn_err_name(rc), same, again);
    if ((!o->writes || rc != MN_OK) && strcmp(same, w->tmpl_view))
        t_fail(__FILE__, __LINE__, "%s, %s %lld (%s): changed what is stored\n--- before\n%s"
               "--- after\n%s", o->name, kind_names[kind], (long long)n, mn_err_name(rc),
               w->tmpl_view, same);
    if (o->writes && rc == MN_OK && !strcmp(same, w->tmpl_view))
        t_fail(__FILE__, __LINE__, "%s, %s %lld: succeeded but changed nothing", o->name,
               kind_names[kind], (long long)n);
    mn__free(same);
    mn__free(again);
    if (mn__alloc_live_bytes() != live0)
        t_fail(__FILE__, __LINE__, "%s, %s %lld (%s): %lld bytes leaked", o->name,
               kind_names[kind], (long long)n, mn_err_name(rc),
               (long long)(mn__alloc_live_bytes() - live0));
    return hit;
}

static void walk_op(const op *o)
{
    walk w;
    int kind;
    memset(&w, 0, sizeof w);
    mn__store_fault_enable(true);
    mn__embed_fault_enable(true);
    seed(&w);
    for (kind = 0; kind < N_KINDS; kind++) {
        int64_t n = 1;
        while (run_once(&w, o, kind, n)) {
            n++;
            if (n > 20000)
                t_fail(__FILE__, __LINE__, "%s: more than 20000 %ss", o->name,
                       kind_names[kind]);
        }
        if (getenv("MN_FAULT_VERBOSE"))
            printf("    %s: %lld %ss walked\n", o->name, (long long)(n - 1), kind_names[kind]);
    }
    mn__free(w.tmpl_view);
    mn__store_fault_enable(false);
    mn__embed_fault_enable(false);
}

#define WALK(id, fn, writes, warm)                                                           \
    TEST(fault_walk_##id)                                                                    \
    {                                                                                        \
        static const op o = {#id, fn, writes, warm};                                         \
        walk_op(&o);                                                                         \
    }

WALK(open, op_open, false, false)
WALK(add, op_add, true, true)
WALK(add_cold, op_add, true, false)
WALK(add_batch, op_add_batch, true, true)
WALK(search, op_search, false, true)
WALK(search_cold, op_search, false, false)
WALK(update, op_update, true, true)
WALK(delete, op_delete, true, true)
WALK(forget, op_forget, true, true)
WALK(export, op_export, false, false)
WALK(import, op_import, true, true)
WALK(key_create, op_key_create, true, false)
WALK(key_verify, op_key_verify, false, false)

/* test_api.c - the public API end to end on a real SQLite file with the mock embedder:
 * add/get/list/search/update/delete/forget, export/import, and input validation (every bad
 * input a clear error code and message, nothing half-written). */
#include <pthread.h>

#include "t.h"

static mn_db *open_db(const char *name, const char *embedder)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = embedder;
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

static mn_id add(mn_db *db, const char *user, const char *text)
{
    mn_memory_in m;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.user_id = user;
    m.text = text;
    m.role = MN_ROLE_USER;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    ASSERT(id > 0);
    return id;
}

static int64_t count(mn_db *db, const char *user)
{
    mn_filter f;
    mn_results *r = NULL;
    mn_err err;
    int64_t n;
    mn_filter_init(&f);
    f.user_id = user;
    f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |
                 MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
    ASSERT_OK(mn_memory_list(db, &f, 0, 10, &r, &err), &err);
    n = r->total;
    mn_results_free(r);
    return n;
}

static mn_results *search(mn_db *db, const char *user, const char *q, mn_search_mode mode)
{
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    mn_search_opts_init(&so);
    so.filter.user_id = user;
    so.query = q;
    so.mode = mode;
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    return r;
}

TEST(api_add_get_roundtrip)
{
    mn_db *db = open_db("a.db", "mock");
    mn_memory_in m;
    mn_results *r = NULL;
    mn_err err;
    mn_id id, src = add(db, "alice", "I like green tea");
    mn_memory_in_init(&m);
    m.user_id = "alice";
    m.text = "Alice likes tea";
    m.kind = MN_KIND_FACT;
    m.session_id = "s1";
    m.metadata_json = "{ \"topic\" : \"drinks\" }";
    m.created_at_ms = 1683554160000LL;
    m.sources = &src;
    m.n_sources = 1;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    ASSERT(id > src);
    ASSERT_OK(mn_memory_get(db, NULL, "alice", id, &r, &err), &err);
    ASSERT_EQ(r->n, 1);
    ASSERT_STR(r->hits[0].mem.text, "Alice likes tea");
    ASSERT_STR(r->hits[0].mem.user_id, "alice");
    ASSERT_STR(r->hits[0].mem.session_id, "s1");
    ASSERT_STR(r->hits[0].mem.metadata_json, "{\"topic\":\"drinks\"}");
    ASSERT_EQ(r->hits[0].mem.kind, MN_KIND_FACT);
    ASSERT_EQ(r->hits[0].mem.created_at_ms, 1683554160000LL);
    ASSERT_EQ(r->hits[0].mem.n_sources, 1);
    ASSERT_EQ(r->hits[0].mem.sources[0], src);
    ASSERT(!r->hits[0].mem.embedding_pending);
    mn_results_free(r);
    /* another user, or another tenant, cannot see it */
    ASSERT_EQ(mn_memory_get(db, NULL, "bob", id, &r, &err), MN_ENOTFOUND);
    ASSERT(strstr(err.msg, "not found"));
    ASSERT_EQ(mn_memory_get(db, "other", "alice", id, &r, &err), MN_ENOTFOUND);
    mn_db_close(db);
}

TEST(api_search_ranks_and_filters)
{
    mn_db *db = open_db("s.db", "mock");
    mn_results *r;
    mn_search_opts so;
    mn_err err;
    mn_id peanut = add(db, "alice", "I am allergic to peanuts");
    add(db, "alice", "My car is red");
    add(db, "alice", "We went hiking in the mountains last summer");
    add(db, "bob", "Peanuts are my favourite snack");
    r = search(db, "alice", "peanuts allergy", MN_MODE_KEYWORD);
    ASSERT(r->n >= 1);
    ASSERT_EQ(r->hits[0].mem.id, peanut);
    ASSERT(r->hits[0].score_keyword > 0);
    for (size_t i = 0; i < r->n; i++)
        ASSERT_STR(r->hits[i].mem.user_id, "alice");
    mn_results_free(r);
    r = search(db, "alice", "peanuts", MN_MODE_HYBRID);
    ASSERT_EQ(r->hits[0].mem.id, peanut);
    ASSERT_EQ(r->mode, MN_MODE_HYBRID);
    mn_results_free(r);
    r = search(db, "nobody", "peanuts", MN_MODE_DEFAULT);
    ASSERT_EQ(r->n, 0);
    mn_results_free(r);
    /* kind filter: no facts stored */
    mn_search_opts_init(&so);
    so.filter.user_id = "alice";
    so.query = "peanuts";
    so.filter.kinds = MN_KIND_BIT(MN_KIND_FACT);
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    ASSERT_EQ(r->n, 0);
    mn_results_free(r);
    mn_db_close(db);
}

TEST(api_update_delete_forget)
{
    mn_db *db = open_db("u.db", "mock");
    mn_memory_patch p = {0};
    mn_results *r;
    mn_err err;
    int64_t n = 0;
    mn_id a = add(db, "alice", "I live in Paris");
    add(db, "alice", "I have a cat");
    add(db, "bob", "I live in Rome");
    /* load the partition so that the writes below must update it too */
    mn_results_free(search(db, "alice", "Paris", MN_MODE_KEYWORD));
    p.text = "I live in Berlin";
    ASSERT_OK(mn_memory_update(db, NULL, "alice", a, &p, &err), &err);
    r = search(db, "alice", "Berlin", MN_MODE_KEYWORD);
    ASSERT_EQ(r->n, 1);
    ASSERT_EQ(r->hits[0].mem.id, a);
    mn_results_free(r);
    r = search(db, "alice", "Paris", MN_MODE_KEYWORD);
    ASSERT_EQ(r->n, 0);
    mn_results_free(r);
    p.text = NULL;
    p.status = MN_STATUS_ARCHIVED;
    ASSERT_OK(mn_memory_update(db, NULL, "alice", a, &p, &err), &err);
    r = search(db, "alice", "Berlin", MN_MODE_KEYWORD);
    ASSERT_EQ(r->n, 0); /* archived is out of the default search */
    mn_results_free(r);
    ASSERT_EQ(mn_memory_update(db, NULL, "bob", a, &p, &err), MN_ENOTFOUND);
    ASSERT_EQ(mn_memory_delete(db, NULL, "bob", a, &err), MN_ENOTFOUND);
    ASSERT_OK(mn_memory_delete(db, NULL, "alice", a, &err), &err);
    ASSERT_EQ(mn_memory_delete(db, NULL, "alice", a, &err), MN_ENOTFOUND);
    ASSERT_EQ(count(db, "alice"), 1);
    ASSERT_OK(mn_user_forget(db, NULL, "alice", &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(count(db, "alice"), 0);
    ASSERT_EQ(count(db, "bob"), 1);
    r = search(db, "alice", "cat", MN_MODE_KEYWORD);
    ASSERT_EQ(r->n, 0);
    mn_results_free(r);
    mn_db_close(db);
}

TEST(api_list_paginates_newest_first)
{
    mn_db *db = open_db("l.db", "none");
    mn_filter f;
    mn_results *r = NULL;
    mn_err err;
    mn_id ids[25], after = 0, seen_last = INT64_MAX;
    int i, total = 0;
    char text[32];
    for (i = 0; i < 25; i++) {
        snprintf(text, sizeof text, "memory number %d", i);
        ids[i] = add(db, "alice", text);
    }
    mn_filter_init(&f);
    f.user_id = "alice";
    do {
        ASSERT_OK(mn_memory_list(db, &f, after, 10, &r, &err), &err);
        ASSERT_EQ(r->total, 25);
        for (size_t j = 0; j < r->n; j++) {
            ASSERT(r->hits[j].mem.id < seen_last);
            seen_last = r->hits[j].mem.id;
            total++;
        }
        after = r->next_after;
        mn_results_free(r);
    } while (after);
    ASSERT_EQ(total, 25);
    ASSERT_EQ(seen_last, ids[0]);
    ASSERT_EQ(mn_memory_list(db, &f, 0, 0, &r, &err), MN_ERANGE);
    mn_db_close(db);
}

TEST(api_rejects_bad_input_and_stores_nothing)
{
    mn_db *db = open_db("v.db", "mock");
    mn_memory_in m, batch[2];
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    mn_id id;
    char *big = malloc(MN_DEFAULT_TEXT_BYTES + 2); /* checksrc: allow (test buffer) */
    memset(big, 'x', MN_DEFAULT_TEXT_BYTES + 1);
    big[MN_DEFAULT_TEXT_BYTES + 1] = '\0';

    mn_memory_in_init(&m);
    m.user_id = "alice";
    m.text = "";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "text is empty"));
    m.text = "   \n ";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    m.text = big;
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_ETOOBIG);
    ASSERT(strstr(err.msg, "32768"));
    m.text = "bad \xc3\x28 byte";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EUTF8);
    ASSERT(strstr(err.msg, "offset 4"));
    m.text = "fine";
    m.user_id = "";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "user id"));
    m.user_id = NULL;
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    m.user_id = "alice";
    m.metadata_json = "[1,2]";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "metadata"));
    m.metadata_json = "{\"a\":";
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EPARSE);
    m.metadata_json = NULL;
    m.kind = (mn_kind)9;
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL);
    m.kind = MN_KIND_MESSAGE;
    m.scope = MN_SCOPE_SYSTEM;
    ASSERT_EQ(mn_memory_add(db, &m, &id, &err), MN_EINVAL); /* system memory with a user */
    m.scope = MN_SCOPE_USER;
    /* a batch with one bad item stores nothing and names the item */
    batch[0] = m;
    batch[1] = m;
    batch[1].text = "";
    ASSERT_EQ(mn_memory_add_batch(db, batch, 2, NULL, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "item 1"));
    ASSERT_EQ(count(db, "alice"), 0);

    mn_search_opts_init(&so);
    so.filter.user_id = "alice";
    so.query = "tea";
    so.k = 0;
    ASSERT_EQ(mn_search(db, &so, &r, &err), MN_ERANGE);
    ASSERT(strstr(err.msg, "k is 0"));
    so.k = MN_MAX_K + 1;
    ASSERT_EQ(mn_search(db, &so, &r, &err), MN_ERANGE);
    so.k = 5;
    so.query = "";
    ASSERT_EQ(mn_search(db, &so, &r, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "query"));
    ASSERT_EQ(mn_memory_get(db, NULL, "alice", 987654, &r, &err), MN_ENOTFOUND);
    ASSERT(strstr(err.msg, "987654"));
    free(big); /* checksrc: allow */
    mn_db_close(db);
}

static int write_buf(void *ctx, const char *buf, size_t len)
{
    {
        char **acc = ctx;
        size_t old = *acc ? strlen(*acc) : 0;
        char *n = realloc(*acc, old + len + 1); /* checksrc: allow (test buffer) */
        if (!n)
            return MN_ENOMEM;
        memcpy(n + old, buf, len);
        n[old + len] = '\0';
        *acc = n;
    }
    return 0;
}

TEST(api_export_import_roundtrip)
{
    mn_db *db = open_db("e.db", "mock"), *db2 = open_db("e2.db", "mock");
    mn_memory_in m;
    mn_import_stats st;
    mn_results *r;
    mn_err err;
    char *out = NULL, *out2 = NULL;
    mn_id src = add(db, "alice", "I love \"quoted\" text\nwith newline");
    mn_memory_in_init(&m);
    m.user_id = "alice";
    m.text = "summary of the above";
    m.kind = MN_KIND_SUMMARY;
    m.sources = &src;
    m.n_sources = 1;
    m.metadata_json = "{\"k\":[1,2,{\"x\":\"y\"}]}";
    ASSERT_OK(mn_memory_add(db, &m, NULL, &err), &err);
    add(db, "bob", "bob's memory");
    ASSERT_OK(mn_export(db, NULL, "alice", write_buf, &out, &err), &err);
    ASSERT(out);
    ASSERT(strstr(out, "\"kind\":\"summary\""));
    ASSERT_OK(mn_import(db2, "t2", out, strlen(out), &st, &err), &err);
    ASSERT_EQ(st.n_added, 2);
    ASSERT_OK(mn_export(db2, "t2", "alice", write_buf, &out2, &err), &err);
    /* ids differ, the rest is the same; sources point at the new id */
    r = search(db2, "alice", "quoted", MN_MODE_KEYWORD);
    ASSERT_EQ(r->n, 0); /* imported into tenant t2, not default */
    mn_results_free(r);
    ASSERT_EQ(mn_import(db2, NULL, "{\"text\":\"ok\",\"user_id\":\"u\"}\nnot json\n", 37, &st, &err),
              MN_EPARSE);
    ASSERT(strstr(err.msg, "line 2"));
    ASSERT_EQ(count(db2, "u"), 0); /* nothing stored from the bad file */
    free(out);  /* checksrc: allow */
    free(out2); /* checksrc: allow */
    mn_db_close(db);
    mn_db_close(db2);
}

typedef struct thr {
    mn_db *db;
    int idx;
    mn_id ids[50];
} thr;

static void *writer(void *arg)
{
    thr *t = arg;
    char user[16], text[64];
    int i;
    snprintf(user, sizeof user, "u%d", t->idx % 3);
    for (i = 0; i < 50; i++) {
        mn_memory_in m;
        mn_search_opts so;
        mn_results *r = NULL;
        mn_memory_in_init(&m);
        m.user_id = user;
        snprintf(text, sizeof text, "thread %d message %d about apples", t->idx, i);
        m.text = text;
        if (mn_memory_add(t->db, &m, &t->ids[i], NULL) != MN_OK)
            t->ids[i] = 0;
        mn_search_opts_init(&so);
        so.filter.user_id = user;
        so.query = "apples";
        if (mn_search(t->db, &so, &r, NULL) == MN_OK)
            mn_results_free(r);
    }
    return NULL;
}

TEST(api_concurrent_adds_and_searches)
{
    mn_db *db = open_db("c.db", "mock");
    thr t[6];
    pthread_t th[6];
    int i, j;
    for (i = 0; i < 6; i++) {
        t[i].db = db;
        t[i].idx = i;
        pthread_create(&th[i], NULL, writer, &t[i]);
    }
    for (i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 6; i++) {
        char user[16];
        snprintf(user, sizeof user, "u%d", i % 3);
        for (j = 0; j < 50; j++) {
            mn_results *r = NULL;
            ASSERT(t[i].ids[j] > 0);
            ASSERT_OK(mn_memory_get(db, NULL, user, t[i].ids[j], &r, NULL), (mn_err *)0);
            mn_results_free(r);
        }
    }
    ASSERT_EQ(count(db, "u0") + count(db, "u1") + count(db, "u2"), 300);
    /* the loaded partitions saw every write: a search for one thread's message finds it */
    {
        mn_results *r = search(db, "u1", "thread 4 message 49", MN_MODE_KEYWORD);
        ASSERT(r->n > 0);
        mn_results_free(r);
    }
    mn_db_close(db);
}

TEST(api_keyword_only_without_model)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_db_info info;
    mn_results *r;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/k.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "none";
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    add(db, "alice", "peanut butter sandwich");
    r = search(db, "alice", "peanut", MN_MODE_HYBRID);
    ASSERT_EQ(r->mode, MN_MODE_KEYWORD);
    ASSERT(strstr(r->note, "vector search is off"));
    ASSERT_EQ(r->n, 1);
    mn_results_free(r);
    ASSERT_OK(mn_db_info_get(db, &info, &err), &err);
    ASSERT_EQ(info.dim, 0);
    ASSERT_EQ(info.n_memories, 1);
    mn_db_close(db);
}

/* A turn inherits a share of the best other turn of its session: a remark in a
 * conversation about the topic outranks an equal remark in a conversation about something
 * else (docs/RETRIEVAL.md, stage 5). MNEMO_RANK=session=0 turns the signal off. */
static mn_id add_in(mn_db *db, const char *session, const char *text)
{
    mn_memory_in m;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.user_id = "carol";
    m.session_id = session;
    m.text = text;
    m.role = MN_ROLE_USER;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    return id;
}

/* 1 when the remark in the music conversation ranks above the one in the shopping conversation */
static int topic_first(const char *db_name, const char *rank_env)
{
    mn_db *db;
    mn_results *r;
    mn_id topic, other;
    size_t i, at_topic = SIZE_MAX, at_other = SIZE_MAX;
    if (rank_env)
        setenv("MNEMO_RANK", rank_env, 1);
    else
        unsetenv("MNEMO_RANK");
    db = open_db(db_name, "mock");
    add_in(db, "music", "My guitar teacher says fresh strings make the guitar sing");
    add_in(db, "music", "The weather was fine today");
    topic = add_in(db, "music", "Maybe I should buy new guitar strings soon");
    other = add_in(db, "shopping", "My neighbour sells guitar strings, old records and cheap used amplifiers");
    add_in(db, "shopping", "The train was late again this morning");
    r = search(db, "carol", "guitar strings", MN_MODE_HYBRID);
    for (i = 0; i < r->n; i++) {
        at_topic = r->hits[i].mem.id == topic ? i : at_topic;
        at_other = r->hits[i].mem.id == other ? i : at_other;
    }
    mn_results_free(r);
    mn_db_close(db);
    ASSERT(at_topic != SIZE_MAX && at_other != SIZE_MAX);
    return at_topic < at_other;
}

TEST(api_search_session_signal)
{
    /* without the session signal the remark in the shopping conversation wins... */
    ASSERT(!topic_first("s0.db", "session=0"));
    /* ...with it, the remark in the conversation about music does */
    ASSERT(topic_first("s1.db", NULL));
}

/* Position of the memory said `days` before the question among the hits of q (SIZE_MAX: not
 * found); two remarks about the same thing, the older one the closer match. */
static size_t recent_rank(const char *db_name, const char *q, const char *rank_env)
{
    static const int64_t asked = 1685404800000LL, day = 86400000LL;
    mn_memory_in m;
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    mn_db *db;
    mn_id recent = 0;
    size_t i, at = SIZE_MAX;
    if (rank_env)
        setenv("MNEMO_RANK", rank_env, 1);
    else
        unsetenv("MNEMO_RANK");
    db = open_db(db_name, "mock");
    mn_memory_in_init(&m);
    m.user_id = "dan";
    m.role = MN_ROLE_USER;
    m.text = "I went running along the river";
    m.created_at_ms = asked - 300 * day;
    ASSERT_OK(mn_memory_add(db, &m, NULL, &err), &err);
    m.text = "I went running along the river, it was cold and windy";
    m.created_at_ms = asked - 5 * day;
    ASSERT_OK(mn_memory_add(db, &m, &recent, &err), &err);
    mn_search_opts_init(&so);
    so.filter.user_id = "dan";
    so.query = q;
    so.as_of_ms = asked;
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    for (i = 0; i < r->n; i++)
        if (r->hits[i].mem.id == recent)
            at = i;
    mn_results_free(r);
    mn_db_close(db);
    return at;
}

TEST(api_search_time_expression)
{
    /* the older remark matches "running river" better... */
    ASSERT_EQ(recent_rank("t0.db", "running along the river", NULL), 1);
    ASSERT_EQ(recent_rank("t1.db", "running along the river last week", "w_time=0"), 1);
    /* ...but a question about last week, asked 5 days after the newer one, lifts it */
    ASSERT_EQ(recent_rank("t2.db", "running along the river last week", NULL), 0);
}

TEST(api_search_as_of_before_1970_is_refused)
{
    mn_db *db = open_db("asof.db", "mock");
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    mn_search_opts_init(&so);
    so.filter.user_id = "dan";
    so.query = "river last week";
    so.as_of_ms = -1;
    ASSERT_EQ(mn_search(db, &so, &r, &err), MN_ERANGE);
    ASSERT(strstr(err.msg, "as_of"));
    ASSERT(r == NULL);
    mn_db_close(db);
}

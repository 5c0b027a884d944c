/* test_context_build.c - mn_context_build on a real database with the built-in embedder:
 * the user's memories with their dates, standing preferences, system notes apart, no other
 * user's text, an unrelated question that injects nothing at the default threshold, the
 * model to encoding map, and the option checks. */
#include "t.h"

#define DAY_MS 86400000LL
#define T0 1683504000000LL /* 8 May 2023 00:00 UTC */

static mn_db *open_db(void)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/ctx.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "builtin";
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

static void put(mn_db *db, const char *user, mn_scope scope, mn_kind kind, int64_t at,
                const char *text, const char *meta)
{
    mn_memory_in m;
    mn_err err;
    mn_memory_in_init(&m);
    m.user_id = user;
    m.scope = scope;
    m.kind = kind;
    m.role = scope == MN_SCOPE_USER && kind == MN_KIND_MESSAGE ? MN_ROLE_USER : MN_ROLE_NONE;
    m.created_at_ms = at;
    m.text = text;
    m.metadata_json = meta;
    ASSERT_OK(mn_memory_add(db, &m, NULL, &err), &err);
}

/* A small, realistic memory of one user: a few weeks of chat about life. */
static const char *const life[] = {
    "I am allergic to peanuts, even a trace makes me sick",
    "We adopted a rescue dog called Biscuit last spring",
    "Biscuit loves chasing squirrels in the park near our flat",
    "I started a new job as a nurse at the children's hospital",
    "My night shifts at the hospital are exhausting this month",
    "My sister Emma is getting married in Lisbon in September",
    "I am learning to bake sourdough bread on weekends",
    "The sourdough starter finally rose properly yesterday",
    "We are planning a hiking trip to the Lake District",
    "I bought new waterproof boots for the hiking trip",
    "My grandmother turned ninety and we threw her a garden party",
    "I have been reading a mystery novel set in Edinburgh",
    "Our neighbours complained about Biscuit barking at night",
    "I signed up for a pottery class on Thursday evenings",
    "I made a lopsided bowl in my first pottery class",
};

static void add_life(mn_db *db, const char *user)
{
    size_t i;
    for (i = 0; i < (sizeof life / sizeof life[0]); i++)
        put(db, user, MN_SCOPE_USER, MN_KIND_MESSAGE, T0 + (int64_t)i * DAY_MS, life[i], NULL);
}

static mn_context *build(mn_db *db, const char *user, const char *query, double min_score)
{
    mn_context_opts o;
    mn_context *c = NULL;
    mn_err err;
    mn_context_opts_init(&o);
    o.user_id = user;
    o.query = query;
    if (min_score >= 0)
        o.min_score = min_score;
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    return c;
}

TEST(ctx_build_user_memories_dated_and_apart)
{
    mn_db *db = open_db();
    mn_context *c;
    char *msgs = NULL;
    size_t i;
    add_life(db, "alice");
    put(db, "alice", MN_SCOPE_USER, MN_KIND_PREFERENCE, T0, "Alice prefers short answers",
        NULL);
    put(db, "alice", MN_SCOPE_USER, MN_KIND_MESSAGE, T0 + 20 * DAY_MS,
        "Peanut butter cookies at the party made me ill", "{\"speaker\":\"Alice\"}");
    put(db, "bob", MN_SCOPE_USER, MN_KIND_MESSAGE, T0, "I am allergic to peanuts and shellfish",
        NULL);
    put(db, NULL, MN_SCOPE_SYSTEM, MN_KIND_PREFERENCE, T0, "Always answer in British English",
        NULL);
    c = build(db, "alice", "Can I eat peanut butter?", -1);
    ASSERT(strstr(c->prompt, "System notes:\n- Always answer in British English\n\n"
                             "User preferences:\n- Alice prefers short answers\n\n"
                             "Relevant memories:\n") == c->prompt);
    ASSERT(strstr(c->prompt, "- [8 May 2023] I am allergic to peanuts, even a trace makes me "
                             "sick\n"));
    ASSERT(strstr(c->prompt, "- [28 May 2023] Alice: Peanut butter cookies at the party"));
    ASSERT(!strstr(c->prompt, "shellfish")); /* bob's */
    ASSERT(strstr(c->prompt, "\n\nCurrent question:\nCan I eat peanut butter?"));
    ASSERT(c->n_tokens <= 1000 && c->n_tokens > 20);
    ASSERT_EQ(c->max_tokens, 1000);
    ASSERT_STR(c->encoding, "cl100k_base");
    ASSERT(!c->estimated);
    for (i = 0; i < c->n_items; i++) {
        ASSERT((c->items[i].scope == MN_SCOPE_SYSTEM) ==
               (c->items[i].section == MN_SECTION_SYSTEM));
        if (c->items[i].section == MN_SECTION_MEMORIES) {
            ASSERT(c->items[i].score > 0);
            ASSERT(c->items[i].relevance > 0 && c->items[i].relevance <= 1.0);
        }
    }
    ASSERT_OK(mn_context_messages_json(c, &msgs, NULL, NULL), NULL);
    ASSERT(strstr(msgs, "[{\"role\":\"system\",\"content\":\"System notes:") == msgs);
    ASSERT(strstr(msgs, "{\"role\":\"user\",\"content\":\"Can I eat peanut butter?\"}]"));
    mn_free(msgs);
    mn_context_free(c);
    mn_db_close(db);
}

TEST(ctx_build_unrelated_question_injects_nothing)
{
    static const char *const unrelated[] = {
        "What is the capital of Australia?",
        "How do I reverse a linked list in C?",
        "What is the derivative of sin(x)?",
        "Which planet is closest to the sun?",
    };
    mn_db *db = open_db();
    mn_context *c;
    size_t i, n_found = 0;
    add_life(db, "carol");
    for (i = 0; i < (sizeof unrelated / sizeof unrelated[0]); i++) {
        c = build(db, "carol", unrelated[i], -1);
        if (c->n_items != 0)
            t_fail(__FILE__, __LINE__, "\"%s\" injected %zu memories:\n%s", unrelated[i],
                   c->n_items, c->prompt);
        n_found += c->n_below_score; /* found by the search, then judged irrelevant */
        mn_context_free(c);
        c = build(db, "carol", unrelated[i], 0);
        ASSERT_EQ(c->n_items, c->n_candidates - c->n_duplicates);
        mn_context_free(c);
    }
    ASSERT(n_found >= 2); /* the threshold, not the search, kept most of them out */
    c = build(db, "carol", "What is my dog called?", -1); /* a related one still works */
    ASSERT(strstr(c->prompt, "Biscuit"));
    mn_context_free(c);
    c = build(db, "carol", "When is my sister's wedding?", -1);
    ASSERT(strstr(c->prompt, "married in Lisbon"));
    mn_context_free(c);
    mn_db_close(db);
}

TEST(ctx_build_models_and_budget)
{
    mn_db *db = open_db();
    mn_context_opts o;
    mn_context *c = NULL;
    mn_err err;
    add_life(db, "dave");
    mn_context_opts_init(&o);
    ASSERT_EQ(o.max_tokens, 1000);
    ASSERT_EQ(o.include, MN_CONTEXT_ALL);
    ASSERT(o.min_score > 0 && o.min_score < 1);
    o.user_id = "dave";
    o.query = "Tell me about my dog Biscuit";
    o.model = "gpt-4o-mini";
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    ASSERT_STR(c->encoding, "o200k_base");
    mn_context_free(c);
    o.model = "llama-3-70b"; /* unknown tokenizer: a flagged estimate */
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    ASSERT(c->estimated);
    ASSERT_STR(c->encoding, "estimate");
    mn_context_free(c);
    o.model = NULL;
    o.max_tokens = 40;
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    ASSERT(c->n_tokens <= 40);
    ASSERT(c->n_over_budget > 0);
    mn_context_free(c);
    o.max_tokens = 5;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_ETOOBIG);
    ASSERT(c == NULL);
    ASSERT(strstr(err.msg, "question alone"));
    o.max_tokens = 1000;
    o.user_id = "nobody"; /* unknown user: a context with no memory */
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    ASSERT_EQ(c->n_items, 0);
    mn_context_free(c);
    mn_db_close(db);
}

TEST(ctx_build_bad_options)
{
    mn_db *db = open_db();
    mn_context_opts o;
    mn_context *c = NULL;
    mn_err err;
    mn_context_opts_init(&o);
    o.query = "hello";
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL); /* no user */
    ASSERT(strstr(err.msg, "user id"));
    o.user_id = "erin";
    o.query = NULL;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "query"));
    o.query = "   ";
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL);
    o.query = "hello";
    o.max_tokens = 0;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_ERANGE);
    o.max_tokens = MN_CONTEXT_MAX_TOKENS + 1;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_ERANGE);
    o.max_tokens = 100;
    o.k = 0;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_ERANGE);
    o.k = 10;
    o.min_score = -0.5;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL);
    o.min_score = 0.3;
    o.include = 0x100;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL);
    o.include = 0;
    o.tenant = "";
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_EINVAL);
    o.tenant = NULL;
    ASSERT_EQ(mn_context_build(NULL, &o, &c, &err), MN_EINVAL);
    ASSERT_EQ(mn_context_build(db, NULL, &c, &err), MN_EINVAL);
    ASSERT_EQ(mn_context_build(db, &o, NULL, &err), MN_EINVAL);
    ASSERT(c == NULL);
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    mn_context_free(c);
    mn_db_close(db);
}

TEST(ctx_build_summary_as_relevant_as_its_sources)
{
    mn_db *db = open_db();
    mn_memory_in m;
    mn_memory_patch patch;
    mn_id src[2];
    mn_err err;
    mn_context *c;
    const mn_context_item *sum = NULL;
    size_t i;
    add_life(db, "fay");
    mn_memory_in_init(&m);
    m.user_id = "fay";
    m.role = MN_ROLE_USER;
    m.created_at_ms = T0 + 40 * DAY_MS;
    m.text = "We drove to Porto in a rented convertible";
    ASSERT_OK(mn_memory_add(db, &m, &src[0], &err), &err);
    m.text = "The hotel in Porto had a rooftop swimming pool";
    ASSERT_OK(mn_memory_add(db, &m, &src[1], &err), &err);
    mn_memory_in_init(&m);
    m.user_id = "fay";
    m.kind = MN_KIND_SUMMARY;
    m.created_at_ms = T0 + 40 * DAY_MS;
    m.text = "17 June 2023: a trip with friends, driving north along the coast";
    m.sources = src;
    m.n_sources = 2;
    ASSERT_OK(mn_memory_add(db, &m, NULL, &err), &err);
    memset(&patch, 0, sizeof patch);
    patch.status = MN_STATUS_ARCHIVED;
    for (i = 0; i < 2; i++)
        ASSERT_OK(mn_memory_update(db, NULL, "fay", src[i], &patch, &err), &err);
    c = build(db, "fay", "Did the hotel have a rooftop swimming pool?", -1);
    for (i = 0; i < c->n_items; i++) {
        ASSERT(c->items[i].id != src[0] && c->items[i].id != src[1]); /* archived */
        if (c->items[i].kind == MN_KIND_SUMMARY)
            sum = &c->items[i];
    }
    if (!sum)
        t_fail(__FILE__, __LINE__, "no summary in:\n%s", c->prompt);
    ASSERT_EQ(sum->section, MN_SECTION_SUMMARIES);
    ASSERT(sum->relevance >= 0.35); /* its own words do not say it: the pool message does */
    ASSERT(strstr(c->prompt, "Summary of earlier conversations:\n- 17 June 2023: a trip"));
    mn_context_free(c);
    mn_db_close(db);
}

/* Score of the memory `id` among the context's items; -1 when it is not there. */
static double item_score(const mn_context *c, mn_id id)
{
    size_t i;
    for (i = 0; i < c->n_items; i++)
        if (c->items[i].id == id)
            return c->items[i].score;
    return -1;
}

TEST(ctx_build_as_of_moves_time_expressions)
{
    static const int64_t asked = T0 + 400 * DAY_MS;
    mn_db *db = open_db();
    mn_context_opts o;
    mn_context *c = NULL;
    mn_memory_in m;
    mn_id old_id, recent_id;
    mn_err err;
    double old_s, recent_s;
    mn_memory_in_init(&m);
    m.user_id = "gus";
    m.role = MN_ROLE_USER;
    m.text = "I went running along the river";
    m.created_at_ms = asked - 300 * DAY_MS;
    ASSERT_OK(mn_memory_add(db, &m, &old_id, &err), &err);
    m.text = "I went running along the river, it was cold and windy";
    m.created_at_ms = asked - 5 * DAY_MS;
    ASSERT_OK(mn_memory_add(db, &m, &recent_id, &err), &err);
    mn_context_opts_init(&o);
    o.user_id = "gus";
    o.query = "running along the river last week";
    o.min_score = 0;
    /* asked now, years later: "last week" holds neither, the closer text scores higher */
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    old_s = item_score(c, old_id);
    recent_s = item_score(c, recent_id);
    mn_context_free(c);
    ASSERT(old_s > 0 && recent_s > 0);
    ASSERT(old_s > recent_s);
    /* asked 5 days after the newer remark: it is last week's and overtakes */
    o.as_of_ms = asked;
    ASSERT_OK(mn_context_build(db, &o, &c, &err), &err);
    old_s = item_score(c, old_id);
    recent_s = item_score(c, recent_id);
    mn_context_free(c);
    ASSERT(recent_s > old_s);
    o.as_of_ms = -1;
    ASSERT_EQ(mn_context_build(db, &o, &c, &err), MN_ERANGE);
    ASSERT(strstr(err.msg, "as_of"));
    ASSERT(c == NULL);
    mn_db_close(db);
}

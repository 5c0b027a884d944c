/* test_compact.c - compression and extraction: clustering of neighbouring turns, the
 * extractive summary's budget, mn_compact end to end on a mock-embedded conversation
 * (fewer active memories, summaries citing their sources, archived messages found with the
 * flag and through their summary, a second run adding nothing), rule-based extraction, and
 * a newer statement superseding an older one with the history kept. */
#include "../../src/memory/memory_int.h"
#include "t.h"

/* ---- clustering ----------------------------------------------------------------------------*/

static void unit(float *v, int dim, int hot)
{
    int j;
    for (j = 0; j < dim; j++)
        v[j] = 0;
    v[hot % dim] = 1;
}

TEST(cluster_runs_cut_at_topic_changes_and_absorb_small_runs)
{
    enum { N = 13, D = 4 };
    float v[N * D];
    size_t ends[N], n = 0, ends2[N], n2 = 0;
    mn__cluster_cfg cfg = {3, 6, 0.5};
    int i;
    /* topic A x5, topic B x5, then one stray turn and two more of B */
    for (i = 0; i < 5; i++)
        unit(v + i * D, D, 0);
    for (i = 5; i < 10; i++)
        unit(v + i * D, D, 1);
    unit(v + 10 * D, D, 2);
    unit(v + 11 * D, D, 1);
    unit(v + 12 * D, D, 1);
    ASSERT_OK(mn__cluster_runs(v, D, N, &cfg, ends, &n), NULL);
    /* A alone (B never joins it: cosine 0, both big enough); the stray turn and the short
     * tail make a run of their own since B is at max_size */
    ASSERT_EQ(n, 3);
    ASSERT_EQ(ends[0], 5);
    ASSERT_EQ(ends[1], 10);
    ASSERT_EQ(ends[2], 13);
    ASSERT_OK(mn__cluster_runs(v, D, N, &cfg, ends2, &n2), NULL); /* deterministic */
    ASSERT_EQ(n2, n);
    ASSERT(!memcmp(ends, ends2, n * sizeof *ends));
    cfg.max_size = 10; /* room: the small tail joins B, whose topic it shares */
    ASSERT_OK(mn__cluster_runs(v, D, N, &cfg, ends, &n), NULL);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(ends[0], 5);
    ASSERT_EQ(ends[1], 13);

    /* max_size caps runs that are big enough; a run under min_size may pass it */
    cfg.min_size = 2;
    cfg.max_size = 3;
    ASSERT_OK(mn__cluster_runs(v, D, 5, &cfg, ends, &n), NULL);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(ends[0] + (ends[1] - ends[0]), 5);
    ASSERT(ends[0] >= 2 && ends[0] <= 3);
}

/* ---- the engine ----------------------------------------------------------------------------*/

static mn_db *open_db(const char *extract)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/c.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "mock";
    o.extract = extract;
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

static const char *const topics[3][6] = {
    {"we planned the garden beds with tomatoes", "the garden beds need tomatoes and basil",
     "tomatoes in the garden beds grow fast", "I water the garden beds and tomatoes daily",
     "the tomatoes garden beds got compost", "garden beds with tomatoes look great"},
    {"the violin lesson with my teacher was hard", "violin lesson scales with the teacher",
     "my teacher says the violin lesson went well", "practice violin before the lesson teacher",
     "violin teacher lesson on Tuesday", "the violin lesson teacher praised my bowing"},
    {"booked the flight to Lisbon for the conference", "the Lisbon conference flight leaves early",
     "conference hotel in Lisbon near the flight", "Lisbon conference talk after the flight",
     "flight back from the Lisbon conference", "the conference in Lisbon and the flight home"},
};

static int64_t count(mn_db *db, unsigned statuses, unsigned kinds)
{
    mn_filter f;
    mn_results *r = NULL;
    mn_err err;
    int64_t n;
    mn_filter_init(&f);
    f.user_id = "u";
    f.statuses = statuses;
    f.kinds = kinds;
    ASSERT_OK(mn_memory_list(db, &f, 0, 100, &r, &err), &err);
    n = r->total;
    mn_results_free(r);
    return n;
}

static void add_conversation(mn_db *db, mn_id *ids)
{
    mn_memory_in in[18];
    mn_err err;
    char sess[3][8];
    int s, i;
    for (s = 0; s < 3; s++) {
        snprintf(sess[s], sizeof sess[s], "s%d", s);
        for (i = 0; i < 6; i++) {
            mn_memory_in *m = &in[s * 6 + i];
            mn_memory_in_init(m);
            m->user_id = "u";
            m->role = i % 2 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
            m->session_id = sess[s];
            m->text = topics[s][i];
            m->created_at_ms = 1700000000000LL + s * 86400000LL + i * 60000;
        }
    }
    ASSERT_OK(mn_memory_add_batch(db, in, 18, ids, &err), &err);
}

TEST(compact_summarizes_archives_and_is_idempotent)
{
    mn_db *db = open_db(NULL);
    mn_compact_opts o;
    mn_compact_stats st;
    mn_search_opts so;
    mn_results *r = NULL;
    mn_filter f;
    mn_err err;
    mn_id ids[18];
    size_t i, j;
    const unsigned all = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED);

    add_conversation(db, ids);
    mn_compact_opts_init(&o);
    o.user_id = "u";
    o.keep_recent = -1;
    o.min_cluster = 3;
    ASSERT_OK(mn_compact(db, &o, &st, &err), &err);
    ASSERT_EQ(st.active_before, 18);
    ASSERT_EQ(st.n_clusters, 3); /* one per session: each is about one thing */
    ASSERT_EQ(st.n_archived, 18);
    ASSERT_EQ(st.active_after, 3);
    ASSERT_EQ(count(db, 0, 0), 3);
    ASSERT_EQ(count(db, all, 0), 21); /* nothing deleted */

    /* each summary cites the six messages of its session, in time order */
    mn_filter_init(&f);
    f.user_id = "u";
    f.kinds = MN_KIND_BIT(MN_KIND_SUMMARY);
    ASSERT_OK(mn_memory_list(db, &f, 0, 10, &r, &err), &err);
    ASSERT_EQ(r->n, 3);
    for (i = 0; i < r->n; i++) {
        const mn_memory *m = &r->hits[i].mem;
        size_t s = (size_t)(m->sources[0] - ids[0]) / 6;
        ASSERT_EQ(m->n_sources, 6);
        for (j = 0; j < 6; j++)
            ASSERT_EQ(m->sources[j], ids[s * 6 + j]);
        ASSERT(strstr(m->metadata_json, "\"first_at\""));
        ASSERT(strstr(m->metadata_json, "\"last_at\""));
        ASSERT(m->text && strlen(m->text) > 10);
        ASSERT_EQ(m->created_at_ms, 1700000000000LL + (int64_t)s * 86400000LL);
    }
    mn_results_free(r);

    /* the default search finds the summary; the archived message with the flag */
    mn_search_opts_init(&so);
    so.filter.user_id = "u";
    so.query = "violin teacher praised my bowing";
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    ASSERT(r->n >= 1);
    ASSERT_EQ(r->hits[0].mem.kind, MN_KIND_SUMMARY);
    ASSERT_EQ(r->hits[0].mem.sources[0], ids[6]);
    mn_results_free(r);
    so.filter.statuses = MN_STATUS_BIT(MN_STATUS_ARCHIVED);
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    ASSERT(r->n >= 1);
    for (i = 0, j = 0; i < r->n; i++) {
        ASSERT_EQ(r->hits[i].mem.status, MN_STATUS_ARCHIVED);
        j += r->hits[i].mem.id == ids[11];
    }
    ASSERT_EQ(j, 1); /* the message about the bowing itself is found */
    mn_results_free(r);

    /* a second run adds nothing */
    ASSERT_OK(mn_compact(db, &o, &st, &err), &err);
    ASSERT_EQ(st.n_clusters, 0);
    ASSERT_EQ(st.n_archived, 0);
    ASSERT_EQ(count(db, all, 0), 21);
    mn_db_close(db);
}

TEST(compact_keeps_recent_messages_and_dry_run_writes_nothing)
{
    mn_db *db = open_db(NULL);
    mn_compact_opts o;
    mn_compact_stats st;
    mn_err err;
    mn_id ids[18];
    add_conversation(db, ids);
    mn_compact_opts_init(&o);
    o.user_id = "u";
    o.min_cluster = 3;
    o.keep_recent = 6;
    o.dry_run = true;
    ASSERT_OK(mn_compact(db, &o, &st, &err), &err);
    ASSERT_EQ(st.n_candidates, 12);
    ASSERT_EQ(st.n_clusters, 2);
    ASSERT_EQ(count(db, 0, 0), 18);
    o.dry_run = false;
    ASSERT_OK(mn_compact(db, &o, &st, &err), &err);
    ASSERT_EQ(st.active_after, 8); /* 2 summaries + the 6 newest messages */
    ASSERT_EQ(count(db, 0, MN_KIND_BIT(MN_KIND_MESSAGE)), 6);
    /* bad options are refused */
    o.min_similarity = 2;
    ASSERT_EQ(mn_compact(db, &o, &st, &err), MN_ERANGE);
    o.min_similarity = 0;
    o.user_id = NULL;
    ASSERT_EQ(mn_compact(db, &o, &st, &err), MN_EINVAL);
    mn_db_close(db);
}

TEST(extractive_summary_stays_within_its_token_budget)
{
    mn_db *db = open_db(NULL);
    mn__eprof pf = mn__eprof_of(db, "default");
    mn__cmsg m[6];
    float vecs[6][64], c[64] = {0};
    mn__buf out;
    mn_err err;
    int i, j;
    for (i = 0; i < 6; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].id = i + 1;
        m[i].text = topics[0][i];
        m[i].speaker = i % 2 ? "Ana" : "Ben";
        m[i].created_at_ms = 1700000000000LL;
        ASSERT_OK(pf.emb->embed(pf.emb, m[i].text, strlen(m[i].text), vecs[i], &err), &err);
        m[i].vec = vecs[i];
        for (j = 0; j < 64; j++)
            c[j] += vecs[i][j] / 6;
    }
    mn__buf_init(&out, 0);
    ASSERT_OK(mn__summarize_extractive(db, &pf, m, 6, c, 30, &out, &err), &err);
    ASSERT(mn__count_tokens(db, out.data, out.len) <= 30 + 8); /* budget; speakers added */
    ASSERT(strstr(out.data, "14 November 2023: ") == out.data);
    ASSERT(strstr(out.data, "Ben: ") || strstr(out.data, "Ana: "));
    ASSERT(strstr(out.data, "tomatoes"));
    mn__buf_release(&out);
    mn_db_close(db);
}

/* ---- extraction ----------------------------------------------------------------------------*/

typedef struct xcase {
    const char *text, *subject, *out;
} xcase;

TEST(extract_rules_find_statements_and_leave_the_rest)
{
    static const xcase yes[] = {
        {"I live in Paris.", "location", "Mel lives in Paris"},
        {"Oh, I moved to Berlin last month and I love it!", "location", "Mel lives in Berlin"},
        {"I'm allergic to peanuts and shellfish.", "allergy:peanuts-and-shellfish",
         "Mel is allergic to peanuts and shellfish"},
        {"I don't like coffee, but I love green tea.", "taste:coffee", "Mel doesn't like coffee"},
        {"I don't like coffee, but I love green tea.", "taste:green-tea", "Mel loves green tea"},
        {"My favorite color is blue", "favorite:color", "Mel's favorite color is blue"},
        {"My sister lives in Oslo.", "family:sister:lives", "Mel's sister lives in Oslo"},
        {"I'm vegetarian now", "diet", "Mel is vegetarian"},
        {"My name is Ana Lopez.", "name", "Mel is called Ana Lopez"},
        {"I work as a nurse", "job", "Mel works as a nurse"},
        {"I'm going to Lisbon next week", "plan:lisbon-next-week",
         "Mel is going to Lisbon next week"},
        {"I have a dog named Rex", "family:has:dog", "Mel has a dog named Rex"},
        {"I\xe2\x80\x99m a big fan of Radiohead", "taste:radiohead", "Mel is a big fan of Radiohead"},
        {"I'm 34 years old", "age", "Mel is 34 years old"},
        /* what follows is about the user too: first person becomes third */
        {"I plan to use the compost to fertilize my tomato plants",
         "plan:use-the-compost-to-fertilize-my-tomato-plant",
         "Mel plans to use the compost to fertilize their tomato plants"},
        {"I love going hiking with my dad and me", "taste:going-hiking-with-my-dad",
         "Mel loves going hiking with their dad"},
        {"I'm planning to tell them I am moving to the US", "plan:tell-them-i-am-moving-to-the-u",
         "Mel plans to tell them they are moving to the US"},
    };
    static const char *const no[] = {"Do I like jazz?", "I love you", "I like to think so",
                                     "I'm a bit tired today", "I used to live in Rome",
                                     "I'm going to be honest", "You live in Paris, right"};
    mn__fact f[8];
    size_t n, i, j;
    for (i = 0; i < MN_ARRAY_LEN(yes); i++) {
        bool found = false;
        mn__extract_rules(yes[i].text, "Mel", f, 8, &n);
        for (j = 0; j < n; j++)
            if (!strcmp(f[j].subject, yes[i].subject)) {
                found = true;
                if (strcmp(f[j].text, yes[i].out))
                    t_fail(__FILE__, __LINE__, "'%s': text '%s', expected '%s'", yes[i].text,
                           f[j].text, yes[i].out);
            }
        if (!found)
            t_fail(__FILE__, __LINE__, "'%s': no statement with subject %s", yes[i].text,
                   yes[i].subject);
    }
    for (i = 0; i < MN_ARRAY_LEN(no); i++) {
        mn__extract_rules(no[i], NULL, f, 8, &n);
        if (n)
            t_fail(__FILE__, __LINE__, "'%s' gave '%s' (%s)", no[i], f[0].text, f[0].subject);
    }
    mn__extract_rules("I live in Paris", NULL, f, 8, &n);
    ASSERT_EQ(n, 1);
    ASSERT_STR(f[0].text, "User lives in Paris");
    ASSERT_EQ(f[0].kind, MN_KIND_FACT);
}

static mn_id add_user_msg(mn_db *db, const char *text, int64_t at)
{
    mn_memory_in m;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.user_id = "u";
    m.role = MN_ROLE_USER;
    m.text = text;
    m.created_at_ms = at;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    return id;
}

/* The active facts of the user with subject location. */
static mn_results *facts(mn_db *db, unsigned statuses)
{
    mn_filter f;
    mn_results *r = NULL;
    mn_err err;
    mn_filter_init(&f);
    f.user_id = "u";
    f.kinds = MN_KIND_BIT(MN_KIND_FACT) | MN_KIND_BIT(MN_KIND_PREFERENCE);
    f.statuses = statuses;
    ASSERT_OK(mn_memory_list(db, &f, 0, 100, &r, &err), &err);
    return r;
}

TEST(newer_statement_supersedes_and_history_is_kept)
{
    mn_db *db = open_db("rules");
    mn_results *r, *h = NULL;
    mn_err err;
    mn_id paris_msg, berlin_msg, paris = 0, berlin = 0;
    size_t i;
    paris_msg = add_user_msg(db, "I live in Paris", 1700000000000LL);
    add_user_msg(db, "The weather is nice today", 1700000100000LL);
    berlin_msg = add_user_msg(db, "Big news: I moved to Berlin!", 1700000200000LL);
    r = facts(db, 0);
    ASSERT_EQ(r->n, 1);
    ASSERT_STR(r->hits[0].mem.text, "User lives in Berlin");
    ASSERT_EQ(r->hits[0].mem.n_sources, 1);
    ASSERT_EQ(r->hits[0].mem.sources[0], berlin_msg);
    berlin = r->hits[0].mem.id;
    mn_results_free(r);
    r = facts(db, MN_STATUS_BIT(MN_STATUS_SUPERSEDED));
    ASSERT_EQ(r->n, 1);
    ASSERT_STR(r->hits[0].mem.text, "User lives in Paris");
    ASSERT_EQ(r->hits[0].mem.superseded_by, berlin);
    ASSERT_EQ(r->hits[0].mem.sources[0], paris_msg);
    paris = r->hits[0].mem.id;
    mn_results_free(r);
    ASSERT_OK(mn_memory_history(db, NULL, "u", paris, &h, &err), &err);
    ASSERT_EQ(h->n, 1);
    ASSERT_EQ(h->hits[0].mem.status, MN_STATUS_ACTIVE); /* the version before superseding */
    mn_results_free(h);
    /* saying it again adds nothing; an assistant's words are not the user's facts */
    add_user_msg(db, "I moved to Berlin", 1700000300000LL);
    {
        mn_memory_in m;
        mn_memory_in_init(&m);
        m.user_id = "u";
        m.role = MN_ROLE_ASSISTANT;
        m.text = "I live in Madrid";
        ASSERT_OK(mn_memory_add(db, &m, NULL, &err), &err);
    }
    r = facts(db, MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_SUPERSEDED));
    ASSERT_EQ(r->n, 2);
    for (i = 0; i < r->n; i++)
        ASSERT(!strstr(r->hits[i].mem.text, "Madrid"));
    mn_results_free(r);
    /* an import of an older statement does not override the newer one */
    add_user_msg(db, "I live in Rome", 1690000000000LL);
    r = facts(db, 0);
    ASSERT_EQ(r->n, 1);
    ASSERT_STR(r->hits[0].mem.text, "User lives in Berlin");
    mn_results_free(r);
    mn_db_close(db);
}

/* test_providers.c - remote providers without a network: Retry-After and backoff arithmetic,
 * the checks of embedding replies (OpenAI and Cohere shapes: order, count, dimension,
 * malformed JSON, non-finite values), the JSON Schema subset and chat replies of the LLM,
 * settings validation, and the engine with a remote embedder whose server is not there
 * (connection refused on loopback): adds are stored pending and keyword-searchable, the
 * background embedder fails cleanly and keeps them, the store's pending scan and guarded
 * vector writes. */
#include <cjson/cJSON.h>

#include "../../src/embed/embed.h"
#include "../../src/llm/llm.h"
#include "../../src/store/store.h"
#include "t.h"

/* ---- Retry-After, backoff ------------------------------------------------------------------*/

TEST(retry_after_seconds_and_dates)
{
    int64_t ms = -1;
    /* 2015-10-21T07:28:00Z = 1445412480 s */
    int64_t now = 1445412480000LL - 5000;
    ASSERT_OK(mn__http_retry_after("3", now, &ms), NULL);
    ASSERT_EQ(ms, 3000);
    ASSERT_OK(mn__http_retry_after(" 0", now, &ms), NULL);
    ASSERT_EQ(ms, 0);
    ASSERT_OK(mn__http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, &ms), NULL);
    ASSERT_EQ(ms, 5000);
    /* a date in the past means now */
    ASSERT_OK(mn__http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now + 60000, &ms), NULL);
    ASSERT_EQ(ms, 0);
    ASSERT_EQ(mn__http_retry_after("soon", now, &ms), MN_EINVAL);
    ASSERT_EQ(mn__http_retry_after("3s", now, &ms), MN_EINVAL);
    ASSERT_EQ(mn__http_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", now, &ms), MN_EINVAL);
}

TEST(backoff_full_jitter_within_bounds_and_honours_retry_after)
{
    mn__retry_policy rp = {0, 100, 1000, 0};
    uint64_t rng = 42;
    int retry, i;
    int64_t max_seen[6] = {0};
    for (retry = 1; retry <= 5; retry++) {
        int64_t ceil_ms = MN_MIN(1000, 100 << (retry - 1));
        for (i = 0; i < 2000; i++) {
            int64_t w = mn__backoff_ms(&rp, retry, -1, &rng);
            ASSERT(w >= 0 && w <= ceil_ms);
            if (w > max_seen[retry])
                max_seen[retry] = w;
        }
        /* jitter spreads over the whole range, not a fixed point */
        ASSERT(max_seen[retry] > ceil_ms * 8 / 10);
    }
    ASSERT(mn__backoff_ms(&rp, 1, 5000, &rng) == 5000);
}

/* ---- embedding replies ---------------------------------------------------------------------*/

TEST(openai_reply_checked_and_reordered_by_index)
{
    const char *ok = "{\"data\":[{\"index\":1,\"embedding\":[0,3,4]},"
                     "{\"index\":0,\"embedding\":[1,0,0]}]}";
    float out[6];
    mn_err err;
    ASSERT_OK(mn__embed_parse_openai(ok, strlen(ok), 2, 3, out, &err), &err);
    ASSERT_NEAR(out[0], 1, 1e-6);
    ASSERT_NEAR(out[3], 0, 1e-6);
    ASSERT_NEAR(out[4], 0.6, 1e-6); /* normalised */
    ASSERT_NEAR(out[5], 0.8, 1e-6);
}

static void expect_bad(int (*parse)(const char *, size_t, size_t, int, float *, mn_err *),
                       const char *body, size_t n, int dim, const char *words)
{
    float out[64];
    mn_err err;
    memset(&err, 0, sizeof err);
    ASSERT_EQ(parse(body, strlen(body), n, dim, out, &err), MN_EPROVIDER);
    if (!strstr(err.msg, words))
        t_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err.msg, words);
}

TEST(openai_reply_rejections_are_clear)
{
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"embedding\":[0.1,0.2", 1, 2, "not JSON");
    expect_bad(mn__embed_parse_openai, "<html>502 Bad Gateway</html>", 1, 2, "not JSON");
    expect_bad(mn__embed_parse_openai, "{\"error\":\"x\"}", 1, 2, "no \"data\" array");
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"embedding\":[1,2,3]}]}", 1, 2,
               "has 3 dimensions, expected 2");
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"embedding\":[1,2]}]}", 2, 2,
               "1 embeddings for 2 inputs");
    expect_bad(mn__embed_parse_openai,
               "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[1,2]}]}",
               2, 2, "two embeddings for input 0");
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"index\":5,\"embedding\":[1,2]}]}", 1, 2,
               "bad \"index\"");
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"embedding\":[1,\"2\"]}]}", 1, 2,
               "non-number");
    expect_bad(mn__embed_parse_openai, "{\"data\":[{\"embedding\":[1,1e999]}]}", 1, 2,
               "non-finite");
}

TEST(cohere_reply_checked)
{
    const char *ok = "{\"id\":\"x\",\"embeddings\":{\"float\":[[3,4],[0,2]]}}";
    float out[4];
    mn_err err;
    ASSERT_OK(mn__embed_parse_cohere(ok, strlen(ok), 2, 2, out, &err), &err);
    ASSERT_NEAR(out[0], 0.6, 1e-6);
    ASSERT_NEAR(out[3], 1, 1e-6);
    expect_bad(mn__embed_parse_cohere, "{\"embeddings\":[[1,2]]}", 1, 2, "\"float\"");
    expect_bad(mn__embed_parse_cohere, "{\"embeddings\":{\"float\":[[1,2,3]]}}", 1, 2,
               "has 3 dimensions, expected 2");
    expect_bad(mn__embed_parse_cohere, "{\"embeddings\":{\"float\":[[1,2]]}}", 3, 2,
               "1 embeddings for 3 inputs");
}

TEST(remote_settings_validated)
{
    mn__remote_cfg c;
    mn__embedder *e = NULL;
    mn_err err;
    memset(&c, 0, sizeof c);
    c.provider = "openai";
    c.model = "m";
    ASSERT_EQ(mn__embed_remote_new(&c, &e, &err), MN_EINVAL); /* no dimension */
    ASSERT(strstr(err.msg, "dimension"));
    c.dim = 8;
    c.provider = "voyage";
    ASSERT_EQ(mn__embed_remote_new(&c, &e, &err), MN_EINVAL);
    c.provider = "azure"; /* Azure needs its deployment URL */
    ASSERT_EQ(mn__embed_remote_new(&c, &e, &err), MN_EINVAL);
    c.provider = "cohere";
    ASSERT_OK(mn__embed_remote_new(&c, &e, &err), &err);
    ASSERT(e->remote);
    ASSERT_STR(e->model_id, "cohere:m:8");
    ASSERT_EQ(e->dim, 8);
    e->destroy(e);
}

/* ---- JSON Schema subset and chat replies ---------------------------------------------------*/

static const char *SCHEMA =
    "{\"type\":\"object\",\"required\":[\"summary\",\"facts\"],\"additionalProperties\":false,"
    "\"properties\":{\"summary\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":20},"
    "\"facts\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"object\","
    "\"required\":[\"kind\"],\"properties\":{\"kind\":{\"enum\":[\"preference\",\"fact\"]},"
    "\"n\":{\"type\":\"integer\",\"minimum\":0}}}}}}";

static int check_json(const char *schema, const char *value, mn_err *err)
{
    cJSON *s = cJSON_Parse(schema), *v = cJSON_Parse(value);
    int rc;
    ASSERT(s && v);
    rc = mn__jschema_check(s, v, err);
    cJSON_Delete(s);
    cJSON_Delete(v);
    return rc;
}

TEST(jschema_accepts_and_locates_violations)
{
    mn_err err;
    ASSERT_OK(check_json(SCHEMA, "{\"summary\":\"ok\",\"facts\":[{\"kind\":\"fact\",\"n\":2}]}",
                         &err),
              &err);
    ASSERT_EQ(check_json(SCHEMA, "{\"facts\":[]}", &err), MN_EPARSE);
    ASSERT(strstr(err.msg, "'summary' is missing"));
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"ok\",\"facts\":[],\"x\":1}", &err), MN_EPARSE);
    ASSERT(strstr(err.msg, "unexpected field 'x'"));
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"ok\",\"facts\":[{\"kind\":\"opinion\"}]}",
                         &err),
              MN_EPARSE);
    ASSERT(strstr(err.msg, "$.facts[0].kind"));
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"ok\",\"facts\":[{\"kind\":\"fact\",\"n\":1.5}]}",
                         &err),
              MN_EPARSE);
    ASSERT(strstr(err.msg, "expected integer"));
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"\",\"facts\":[]}", &err), MN_EPARSE);
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                                 "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\","
                                 "\"facts\":[]}",
                         &err),
              MN_OK); /* 20 characters, 40 bytes: lengths count characters */
    ASSERT_EQ(check_json(SCHEMA, "{\"summary\":\"a\",\"facts\":[{\"kind\":\"fact\"},{\"kind\":"
                                 "\"fact\"},{\"kind\":\"fact\"}]}",
                         &err),
              MN_EPARSE);
    /* a keyword the validator does not know is refused, never ignored */
    ASSERT_EQ(check_json("{\"type\":\"string\",\"pattern\":\"^a\"}", "\"abc\"", &err), MN_EINVAL);
}

static int chat_reply(const char *content_json_escaped, const char *finish, cJSON **out,
                      mn_err *err)
{
    char body[1024];
    cJSON *s = cJSON_Parse(SCHEMA);
    int rc;
    snprintf(body, sizeof body,
             "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":%s},"
             "\"finish_reason\":\"%s\"}]}",
             content_json_escaped, finish);
    rc = mn__llm_parse_reply(body, strlen(body), s, out, err);
    cJSON_Delete(s);
    return rc;
}

TEST(llm_reply_must_be_json_matching_the_schema)
{
    cJSON *out = NULL;
    mn_err err;
    ASSERT_OK(chat_reply("\"{\\\"summary\\\":\\\"Likes tea\\\",\\\"facts\\\":[]}\"", "stop", &out,
                         &err),
              &err);
    ASSERT_STR(cJSON_GetObjectItem(out, "summary")->valuestring, "Likes tea");
    cJSON_Delete(out);
    out = NULL;
    ASSERT_EQ(chat_reply("\"Sure! Likes tea.\"", "stop", &out, &err), MN_EPROVIDER);
    ASSERT(strstr(err.msg, "not a JSON object") && !out);
    ASSERT_EQ(chat_reply("\"{\\\"summary\\\":\\\"x\\\"}\"", "stop", &out, &err), MN_EPROVIDER);
    ASSERT(strstr(err.msg, "does not match the schema") && strstr(err.msg, "facts") && !out);
    ASSERT_EQ(chat_reply("\"{\\\"summary\\\":\\\"x\\\",\\\"facts\\\":[]}\"", "length", &out, &err),
              MN_EPROVIDER);
    ASSERT(strstr(err.msg, "token limit"));
    ASSERT_EQ(chat_reply("null", "stop", &out, &err), MN_EPROVIDER);
    ASSERT_EQ(mn__llm_parse_reply("{oops", 5, NULL, &out, &err), MN_EPROVIDER);
}

/* ---- the engine with a provider that is not there ------------------------------------------*/

static mn_db *open_remote(const char *dir)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/r.db", dir);
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "openai";
    o.embed_url = "http://127.0.0.1:1/v1"; /* refused at once on loopback */
    o.embed_model = "m";
    o.embed_dim = 16;
    o.embed_max_attempts = 1;
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

TEST(remote_down_adds_are_stored_pending_and_keyword_searchable)
{
    mn_db *db = open_remote(t_tmpdir());
    mn_memory_in m;
    mn_search_opts so;
    mn_results *r = NULL;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.user_id = "u1";
    m.text = "the spare key is under the blue flower pot";
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    ASSERT_OK(mn_memory_get(db, NULL, "u1", id, &r, &err), &err);
    ASSERT(r->hits[0].mem.embedding_pending);
    mn_results_free(r);
    mn_search_opts_init(&so);
    so.filter.user_id = "u1";
    so.query = "where is the spare key";
    ASSERT_OK(mn_search(db, &so, &r, &err), &err);
    ASSERT_EQ(r->n, 1);
    ASSERT_EQ(r->mode, MN_MODE_KEYWORD); /* the query could not be embedded either */
    ASSERT(strstr(r->note, "provider"));
    mn_results_free(r);
    mn_db_close(db);
    /* reopened: still there, still pending */
    db = open_remote(t_tmpdir());
    ASSERT_OK(mn_memory_get(db, NULL, "u1", id, &r, &err), &err);
    ASSERT(r->hits[0].mem.embedding_pending);
    mn_results_free(r);
    mn_db_close(db);
}

/* ---- store: pending scan and guarded writes ------------------------------------------------*/

TEST(store_scan_pending_and_guarded_set_embeddings)
{
    const struct mn__store_ops *ops = &mn__store_sqlite;
    mn__store *s = NULL;
    mn__store_cfg cfg;
    mn__row rows[3];
    mn__pkey k = {"t", MN_SCOPE_USER, "u"};
    mn__arena a;
    mn__row *got = NULL;
    size_t n = 0, written = 9;
    float v[2] = {1, 0};
    mn__embed_update u[2];
    mn_err err;
    char path[512];
    int i;
    snprintf(path, sizeof path, "%s/s.db", t_tmpdir());
    memset(&cfg, 0, sizeof cfg);
    ASSERT_OK(ops->open(path, &cfg, &s, &err), &err);
    memset(rows, 0, sizeof rows);
    for (i = 0; i < 3; i++) {
        rows[i].tenant = "t";
        rows[i].user_id = "u";
        rows[i].scope = MN_SCOPE_USER;
        rows[i].kind = MN_KIND_MESSAGE;
        rows[i].status = MN_STATUS_ACTIVE;
        rows[i].text = i == 1 ? "embedded" : "pending";
        rows[i].created_at_ms = 1000 + i;
        rows[i].updated_at_ms = 5000;
    }
    rows[1].embed_model = "old/t1";
    rows[1].embedding = v;
    rows[1].dim = 2;
    ASSERT_OK(ops->put_batch(s, rows, 3, &err), &err);
    mn__arena_init(&a, 4096);
    ASSERT_OK(ops->scan_pending(s, NULL, 0, 10, &a, &got, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(got[0].id, rows[0].id);
    ASSERT_EQ(got[1].id, rows[2].id);
    ASSERT(!got[0].embed_model);
    /* after the first: only the third */
    ASSERT_OK(ops->scan_pending(s, NULL, rows[0].id, 10, &a, &got, &n, &err), &err);
    ASSERT_EQ(n, 1);
    /* another model counts as pending when a model is given */
    ASSERT_OK(ops->scan_pending(s, "new/t1", 0, 10, &a, &got, &n, &err), &err);
    ASSERT_EQ(n, 3);
    ASSERT_OK(ops->scan_pending(s, "old/t1", 0, 10, &a, &got, &n, &err), &err);
    ASSERT_EQ(n, 2);
    /* a write whose updated_at no longer matches (the text was edited) is skipped */
    memset(u, 0, sizeof u);
    u[0].k = k;
    u[0].id = rows[0].id;
    u[0].updated_at_ms = 5000;
    u[0].embed_model = "new/t1";
    u[0].vec = v;
    u[0].dim = 2;
    u[1] = u[0];
    u[1].id = rows[2].id;
    u[1].updated_at_ms = 4999;
    ASSERT_OK(ops->set_embeddings(s, u, 2, &written, &err), &err);
    ASSERT_EQ(written, 1);
    ASSERT_OK(ops->scan_pending(s, NULL, 0, 10, &a, &got, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(got[0].id, rows[2].id);
    ASSERT_OK(ops->get(s, &k, rows[0].id, &a, &got[0], &err), &err);
    ASSERT_STR(got[0].embed_model, "new/t1");
    ASSERT_EQ(got[0].dim, 2);
    ASSERT_EQ(got[0].updated_at_ms, 5000); /* not a user's write */
    mn__arena_release(&a);
    ops->close(s);
}

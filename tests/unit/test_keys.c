/* test_keys.c - the public calls the server needs beyond memories: API keys (create, verify,
 * revoke, list, count), users of a tenant, memory history, mn_embed and the stats. Runs on a
 * real SQLite file. */
#include "../../src/core/core.h"
#include "t.h"

static mn_db *open_db(const char *embedder)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/k.db", t_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = embedder;
    ASSERT_OK(mn_db_open(&o, &db, &err), &err);
    return db;
}

static mn_id add(mn_db *db, const char *tenant, const char *user, const char *text)
{
    mn_memory_in m;
    mn_err err;
    mn_id id = 0;
    mn_memory_in_init(&m);
    m.tenant = tenant;
    m.user_id = user;
    m.text = text;
    ASSERT_OK(mn_memory_add(db, &m, &id, &err), &err);
    return id;
}

TEST(keys_create_verify_revoke)
{
    mn_db *db = open_db("none");
    char key[MN_KEY_LEN + 1], key2[MN_KEY_LEN + 1], tenant[MN_MAX_ID_BYTES + 1];
    mn_id id = 0, id2 = 0, got = 0;
    int64_t n = -1;
    mn_err err;
    mn_keys *ks = NULL;

    ASSERT_OK(mn_key_count_active(db, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_OK(mn_key_create(db, "acme", "ci", key, &id, &err), &err);
    ASSERT_OK(mn_key_create(db, "globex", NULL, key2, &id2, &err), &err);
    ASSERT_EQ(strlen(key), MN_KEY_LEN);
    ASSERT(!strncmp(key, "mn_", 3));
    ASSERT(strcmp(key, key2) != 0);
    ASSERT(id > 0 && id2 > id);

    ASSERT_OK(mn_key_verify(db, key, tenant, &got, &err), &err);
    ASSERT_STR(tenant, "acme");
    ASSERT_EQ(got, id);
    ASSERT_OK(mn_key_verify(db, key2, tenant, NULL, &err), &err);
    ASSERT_STR(tenant, "globex");

    /* One changed character, a truncated key, garbage: all refused, the key never echoed. */
    key[20] = key[20] == 'A' ? 'B' : 'A';
    ASSERT_EQ(mn_key_verify(db, key, tenant, NULL, &err), MN_EAUTH);
    ASSERT(strstr(err.msg, "unknown"));
    ASSERT(!strstr(err.msg, key + 12));
    ASSERT_EQ(tenant[0], '\0');
    ASSERT_EQ(mn_key_verify(db, "mn_short", tenant, NULL, &err), MN_EAUTH);
    ASSERT(strstr(err.msg, "malformed"));
    ASSERT_EQ(mn_key_verify(db, "", tenant, NULL, &err), MN_EAUTH);

    ASSERT_OK(mn_key_count_active(db, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_OK(mn_key_revoke(db, id2, &err), &err);
    ASSERT_OK(mn_key_revoke(db, id2, &err), &err); /* twice is fine */
    ASSERT_EQ(mn_key_verify(db, key2, tenant, NULL, &err), MN_EAUTH);
    ASSERT(strstr(err.msg, "revoked"));
    ASSERT_EQ(mn_key_revoke(db, 999, &err), MN_ENOTFOUND);
    ASSERT_OK(mn_key_count_active(db, &n, &err), &err);
    ASSERT_EQ(n, 1);

    ASSERT_OK(mn_key_list(db, &ks, &err), &err);
    ASSERT_EQ(ks->n, 2);
    ASSERT_STR(ks->keys[0].tenant, "acme");
    ASSERT_STR(ks->keys[0].name, "ci");
    ASSERT_EQ(ks->keys[0].revoked_at_ms, 0);
    ASSERT_EQ(strlen(ks->keys[0].prefix), MN_KEY_PREFIX_LEN);
    ASSERT_STR(ks->keys[1].name, "");
    ASSERT(ks->keys[1].revoked_at_ms > 0);
    mn_keys_free(ks);
    mn_db_close(db);
}

TEST(keys_store_no_clear_key)
{
    /* Only the digest is stored: the key's secret part appears nowhere in the file. */
    mn_db *db = open_db("none");
    char key[MN_KEY_LEN + 1], path[512], buf[1 << 16];
    mn_err err;
    FILE *f;
    size_t n;
    ASSERT_OK(mn_key_create(db, "acme", NULL, key, NULL, &err), &err);
    mn_db_close(db);
    snprintf(path, sizeof path, "%s/k.db", t_tmpdir());
    f = fopen(path, "rb");
    ASSERT(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT(n > 0);
    ASSERT(!memmem(buf, n, key + MN_KEY_PREFIX_LEN, MN_KEY_LEN - MN_KEY_PREFIX_LEN));
}

TEST(keys_bad_input)
{
    mn_db *db = open_db("none");
    char key[MN_KEY_LEN + 1];
    mn_err err;
    ASSERT_EQ(mn_key_create(db, NULL, NULL, key, NULL, &err), MN_EINVAL);
    ASSERT_EQ(mn_key_create(db, "", NULL, key, NULL, &err), MN_EINVAL);
    ASSERT_EQ(mn_key_create(db, "a\tb", NULL, key, NULL, &err), MN_EINVAL);
    ASSERT_EQ(key[0], '\0');
    mn_db_close(db);
}

TEST(users_list_pages_and_counts)
{
    mn_db *db = open_db("none");
    mn_users *u = NULL;
    mn_user_info info;
    mn_err err;
    char next[64];
    int64_t n = 0;
    add(db, "t1", "carol", "one");
    add(db, "t1", "alice", "two");
    add(db, "t1", "alice", "three");
    add(db, "t1", "bob", "four");
    add(db, "t2", "alice", "other tenant");

    ASSERT_OK(mn_user_list(db, "t1", NULL, 2, &u, &err), &err);
    ASSERT_EQ(u->n, 2);
    ASSERT_EQ(u->total, 3);
    ASSERT_STR(u->users[0].user_id, "alice");
    ASSERT_EQ(u->users[0].n_memories, 2);
    ASSERT_STR(u->users[1].user_id, "bob");
    ASSERT(u->next_after);
    snprintf(next, sizeof next, "%s", u->next_after);
    mn_users_free(u);
    ASSERT_OK(mn_user_list(db, "t1", next, 2, &u, &err), &err);
    ASSERT_EQ(u->n, 1);
    ASSERT_STR(u->users[0].user_id, "carol");
    ASSERT(!u->next_after);
    mn_users_free(u);

    ASSERT_OK(mn_user_get(db, "t1", "alice", &info, &err), &err);
    ASSERT_EQ(info.n_memories, 2);
    ASSERT_EQ(mn_user_get(db, "t1", "nobody", &info, &err), MN_ENOTFOUND);
    ASSERT_OK(mn_user_forget(db, "t1", "alice", &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(mn_user_get(db, "t1", "alice", &info, &err), MN_ENOTFOUND);
    ASSERT_OK(mn_user_get(db, "t2", "alice", &info, &err), &err);
    ASSERT_OK(mn_user_list(db, "t1", NULL, 10, &u, &err), &err);
    ASSERT_EQ(u->n, 2);
    ASSERT_EQ(u->total, 2);
    mn_users_free(u);
    ASSERT_EQ(mn_user_list(db, "t1", NULL, 0, &u, &err), MN_ERANGE);
    ASSERT(!u);
    mn_db_close(db);
}

TEST(memory_history_versions)
{
    mn_db *db = open_db("none");
    mn_results *h = NULL;
    mn_memory_patch p = {0};
    mn_err err;
    mn_id id = add(db, "t1", "alice", "I live in Lisbon");
    ASSERT_OK(mn_memory_history(db, "t1", "alice", id, &h, &err), &err);
    ASSERT_EQ(h->n, 0);
    mn_results_free(h);
    p.text = "I live in Porto";
    ASSERT_OK(mn_memory_update(db, "t1", "alice", id, &p, &err), &err);
    p.text = "I live in Faro";
    ASSERT_OK(mn_memory_update(db, "t1", "alice", id, &p, &err), &err);
    ASSERT_OK(mn_memory_history(db, "t1", "alice", id, &h, &err), &err);
    ASSERT_EQ(h->n, 2);
    ASSERT_STR(h->hits[0].mem.text, "I live in Lisbon");
    ASSERT_STR(h->hits[1].mem.text, "I live in Porto");
    ASSERT_EQ(h->hits[0].mem.id, id);
    mn_results_free(h);
    h = NULL;
    /* Another user or tenant sees no such memory. */
    ASSERT_EQ(mn_memory_history(db, "t1", "bob", id, &h, &err), MN_ENOTFOUND);
    ASSERT_EQ(mn_memory_history(db, "t2", "alice", id, &h, &err), MN_ENOTFOUND);
    ASSERT(!h);
    mn_db_close(db);
}

TEST(embed_and_stats)
{
    mn_db *db = open_db("mock");
    mn_db_info info;
    mn_db_stats st;
    mn_err err;
    float v[256];
    double norm = 0;
    int i;
    ASSERT_OK(mn_db_info_get(db, &info, &err), &err);
    ASSERT(info.dim > 0 && info.dim <= 256);
    ASSERT_OK(mn_embed(db, "hello world", 11, v, info.dim, &err), &err);
    for (i = 0; i < info.dim; i++)
        norm += (double)v[i] * v[i];
    ASSERT_NEAR(norm, 1.0, 1e-3);
    ASSERT_EQ(mn_embed(db, "hello", 5, v, info.dim + 1, &err), MN_EDIM);
    ASSERT_EQ(mn_embed(db, "", 0, v, info.dim, &err), MN_EINVAL);
    ASSERT_EQ(mn_embed(db, "bad \xc3\x28", 6, v, info.dim, &err), MN_EUTF8);
    add(db, "t1", "alice", "one");
    add(db, "t1", "alice", "two");
    ASSERT_OK(mn_db_stats_get(db, &st, &err), &err);
    ASSERT_EQ(st.n_memories, 2);
    ASSERT(st.n_commits >= 1);
    ASSERT(st.n_committed_ops >= 2);
    ASSERT(st.memory_bytes > 0);
    ASSERT(st.n_embeds >= 1);
    mn_db_close(db);

    db = open_db("none");
    ASSERT_EQ(mn_embed(db, "hello", 5, v, 64, &err), MN_ENOMODEL);
    mn_db_close(db);
}

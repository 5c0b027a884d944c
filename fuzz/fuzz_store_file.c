/* fuzz_store_file.c - target store_file: a damaged database file. A template store (user
 * memories with metadata, sessions, sources, history, embeddings; system memories; an API
 * key) is written once; each input damages a copy of it and the library must open it and
 * read, search, export, write and close it with an error code at worst, never a crash.
 * Byte 0 picks the damage:
 *   even  flip bytes: 4-byte groups (3 bytes of offset, 1 byte XOR'd there),
 *   odd   wrong values in cells, as a buggy or hostile writer would leave them (CHECK
 *         constraints off): groups of (table/column, row, type, length, bytes); vector
 *         blobs of any length and content, texts that are not UTF-8, bad JSON, wrong
 *         types, foreign enum names, schema versions from the future. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/core.h"
#include "fuzz.h"

static uint8_t *tmpl;
static size_t tmpl_len;
static char key[MN_KEY_LEN + 1];
static char case_path[600];

static void seed_template(void)
{
    char path[600];
    mn_db_opts o;
    mn_db *db = NULL;
    mn_memory_in in;
    mn_memory_patch p;
    mn_id ids[8], src[2];
    mn_err err;
    FILE *f;
    long n;
    size_t i;
    static const char *const texts[] = {
        "I am allergic to peanuts", "My sister lives in Oslo", "We adopted a puppy named Max",
        "The meeting moved to Thursday", "Café crème, naïve résumé", "東京で寿司を食べました"};
    snprintf(path, sizeof path, "%s/template.db", fz_tmpdir());
    snprintf(case_path, sizeof case_path, "%s/case.db", fz_tmpdir());
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = "mock";
    o.sync_normal = true;
    if (mn_db_open(&o, &db, &err))
        fz_fail("template: %s", err.msg);
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        mn_memory_in_init(&in);
        in.user_id = "u";
        in.text = texts[i];
        in.session_id = i % 2 ? "s1" : NULL;
        in.role = i % 2 ? MN_ROLE_ASSISTANT : MN_ROLE_USER;
        in.metadata_json = i % 3 ? "{\"speaker\":\"Ann\",\"n\":[1,2]}" : NULL;
        if (mn_memory_add(db, &in, &ids[i], &err))
            fz_fail("template: %s", err.msg);
    }
    src[0] = ids[0];
    src[1] = ids[1];
    mn_memory_in_init(&in);
    in.user_id = "u";
    in.kind = MN_KIND_SUMMARY;
    in.text = "Allergic to peanuts; sister in Oslo";
    in.sources = src;
    in.n_sources = 2;
    if (mn_memory_add(db, &in, &ids[6], &err))
        fz_fail("template: %s", err.msg);
    mn_memory_in_init(&in);
    in.scope = MN_SCOPE_SYSTEM;
    in.text = "Shipping is free over 50 EUR";
    if (mn_memory_add(db, &in, &ids[7], &err))
        fz_fail("template: %s", err.msg);
    memset(&p, 0, sizeof p);
    p.text = "The meeting moved to Friday";
    p.status = MN_STATUS_ARCHIVED;
    if (mn_memory_update(db, NULL, "u", ids[3], &p, &err) ||
        mn_key_create(db, "acme", "fuzz", key, NULL, &err))
        fz_fail("template: %s", err.msg);
    mn_db_close(db);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
        fz_fail("template: cannot read %s", path);
    tmpl_len = (size_t)n;
    tmpl = mn__malloc(tmpl_len);
    if (!tmpl || fread(tmpl, 1, tmpl_len, f) != tmpl_len)
        fz_fail("template: cannot read %s", path);
    fclose(f);
}

static void write_case(const uint8_t *bytes, size_t n)
{
    char side[640];
    FILE *f = fopen(case_path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f))
        fz_fail("cannot write %s", case_path);
    snprintf(side, sizeof side, "%s-wal", case_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", case_path);
    unlink(side);
}

static void flip(const uint8_t *data, size_t size)
{
    uint8_t *copy = mn__malloc(tmpl_len);
    size_t i;
    if (!copy)
        fz_fail("out of memory");
    memcpy(copy, tmpl, tmpl_len);
    for (i = 0; i + 4 <= size; i += 4) {
        size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8 | (size_t)data[i + 2] << 16) %
                     tmpl_len;
        copy[off] ^= data[i + 3] ? data[i + 3] : 0xff;
    }
    write_case(copy, tmpl_len);
    mn__free(copy);
}

/* The cells a broken writer could leave wrong: every column the library reads back. */
static const struct {
    const char *table, *column;
} cells[] = {
    {"memories", "tenant"},      {"memories", "scope"},         {"memories", "user_id"},
    {"memories", "kind"},        {"memories", "role"},          {"memories", "status"},
    {"memories", "session_id"},  {"memories", "text"},          {"memories", "created_at"},
    {"memories", "updated_at"},  {"memories", "metadata"},      {"memories", "sources"},
    {"memories", "superseded_by"}, {"memories", "embed_model"}, {"memories", "embedding"},
    {"memories", "id"},          {"partitions", "version"},     {"partitions", "n_memories"},
    {"partitions", "user_id"},   {"memory_history", "text"},    {"memory_history", "metadata"},
    {"memory_history", "status"}, {"memory_history", "memory_id"}, {"api_keys", "hash"},
    {"api_keys", "prefix"},      {"api_keys", "tenant"},        {"api_keys", "revoked_at"},
    {"meta", "value"},
};

static void cells_damage(const uint8_t *data, size_t size)
{
    sqlite3 *s = NULL;
    size_t off = 0;
    write_case(tmpl, tmpl_len);
    if (sqlite3_open_v2(case_path, &s, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fz_fail("cannot open %s: %s", case_path, sqlite3_errmsg(s));
    sqlite3_exec(s, "PRAGMA ignore_check_constraints=ON", NULL, NULL, NULL);
    while (off + 4 <= size) {
        size_t c = data[off] % MN_ARRAY_LEN(cells), len = data[off + 3] % 48;
        int row = data[off + 1] % 10, type = data[off + 2] % 5;
        const char *rowid = strcmp(cells[c].table, "partitions") ? "rowid" : "version";
        char sql[256];
        sqlite3_stmt *st = NULL;
        off += 4;
        if (len > size - off)
            len = size - off;
        /* partitions is WITHOUT ROWID: its rows are picked by version instead. */
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE %s = ?2 OR ?2 = 0",
                 cells[c].table, cells[c].column, rowid);
        if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
            int64_t v = 0;
            memcpy(&v, data + off, len < 8 ? len : 8);
            switch (type) {
            case 0:
                sqlite3_bind_null(st, 1);
                break;
            case 1:
                sqlite3_bind_int64(st, 1, v);
                break;
            case 2:
                sqlite3_bind_text(st, 1, (const char *)data + off, (int)len, SQLITE_TRANSIENT);
                break;
            case 3:
                sqlite3_bind_blob(st, 1, data + off, (int)len, SQLITE_TRANSIENT);
                break;
            default: {
                double d;
                memcpy(&d, &v, sizeof d);
                sqlite3_bind_double(st, 1, d);
            }
            }
            sqlite3_bind_int(st, 2, row);
            sqlite3_step(st); /* a UNIQUE or NOT NULL refusal is fine: the next group goes on */
        }
        sqlite3_finalize(st);
        off += len;
    }
    sqlite3_close(s);
}

static int drop(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

static void use_store(void)
{
    mn_db_opts o;
    mn_db *db = NULL;
    mn_db_info info;
    mn_results *r = NULL;
    mn_users *us = NULL;
    mn_keys *ks = NULL;
    mn_filter f;
    mn_search_opts so;
    mn_memory_in in;
    mn_memory_patch p;
    mn_err err;
    char tenant[MN_MAX_ID_BYTES + 1];
    mn_id id;
    int64_t n;
    int mode;
    mn_db_opts_init(&o);
    o.path = case_path;
    o.embedder = "mock";
    o.sync_normal = true;
    if (mn_db_open(&o, &db, &err) != MN_OK)
        return; /* refusing a damaged file is the right answer */
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "opened the damaged store\n");
    mn_db_info_get(db, &info, &err);
    mn_filter_init(&f);
    f.user_id = "u";
    f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |
                 MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
    if (mn_memory_list(db, &f, 0, 50, &r, &err) == MN_OK)
        mn_results_free(r);
    for (mode = MN_MODE_HYBRID; mode <= MN_MODE_KEYWORD; mode++) {
        mn_search_opts_init(&so);
        so.filter.user_id = "u";
        so.query = "peanuts sister Oslo meeting";
        so.mode = (mn_search_mode)mode;
        if (mn_search(db, &so, &r, &err) == MN_OK)
            mn_results_free(r);
    }
    mn_search_opts_init(&so);
    so.filter.scope = MN_SCOPE_SYSTEM;
    so.query = "shipping";
    if (mn_search(db, &so, &r, &err) == MN_OK)
        mn_results_free(r);
    for (id = 1; id <= 9; id++) {
        if (mn_memory_get(db, NULL, "u", id, &r, &err) == MN_OK)
            mn_results_free(r);
        if (mn_memory_history(db, NULL, "u", id, &r, &err) == MN_OK)
            mn_results_free(r);
    }
    mn_export(db, NULL, NULL, drop, NULL, &err);
    if (mn_user_list(db, NULL, NULL, 10, &us, &err) == MN_OK)
        mn_users_free(us);
    mn_key_verify(db, key, tenant, NULL, &err);
    if (mn_key_list(db, &ks, &err) == MN_OK)
        mn_keys_free(ks);
    mn_key_count_active(db, &n, &err);
    mn_memory_in_init(&in);
    in.user_id = "u";
    in.text = "written to a damaged store";
    mn_memory_add(db, &in, NULL, &err);
    memset(&p, 0, sizeof p);
    p.text = "edited on a damaged store";
    mn_memory_update(db, NULL, "u", 2, &p, &err);
    mn_memory_delete(db, NULL, "u", 3, &err);
    mn_user_forget(db, NULL, "u", &n, &err);
    mn_db_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t before;
    if (size < 1)
        return 0;
    if (!tmpl)
        seed_template();
    before = fz_live_bytes();
    if (data[0] % 2 == 0)
        flip(data + 1, size - 1);
    else
        cells_damage(data + 1, size - 1);
    use_store();
    FZ_NO_LEAK(before);
    return 0;
}

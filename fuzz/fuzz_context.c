/* fuzz_context.c - target context: prompt assembly under a token budget. The input is
 *   byte 0   budget: the value itself below 128, else (value - 127) * 64 tokens
 *   byte 1   low two bits: encoding (cl100k_base, o200k_base, the estimate, the estimate);
 *            the rest seeds the items' scores
 *   byte 2   include mask (MN_CONTEXT_*; 0: all)
 *   byte 3   min_score in 1/255
 * then lines: the question, then one item per line whose first byte names its kind
 * (p preference, f fact, s summary of the items before it, S system fact, P system
 * preference; any other byte: a message, the whole line its text).
 * Checked: the prompt's exact count is the reported one and within the budget; it ends with
 * the question; sections are in order and system notes only in their own; items below the
 * threshold are left out; both JSON forms parse; no leak. The same question and budget go
 * through the engine's mn_context_build on a small user as well. */
#include <cjson/cJSON.h>
#include <string.h>

#include "../src/context/context.h"
#include "fuzz.h"

#define MAX_ITEMS 64
#define MAX_SOURCES 3

typedef struct input {
    size_t budget;
    unsigned enc, include;
    double min_score;
    uint64_t seed;
    char *query;
    char *lines[MAX_ITEMS];
    mn__ctx_item items[MAX_ITEMS];
    mn_id sources[MAX_ITEMS][MAX_SOURCES];
    size_t n;
} input;

static uint64_t next(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static char *dup_field(const uint8_t *p, size_t len)
{
    char *s = mn__malloc(len + 1);
    if (!s)
        fz_fail("out of memory");
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void set_kind(mn__ctx_item *it, uint8_t code)
{
    it->scope = MN_SCOPE_USER;
    switch (code) {
    case 'p': it->kind = MN_KIND_PREFERENCE; break;
    case 'f': it->kind = MN_KIND_FACT; break;
    case 's': it->kind = MN_KIND_SUMMARY; break;
    case 'S': it->kind = MN_KIND_FACT; it->scope = MN_SCOPE_SYSTEM; break;
    case 'P': it->kind = MN_KIND_PREFERENCE; it->scope = MN_SCOPE_SYSTEM; break;
    default: it->kind = MN_KIND_MESSAGE; break;
    }
}

static void parse(input *in, const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t len = nl ? (size_t)(nl - data) : size;
    in->budget = data[0] < 128 ? data[0] : (size_t)(data[0] - 127) * 64;
    in->enc = data[1] & 3u;
    in->seed = data[1] >> 2;
    in->include = data[2] & MN_CONTEXT_ALL;
    in->min_score = data[3] / 255.0;
    data += 4, size -= 4;
    nl = memchr(data, '\n', size);
    len = nl ? (size_t)(nl - data) : size;
    in->query = dup_field(data, len);
    while (nl && in->n < MAX_ITEMS) {
        mn__ctx_item *it = &in->items[in->n];
        size_t k;
        size -= len + 1;
        data += len + 1;
        nl = memchr(data, '\n', size);
        len = nl ? (size_t)(nl - data) : size;
        memset(it, 0, sizeof *it);
        set_kind(it, len ? data[0] : 0);
        in->lines[in->n] = it->kind == MN_KIND_MESSAGE || !len ? dup_field(data, len)
                                                               : dup_field(data + 1, len - 1);
        it->id = (mn_id)(in->n + 1);
        it->text = in->lines[in->n];
        it->score = (double)(next(&in->seed) % 1001) / 1000.0;
        it->relevance = (double)(next(&in->seed) % 1001) / 1000.0;
        it->ranked = next(&in->seed) % 5 != 0;
        it->created_at_ms = 1683504000000LL + (int64_t)(next(&in->seed) % 1000) * 86400000LL;
        it->speaker = next(&in->seed) % 4 == 0 ? "Ana María" : NULL;
        if (it->kind == MN_KIND_SUMMARY) {
            for (k = 0; k < MAX_SOURCES && k < in->n; k++)
                in->sources[in->n][k] = (mn_id)(in->n - k);
            it->sources = in->sources[in->n];
            it->n_sources = k;
        }
        in->n++;
    }
}

static void release(input *in)
{
    size_t i;
    mn__free(in->query);
    for (i = 0; i < in->n; i++)
        mn__free(in->lines[i]);
}

static void check_json(const mn_context *c)
{
    char *js = NULL;
    size_t len = 0;
    cJSON *doc;
    int round;
    for (round = 0; round < 2; round++) {
        int rc = round ? mn_context_messages_json(c, &js, &len, NULL)
                       : mn_context_json(c, &js, &len, NULL);
        if (rc != MN_OK)
            fz_fail("context JSON (form %d): %s", round, mn_err_name(rc));
        doc = cJSON_ParseWithLength(js, len);
        if (!doc || (round && !cJSON_IsArray(doc)) || (!round && !cJSON_IsObject(doc)))
            fz_fail("context JSON (form %d) does not parse: %.200s", round, js);
        cJSON_Delete(doc);
        mn_free(js);
        js = NULL;
    }
}

static void check(const input *in, const mn__bpe *bpe, const mn_context *c)
{
    const char *q;
    size_t i, j, n = 0;
    if (bpe ? mn__bpe_count(bpe, c->prompt, c->prompt_len, &n) != MN_OK
            : (n = mn__bpe_estimate(c->prompt, c->prompt_len), 0))
        fz_fail("cannot count the prompt");
    if (n != c->n_tokens || n > in->budget)
        fz_fail("prompt of %zu tokens (reported %zu) for a budget of %zu", n, c->n_tokens,
                in->budget);
    if (strlen(c->prompt) != c->prompt_len)
        fz_fail("prompt length %zu, reported %zu", strlen(c->prompt), c->prompt_len);
    q = strstr(c->prompt, "Current question:\n");
    if (!q)
        fz_fail("no question section in the prompt");
    for (i = 0; i < c->n_items; i++) {
        const mn_context_item *it = &c->items[i];
        const mn__ctx_item *src = NULL;
        for (j = 0; j < in->n; j++)
            if (in->items[j].id == it->id)
                src = &in->items[j];
        if (!src)
            fz_fail("item %zu has id %lld, not one of the input", i, (long long)it->id);
        if (i && it->section < c->items[i - 1].section)
            fz_fail("item %zu in section %d after section %d", i, (int)it->section,
                    (int)c->items[i - 1].section);
        if ((it->scope == MN_SCOPE_SYSTEM) != (it->section == MN_SECTION_SYSTEM))
            fz_fail("item %zu of scope %d in section %d", i, (int)it->scope, (int)it->section);
        if (src->kind != MN_KIND_PREFERENCE &&
            src->relevance < in->min_score * MN__CTX_FLOOR_SHARE)
            fz_fail("item %zu of relevance %g kept under min_score %g", i, src->relevance,
                    in->min_score);
    }
    check_json(c);
}

static void assemble(const input *in, const mn__bpe *bpe, const char *encoding)
{
    mn__ctx_req req;
    mn_context *c = NULL;
    mn_err err;
    int rc;
    memset(&req, 0, sizeof req);
    req.query = in->query;
    req.max_tokens = in->budget;
    req.bpe = bpe;
    req.encoding = encoding;
    req.include = in->include;
    req.min_score = in->min_score;
    req.items = in->items;
    req.n_items = in->n;
    rc = mn__ctx_assemble(&req, &c, &err);
    if (rc == MN_OK)
        check(in, bpe, c);
    else if (rc != MN_EINVAL && rc != MN_ETOOBIG)
        fz_fail("assemble: unexpected %s: %s", mn_err_name(rc), err.msg);
    else if (c)
        fz_fail("assemble failed with %s but gave a context", mn_err_name(rc));
    mn_context_free(c);
}

static void seed_db(mn_db *db)
{
    static int done;
    static const char *const texts[] = {
        "I am allergic to peanuts and shellfish", "I prefer tea over coffee in the morning",
        "My sister Caroline lives in Oslo", "We adopted a puppy named Max last spring",
        "The meeting moved to Thursday at 10", "東京で寿司を食べました 🍣"};
    static const mn_kind kinds[] = {MN_KIND_FACT, MN_KIND_PREFERENCE, MN_KIND_MESSAGE,
                                    MN_KIND_MESSAGE, MN_KIND_MESSAGE, MN_KIND_MESSAGE};
    mn_memory_in m;
    size_t i;
    if (done)
        return;
    done = 1;
    for (i = 0; i < MN_ARRAY_LEN(texts); i++) {
        mn_memory_in_init(&m);
        m.user_id = "u";
        m.text = texts[i];
        m.kind = kinds[i];
        if (mn_memory_add(db, &m, NULL, NULL))
            fz_fail("cannot seed the database");
    }
    mn_memory_in_init(&m);
    m.scope = MN_SCOPE_SYSTEM;
    m.text = "Shipping is free over 50 EUR";
    m.kind = MN_KIND_FACT;
    if (mn_memory_add(db, &m, NULL, NULL))
        fz_fail("cannot seed the system memory");
}

static void build(const input *in)
{
    static const char *const models[] = {"gpt-4", "gpt-4o", "no-such-model", NULL};
    mn_db *db = fz_db("context", "mock");
    mn_context_opts o;
    mn_context *c = NULL;
    mn_err err;
    int rc;
    seed_db(db);
    mn_context_opts_init(&o);
    o.user_id = "u";
    o.query = in->query;
    o.max_tokens = (int)in->budget;
    o.min_score = in->min_score;
    o.include = in->include;
    o.model = models[in->enc];
    rc = mn_context_build(db, &o, &c, &err);
    if (rc == MN_OK) {
        if (c->n_tokens > in->budget)
            fz_fail("engine context of %zu tokens for a budget of %zu", c->n_tokens,
                    in->budget);
        check_json(c);
    } else if (rc != MN_EINVAL && rc != MN_ERANGE && rc != MN_ETOOBIG && rc != MN_EUTF8) {
        fz_fail("mn_context_build: unexpected %s: %s", mn_err_name(rc), err.msg);
    }
    mn_context_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mn__bpe *enc[2];
    static const char *const names[] = {"cl100k_base", "o200k_base"};
    input in;
    int64_t before;
    mn_err err;
    if (size < 4)
        return 0;
    if (!enc[0]) {
        int i;
        for (i = 0; i < 2; i++)
            if (mn__bpe_open(names[i], NULL, &enc[i], &err))
                fz_fail("no %s rank table (run scripts/setup-bpe): %s", names[i], err.msg);
    }
    memset(&in, 0, sizeof in);
    parse(&in, data, size);
    before = fz_live_bytes();
    if (in.enc < 2)
        assemble(&in, enc[in.enc], names[in.enc]);
    else
        assemble(&in, NULL, "estimate");
    FZ_NO_LEAK(before); /* the layout keeps nothing between calls */
    build(&in);
    release(&in);
    return 0;
}

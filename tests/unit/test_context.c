/* test_context.c - the prompt layout of src/context on plain items: section order, dates,
 * system notes kept apart, summaries in place of their sources, duplicates, the relevance
 * threshold, the budget (greedy skip, exact recount) and a property test over random
 * memory sets and budgets. The engine side (mn_context_build) is in test_context_build.c. */
#include <stdint.h>

#include "../../src/context/context.h"
#include "t.h"

#define DAY_MS 86400000LL
#define T_2023_05_08 1683504000000LL /* 8 May 2023 00:00 UTC */

static mn__bpe *open_enc(const char *name)
{
    mn__bpe *b = NULL;
    mn_err err;
    int rc = mn__bpe_open(name, NULL, &b, &err);
    if (rc != MN_OK)
        t_fail(__FILE__, __LINE__, "mn__bpe_open(%s): %s (%s) - run scripts/setup-bpe", name,
               err.msg, mn_err_name(rc));
    return b;
}

static mn__ctx_item item(mn_id id, mn_kind kind, double score, int64_t at, const char *text)
{
    mn__ctx_item it;
    memset(&it, 0, sizeof it);
    it.id = id;
    it.kind = kind;
    it.scope = MN_SCOPE_USER;
    it.score = score;
    it.relevance = score;
    it.ranked = true;
    it.created_at_ms = at;
    it.text = text;
    return it;
}

static mn_context *assemble(const mn__bpe *bpe, const mn__ctx_item *items, size_t n,
                            size_t budget, const char *query)
{
    mn__ctx_req req;
    mn_context *c = NULL;
    mn_err err;
    memset(&req, 0, sizeof req);
    req.query = query;
    req.max_tokens = budget;
    req.bpe = bpe;
    req.encoding = bpe ? mn__bpe_name(bpe) : "estimate";
    req.items = items;
    req.n_items = n;
    ASSERT_OK(mn__ctx_assemble(&req, &c, &err), &err);
    return c;
}

static size_t recount(const mn__bpe *bpe, const mn_context *c)
{
    size_t n = 0;
    ASSERT_OK(mn__bpe_count(bpe, c->prompt, c->prompt_len, &n), NULL);
    return n;
}

static const mn_context_item *find(const mn_context *c, mn_id id)
{
    size_t i;
    for (i = 0; i < c->n_items; i++)
        if (c->items[i].id == id)
            return &c->items[i];
    return NULL;
}

TEST(ctx_layout_sections_dates)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_item it[6];
    mn_context *c;
    mn_id summary_src[] = {90};
    it[0] = item(1, MN_KIND_MESSAGE, 0.9, T_2023_05_08 + 10 * DAY_MS, "I am allergic to peanuts");
    it[1] = item(2, MN_KIND_MESSAGE, 0.8, T_2023_05_08, "We adopted a dog\nnamed Rex.");
    it[1].speaker = "Caroline";
    it[2] = item(3, MN_KIND_PREFERENCE, 0.0, T_2023_05_08, "Prefers short answers");
    it[2].ranked = false;
    it[3] = item(4, MN_KIND_FACT, 0.7, T_2023_05_08 + DAY_MS, "Lives in Berlin");
    it[4] = item(5, MN_KIND_SUMMARY, 0.6, T_2023_05_08,
                 "8 May 2023 to 9 May 2023: talked about moving flats");
    it[4].sources = summary_src;
    it[4].n_sources = 1;
    it[5] = item(6, MN_KIND_MESSAGE, 0.75, T_2023_05_08, "Answer in a friendly tone");
    it[5].scope = MN_SCOPE_SYSTEM;
    c = assemble(bpe, it, 6, 1000, "What should I cook tonight?");
    ASSERT_STR(c->prompt, "System notes:\n"
                          "- Answer in a friendly tone\n"
                          "\n"
                          "User preferences:\n"
                          "- Prefers short answers\n"
                          "\n"
                          "Known facts about the user:\n"
                          "- [9 May 2023] Lives in Berlin\n"
                          "\n"
                          "Relevant memories:\n"
                          "- [8 May 2023] Caroline: We adopted a dog named Rex.\n"
                          "- [18 May 2023] I am allergic to peanuts\n"
                          "\n"
                          "Summary of earlier conversations:\n"
                          "- 8 May 2023 to 9 May 2023: talked about moving flats\n"
                          "\n"
                          "Current question:\n"
                          "What should I cook tonight?");
    ASSERT_EQ(c->prompt_len, strlen(c->prompt));
    ASSERT_EQ(c->memories_len, strlen(c->memories));
    ASSERT(!strncmp(c->prompt, c->memories, c->memories_len));
    ASSERT(c->memories[c->memories_len - 1] != '\n');
    ASSERT_EQ(c->n_items, 6);
    ASSERT_EQ(c->items[0].section, MN_SECTION_SYSTEM);
    ASSERT_EQ(c->items[0].scope, MN_SCOPE_SYSTEM);
    ASSERT_EQ(c->items[1].section, MN_SECTION_PREFERENCES);
    ASSERT_EQ(c->items[3].id, 2); /* memories read as a timeline */
    ASSERT_STR(c->items[3].text, "We adopted a dog\nnamed Rex."); /* as stored */
    ASSERT_EQ(c->items[1].score, 0.0); /* listed, not ranked */
    ASSERT_EQ(c->n_tokens, recount(bpe, c));
    ASSERT(!c->estimated);
    ASSERT_STR(c->encoding, "cl100k_base");
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_no_memory_is_just_the_question)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn_context *c = assemble(bpe, NULL, 0, 50, "Hello?");
    char *json = NULL;
    ASSERT_STR(c->prompt, "Current question:\nHello?");
    ASSERT_STR(c->memories, "");
    ASSERT_EQ(c->n_items, 0);
    ASSERT_OK(mn_context_messages_json(c, &json, NULL, NULL), NULL);
    ASSERT_STR(json, "[{\"role\":\"user\",\"content\":\"Hello?\"}]");
    mn_free(json);
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_system_notes_never_mixed)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_item it[3];
    mn__ctx_req req;
    mn_context *c;
    const char *user_sec;
    it[0] = item(1, MN_KIND_FACT, 0.9, T_2023_05_08, "Support hours are 9 to 5 on weekdays");
    it[0].scope = MN_SCOPE_SYSTEM;
    it[1] = item(2, MN_KIND_PREFERENCE, 0.9, T_2023_05_08, "Never promise refunds");
    it[1].scope = MN_SCOPE_SYSTEM;
    it[2] = item(3, MN_KIND_MESSAGE, 0.9, T_2023_05_08, "I called support on Monday");
    c = assemble(bpe, it, 3, 1000, "When can I call support?");
    user_sec = strstr(c->prompt, "Relevant memories:");
    ASSERT(user_sec);
    ASSERT(strstr(c->prompt, "System notes:") == c->prompt);
    ASSERT(!strstr(user_sec, "Support hours")); /* system text only before the user's */
    ASSERT(!strstr(c->prompt, "User preferences:")); /* a system preference is a note */
    ASSERT_EQ(find(c, 1)->section, MN_SECTION_SYSTEM);
    ASSERT_EQ(find(c, 2)->section, MN_SECTION_SYSTEM);
    ASSERT_EQ(find(c, 3)->section, MN_SECTION_MEMORIES);
    mn_context_free(c);

    memset(&req, 0, sizeof req); /* include without system */
    req.query = "When can I call support?";
    req.max_tokens = 1000;
    req.bpe = bpe;
    req.encoding = "cl100k_base";
    req.include = MN_CONTEXT_MEMORIES;
    req.items = it;
    req.n_items = 3;
    ASSERT_OK(mn__ctx_assemble(&req, &c, NULL), NULL);
    ASSERT_EQ(c->n_items, 1);
    ASSERT_EQ(c->items[0].id, 3);
    ASSERT(!strstr(c->prompt, "System notes:"));
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_summary_stands_in_for_sources)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_item it[4];
    mn_id src[] = {1, 2};
    mn_context *c;
    it[0] = item(1, MN_KIND_MESSAGE, 0.95, T_2023_05_08, "We drove to the coast in June");
    it[1] = item(2, MN_KIND_MESSAGE, 0.90, T_2023_05_08, "The beach house had a red door");
    it[2] = item(3, MN_KIND_SUMMARY, 0.85, T_2023_05_08,
                 "Trip to the coast in June, stayed in a beach house");
    it[2].sources = src;
    it[2].n_sources = 2;
    it[3] = item(4, MN_KIND_MESSAGE, 0.50, T_2023_05_08, "My sister visited in July");
    c = assemble(bpe, it, 4, 1000, "Where did we go in June?");
    ASSERT(find(c, 3) != NULL);
    ASSERT(find(c, 1) == NULL); /* chosen first, then replaced by its summary */
    ASSERT(find(c, 2) == NULL);
    ASSERT(find(c, 4) != NULL);
    ASSERT_EQ(c->n_duplicates, 2);
    ASSERT(!strstr(c->prompt, "red door"));
    ASSERT(!strstr(c->prompt, "Relevant memories:\n- [8 May 2023] We drove"));
    ASSERT_EQ(c->n_tokens, recount(bpe, c));
    mn_context_free(c);

    it[2].score = 0.99; /* the summary first: its sources are never chosen */
    c = assemble(bpe, it, 4, 1000, "Where did we go in June?");
    ASSERT(find(c, 3) && !find(c, 1) && !find(c, 2) && find(c, 4));
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_duplicates_dropped)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_item it[6];
    mn_context *c;
    it[0] = item(1, MN_KIND_MESSAGE, 0.9, T_2023_05_08, "I love hiking!");
    it[1] = item(2, MN_KIND_MESSAGE, 0.8, T_2023_05_08, "i   love HIKING");
    it[2] = item(3, MN_KIND_MESSAGE, 0.7, T_2023_05_08,
                 "We went camping at the lake last weekend with the kids and the dog");
    it[3] = item(4, MN_KIND_MESSAGE, 0.6, T_2023_05_08,
                 "we went camping at the lake last weekend with the kids and our dog");
    it[4] = item(5, MN_KIND_MESSAGE, 0.5, T_2023_05_08, "I love swimming");
    it[5] = item(6, MN_KIND_FACT, 0.4, T_2023_05_08, "I love hiking.");
    c = assemble(bpe, it, 6, 1000, "What do I like?");
    ASSERT(find(c, 6)); /* facts come first and win */
    ASSERT(!find(c, 1));
    ASSERT(!find(c, 2));
    ASSERT(find(c, 3));
    ASSERT(!find(c, 4));
    ASSERT(find(c, 5)); /* shares words, says something else */
    ASSERT_EQ(c->n_duplicates, 3);
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_dedupe_signatures)
{
    mn__arena a;
    mn__ctx_sig x, y, z, e1, e2;
    mn__arena_init(&a, 0);
    ASSERT_OK(mn__ctx_sig_make(&a, "Tokyo 東京 🍣!", strlen("Tokyo 東京 🍣!"), &x), NULL);
    ASSERT_OK(mn__ctx_sig_make(&a, "tokyo,  東京 🍣", strlen("tokyo,  東京 🍣"), &y), NULL);
    ASSERT_OK(mn__ctx_sig_make(&a, "tokyo 京都 🍣", strlen("tokyo 京都 🍣"), &z), NULL);
    ASSERT(mn__ctx_sig_near(&x, &y));
    ASSERT(!mn__ctx_sig_near(&x, &z)); /* other characters are other words */
    ASSERT_EQ(x.n_words, 3);
    ASSERT_OK(mn__ctx_sig_make(&a, "a b c d", 7, &e1), NULL); /* too short for Jaccard */
    ASSERT_OK(mn__ctx_sig_make(&a, "a b c d d e", 11, &e2), NULL);
    ASSERT(!mn__ctx_sig_near(&e1, &e2));
    mn__arena_release(&a);
}

TEST(ctx_budget_skips_what_does_not_fit)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    char big[2400];
    mn__ctx_item it[3];
    mn_context *c;
    size_t i;
    for (i = 0; i + 1 < sizeof big; i++)
        big[i] = i % 6 == 5 ? ' ' : (char)('a' + i % 5);
    big[sizeof big - 1] = '\0';
    it[0] = item(1, MN_KIND_MESSAGE, 0.9, T_2023_05_08, big); /* best, far too long */
    it[1] = item(2, MN_KIND_MESSAGE, 0.8, T_2023_05_08, "I am allergic to peanuts");
    it[2] = item(3, MN_KIND_MESSAGE, 0.7, T_2023_05_08, "I work as a nurse in Leeds");
    c = assemble(bpe, it, 3, 60, "Can I eat satay?");
    ASSERT(!find(c, 1));
    ASSERT(find(c, 2));
    ASSERT(find(c, 3));
    ASSERT_EQ(c->n_over_budget, 1);
    ASSERT(c->n_tokens <= 60);
    ASSERT_EQ(c->n_tokens, recount(bpe, c));
    mn_context_free(c);

    c = assemble(bpe, it, 3, 30, "Can I eat satay?"); /* room for one line */
    ASSERT_EQ(c->n_items, 1);
    ASSERT_EQ(c->items[0].id, 2);
    ASSERT(recount(bpe, c) <= 30);
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_question_over_budget)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_req req;
    mn_context *c = (mn_context *)1;
    mn_err err;
    memset(&req, 0, sizeof req);
    req.query = "Please tell me everything you remember about my trip to Lisbon last year";
    req.max_tokens = 8;
    req.bpe = bpe;
    req.encoding = "cl100k_base";
    ASSERT_EQ(mn__ctx_assemble(&req, &c, &err), MN_ETOOBIG);
    ASSERT(c == NULL);
    ASSERT(strstr(err.msg, "question alone is"));
    ASSERT(strstr(err.msg, "budget of 8"));
    ASSERT(strstr(err.hint, "max_tokens"));
    req.max_tokens = 0;
    ASSERT_EQ(mn__ctx_assemble(&req, &c, &err), MN_EINVAL);
    req.max_tokens = 100;
    req.query = "";
    ASSERT_EQ(mn__ctx_assemble(&req, &c, &err), MN_EINVAL);
    mn__bpe_close(bpe);
}

TEST(ctx_relevance_threshold)
{
    mn__bpe *bpe = open_enc("cl100k_base");
    mn__ctx_item it[4];
    mn__ctx_req req;
    mn_context *c;
    it[0] = item(1, MN_KIND_MESSAGE, 0.9, T_2023_05_08, "Our cat is called Miso");
    it[0].relevance = 0.30;
    it[1] = item(2, MN_KIND_FACT, 0.8, T_2023_05_08, "Works at the bakery");
    it[1].relevance = 0.20;
    it[2] = item(3, MN_KIND_PREFERENCE, 0.0, T_2023_05_08, "Likes answers in French");
    it[2].relevance = 0.0;
    it[3] = item(4, MN_KIND_MESSAGE, 0.5, T_2023_05_08, "The bakery opens at six");
    it[3].relevance = 0.10;
    memset(&req, 0, sizeof req);
    req.query = "What is the capital of Peru?";
    req.max_tokens = 1000;
    req.bpe = bpe;
    req.encoding = "cl100k_base";
    req.min_score = 0.35; /* no candidate reaches it: the question is about nothing stored */
    req.items = it;
    req.n_items = 4;
    ASSERT_OK(mn__ctx_assemble(&req, &c, NULL), NULL);
    ASSERT_EQ(c->n_items, 1); /* the standing preference only */
    ASSERT_EQ(c->items[0].id, 3);
    ASSERT_EQ(c->n_below_score, 3);
    mn_context_free(c);

    it[0].relevance = 0.40; /* now it is: the others need half of min_score */
    ASSERT_OK(mn__ctx_assemble(&req, &c, NULL), NULL);
    ASSERT(find(c, 1) && find(c, 2) && find(c, 3));
    ASSERT(!find(c, 4));
    ASSERT_EQ(c->n_below_score, 1);
    mn_context_free(c);

    req.min_score = 0; /* keep all */
    ASSERT_OK(mn__ctx_assemble(&req, &c, NULL), NULL);
    ASSERT_EQ(c->n_items, 4);
    mn_context_free(c);
    mn__bpe_close(bpe);
}

TEST(ctx_estimate_without_table)
{
    mn__ctx_item it[2];
    mn_context *c;
    it[0] = item(1, MN_KIND_MESSAGE, 0.9, T_2023_05_08, "I am allergic to peanuts");
    it[1] = item(2, MN_KIND_MESSAGE, 0.8, T_2023_05_08, "東京に住んでいます 🍣");
    c = assemble(NULL, it, 2, 200, "Where do I live?");
    ASSERT(c->estimated);
    ASSERT_STR(c->encoding, "estimate");
    ASSERT_EQ(c->n_tokens, mn__bpe_estimate(c->prompt, c->prompt_len));
    ASSERT(c->n_tokens <= 200);
    ASSERT_EQ(c->n_items, 2);
    mn_context_free(c);
}

TEST(ctx_json_shapes)
{
    mn__bpe *bpe = open_enc("o200k_base");
    mn__ctx_item it[1];
    mn_context *c;
    char *json = NULL, *msgs = NULL;
    size_t len = 0;
    it[0] = item(7, MN_KIND_MESSAGE, 0.5, T_2023_05_08, "Say \"hi\"\tto Bob");
    c = assemble(bpe, it, 1, 100, "Who is Bob?");
    ASSERT_OK(mn_context_json(c, &json, &len, NULL), NULL);
    ASSERT_EQ(len, strlen(json));
    ASSERT(strstr(json, "\"prompt\":\"Relevant memories:\\n- [8 May 2023] Say \\\"hi\\\" to Bob"
                        "\\n\\nCurrent question:\\nWho is Bob?\""));
    ASSERT(strstr(json, "\"items\":[{\"id\":7,\"kind\":\"message\",\"scope\":\"user\","
                        "\"section\":\"memories\",\"score\":0.5,\"relevance\":0.5,"
                        "\"created_at\":\"2023-05-08T00:00:00.000Z\",\"tokens\":"));
    ASSERT(strstr(json, "\"text\":\"Say \\\"hi\\\"\\tto Bob\"}]"));
    ASSERT(strstr(json, "\"estimated\":false,\"encoding\":\"o200k_base\""));
    ASSERT_OK(mn_context_messages_json(c, &msgs, NULL, NULL), NULL);
    ASSERT_STR(msgs, "[{\"role\":\"system\",\"content\":\"Relevant memories:\\n- [8 May 2023] "
                     "Say \\\"hi\\\" to Bob\"},{\"role\":\"user\",\"content\":\"Who is Bob?\"}]");
    ASSERT(strstr(json, msgs));
    mn_free(json);
    ASSERT_EQ(mn_context_json(NULL, &json, NULL, NULL), MN_EINVAL);
    ASSERT(json == NULL);
    mn_free(msgs);
    mn_context_free(c);
    mn_context_free(NULL);
    mn__bpe_close(bpe);
    ASSERT_STR(mn_context_section_name(MN_SECTION_SUMMARIES), "summaries");
    ASSERT(mn_context_section_name((mn_context_section)0) == NULL);
    ASSERT(mn_context_section_name((mn_context_section)7) == NULL);
}

/* ---- property test ------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static size_t rnd(uint64_t *s, size_t n)
{
    return (size_t)(rng_next(s) % n);
}

/* A random text of up to max_pieces pieces of ASCII words, accented and CJK text, emoji,
 * digits, punctuation, newlines and space runs. */
static void random_text(uint64_t *s, mn__buf *b, size_t max_pieces)
{
    static const char *const pieces[] = {
        "peanuts", "Berlin", "the", " ", "  ", "\n", "\t", "!", "?", ", ", "café", "naïve",
        "東京", "天気がいい", "北京烤鸭", "🍣", "👩‍👩‍👧", "🎉🎉", "2023", "12:30", "ÅÄÖ",
        "привет", "مرحبا", "   \n  ", "x", "hello world", "I'm", "don't", "\"quoted\"", "-",
    };
    size_t n = 1 + rnd(s, max_pieces), i;
    b->len = 0;
    for (i = 0; i < n; i++) {
        mn__buf_puts(b, pieces[rnd(s, MN_ARRAY_LEN(pieces))]);
        if (rnd(s, 3))
            mn__buf_putc(b, ' ');
    }
    if (!b->data)
        mn__buf_putc(b, 'x');
}

static void check_invariants(const mn__bpe *bpe, const mn_context *c, const mn__ctx_item *items,
                             size_t n_items, size_t budget, const char *query, int iter)
{
    size_t i, j, n = 0;
    mn__arena a;
    mn__ctx_sig *sig;
    const char *q = strstr(c->prompt, "Current question:\n");
    if (bpe)
        ASSERT_OK(mn__bpe_count(bpe, c->prompt, c->prompt_len, &n), NULL);
    else
        n = mn__bpe_estimate(c->prompt, c->prompt_len);
    if (n > budget || n != c->n_tokens)
        t_fail(__FILE__, __LINE__, "iteration %d: %zu tokens (reported %zu), budget %zu", iter,
               n, c->n_tokens, budget);
    ASSERT(q);
    ASSERT_STR(q + strlen("Current question:\n"), query);
    ASSERT_EQ(strlen(c->prompt), c->prompt_len);
    mn__arena_init(&a, 0);
    sig = mn__arena_alloc(&a, (c->n_items + 1) * sizeof *sig);
    ASSERT(sig);
    for (i = 0; i < c->n_items; i++) {
        const mn_context_item *it = &c->items[i];
        const mn__ctx_item *src = NULL;
        const char *hdr = NULL;
        for (j = 0; j < n_items; j++)
            if (items[j].id == it->id)
                src = &items[j];
        ASSERT(src != NULL);
        if (i)
            ASSERT(it->section >= c->items[i - 1].section); /* sections in order */
        ASSERT((it->scope == MN_SCOPE_SYSTEM) == (it->section == MN_SECTION_SYSTEM));
        if (it->kind == MN_KIND_PREFERENCE && it->scope == MN_SCOPE_USER)
            ASSERT_EQ(it->section, MN_SECTION_PREFERENCES);
        if (it->kind == MN_KIND_SUMMARY && it->scope == MN_SCOPE_USER)
            ASSERT_EQ(it->section, MN_SECTION_SUMMARIES);
        switch (it->section) {
        case MN_SECTION_SYSTEM: hdr = "System notes:\n"; break;
        case MN_SECTION_PREFERENCES: hdr = "User preferences:\n"; break;
        case MN_SECTION_FACTS: hdr = "Known facts about the user:\n"; break;
        case MN_SECTION_MEMORIES: hdr = "Relevant memories:\n"; break;
        case MN_SECTION_SUMMARIES: hdr = "Summary of earlier conversations:\n"; break;
        default: t_fail(__FILE__, __LINE__, "item %zu in section %d", i, (int)it->section);
        }
        ASSERT(strstr(c->prompt, hdr) && strstr(c->prompt, hdr) < q);
        if (src->kind != MN_KIND_PREFERENCE)
            ASSERT(src->relevance >= 0.2 * 0.5); /* the threshold of the run */
        ASSERT_OK(mn__ctx_sig_make(&a, it->text, strlen(it->text), &sig[i]), NULL);
        for (j = 0; j < i; j++)
            if (mn__ctx_sig_near(&sig[i], &sig[j]) &&
                !(c->items[j].id == it->id)) /* never the same thing twice */
                t_fail(__FILE__, __LINE__, "iteration %d: items %zu and %zu are duplicates",
                       iter, j, i);
        if (it->section == MN_SECTION_MEMORIES) /* no message next to its summary */
            for (j = 0; j < c->n_items; j++) {
                const mn__ctx_item *s2 = NULL;
                size_t k2;
                if (c->items[j].section != MN_SECTION_SUMMARIES)
                    continue;
                for (k2 = 0; k2 < n_items; k2++)
                    if (items[k2].id == c->items[j].id)
                        s2 = &items[k2];
                for (k2 = 0; s2 && k2 < s2->n_sources; k2++)
                    ASSERT_NE(s2->sources[k2], it->id);
            }
    }
    mn__arena_release(&a);
}

TEST(ctx_property_budget_and_sections)
{
    mn__bpe *enc[3];
    uint64_t seed = 0x5eed2024c0ffeeull;
    mn__buf texts[40], qb;
    mn_id srcs[40][4];
    int iter;
    size_t i;
    enc[0] = open_enc("cl100k_base");
    enc[1] = open_enc("o200k_base");
    enc[2] = NULL; /* the estimate */
    mn__buf_init(&qb, 0);
    for (i = 0; i < 40; i++)
        mn__buf_init(&texts[i], 0);
    for (iter = 0; iter < 600; iter++) {
        mn__ctx_item items[40];
        size_t n = rnd(&seed, 41), budget, qtok = 0;
        const mn__bpe *bpe = enc[iter % 3];
        mn__ctx_req req;
        mn_context *c = NULL;
        mn_err err;
        int rc;
        random_text(&seed, &qb, 12);
        for (i = 0; i < n; i++) {
            mn__ctx_item *it = &items[i];
            size_t k;
            random_text(&seed, &texts[i], 1 + rnd(&seed, 3) * 15);
            if (rnd(&seed, 8) == 0 && i > 0) /* an exact or near copy of an earlier one */
                mn__buf_puts(&texts[i], texts[rnd(&seed, i)].data);
            memset(it, 0, sizeof *it);
            it->id = (mn_id)(i + 1);
            it->kind = (mn_kind)(1 + rnd(&seed, 4));
            it->scope = rnd(&seed, 6) == 0 ? MN_SCOPE_SYSTEM : MN_SCOPE_USER;
            it->score = (double)rnd(&seed, 1000) / 1000.0;
            it->relevance = (double)rnd(&seed, 1000) / 1000.0;
            it->ranked = rnd(&seed, 5) != 0;
            it->created_at_ms = T_2023_05_08 + (int64_t)rnd(&seed, 1000) * DAY_MS;
            it->text = texts[i].data;
            it->speaker = rnd(&seed, 4) == 0 ? "Ana María" : NULL;
            if (it->kind == MN_KIND_SUMMARY) {
                it->n_sources = rnd(&seed, 5);
                for (k = 0; k < it->n_sources; k++)
                    srcs[i][k] = (mn_id)(1 + rnd(&seed, 40));
                it->sources = srcs[i];
            }
        }
        if (bpe)
            ASSERT_OK(mn__bpe_count(bpe, qb.data, qb.len, &qtok), NULL);
        else
            qtok = mn__bpe_estimate(qb.data, qb.len);
        budget = 1 + rnd(&seed, 5 + qtok + rnd(&seed, 2) * 600); /* some below the question */
        memset(&req, 0, sizeof req);
        req.query = qb.data;
        req.max_tokens = budget;
        req.bpe = bpe;
        req.encoding = bpe ? mn__bpe_name(bpe) : "estimate";
        req.include = rnd(&seed, 4) ? MN_CONTEXT_ALL : (unsigned)(1 + rnd(&seed, 31));
        req.min_score = 0.2;
        req.items = items;
        req.n_items = n;
        rc = mn__ctx_assemble(&req, &c, &err);
        if (rc == MN_ETOOBIG) { /* only when the bare question is over the budget */
            size_t bare = 0;
            char hdr[] = "Current question:\n";
            mn__buf b;
            mn__buf_init(&b, 0);
            mn__buf_puts(&b, hdr);
            mn__buf_puts(&b, qb.data);
            if (bpe)
                mn__bpe_count(bpe, b.data, b.len, &bare);
            else
                bare = mn__bpe_estimate(b.data, b.len);
            mn__buf_release(&b);
            ASSERT(bare > budget);
            ASSERT(c == NULL);
            continue;
        }
        ASSERT_OK(rc, &err);
        check_invariants(bpe, c, items, n, budget, qb.data, iter);
        for (i = 0; i < c->n_items; i++) {
            unsigned bit = 0;
            switch (c->items[i].section) {
            case MN_SECTION_SYSTEM: bit = MN_CONTEXT_SYSTEM; break;
            case MN_SECTION_PREFERENCES: bit = MN_CONTEXT_PREFERENCES; break;
            case MN_SECTION_FACTS: bit = MN_CONTEXT_FACTS; break;
            case MN_SECTION_MEMORIES: bit = MN_CONTEXT_MEMORIES; break;
            default: bit = MN_CONTEXT_SUMMARIES; break;
            }
            ASSERT(req.include & bit);
        }
        mn_context_free(c);
    }
    for (i = 0; i < 40; i++)
        mn__buf_release(&texts[i]);
    mn__buf_release(&qb);
    mn__bpe_close(enc[0]);
    mn__bpe_close(enc[1]);
}

/* cmd_context.c - `mnemo context`: the prompt block a user's memories give a question under
 * a token budget (mn_context_build, docs/CONTEXT.md), as text or as the JSON of the REST
 * route. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_cmd cmd = {
    "context", "Build the prompt context of a question from a user's memories.",
    "--user ID --query TEXT [--max-tokens N] [--model NAME] [options]", cmd_context};

static const struct {
    const char *name;
    unsigned bit;
} parts[] = {
    {"preferences", MN_CONTEXT_PREFERENCES}, {"facts", MN_CONTEXT_FACTS},
    {"memories", MN_CONTEXT_MEMORIES},       {"summaries", MN_CONTEXT_SUMMARIES},
    {"system", MN_CONTEXT_SYSTEM},
};

/* "memories,summaries" -> MN_CONTEXT_* bits; 0 when a name is unknown. */
static unsigned include_mask(const char *s)
{
    unsigned mask = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ","), i;
        for (i = 0; i < sizeof parts / sizeof parts[0]; i++)
            if (strlen(parts[i].name) == n && !strncmp(p, parts[i].name, n))
                break;
        if (i == sizeof parts / sizeof parts[0])
            return 0;
        mask |= parts[i].bit;
        p += n;
        if (*p == ',')
            p++;
    }
    return mask;
}

int cmd_context(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "whose memories to use", NULL},
        {"query", "TEXT", "the current question", NULL},
        {"max-tokens", "N", "token budget of the whole block (default 1000)", NULL},
        {"model", "NAME", "chat model the block is for, picks the tokenizer (default gpt-4: "
                          "cl100k_base; unknown: an estimate)", NULL},
        {"k", "N", "search candidates per kind (1-1000, default 20)", NULL},
        {"min-score", "X", "relevance threshold, 0 keeps all (default: docs/CONTEXT.md)", NULL},
        {"include", "LIST", "parts to use (default all): preferences,facts,memories,"
                            "summaries,system", NULL},
        {"session", "ID", "only memories of this session", NULL},
        {"as-of", "TIME", "when the question is asked: \"last week\" counts back from here "
                          "(default now)", NULL},
        {"db", "PATH", "database file (default ./mnemo-data/mnemo.db, or $MNEMO_DB)", NULL},
        {"tenant", "NAME", "tenant (default \"default\")", NULL},
        {"embed-model", "PATH", "built-in embedding model file", NULL},
        {"embedder", "NAME", "builtin (default), none", NULL},
        {"json", NULL, "print the JSON of POST /v1/users/{user}/context", NULL},
        {"help", NULL, "show this help", NULL},
        {NULL, NULL, NULL, NULL},
    };
    cli_opt dbopts[4] = {{"db", NULL, NULL, NULL},
                         {"model", NULL, NULL, NULL},
                         {"embedder", NULL, NULL, NULL},
                         {NULL, NULL, NULL, NULL}};
    mn_context_opts co;
    mn_context *ctx = NULL;
    mn_db *db = NULL;
    mn_err err;
    long long max_tokens, k;
    const char *s;
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    mn_context_opts_init(&co);
    co.tenant = cli_get(opts, "tenant");
    co.user_id = cli_get(opts, "user");
    co.query = cli_get(opts, "query");
    co.model = cli_get(opts, "model");
    co.session_id = cli_get(opts, "session");
    if (!co.user_id || !co.query) {
        fprintf(stderr, "error: --%s is required\n", co.user_id ? "query" : "user");
        return 2;
    }
    max_tokens = co.max_tokens;
    k = co.k;
    if ((rc = cli_int(opts, "max-tokens", 1, MN_CONTEXT_MAX_TOKENS, &max_tokens)) ||
        (rc = cli_int(opts, "k", 1, MN_MAX_K, &k)) ||
        (rc = cli_time(opts, "as-of", &co.as_of_ms)))
        return rc;
    co.max_tokens = (int)max_tokens;
    co.k = (int)k;
    if ((s = cli_get(opts, "min-score"))) {
        char *end;
        co.min_score = strtod(s, &end);
        if (end == s || *end || !(co.min_score >= 0 && co.min_score <= 1)) {
            fprintf(stderr, "error: --min-score must be a number from 0 to 1, got '%s'\n", s);
            return 2;
        }
    }
    if ((s = cli_get(opts, "include")) && !(co.include = include_mask(s))) {
        fprintf(stderr, "error: --include takes preferences, facts, memories, summaries, "
                        "system (comma-separated), got '%s'\n", s);
        return 2;
    }
    dbopts[0].value = cli_get(opts, "db");
    dbopts[1].value = cli_get(opts, "embed-model");
    dbopts[2].value = cli_get(opts, "embedder");
    if ((rc = cli_open_db(dbopts, true, &db)) != 0)
        return rc;
    rc = mn_context_build(db, &co, &ctx, &err);
    if (rc) {
        rc = cli_fail("cannot build the context", rc, &err);
    } else if (cli_flag(opts, "json")) {
        char *json = NULL;
        rc = mn_context_json(ctx, &json, NULL, &err);
        if (rc)
            rc = cli_fail("cannot write the context", rc, &err);
        else
            printf("%s\n", json);
        mn_free(json);
    } else {
        printf("%s\n", ctx->prompt);
        fprintf(stderr, "%zu memories, %zu of %zu tokens (%s%s); left out: %zu below the "
                        "relevance threshold, %zu duplicates, %zu over the budget\n",
                ctx->n_items, ctx->n_tokens, ctx->max_tokens, ctx->encoding,
                ctx->estimated ? ", estimated" : "", ctx->n_below_score, ctx->n_duplicates,
                ctx->n_over_budget);
    }
    mn_context_free(ctx);
    mn_db_close(db);
    return rc;
}

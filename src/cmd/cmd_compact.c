/* cmd_compact.c - `mnemo compact`: compress a user's memories now (docs/COMPRESSION.md):
 * related messages become summaries, the messages are archived, never deleted. With
 * --llm-model (or MNEMO_LLM_MODEL) summaries are written by an OpenAI-compatible model. */
#include <stdlib.h>

#include "cli.h"

static const cli_cmd cmd = {
    "compact",
    "Summarize and archive a user's older messages (related messages become one summary).",
    "--user ID [--keep-recent N] [--dry-run] [--offline]", cmd_compact};

static const char *opt_or_env(const cli_opt *opts, const char *name, const char *env)
{
    const char *v = cli_get(opts, name);
    return v ? v : getenv(env) && getenv(env)[0] ? getenv(env) : NULL;
}

int cmd_compact(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "the user", NULL},
        {"keep-recent", "N", "newest messages left raw (default 20; -1: none)", NULL},
        {"min-cluster", "N", "fewest messages one summary stands for (default 5)", NULL},
        {"max-cluster", "N", "most messages one summary stands for (default 10)", NULL},
        {"summary-tokens", "N", "token budget of one summary (default 200)", NULL},
        {"dry-run", NULL, "count what would be done; change nothing", NULL},
        {"offline", NULL, "extractive summaries even when an LLM is set", NULL},
        {"llm-url", "URL", "OpenAI-compatible chat API (or $MNEMO_LLM_URL)", NULL},
        {"llm-model", "NAME", "chat model for summaries (or $MNEMO_LLM_MODEL)", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_db_opts o;
    mn_db *db = NULL;
    mn_compact_opts co;
    mn_compact_stats st;
    mn_err err;
    long long keep = 0, mn = 0, mx = 0, tok = 0;
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!cli_get(opts, "user")) {
        fprintf(stderr, "error: --user is required\n");
        return 2;
    }
    if ((rc = cli_int(opts, "keep-recent", -1, 1000000, &keep)) ||
        (rc = cli_int(opts, "min-cluster", 0, 10000, &mn)) ||
        (rc = cli_int(opts, "max-cluster", 0, 10000, &mx)) ||
        (rc = cli_int(opts, "summary-tokens", 0, 4000, &tok)))
        return rc;
    mn_db_opts_init(&o);
    o.path = cli_get(opts, "db") ? cli_get(opts, "db") : getenv("MNEMO_DB");
    o.model_path = cli_get(opts, "model");
    o.embedder = cli_get(opts, "embedder");
    o.llm_url = opt_or_env(opts, "llm-url", "MNEMO_LLM_URL");
    o.llm_model = opt_or_env(opts, "llm-model", "MNEMO_LLM_MODEL");
    o.llm_api_key = getenv("MNEMO_LLM_KEY"); /* a key never goes on the command line */
    o.read_only = cli_flag(opts, "dry-run");
    o.log_level = MN_LOG_WARN;
    rc = mn_db_open(&o, &db, &err);
    if (rc)
        return cli_fail("cannot open the database", rc, &err);
    mn_compact_opts_init(&co);
    co.tenant = cli_get(opts, "tenant");
    co.user_id = cli_get(opts, "user");
    co.keep_recent = (int)keep;
    co.min_cluster = (int)mn;
    co.max_cluster = (int)mx;
    co.summary_tokens = (int)tok;
    co.dry_run = cli_flag(opts, "dry-run");
    co.offline = cli_flag(opts, "offline");
    rc = mn_compact(db, &co, &st, &err);
    if (rc) {
        rc = cli_fail("compaction failed", rc, &err);
    } else if (cli_flag(opts, "json")) {
        const char *c;
        printf("{\"user_id\":\"");
        for (c = co.user_id; *c; c++) /* ids have no control characters: quote and backslash */
            printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        printf("\",\"active_before\":%lld,\"active_after\":%lld,"
               "\"summaries\":%lld,\"archived\":%lld,\"dry_run\":%s,\"duration_ms\":%lld}\n",
               (long long)st.active_before, (long long)st.active_after,
               (long long)st.n_clusters, (long long)st.n_archived, co.dry_run ? "true" : "false",
               (long long)st.duration_ms);
    } else {
        printf("%s user '%s': %lld summaries (%s), %lld messages archived; active memories "
               "%lld -> %lld (%lld ms)\n",
               co.dry_run ? "would compact" : "compacted", co.user_id, (long long)st.n_clusters,
               st.used_llm ? "LLM" : "extractive", (long long)st.n_archived,
               (long long)st.active_before, (long long)st.active_after,
               (long long)st.duration_ms);
    }
    mn_db_close(db);
    return rc;
}

/* cmd_mcp.c - `mnemo mcp`: the MCP server over stdio for agents and IDEs. It opens the
 * database exactly as `mnemo serve` does (same settings table: flags, MNEMO_* variables and
 * config file), adds the tenant and a default user, and serves until stdin closes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/http.h"
#include "../mcp/mcp.h"
#include "cli.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void log_stderr(void *ctx, mn_log_level level, const char *msg)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    (void)ctx;
    fprintf(stderr, "mnemo mcp: %s: %s\n", names[level & 3], msg);
}

static void usage(void)
{
    printf("usage: mnemo mcp [--user ID] [--tenant NAME] [--verbose] [serve options]\n"
           "Run the MCP server over stdio (docs/MCP.md): JSON-RPC messages on stdin and\n"
           "stdout, logs on stderr. Tools: add_memory, search_memory, get_context,\n"
           "list_memories, forget_memory.\n\noptions:\n"
           "  --user ID          default user of the tools' calls   [MNEMO_USER; default: "
           "calls name user_id]\n"
           "  --tenant NAME      tenant of every call               [MNEMO_TENANT, default "
           "default]\n"
           "  --context-tokens N default token budget of get_context [MNEMO_CONTEXT_TOKENS, "
           "default 1000]\n"
           "  --verbose          one stderr line per tool call\n"
           "  --help             show this help\n\n"
           "The database settings are those of 'mnemo serve' (same flags, MNEMO_* variables\n"
           "and config file): --db, --store, --model, --embedder, --config, --max-text,\n"
           "--max-metadata, --max-batch, --max-k, --memory-budget, --sync-normal, --log-level.\n"
           "Give --db an absolute path: MCP clients start servers in a directory of their\n"
           "choosing.\n");
}

/* Takes the options that are mcp's own out of argv; the rest goes to the serve table. */
static int take_own(int *argc, char **argv, const char **user, const char **tenant,
                    const char **tokens, bool *verbose)
{
    int i, o = 1;
    for (i = 1; i < *argc; i++) {
        const char *a = argv[i], **dst = NULL;
        size_t n = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        if (!strcmp(a, "--verbose")) {
            *verbose = true;
            continue;
        }
        if (!strncmp(a, "--user", 6) && (a[6] == '\0' || a[6] == '='))
            dst = user, n = 6;
        else if (!strncmp(a, "--tenant", 8) && (a[8] == '\0' || a[8] == '='))
            dst = tenant, n = 8;
        else if (!strncmp(a, "--context-tokens", 16) && (a[16] == '\0' || a[16] == '='))
            dst = tokens, n = 16;
        if (!dst) {
            argv[o++] = argv[i];
            continue;
        }
        if (a[n] == '=') {
            *dst = a + n + 1;
        } else if (i + 1 < *argc) {
            *dst = argv[++i];
        } else {
            fprintf(stderr, "error: option '%s' needs a value\n", a);
            return 2;
        }
    }
    *argc = o;
    return 0;
}

int cmd_mcp(int argc, char **argv)
{
    mn__http_cfg cfg;
    mn__mcp_cfg mc;
    mn_db_opts o;
    mn_db *db = NULL;
    mn_err err;
    struct sigaction sa;
    const char *user = getenv("MNEMO_USER"), *tenant = getenv("MNEMO_TENANT");
    const char *tokens = getenv("MNEMO_CONTEXT_TOKENS");
    bool verbose = false;
    long long ntok = 1000;
    int rc;

    argv[0] = "mcp"; /* names the command in the settings table's messages */
    rc = take_own(&argc, argv, &user, &tenant, &tokens, &verbose);
    if (rc == 1) {
        usage();
        return 0;
    }
    if (rc)
        return rc;
    if ((rc = mn__http_cfg_load(&cfg, argc, argv)) != 0)
        return rc == 1 ? 0 : rc;
    if (tokens && *tokens) {
        char *end;
        ntok = strtoll(tokens, &end, 10);
        if (*end || ntok < 1 || ntok > 1000000) {
            fprintf(stderr, "error: --context-tokens must be an integer from 1 to 1000000, "
                            "got '%s'\n",
                    tokens);
            return 2;
        }
    }
    if (user && !*user)
        user = NULL;
    if (tenant && !*tenant)
        tenant = NULL;

    mn_db_opts_init(&o);
    o.path = cfg.store[0] ? cfg.store : cfg.db;
    o.model_path = cfg.model[0] ? cfg.model : NULL;
    o.embedder = cfg.embedder;
    o.sync_normal = cfg.sync_normal;
    o.memory_budget_bytes = (size_t)cfg.memory_budget_bytes;
    o.max_text_bytes = (size_t)cfg.max_text_bytes;
    o.max_metadata_bytes = (size_t)cfg.max_metadata_bytes;
    o.max_batch = (size_t)cfg.max_batch;
    o.commit_delay_us = (int)cfg.commit_delay_us;
    o.log = log_stderr;
    o.log_level = MN_LOG_WARN;
    if (!strcmp(cfg.log_level, "debug"))
        o.log_level = MN_LOG_DEBUG;
    else if (!strcmp(cfg.log_level, "info"))
        o.log_level = MN_LOG_INFO;
    else if (!strcmp(cfg.log_level, "error"))
        o.log_level = MN_LOG_ERROR;
    rc = mn_db_open(&o, &db, &err);
    if (rc)
        return cli_fail("cannot open the database", rc, &err);
    /* Check the ids now: a typo in the client's config shows in its server log at once
     * instead of failing every call. */
    if (tenant) {
        mn_user_info ui;
        rc = mn_user_get(db, tenant, "x", &ui, &err);
        if (rc && rc != MN_ENOTFOUND) {
            mn_db_close(db);
            return cli_fail("bad --tenant", rc, &err);
        }
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the read returns and the loop stops */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&mc, 0, sizeof mc);
    mc.tenant = tenant;
    mc.default_user = user;
    mc.max_k = (int)cfg.max_k;
    mc.default_tokens = ntok;
    mc.verbose = verbose;
    mc.stop = &stop_flag;
    /* A postgres:// URI may hold a password: only a file path is shown. */
    fprintf(stderr, "mnemo mcp %s: database %s, tenant %s, %s\n", mn_version(),
            strstr(o.path, "://") ? "(store URI)" : o.path,
            tenant ? tenant : "default", user ? "default user set" : "user_id in every call");
    rc = mn__mcp_run(db, &mc, 0, 1);
    mn_db_close(db);
    return rc;
}

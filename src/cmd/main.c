/* main.c - the mnemo command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_cmd info_cmd = {"info", "Show the database, model and index status.", "",
                                 cmd_info};

int cmd_info(int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_db *db = NULL;
    mn_db_info info;
    mn_err err;
    int rc = cli_parse(&info_cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = cli_open_db(opts, true, &db)) != 0)
        return rc;
    rc = mn_db_info_get(db, &info, &err);
    if (rc) {
        rc = cli_fail("cannot read database info", rc, &err);
    } else if (cli_flag(opts, "json")) {
        printf("{\"version\":\"%s\",\"schema_version\":%d,\"memories\":%lld,\"embedder\":\"%s\","
               "\"model\":\"%s\",\"dim\":%d,\"kernel\":\"%s\"}\n",
               mn_version(), info.schema_version, (long long)info.n_memories, info.embedder,
               info.model_id, info.dim, info.kernel);
    } else {
        printf("mnemo %s\nschema version  %d\nmemories        %lld\nembedder        %s\n"
               "model           %s\ndimensions      %d\nkernel          %s\n",
               mn_version(), info.schema_version, (long long)info.n_memories, info.embedder,
               info.model_id[0] ? info.model_id : "-", info.dim, info.kernel);
        if (info.vector_note[0])
            printf("vector search   off: %s\n", info.vector_note);
    }
    mn_db_close(db);
    return rc;
}

static const cli_cmd *const commands[] = {
    &(const cli_cmd){"add", "Store one memory.", "", cmd_add},
    &(const cli_cmd){"search", "Find the memories that best match a query.", "", cmd_search},
    &(const cli_cmd){"context", "Build the prompt context of a question under a token budget.", "",
                     cmd_context},
    &(const cli_cmd){"get", "Show one memory.", "", cmd_get},
    &(const cli_cmd){"list", "List a user's memories, newest first.", "", cmd_list},
    &(const cli_cmd){"forget", "Delete one memory or everything about a user.", "", cmd_forget},
    &(const cli_cmd){"compact", "Summarize and archive a user's older messages.", "", cmd_compact},
    &(const cli_cmd){"export", "Write memories as NDJSON.", "", cmd_export},
    &(const cli_cmd){"import", "Load NDJSON written by export.", "", cmd_import},
    &info_cmd,
    &(const cli_cmd){"serve", "Run the REST API server.", "", cmd_serve},
    &(const cli_cmd){"keys", "Create, list or revoke API keys.", "", cmd_keys},
    &(const cli_cmd){"routes", "Print the REST routes (Markdown, OpenAPI).", "", cmd_routes},
    &(const cli_cmd){"mcp", "Run the MCP server over stdio (agents, IDEs).", "", cmd_mcp},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "mnemo %s - persistent memory for LLM applications\n\n"
               "usage: mnemo COMMAND [options]   (mnemo COMMAND --help for its options)\n\n"
               "commands:\n",
            mn_version());
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nexample:\n  mnemo add --user alice --text \"I am allergic to peanuts\"\n"
               "  mnemo search --user alice --query \"what food should I avoid\"\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("mnemo %s\n", mn_version());
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
    fprintf(stderr, "hint: run 'mnemo --help' to see the commands\n");
    return 2;
}

/* cli.h - shared pieces of the mnemo subcommands: option parsing from a table, opening the
 * database from the common options, printing memories and errors. */
#ifndef MN_CLI_H
#define MN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "mnemo.h"

/* One option of a subcommand. `arg` names the value ("TEXT") or is NULL for a flag. */
typedef struct cli_opt {
    const char *name;
    const char *arg;
    const char *help;
    const char *value; /* filled by cli_parse: the value, or "1" for a given flag */
} cli_opt;

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage;   /* what follows "mnemo NAME" */
    int (*run)(int argc, char **argv);
} cli_cmd;

/* Options every database command accepts; merged in by cli_parse. */
#define CLI_COMMON_OPTS                                                                       \
    {"db", "PATH", "database file (default ./mnemo-data/mnemo.db, or $MNEMO_DB)", NULL},     \
        {"tenant", "NAME", "tenant (default \"default\")", NULL},                             \
        {"model", "PATH", "built-in embedding model file", NULL},                             \
        {"embedder", "NAME", "builtin (default), none", NULL},                                \
        {"json", NULL, "print JSON instead of a table", NULL},                               \
        {"help", NULL, "show this help", NULL}

/* Parses argv[1..] ("--name value", "--name=value", flags) into opts (ended by a zeroed
 * entry); positional arguments are collected into pos (up to max_pos). On error prints a
 * message naming the option and returns 2. Returns 1 when --help was given (usage
 * printed), 0 on success. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, const char **pos,
              int max_pos, int *out_n_pos);
const char *cli_get(const cli_opt *opts, const char *name);
bool cli_flag(const cli_opt *opts, const char *name);
void cli_usage(const cli_cmd *cmd, const cli_opt *opts, FILE *f);

/* Opens the database from --db/--model/--embedder (and MNEMO_DB/MNEMO_MODEL); prints the
 * error and returns non-zero on failure. */
int cli_open_db(const cli_opt *opts, bool read_only, mn_db **out);
/* Prints "error: <msg>" and "hint: <hint>" to stderr; returns the exit code for rc. */
int cli_fail(const char *what, int rc, const mn_err *err);
/* Parses an integer option within [lo, hi]; prints an error and returns 2 when bad. */
int cli_int(const cli_opt *opts, const char *name, long long lo, long long hi, long long *out);
/* Parses a time option (RFC 3339 or ms since the epoch). */
int cli_time(const cli_opt *opts, const char *name, int64_t *out_ms);

/* Prints results as a table (id, date, kind, role, score, text) or as JSON lines. */
void cli_print_results(const mn_results *r, bool json, bool scores);

int cmd_add(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_context(int argc, char **argv); /* cmd_context.c */
int cmd_get(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_serve(int argc, char **argv);  /* cmd_serve.c */
int cmd_routes(int argc, char **argv); /* cmd_serve.c */
int cmd_keys(int argc, char **argv);   /* cmd_keys.c */
int cmd_mcp(int argc, char **argv);    /* cmd_mcp.c */

#endif

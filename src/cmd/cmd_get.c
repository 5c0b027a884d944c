/* cmd_get.c - `mnemo get` (one memory) and `mnemo list` (a user's memories, newest first). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_cmd get_cmd = {"get", "Show one memory.", "--user ID --id N", cmd_get};
static const cli_cmd list_cmd = {"list", "List the memories of a user, newest first.",
                                 "--user ID [--limit N] [--after ID]", cmd_list};

int cmd_get(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "the user the memory belongs to", NULL},
        {"id", "N", "memory id", NULL},
        {"system", NULL, "the memory is a system memory", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_results *res = NULL;
    mn_db *db = NULL;
    mn_err err;
    long long id = 0;
    const char *user;
    int rc = cli_parse(&get_cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    user = cli_flag(opts, "system") ? NULL : cli_get(opts, "user");
    if (!user && !cli_flag(opts, "system")) {
        fprintf(stderr, "error: --user is required\n");
        return 2;
    }
    if (!cli_get(opts, "id")) {
        fprintf(stderr, "error: --id is required\n");
        return 2;
    }
    if ((rc = cli_int(opts, "id", 1, INT64_MAX, &id)) != 0)
        return rc;
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    rc = mn_memory_get(db, cli_get(opts, "tenant"), user, id, &res, &err);
    if (rc)
        rc = cli_fail("cannot get the memory", rc, &err);
    else
        cli_print_results(res, cli_flag(opts, "json"), false);
    mn_results_free(res);
    mn_db_close(db);
    return rc;
}

int cmd_list(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "whose memories", NULL},
        {"limit", "N", "page size (1-1000, default 20)", NULL},
        {"after", "ID", "cursor printed by the previous page", NULL},
        {"system", NULL, "list the tenant's system memories", NULL},
        {"all", NULL, "include archived and superseded memories", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_filter f;
    mn_results *res = NULL;
    mn_db *db = NULL;
    mn_err err;
    long long limit = 20, after = 0;
    int rc = cli_parse(&list_cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    mn_filter_init(&f);
    f.tenant = cli_get(opts, "tenant");
    f.user_id = cli_get(opts, "user");
    if (cli_flag(opts, "system")) {
        f.scope = MN_SCOPE_SYSTEM;
        f.user_id = NULL;
    } else if (!f.user_id) {
        fprintf(stderr, "error: --user is required\n");
        return 2;
    }
    if (cli_flag(opts, "all"))
        f.statuses = MN_STATUS_BIT(MN_STATUS_ACTIVE) | MN_STATUS_BIT(MN_STATUS_ARCHIVED) |
                     MN_STATUS_BIT(MN_STATUS_SUPERSEDED);
    if ((rc = cli_int(opts, "limit", 1, MN_MAX_K, &limit)) ||
        (rc = cli_int(opts, "after", 1, INT64_MAX, &after)))
        return rc;
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    rc = mn_memory_list(db, &f, after, (int)limit, &res, &err);
    if (rc) {
        rc = cli_fail("cannot list memories", rc, &err);
    } else {
        cli_print_results(res, cli_flag(opts, "json"), false);
        if (!cli_flag(opts, "json")) {
            printf("(%zu of %lld)", res->n, (long long)res->total);
            if (res->next_after)
                printf("  next page: --after %lld", (long long)res->next_after);
            putchar('\n');
        }
    }
    mn_results_free(res);
    mn_db_close(db);
    return rc;
}

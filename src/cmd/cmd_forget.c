/* cmd_forget.c - `mnemo forget`: delete one memory, or everything stored about a user. */
#include "cli.h"

static const cli_cmd cmd = {"forget",
                            "Delete one memory (--id) or every memory of a user, for good.",
                            "--user ID [--id N]", cmd_forget};

int cmd_forget(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "the user", NULL},
        {"id", "N", "delete only this memory", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_db *db = NULL;
    mn_err err;
    long long id = 0;
    int64_t n = 0;
    const char *user;
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    user = cli_get(opts, "user");
    if (!user) {
        fprintf(stderr, "error: --user is required\n");
        return 2;
    }
    if ((rc = cli_int(opts, "id", 1, INT64_MAX, &id)) != 0)
        return rc;
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    if (id) {
        rc = mn_memory_delete(db, cli_get(opts, "tenant"), user, id, &err);
        if (rc)
            rc = cli_fail("cannot delete the memory", rc, &err);
        else if (cli_flag(opts, "json"))
            printf("{\"deleted\":1}\n");
        else
            printf("deleted memory %lld\n", id);
    } else {
        rc = mn_user_forget(db, cli_get(opts, "tenant"), user, &n, &err);
        if (rc)
            rc = cli_fail("cannot forget the user", rc, &err);
        else if (cli_flag(opts, "json"))
            printf("{\"deleted\":%lld}\n", (long long)n);
        else
            printf("forgot user '%s': %lld memories deleted\n", user, (long long)n);
    }
    mn_db_close(db);
    return rc;
}

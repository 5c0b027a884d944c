/* cmd_keys.c - `mnemo keys create|list|revoke`: the API keys of tenants. A new key is printed
 * once; the database keeps only its SHA-256. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const cli_cmd cmd = {"keys", "Create, list or revoke API keys of tenants.",
                            "create --tenant NAME [--name LABEL] | list | revoke ID", cmd_keys};

static void fmt_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

static int do_create(const cli_opt *opts, mn_db *db)
{
    char key[MN_KEY_LEN + 1];
    mn_id id = 0;
    mn_err err;
    int rc;
    if (!cli_get(opts, "tenant")) {
        fprintf(stderr, "error: --tenant is required\n");
        fprintf(stderr, "hint: mnemo keys create --tenant acme [--name ci]\n");
        return 2;
    }
    rc = mn_key_create(db, cli_get(opts, "tenant"), cli_get(opts, "name"), key, &id, &err);
    if (rc)
        return cli_fail("cannot create the key", rc, &err);
    if (cli_flag(opts, "json")) {
        printf("{\"id\":%lld,\"tenant\":\"%s\",\"key\":\"%s\"}\n", (long long)id,
               cli_get(opts, "tenant"), key);
    } else {
        printf("%s\n", key);
        fprintf(stderr, "key %lld for tenant '%s' created; it is shown only now: store it "
                        "in a secret manager. Send it as 'Authorization: Bearer <key>'.\n",
                (long long)id, cli_get(opts, "tenant"));
    }
    memset(key, 0, sizeof key);
    return 0;
}

static int do_list(const cli_opt *opts, mn_db *db)
{
    mn_keys *ks = NULL;
    mn_err err;
    size_t i;
    int rc = mn_key_list(db, &ks, &err);
    if (rc)
        return cli_fail("cannot list the keys", rc, &err);
    if (!cli_flag(opts, "json"))
        printf("%-6s %-14s %-20s %-16s %-17s %s\n", "ID", "PREFIX", "TENANT", "NAME", "CREATED",
               "REVOKED");
    for (i = 0; i < ks->n; i++) {
        const mn_key_info *k = &ks->keys[i];
        char c[32], r[32];
        fmt_time(k->created_at_ms, c, sizeof c);
        if (k->revoked_at_ms)
            fmt_time(k->revoked_at_ms, r, sizeof r);
        else
            memcpy(r, "-", 2);
        if (cli_flag(opts, "json"))
            printf("{\"id\":%lld,\"prefix\":\"%s\",\"tenant\":\"%s\",\"name\":\"%s\","
                   "\"created_at_ms\":%lld,\"revoked_at_ms\":%lld}\n",
                   (long long)k->id, k->prefix, k->tenant, k->name, (long long)k->created_at_ms,
                   (long long)k->revoked_at_ms);
        else
            printf("%-6lld %-14s %-20s %-16s %-17s %s\n", (long long)k->id, k->prefix,
                   k->tenant, k->name[0] ? k->name : "-", c, r);
    }
    if (!cli_flag(opts, "json") && ks->n == 0)
        printf("(no keys: the server runs in development mode)\n");
    mn_keys_free(ks);
    return 0;
}

static int do_revoke(const char *arg, mn_db *db)
{
    mn_err err;
    char *end;
    long long id;
    int rc;
    errno = 0;
    id = arg ? strtoll(arg, &end, 10) : 0;
    if (!arg || errno || end == arg || *end || id <= 0) {
        fprintf(stderr, "error: revoke needs the key's id (see 'mnemo keys list'), got '%s'\n",
                arg ? arg : "");
        return 2;
    }
    rc = mn_key_revoke(db, id, &err);
    if (rc)
        return cli_fail("cannot revoke the key", rc, &err);
    printf("revoked key %lld\n", id);
    return 0;
}

int cmd_keys(int argc, char **argv)
{
    cli_opt opts[] = {
        {"name", "LABEL", "create: a label for the key (e.g. the app using it)", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0;
    mn_db *db = NULL;
    int rc = cli_parse(&cmd, argc, argv, opts, pos, 2, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos < 1 || (strcmp(pos[0], "create") && strcmp(pos[0], "list") &&
                      strcmp(pos[0], "revoke"))) {
        fprintf(stderr, "error: 'mnemo keys' needs create, list or revoke\n");
        cli_usage(&cmd, opts, stderr);
        return 2;
    }
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    if (!strcmp(pos[0], "create"))
        rc = do_create(opts, db);
    else if (!strcmp(pos[0], "list"))
        rc = do_list(opts, db);
    else
        rc = do_revoke(pos[1], db);
    mn_db_close(db);
    return rc;
}

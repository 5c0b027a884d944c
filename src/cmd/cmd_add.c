/* cmd_add.c - `mnemo add`: store one memory. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_cmd cmd = {"add", "Store one memory of a user (or a system memory with --system).",
                            "--user ID --text TEXT [options]", cmd_add};

int cmd_add(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "user the memory belongs to", NULL},
        {"text", "TEXT", "the memory text", NULL},
        {"role", "ROLE", "user (default) or assistant", NULL},
        {"kind", "KIND", "message (default), preference, fact or summary", NULL},
        {"session", "ID", "conversation/session id", NULL},
        {"time", "TIME", "when it was said (RFC 3339); default now", NULL},
        {"metadata", "JSON", "a JSON object stored with the memory", NULL},
        {"system", NULL, "store a tenant-wide system memory instead of a user's", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_memory_in m;
    mn_db *db = NULL;
    mn_err err;
    mn_id id = 0;
    const char *s;
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    mn_memory_in_init(&m);
    m.tenant = cli_get(opts, "tenant");
    m.user_id = cli_get(opts, "user");
    m.text = cli_get(opts, "text");
    m.session_id = cli_get(opts, "session");
    m.metadata_json = cli_get(opts, "metadata");
    m.role = MN_ROLE_USER;
    if (cli_flag(opts, "system")) {
        m.scope = MN_SCOPE_SYSTEM;
        m.role = MN_ROLE_NONE;
        if (m.user_id) {
            fprintf(stderr, "error: --system memories belong to no user; drop --user\n");
            return 2;
        }
    } else if (!m.user_id) {
        fprintf(stderr, "error: --user is required\nhint: mnemo add --user alice --text \"...\"\n");
        return 2;
    }
    if (!m.text) {
        fprintf(stderr, "error: --text is required\n");
        return 2;
    }
    if ((s = cli_get(opts, "role")) != NULL) {
        m.role = mn_role_parse(s);
        if ((int)m.role < 0) {
            fprintf(stderr, "error: --role must be user, assistant or none, got '%s'\n", s);
            return 2;
        }
    }
    if ((s = cli_get(opts, "kind")) != NULL && !(m.kind = mn_kind_parse(s))) {
        fprintf(stderr, "error: --kind must be message, preference, fact or summary, got '%s'\n", s);
        return 2;
    }
    if ((rc = cli_time(opts, "time", &m.created_at_ms)) != 0)
        return rc;
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    rc = mn_memory_add(db, &m, &id, &err);
    if (rc) {
        rc = cli_fail("cannot add the memory", rc, &err);
    } else if (cli_flag(opts, "json")) {
        printf("{\"id\":%lld}\n", (long long)id);
    } else {
        printf("added memory %lld\n", (long long)id);
    }
    mn_db_close(db);
    return rc;
}

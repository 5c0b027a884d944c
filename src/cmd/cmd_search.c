/* cmd_search.c - `mnemo search`: the memories of a user that best match a query. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_cmd cmd = {"search", "Find the memories of a user that best match a query.",
                            "--user ID --query TEXT [options]", cmd_search};

static int parse_status(const char *s)
{
    return (int)mn_status_parse(s);
}

static int parse_kind(const char *s)
{
    return (int)mn_kind_parse(s);
}

/* "active,archived" -> bits of the parsed values; 0 when a name is unknown. */
static unsigned name_mask(const char *s, int (*parse)(const char *))
{
    unsigned mask = 0;
    char buf[128];
    char *p, *save = NULL;
    if (strlen(s) >= sizeof buf)
        return 0;
    memcpy(buf, s, strlen(s) + 1);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int v = parse(p);
        if (v <= 0)
            return 0;
        mask |= 1u << v;
    }
    return mask;
}

int cmd_search(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "whose memories to search", NULL},
        {"query", "TEXT", "what to look for", NULL},
        {"k", "N", "how many results (1-1000, default 10)", NULL},
        {"mode", "MODE", "hybrid (default), vector or keyword", NULL},
        {"kind", "LIST", "only these kinds, e.g. message,fact", NULL},
        {"status", "LIST", "statuses to include (default active), e.g. active,archived", NULL},
        {"session", "ID", "only this session", NULL},
        {"since", "TIME", "only memories at or after this time", NULL},
        {"until", "TIME", "only memories before this time", NULL},
        {"as-of", "TIME", "when the question is asked: \"last week\" counts back from here "
                          "(default now)", NULL},
        {"min-score", "X", "drop results scoring below X", NULL},
        {"system", NULL, "search the tenant's system memories", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_search_opts so;
    mn_results *res = NULL;
    mn_db *db = NULL;
    mn_err err;
    long long k = 10;
    const char *s;
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    mn_search_opts_init(&so);
    so.filter.tenant = cli_get(opts, "tenant");
    so.filter.user_id = cli_get(opts, "user");
    so.filter.session_id = cli_get(opts, "session");
    so.query = cli_get(opts, "query");
    if (cli_flag(opts, "system")) {
        so.filter.scope = MN_SCOPE_SYSTEM;
        so.filter.user_id = NULL;
    } else if (!so.filter.user_id) {
        fprintf(stderr, "error: --user is required\n");
        return 2;
    }
    if (!so.query) {
        fprintf(stderr, "error: --query is required\n");
        return 2;
    }
    if ((rc = cli_int(opts, "k", 1, MN_MAX_K, &k)) != 0)
        return rc;
    so.k = (int)k;
    if ((s = cli_get(opts, "mode")) && mn_mode_parse(s, &so.mode)) {
        fprintf(stderr, "error: --mode must be hybrid, vector or keyword, got '%s'\n", s);
        return 2;
    }
    if ((s = cli_get(opts, "status")) && !(so.filter.statuses = name_mask(s, parse_status))) {
        fprintf(stderr, "error: --status takes active, archived, superseded (comma-separated), got '%s'\n", s);
        return 2;
    }
    if ((s = cli_get(opts, "kind")) && !(so.filter.kinds = name_mask(s, parse_kind))) {
        fprintf(stderr, "error: --kind takes message, preference, fact, summary (comma-separated), got '%s'\n", s);
        return 2;
    }
    if ((s = cli_get(opts, "min-score"))) {
        char *end;
        so.min_score = strtod(s, &end);
        if (end == s || *end) {
            fprintf(stderr, "error: --min-score must be a number, got '%s'\n", s);
            return 2;
        }
    }
    if ((rc = cli_time(opts, "since", &so.filter.since_ms)) ||
        (rc = cli_time(opts, "until", &so.filter.until_ms)) ||
        (rc = cli_time(opts, "as-of", &so.as_of_ms)))
        return rc;
    if ((rc = cli_open_db(opts, false, &db)) != 0)
        return rc;
    rc = mn_search(db, &so, &res, &err);
    if (rc) {
        rc = cli_fail("search failed", rc, &err);
    } else {
        if (res->note && res->note[0])
            fprintf(stderr, "note: %s\n", res->note);
        cli_print_results(res, cli_flag(opts, "json"), true);
    }
    mn_results_free(res);
    mn_db_close(db);
    return rc;
}

/* cli.c - option parsing, database opening and output shared by the subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static cli_opt *find_opt(cli_opt *opts, const char *name, size_t len)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
            return opts;
    return NULL;
}

void cli_usage(const cli_cmd *cmd, const cli_opt *opts, FILE *f)
{
    fprintf(f, "usage: mnemo %s %s\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary);
    for (; opts->name; opts++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts->name, opts->arg ? " " : "",
                 opts->arg ? opts->arg : "");
        fprintf(f, "  %-22s %s\n", left, opts->help);
    }
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, const char **pos,
              int max_pos, int *out_n_pos)
{
    int i, n_pos = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            cli_opt *o = find_opt(opts, name, len);
            if (!o) {
                fprintf(stderr, "error: unknown option '--%.*s' for 'mnemo %s'\n", (int)len,
                        name, cmd->name);
                fprintf(stderr, "hint: run 'mnemo %s --help' to see the options\n", cmd->name);
                return 2;
            }
            if (!o->arg) {
                if (eq) {
                    fprintf(stderr, "error: option '--%s' takes no value\n", o->name);
                    return 2;
                }
                o->value = "1";
            } else if (eq) {
                o->value = eq + 1;
            } else if (i + 1 < argc) {
                o->value = argv[++i];
            } else {
                fprintf(stderr, "error: option '--%s' needs a value (%s)\n", o->name, o->arg);
                return 2;
            }
        } else {
            if (n_pos >= max_pos) {
                fprintf(stderr, "error: unexpected argument '%s' for 'mnemo %s'\n", a,
                        cmd->name);
                fprintf(stderr, "hint: run 'mnemo %s --help'\n", cmd->name);
                return 2;
            }
            pos[n_pos++] = a;
        }
    }
    if (out_n_pos)
        *out_n_pos = n_pos;
    if (cli_get(opts, "help")) {
        cli_usage(cmd, opts, stdout);
        return 1;
    }
    return 0;
}

const char *cli_get(const cli_opt *opts, const char *name)
{
    for (; opts->name; opts++)
        if (!strcmp(opts->name, name))
            return opts->value;
    return NULL;
}

bool cli_flag(const cli_opt *opts, const char *name)
{
    return cli_get(opts, name) != NULL;
}

static void log_stderr(void *ctx, mn_log_level level, const char *msg)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    (void)ctx;
    fprintf(stderr, "%s: %s\n", names[level & 3], msg);
}

int cli_open_db(const cli_opt *opts, bool read_only, mn_db **out)
{
    mn_db_opts o;
    mn_err err;
    int rc;
    mn_db_opts_init(&o);
    o.path = cli_get(opts, "db") ? cli_get(opts, "db") : getenv("MNEMO_DB");
    o.model_path = cli_get(opts, "model");
    o.embedder = cli_get(opts, "embedder");
    o.read_only = read_only;
    o.log = log_stderr;
    o.log_level = MN_LOG_WARN;
    rc = mn_db_open(&o, out, &err);
    if (rc)
        return cli_fail("cannot open the database", rc, &err);
    return 0;
}

int cli_fail(const char *what, int rc, const mn_err *err)
{
    fprintf(stderr, "error: %s: %s\n", what, err && err->msg[0] ? err->msg : mn_strerror(rc));
    if (err && err->hint[0])
        fprintf(stderr, "hint: %s\n", err->hint);
    return rc == MN_EINVAL || rc == MN_ERANGE || rc == MN_ETOOBIG || rc == MN_EUTF8 ||
                   rc == MN_EPARSE
               ? 2
               : 1;
}

int cli_int(const cli_opt *opts, const char *name, long long lo, long long hi, long long *out)
{
    const char *v = cli_get(opts, name);
    char *end;
    long long x;
    if (!v)
        return 0;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "error: --%s must be an integer from %lld to %lld, got '%s'\n", name,
                lo, hi, v);
        return 2;
    }
    *out = x;
    return 0;
}

int cli_time(const cli_opt *opts, const char *name, int64_t *out_ms)
{
    const char *v = cli_get(opts, name);
    if (!v)
        return 0;
    if (mn_time_parse(v, out_ms) != MN_OK) {
        fprintf(stderr,
                "error: --%s must be a date like 2024-05-01 or 2024-05-01T10:00:00Z, got '%s'\n",
                name, v);
        return 2;
    }
    return 0;
}

static void fmt_date(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

/* Prints at most `width` display columns of s on one line (newlines become spaces). */
static void print_clipped(const char *s, int width)
{
    int cols = 0;
    for (; *s && cols < width; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c & 0xC0) == 0x80) {
            putchar(c);
            continue;
        }
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (cols == width - 1 && s[1]) {
            fputs("…", stdout);
            cols++;
            break;
        }
        putchar(c);
        cols++;
    }
}

void cli_print_results(const mn_results *r, bool json, bool scores)
{
    size_t i;
    if (json) {
        for (i = 0; i < r->n; i++) {
            char *s = NULL;
            size_t len;
            if (mn_memory_json(&r->hits[i].mem, &s, &len, NULL) != MN_OK)
                continue;
            if (scores) {
                /* splice the scores into the object */
                printf("{\"score\":%.4f,\"score_keyword\":%.4f,\"score_vector\":%.4f,%s\n",
                       r->hits[i].score, r->hits[i].score_keyword, r->hits[i].score_vector,
                       s + 1);
            } else {
                printf("%s\n", s);
            }
            mn_free(s);
        }
        return;
    }
    if (r->n == 0) {
        printf("(no memories)\n");
        return;
    }
    printf("%-8s %-16s %-10s %-9s %s%s\n", "ID", "DATE", "KIND", "ROLE", scores ? "SCORE  " : "",
           "TEXT");
    for (i = 0; i < r->n; i++) {
        const mn_memory *m = &r->hits[i].mem;
        char date[32];
        fmt_date(m->created_at_ms, date, sizeof date);
        printf("%-8lld %-16s %-10s %-9s ", (long long)m->id, date, mn_kind_name(m->kind),
               m->role ? mn_role_name(m->role) : "-");
        if (scores)
            printf("%.3f  ", r->hits[i].score);
        print_clipped(m->text, 72);
        putchar('\n');
    }
}

/* cmd_export.c - `mnemo export` (NDJSON to stdout or a file) and `mnemo import`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_IMPORT_BYTES ((size_t)1 << 32)

static const cli_cmd export_cmd = {"export",
                                   "Write memories as NDJSON (one user, or the whole tenant).",
                                   "[--user ID] [--out FILE]", cmd_export};
static const cli_cmd import_cmd = {"import", "Load NDJSON written by 'mnemo export'.",
                                   "FILE|-", cmd_import};

static int write_file(void *ctx, const char *buf, size_t len)
{
    return fwrite(buf, 1, len, ctx) == len ? 0 : MN_EIO;
}

int cmd_export(int argc, char **argv)
{
    cli_opt opts[] = {
        {"user", "ID", "only this user's memories (default: the whole tenant)", NULL},
        {"out", "FILE", "write to FILE instead of standard output", NULL},
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    mn_db *db = NULL;
    mn_err err;
    FILE *f = stdout;
    const char *out;
    int rc = cli_parse(&export_cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = cli_open_db(opts, true, &db)) != 0)
        return rc;
    out = cli_get(opts, "out");
    if (out && !(f = fopen(out, "w"))) {
        fprintf(stderr, "error: cannot write '%s': %s\n", out, strerror(errno));
        mn_db_close(db);
        return 1;
    }
    rc = mn_export(db, cli_get(opts, "tenant"), cli_get(opts, "user"), write_file, f, &err);
    if (rc)
        rc = cli_fail("export failed", rc, &err);
    if (fflush(f) != 0 || (out && fclose(f) != 0)) {
        fprintf(stderr, "error: writing the export failed: %s\n", strerror(errno));
        rc = 1;
    }
    mn_db_close(db);
    return rc;
}

/* Reads a whole file (or stdin for "-") into memory; NULL with a message on failure. */
static char *slurp(const char *path, size_t *out_len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char *data = NULL;
    size_t len = 0, cap = 0;
    if (!f) {
        fprintf(stderr, "error: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (len + 65536 + 1 > cap) {
            char *nd;
            cap = cap ? cap * 2 : 1 << 20;
            if (cap > MAX_IMPORT_BYTES) {
                fprintf(stderr, "error: '%s' is over the import limit of 4 GiB; split it\n", path);
                goto fail;
            }
            nd = realloc(data, cap); /* checksrc: allow (CLI buffer, not library memory) */
            if (!nd) {
                fprintf(stderr, "error: out of memory reading '%s'\n", path);
                goto fail;
            }
            data = nd;
        }
        got = fread(data + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "error: reading '%s' failed\n", path);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *out_len = len;
    return data;
fail:
    free(data); /* checksrc: allow */
    if (f != stdin)
        fclose(f);
    return NULL;
}

int cmd_import(int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_COMMON_OPTS,
        {NULL, NULL, NULL, NULL},
    };
    const char *pos[1];
    int n_pos = 0;
    mn_db *db = NULL;
    mn_err err;
    mn_import_stats st;
    char *data;
    size_t len = 0;
    int rc = cli_parse(&import_cmd, argc, argv, opts, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1) {
        fprintf(stderr, "error: name the file to import (or - for standard input)\n");
        return 2;
    }
    data = slurp(pos[0], &len);
    if (!data)
        return 1;
    if ((rc = cli_open_db(opts, false, &db)) != 0) {
        free(data); /* checksrc: allow */
        return rc;
    }
    rc = mn_import(db, cli_get(opts, "tenant"), data, len, &st, &err);
    if (rc)
        rc = cli_fail("import failed, nothing was stored", rc, &err);
    else if (cli_flag(opts, "json"))
        printf("{\"lines\":%lld,\"added\":%lld}\n", (long long)st.n_lines, (long long)st.n_added);
    else
        printf("imported %lld memories\n", (long long)st.n_added);
    free(data); /* checksrc: allow */
    mn_db_close(db);
    return rc;
}

/* common.c - the helpers every fuzz target links: scratch directory, a database per
 * process, failure reporting and input splitting (fuzz.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/core/core.h"
#include "fuzz.h"

static char dir[512];
static struct {
    char name[64];
    mn_db *db;
} dbs[4];

static void cleanup(void)
{
    char cmd[600];
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(dbs); i++)
        if (dbs[i].db) {
            mn_db_close(dbs[i].db);
            dbs[i].db = NULL;
        }
    if (dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: could not remove %s\n", dir);
    }
}

const char *fz_tmpdir(void)
{
    struct stat st;
    const char *base = getenv("TMPDIR");
    if (dir[0])
        return dir;
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/mnemo-fuzz-XXXXXX", base);
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        fz_fail("cannot create a directory under %s", base);
    }
    atexit(cleanup);
    return dir;
}

mn_db *fz_db(const char *name, const char *embedder)
{
    char path[700];
    mn_db_opts o;
    mn_err err;
    size_t i;
    int rc;
    for (i = 0; i < MN_ARRAY_LEN(dbs); i++)
        if (dbs[i].db && !strcmp(dbs[i].name, name))
            return dbs[i].db;
    for (i = 0; i < MN_ARRAY_LEN(dbs) && dbs[i].db; i++)
        ;
    if (i == MN_ARRAY_LEN(dbs))
        fz_fail("too many databases");
    snprintf(path, sizeof path, "%s/%s.db", fz_tmpdir(), name);
    mn_db_opts_init(&o);
    o.path = path;
    o.embedder = embedder;
    o.sync_normal = true;
    o.memory_budget_bytes = 64u << 20;
    rc = mn_db_open(&o, &dbs[i].db, &err);
    if (rc && !strcmp(embedder, "builtin")) {
        o.embedder = "mock";
        rc = mn_db_open(&o, &dbs[i].db, &err);
    }
    if (rc)
        fz_fail("cannot open %s: %s", path, err.msg);
    snprintf(dbs[i].name, sizeof dbs[i].name, "%s", name);
    return dbs[i].db;
}

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int64_t fz_live_bytes(void)
{
    return mn__alloc_live_bytes();
}

size_t fz_field(const uint8_t **p, size_t *n, uint8_t sep, char *out, size_t cap)
{
    const uint8_t *e = memchr(*p, sep, *n);
    size_t len = e ? (size_t)(e - *p) : *n;
    size_t keep = len < cap - 1 ? len : cap - 1;
    memcpy(out, *p, keep);
    out[keep] = '\0';
    *p += len;
    *n -= len;
    if (e) {
        (*p)++;
        (*n)--;
    }
    return len;
}

uint8_t *fz_patched_copy(const uint8_t *image, size_t len, const uint8_t **p, size_t *n,
                         uint8_t *flags)
{
    const uint8_t *d = *p;
    size_t size = *n, n_patch = d[0], i;
    uint8_t *copy = mn__malloc(len);
    if (!copy)
        fz_fail("out of memory");
    memcpy(copy, image, len);
    d++;
    size--;
    for (i = 0; i < n_patch && size >= 3; i++, d += 3, size -= 3)
        copy[((size_t)d[0] | (size_t)d[1] << 8) % len] = d[2];
    *flags = 0;
    if (size) {
        *flags = d[0];
        d++;
        size--;
    }
    *p = d;
    *n = size;
    return copy;
}

void fz_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
        fz_fail("cannot write %s", path);
}

/* retrieval.c - entry point of the retrieval benchmark: options, locating the dev data,
 * a scratch database directory, one run per dataset and the markdown report.
 * Exit status: 0 done, 1 the library failed, 2 bad usage or data. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static const char usage[] =
    "usage: retrieval [options]\n"
    "  --data DIR        dev data directory (default: ../shared/data from the repo root)\n"
    "  --dataset NAME    locomo | longmemeval | all (default all)\n"
    "  --limit N         at most N scored questions per dataset (default: all)\n"
    "  --db-dir DIR      where the databases go (default: a temp dir, removed after)\n"
    "  --embedder NAME   builtin | mock | none (default builtin)\n"
    "  --extract MODE    off | rules: extract facts and preferences on add (default off;\n"
    "                    a fact counts as a hit when one of its source turns is evidence)\n"
    "  --baseline-only   run the BM25 baselines only, no database\n"
    "  --out FILE        also write the markdown report to FILE\n"
    "  -h, --help        this text\n";

typedef struct options {
    const char *data_dir;
    const char *dataset;
    size_t limit;
    const char *db_dir;
    const char *embedder;
    const char *extract;
    const char *out;
    bool baseline_only;
} options;

/* dir + "/" + name into buf; -1 when it does not fit. */
static int path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The default data directory: ../shared/data from the working directory (make runs from
 * the repo root), else from the repo root found above the executable (build/bench/). */
static const char *default_data_dir(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n;
    int up;
    if (is_dir("../shared/data"))
        return "../shared/data";
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (up = 0; up < 3; up++) { /* build/bench/retrieval -> repo root */
            char *slash = strrchr(exe, '/');
            if (!slash)
                break;
            *slash = '\0';
        }
        if (up == 3) {
            if (path_join(buf, cap, exe, "../shared/data") == 0 && is_dir(buf))
                return buf;
        }
    }
    return "../shared/data";
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--data") == 0 || strcmp(a, "--dataset") == 0 ||
                     strcmp(a, "--limit") == 0 || strcmp(a, "--db-dir") == 0 ||
                     strcmp(a, "--embedder") == 0 || strcmp(a, "--out") == 0 ||
                     strcmp(a, "--extract") == 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strcmp(a, "--baseline-only") == 0) {
            o->baseline_only = true;
            continue;
        }
        if (!takes) {
            fprintf(stderr, "retrieval: unknown option '%s'\n%s", a, usage);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "retrieval: option %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--data") == 0) {
            o->data_dir = v;
        } else if (strcmp(a, "--dataset") == 0) {
            if (strcmp(v, "locomo") && strcmp(v, "longmemeval") && strcmp(v, "all")) {
                fprintf(stderr, "retrieval: --dataset is '%s', expected locomo, longmemeval "
                                "or all\n", v);
                return -1;
            }
            o->dataset = v;
        } else if (strcmp(a, "--limit") == 0) {
            if (parse_size(v, &o->limit) != 0) {
                fprintf(stderr, "retrieval: --limit is '%s', expected a count\n", v);
                return -1;
            }
        } else if (strcmp(a, "--db-dir") == 0) {
            o->db_dir = v;
        } else if (strcmp(a, "--embedder") == 0) {
            if (strcmp(v, "builtin") && strcmp(v, "mock") && strcmp(v, "none")) {
                fprintf(stderr, "retrieval: --embedder is '%s', expected builtin, mock or "
                                "none\n", v);
                return -1;
            }
            o->embedder = v;
        } else if (strcmp(a, "--extract") == 0) {
            if (strcmp(v, "off") && strcmp(v, "rules")) {
                fprintf(stderr, "retrieval: --extract is '%s', expected off or rules\n", v);
                return -1;
            }
            o->extract = strcmp(v, "off") ? v : NULL;
        } else {
            o->out = v;
        }
    }
    return 0;
}

/* Removes the files the library left in our own temp dir, then the dir. */
static void remove_tmp_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX];
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (path_join(p, sizeof p, dir, e->d_name) != 0 || unlink(p) != 0)
                fprintf(stderr, "retrieval: cannot remove %s: %s\n", p, strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "retrieval: cannot remove %s: %s\n", dir, strerror(errno));
}

int main(int argc, char **argv)
{
    options o = {NULL, "all", 0, NULL, "builtin", NULL, NULL, false};
    char data_buf[PATH_MAX], path[PATH_MAX], tmp_dir[PATH_MAX];
    const char *names[2];
    bt_dataset ds[2];
    bt_run runs[2];
    size_t n_ds = 0, i;
    bool made_tmp = false;
    int rc = 0;

    memset(ds, 0, sizeof ds);
    memset(runs, 0, sizeof runs);
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    if (!o.data_dir)
        o.data_dir = default_data_dir(data_buf, sizeof data_buf);
    if (!is_dir(o.data_dir)) {
        fprintf(stderr,
                "retrieval: data directory '%s' not found; pass --data DIR with "
                "locomo_dev.json.gz and longmemeval_s_dev.jsonl.gz (see shared/data/README.md)\n",
                o.data_dir);
        return 2;
    }
    if (strcmp(o.dataset, "longmemeval") != 0)
        names[n_ds++] = "locomo";
    if (strcmp(o.dataset, "locomo") != 0)
        names[n_ds++] = "longmemeval";

    /* Every dataset is parsed before the first mn_db_open: the library installs its own
     * cJSON allocator hooks process-wide, and cJSON trees must be freed by the allocator
     * that made them. */
    for (i = 0; i < n_ds; i++) {
        bool locomo = strcmp(names[i], "locomo") == 0;
        if (path_join(path, sizeof path, o.data_dir,
                      locomo ? "locomo_dev.json.gz" : "longmemeval_s_dev.jsonl.gz") != 0 ||
            access(path, R_OK) != 0) {
            fprintf(stderr, "retrieval: cannot read %s: %s\n", path, strerror(errno));
            rc = 2;
            goto cleanup;
        }
        if ((locomo ? bt_load_locomo(path, o.limit, &ds[i])
                    : bt_load_longmemeval(path, o.limit, &ds[i])) != 0) {
            rc = 2;
            goto cleanup;
        }
        fprintf(stderr, "retrieval: %s: %zu %ss, %zu memories, %zu questions\n", names[i],
                ds[i].n_corpora, ds[i].unit, ds[i].n_memories, ds[i].n_questions);
    }

    if (o.baseline_only) {
        for (i = 0; i < n_ds; i++)
            bt_run_baselines(&ds[i], &runs[i]);
    } else {
        bt_run_cfg cfg;
        if (o.db_dir) {
            for (i = 0; i < n_ds; i++) {
                char name[32];
                snprintf(name, sizeof name, "%s.db", names[i]);
                if (path_join(path, sizeof path, o.db_dir, name) != 0 ||
                    access(path, F_OK) == 0) {
                    fprintf(stderr, "retrieval: %s exists; remove it or pick another "
                                    "--db-dir (results must come from a fresh database)\n",
                            path);
                    rc = 2;
                    goto cleanup;
                }
            }
            cfg.db_dir = o.db_dir;
        } else {
            const char *tmp = getenv("TMPDIR");
            if (path_join(tmp_dir, sizeof tmp_dir, tmp && *tmp ? tmp : "/tmp",
                          "mnemo-retrieval-XXXXXX") != 0 ||
                !mkdtemp(tmp_dir)) {
                fprintf(stderr, "retrieval: cannot create a temp dir: %s\n", strerror(errno));
                rc = 1;
                goto cleanup;
            }
            made_tmp = true;
            cfg.db_dir = tmp_dir;
        }
        cfg.embedder = o.embedder;
        cfg.extract = o.extract;
        for (i = 0; i < n_ds; i++) {
            fprintf(stderr, "retrieval: running %s\n", names[i]);
            if (bt_run_dataset(&cfg, &ds[i], &runs[i]) != 0) {
                rc = 1;
                goto cleanup;
            }
        }
    }

    {
        bt_report_cfg rcfg = {o.data_dir, o.baseline_only ? "none" : o.embedder, o.dataset,
                              o.limit, o.db_dir, o.extract};
        bt_report_write(stdout, &rcfg, runs, n_ds);
        if (o.out) {
            FILE *f = fopen(o.out, "w");
            if (!f) {
                fprintf(stderr, "retrieval: cannot write %s: %s\n", o.out, strerror(errno));
                rc = 2;
                goto cleanup;
            }
            bt_report_write(f, &rcfg, runs, n_ds);
            if (fclose(f) != 0) {
                fprintf(stderr, "retrieval: writing %s failed: %s\n", o.out, strerror(errno));
                rc = 1;
            }
        }
    }
cleanup:
    for (i = 0; i < 2; i++) {
        bt_run_free(&runs[i]);
        bt_dataset_free(&ds[i]);
    }
    if (made_tmp)
        remove_tmp_dir(tmp_dir);
    return rc;
}

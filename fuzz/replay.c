/* replay.c - main() for a fuzz target built without libFuzzer: feeds every file named on
 * the command line (directories: every file in them, in name order) to the target's
 * LLVMFuzzerTestOneInput, once each. `make test` runs it over fuzz/corpus/<target>/ so that
 * every input that once crashed keeps being checked by a plain build. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/core/core.h"
#include "fuzz.h"

#define MAX_INPUT_BYTES (16u << 20)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    size_t n;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    data = mn__malloc(MAX_INPUT_BYTES);
    if (!data) {
        fclose(f);
        return 1;
    }
    n = fread(data, 1, MAX_INPUT_BYTES, f);
    fclose(f);
    /* A copy of exactly n bytes, so that sanitizers see reads past the end of the input. */
    {
        uint8_t *exact = mn__malloc(n ? n : 1);
        if (!exact) {
            mn__free(data);
            return 1;
        }
        memcpy(exact, data, n);
        mn__free(data);
        if (getenv("FUZZ_REPLAY_VERBOSE"))
            fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
        LLVMFuzzerTestOneInput(exact, n);
        mn__free(exact);
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, int *count)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", path);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char full[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            char **nn = mn__realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn) {
                rc = 1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = mn__strdup(full))) {
            rc = 1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp);
    for (i = 0; i < n; i++) {
        if (!rc && !(rc = run_file(names[i])))
            (*count)++;
        mn__free(names[i]);
    }
    mn__free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int i, count = 0, rc = 0;
    for (i = 1; i < argc && !rc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode))
            rc = run_dir(argv[i], &count);
        else if (!(rc = run_file(argv[i])))
            count++;
    }
    printf("replay: %d inputs, no crash\n", count);
    return rc;
}

/* paths.c - where the built-in model file is looked for when no path is given: the working
 * directory (a source checkout), next to the executable (build tree or install prefix), and
 * the system data directories. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "embed_int.h"

#define N_PATHS 6

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *paths[N_PATHS + 1];
static char beside_exe[2][PATH_MAX + 64];

/* Computed once: the executable does not move, and callers keep the pointers. */
static void compute(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int k = 0;
    paths[k++] = "models/" MN_MODEL_FILENAME;
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(beside_exe[0], sizeof beside_exe[0], "%s/../models/%s", exe,
                     MN_MODEL_FILENAME);
            snprintf(beside_exe[1], sizeof beside_exe[1], "%s/../share/mnemo/%s", exe,
                     MN_MODEL_FILENAME);
            paths[k++] = beside_exe[0];
            paths[k++] = beside_exe[1];
        }
    }
    paths[k++] = "/usr/local/share/mnemo/" MN_MODEL_FILENAME;
    paths[k++] = "/usr/share/mnemo/" MN_MODEL_FILENAME;
    paths[k] = NULL;
}

const char *const *mn__embed_default_paths(void)
{
    pthread_once(&once, compute);
    return paths;
}

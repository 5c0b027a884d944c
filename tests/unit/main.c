/* main.c - the unit test runner. Each test runs in a forked child with a timeout; a test
 * passes when it returns, and nothing it allocated through the counting allocator is still
 * live. Usage: test-unit [name-substring...]. Ends with "N passed, N failed". */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/core.h"
#include "t.h"

#define MAX_TESTS 1024
#define TIMEOUT_S 120

static struct {
    const char *name, *file;
    t_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static char tmpdir[256];

void t_register(const char *name, const char *file, t_fn fn)
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].file = file;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    _exit(1);
}

const char *t_tmpdir(void)
{
    return tmpdir;
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

static int matches(const char *name, int argc, char **argv)
{
    int i;
    if (argc < 2)
        return 1;
    for (i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int i, passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (i = 0; i < n_tests; i++) {
        pid_t pid;
        int status = 0;
        int64_t t0;
        if (!matches(tests[i].name, argc, argv))
            continue;
        t0 = mn__mono_ns();
        snprintf(tmpdir, sizeof tmpdir, "%s/mnemo-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 1;
        }
        pid = fork();
        if (pid == 0) {
            alarm(TIMEOUT_S);
            tests[i].fn();
            if (mn__alloc_live_bytes() != 0) {
                fprintf(stderr, "    leak: %lld bytes in %lld blocks still allocated\n",
                        (long long)mn__alloc_live_bytes(), (long long)mn__alloc_live_blocks());
                _exit(2);
            }
            _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        rm_rf(tmpdir);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
            printf("ok   %-44s %7.1f ms\n", tests[i].name, (mn__mono_ns() - t0) / 1e6);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("FAIL %-44s (signal %d%s)\n", tests[i].name, WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? ", timeout" : "");
            else
                printf("FAIL %-44s (%s)\n", tests[i].name, tests[i].file);
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

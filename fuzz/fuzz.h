/* fuzz.h - what the fuzz targets share: the libFuzzer entry points, a scratch directory per
 * process, a database opened once per process, and the check that a target returned every
 * byte it allocated. Each target also builds without libFuzzer, with fuzz/replay.c as its
 * main(), so that `make test` replays the corpus with a plain compiler. */
#ifndef MN_FUZZ_H
#define MN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory for this process's files (under $TMPDIR, /dev/shm when it exists), created
 * on first use and removed at exit. */
const char *fz_tmpdir(void);

/* A database in fz_tmpdir() named `name`, opened on first use with synchronous=NORMAL (a
 * fuzzer commits thousands of times a second) and the given embedder ("mock", "builtin"
 * falls back to "mock" when no model file is found). Closed at exit. Aborts when it cannot
 * be opened: the target cannot run at all then. */
mn_db *fz_db(const char *name, const char *embedder);

/* Dies loudly (a finding for libFuzzer, a failure for the replay) with a message. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Live bytes of the counting allocator: a target that keeps no state between inputs checks
 * that an input leaves this number unchanged. */
int64_t fz_live_bytes(void);
#define FZ_NO_LEAK(before)                                                                   \
    do {                                                                                     \
        int64_t now_ = fz_live_bytes();                                                      \
        if (now_ != (before))                                                                \
            fz_fail("leak: %lld bytes live before the input, %lld after", (long long)(before), \
                    (long long)now_);                                                        \
    } while (0)

/* Splits off the next field of an input: bytes up to `sep` (or the end). *p and *n advance
 * past it and the separator. The field is copied into out (NUL-terminated, at most cap-1
 * bytes kept) and its full length returned. */
size_t fz_field(const uint8_t **p, size_t *n, uint8_t sep, char *out, size_t cap);

#endif /* MN_FUZZ_H */

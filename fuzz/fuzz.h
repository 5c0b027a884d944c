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

/* A damaged copy of a file image, for the file targets. The input starts with a count of
 * patches, then 3 bytes per patch (a 16-bit little-endian offset, taken modulo len, and the
 * byte written there), then one byte of flags for the target (0 when the input ends first).
 * *p and *n (*n >= 1) advance past what was used. The copy is the caller's, freed with
 * mn__free. */
uint8_t *fz_patched_copy(const uint8_t *image, size_t len, const uint8_t **p, size_t *n,
                         uint8_t *flags);

/* Writes len bytes of buf to path, or fails. */
void fz_write_file(const char *path, const void *buf, size_t len);

#endif /* MN_FUZZ_H */

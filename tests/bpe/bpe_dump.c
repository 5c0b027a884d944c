/* bpe_dump.c - test driver for tests/bpe/compare.js: encodes each input line (UTF-8 given as
 * hex) with the C tokenizer and prints "<count> <cn> <estimate> <id> <id> ...", where cn is
 * the number of code points utf8proc has as unassigned (to spot Unicode version skew against
 * node) and estimate is mn__bpe_estimate of the line.
 * It also re-merges every piece with the heap merge and prints "ERR ..." on any difference.
 * Usage: bpe_dump ENCODING FILE   |   bpe_dump --bench ENCODING FILE [REPEAT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "../../src/context/bpe_int.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static size_t count_unassigned(const uint8_t *s, size_t n)
{
    size_t cn = 0;
    utf8proc_ssize_t i = 0;
    while ((size_t)i < n) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - (size_t)i), &c);
        if (k <= 0) {
            i++;
            continue;
        }
        if (utf8proc_category(c) == UTF8PROC_CATEGORY_CN)
            cn++;
        i += k;
    }
    return cn;
}

/* The same encoding with every piece that is not one token merged by the heap merge. */
static int encode_via_large(const mn__bpe *b, const uint8_t *s, size_t n, mn__bpe_sink *sink)
{
    for (size_t pos = 0; pos < n;) {
        size_t end = mn__bpe_pretok_next(b->pretok, s, n, pos);
        uint32_t r = mn__bpe_rank(b, s + pos, end - pos);
        if (r != MN__BPE_NO_RANK)
            mn__bpe_sink_put(sink, r);
        else if (mn__bpe_merge_large(b, s + pos, end - pos, sink) != MN_OK)
            return -1;
        pos = end;
    }
    return 0;
}

static int dump(const mn__bpe *b, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, in)) >= 0) {
        size_t hl = (size_t)got;
        while (hl > 0 && (line[hl - 1] == '\n' || line[hl - 1] == '\r'))
            hl--;
        size_t n = hl / 2;
        uint8_t *s = malloc(n + 1);
        uint32_t *ids = malloc((n + 1) * sizeof *ids);
        uint32_t *ids2 = malloc((n + 1) * sizeof *ids2);
        if (!s || !ids || !ids2)
            return 2;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint8_t)(hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
        size_t count = 0, n_ids = 0;
        int rc1 = mn__bpe_count(b, (const char *)s, n, &count);
        int rc2 = mn__bpe_encode(b, (const char *)s, n, ids, n + 1, &n_ids);
        mn__bpe_sink sink = {ids2, n + 1, 0};
        int rc3 = encode_via_large(b, s, n, &sink);
        if (rc1 || rc2 || rc3 || count != n_ids || sink.n != n_ids ||
            memcmp(ids, ids2, n_ids * sizeof *ids) != 0) {
            printf("ERR rc %d %d %d count %zu encode %zu large %zu\n", rc1, rc2, rc3, count,
                   n_ids, sink.n);
        } else {
            printf("%zu %zu %zu", count, count_unassigned(s, n),
                   mn__bpe_estimate((const char *)s, n));
            for (size_t i = 0; i < n_ids; i++)
                printf(" %u", ids[i]);
            putchar('\n');
        }
        free(s);
        free(ids);
        free(ids2);
    }
    free(line);
    return 0;
}

static int bench(const mn__bpe *b, const char *path, int repeat)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 2;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
        return 2;
    fclose(f);
    size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < repeat; r++)
        if (mn__bpe_count(b, buf, (size_t)sz, &n) != MN_OK)
            return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: %ld bytes, %zu tokens, %.1f MB/s (%d x in %.3f s)\n", mn__bpe_name(b), sz, n,
           (double)sz * repeat / s / 1e6, repeat, s);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int is_bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
    int a = is_bench ? 2 : 1;
    if (argc < a + 2) {
        fprintf(stderr, "usage: bpe_dump [--bench] ENCODING FILE [REPEAT]\n");
        return 2;
    }
    mn__bpe *b;
    mn_err err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int orc = mn__bpe_open(argv[a], NULL, &b, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (is_bench && orc == MN_OK)
        printf("%s: opened in %.1f ms\n", argv[a],
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    if (orc != MN_OK) {
        fprintf(stderr, "bpe_dump: %s\n", err.msg);
        return 2;
    }
    int rc;
    if (is_bench) {
        rc = bench(b, argv[a + 1], argc > a + 2 ? (int)strtol(argv[a + 2], NULL, 10) : 5);
    } else {
        FILE *in = fopen(argv[a + 1], "r");
        if (!in) {
            fprintf(stderr, "bpe_dump: cannot open %s\n", argv[a + 1]);
            mn__bpe_close(b);
            return 2;
        }
        rc = dump(b, in);
        fclose(in);
    }
    mn__bpe_close(b);
    return rc;
}

/* perf.h - shared pieces of the performance benchmarks (bench/perf): clock, seeded random
 * numbers, deterministic text, the PASS/FAIL target lines that run.sh collects into
 * bench/results/perf.md, and a markdown section writer. */
#ifndef MN_BENCH_PERF_H
#define MN_BENCH_PERF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PERF_MIN(a, b) ((a) < (b) ? (a) : (b))

/* Monotonic seconds. */
double perf_now(void);

/* xorshift64* : the same sequence on every machine for a given seed. */
typedef struct perf_rng {
    uint64_t s;
} perf_rng;
void perf_rng_seed(perf_rng *r, uint64_t seed);
uint64_t perf_rng_next(perf_rng *r);
double perf_rng_unit(perf_rng *r);   /* [0, 1) */
float perf_rng_gauss(perf_rng *r);   /* N(0, 1) */

/* A sentence of n_words words drawn from a fixed English vocabulary (plus a per-user topic
 * word every few words, so that users differ). Writes at most cap bytes, NUL-terminated;
 * returns the length. */
size_t perf_sentence(perf_rng *r, int topic, int n_words, char *out, size_t cap);
/* One vocabulary word (for queries). */
const char *perf_word(perf_rng *r);
const char *perf_topic_word(int topic);

/* Prints "PASS | name | value | target | detail" (or FAIL) to stdout: run.sh collects these
 * lines into the target table of bench/results/perf.md. Returns 1 on PASS. */
int perf_target(const char *name, double value, double need, int higher_is_better,
                const char *detail);

/* Percentile (0..100) of n doubles; sorts v in place. */
double perf_percentile(double *v, size_t n, double pct);

#endif

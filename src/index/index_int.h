/* index_int.h - shared between the files of src/index only: the per-ISA kernel tables (each
 * returns NULL when its file was built without the instruction set) and the prefetch of the
 * SIMD scans. */
#ifndef MN_INDEX_INT_H
#define MN_INDEX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

const mn__kernels *mn__kernels_avx2_table(void);
const mn__kernels *mn__kernels_avx512_table(void);

/* The scans score four rows at a time and read them interleaved (row 0 chunk 0, row 1
 * chunk 0, ...): four streams a row apart, which the hardware prefetcher follows worse than
 * one. Software prefetch of the rows ahead, measured with build/bench/perf/kernels on
 * 100k-row partitions (docs/PERFORMANCE.md 3.1): float32 4 rows ahead for rows of at most
 * 512 floats (longer rows gained nothing), int8 16 rows ahead. */
#define MN__PF_F32_ROWS 4
#define MN__PF_F32_MAX_DIM 512
#define MN__PF_I8_ROWS 16

/* Prefetches the `bytes` bytes that start `ahead` bytes past p, a cache line at a time. Past
 * the end of the rows too (a scan is called block by block): a prefetch never faults, and
 * the address is made as an integer, not by pointer arithmetic beyond the array. */
static inline void mn__prefetch_ahead(const void *p, size_t ahead, size_t bytes)
{
    uintptr_t a = (uintptr_t)p + ahead;
    size_t o;
    for (o = 0; o < bytes; o += 64)
        __builtin_prefetch((const void *)(a + o));
}

#endif /* MN_INDEX_INT_H */

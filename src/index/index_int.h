/* index_int.h - shared between the files of src/index only: the per-ISA kernel tables.
 * Each returns NULL when its file was built without the instruction set. */
#ifndef MN_INDEX_INT_H
#define MN_INDEX_INT_H

#include "index.h"

const mn__kernels *mn__kernels_avx2_table(void);
const mn__kernels *mn__kernels_avx512_table(void);

#endif /* MN_INDEX_INT_H */

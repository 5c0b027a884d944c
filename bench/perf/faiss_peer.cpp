// faiss_peer.cpp - the FAISS peer of the kernels bench: IndexFlatIP behind a C interface
// (Debian's libfaiss-dev ships the C API headers but not its objects). Bench-only code.
#include <faiss/IndexFlat.h>
#include <omp.h>

#include "faiss_peer.h"

extern "C" {

void *faiss_peer_new(int dim, const float *base, size_t n)
{
    // one thread: the comparison is single query against a single-threaded scan
    omp_set_num_threads(1);
    try {
        faiss::IndexFlatIP *ix = new faiss::IndexFlatIP(dim);
        ix->add((faiss::Index::idx_t)n, base);
        return ix;
    } catch (...) {
        return nullptr;
    }
}

int faiss_peer_search(void *ix, const float *q, int k, float *out_score, int64_t *out_idx)
{
    try {
        static_cast<faiss::IndexFlatIP *>(ix)->search(1, q, k, out_score,
                                                      reinterpret_cast<faiss::Index::idx_t *>(out_idx));
        return 0;
    } catch (...) {
        return -1;
    }
}

void faiss_peer_free(void *ix)
{
    delete static_cast<faiss::IndexFlatIP *>(ix);
}
}

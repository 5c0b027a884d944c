/* faiss_peer.h - C interface to the FAISS IndexFlatIP peer (faiss_peer.cpp). */
#ifndef MN_BENCH_FAISS_PEER_H
#define MN_BENCH_FAISS_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NULL on failure; base is copied. */
void *faiss_peer_new(int dim, const float *base, size_t n);
/* Top-k of one query by inner product, best first. 0 or -1. */
int faiss_peer_search(void *ix, const float *q, int k, float *out_score, int64_t *out_idx);
void faiss_peer_free(void *ix);

#ifdef __cplusplus
}
#endif

#endif

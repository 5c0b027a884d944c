// hnswlib_peer.cpp - the peer of bench/hnsw: hnswlib (Debian libhnswlib-dev, header-only)
// behind three C functions, so that the benchmark itself stays C. Inner product space on
// the same unit vectors mnemo indexes; single-threaded build and search, like mnemo's.
#include <hnswlib/hnswlib.h>

#include <cstdint>
#include <new>

namespace {
struct peer {
    hnswlib::InnerProductSpace space;
    hnswlib::HierarchicalNSW<float> index;
    peer(int d, size_t n, int m, int efc, unsigned seed)
        : space((size_t)d), index(&space, n, (size_t)m, (size_t)efc, seed)
    {
    }
};
} // namespace

extern "C" {

void *peer_build(const float *data, size_t n, int d, int m, int efc, unsigned seed)
{
    peer *p = new (std::nothrow) peer(d, n, m, efc, seed);
    if (!p)
        return nullptr;
    for (size_t i = 0; i < n; i++)
        p->index.addPoint(data + i * (size_t)d, (hnswlib::labeltype)i);
    return p;
}

// Top k labels of q at search width ef, best first; returns how many.
int peer_search(void *h, const float *q, int k, int ef, uint32_t *out)
{
    peer *p = static_cast<peer *>(h);
    p->index.setEf((size_t)ef);
    auto r = p->index.searchKnn(q, (size_t)k);
    int n = (int)r.size();
    for (int i = n - 1; i >= 0; i--) { // the queue pops the farthest first
        out[i] = (uint32_t)r.top().second;
        r.pop();
    }
    return n;
}

size_t peer_bytes(void *h)
{
    peer *p = static_cast<peer *>(h);
    return p->index.max_elements_ * p->index.size_data_per_element_;
}

void peer_free(void *h)
{
    delete static_cast<peer *>(h);
}
}

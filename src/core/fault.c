/* fault.c - the countdown that test hooks use to fail the n-th call of something (store
 * calls, embedder calls): armed with n, the n-th following call is the one that fails. */
#include "core.h"

void mn__fault_arm(mn__fault *f, int64_t n)
{
    atomic_store(&f->calls, 0);
    atomic_store(&f->countdown, n > 0 ? n : 0);
}

bool mn__fault_hit(mn__fault *f)
{
    int64_t c = atomic_load(&f->countdown);
    atomic_fetch_add(&f->calls, 1);
    while (c > 0)
        if (atomic_compare_exchange_weak(&f->countdown, &c, c - 1))
            return c == 1;
    return false;
}

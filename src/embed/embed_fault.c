/* embed_fault.c - test hook: fault injection for embedder (provider) calls. While enabled,
 * the embedder a database opens is wrapped so that every embed call is counted and
 * forwarded; after mn__embed_fail_after(n) the n-th call that follows fails with
 * MN_EPROVIDER, as a provider that is down would fail. Disabled (the default) nothing is
 * wrapped. */
#include <stdatomic.h>

#include "embed.h"

typedef struct fault_emb {
    mn__embedder base; /* the real one's fields, with the calls replaced */
    mn__embedder *real;
} fault_emb;

static _Atomic bool enabled;
static mn__fault fault;

void mn__embed_fault_enable(bool on)
{
    atomic_store(&enabled, on);
}

void mn__embed_fail_after(int64_t n)
{
    mn__fault_arm(&fault, n);
}

int64_t mn__embed_fault_calls(void)
{
    return atomic_load(&fault.calls);
}

/* Counts one call; 1 when it is the one that must fail. */
static int hit(mn_err *err)
{
    if (!mn__fault_hit(&fault))
        return 0;
    mn__err_set(err, MN_EPROVIDER, "injected by a test (mn__embed_fail_after)",
                "embedder call failed: injected fault");
    return 1;
}

static int f_embed(mn__embedder *e, const char *text, size_t len, float *out, mn_err *err)
{
    mn__embedder *real = ((fault_emb *)e)->real;
    return hit(err) ? MN_EPROVIDER : real->embed(real, text, len, out, err);
}

static int f_embed_batch(mn__embedder *e, const char *const *texts, const size_t *lens,
                         size_t n, int use, float *out, mn_err *err)
{
    mn__embedder *real = ((fault_emb *)e)->real;
    return hit(err) ? MN_EPROVIDER : real->embed_batch(real, texts, lens, n, use, out, err);
}

static void f_free(mn__embedder *e)
{
    fault_emb *f = (fault_emb *)e;
    if (!f)
        return;
    f->real->destroy(f->real);
    mn__free(f);
}

int mn__embed_fault_wrap(mn__embedder **e)
{
    fault_emb *f;
    if (!*e || !atomic_load(&enabled))
        return MN_OK;
    f = mn__calloc(1, sizeof *f);
    if (!f)
        return MN_ENOMEM;
    f->base = **e;
    f->real = *e;
    f->base.embed = f_embed;
    f->base.destroy = f_free;
    if (f->real->embed_batch)
        f->base.embed_batch = f_embed_batch;
    *e = &f->base;
    return MN_OK;
}

/* store_fault.c - test hook: fault injection for store calls. While the hook is enabled, a
 * database opened gets an ops table that counts every call and forwards it to the real
 * backend; after mn__store_fail_after(n) the n-th call that follows fails with MN_EIO, as
 * a full disk or a dropped connection would make it fail. Disabled (the default) the real
 * table is used untouched. Tests only: one backend per process while enabled. */
#include <stdatomic.h>

#include "store.h"

static _Atomic bool enabled;
static mn__fault fault;
static const struct mn__store_ops *real;
static struct mn__store_ops wrapped;

void mn__store_fault_enable(bool on)
{
    atomic_store(&enabled, on);
}

void mn__store_fail_after(int64_t n)
{
    mn__fault_arm(&fault, n);
}

int64_t mn__store_fault_calls(void)
{
    return atomic_load(&fault.calls);
}

/* Counts one call; 1 when it is the one that must fail. */
static int hit(mn_err *err)
{
    if (!mn__fault_hit(&fault))
        return 0;
    mn__err_set(err, MN_EIO, "injected by a test (mn__store_fail_after)",
                "store call failed: injected fault");
    return 1;
}

static int f_open(const char *uri, const mn__store_cfg *cfg, mn__store **out, mn_err *err)
{
    return hit(err) ? MN_EIO : real->open(uri, cfg, out, err);
}

static int f_put_batch(mn__store *s, mn__row *rows, size_t n, mn_err *err)
{
    return hit(err) ? MN_EIO : real->put_batch(s, rows, n, err);
}

static int f_get_many(mn__store *s, const mn__pkey *k, const mn_id *ids, size_t n,
                      mn__arena *a, mn__row *out, bool *found, mn_err *err)
{
    return hit(err) ? MN_EIO : real->get_many(s, k, ids, n, a, out, found, err);
}

static int f_get(mn__store *s, const mn__pkey *k, mn_id id, mn__arena *a, mn__row *out,
                 mn_err *err)
{
    return hit(err) ? MN_EIO : real->get(s, k, id, a, out, err);
}

static int f_scan_partition(mn__store *s, const mn__pkey *k, mn__row_fn fn, void *ctx,
                            mn_err *err)
{
    return hit(err) ? MN_EIO : real->scan_partition(s, k, fn, ctx, err);
}

static int f_list(mn__store *s, const mn_filter *f, mn_id after, int limit, mn__arena *a,
                  mn__row **out_rows, size_t *out_n, int64_t *out_total, mn_err *err)
{
    return hit(err) ? MN_EIO
                    : real->list(s, f, after, limit, a, out_rows, out_n, out_total, err);
}

static int f_update(mn__store *s, const mn__pkey *k, mn_id id, const mn__row_patch *p,
                    mn_err *err)
{
    return hit(err) ? MN_EIO : real->update(s, k, id, p, err);
}

static int f_delete_one(mn__store *s, const mn__pkey *k, mn_id id, mn_err *err)
{
    return hit(err) ? MN_EIO : real->delete_one(s, k, id, err);
}

static int f_delete_partition(mn__store *s, const mn__pkey *k, int64_t *out_n, mn_err *err)
{
    return hit(err) ? MN_EIO : real->delete_partition(s, k, out_n, err);
}

static int f_scan_tenant(mn__store *s, const char *tenant, mn__row_fn fn, void *ctx,
                         mn_err *err)
{
    return hit(err) ? MN_EIO : real->scan_tenant(s, tenant, fn, ctx, err);
}

static int f_history(mn__store *s, const mn__pkey *k, mn_id id, mn__row_fn fn, void *ctx,
                     mn_err *err)
{
    return hit(err) ? MN_EIO : real->history(s, k, id, fn, ctx, err);
}

static int f_version(mn__store *s, const mn__pkey *k, int64_t *out_version, mn_err *err)
{
    return hit(err) ? MN_EIO : real->version(s, k, out_version, err);
}

static int f_stats(mn__store *s, mn__store_stats *out, mn_err *err)
{
    return hit(err) ? MN_EIO : real->stats(s, out, err);
}

static int f_key_put(mn__store *s, mn__key_row *k, mn_err *err)
{
    return hit(err) ? MN_EIO : real->key_put(s, k, err);
}

static int f_key_find(mn__store *s, const char *prefix, mn__arena *a, mn__key_row **out_rows,
                      size_t *out_n, mn_err *err)
{
    return hit(err) ? MN_EIO : real->key_find(s, prefix, a, out_rows, out_n, err);
}

static int f_key_list(mn__store *s, mn__arena *a, mn__key_row **out_rows, size_t *out_n,
                      mn_err *err)
{
    return hit(err) ? MN_EIO : real->key_list(s, a, out_rows, out_n, err);
}

static int f_key_revoke(mn__store *s, mn_id id, mn_err *err)
{
    return hit(err) ? MN_EIO : real->key_revoke(s, id, err);
}

static int f_key_count_active(mn__store *s, int64_t *out_n, mn_err *err)
{
    return hit(err) ? MN_EIO : real->key_count_active(s, out_n, err);
}

static int f_user_list(mn__store *s, const char *tenant, const char *after, int limit,
                       mn__arena *a, mn__user_row **out_rows, size_t *out_n,
                       int64_t *out_total, mn_err *err)
{
    return hit(err) ? MN_EIO
                    : real->user_list(s, tenant, after, limit, a, out_rows, out_n, out_total,
                                      err);
}

static int f_user_get(mn__store *s, const char *tenant, const char *user_id,
                      mn__user_row *out, mn_err *err)
{
    return hit(err) ? MN_EIO : real->user_get(s, tenant, user_id, out, err);
}

const struct mn__store_ops *mn__store_fault_wrap(const struct mn__store_ops *ops)
{
    if (!ops || !atomic_load(&enabled))
        return ops;
    real = ops;
    /* Calls this file does not know pass through uncounted; NULL entries stay NULL. */
    wrapped = *ops;
#define WRAP(f)                                                                              \
    if (ops->f)                                                                              \
        wrapped.f = f_##f;
    WRAP(open)
    WRAP(put_batch)
    WRAP(get)
    WRAP(get_many)
    WRAP(scan_partition)
    WRAP(list)
    WRAP(update)
    WRAP(delete_one)
    WRAP(delete_partition)
    WRAP(scan_tenant)
    WRAP(history)
    WRAP(version)
    WRAP(stats)
    WRAP(key_put)
    WRAP(key_find)
    WRAP(key_list)
    WRAP(key_revoke)
    WRAP(key_count_active)
    WRAP(user_list)
    WRAP(user_get)
#undef WRAP
    return &wrapped;
}

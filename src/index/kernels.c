/* kernels.c - scalar reference kernels, run-time selection of the fastest variant this CPU
 * supports, and the small vector helpers (int8 quantisation, normalisation). The scalar
 * code is the definition every SIMD variant is tested against. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "index_int.h"

static float dot_f32(const float *a, const float *b, size_t d)
{
    float s = 0.0f;
    size_t i;
    for (i = 0; i < d; i++)
        s += a[i] * b[i];
    return s;
}

static int32_t dot_i8(const int8_t *a, const int8_t *b, size_t d)
{
    int32_t s = 0;
    size_t i;
    for (i = 0; i < d; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static void scan_f32(const float *q, const float *base, size_t n, size_t d, float *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = dot_f32(q, base + i * d, d);
}

static void scan_i8(const int8_t *q, const int8_t *base, size_t n, size_t d, int32_t *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = dot_i8(q, base + i * d, d);
}

static const mn__kernels scalar = {"scalar", dot_f32, dot_i8, scan_f32, scan_i8};

const mn__kernels *mn__kernels_scalar(void)
{
    return &scalar;
}

static int cpu_has(const char *name)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("fma");
#else
    (void)name;
#endif
    return 0;
}

const mn__kernels *mn__kernels_named(const char *name)
{
    if (!name)
        return NULL;
    if (!strcmp(name, "scalar"))
        return &scalar;
    if (!strcmp(name, "avx2") && cpu_has("avx2"))
        return mn__kernels_avx2_table();
    if (!strcmp(name, "avx512") && cpu_has("avx512"))
        return mn__kernels_avx512_table();
    return NULL;
}

static _Atomic(const mn__kernels *) chosen;

const mn__kernels *mn__kernels_best(void)
{
    const mn__kernels *k = atomic_load_explicit(&chosen, memory_order_acquire);
    const char *force;
    if (k)
        return k;
    /* MNEMO_KERNEL forces a variant (for tests and benchmarks); an unknown or unsupported
     * name falls back to the automatic choice. Racing threads compute the same answer. */
    force = getenv("MNEMO_KERNEL");
    if (force && *force)
        k = mn__kernels_named(force);
    if (!k)
        k = mn__kernels_named("avx512");
    if (!k)
        k = mn__kernels_named("avx2");
    if (!k)
        k = &scalar;
    atomic_store_explicit(&chosen, k, memory_order_release);
    return k;
}

void mn__quantize_i8(const float *v, size_t d, int8_t *out, float *out_scale)
{
    float m = 0.0f, inv;
    size_t i;
    for (i = 0; i < d; i++) {
        float a = fabsf(v[i]);
        if (a > m)
            m = a;
    }
    if (!(m > 0.0f) || !isfinite(m)) { /* zero (or broken) vector: no direction to keep */
        memset(out, 0, d);
        *out_scale = 0.0f;
        return;
    }
    *out_scale = m / 127.0f;
    inv = 127.0f / m;
    for (i = 0; i < d; i++) {
        long r = lrintf(v[i] * inv);
        out[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
}

float mn__normalize(float *v, size_t d)
{
    double s = 0.0;
    float norm, inv;
    size_t i;
    for (i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    norm = (float)sqrt(s);
    if (!(norm > 0.0f) || !isfinite(norm))
        return norm;
    inv = 1.0f / norm;
    for (i = 0; i < d; i++)
        v[i] *= inv;
    return norm;
}

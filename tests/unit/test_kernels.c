/* test_kernels.c - every SIMD kernel variant this CPU runs against the scalar reference on
 * random data (float within a relative tolerance, int8 exactly), the dispatcher, and the
 * quantisation / normalisation helpers. */
#include <stdlib.h>

#include "../../src/index/index.h"
#include "t.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float rndf(void) /* [-1, 1) */
{
    return (float)((double)rnd() / 4294967296.0 * 2.0 - 1.0);
}

static const char *const variants[] = {"avx2", "avx512"};

/* Tolerance for float dots: rounding grows with the sum of |a_i * b_i|, not with the
 * (possibly cancelling) result. */
static double tol(const float *a, const float *b, size_t d)
{
    double s = 0;
    size_t i;
    for (i = 0; i < d; i++)
        s += fabs((double)a[i] * b[i]);
    return 2e-6 * s + 1e-6;
}

static void check_variant(const mn__kernels *k)
{
    const mn__kernels *ref = mn__kernels_scalar();
    enum { MAXD = 1601, ROWS = 9 };
    static const size_t big[] = {95,  96,  97,  100, 127, 128,  129,  255,  256,  257, 300, 384,
                                 511, 512, 513, 768, 999, 1000, 1023, 1024, 1025, 1536, 1599,
                                 1600};
    float *a = mn__malloc(sizeof(float) * (MAXD + 1) * (ROWS + 1));
    int8_t *qa = mn__malloc((MAXD + 1) * (ROWS + 1));
    float *o1 = mn__malloc(sizeof(float) * ROWS), *o2 = mn__malloc(sizeof(float) * ROWS);
    int32_t *i1 = mn__malloc(sizeof(int32_t) * ROWS), *i2 = mn__malloc(sizeof(int32_t) * ROWS);
    size_t d, i, r, n, di;
    ASSERT(a && qa && o1 && o2 && i1 && i2);
    for (di = 0; di < 70 + MN_ARRAY_LEN(big); di++) {
        d = di < 70 ? di + 1 : big[di - 70];
        /* +1 offsets make every row unaligned */
        float *fq = a + 1, *fb = a + 1 + d;
        int8_t *iq = qa + 1, *ib = qa + 1 + d;
        for (i = 0; i < d * (ROWS + 1); i++) {
            fq[i] = rndf();
            iq[i] = (int8_t)(rnd() & 0xFF); /* the whole range, -128 included */
        }
        if (d % 7 == 0) /* extremes: the VNNI bias trick must still be exact */
            for (i = 0; i < d * (ROWS + 1); i++)
                iq[i] = (i & 1) ? -128 : 127;
        ASSERT_NEAR(k->dot_f32(fq, fb, d), ref->dot_f32(fq, fb, d), tol(fq, fb, d));
        ASSERT_EQ(k->dot_i8(iq, ib, d), ref->dot_i8(iq, ib, d));
        for (n = 0; n <= ROWS; n += (n < 5 ? 1 : 4)) {
            k->scan_f32(fq, fb, n, d, o1);
            ref->scan_f32(fq, fb, n, d, o2);
            k->scan_i8(iq, ib, n, d, i1);
            ref->scan_i8(iq, ib, n, d, i2);
            for (r = 0; r < n; r++) {
                ASSERT_NEAR(o1[r], o2[r], tol(fq, fb + r * d, d));
                if (i1[r] != i2[r])
                    t_fail(__FILE__, __LINE__, "%s scan_i8 d=%zu n=%zu row %zu: %d != %d",
                           k->name, d, n, r, i1[r], i2[r]);
            }
        }
    }
    mn__free(a);
    mn__free(qa);
    mn__free(o1);
    mn__free(o2);
    mn__free(i1);
    mn__free(i2);
}

TEST(kernels_variants_match_scalar)
{
    size_t v;
    int tested = 0;
    check_variant(mn__kernels_scalar()); /* trivially equal, but exercises the harness */
    for (v = 0; v < MN_ARRAY_LEN(variants); v++) {
        const mn__kernels *k = mn__kernels_named(variants[v]);
        if (!k)
            continue;
        ASSERT_STR(k->name, variants[v]);
        check_variant(k);
        tested++;
    }
    fprintf(stderr, "    (%d SIMD variant(s) checked, best is %s)\n", tested,
            mn__kernels_best()->name);
}

TEST(kernels_dispatch_picks_best)
{
    const mn__kernels *want;
    unsetenv("MNEMO_KERNEL");
    want = mn__kernels_named("avx512");
    if (!want)
        want = mn__kernels_named("avx2");
    if (!want)
        want = mn__kernels_scalar();
    ASSERT(mn__kernels_best() == want);
    ASSERT(mn__kernels_best() == want); /* cached */
    ASSERT(mn__kernels_named("scalar") == mn__kernels_scalar());
    ASSERT(mn__kernels_named("sse9") == NULL);
    ASSERT(mn__kernels_named(NULL) == NULL);
}

TEST(kernels_env_forces_scalar)
{
    setenv("MNEMO_KERNEL", "scalar", 1);
    ASSERT_STR(mn__kernels_best()->name, "scalar");
}

TEST(kernels_env_unknown_falls_back)
{
    setenv("MNEMO_KERNEL", "nonsense", 1);
    ASSERT(mn__kernels_best() != NULL);
    ASSERT(strcmp(mn__kernels_best()->name, "nonsense") != 0);
}

TEST(quantize_i8_round_trip)
{
    float v[300], scale;
    int8_t q[300];
    size_t i;
    int saw127 = 0;
    for (i = 0; i < 300; i++)
        v[i] = rndf() * 3.0f;
    v[17] = -5.0f; /* the largest magnitude maps to -127 */
    mn__quantize_i8(v, 300, q, &scale);
    ASSERT_NEAR(scale, 5.0 / 127.0, 1e-7);
    ASSERT_EQ(q[17], -127);
    for (i = 0; i < 300; i++) {
        ASSERT(q[i] >= -127 && q[i] <= 127);
        ASSERT(fabsf(q[i] * scale - v[i]) <= scale * 0.5f + 1e-6f);
        saw127 |= q[i] == -127;
    }
    ASSERT(saw127);
    memset(v, 0, sizeof v);
    q[0] = 9;
    mn__quantize_i8(v, 300, q, &scale);
    ASSERT_EQ(scale, 0);
    ASSERT_EQ(q[0], 0);
}

TEST(normalize_unit_and_zero)
{
    float v[3] = {3, 0, 4}, z[4] = {0, 0, 0, 0};
    ASSERT_NEAR(mn__normalize(v, 3), 5.0, 1e-6);
    ASSERT_NEAR(v[0], 0.6, 1e-6);
    ASSERT_NEAR(v[2], 0.8, 1e-6);
    ASSERT_NEAR(mn__normalize(v, 3), 1.0, 1e-6);
    ASSERT_EQ(mn__normalize(z, 4), 0);
    ASSERT_EQ(z[3], 0);
}

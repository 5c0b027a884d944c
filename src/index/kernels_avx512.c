/* kernels_avx512.c - AVX-512 kernels (F, BW, VL, VNNI). Built with the matching -m flags
 * (see the Makefile); selected only after kernels.c has checked the CPU. Tails use masked
 * loads, so any dimension works without a scalar remainder loop. */
#include "index_int.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>

static inline __mmask16 mask16(size_t r)
{
    return (__mmask16)((1u << r) - 1u);
}

static inline __mmask64 mask64(size_t r)
{
    return r >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << r) - 1);
}

static float dot_f32(const float *a, const float *b, size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = mask16(d - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                             s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* Sums of four rows' accumulators into one vector [r0 r1 r2 r3]: a transpose-and-add tree
 * costs about a third of four separate horizontal reductions. */
static inline __m128 reduce4_ps(__m512 s0, __m512 s1, __m512 s2, __m512 s3)
{
    __m512 a = _mm512_add_ps(_mm512_unpacklo_ps(s0, s1), _mm512_unpackhi_ps(s0, s1));
    __m512 b = _mm512_add_ps(_mm512_unpacklo_ps(s2, s3), _mm512_unpackhi_ps(s2, s3));
    __m512d ad = _mm512_castps_pd(a), bd = _mm512_castps_pd(b);
    __m512 c = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(ad, bd)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(ad, bd)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(c),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static void scan_f32(const float *q, const float *base, size_t n, size_t d, float *out)
{
    const int pf = d <= MN__PF_F32_MAX_DIM;
    size_t r = 0, full = d & ~(size_t)15;
    __mmask16 mt = mask16(d - full);
    for (; r + 4 <= n; r += 4) {
        const float *b0 = base + r * d, *b1 = b0 + d, *b2 = b1 + d, *b3 = b2 + d;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
        size_t i = 0;
        if (pf)
            mn__prefetch_ahead(b0, MN__PF_F32_ROWS * d * sizeof(float), 4 * d * sizeof(float));
        for (; i < full; i += 16) {
            __m512 qv = _mm512_loadu_ps(q + i);
            s0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(b0 + i), s0);
            s1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(b1 + i), s1);
            s2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(b2 + i), s2);
            s3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(b3 + i), s3);
        }
        if (full < d) {
            __m512 qv = _mm512_maskz_loadu_ps(mt, q + i);
            s0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, b0 + i), s0);
            s1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, b1 + i), s1);
            s2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, b2 + i), s2);
            s3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, b3 + i), s3);
        }
        _mm_storeu_ps(out + r, reduce4_ps(s0, s1, s2, s3));
    }
    for (; r < n; r++)
        out[r] = dot_f32(q, base + r * d, d);
}

/* The biased sums may pass INT32_MAX for very long vectors even when the true dot product
 * fits; the lanes wrap, so the difference is taken modulo 2^32 as well. */
static inline int32_t wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* Masked load of row bytes with the sign bit flipped: the unsigned operand of vpdpbusd. */
static inline __m512i load_u(__mmask64 m, const int8_t *p)
{
    return _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p), _mm512_set1_epi8((char)0x80));
}

/* vpdpbusd multiplies unsigned by signed bytes. Flipping the sign bit of one side turns
 * a into a + 128 (0..255), so sum((a + 128) * b) - 128 * sum(b) is the exact signed dot
 * product for every int8 value, -128 included. */
static int32_t dot_i8(const int8_t *a, const int8_t *b, size_t d)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512(), sb = _mm512_setzero_si512();
    size_t i = 0;
    for (; i < d; i += 64) {
        __mmask64 m = mask64(d - i);
        __m512i av = _mm512_maskz_loadu_epi8(m, a + i);
        __m512i bv = _mm512_maskz_loadu_epi8(m, b + i);
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(av, flip), bv);
        sb = _mm512_dpbusd_epi32(sb, ones, bv);
    }
    return wrap_sub(_mm512_reduce_add_epi32(acc), 128 * _mm512_reduce_add_epi32(sb));
}

/* The integer twin of reduce4_ps. */
static inline __m128i reduce4_epi32(__m512i s0, __m512i s1, __m512i s2, __m512i s3)
{
    __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(s0, s1), _mm512_unpackhi_epi32(s0, s1));
    __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(s2, s3), _mm512_unpackhi_epi32(s2, s3));
    __m512i c = _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* Rows are the unsigned side: the correction 128 * sum(q) is then paid once per query.
 * Whole 64-byte chunks use plain loads (a masked load per chunk, and four horizontal
 * reductions per row group, made this kernel compute-bound at about a third of the memory
 * bandwidth); only the tail is masked. Lane sums wrap like wrap_sub. */
static void scan_i8(const int8_t *q, const int8_t *base, size_t n, size_t d, int32_t *out)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t r = 0, i, full = d & ~(size_t)63;
    __mmask64 mt = mask64(d - full);
    int32_t qsum = 0;
    __m128i qs;
    for (i = 0; i < d; i++)
        qsum += q[i];
    qsum *= 128; /* |qsum| <= 16384 * d: fits for any realistic dimension */
    qs = _mm_set1_epi32(qsum);
    for (; r + 4 <= n; r += 4) {
        const int8_t *b0 = base + r * d, *b1 = b0 + d, *b2 = b1 + d, *b3 = b2 + d;
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        __m512i s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512();
        mn__prefetch_ahead(b0, MN__PF_I8_ROWS * d, 4 * d);
        for (i = 0; i < full; i += 64) {
            __m512i qv = _mm512_loadu_si512(q + i);
            s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(_mm512_loadu_si512(b0 + i), flip), qv);
            s1 = _mm512_dpbusd_epi32(s1, _mm512_xor_si512(_mm512_loadu_si512(b1 + i), flip), qv);
            s2 = _mm512_dpbusd_epi32(s2, _mm512_xor_si512(_mm512_loadu_si512(b2 + i), flip), qv);
            s3 = _mm512_dpbusd_epi32(s3, _mm512_xor_si512(_mm512_loadu_si512(b3 + i), flip), qv);
        }
        if (full < d) {
            __m512i qv = _mm512_maskz_loadu_epi8(mt, q + i);
            s0 = _mm512_dpbusd_epi32(s0, load_u(mt, b0 + i), qv);
            s1 = _mm512_dpbusd_epi32(s1, load_u(mt, b1 + i), qv);
            s2 = _mm512_dpbusd_epi32(s2, load_u(mt, b2 + i), qv);
            s3 = _mm512_dpbusd_epi32(s3, load_u(mt, b3 + i), qv);
        }
        _mm_storeu_si128((__m128i *)(out + r), _mm_sub_epi32(reduce4_epi32(s0, s1, s2, s3), qs));
    }
    for (; r < n; r++)
        out[r] = dot_i8(q, base + r * d, d);
}

static const mn__kernels avx512 = {"avx512", dot_f32, dot_i8, scan_f32, scan_i8};

const mn__kernels *mn__kernels_avx512_table(void)
{
    return &avx512;
}

#else /* built without AVX-512: the dispatcher never selects it */

const mn__kernels *mn__kernels_avx512_table(void)
{
    return NULL;
}

#endif

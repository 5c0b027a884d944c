/* kernels_avx2.c - AVX2 + FMA kernels. Built with -mavx2 -mfma (see the Makefile); called
 * only after kernels.c has checked the CPU. Scans process four rows per pass so that each
 * load of the query feeds four products. */
#include <string.h>

#include "index_int.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* Eight ones followed by eight zeros: loading at offset 8 - r gives a mask of r lanes. */
static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i tail_mask(size_t r)
{
    return _mm256_loadu_si256((const __m256i *)(lane_mask + 8 - r));
}

static inline float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int32_t hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static float dot_f32(const float *a, const float *b, size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < d) {
        __m256i m = tail_mask(d - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static void scan_f32(const float *q, const float *base, size_t n, size_t d, float *out)
{
    const int pf = d <= MN__PF_F32_MAX_DIM;
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *b0 = base + r * d, *b1 = b0 + d, *b2 = b1 + d, *b3 = b2 + d;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        size_t i = 0;
        if (pf)
            mn__prefetch_ahead(b0, MN__PF_F32_ROWS * d * sizeof(float), 4 * d * sizeof(float));
        for (; i + 8 <= d; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(b0 + i), s0);
            s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(b1 + i), s1);
            s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(b2 + i), s2);
            s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(b3 + i), s3);
        }
        if (i < d) {
            __m256i m = tail_mask(d - i);
            __m256 qv = _mm256_maskload_ps(q + i, m);
            s0 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(b0 + i, m), s0);
            s1 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(b1 + i, m), s1);
            s2 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(b2 + i, m), s2);
            s3 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(b3 + i, m), s3);
        }
        out[r] = hsum_ps(s0);
        out[r + 1] = hsum_ps(s1);
        out[r + 2] = hsum_ps(s2);
        out[r + 3] = hsum_ps(s3);
    }
    for (; r < n; r++)
        out[r] = dot_f32(q, base + r * d, d);
}

/* Sixteen int8 at p widened to int16: exact for the whole int8 range, unlike maddubs. */
static inline __m256i widen(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

static int32_t dot_i8(const int8_t *a, const int8_t *b, size_t d)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    int32_t s;
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(widen(a + i), widen(b + i)));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(widen(a + i + 16), widen(b + i + 16)));
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(widen(a + i), widen(b + i)));
    s = hsum_epi32(_mm256_add_epi32(s0, s1));
    for (; i < d; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static void scan_i8(const int8_t *q, const int8_t *base, size_t n, size_t d, int32_t *out)
{
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const int8_t *b0 = base + r * d, *b1 = b0 + d, *b2 = b1 + d, *b3 = b2 + d;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        __m256i s2 = _mm256_setzero_si256(), s3 = _mm256_setzero_si256();
        size_t i = 0, k;
        mn__prefetch_ahead(b0, MN__PF_I8_ROWS * d, 4 * d);
        for (; i + 16 <= d; i += 16) {
            __m256i qv = widen(q + i);
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(qv, widen(b0 + i)));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(qv, widen(b1 + i)));
            s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(qv, widen(b2 + i)));
            s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(qv, widen(b3 + i)));
        }
        out[r] = hsum_epi32(s0);
        out[r + 1] = hsum_epi32(s1);
        out[r + 2] = hsum_epi32(s2);
        out[r + 3] = hsum_epi32(s3);
        for (k = i; k < d; k++) {
            int32_t qk = q[k];
            out[r] += qk * b0[k];
            out[r + 1] += qk * b1[k];
            out[r + 2] += qk * b2[k];
            out[r + 3] += qk * b3[k];
        }
    }
    for (; r < n; r++)
        out[r] = dot_i8(q, base + r * d, d);
}

static const mn__kernels avx2 = {"avx2", dot_f32, dot_i8, scan_f32, scan_i8};

const mn__kernels *mn__kernels_avx2_table(void)
{
    return &avx2;
}

#else /* built without AVX2: the dispatcher never selects it */

const mn__kernels *mn__kernels_avx2_table(void)
{
    return NULL;
}

#endif

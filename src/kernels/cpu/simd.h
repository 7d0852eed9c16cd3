#pragma once
// AVX-512 building blocks shared by the CPU kernels (attention, GEMV, Quest's bound scan):
//  - load_f32x16: 16 elements stored as f32, bf16 or f16 (weights, KV cache, page metadata) widened to
//    f32 — exact, since every bf16/f16 value is an f32 value; store_exact_f32x16 the way back, for values
//    the type holds (page metadata);
//  - erf_f32x16: erf for 16 lanes (two fitted polynomials and exp_f32x16), for the exact GELU;
//  - exp_f32x16: e^x for 16 lanes (range reduction + degree-7 polynomial + scalef), within 2 ulp of
//    std::exp for normal results; tested against std::exp in tests/unit/attention_test.cpp;
//  - sum4_by_lane / sum16_from_lanes: the 16 horizontal sums of 16 vectors in one vector, fixed order.
// Everything here is header-only so the kernels inline it into their inner loops. Callers keep a
// portable scalar path for builds without AVX-512.
#include <cstdint>

#include "tensor/dtype.h"

#if defined(__AVX512F__)
// GCC 12 warns inside its own AVX-512 headers wherever a masked intrinsic is inlined
// (_mm512_undefined_*'s deliberate self-initialization, GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif

namespace ratkv::simd {

// All 16 lanes, or the first n (n < 16) for a tail.
inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << n) - 1);
}

// 16 elements of type t at p as f32; lanes outside `mask` read nothing and are 0.
inline __m512 load_f32x16(const uint8_t* p, DType t, __mmask16 mask) {
  switch (t) {
    case DType::F32:
      return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(p));
    case DType::BF16:
      // bf16 is the top half of an f32: widen to 32 bits and shift into place.
      return _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p)), 16));
    case DType::F16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
  }
  return _mm512_setzero_ps();
}

// Stores the lanes of `mask` at p as type t. Exact only for values that t represents (e.g. ones loaded
// from t, or their min/max): bf16 is truncated, not rounded.
inline void store_exact_f32x16(uint8_t* p, DType t, __mmask16 mask, __m512 x) {
  switch (t) {
    case DType::F32:
      _mm512_mask_storeu_ps(reinterpret_cast<float*>(p), mask, x);
      return;
    case DType::BF16:
      _mm256_mask_storeu_epi16(p, mask, _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(x), 16)));
      return;
    case DType::F16:
      _mm256_mask_storeu_epi16(p, mask, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      return;
  }
}

// All 16 lanes: plain loads, for the inner loops of the kernels.
inline __m512 load_f32x16(const uint8_t* p, DType t) {
  switch (t) {
    case DType::F32:
      return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
    case DType::BF16:
      return _mm512_castsi512_ps(_mm512_slli_epi32(
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
    case DType::F16:
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  return _mm512_setzero_ps();
}

// e^x per lane. x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2 (ln2 split in two parts so r is
// exact to f32); e^r by its Taylor polynomial of degree 7 (truncation error < 1e-8 relative), then
// scalef multiplies by 2^n, rounding once, which also gives correctly scaled subnormals and 0 below
// ln(2^-150). Inputs are clamped to [-104, 89] first, outside which f32 e^x is 0 or +inf anyway; the
// operand order of max/min keeps NaN as NaN. e^0 = 1 exactly (the softmax maximum's weight).
inline __m512 exp_f32x16(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln2 high part (exact n·hi)
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723e-06f), r);   // ln2 low part
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// σ(x) = 1 / (1 + e^−x) per lane, the scalar formula with exp_f32x16 (σ of a large negative x is 0, as with
// std::exp: e^−x saturates to +inf).
inline __m512 sigmoid_f32x16(__m512 x) {
  const __m512 e = exp_f32x16(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// erf(x) per lane (the exact GELU's erf). |x| < 0.9: x·P(x²), P of degree 6 fitted on [0, 0.81] (error
// 3e-10); 0.9 ≤ |x|: 1 − e^(−x²)·R(s), R = erfc·e^(x²) as a degree-12 polynomial in s = (2|x| − 4.9)/3.1
// fitted on |x| in [0.9, 4] (error 3e-9; |x| is clamped to 4, where f32 erf is already 1). Chebyshev fits
// (mpmath.chebyfit) in well-conditioned variables, evaluated by Horner in f32. Odd; NaN stays NaN. Tested
// against std::erf in tests/unit/attention_test.cpp.
inline __m512 erf_f32x16(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 t = _mm512_mul_ps(ax, ax);
  __m512 p = _mm512_set1_ps(8.529401323e-05f);
  for (float c : {-8.179632181e-04f, 5.204226694e-03f, -2.686066479e-02f, 1.128371805e-01f, -3.761263519e-01f,
                  1.128379167e+00f})
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c));
  const __m512 near_zero = _mm512_mul_ps(ax, p);
  const __m512 clamped = _mm512_min_ps(ax, _mm512_set1_ps(4.0f));
  const __m512 s = _mm512_mul_ps(_mm512_fmsub_ps(clamped, _mm512_set1_ps(2.0f), _mm512_set1_ps(4.9f)),
                                 _mm512_set1_ps(1.0f / 3.1f));
  __m512 r = _mm512_set1_ps(2.408064679e-05f);
  for (float c : {-6.386192245e-05f, 8.764194585e-05f, -2.142232241e-04f, 6.068204980e-04f, -1.431987924e-03f,
                  3.225853838e-03f, -7.151978497e-03f, 1.534581371e-02f, -3.170532762e-02f, 6.288825069e-02f,
                  -1.191987152e-01f, 2.145870922e-01f})
    r = _mm512_fmadd_ps(r, s, _mm512_set1_ps(c));
  const __m512 tail = exp_f32x16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(clamped, clamped)));
  const __m512 far = _mm512_fnmadd_ps(tail, r, _mm512_set1_ps(1.0f));
  __m512 y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.9f), _CMP_LT_OQ), far, near_zero);
  // The sign of x (erf is odd), then NaN inputs passed through.
  y = _mm512_or_ps(y, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// Horizontal sums of 16 vectors at once, s[j] = Σ_i a_j[i], by a transpose-and-add tree: 45 shuffles
// and adds instead of 16 full reductions, in a fixed order (reproducible). Two stages so that a caller
// can compute four vectors, fold them (sum4_by_lane), and reuse their registers:
//   sum4_by_lane(a0..a3): per 128-bit lane L, [Σ_L a0, Σ_L a1, Σ_L a2, Σ_L a3] (sums over the lane's 4);
//   sum16_from_lanes(c0..c3): lane sums of a0..a15 combined into [Σ a0, ..., Σ a15].
inline __m512 sum4_by_lane(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  // Per 128-bit lane: (a0_0 + a0_2, a1_0 + a1_2, a0_1 + a0_3, a1_1 + a1_3), likewise for a2, a3.
  const __m512 b01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 b23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(b01), _mm512_castps_pd(b23));
  const __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(b01), _mm512_castps_pd(b23));
  return _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
}

inline __m512 sum16_from_lanes(__m512 c0, __m512 c1, __m512 c2, __m512 c3) {
  // Lanes (0 + 1, 2 + 3) of c0 and c1, then of c2 and c3; then those pairs added.
  const __m512 d01 = _mm512_add_ps(_mm512_shuffle_f32x4(c0, c1, 0x88), _mm512_shuffle_f32x4(c0, c1, 0xdd));
  const __m512 d23 = _mm512_add_ps(_mm512_shuffle_f32x4(c2, c3, 0x88), _mm512_shuffle_f32x4(c2, c3, 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d01, d23, 0x88), _mm512_shuffle_f32x4(d01, d23, 0xdd));
}

}  // namespace ratkv::simd
#endif

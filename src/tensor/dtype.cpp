#include "tensor/dtype.h"

#include <cmath>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ratkv {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::BF16:
      return "BF16";
    case DType::F16:
      return "F16";
  }
  return "?";
}

bool parse_dtype(std::string_view name, DType* out) {
  if (name == "F32" || name == "f32" || name == "float32")
    *out = DType::F32;
  else if (name == "BF16" || name == "bf16" || name == "bfloat16")
    *out = DType::BF16;
  else if (name == "F16" || name == "f16" || name == "float16")
    *out = DType::F16;
  else
    return false;
  return true;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: value = mantissa * 2^-24, exact in f32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t f32_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (abs_bits >= 0x477ff000u) return sign | 0x7c00u;  // rounds to infinity (>= 65520)
  if (abs_bits < 0x38800000u) {
    // Result is subnormal or zero: round |value| * 2^24 to nearest even integer.
    const float scaled = std::bit_cast<float>(abs_bits) * 16777216.0f;  // exact: power-of-two scaling
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: re-bias exponent, round mantissa from 23 to 10 bits, nearest even (carry may bump exponent).
  uint32_t rebiased = abs_bits - (112u << 23);
  rebiased += 0xfffu + ((rebiased >> 13) & 1u);
  return sign | static_cast<uint16_t>(rebiased >> 13);
}

void convert_to_f32(const void* src, DType t, size_t n, float* dst) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, n * 4);
      break;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        dst[i] = bf16_to_f32(v);
      }
      break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        dst[i] = f16_to_f32(v);
      }
      break;
  }
}

void convert_from_f32(const float* src, size_t n, DType t, void* dst) {
  size_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  // BF16, 16 at a time: f32_to_bf16's integer rounding (nearest even, NaN kept quiet) in vector form, so
  // the bits are the scalar ones for every input, subnormals included (vcvtneps2bf16 would flush those).
  // Every key and value stored in a bf16 cache passes through here.
  if (t == DType::BF16) {
    auto* out = static_cast<uint8_t*>(dst);
    const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff);
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    for (; i + 16 <= n; i += 16) {
      const __m512i bits = _mm512_castps_si512(_mm512_loadu_ps(src + i));
      const __m512i high = _mm512_maskz_srli_epi32(0xffff, bits, 16);
      // (maskz forms throughout: GCC 12 warns on the unmasked ones' undefined source operand.)
      const __m512i rounded = _mm512_maskz_srli_epi32(
          0xffff, _mm512_add_epi32(bits, _mm512_add_epi32(half, _mm512_and_si512(high, one))), 16);
      const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, abs_mask), inf);
      const __m512i result =
          _mm512_mask_blend_epi32(nan, rounded, _mm512_or_si512(high, _mm512_set1_epi32(0x40)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * i),
                          _mm512_maskz_cvtepi32_epi16(0xffff, result));
    }
  }
#endif
  for (; i < n; ++i) store_from_f32(dst, i, t, src[i]);
}

}  // namespace ratkv

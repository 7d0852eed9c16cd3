#pragma once
// Element types of weights, activations and caches, and exact conversions between them.
// bf16 and f16 are stored as raw uint16_t bits; conversion to f32 is exact, conversion from f32 rounds
// to nearest even (NaN stays NaN), as torch does.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ratkv {

enum class DType : uint8_t { F32, BF16, F16 };

inline size_t dtype_size(DType t) {
  return t == DType::F32 ? 4 : 2;
}
std::string_view dtype_name(DType t);                 // "F32", "BF16", "F16" (safetensors spelling)
bool parse_dtype(std::string_view name, DType* out);  // accepts the safetensors spelling and lower case

inline float bf16_to_f32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

inline uint16_t f32_to_bf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Rounds an f32 to the nearest bf16 and back: what storing in a bf16 cache does to a value.
inline float round_to_bf16(float value) {
  return bf16_to_f32(f32_to_bf16(value));
}

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);
inline float round_to_f16(float value) {
  return f16_to_f32(f32_to_f16(value));
}

// The value an f32 becomes when stored as type t and read back.
inline float round_to(DType t, float value) {
  return t == DType::BF16 ? round_to_bf16(value) : t == DType::F16 ? round_to_f16(value) : value;
}

inline float load_as_f32(const void* base, size_t index, DType t) {
  switch (t) {
    case DType::F32: {
      float v;
      std::memcpy(&v, static_cast<const uint8_t*>(base) + index * 4, 4);
      return v;
    }
    case DType::BF16: {
      uint16_t v;
      std::memcpy(&v, static_cast<const uint8_t*>(base) + index * 2, 2);
      return bf16_to_f32(v);
    }
    case DType::F16: {
      uint16_t v;
      std::memcpy(&v, static_cast<const uint8_t*>(base) + index * 2, 2);
      return f16_to_f32(v);
    }
  }
  return 0.0f;
}

inline void store_from_f32(void* base, size_t index, DType t, float value) {
  auto* bytes = static_cast<uint8_t*>(base);
  switch (t) {
    case DType::F32:
      std::memcpy(bytes + index * 4, &value, 4);
      break;
    case DType::BF16: {
      uint16_t v = f32_to_bf16(value);
      std::memcpy(bytes + index * 2, &v, 2);
      break;
    }
    case DType::F16: {
      uint16_t v = f32_to_f16(value);
      std::memcpy(bytes + index * 2, &v, 2);
      break;
    }
  }
}

// Converts n elements of type t (possibly unaligned) into f32.
void convert_to_f32(const void* src, DType t, size_t n, float* dst);
// Converts n f32 values into type t.
void convert_from_f32(const float* src, size_t n, DType t, void* dst);

}  // namespace ratkv

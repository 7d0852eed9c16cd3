#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace ratkv {

// A row-major matrix [rows, cols] of weights in f32, bf16 or f16, read in place. A Linear layer computes
// y = x · Wᵀ, so rows = output features and cols = input features.
struct WeightView {
  const uint8_t* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r * cols) * dtype_size(dtype); }
  bool empty() const { return data == nullptr; }
};

}  // namespace ratkv

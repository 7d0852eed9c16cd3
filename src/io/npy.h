#pragma once
// NumPy .npy files (format 1.0/2.0, little-endian, C order) of f32 or i32: how logits leave ratkv for
// parity checks by anyone, and how reference logits come into the tests.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // i32 files are converted to f32 exactly when |v| < 2^24
};

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);
NpyArray read_npy(const std::string& path);

}  // namespace ratkv

// The packed GEMM (kernels/cpu/gemm.h) against its plain reference: odd shapes around every blocking size
// (12-row micro-panels, 32-column panels, 256-deep passes), every weight dtype, both precisions.
#include "kernels/cpu/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "kernels/cpu/matmul.h"
#include "test_util.h"

namespace ratkv {
namespace {

using testing::random_vector;

struct Weights {
  std::vector<uint8_t> storage;
  WeightView view;
};

Weights make_weights(int64_t rows, int64_t cols, DType dtype, uint64_t seed) {
  const auto values = random_vector(static_cast<size_t>(rows * cols), seed);
  Weights w;
  w.storage.resize((values.size() + 1) * dtype_size(dtype));
  // One element in, so rows start unaligned, as in a mapped file.
  uint8_t* data = w.storage.data() + dtype_size(dtype);
  convert_from_f32(values.data(), values.size(), dtype, data);
  w.view = WeightView{data, dtype, rows, cols};
  return w;
}

// Every output within a few f32 roundings per term of Σ|x·w| of the reference (which sums in double the
// same inputs, rounded as the precision rounds them).
void expect_close(const std::vector<float>& x, const WeightView& w, int64_t m, const std::vector<float>& y,
                  const std::vector<float>& expected, const std::string& what) {
  const double eps = std::ldexp(1.0, -24);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < w.rows; ++r) {
      double magnitude = 0.0;
      for (int64_t k = 0; k < w.cols; ++k)
        magnitude += std::fabs(static_cast<double>(x[static_cast<size_t>(i * w.cols + k)]) *
                               load_as_f32(w.row(r), static_cast<size_t>(k), w.dtype));
      const size_t at = static_cast<size_t>(i * w.rows + r);
      ASSERT_LE(std::fabs(y[at] - expected[at]),
                2.0 * static_cast<double>(w.cols + 2) * eps * magnitude + 1e-30)
          << what << " at row " << i << " output " << r << ": " << y[at] << " vs " << expected[at];
    }
}

TEST(Gemm, PackedProductMatchesReferenceForOddShapes) {
  for (MatmulPrecision precision : {MatmulPrecision::F32, MatmulPrecision::BF16}) {
    for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
      for (int64_t k : {1, 2, 3, 31, 255, 256, 257, 513}) {
        for (int64_t n : {1, 17, 32, 33, 70}) {
          const Weights w = make_weights(n, k, dtype, static_cast<uint64_t>(n * 1000 + k));
          for (int64_t m : {1, 11, 12, 13, 25}) {
            const auto x = random_vector(static_cast<size_t>(m * k), static_cast<uint64_t>(m + 7 * k));
            PackedActivations packed;
            prepare_activations(m, k, precision, packed);
            for (int64_t b = 0; b < packed.blocks; ++b) pack_activation_block(x.data(), k, b, packed);
            std::vector<uint32_t> packed_w;
            pack_weights(w.view, 0, n, precision, packed_w);
            // y wider than the product: columns past n must stay untouched.
            const int64_t ldy = n + 3;
            std::vector<float> wide(static_cast<size_t>(m * ldy), -7.0f);
            gemm_packed(packed, packed_w.data(), n, wide.data(), ldy);
            std::vector<float> y(static_cast<size_t>(m * n)), expected(y.size());
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j)
                y[static_cast<size_t>(i * n + j)] = wide[static_cast<size_t>(i * ldy + j)];
              for (int64_t j = n; j < ldy; ++j) ASSERT_EQ(wide[static_cast<size_t>(i * ldy + j)], -7.0f);
            }
            gemm_reference(x.data(), m, w.view, precision, expected.data());
            expect_close(x, w.view, m, y, expected,
                         std::string(matmul_precision_name(precision)) + " " +
                             std::string(dtype_name(dtype)) + " m " + std::to_string(m) + " n " +
                             std::to_string(n) + " k " + std::to_string(k));
          }
        }
      }
    }
  }
}

// A sub-range of W rows lands in the matching columns (the tasks of matmul_many).
TEST(Gemm, RowRangeOfTheWeightsFillsItsColumns) {
  const Weights w = make_weights(70, 45, DType::BF16, 3);
  const int64_t m = 14;
  const auto x = random_vector(static_cast<size_t>(m * 45), 4);
  for (MatmulPrecision precision : {MatmulPrecision::F32, MatmulPrecision::BF16}) {
    PackedActivations packed;
    prepare_activations(m, 45, precision, packed);
    for (int64_t b = 0; b < packed.blocks; ++b) pack_activation_block(x.data(), 45, b, packed);
    std::vector<float> y(static_cast<size_t>(m * 70), 0.0f);
    std::vector<uint32_t> packed_w;
    for (int64_t r0 : {0, 33}) {
      const int64_t r1 = r0 == 0 ? 33 : 70;
      pack_weights(w.view, r0, r1, precision, packed_w);
      gemm_packed(packed, packed_w.data(), r1 - r0, y.data() + r0, 70);
    }
    std::vector<float> expected(y.size());
    gemm_reference(x.data(), m, w.view, precision, expected.data());
    expect_close(x, w.view, m, y, expected, matmul_precision_name(precision));
  }
}

// The BF16 precision rounds the activations: its error against the f32 product is of bf16's size, and
// the f32 precision's is not.
TEST(Gemm, Bf16PrecisionRoundsTheActivationsOnly) {
  const Weights w = make_weights(40, 300, DType::BF16, 5);
  const auto x = random_vector(static_cast<size_t>(20 * 300), 6);
  std::vector<float> f32(20 * 40), bf16(f32.size()), exact(f32.size()), rounded(f32.size());
  matmul(x.data(), 20, w.view, nullptr, f32.data(), MatmulPrecision::F32);
  matmul(x.data(), 20, w.view, nullptr, bf16.data(), MatmulPrecision::BF16);
  gemm_reference(x.data(), 20, w.view, MatmulPrecision::F32, exact.data());
  gemm_reference(x.data(), 20, w.view, MatmulPrecision::BF16, rounded.data());
  EXPECT_LT(testing::relative_error(f32, exact), 1e-6);
  EXPECT_LT(testing::relative_error(bf16, rounded), 1e-6);
  const double gap = testing::relative_error(bf16, exact);
  EXPECT_GT(gap, 1e-4);  // bf16 keeps 8 bits: the rounding shows
  EXPECT_LT(gap, 2e-2);
}

// matmul_many in both precisions: bit-identical for 1, 2 and 3 threads, bias added once.
TEST(Gemm, MatmulManyIgnoresThreadCountInBothPrecisions) {
  const int64_t cols = 300, n = 29;
  const Weights a = make_weights(100, cols, DType::BF16, 8), b = make_weights(7, cols, DType::F16, 9);
  const auto x = random_vector(static_cast<size_t>(n * cols), 10);
  const auto bias = random_vector(7, 11);
  for (MatmulPrecision precision : {MatmulPrecision::F32, MatmulPrecision::BF16}) {
    std::vector<float> first_a, first_b;
    for (int threads : {1, 2, 3}) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      std::vector<float> ya(static_cast<size_t>(n * 100)), yb(static_cast<size_t>(n * 7));
      const MatmulTarget targets[2] = {{&a.view, nullptr, ya.data()}, {&b.view, bias.data(), yb.data()}};
      matmul_many(x.data(), n, targets, 2, precision);
      omp_set_num_threads(saved);
      if (first_a.empty()) {
        first_a = ya;
        first_b = yb;
        std::vector<float> expected(yb.size());
        gemm_reference(x.data(), n, b.view, precision, expected.data());
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = 0; r < 7; ++r)
            expected[static_cast<size_t>(t * 7 + r)] += bias[static_cast<size_t>(r)];
        EXPECT_LT(testing::relative_error(yb, expected), 1e-5);
      }
      EXPECT_EQ(first_a, ya) << matmul_precision_name(precision) << " threads " << threads;
      EXPECT_EQ(first_b, yb) << matmul_precision_name(precision) << " threads " << threads;
    }
  }
}

}  // namespace
}  // namespace ratkv

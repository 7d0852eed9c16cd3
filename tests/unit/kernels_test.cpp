// Optimized CPU kernels against plain references, over odd sizes and every weight/cache dtype.
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>
#include <tuple>

#include "attention/attend.h"
#include "attention/prefill_attention.h"
#include "base/rng.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/memory_scan.h"
#include "test_util.h"

namespace ratkv {
namespace {

using testing::random_vector;

TEST(Kernels, MatmulMatchesReferenceForOddSizesAndDtypes) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (int64_t rows : {1, 3, 17, 64, 131}) {
      for (int64_t cols : {1, 7, 16, 33, 113, 200}) {
        for (int64_t n : {1, 2, 5, 9, 600}) {
          const auto values = random_vector(static_cast<size_t>(rows * cols), rows * 1000 + cols);
          std::vector<uint8_t> storage((values.size() + 1) * dtype_size(dtype));
          // Offset by the element size so the rows start unaligned to 64 bytes, as mapped tensors may.
          uint8_t* data = storage.data() + dtype_size(dtype);
          convert_from_f32(values.data(), values.size(), dtype, data);
          WeightView w{data, dtype, rows, cols};
          const auto x = random_vector(static_cast<size_t>(n * cols), 7 + n);
          const auto bias = random_vector(static_cast<size_t>(rows), 11);
          std::vector<float> y(static_cast<size_t>(n * rows)), expected(y.size());
          matmul(x.data(), n, w, bias.data(), y.data());
          matmul_reference(x.data(), n, w, bias.data(), expected.data());
          ASSERT_LT(testing::relative_error(y, expected), 1e-5)
              << dtype_name(dtype) << " rows " << rows << " cols " << cols << " n " << n;
        }
      }
    }
  }
}

// matmul_many (one parallel region for several products of one input) against one reference product
// each, bit-identical across thread counts; bf16 widths with a 32-column tail of 17 and of 0.
TEST(Kernels, MatmulManyMatchesSeparateProductsAndIgnoresThreadCount) {
  for (DType dtype : {DType::BF16, DType::F16, DType::F32}) {
    for (int64_t cols : {113, 256}) {
      for (int64_t n : {1, 3, 6}) {
        const int64_t row_counts[3] = {70, 5, 131};
        std::vector<std::vector<uint8_t>> storage(3);
        std::vector<WeightView> views(3);
        for (int i = 0; i < 3; ++i) {
          const auto values = random_vector(static_cast<size_t>(row_counts[i] * cols), 40 + i);
          storage[i].resize(values.size() * dtype_size(dtype));
          convert_from_f32(values.data(), values.size(), dtype, storage[i].data());
          views[i] = WeightView{storage[i].data(), dtype, row_counts[i], cols};
        }
        const auto x = random_vector(static_cast<size_t>(n * cols), 50 + n);
        const auto bias = random_vector(131, 51);
        std::vector<float> first[3];
        for (int threads : {1, 2, 3}) {
          const int saved = omp_get_max_threads();
          omp_set_num_threads(threads);
          std::vector<float> y[3];
          MatmulTarget targets[3];
          for (int i = 0; i < 3; ++i) {
            y[i].resize(static_cast<size_t>(n * row_counts[i]));
            targets[i] = {&views[i], i == 1 ? bias.data() : nullptr, y[i].data()};
          }
          matmul_many(x.data(), n, targets, 3);
          omp_set_num_threads(saved);
          for (int i = 0; i < 3; ++i) {
            std::vector<float> expected(y[i].size());
            matmul_reference(x.data(), n, views[i], i == 1 ? bias.data() : nullptr, expected.data());
            EXPECT_LT(testing::relative_error(y[i], expected), 1e-5) << dtype_name(dtype) << " product " << i;
            if (first[i].empty()) first[i] = y[i];
            EXPECT_EQ(first[i], y[i]) << "threads " << threads << " changed product " << i;
          }
        }
      }
    }
  }
}

TEST(Kernels, RmsNormMatchesDefinition) {
  for (int64_t width : {1, 5, 8, 63, 512}) {
    const auto x = random_vector(static_cast<size_t>(3 * width), width);
    const auto w = random_vector(static_cast<size_t>(width), width + 1);
    std::vector<float> y(x.size()), expected(x.size());
    rms_norm(x.data(), w.data(), 3, width, 1e-6f, y.data());
    for (int64_t r = 0; r < 3; ++r) {
      double ms = 0;
      for (int64_t i = 0; i < width; ++i) ms += double(x[r * width + i]) * x[r * width + i];
      const double inv = 1.0 / std::sqrt(ms / width + 1e-6);
      for (int64_t i = 0; i < width; ++i)
        expected[r * width + i] = static_cast<float>(x[r * width + i] * inv * w[i]);
    }
    EXPECT_LT(testing::relative_error(y, expected), 1e-6) << width;
  }
}

// The FFN activations and the output gate (vector exp / erf under AVX-512) against their definitions in
// double, for counts with a masked tail and one large enough to run in parallel; elementwise, so any thread
// count agrees. The gate also at saturating inputs (σ → 0 and 1).
TEST(Kernels, ActivationsMatchDefinition) {
  for (int64_t count : {1, 15, 17, 37, 70001}) {
    auto x = random_vector(static_cast<size_t>(count), 40 + count, 4.0f);
    const auto up = random_vector(static_cast<size_t>(count), 41 + count, 2.0f);
    auto gate_logits = random_vector(static_cast<size_t>(count), 42 + count, 8.0f);
    if (count > 2) gate_logits[0] = -200.0f, gate_logits[1] = 200.0f, gate_logits[2] = -90.0f;
    std::vector<float> gelu = x, silu = x, gated = up;
    gelu_erf(gelu.data(), count);
    silu_mul(silu.data(), up.data(), count);
    multiply_by_sigmoid(gated.data(), gate_logits.data(), count);
    for (int64_t i = 0; i < count; ++i) {
      const double v = x[static_cast<size_t>(i)], u = up[static_cast<size_t>(i)];
      const double g = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
      const double s = v / (1.0 + std::exp(-v)) * u;
      const double o = u / (1.0 + std::exp(-double(gate_logits[static_cast<size_t>(i)])));
      ASSERT_NEAR(gelu[static_cast<size_t>(i)], g, 4e-7 * (std::fabs(v) + 1e-3)) << count << " " << v;
      ASSERT_NEAR(silu[static_cast<size_t>(i)], s, 1e-6 * std::fabs(v * u) + 1e-12) << count << " " << v;
      ASSERT_NEAR(gated[static_cast<size_t>(i)], o, 4e-7 * std::fabs(u) + 1e-30) << count << " " << i;
    }
  }
}

// Storing f32 rows into a bf16 (or f16) cache: the vector path gives store_from_f32's bits for every
// input — ties to even, overflow to infinity, subnormals, signed zeros, infinities and NaNs (kept quiet) —
// over lengths with and without a tail.
TEST(Kernels, ConvertFromF32MatchesTheScalarRounding) {
  std::vector<float> values = random_vector(1000, 77, 3.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            1.0f,
                            -1.0f,
                            1.00390625f,
                            1.01171875f,
                            3.3895314e38f,
                            -3.3895314e38f,
                            std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::denorm_min(),
                            -1e-40f,
                            1e-39f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::bit_cast<float>(0x7f800001u),
                            std::bit_cast<float>(0xff812345u)};
  for (size_t i = 0; i < std::size(specials); ++i) values[i * 37 % values.size()] = specials[i];
  for (uint32_t bits = 0x3f800000u; bits < 0x3f800000u + 300; ++bits)
    values.push_back(std::bit_cast<float>(bits));
  for (DType dtype : {DType::BF16, DType::F16}) {
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33}, values.size()}) {
      std::vector<uint8_t> got(2 * n), expected(2 * n);
      convert_from_f32(values.data(), n, dtype, got.data());
      for (size_t i = 0; i < n; ++i) store_from_f32(expected.data(), i, dtype, values[i]);
      EXPECT_EQ(got, expected) << dtype_name(dtype) << " n " << n;
    }
  }
}

TEST(Kernels, MemoryScanMatchesRecurrence) {
  // Sizes inside one channel chunk and row block, and across several (512 channels, 32 rows) with partial
  // last ones; the RAT+ gate and a bounded one.
  for (auto [n, width, gate_max] : {std::tuple<int64_t, int64_t, float>{23, 13, 1.0f},
                                    {70, 300, 1.0f},
                                    {45, 129, 63.0f / 64.0f},
                                    {301, 560, 1.0f}}) {
    auto f = random_vector(n * width, 1);
    const auto k0 = random_vector(n * width, 2), v0 = random_vector(n * width, 3);
    f[0] = -150.0f, f[1] = 150.0f;  // saturated gates: σ = 0 and 1
    auto k = k0, v = v0;
    std::vector<float> sk(width, 0.5f), sv(width, -0.25f);
    memory_scan(f.data(), k.data(), v.data(), n, width, sk.data(), sv.data(), gate_max);
    for (int64_t c = 0; c < width; ++c) {
      double hk = 0.5, hv = -0.25;
      for (int64_t t = 0; t < n; ++t) {
        const double g = gate_max / (1.0 + std::exp(-double(f[t * width + c])));
        hk = g * hk + (1 - g) * k0[t * width + c];
        hv = g * hv + (1 - g) * v0[t * width + c];
        ASSERT_NEAR(k[t * width + c], hk, 1e-5) << n << " " << width << " " << t << " " << c;
        ASSERT_NEAR(v[t * width + c], hv, 1e-5);
      }
      EXPECT_NEAR(sk[c], hk, 1e-5);
      EXPECT_NEAR(sv[c], hv, 1e-5);
    }
    // The state carries across calls: a prompt in two blocks gives the same bits as in one.
    auto k2 = k0, v2 = v0;
    std::vector<float> sk2(width, 0.5f), sv2(width, -0.25f);
    const int64_t first = n / 3;
    memory_scan(f.data(), k2.data(), v2.data(), first, width, sk2.data(), sv2.data(), gate_max);
    memory_scan(f.data() + first * width, k2.data() + first * width, v2.data() + first * width, n - first,
                width, sk2.data(), sv2.data(), gate_max);
    EXPECT_EQ(k2, k);
    EXPECT_EQ(v2, v);
    EXPECT_EQ(sk2, sk);
    EXPECT_EQ(sv2, sv);
    // The partition (keys and values together on one thread, apart and in channel chunks on more) changes
    // no bit.
    const int saved = omp_get_max_threads();
    for (int threads : {1, 2, 3, 8}) {
      omp_set_num_threads(threads);
      auto k3 = k0, v3 = v0;
      std::vector<float> sk3(width, 0.5f), sv3(width, -0.25f);
      memory_scan(f.data(), k3.data(), v3.data(), n, width, sk3.data(), sv3.data(), gate_max);
      EXPECT_EQ(k3, k) << threads;
      EXPECT_EQ(v3, v) << threads;
      EXPECT_EQ(sk3, sk) << threads;
      EXPECT_EQ(sv3, sv) << threads;
    }
    omp_set_num_threads(saved);
  }
}

// One softmax per (query, head) in double over the cache rows k, v [total, kv_heads, dim] (already rounded
// to the cache dtype): query i of the block sits at position earlier + i and sees keys [0, earlier + i].
// bf16_queries: each q·scale rounded to bf16 first, as the BF16 products take it.
std::vector<float> plain_causal_softmax(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, int64_t earlier, int64_t n,
                                        int64_t heads, int64_t kv_heads, int64_t dim, float scale,
                                        bool bf16_queries) {
  std::vector<float> expected(q.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / (heads / kv_heads), last = earlier + i;
      std::vector<double> s(static_cast<size_t>(last + 1));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j <= last; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < dim; ++d) {
          const float qd = q[(i * heads + h) * dim + d];
          dot += (bf16_queries ? double(round_to_bf16(qd * scale)) : double(qd) * scale) *
                 k[(j * kv_heads + g) * dim + d];
        }
        s[j] = dot;
        mx = std::max(mx, s[j]);
      }
      for (auto& e : s) sum += (e = std::exp(e - mx));
      for (int64_t d = 0; d < dim; ++d) {
        double o = 0;
        for (int64_t j = 0; j <= last; ++j) o += s[j] / sum * v[(j * kv_heads + g) * dim + d];
        expected[(i * heads + h) * dim + d] = static_cast<float>(o);
      }
    }
  }
  return expected;
}

// Tiled prefill attention and per-query attention against a plain softmax, for odd lengths, page sizes
// 1/5/16/64, MHA and GQA, every cache dtype, head sizes with the generic and the register-resident
// paths (12; 64, 128), and a prompt block that starts after earlier tokens.
TEST(Kernels, AttentionKernelsMatchPlainSoftmax) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (int64_t page : {1, 5, 16, 64}) {
      for (auto [heads, kv_heads, dim] :
           {std::tuple<int64_t, int64_t, int64_t>{3, 3, 12}, {6, 2, 64}, {2, 1, 128}}) {
        // Short (one key tile) and long (three key tiles of 128, a partial last query tile of 64) blocks.
        for (auto [earlier, n] : {std::pair<int64_t, int64_t>{19, 77}, {150, 203}}) {
          KvCacheShape shape{1, kv_heads, dim, page, dtype};
          KvCache cache(shape);
          const int64_t total = earlier + n;
          auto k = random_vector(static_cast<size_t>(total * kv_heads * dim), 5);
          auto v = random_vector(static_cast<size_t>(total * kv_heads * dim), 6);
          cache.append(0, k.data(), v.data(), earlier);
          cache.append(0, k.data() + earlier * kv_heads * dim, v.data() + earlier * kv_heads * dim, n);
          for (auto& e : k) e = round_to(dtype, e);
          for (auto& e : v) e = round_to(dtype, e);
          const auto q = random_vector(static_cast<size_t>(n * heads * dim), 8);
          const float scale = 0.3f;
          std::vector<float> tiled(q.size()), per_query(q.size());
          causal_attention_tiled(q.data(), n, earlier, cache, 0, heads, scale, tiled.data());
          causal_attention(q.data(), n, earlier, cache, 0, heads, scale, per_query.data());
          const std::vector<float> expected =
              plain_causal_softmax(q, k, v, earlier, n, heads, kv_heads, dim, scale, /*bf16_queries=*/false);
          EXPECT_LT(testing::relative_error(tiled, expected), 1e-5)
              << "page " << page << " heads " << heads << " dim " << dim;
          EXPECT_LT(testing::relative_error(per_query, expected), 1e-5)
              << "page " << page << " heads " << heads;
        }
      }
    }
  }
}

// The tiled prompt attention with BF16 products (--matmul bf16): q·scale and the softmax weights are rounded
// to bf16 for the two products, the keys and values of a bf16 cache are exact. Against the plain softmax over
// the rounded queries, what remains is the weights' rounding (relative 2^-9 each, so at most 2^-9 of the
// largest value) and f32 sums; a packing error (a token or a dimension out of place) is far larger with this
// sharp a softmax. Odd lengths and head sizes (13: an odd number of bf16 pairs), MHA and GQA, page sizes
// 1/16/64, a block after earlier tokens, and the same bound for the f32 products' output.
TEST(Kernels, Bf16PromptAttentionMatchesPlainSoftmaxOverRoundedQueries) {
  for (int64_t page : {1, 16, 64}) {
    for (auto [heads, kv_heads, dim] :
         {std::tuple<int64_t, int64_t, int64_t>{3, 3, 13}, {6, 2, 64}, {2, 1, 128}}) {
      for (auto [earlier, n] : {std::pair<int64_t, int64_t>{19, 77}, {150, 203}}) {
        KvCache cache(KvCacheShape{1, kv_heads, dim, page, DType::BF16});
        const int64_t total = earlier + n;
        auto k = random_vector(static_cast<size_t>(total * kv_heads * dim), 5);
        auto v = random_vector(static_cast<size_t>(total * kv_heads * dim), 6);
        cache.append(0, k.data(), v.data(), earlier);
        cache.append(0, k.data() + earlier * kv_heads * dim, v.data() + earlier * kv_heads * dim, n);
        for (auto& e : k) e = round_to_bf16(e);
        for (auto& e : v) e = round_to_bf16(e);
        const auto q = random_vector(static_cast<size_t>(n * heads * dim), 8);
        const float scale = 2.0f / std::sqrt(static_cast<float>(dim));
        std::vector<float> bf16(q.size()), f32(q.size());
        causal_attention_tiled(q.data(), n, earlier, cache, 0, heads, scale, bf16.data(),
                               MatmulPrecision::BF16);
        causal_attention_tiled(q.data(), n, earlier, cache, 0, heads, scale, f32.data(),
                               MatmulPrecision::F32);
        const auto rounded_queries =
            plain_causal_softmax(q, k, v, earlier, n, heads, kv_heads, dim, scale, /*bf16_queries=*/true);
        EXPECT_LT(testing::relative_error(bf16, rounded_queries), 1.0 / 512)
            << "page " << page << " heads " << heads << " dim " << dim << " n " << n;
        // The rounding is really there: the f32 products do not give the same numbers.
        EXPECT_GT(testing::relative_error(bf16, f32), 0.0);
      }
    }
  }
}

}  // namespace
}  // namespace ratkv

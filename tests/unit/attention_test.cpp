// The online-softmax attention kernels (attend.h) and split-K decode against the plain two-pass
// reference, over odd lengths, partial pages, every cache dtype, head sizes with the generic (12, 40) and
// register-resident (64, 128) paths, GQA groups; the vector exp against std::exp; and decode results
// bit-identical across thread counts.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "attention/attend.h"
#include "base/rng.h"
#include "kernels/cpu/simd.h"
#include "test_util.h"

namespace ratkv {
namespace {

using testing::random_vector;

// A one-layer cache of `tokens` random tokens, appended in two uneven parts (a partial page in between).
KvCache filled_cache(int64_t kv_heads, int64_t dim, int64_t page, DType dtype, int64_t tokens, uint64_t seed,
                     float key_scale = 1.0f) {
  KvCache cache(KvCacheShape{1, kv_heads, dim, page, dtype});
  const auto k = random_vector(static_cast<size_t>(tokens * kv_heads * dim), seed, key_scale);
  const auto v = random_vector(k.size(), seed + 1);
  const int64_t first = tokens / 3;
  cache.append(0, k.data(), v.data(), first);
  cache.append(0, k.data() + first * kv_heads * dim, v.data() + first * kv_heads * dim, tokens - first);
  return cache;
}

// The softmax in double over the stored (rounded) keys and values: the yardstick for long sums, where
// the f32 two-pass reference's own rounding (one serial sum over every key) is not small.
std::vector<float> attention_in_double(const float* q, const std::vector<TokenSpan>& spans,
                                       const KvCache& cache, int64_t kv_head, float scale) {
  const int64_t dim = cache.shape().head_dim;
  const DType dtype = cache.shape().dtype;
  std::vector<double> scores;
  for (const auto& s : spans)
    for (int64_t j = 0; j < s.count; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < dim; ++d)
        dot += double(q[d]) * load_as_f32(cache.keys(0, s.start + j, kv_head), static_cast<size_t>(d), dtype);
      scores.push_back(dot * scale);
    }
  const double mx = *std::max_element(scores.begin(), scores.end());
  double total = 0;
  for (auto& e : scores) total += (e = std::exp(e - mx));
  std::vector<double> o(static_cast<size_t>(dim), 0.0);
  size_t at = 0;
  for (const auto& s : spans)
    for (int64_t j = 0; j < s.count; ++j, ++at)
      for (int64_t d = 0; d < dim; ++d)
        o[d] +=
            scores[at] * load_as_f32(cache.values(0, s.start + j, kv_head), static_cast<size_t>(d), dtype);
  std::vector<float> out(static_cast<size_t>(dim));
  for (int64_t d = 0; d < dim; ++d) out[d] = static_cast<float>(o[d] / total);
  return out;
}

#if defined(__AVX512F__)
TEST(Simd, VectorExpMatchesStdExp) {
  // Every 1/4096 from -110 to 89 plus the special values; results within 2 ulp of std::exp where the
  // result is normal, within 2 units of the smallest subnormal below that.
  std::vector<float> xs;
  for (int64_t i = -110 * 4096; i <= 89 * 4096; ++i) xs.push_back(static_cast<float>(i) / 4096.0f);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 0.3465f, -0.3466f, 88.72f, -87.33f, -103.97f, -1e30f, 1e30f})
    xs.push_back(x);
  xs.push_back(-std::numeric_limits<float>::infinity());
  xs.push_back(std::numeric_limits<float>::infinity());
  while (xs.size() % 16) xs.push_back(0.0f);
  double worst_ulp = 0;
  for (size_t i = 0; i < xs.size(); i += 16) {
    alignas(64) float y[16];
    _mm512_store_ps(y, simd::exp_f32x16(_mm512_loadu_ps(xs.data() + i)));
    for (int j = 0; j < 16; ++j) {
      const float x = xs[i + j], expected = std::exp(x);
      if (std::isinf(expected) || expected == 0.0f) {
        EXPECT_EQ(y[j], expected) << x;
      } else if (expected < std::numeric_limits<float>::min()) {
        EXPECT_LE(std::fabs(y[j] - expected), 2 * std::numeric_limits<float>::denorm_min()) << x;
      } else {
        const double ulp =
            std::fabs(double(y[j]) - expected) / (std::nextafter(expected, INFINITY) - expected);
        worst_ulp = std::max(worst_ulp, ulp);
        ASSERT_LE(ulp, 2.0) << x << " " << y[j] << " " << expected;
      }
    }
  }
  EXPECT_EQ(simd::exp_f32x16(_mm512_setzero_ps())[0], 1.0f);
  EXPECT_TRUE(std::isnan(simd::exp_f32x16(_mm512_set1_ps(std::nanf("")))[0]));
  std::printf("vector exp: worst %.2f ulp\n", worst_ulp);
}

TEST(Simd, VectorErfMatchesStdErf) {
  // Every 1/8192 from -6 to 6 plus special values: within 3e-7 of std::erf absolutely (erf ∈ [-1, 1]) and
  // within 4 ulp relatively where |erf| ≥ 1e-3; odd; ±1 beyond the fitted range; NaN stays NaN.
  std::vector<float> xs;
  for (int64_t i = -6 * 8192; i <= 6 * 8192; ++i) xs.push_back(static_cast<float>(i) / 8192.0f);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, 0.8999999f, 0.9f, 3.999f, 4.0f, 9.0f, -1e30f, 1e30f})
    xs.push_back(x);
  xs.push_back(-std::numeric_limits<float>::infinity());
  xs.push_back(std::numeric_limits<float>::infinity());
  while (xs.size() % 16) xs.push_back(0.0f);
  double worst_abs = 0, worst_ulp = 0;
  for (size_t i = 0; i < xs.size(); i += 16) {
    alignas(64) float y[16];
    _mm512_store_ps(y, simd::erf_f32x16(_mm512_loadu_ps(xs.data() + i)));
    for (int j = 0; j < 16; ++j) {
      const float x = xs[i + j];
      const double expected = std::erf(static_cast<double>(x));
      const double error = std::fabs(double(y[j]) - expected);
      worst_abs = std::max(worst_abs, error);
      ASSERT_LE(error, 3e-7) << x << " " << y[j] << " " << expected;
      const float rounded = static_cast<float>(expected);
      if (std::fabs(expected) >= 1e-3) {
        const double ulp = error / std::fabs(double(std::nextafter(rounded, 2.0f)) - rounded);
        worst_ulp = std::max(worst_ulp, ulp);
        ASSERT_LE(ulp, 4.0) << x << " " << y[j] << " " << expected;
      } else if (x != 0.0f) {
        ASSERT_LE(error / std::fabs(expected), 5e-7) << x;  // relative near 0, where erf(x) ≈ 1.128 x
      }
      ASSERT_EQ(simd::erf_f32x16(_mm512_set1_ps(-x))[0], -y[j]) << x;
    }
  }
  EXPECT_EQ(simd::erf_f32x16(_mm512_set1_ps(9.0f))[0], 1.0f);
  EXPECT_EQ(simd::erf_f32x16(_mm512_set1_ps(-std::numeric_limits<float>::infinity()))[0], -1.0f);
  EXPECT_TRUE(std::isnan(simd::erf_f32x16(_mm512_set1_ps(std::nanf("")))[0]));
  std::printf("vector erf: worst %.2e absolute, %.2f ulp\n", worst_abs, worst_ulp);
}

TEST(Simd, SixteenHorizontalSumsMatchPlainSums) {
  const auto v = random_vector(256, 3);
  __m512 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_loadu_ps(v.data() + 16 * i);
  const __m512 s = simd::sum16_from_lanes(
      simd::sum4_by_lane(a[0], a[1], a[2], a[3]), simd::sum4_by_lane(a[4], a[5], a[6], a[7]),
      simd::sum4_by_lane(a[8], a[9], a[10], a[11]), simd::sum4_by_lane(a[12], a[13], a[14], a[15]));
  for (int i = 0; i < 16; ++i) {
    double expected = 0;
    for (int j = 0; j < 16; ++j) expected += v[16 * i + j];
    EXPECT_NEAR(s[i], expected, 1e-5) << i;
  }
}

TEST(Simd, LoadWidensEveryDtypeExactlyAndMasksTheTail) {
  const auto v = random_vector(16, 4);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    std::vector<uint8_t> bytes(16 * dtype_size(dtype));
    convert_from_f32(v.data(), 16, dtype, bytes.data());
    for (int n : {16, 11, 1}) {
      const __m512 x = simd::load_f32x16(bytes.data(), dtype, simd::lanes(n));
      for (int i = 0; i < 16; ++i) EXPECT_EQ(x[i], i < n ? round_to(dtype, v[i]) : 0.0f) << dtype_name(dtype);
    }
  }
}
#endif

// Spans of a sparse-looking selection: every other page, the first and last partial, a lone token.
std::vector<TokenSpan> scattered_spans(const KvCache& cache, int64_t tokens) {
  std::vector<TokenSpan> spans;
  const int64_t page = cache.shape().page_size;
  for (int64_t p = 0; p * page < tokens; p += 2) {
    const int64_t start = p * page + (p == 0 ? std::min<int64_t>(1, page - 1) : 0);
    const int64_t end = std::min(tokens, (p + 1) * page);
    if (start < end) spans.push_back({start, end - start});
  }
  return spans;
}

TEST(Attention, OnlineKernelsMatchTheTwoPassReference) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (int64_t page : {1, 5, 16, 64}) {
      for (auto [group, dim] : {std::tuple<int64_t, int64_t>{1, 12}, {3, 40}, {1, 64}, {3, 64}, {2, 128}}) {
        for (int64_t tokens : {1, 15, 16, 17, 77, 300}) {
          const int64_t kv_heads = 2;
          // Keys scaled up so that the softmax is peaked and the running maximum moves.
          const KvCache cache = filled_cache(kv_heads, dim, page, dtype, tokens, tokens + dim, 3.0f);
          const auto q = random_vector(static_cast<size_t>(group * dim), 9 + dim);
          std::vector<TokenSpan> dense;
          dense_spans(cache, tokens, dense);
          for (const auto& spans : {dense, scattered_spans(cache, tokens)}) {
            if (spans.empty()) continue;
            std::vector<float> got(q.size()), expected(q.size()), one(static_cast<size_t>(dim));
            attend_group(q.data(), group, spans, cache, 0, 1, 0.125f, got.data());
            for (int64_t h = 0; h < group; ++h)
              attend_reference(q.data() + h * dim, spans, cache, 0, 1, 0.125f, expected.data() + h * dim);
            EXPECT_LT(testing::relative_error(got, expected), 2e-6)
                << dtype_name(dtype) << " page " << page << " dim " << dim << " group " << group << " tokens "
                << tokens << " spans " << spans.size();
            attend(q.data(), spans, cache, 0, 1, 0.125f, one.data());
            EXPECT_TRUE(std::equal(one.begin(), one.end(), got.begin()))
                << "attend is the first head of a group";
          }
        }
      }
    }
  }
}

// decode_attention is split-K with log-sum-exp merging; lengths around the chunk boundaries and past
// 64 chunks (where chunks grow), against the reference per head.
TEST(Attention, SplitKDecodeMatchesReferenceAndIgnoresThreadCount) {
  for (DType dtype : {DType::BF16, DType::F32, DType::F16}) {
    for (auto [heads, kv_heads, dim, page] :
         {std::tuple<int64_t, int64_t, int64_t, int64_t>{4, 2, 64, 16}, {3, 3, 40, 5}, {2, 1, 128, 64}}) {
      for (int64_t tokens : {1, 127, 128, 129, 1000, 8192 + 200}) {
        if (dtype != DType::BF16 && tokens > 1000) continue;  // the long case once is enough
        const KvCache cache = filled_cache(kv_heads, dim, page, dtype, tokens, tokens, 2.0f);
        const auto q = random_vector(static_cast<size_t>(heads * dim), 17);
        const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
        std::vector<float> expected, plain(q.size());
        std::vector<TokenSpan> spans;
        dense_spans(cache, tokens, spans);
        for (int64_t h = 0; h < heads; ++h) {
          const auto head =
              attention_in_double(q.data() + h * dim, spans, cache, h / (heads / kv_heads), scale);
          expected.insert(expected.end(), head.begin(), head.end());
          attend_reference(q.data() + h * dim, spans, cache, 0, h / (heads / kv_heads), scale,
                           plain.data() + h * dim);
        }
        const double plain_error = testing::relative_error(plain, expected);
        std::vector<float> first;
        for (int threads : {1, 2, 3}) {
          const int saved = omp_get_max_threads();
          omp_set_num_threads(threads);
          std::vector<float> got(q.size());
          causal_attention(q.data(), 1, tokens - 1, cache, 0, heads, scale, got.data());
          omp_set_num_threads(saved);
          // No worse than the f32 two-pass reference (with a floor for short lengths, where both are exact
          // to a few ulp).
          EXPECT_LT(testing::relative_error(got, expected), std::max(2e-6, plain_error))
              << dtype_name(dtype) << " dim " << dim << " tokens " << tokens << " threads " << threads
              << " (two-pass f32: " << plain_error << ")";
          if (first.empty()) first = got;
          EXPECT_EQ(std::memcmp(first.data(), got.data(), got.size() * sizeof(float)), 0)
              << "threads " << threads << " changed the result, tokens " << tokens;
        }
      }
    }
  }
}

TEST(Attention, DecodeChunksDependOnTheLengthOnly) {
  EXPECT_EQ(decode_chunk_tokens(1), 128);
  EXPECT_EQ(decode_chunk_tokens(8192), 128);
  EXPECT_EQ(decode_chunk_tokens(8193), 256);
  for (int64_t t : {1, 500, 8193, 32769, 1 << 20})
    EXPECT_LE((t + decode_chunk_tokens(t) - 1) / decode_chunk_tokens(t), 64);
}

}  // namespace
}  // namespace ratkv

#pragma once
// Shared pieces of the sparse tests: a KV cache filled with random keys and values together with the
// stored (rounded) values as plain f32 arrays, so brute-force references can be written from definitions.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "base/rng.h"
#include "cache/kv_cache.h"
#include "sparse/selector.h"
#include "test_util.h"

namespace ratkv::testing {

struct RandomCache {
  KvCacheShape shape;
  std::unique_ptr<KvCache> cache;
  // Stored values as f32: [layer][kv_head][token][head_dim].
  std::vector<std::vector<std::vector<float>>> keys, values;

  RandomCache(int64_t layers, int64_t kv_heads, int64_t dim, int64_t page, int64_t tokens, DType dtype,
              uint64_t seed, float key_offset = 0.0f) {
    shape = KvCacheShape{layers, kv_heads, dim, page, dtype};
    cache = std::make_unique<KvCache>(shape);
    keys.assign(static_cast<size_t>(layers), std::vector<std::vector<float>>(static_cast<size_t>(kv_heads)));
    values = keys;
    Rng rng(seed);
    std::vector<float> k(static_cast<size_t>(kv_heads * dim)), v(k.size());
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t l = 0; l < layers; ++l) {
        // Keys drift slowly with position (as EMA keys do) so that pages differ and selection matters.
        for (int64_t i = 0; i < kv_heads * dim; ++i) {
          k[static_cast<size_t>(i)] = rng.normal() + key_offset * std::sin(0.05f * static_cast<float>(t) + i);
          v[static_cast<size_t>(i)] = rng.normal();
        }
        cache->append(l, k.data(), v.data(), 1);
        for (int64_t h = 0; h < kv_heads; ++h)
          for (int64_t d = 0; d < dim; ++d) {
            keys[static_cast<size_t>(l)][static_cast<size_t>(h)].push_back(
                round_to(dtype, k[static_cast<size_t>(h * dim + d)]));
            values[static_cast<size_t>(l)][static_cast<size_t>(h)].push_back(
                round_to(dtype, v[static_cast<size_t>(h * dim + d)]));
          }
      }
    }
  }
  const float* key(int64_t layer, int64_t head, int64_t token) const {
    return keys[static_cast<size_t>(layer)][static_cast<size_t>(head)].data() + token * shape.head_dim;
  }
  const float* value(int64_t layer, int64_t head, int64_t token) const {
    return values[static_cast<size_t>(layer)][static_cast<size_t>(head)].data() + token * shape.head_dim;
  }
};

inline std::set<int64_t> tokens_of(const std::vector<TokenSpan>& spans, int64_t page_size) {
  std::set<int64_t> s;
  int64_t last = -1;
  for (const auto& span : spans) {
    EXPECT_GE(span.count, 1);
    EXPECT_GT(span.start, last) << "spans must be ascending and disjoint";
    EXPECT_EQ(span.start / page_size, (span.start + span.count - 1) / page_size) << "span crosses a page";
    for (int64_t j = span.start; j < span.start + span.count; ++j) s.insert(j);
    last = span.start + span.count - 1;
  }
  return s;
}

inline double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Brute-force top-k of scores[i] for i in candidates, ties to the lower index.
inline std::set<int64_t> brute_top_k(const std::vector<double>& scores, std::vector<int64_t> candidates,
                                     int64_t k) {
  std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) {
    return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
  });
  if (k < static_cast<int64_t>(candidates.size()))
    candidates.resize(static_cast<size_t>(std::max<int64_t>(k, 0)));
  return {candidates.begin(), candidates.end()};
}

}  // namespace ratkv::testing

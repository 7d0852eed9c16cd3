// Split-K decode attention: one query per head over a long context, cut into chunks of tokens that run
// in parallel and merge by log-sum-exp (FlashInfer's and FlashDecoding's split-KV). With few heads per
// thread (8 heads on 2 cores at 4K depth is 4 heads each) a per-head split would leave cores idle at the
// end of each layer, and a head's keys are strided across pages; a chunk instead walks its pages in
// order and, within each page, every KV head, so every core streams contiguous memory.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attention/attend.h"

namespace ratkv {

namespace {
constexpr int64_t kMinChunk = 128;  // tokens: below this a task's fixed costs show
constexpr int64_t kMaxChunks = 64;  // bounds the per-chunk states and the merge
}  // namespace

// A function of the length alone (never of the thread count), so the partition, and with it every
// rounding, is the same on any number of threads.
int64_t decode_chunk_tokens(int64_t tokens) {
  const int64_t units = (tokens + kMinChunk * kMaxChunks - 1) / (kMinChunk * kMaxChunks);
  return kMinChunk * std::max<int64_t>(1, units);
}

void decode_attention(const float* q, int64_t position, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t tokens = position + 1;
  const int64_t chunk = decode_chunk_tokens(tokens);
  const int64_t chunks = (tokens + chunk - 1) / chunk;

  // Per chunk: [o: num_heads][dim], [max: num_heads], [sum: num_heads], each chunk's block starting on
  // its own 64-byte line: concurrent chunks update their running max and sum every 16 keys, and on a
  // shared line that false sharing made two threads slower than one. Reused across calls (no
  // allocation per step once warm); owned by the calling thread.
  const int64_t stride = (num_heads * dim + 2 * num_heads + 15) / 16 * 16;
  static thread_local std::vector<float> parts;
  parts.resize(static_cast<size_t>(chunks * stride + 16));
  float* base = parts.data() + (16 - reinterpret_cast<uintptr_t>(parts.data()) / sizeof(float) % 16) % 16;
  auto o_of = [&](int64_t c) { return base + c * stride; };
  auto max_of = [&](int64_t c) { return base + c * stride + num_heads * dim; };
  auto sum_of = [&](int64_t c) { return base + c * stride + num_heads * dim + num_heads; };

  // Chunks go round-robin (thread t takes t, t + T, ...): balanced to within one chunk.
#pragma omp parallel for schedule(static, 1) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    static thread_local std::vector<TokenSpan> spans;
    spans.clear();
    append_range_spans(cache, c * chunk, std::min(tokens, (c + 1) * chunk), spans);
    float* o = o_of(c);
    float* max = max_of(c);
    float* sum = sum_of(c);
    attention_state_init(num_heads, dim, o, max, sum);
    // Page by page and, within a page, KV head by KV head: one head's keys and values of a page are one
    // contiguous run (kv_cache.h), so the chunk reads its pages front to back as one stream. No software
    // prefetch: on this access pattern the cores' own stream prefetchers do better alone. Prefetching the
    // next run (and the next chunk's first run) cost 30-50% of the attention's bandwidth at 4K and 32K
    // depth on the development machine (docs/performance.md, 2026-11-29).
    const int64_t runs = static_cast<int64_t>(spans.size()) * kv_heads;
    for (int64_t run = 0; run < runs; ++run) {
      const TokenSpan& span = spans[static_cast<size_t>(run / kv_heads)];
      const int64_t g = run % kv_heads;
      attend_partial(q + g * group * dim, group, &span, 1, cache, layer, g, scale, o + g * group * dim,
                     max + g * group, sum + g * group);
    }
  }

  // Merge in chunk order: out_h = Σ_c e^{max_c − M} o_c / Σ_c e^{max_c − M} sum_c, M = max_c max_c.
  for (int64_t h = 0; h < num_heads; ++h) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < chunks; ++c) m = std::max(m, max_of(c)[h]);
    float* dst = out + h * dim;
    std::fill(dst, dst + dim, 0.0f);
    float total = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) {
      const float w = std::exp(max_of(c)[h] - m);
      total += w * sum_of(c)[h];
      const float* src = o_of(c) + h * dim;
      for (int64_t d = 0; d < dim; ++d) dst[d] += w * src[d];
    }
    const float inv = 1.0f / total;
    for (int64_t d = 0; d < dim; ++d) dst[d] *= inv;
  }
}

}  // namespace ratkv

#include "attention/attend.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/simd.h"

namespace ratkv {

float dot_cached(const float* x, const uint8_t* y, DType dtype, int64_t n) {
#if defined(__AVX512F__)
  const size_t elem = dtype_size(dtype);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = simd::lanes(n - i);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i), simd::load_f32x16(y + i * elem, dtype, mask),
                          acc);
  }
  return _mm512_reduce_add_ps(acc);
#else
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * load_as_f32(y, static_cast<size_t>(i), dtype);
  return sum;
#endif
}

void axpy_cached(float weight, const uint8_t* y, DType dtype, int64_t n, float* acc) {
#if defined(__AVX512F__)
  const size_t elem = dtype_size(dtype);
  const __m512 w = _mm512_set1_ps(weight);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = simd::lanes(n - i);
    const __m512 a = _mm512_maskz_loadu_ps(mask, acc + i);
    _mm512_mask_storeu_ps(acc + i, mask, _mm512_fmadd_ps(w, simd::load_f32x16(y + i * elem, dtype, mask), a));
  }
#else
  for (int64_t i = 0; i < n; ++i) acc[i] += weight * load_as_f32(y, static_cast<size_t>(i), dtype);
#endif
}

void append_range_spans(const KvCache& cache, int64_t begin, int64_t end, std::vector<TokenSpan>& spans) {
  const int64_t page_size = cache.shape().page_size;
  for (int64_t s = begin; s < end;) {
    const int64_t count = std::min(end - s, page_size - s % page_size);
    spans.push_back({s, count});
    s += count;
  }
}

void dense_spans(const KvCache& cache, int64_t end, std::vector<TokenSpan>& spans) {
  spans.clear();
  append_range_spans(cache, 0, end, spans);
}

void attention_state_init(int64_t heads, int64_t head_dim, float* o, float* max, float* sum) {
  std::fill(o, o + heads * head_dim, 0.0f);
  std::fill(max, max + heads, -std::numeric_limits<float>::infinity());
  std::fill(sum, sum + heads, 0.0f);
}

namespace {

constexpr int64_t kBlock = 16;  // keys per online-softmax step

// Raises a head's running maximum to block_max if larger, rescaling what was accumulated under the old
// one; returns the factor applied (1 when unchanged; 0 from the initial −inf).
inline float raise_max(float block_max, float& max, float& sum) {
  if (!(block_max > max)) return 1.0f;
  const float correction = std::exp(max - block_max);
  max = block_max;
  sum *= correction;
  return correction;
}

// Any head size, scalar exp: one block of up to 16 keys at a time, per head of the group.
// keys, values: [count][dim] rows of one page in the cache dtype.
void partial_generic(const float* q, int64_t heads, const uint8_t* keys, const uint8_t* values, int64_t count,
                     DType dtype, int64_t dim, float scale, float* o, float* max, float* sum) {
  const int64_t row = dim * static_cast<int64_t>(dtype_size(dtype));
  float s[kBlock];
  for (int64_t j0 = 0; j0 < count; j0 += kBlock) {
    const int64_t nk = std::min(kBlock, count - j0);
    for (int64_t h = 0; h < heads; ++h) {
      float block_max = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < nk; ++k) {
        s[k] = dot_cached(q + h * dim, keys + (j0 + k) * row, dtype, dim) * scale;
        block_max = std::max(block_max, s[k]);
      }
      float* oh = o + h * dim;
      const float correction = raise_max(block_max, max[h], sum[h]);
      if (correction != 1.0f)
        for (int64_t d = 0; d < dim; ++d) oh[d] *= correction;
      for (int64_t k = 0; k < nk; ++k) {
        const float p = std::exp(s[k] - max[h]);
        sum[h] += p;
        axpy_cached(p, values + (j0 + k) * row, dtype, dim, oh);
      }
    }
  }
}

#if defined(__AVX512F__)
// Head sizes 16·C (64, 128): q and the block's output rows in registers. Per block of 16 keys and head:
// 16 dot products folded into one vector of scores (sum4_by_lane / sum16_from_lanes), one vector exp, then
// 16 FMA sweeps over the values. Lanes past a partial block never load and score −inf (weight 0).
// Rows of the block: consecutive rows of one span (ContiguousRows) or rows gathered from short spans
// (GatheredRows, e.g. SnapKV's scattered tokens), so a block is always up to 16 keys.
struct ContiguousRows {
  const uint8_t* keys;
  const uint8_t* values;
  int64_t row;
  const uint8_t* key(int64_t k) const { return keys + k * row; }
  const uint8_t* value(int64_t k) const { return values + k * row; }
};
struct GatheredRows {
  const uint8_t* const* keys;
  const uint8_t* const* values;
  const uint8_t* key(int64_t k) const { return keys[k]; }
  const uint8_t* value(int64_t k) const { return values[k]; }
};

template <int C, bool kFull, class Rows>
inline void block_registers(const float* q, float scale, const Rows& rows, int64_t nk, DType dtype, float* oh,
                            float& max, float& sum) {
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  __m512 qv[C];
  for (int c = 0; c < C; ++c) qv[c] = _mm512_mul_ps(_mm512_loadu_ps(q + 16 * c), _mm512_set1_ps(scale));
  __m512 lane_sums[4];
  for (int g = 0; g < 4; ++g) {
    __m512 a[4];
    for (int k = 0; k < 4; ++k) {
      a[k] = _mm512_setzero_ps();
      if (kFull || 4 * g + k < nk)
        for (int c = 0; c < C; ++c)
          a[k] = _mm512_fmadd_ps(qv[c], simd::load_f32x16(rows.key(4 * g + k) + c * 16 * elem, dtype), a[k]);
    }
    lane_sums[g] = simd::sum4_by_lane(a[0], a[1], a[2], a[3]);
  }
  __m512 s = simd::sum16_from_lanes(lane_sums[0], lane_sums[1], lane_sums[2], lane_sums[3]);
  if (!kFull)
    s = _mm512_mask_mov_ps(_mm512_set1_ps(-std::numeric_limits<float>::infinity()), simd::lanes(nk), s);

  __m512 ov[C];
  for (int c = 0; c < C; ++c) ov[c] = _mm512_loadu_ps(oh + 16 * c);
  const float correction = raise_max(_mm512_reduce_max_ps(s), max, sum);
  if (correction != 1.0f)
    for (int c = 0; c < C; ++c) ov[c] = _mm512_mul_ps(ov[c], _mm512_set1_ps(correction));
  const __m512 p = simd::exp_f32x16(_mm512_sub_ps(s, _mm512_set1_ps(max)));
  sum += _mm512_reduce_add_ps(p);
  alignas(64) float weights[kBlock];
  _mm512_store_ps(weights, p);
  for (int64_t k = 0; k < (kFull ? kBlock : nk); ++k) {
    const __m512 w = _mm512_set1_ps(weights[k]);
    for (int c = 0; c < C; ++c)
      ov[c] = _mm512_fmadd_ps(w, simd::load_f32x16(rows.value(k) + c * 16 * elem, dtype), ov[c]);
  }
  for (int c = 0; c < C; ++c) _mm512_storeu_ps(oh + 16 * c, ov[c]);
}

// q [heads][16·C]; keys, values [count][16·C] rows of one span in the cache dtype; o [heads][16·C],
// max and sum [heads]. The heads of a group take turns on each block, so its 16 keys and values are read
// from memory once and then from L1.
template <int C>
void partial_registers(const float* q, int64_t heads, const uint8_t* keys, const uint8_t* values,
                       int64_t count, DType dtype, float scale, float* o, float* max, float* sum) {
  constexpr int64_t dim = 16 * C;
  const int64_t row = dim * static_cast<int64_t>(dtype_size(dtype));
  int64_t j0 = 0;
  for (; j0 + kBlock <= count; j0 += kBlock) {
    const ContiguousRows rows{keys + j0 * row, values + j0 * row, row};
    for (int64_t h = 0; h < heads; ++h)
      block_registers<C, true>(q + h * dim, scale, rows, kBlock, dtype, o + h * dim, max[h], sum[h]);
  }
  if (j0 < count) {
    const ContiguousRows rows{keys + j0 * row, values + j0 * row, row};
    for (int64_t h = 0; h < heads; ++h)
      block_registers<C, false>(q + h * dim, scale, rows, count - j0, dtype, o + h * dim, max[h], sum[h]);
  }
}

// As partial_registers for one block of count ≤ 16 rows given by pointer (keys[k], values[k]: one
// [16·C] row each).
template <int C>
void partial_gathered(const float* q, int64_t heads, const uint8_t* const* keys, const uint8_t* const* values,
                      int64_t count, DType dtype, float scale, float* o, float* max, float* sum) {
  constexpr int64_t dim = 16 * C;
  const GatheredRows rows{keys, values};
  for (int64_t h = 0; h < heads; ++h) {
    if (count == kBlock)
      block_registers<C, true>(q + h * dim, scale, rows, kBlock, dtype, o + h * dim, max[h], sum[h]);
    else
      block_registers<C, false>(q + h * dim, scale, rows, count, dtype, o + h * dim, max[h], sum[h]);
  }
}
#endif

}  // namespace

namespace {
// Prefetches bytes [from, to) of a span's keys and of its values into L2 (prefetcht1), not L1: a 64-token
// page of one head is 16 KB of keys and values, and pulling the next one into the 32 KB L1 while this one
// is read evicted the lines in use. Quest, MoBA, SnapKV and random decode at 32K depth took 15–40% less
// attention time with the L2 hint (docs/performance.md, 2026-11-29).
void prefetch_range(const KvCache& cache, int64_t layer, int64_t kv_head, const TokenSpan& span, int64_t from,
                    int64_t to) {
  const char* keys = reinterpret_cast<const char*>(cache.keys(layer, span.start, kv_head));
  const char* values = reinterpret_cast<const char*>(cache.values(layer, span.start, kv_head));
  for (int64_t b = from; b < to; b += 64) {
    __builtin_prefetch(keys + b, 0, 2);
    __builtin_prefetch(values + b, 0, 2);
  }
}

int64_t span_bytes(const KvCache& cache, const TokenSpan& span) {
  return span.count * cache.shape().head_dim * static_cast<int64_t>(dtype_size(cache.shape().dtype));
}

// Asks for the keys and values of a whole span (software prefetch). Only for selections that jump
// between pages (sparse decode, scattered tokens), where each span starts a new stream; a contiguous walk
// (dense decode) is left to the hardware prefetchers, which do better on it alone.
void prefetch_span(const KvCache& cache, int64_t layer, int64_t kv_head, const TokenSpan& span) {
  prefetch_range(cache, layer, kv_head, span, 0, span_bytes(cache, span));
}
}  // namespace

void attend_partial(const float* q, int64_t heads, const TokenSpan* spans, int64_t num_spans,
                    const KvCache& cache, int64_t layer, int64_t kv_head, float scale, float* o, float* max,
                    float* sum) {
  const int64_t dim = cache.shape().head_dim;
  const DType dtype = cache.shape().dtype;
  const int64_t row = dim * static_cast<int64_t>(dtype_size(dtype));
#if defined(__AVX512F__)
  // Spans shorter than a block (scattered tokens) are gathered 16 keys at a time instead of each
  // paying for a whole block.
  const uint8_t* gathered_keys[kBlock];
  const uint8_t* gathered_values[kBlock];
  int64_t gathered = 0;
  auto flush = [&] {
    if (gathered == 0) return;
    if (dim == 64)
      partial_gathered<4>(q, heads, gathered_keys, gathered_values, gathered, dtype, scale, o, max, sum);
    else
      partial_gathered<8>(q, heads, gathered_keys, gathered_values, gathered, dtype, scale, o, max, sum);
    gathered = 0;
  };
  const bool registers = dim == 64 || dim == 128;
#endif
  for (int64_t i = 0; i < num_spans; ++i) {
    const TokenSpan& s = spans[i];
    // The next span is usually elsewhere (another page, or a gap in a sparse selection): its lines are
    // asked for a slice per block of this span, so its misses overlap this span's arithmetic without
    // stalling on the core's outstanding-miss limit all at once.
    const TokenSpan* next = i + 1 < num_spans ? &spans[i + 1] : nullptr;
#if defined(__AVX512F__)
    if (registers && s.count < kBlock) {
      // Scattered short spans are latency-bound: keep several of them in flight.
      constexpr int64_t kShortAhead = 8;
      if (i + kShortAhead < num_spans) prefetch_span(cache, layer, kv_head, spans[i + kShortAhead]);
      if (i == 0)
        for (int64_t a = 1; a < std::min(kShortAhead, num_spans); ++a)
          prefetch_span(cache, layer, kv_head, spans[a]);
      for (int64_t j = 0; j < s.count; ++j) {
        gathered_keys[gathered] = cache.keys(layer, s.start, kv_head) + j * row;
        gathered_values[gathered] = cache.values(layer, s.start, kv_head) + j * row;
        if (++gathered == kBlock) flush();
      }
      continue;
    }
    flush();
#endif
    const int64_t blocks = (s.count + kBlock - 1) / kBlock;
    const int64_t next_bytes = next ? span_bytes(cache, *next) : 0;
    const int64_t slice = (next_bytes / blocks + 63) / 64 * 64;
    for (int64_t b = 0; b < blocks; ++b) {
      if (next)
        prefetch_range(cache, layer, kv_head, *next, b * slice, std::min(next_bytes, (b + 1) * slice));
      const int64_t j0 = b * kBlock, count = std::min(kBlock, s.count - j0);
      const uint8_t* keys = cache.keys(layer, s.start, kv_head) + j0 * row;
      const uint8_t* values = cache.values(layer, s.start, kv_head) + j0 * row;
#if defined(__AVX512F__)
      if (dim == 64) {
        partial_registers<4>(q, heads, keys, values, count, dtype, scale, o, max, sum);
        continue;
      }
      if (dim == 128) {
        partial_registers<8>(q, heads, keys, values, count, dtype, scale, o, max, sum);
        continue;
      }
#endif
      partial_generic(q, heads, keys, values, count, dtype, dim, scale, o, max, sum);
    }
  }
#if defined(__AVX512F__)
  flush();
#endif
}

void attend_parts(const float* q, int64_t heads, std::span<const AttendPart> parts, int64_t layer,
                  int64_t kv_head, float scale, float* out) {
  const int64_t dim = parts.front().cache->shape().head_dim;
  // A group is at most a few heads: the running maxima and sums live on the stack when they fit (no heap
  // at decode).
  constexpr int64_t kStackHeads = 16;
  float stack[2 * kStackHeads];
  std::vector<float> heap;
  float* max = stack;
  if (heads > kStackHeads) {
    heap.resize(static_cast<size_t>(2 * heads));
    max = heap.data();
  }
  float* sum = max + heads;
  attention_state_init(heads, dim, out, max, sum);
  for (const AttendPart& part : parts)
    attend_partial(q, heads, part.spans, part.num_spans, *part.cache, layer, kv_head, scale, out, max, sum);
  for (int64_t h = 0; h < heads; ++h) {
    const float inv = sum[h] > 0.0f ? 1.0f / sum[h] : 0.0f;  // an empty selection attends to nothing: 0
    for (int64_t d = 0; d < dim; ++d) out[h * dim + d] *= inv;
  }
}

void attend_group(const float* q, int64_t heads, const std::vector<TokenSpan>& spans, const KvCache& cache,
                  int64_t layer, int64_t kv_head, float scale, float* out) {
  const AttendPart part{&cache, spans.data(), static_cast<int64_t>(spans.size())};
  attend_parts(q, heads, {&part, 1}, layer, kv_head, scale, out);
}

void attend(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache, int64_t layer,
            int64_t kv_head, float scale, float* out) {
  attend_group(q, 1, spans, cache, layer, kv_head, scale, out);
}

void attend_reference(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache,
                      int64_t layer, int64_t kv_head, float scale, float* out) {
  const int64_t dim = cache.shape().head_dim;
  const DType dtype = cache.shape().dtype;
  std::vector<float> scores;
  for (const auto& s : spans)
    for (int64_t j = 0; j < s.count; ++j)
      scores.push_back(dot_cached(q, cache.keys(layer, s.start + j, kv_head), dtype, dim) * scale);
  std::fill(out, out + dim, 0.0f);
  if (scores.empty()) return;
  const float max_score = *std::max_element(scores.begin(), scores.end());
  float denominator = 0.0f;
  for (float& s : scores) {
    s = std::exp(s - max_score);
    denominator += s;
  }
  size_t at = 0;
  for (const auto& s : spans)
    for (int64_t j = 0; j < s.count; ++j)
      axpy_cached(scores[at++], cache.values(layer, s.start + j, kv_head), dtype, dim, out);
  for (int64_t i = 0; i < dim; ++i) out[i] /= denominator;
}

void causal_attention(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out) {
  if (n == 1) return decode_attention(q, position0, cache, layer, num_heads, scale, out);
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
#pragma omp parallel if (n * num_heads * (position0 + n) * dim >= 65536)
  {
    std::vector<TokenSpan> spans;
    int64_t spans_for = -1;
#pragma omp for schedule(dynamic, 2)
    for (int64_t work = 0; work < n * kv_heads; ++work) {
      const int64_t i = work / kv_heads, g = work % kv_heads;
      if (spans_for != i) {
        dense_spans(cache, position0 + i + 1, spans);
        spans_for = i;
      }
      const int64_t offset = (i * num_heads + g * group) * dim;
      attend_group(q + offset, group, spans, cache, layer, g, scale, out + offset);
    }
  }
}

}  // namespace ratkv

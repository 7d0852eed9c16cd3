#include "attention/attend.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ratkv {

#if defined(__AVX512F__)
namespace {
inline __m512 load_cached16(const uint8_t* p, DType t, __mmask16 mask) {
  switch (t) {
    case DType::F32:
      return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(p));
    case DType::BF16:
      return _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p)), 16));
    case DType::F16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
  }
  return _mm512_setzero_ps();
}
}  // namespace
#endif

float dot_cached(const float* x, const uint8_t* y, DType dtype, int64_t n) {
#if defined(__AVX512F__)
  const size_t elem = dtype_size(dtype);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i), load_cached16(y + i * elem, dtype, mask), acc);
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
    const __mmask16 mask = n - i >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 a = _mm512_maskz_loadu_ps(mask, acc + i);
    _mm512_mask_storeu_ps(acc + i, mask, _mm512_fmadd_ps(w, load_cached16(y + i * elem, dtype, mask), a));
  }
#else
  for (int64_t i = 0; i < n; ++i) acc[i] += weight * load_as_f32(y, static_cast<size_t>(i), dtype);
#endif
}

void dense_spans(const KvCache& cache, int64_t end, std::vector<TokenSpan>& spans) {
  spans.clear();
  const int64_t page_size = cache.shape().page_size;
  for (int64_t start = 0; start < end; start += page_size)
    spans.push_back({start, std::min(page_size, end - start)});
}

#if defined(__AVX512F__)
namespace {

// The common head sizes (64, 128) keep q and the output accumulator in registers: scores are computed
// four keys at a time (independent FMA chains), and values are accumulated without storing the output
// between keys. C is the number of 16-float chunks of the head.
template <int C>
void attend_registers(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache,
                      int64_t layer, int64_t kv_head, float scale, std::vector<float>& scores, float* out) {
  constexpr int64_t dim = 16 * C;
  const DType dtype = cache.shape().dtype;
  const int64_t row_bytes = dim * static_cast<int64_t>(dtype_size(dtype));
  const __mmask16 all = 0xffff;
  __m512 qv[C];
  for (int c = 0; c < C; ++c) qv[c] = _mm512_mul_ps(_mm512_loadu_ps(q + 16 * c), _mm512_set1_ps(scale));
  int64_t total = 0;
  for (const auto& s : spans) total += s.count;
  scores.resize(static_cast<size_t>(total));

  float max_score = -std::numeric_limits<float>::infinity();
  float* score = scores.data();
  for (const auto& s : spans) {
    const uint8_t* keys = cache.keys(layer, s.start, kv_head);
    int64_t j = 0;
    for (; j + 4 <= s.count; j += 4) {
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int c = 0; c < C; ++c)
        for (int k = 0; k < 4; ++k)
          acc[k] = _mm512_fmadd_ps(
              qv[c], load_cached16(keys + (j + k) * row_bytes + c * 16 * dtype_size(dtype), dtype, all),
              acc[k]);
      for (int k = 0; k < 4; ++k) {
        *score = _mm512_reduce_add_ps(acc[k]);
        max_score = std::max(max_score, *score++);
      }
    }
    for (; j < s.count; ++j) {
      __m512 acc = _mm512_setzero_ps();
      for (int c = 0; c < C; ++c)
        acc = _mm512_fmadd_ps(
            qv[c], load_cached16(keys + j * row_bytes + c * 16 * dtype_size(dtype), dtype, all), acc);
      *score = _mm512_reduce_add_ps(acc);
      max_score = std::max(max_score, *score++);
    }
  }
  float denominator = 0.0f;
  for (float& e : scores) {
    e = std::exp(e - max_score);
    denominator += e;
  }
  __m512 o[C];
  for (int c = 0; c < C; ++c) o[c] = _mm512_setzero_ps();
  score = scores.data();
  for (const auto& s : spans) {
    const uint8_t* values = cache.values(layer, s.start, kv_head);
    for (int64_t j = 0; j < s.count; ++j) {
      const __m512 w = _mm512_set1_ps(*score++);
      for (int c = 0; c < C; ++c)
        o[c] = _mm512_fmadd_ps(
            w, load_cached16(values + j * row_bytes + c * 16 * dtype_size(dtype), dtype, all), o[c]);
    }
  }
  const __m512 inv = _mm512_set1_ps(1.0f / denominator);
  for (int c = 0; c < C; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(o[c], inv));
}

}  // namespace
#endif

void attend(const float* q, const std::vector<TokenSpan>& spans, const KvCache& cache, int64_t layer,
            int64_t kv_head, float scale, std::vector<float>& scores, float* out) {
  const int64_t dim = cache.shape().head_dim;
#if defined(__AVX512F__)
  switch (dim) {
    case 64:
      return attend_registers<4>(q, spans, cache, layer, kv_head, scale, scores, out);
    case 128:
      return attend_registers<8>(q, spans, cache, layer, kv_head, scale, scores, out);
    default:
      break;
  }
#endif
  const DType dtype = cache.shape().dtype;
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  int64_t total = 0;
  for (const auto& s : spans) total += s.count;
  scores.resize(static_cast<size_t>(total));

  float max_score = -std::numeric_limits<float>::infinity();
  int64_t at = 0;
  for (const auto& s : spans) {
    const uint8_t* keys = cache.keys(layer, s.start, kv_head);
    for (int64_t j = 0; j < s.count; ++j) {
      const float score = dot_cached(q, keys + j * dim * elem, dtype, dim) * scale;
      scores[static_cast<size_t>(at++)] = score;
      max_score = std::max(max_score, score);
    }
  }
  float denominator = 0.0f;
  for (float& s : scores) {
    s = std::exp(s - max_score);
    denominator += s;
  }
  std::fill(out, out + dim, 0.0f);
  at = 0;
  for (const auto& s : spans) {
    const uint8_t* values = cache.values(layer, s.start, kv_head);
    for (int64_t j = 0; j < s.count; ++j)
      axpy_cached(scores[static_cast<size_t>(at++)], values + j * dim * elem, dtype, dim, out);
  }
  const float inv = 1.0f / denominator;
  for (int64_t i = 0; i < dim; ++i) out[i] *= inv;
}

void causal_attention(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                      int64_t num_heads, float scale, float* out) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t group = num_heads / cache.shape().num_kv_heads;
#pragma omp parallel if (n * num_heads * (position0 + n) * dim >= 65536)
  {
    std::vector<TokenSpan> spans;
    std::vector<float> scores;
    int64_t spans_for = -1;
#pragma omp for schedule(dynamic, 4)
    for (int64_t work = 0; work < n * num_heads; ++work) {
      const int64_t i = work / num_heads, h = work % num_heads;
      if (spans_for != i) {
        dense_spans(cache, position0 + i + 1, spans);
        spans_for = i;
      }
      attend(q + (i * num_heads + h) * dim, spans, cache, layer, h / group, scale, scores,
             out + (i * num_heads + h) * dim);
    }
  }
}

}  // namespace ratkv

#include "attention/prefill_attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ratkv {

namespace {

constexpr int64_t kQueryTile = 32;  // queries per task (times the GQA group for the rows of a tile)
constexpr int64_t kKeyTile = 64;    // keys per inner step

// Converts keys or values of tokens [start, start + count) of one KV head into rows of f32.
void gather_rows(const KvCache& cache, int64_t layer, int64_t kv_head, int64_t start, int64_t count,
                 bool values, float* rows) {
  const int64_t dim = cache.shape().head_dim, page = cache.shape().page_size;
  const DType dtype = cache.shape().dtype;
  for (int64_t t = start; t < start + count;) {
    const int64_t run = std::min(start + count - t, page - t % page);  // tokens left in this page
    const uint8_t* src = values ? cache.values(layer, t, kv_head) : cache.keys(layer, t, kv_head);
    convert_to_f32(src, dtype, static_cast<size_t>(run * dim), rows + (t - start) * dim);
    t += run;
  }
}

}  // namespace

void causal_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                            int64_t num_heads, float scale, float* out) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t query_tiles = (n + kQueryTile - 1) / kQueryTile;
  const int64_t row_stride = num_heads * dim;

#pragma omp parallel
  {
    const int64_t max_rows = kQueryTile * group;
    std::vector<float> qt(static_cast<size_t>(max_rows * dim)), acc(qt.size());
    std::vector<float> keys(static_cast<size_t>(kKeyTile * dim)), vals(keys.size());
    std::vector<float> scores(static_cast<size_t>(max_rows * kKeyTile));
    std::vector<float> row_max(static_cast<size_t>(max_rows)), row_sum(row_max.size());
    std::vector<int64_t> row_position(row_max.size());

#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t g = 0; g < kv_heads; ++g) {
      for (int64_t tile = 0; tile < query_tiles; ++tile) {
        const int64_t i0 = tile * kQueryTile, queries = std::min(kQueryTile, n - i0);
        const int64_t rows = queries * group;
        // Row r = (query i0 + r / group, head g * group + r % group); scaled once here.
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float* src = q + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) qt[static_cast<size_t>(r * dim + d)] = src[d] * scale;
          row_position[static_cast<size_t>(r)] = position0 + i;
          row_max[static_cast<size_t>(r)] = -std::numeric_limits<float>::infinity();
          row_sum[static_cast<size_t>(r)] = 0.0f;
        }
        std::fill(acc.begin(), acc.begin() + rows * dim, 0.0f);
        const int64_t key_end =
            position0 + i0 + queries;  // exclusive: the tile's last query sees key_end - 1
        for (int64_t k0 = 0; k0 < key_end; k0 += kKeyTile) {
          const int64_t kc = std::min(kKeyTile, key_end - k0);
          gather_rows(cache, layer, g, k0, kc, false, keys.data());
          gather_rows(cache, layer, g, k0, kc, true, vals.data());
          // scores[rows, kc] = qt · keysᵀ
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(kc),
                      static_cast<int>(dim), 1.0f, qt.data(), static_cast<int>(dim), keys.data(),
                      static_cast<int>(dim), 0.0f, scores.data(), static_cast<int>(kc));
          for (int64_t r = 0; r < rows; ++r) {
            float* s = scores.data() + r * kc;
            const int64_t visible = std::clamp<int64_t>(row_position[static_cast<size_t>(r)] - k0 + 1, 0, kc);
            float tile_max = -std::numeric_limits<float>::infinity();
            for (int64_t j = 0; j < visible; ++j) tile_max = std::max(tile_max, s[j]);
            float& m = row_max[static_cast<size_t>(r)];
            const float new_max = std::max(m, tile_max);
            // Rescale what was accumulated under the old maximum.
            const float correction = visible > 0 && m != new_max ? std::exp(m - new_max) : 1.0f;
            float sum = 0.0f;
            for (int64_t j = 0; j < kc; ++j) {
              s[j] = j < visible ? std::exp(s[j] - new_max) : 0.0f;
              sum += s[j];
            }
            if (correction != 1.0f) {
              float* a = acc.data() + r * dim;
              for (int64_t d = 0; d < dim; ++d) a[d] *= correction;
            }
            row_sum[static_cast<size_t>(r)] = row_sum[static_cast<size_t>(r)] * correction + sum;
            if (visible > 0) m = new_max;
          }
          // acc[rows, dim] += scores · vals
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
                      static_cast<int>(dim), static_cast<int>(kc), 1.0f, scores.data(), static_cast<int>(kc),
                      vals.data(), static_cast<int>(dim), 1.0f, acc.data(), static_cast<int>(dim));
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float inv = 1.0f / row_sum[static_cast<size_t>(r)];
          float* dst = out + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) dst[d] = acc[static_cast<size_t>(r * dim + d)] * inv;
        }
      }
    }
  }
}

}  // namespace ratkv

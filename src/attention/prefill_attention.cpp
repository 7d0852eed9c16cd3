#include "attention/prefill_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention/prefill_tiles.h"
#include "base/scratch.h"
#include "kernels/cpu/gemm.h"

namespace ratkv {

namespace {

using namespace prefill_tiles;

// Queries per task (times the GQA group for the rows of a tile).
constexpr int64_t kQueryTile = kPromptQueryTile;
constexpr int64_t kKeyTile = 128;  // keys per inner step; a multiple of kGemmCols: tiles start on panels

}  // namespace

void causal_attention_tiled(const float* q, int64_t n, int64_t position0, const KvCache& cache, int64_t layer,
                            int64_t num_heads, float scale, float* out, MatmulPrecision precision,
                            int64_t first_row) {
  const int64_t dim = cache.shape().head_dim;
  const int64_t kv_heads = cache.shape().num_kv_heads;
  const int64_t group = num_heads / kv_heads;
  const int64_t query_tiles = (n + kQueryTile - 1) / kQueryTile;
  const int64_t first_tile = std::clamp<int64_t>(first_row, 0, n) / kQueryTile;
  const int64_t row_stride = num_heads * dim;
  const int64_t tokens = position0 + n;  // every key of the block is in the cache already

  const PackedHeads packed = packed_heads_buffers(kv_heads, tokens, dim);
  uint32_t* const keys = packed.keys;
  uint32_t* const values = packed.values;
  const int64_t key_words = packed.key_stride, value_words = packed.value_stride;

#pragma omp parallel
  {
    thread_local ScratchFloats head_rows;  // per team thread, reused by later calls
    head_rows.resize(static_cast<size_t>(tokens * dim));
#pragma omp for schedule(dynamic)
    for (int64_t g = 0; g < kv_heads; ++g)
      pack_head(cache, layer, g, tokens, kKeyTile, precision, head_rows.data(), keys + g * key_words,
                values + g * value_words);

    const int64_t max_rows = kQueryTile * group;
    PackedActivations packed_q, packed_p;
    ScratchFloats qt(static_cast<size_t>(max_rows * dim)), acc(qt.size());
    ScratchFloats scores(static_cast<size_t>(max_rows * kKeyTile));
    std::vector<float> row_max(static_cast<size_t>(max_rows)), row_sum(row_max.size());
    std::vector<int64_t> row_position(row_max.size());

#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t g = 0; g < kv_heads; ++g) {
      for (int64_t tile = first_tile; tile < query_tiles; ++tile) {
        const int64_t i0 = tile * kQueryTile, queries = std::min(kQueryTile, n - i0);
        const int64_t rows_in_tile = queries * group;
        // Row r = (query i0 + r / group, head g * group + r % group); scaled once here.
        for (int64_t r = 0; r < rows_in_tile; ++r) {
          const int64_t i = i0 + r / group, h = g * group + r % group;
          const float* src = q + i * row_stride + h * dim;
          for (int64_t d = 0; d < dim; ++d) qt[static_cast<size_t>(r * dim + d)] = src[d] * scale;
          row_position[static_cast<size_t>(r)] = position0 + i;
          row_max[static_cast<size_t>(r)] = -std::numeric_limits<float>::infinity();
          row_sum[static_cast<size_t>(r)] = 0.0f;
        }
        prepare_activations(rows_in_tile, dim, precision, packed_q);
        for (int64_t b = 0; b < packed_q.blocks; ++b) pack_activation_block(qt.data(), dim, b, packed_q);
        std::fill(acc.begin(), acc.begin() + rows_in_tile * dim, 0.0f);

        const int64_t key_end =
            position0 + i0 + queries;  // exclusive: the tile's last query sees key_end − 1
        for (int64_t k0 = 0; k0 < key_end; k0 += kKeyTile) {
          const int64_t kc = std::min(kKeyTile, key_end - k0);    // keys any row of the tile can see
          const int64_t width = std::min(kKeyTile, tokens - k0);  // the packed value tile's length
          // scores[rows, kc] = qt · K[k0 : k0 + kc]ᵀ, rows of `width` (the columns past kc are zeroed below)
          gemm_packed(packed_q, keys + g * key_words + key_tile_offset(k0, dim, precision), kc, scores.data(),
                      width);
          for (int64_t r = 0; r < rows_in_tile; ++r) {
            float* s = scores.data() + r * width;
            const int64_t visible = std::clamp<int64_t>(row_position[static_cast<size_t>(r)] - k0 + 1, 0, kc);
            float& m = row_max[static_cast<size_t>(r)];
            const float new_max = std::max(m, row_maximum(s, visible));
            // Rescale what was accumulated under the old maximum.
            const float correction = visible > 0 && m != new_max ? std::exp(m - new_max) : 1.0f;
            const float sum = exponentiate_row(s, visible, width, new_max);
            if (correction != 1.0f) {
              float* a = acc.data() + r * dim;
              for (int64_t d = 0; d < dim; ++d) a[d] *= correction;
            }
            row_sum[static_cast<size_t>(r)] = row_sum[static_cast<size_t>(r)] * correction + sum;
            if (visible > 0) m = new_max;
          }
          // acc[rows, dim] += scores · V[k0 : k0 + width]
          prepare_activations(rows_in_tile, width, precision, packed_p);
          for (int64_t b = 0; b < packed_p.blocks; ++b)
            pack_activation_block(scores.data(), width, b, packed_p);
          gemm_packed(packed_p, values + g * value_words + value_tile_offset(k0, dim, precision), dim,
                      acc.data(), dim, 0, -1, /*accumulate=*/true);
        }
        for (int64_t r = 0; r < rows_in_tile; ++r) {
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

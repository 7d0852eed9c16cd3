// moba (Lu et al. 2025), training-free as in the seed paper: blocks of `moba_block` tokens aligned from
// position 0; a block's representative is the mean of its stored keys (f32, from the page sums kept by
// the cache); a history block scores q·mean (f32, no 1/√d; max over a GQA group). The current block
// (causal: only tokens ≤ t) and the other `local_units - 1` most recent blocks, and the first
// `first_units` blocks, are forced; the best-scoring complete history blocks fill the rest of
// K = max(1, floor(budget / moba_block)) blocks — the current block counts in K, as in MoBA's top-k.
// Runs on prompt queries; on decode steps only with moba_decode (MoBA itself decodes densely).
#include <omp.h>

#include <algorithm>
#include <limits>

#include "attention/attend.h"
#include "sparse/selection_util.h"
#include "sparse/selector.h"

namespace ratkv {

namespace {
class MobaSelector final : public Selector {
 public:
  MobaSelector(const SparseConfig& c, const SelectorShape& s)
      : c_(c),
        shape_(s),
        block_(c.moba_block > 0 ? c.moba_block : s.page_size),
        inv_block_(1.0f / static_cast<float>(block_)),
        scaling_(is_power_of_two_scale(inv_block_) ? MobaScaling::kScores : MobaScaling::kMeans) {}

  void select(const SelectRequest& r, SelectScratch& scratch, std::vector<TokenSpan>& spans) const override {
    const KvCache& cache = *r.cache;
    const int64_t dim = shape_.head_dim, page = shape_.page_size, pages_per_block = block_ / page;
    // Every competing block lies before the current one, so it is complete.
    auto score = [&](int64_t begin, int64_t stop, float* scores) {
      if (c_.random_scores) {
        for (int64_t b = begin; b < stop; ++b)
          scores[b] = seeded_uniform(c_.random_seed, r.layer, r.unit, r.position, b);
        return;
      }
      if (const float* prepared = scratch.prepared_scores(r.layer, r.unit, r.position, begin, stop)) {
        std::copy(prepared, prepared + (stop - begin), scores + begin);
        return;
      }
      const double start = omp_get_wtime();
      moba_block_scores(r.queries, r.num_queries, cache, r.layer, r.kv_head, pages_per_block, inv_block_,
                        begin, stop, scratch.scores2, scores + begin, scaling_);
      scratch.scan_seconds += omp_get_wtime() - start;
      scratch.metadata_bytes += static_cast<uint64_t>((stop - begin) * pages_per_block * dim * 4);
    };
    select_scored_units(r.position + 1, block_, page, c_.first_units, c_.local_units, r.budget, scratch,
                        spans, score);
  }
  // A prompt tile's rows: those with the same number of blocks score the same competing blocks, so each
  // group of them is scored together (moba_block_scores_rows: every row's bits as alone).
  void prepare_rows(const RowsRequest& rows, SelectScratch& scratch) const override {
    scratch.prepared_rows = 0;
    if (c_.random_scores || rows.rows <= 1) return;
    const SelectRequest& r = rows.first;
    const int64_t pages_per_block = block_ / shape_.page_size;
    const int64_t last_blocks = (r.position + rows.rows + block_ - 1) / block_;
    scratch.prepared_stride = last_blocks;
    scratch.prepared.resize(static_cast<size_t>(rows.rows * last_blocks));
    scratch.prepared_begin.resize(static_cast<size_t>(rows.rows));
    scratch.prepared_end.resize(static_cast<size_t>(rows.rows));
    for (int64_t r0 = 0; r0 < rows.rows;) {
      const int64_t blocks = (r.position + r0 + block_) / block_;  // visible blocks of row r0 (end = pos + 1)
      int64_t r1 = r0 + 1;
      while (r1 < rows.rows && (r.position + r1 + block_) / block_ == blocks) ++r1;
      const int64_t begin = middle_begin(blocks, c_.first_units),
                    stop = middle_end(blocks, c_.first_units, c_.local_units);
      std::fill(scratch.prepared_begin.begin() + r0, scratch.prepared_begin.begin() + r1, begin);
      std::fill(scratch.prepared_end.begin() + r0, scratch.prepared_end.begin() + r1, stop);
      if (stop > begin)
        moba_block_scores_rows(r.queries + r0 * rows.row_stride, rows.row_stride, r1 - r0, r.num_queries,
                               *r.cache, r.layer, r.kv_head, pages_per_block, inv_block_, begin, stop,
                               scratch.scores2, scratch.prepared.data() + r0 * last_blocks, last_blocks,
                               scaling_);
      r0 = r1;
    }
    scratch.prepared_layer = r.layer;
    scratch.prepared_unit = r.unit;
    scratch.prepared_position = r.position;
    scratch.prepared_rows = rows.rows;
  }
  bool at_prefill() const override { return true; }
  bool at_decode() const override { return c_.moba_decode; }

 private:
  SparseConfig c_;
  SelectorShape shape_;
  int64_t block_;
  float inv_block_;
  MobaScaling scaling_;  // chosen once per selector: it depends on the block size only
};
}  // namespace

std::unique_ptr<Selector> make_moba_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<MobaSelector>(c, s);
}

}  // namespace ratkv

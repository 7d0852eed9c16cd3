#pragma once
// Diagnostics of a sparse run, per (layer, query head) and decode step: which pages the selection used,
// the fraction of the dense softmax mass it captured, its overlap with the oracle (the |S| tokens of best
// true score), and — given gold positions — the seed paper's strict per-head hit (H1): a head scores 1
// on a sample if at every decode step with a gold position its selection contained that position.
//
// Attach to an InferenceContext (set_sparse_stats); every single-token forward call is a decode step.
// Usable from the CLI (--sparse-stats FILE.jsonl) and from benchmark runners:
//   SparseStats stats(layers, heads); ctx.set_sparse_stats(&stats);
//   stats.begin_sample({gold_for_step0, gold_for_step1, ...});  ... decode ...  stats.end_sample();
//   stats.head(layer, head).strict_hit_rate(); stats.heads_by_hit_rate();
// Costs one dense pass over the visible keys per head and step: a diagnostic, not for timing runs.
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "sparse/sparse_attention.h"

namespace ratkv {

struct HeadSelectionStats {
  int64_t steps = 0;
  double mass_sum = 0.0;  // Σ captured dense softmax mass
  double oracle_overlap_sum = 0.0;
  double selected_tokens_sum = 0.0;
  int64_t gold_steps = 0, gold_step_hits = 0;
  int64_t gold_samples = 0, strict_hits = 0;  // samples with a gold position; those hit at every step
  // Current sample.
  bool sample_all_hit = true;
  int64_t sample_gold_steps = 0;

  double mean_mass() const { return steps ? mass_sum / static_cast<double>(steps) : 0.0; }
  double mean_oracle_overlap() const { return steps ? oracle_overlap_sum / static_cast<double>(steps) : 0.0; }
  double strict_hit_rate() const {
    return gold_samples ? static_cast<double>(strict_hits) / static_cast<double>(gold_samples) : 0.0;
  }
};

class SparseStats final : public SelectionObserver {
 public:
  SparseStats(int64_t num_layers, int64_t num_heads);
  ~SparseStats() override;

  // Also write one JSON line per (step, layer, head), and per-head summary lines at close().
  void open_jsonl(const std::string& path);
  void close();

  // Starts a sample; gold_per_step[k] is the gold position for the sample's k-th decode step (-1: none).
  void begin_sample(std::vector<int64_t> gold_per_step = {});
  // Gold position of the next decode step (overrides the schedule for that step).
  void set_gold_position(int64_t position) { pending_gold_ = position; }
  // Folds the sample's strict hits into the per-head aggregates.
  void end_sample();

  const HeadSelectionStats& head(int64_t layer, int64_t head) const {
    return heads_[static_cast<size_t>(layer * num_heads_ + head)];
  }
  // (layer, head) pairs by strict hit rate, best first (ties: mean captured mass, then order).
  std::vector<std::pair<int64_t, int64_t>> heads_by_hit_rate() const;
  Json summary(int64_t layer, int64_t head) const;
  int64_t steps() const { return step_; }

  void on_selection(const SelectionEvent& event) override;

 private:
  int64_t num_layers_, num_heads_;
  std::vector<HeadSelectionStats> heads_;
  std::FILE* out_ = nullptr;
  std::vector<int64_t> gold_schedule_;
  int64_t pending_gold_ = -1, step_gold_ = -1;
  int64_t sample_ = 0, step_ = 0, sample_step_ = -1, last_position_ = -1, last_layer_ = -1;
  std::vector<float> logits_, tmp_;
  std::vector<int64_t> candidates_, oracle_;
  std::vector<uint8_t> selected_;
};

}  // namespace ratkv

#include "sparse/sparse_attention.h"

#include <omp.h>

#include <algorithm>

#include "attention/attend.h"
#include "attention/prefill_attention.h"
#include "attention/selected_prefill_attention.h"
#include "sparse/selection_util.h"

namespace ratkv {

namespace {
constexpr int64_t kTiledAttentionMinTokens = 8;  // as the model's dense path

// attend_group over `spans` when the prompt part of the selection lives compacted in compact.cache (slots
// [0, compact.kept) of kv_head, in position order): those rows first, as one contiguous run, then the
// spans at or past compact.prompt_end from the sequence's cache — the same tokens in the same order.
void attend_compacted(const float* q, int64_t heads, const CompactedPrompt& compact,
                      const std::vector<TokenSpan>& spans, const KvCache& cache, int64_t layer,
                      int64_t kv_head, float scale, std::vector<TokenSpan>& run, float* out) {
  run.clear();
  append_range_spans(*compact.cache, 0, compact.kept, run);
  const auto tail = std::find_if(spans.begin(), spans.end(),
                                 [&](const TokenSpan& s) { return s.start >= compact.prompt_end; });
  const AttendPart parts[] = {{compact.cache, run.data(), static_cast<int64_t>(run.size())},
                              {&cache, spans.data() + (tail - spans.begin()), spans.end() - tail}};
  attend_parts(q, heads, parts, layer, kv_head, scale, out);
}

// Which heads selection unit u stands for: a KV head and its GQA group, or one query head
// (per_query_head) and its KV head.
struct Unit {
  int64_t index, kv_head, first_head, heads;
};
Unit unit_of(const SparseConfig& config, const SelectorShape& shape, int64_t u) {
  const int64_t group = shape.num_heads / shape.num_kv_heads;
  return config.per_query_head ? Unit{u, u / group, u, 1} : Unit{u, u, u * group, group};
}
int64_t unit_count(const SparseConfig& config, const SelectorShape& shape) {
  return config.per_query_head ? shape.num_heads : shape.num_kv_heads;
}

// The selection of `unit` for the query row q_row [num_heads][head_dim] at `position`, into spans. A budget
// that covers every visible token is a dense step (true): the whole context, the selector not asked — the
// same rule at prefill and decode.
bool select_unit(const Selector& selector, const SparseConfig& config, const SelectorShape& shape,
                 const KvCache& cache, int64_t layer, const float* q_row, int64_t position, const Unit& unit,
                 float scale, SelectScratch& scratch, std::vector<TokenSpan>& spans) {
  const int64_t visible = position + 1, budget = config.budget.resolve(visible);
  if (selector.uses_budget() && budget >= visible) {
    spans.clear();
    spans_of_range(0, visible, shape.page_size, spans);
    return true;
  }
  const SelectRequest r{.cache = &cache,
                        .layer = layer,
                        .kv_head = unit.kv_head,
                        .unit = unit.index,
                        .queries = q_row + unit.first_head * shape.head_dim,
                        .num_queries = unit.heads,
                        .position = position,
                        .budget = budget,
                        .scale = scale};
  selector.select(r, scratch, spans);
  return false;
}
}  // namespace

bool prefill_is_dense(const SparseConfig& config, const SelectorShape& shape) {
  return !config.sparse() || !make_selector(config, shape)->at_prefill();
}

SparseAttention::SparseAttention(const SparseConfig& config, const SelectorShape& shape,
                                 MatmulPrecision prompt_products)
    : config_(config),
      shape_(shape),
      prompt_products_(prompt_products),
      selector_(make_selector(config, shape)) {
  scratch_.resize(static_cast<size_t>(omp_get_max_threads()));
  spans_.resize(scratch_.size());
}

void SparseAttention::reset() {
  selector_->reset();
  counters_ = {};
}

void SparseAttention::fit_scratch_to_threads() {
  if (static_cast<int>(scratch_.size()) >= omp_get_max_threads()) return;
  scratch_.resize(static_cast<size_t>(omp_get_max_threads()));
  spans_.resize(scratch_.size());
}

SelectScratch& SparseAttention::scratch(int thread) {
  return scratch_[static_cast<size_t>(thread)];
}

void SparseAttention::attention(int64_t layer, const float* q, int64_t n, int64_t position0,
                                const KvCache& cache, float scale, float* out, int64_t first_row) {
  const bool decode = n == 1;
  const bool use_selector =
      !config_.layer_is_dense(layer) && (decode ? selector_->at_decode() : selector_->at_prefill());
  if (use_selector && selector_->uses_budget() && !decode) {
    // A prompt block whose every row has a budget covering its visible tokens is dense: run it through
    // the tiled kernel, bit-identical to a dense context.
    bool all_covered = true;
    for (int64_t i = 0; i < n && all_covered; ++i)
      all_covered = config_.budget.resolve(position0 + i + 1) >= position0 + i + 1;
    if (all_covered) {
      dense(layer, q, n, position0, cache, scale, out, first_row);
      return;
    }
  }
  if (use_selector && n >= kTiledAttentionMinTokens) {
    selected_prefill(layer, q, n, position0, cache, scale, out, first_row);
    return;
  }
  if (use_selector) {
    selected(layer, q, n, position0, cache, scale, out);
    return;
  }
  dense(layer, q, n, position0, cache, scale, out, first_row);
  if (decode) {
    const int64_t visible = position0 + 1;
    counters_.decode_steps += 1;
    counters_.attended_tokens += visible * shape_.num_heads;
    counters_.kv_bytes += static_cast<double>(visible * shape_.num_kv_heads * 2 * shape_.head_dim *
                                              static_cast<int64_t>(dtype_size(cache.shape().dtype)));
    if (observer_) report_dense(layer, q, position0, cache, scale);
  }
}

void SparseAttention::dense(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                            float scale, float* out, int64_t first_row) {
  // Short blocks (and decode) compute every row: first_row only saves work on the tiles.
  if (n >= kTiledAttentionMinTokens)
    causal_attention_tiled(q, n, position0, cache, layer, shape_.num_heads, scale, out, prompt_products_,
                           first_row);
  else
    causal_attention(q, n, position0, cache, layer, shape_.num_heads, scale, out);
}

namespace {
// The selector as the tiled prompt kernel asks for it: one (query, unit) at a time, from any thread of its
// team, with that thread's scratch.
class SelectorPrefill final : public PrefillSelection {
 public:
  SelectorPrefill(const Selector& selector, const SparseConfig& config, const SelectorShape& shape,
                  std::vector<SelectScratch>& scratch, int64_t layer, const float* q, int64_t position0,
                  const KvCache& cache, float scale)
      : selector_(selector),
        config_(config),
        shape_(shape),
        scratch_(scratch),
        layer_(layer),
        q_(q),
        position0_(position0),
        cache_(cache),
        scale_(scale) {}

  void select(int64_t i, int64_t unit, std::vector<TokenSpan>& spans) override {
    select_unit(selector_, config_, shape_, cache_, layer_, q_ + i * shape_.num_heads * shape_.head_dim,
                position0_ + i, unit_of(config_, shape_, unit), scale_,
                scratch_[static_cast<size_t>(omp_get_thread_num())], spans);
  }

  void prepare(int64_t i, int64_t count, int64_t unit) override {
    const Unit u = unit_of(config_, shape_, unit);
    const int64_t row = shape_.num_heads * shape_.head_dim;
    const RowsRequest r{.first = {.cache = &cache_,
                                  .layer = layer_,
                                  .kv_head = u.kv_head,
                                  .unit = u.index,
                                  .queries = q_ + i * row + u.first_head * shape_.head_dim,
                                  .num_queries = u.heads,
                                  .position = position0_ + i,
                                  .scale = scale_},
                        .row_stride = row,
                        .rows = count};
    selector_.prepare_rows(r, scratch_[static_cast<size_t>(omp_get_thread_num())]);
  }

  void finish() override { scratch_[static_cast<size_t>(omp_get_thread_num())].prepared_rows = 0; }

 private:
  const Selector& selector_;
  const SparseConfig& config_;
  const SelectorShape& shape_;
  std::vector<SelectScratch>& scratch_;
  int64_t layer_;
  const float* q_;
  int64_t position0_;
  const KvCache& cache_;
  float scale_;
};
}  // namespace

void SparseAttention::selected_prefill(int64_t layer, const float* q, int64_t n, int64_t position0,
                                       const KvCache& cache, float scale, float* out, int64_t first_row) {
  fit_scratch_to_threads();
  SelectorPrefill selection(*selector_, config_, shape_, scratch_, layer, q, position0, cache, scale);
  const int64_t heads_per_unit = unit_of(config_, shape_, 0).heads;
  selected_attention_tiled(q, n, position0, cache, layer, shape_.num_heads, heads_per_unit, scale, selection,
                           out, nullptr, prompt_products_, first_row);
}

void SparseAttention::report_dense(int64_t layer, const float* q, int64_t position, const KvCache& cache,
                                   float scale) {
  auto& spans = spans_[0];
  spans.clear();
  spans_of_range(0, position + 1, shape_.page_size, spans);
  const int64_t group = shape_.num_heads / shape_.num_kv_heads;
  for (int64_t h = 0; h < shape_.num_heads; ++h) {
    SelectionEvent e{&cache, layer, h, h / group, position, q + h * shape_.head_dim, scale, &spans, true};
    observer_->on_selection(e);
  }
}

void SparseAttention::selected(int64_t layer, const float* q, int64_t n, int64_t position0,
                               const KvCache& cache, float scale, float* out) {
  const int64_t dim = shape_.head_dim, heads = shape_.num_heads;
  const int64_t units = unit_count(config_, shape_);
  const int64_t kv_token_bytes = 2 * dim * static_cast<int64_t>(dtype_size(cache.shape().dtype));
  const bool observe = observer_ != nullptr && n == 1;
  fit_scratch_to_threads();
  // A selector's compacted copy of the kept prompt tokens (SnapKV), read at decode instead of the pages.
  const CompactedPrompt compact = n == 1 ? selector_->compacted(layer) : CompactedPrompt{};
  if (compact.cache && compact_runs_.size() < scratch_.size()) compact_runs_.resize(scratch_.size());
  int64_t tokens = 0;
  double kv_bytes = 0.0, metadata_bytes = 0.0, select_seconds = 0.0, scan_seconds = 0.0;
  const int64_t work = n * units;
  // Units of one layer are independent: parallel over (query, unit). The observer path runs serially so
  // that it needs no locking.
#pragma omp parallel for schedule(dynamic) reduction(+ : tokens, kv_bytes, metadata_bytes, select_seconds, scan_seconds) if (work > 1 && !observe)
  for (int64_t w = 0; w < work; ++w) {
    const int64_t i = w / units, u = w % units;
    const int thread = omp_get_thread_num();
    SelectScratch& s = scratch(thread);
    std::vector<TokenSpan>& spans = spans_[static_cast<size_t>(thread)];
    const int64_t position = position0 + i;
    const Unit unit = unit_of(config_, shape_, u);
    const int64_t first_head = unit.first_head, kv_head = unit.kv_head, heads_per_unit = unit.heads;
    s.metadata_bytes = 0;
    s.scan_seconds = 0.0;
    const double start = omp_get_wtime();
    const bool dense_step = select_unit(*selector_, config_, shape_, cache, layer, q + i * heads * dim,
                                        position, unit, scale, s, spans);
    if (!dense_step) {
      select_seconds += omp_get_wtime() - start;
      metadata_bytes += static_cast<double>(s.metadata_bytes);
      scan_seconds += s.scan_seconds;
    }
    int64_t count = 0;
    for (const auto& span : spans) count += span.count;
    tokens += count * heads_per_unit;
    kv_bytes += static_cast<double>(count * kv_token_bytes);
    // The unit's heads share each K/V load of the selection.
    if (compact.cache && !dense_step)
      attend_compacted(q + (i * heads + first_head) * dim, heads_per_unit, compact, spans, cache, layer,
                       kv_head, scale, compact_runs_[static_cast<size_t>(thread)],
                       out + (i * heads + first_head) * dim);
    else
      attend_group(q + (i * heads + first_head) * dim, heads_per_unit, spans, cache, layer, kv_head, scale,
                   out + (i * heads + first_head) * dim);
    for (int64_t h = first_head; h < first_head + heads_per_unit && observe; ++h) {
      SelectionEvent e{&cache, layer,  h,         kv_head, position, q + (i * heads + h) * dim,
                       scale,  &spans, dense_step};
      observer_->on_selection(e);
    }
  }
  if (n == 1) {
    counters_.decode_steps += 1;
    counters_.attended_tokens += tokens;
    counters_.kv_bytes += kv_bytes;
    counters_.metadata_bytes += metadata_bytes;
    counters_.select_cpu_seconds += select_seconds;
    counters_.scan_cpu_seconds += scan_seconds;
  }
}

void SparseAttention::after_attention(int64_t layer, const float* q, int64_t n, int64_t position0,
                                      const KvCache& cache, float scale) {
  if (position0 == 0) observe_prompt(layer, q, n, position0, cache, scale);
}

void SparseAttention::observe_prompt(int64_t layer, const float* q, int64_t n, int64_t position0,
                                     const KvCache& cache, float scale) {
  if (config_.layer_is_dense(layer)) return;
  selector_->observe_prompt(
      PromptView{&cache, layer, q, n, position0, shape_.num_heads, scale, prompt_votes_});
}

}  // namespace ratkv

#pragma once
// The one selector interface. A selector sees a query (or the group of query heads it serves), the KV
// cache of one layer — the post-memory, post-RoPE keys exactly as attention reads them, plus the page
// metadata — and the position; it returns the tokens that query attends to, as TokenSpans in increasing
// order. Nothing else reaches it: no model config, no memory state, no layer type. That is why an
// attention model and a memory model run the identical selection code (tests/unit/sparse_model_test.cpp).
//
// A new method is one file implementing Selector, one line in registry.cpp, and its tests.
#include <cstdint>
#include <memory>
#include <vector>

#include "attention/attend.h"
#include "cache/kv_cache.h"
#include "sparse/sparse_config.h"

namespace ratkv {

// One selection. queries: [num_queries][head_dim] f32 post-RoPE, the query heads served by this selection:
// the whole GQA group of kv_head (one selection per KV head, scores aggregated by max over the group), or
// one query head (per-query-head mode). unit identifies the selection's owner for per-unit state and
// seeds: the KV head, or the query head in per-query-head mode.
struct SelectRequest {
  const KvCache* cache = nullptr;
  int64_t layer = 0;
  int64_t kv_head = 0;
  int64_t unit = 0;
  const float* queries = nullptr;
  int64_t num_queries = 1;
  int64_t position = 0;  // t: tokens [0, t] are visible (the query's own key is already in the cache)
  int64_t budget = 0;    // resolved token budget, forced tokens included
  float scale = 1.0f;    // softmax scale 1/sqrt(head_dim), for selectors that score by attention mass
};

// Rows of a prompt tile whose selections are about to be asked for one by one (Selector::prepare_rows):
// `first`'s unit at positions first.position .. first.position + rows - 1, row r's queries at
// first.queries + r · row_stride (budget and scale: those of the first row; each row's are its own).
struct RowsRequest {
  SelectRequest first;
  int64_t row_stride = 0;
  int64_t rows = 0;
};

// Per-thread scratch reused across calls so that decode does no heap allocation once warm.
struct SelectScratch {
  std::vector<float> scores;
  std::vector<float> scores2;
  std::vector<int64_t> indices;
  std::vector<int64_t> chosen;
  uint64_t metadata_bytes = 0;  // metadata read by the selections made with this scratch
  double scan_seconds = 0.0;    // time those selections spent reading it (the page or block scan)
  // What prepare_rows scored for rows [prepared_position, prepared_position + prepared_rows) of
  // (prepared_layer, prepared_unit): row r's competing units' scores from prepared[r · prepared_stride],
  // for the range [prepared_begin[r], prepared_end[r]). Valid until finish_rows (prepared_rows = 0).
  std::vector<float> prepared;
  std::vector<int64_t> prepared_begin, prepared_end;
  int64_t prepared_layer = -1, prepared_unit = -1, prepared_position = 0, prepared_rows = 0,
          prepared_stride = 0;
  // The prepared scores of `position`'s row for units [begin, stop), or null.
  const float* prepared_scores(int64_t layer, int64_t unit, int64_t position, int64_t begin,
                               int64_t stop) const {
    const int64_t r = position - prepared_position;
    if (prepared_rows == 0 || layer != prepared_layer || unit != prepared_unit || r < 0 ||
        r >= prepared_rows || prepared_begin[static_cast<size_t>(r)] != begin ||
        prepared_end[static_cast<size_t>(r)] != stop)
      return nullptr;
    return prepared.data() + r * prepared_stride;
  }
};

// What a selector computed from a prompt alone, kept by the sequence's context for as long as that prompt
// is in the cache, so that the arms observing the same prompt compute it once: SnapKV's votes depend on the
// observation window and the prompt's queries and keys, not on the budget, so three budgets vote once.
// Entries are found by (prompt length, window, per-query-head mode, layer) and hold one vector per unit;
// the context clears them whenever the prompt in its cache changes.
class PromptVotes {
 public:
  // The entry of (prompt_end, window, per_query_head, layer), created with `units` empty vectors if
  // absent. `filled` says whether its votes were computed.
  struct Entry {
    int64_t prompt_end = 0;
    int64_t window = 0;
    bool per_query_head = false;
    int64_t layer = 0;
    bool filled = false;
    std::vector<std::vector<float>> units;
  };
  Entry& entry(int64_t prompt_end, int64_t window, bool per_query_head, int64_t layer, int64_t units);
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

// The prompt a selector may observe once at its end (SnapKV): queries of the last forward block.
// q: [n][num_heads * head_dim] post-RoPE, rows at positions position0 .. position0 + n - 1. votes, when
// set, is the context's memo for this prompt (may be null: the selector then computes everything).
struct PromptView {
  const KvCache* cache = nullptr;
  int64_t layer = 0;
  const float* q = nullptr;
  int64_t n = 0;
  int64_t position0 = 0;
  int64_t num_heads = 0;
  float scale = 1.0f;
  PromptVotes* votes = nullptr;
};

// A selector that keeps one fixed set of prompt tokens per unit for the whole decode (SnapKV) may also hold a
// compacted copy of them: KV head h's kept prompt tokens, in position order, in slots [0, kept) of `cache`.
// Decode then reads them as one contiguous run per head instead of gathering rows scattered over the
// prompt's pages, and reads the tokens at positions >= prompt_end from the sequence's cache. select() still
// returns every token by position (diagnostics and tests see the selection, not the layout).
struct CompactedPrompt {
  const KvCache* cache = nullptr;  // nullptr: none (read the selection in place)
  int64_t kept = 0;                // tokens per KV head
  int64_t prompt_end = 0;          // positions before this are served from `cache`
};

class Selector {
 public:
  virtual ~Selector() = default;
  // Tokens of [0, position] the request attends to, as ascending spans within pages. Called concurrently
  // for different units: must not modify the selector.
  virtual void select(const SelectRequest& r, SelectScratch& scratch,
                      std::vector<TokenSpan>& spans) const = 0;
  // Whether a budget at least the visible length means "dense" (the engine then skips select()).
  virtual bool uses_budget() const { return true; }
  // Whether prompt queries (forward blocks of more than one token) go through select() too.
  virtual bool at_prefill() const { return false; }
  // Whether single-token decode steps go through select().
  virtual bool at_decode() const { return true; }
  // Called once per layer at the end of the prompt (the forward call that starts the sequence).
  virtual void observe_prompt(const PromptView& prompt) {}
  // A prompt tile's rows of one unit are about to be selected one by one (select()); a selector may score
  // them together into scratch.prepared, which its select() then reads — the same selections either way.
  // The caller ends the batch with scratch.prepared_rows = 0 (SelectScratch::prepared_scores).
  virtual void prepare_rows(const RowsRequest& rows, SelectScratch& scratch) const {}
  // The compacted copy of layer `layer`'s kept prompt tokens, if the selector made one.
  virtual CompactedPrompt compacted(int64_t layer) const { return {}; }
  // Forgets per-sequence state.
  virtual void reset() {}
};

struct SelectorShape {
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t page_size = 16;
};

// The registry: the selector of config.method (dense included).
std::unique_ptr<Selector> make_selector(const SparseConfig& config, const SelectorShape& shape);

// One factory per method file.
std::unique_ptr<Selector> make_dense_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_streaming_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_dilated_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_quest_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_moba_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_snapkv_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_oracle_selector(const SparseConfig& c, const SelectorShape& s);
std::unique_ptr<Selector> make_random_selector(const SparseConfig& c, const SelectorShape& s);

}  // namespace ratkv

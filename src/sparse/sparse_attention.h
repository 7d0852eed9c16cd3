#pragma once
// Attention over a selection: the engine side of sparse attention, called by the model at its attention
// call site. For each layer and forward block it decides dense or selected (dense layers, phases of the
// method, a budget that covers the visible tokens), runs the selector per unit (KV head, or query head),
// and attends with one softmax over exactly the selected tokens read in place from the pages (attend()).
// It also feeds the prompt to selectors that observe it (SnapKV), counts bytes read, and reports every
// decode selection to an observer (SparseStats) when one is attached.
#include <cstdint>
#include <memory>
#include <vector>

#include "cache/kv_cache.h"
#include "kernels/cpu/gemm.h"
#include "sparse/selector.h"
#include "sparse/sparse_config.h"

namespace ratkv {

// One decode selection as attention used it, for one query head.
struct SelectionEvent {
  const KvCache* cache = nullptr;
  int64_t layer = 0, head = 0, kv_head = 0, position = 0;
  const float* q = nullptr;  // [head_dim] post-RoPE
  float scale = 1.0f;
  const std::vector<TokenSpan>* spans = nullptr;
  bool dense = false;  // the layer or step ran dense (dense layer, dense method or budget ≥ visible)
};

class SelectionObserver {
 public:
  virtual ~SelectionObserver() = default;
  // Called serially, for each layer and query head of a single-token decode step.
  virtual void on_selection(const SelectionEvent& event) = 0;
};

// Bytes and tokens of decode attention since the last reset (KV bytes count each selected token's K and V
// once per selection unit; metadata bytes are what the selectors scanned).
struct SparseCounters {
  int64_t decode_steps = 0;     // single-token layer calls
  int64_t attended_tokens = 0;  // summed over query heads
  double kv_bytes = 0.0;
  double metadata_bytes = 0.0;
  double select_cpu_seconds = 0.0;  // time inside select(), summed over threads
  double scan_cpu_seconds = 0.0;    // of which reading the metadata (Quest's page scan, MoBA's block scores)
};

// Whether prompt blocks run exactly the dense attention under `config`: true for methods that select only at
// decode (quest, snapkv — it observes the prompt but attends densely —, oracle, random), false for those that
// select for prompt queries too (moba, streaming, dilated). Such methods can share one dense prefill.
bool prefill_is_dense(const SparseConfig& config, const SelectorShape& shape);

class SparseAttention {
 public:
  // prompt_products: the precision of the tiled prompt kernels' two products (prefill_attention.h), the
  // context's --matmul.
  SparseAttention(const SparseConfig& config, const SelectorShape& shape,
                  MatmulPrecision prompt_products = MatmulPrecision::F32);

  // out[n, num_heads * head_dim] = attention of q[n, num_heads * head_dim] (rows at positions
  // position0 + i) over the cache of `layer`, which already holds those rows' keys.
  // first_row: rows before it may be left uncomputed (for a caller that needs only the last rows): the tiled
  // kernels skip the query tiles before it; every choice of kernel is still made on the whole block, so the
  // rows computed are the same bits either way.
  void attention(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                 float scale, float* out, int64_t first_row = 0);
  // After the attention of a layer: lets the selector observe the prompt (when position0 == 0).
  void after_attention(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                       float scale);

  // The prompt's queries for selectors that observe it; rows at positions position0 .. position0 + n - 1.
  void observe_prompt(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                      float scale);

  void set_observer(SelectionObserver* observer) { observer_ = observer; }
  // The sequence's memo of prompt votes (owned by its context; null: none), shown to observing selectors.
  void set_prompt_votes(PromptVotes* votes) { prompt_votes_ = votes; }
  const SparseConfig& config() const { return config_; }
  const Selector& selector() const { return *selector_; }
  const SparseCounters& counters() const { return counters_; }
  void reset_counters() { counters_ = {}; }
  void reset();

 private:
  void dense(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache, float scale,
             float* out, int64_t first_row = 0);
  void selected(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                float scale, float* out);
  // A prompt block of at least kTiledAttentionMinTokens rows: the selections on the tiled kernel
  // (attention/selected_prefill_attention.h).
  void selected_prefill(int64_t layer, const float* q, int64_t n, int64_t position0, const KvCache& cache,
                        float scale, float* out, int64_t first_row);
  void report_dense(int64_t layer, const float* q, int64_t position, const KvCache& cache, float scale);
  SelectScratch& scratch(int thread);
  // One scratch and span list per thread of the team about to run (the thread count can grow after
  // construction, e.g. `-t` set later).
  void fit_scratch_to_threads();

  SparseConfig config_;
  SelectorShape shape_;
  MatmulPrecision prompt_products_;
  std::unique_ptr<Selector> selector_;
  SelectionObserver* observer_ = nullptr;
  PromptVotes* prompt_votes_ = nullptr;
  SparseCounters counters_;
  std::vector<SelectScratch> scratch_;                // one per thread
  std::vector<std::vector<TokenSpan>> spans_;         // one per thread
  std::vector<std::vector<TokenSpan>> compact_runs_;  // one per thread: the compacted prompt's spans
};

}  // namespace ratkv

#pragma once
// A loaded model (config, weights read in place from the mapped files, RoPE frequencies) and the state
// of one sequence being run through it (InferenceContext: KV cache, memory state, position).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/scratch.h"
#include "cache/kv_cache.h"
#include "io/model_dir.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rope.h"
#include "model/weights.h"
#include "sparse/sparse_attention.h"
#include "sparse/sparse_config.h"

namespace ratkv {

struct LoadOptions {
  // false: copy the matrices into huge-page memory (resident_weights.h) instead of reading them in place.
  bool mmap = true;
};

class Model {
 public:
  // Loads and validates a model directory; every problem is one ratkv::Error naming file and tensor.
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& options = {});

  const ModelConfig& config() const { return dir_->config(); }
  const ModelWeights& weights() const { return weights_; }
  const ModelDirectory& directory() const { return *dir_; }
  const Rope& rope() const { return rope_; }

 private:
  Model(std::unique_ptr<ModelDirectory> dir, ModelWeights weights);
  std::unique_ptr<ModelDirectory> dir_;
  ModelWeights weights_;
  Rope rope_;
};

struct InferenceOptions {
  int64_t page_size = 16;
  DType kv_dtype = DType::BF16;
  // The memory state k̂, v̂ carried between forward calls. F32 keeps decode equal to prefill; BF16
  // rounds it after every call, as the RAT+ reference's decode cache does.
  DType memory_state_dtype = DType::F32;
  int64_t max_context = 0;  // tokens; 0 means the model's max_position_embeddings
  // Query-aware sparse attention (src/sparse/, docs/sparse.md). Dense by default: the dense path is then
  // exactly the one without sparse support.
  SparseConfig sparse;
  // Precision of the prefill products (n > 4 tokens; decode's GEMV is always f32): F32, or BF16 with the
  // activations rounded to bf16 (kernels/cpu/gemm.h) — faster, no longer exact against the references.
  MatmulPrecision matmul_precision = MatmulPrecision::F32;
  // Carry every prompt row through the last layer even when only the last row's logits are asked for (the
  // engine skips the others: forward()). Same logits either way; kept for the test that proves it.
  bool last_layer_all_rows = false;
};

enum class LogitRows { None, Last, All };

// Wall time spent in each part of the forward calls of a context, summed since the last reset: what
// `ratkv bench` reports as the GEMM rate and the per-token attention time.
struct ForwardTimings {
  double matmul_seconds = 0.0;     // every projection and the LM head
  double attention_seconds = 0.0;  // attention over the cache (selection included)
  double total_seconds = 0.0;      // whole forward calls
  double matmul_flops = 0.0;       // 2 x multiply-adds of those projections
};

class InferenceContext {
 public:
  InferenceContext(const Model& model, const InferenceOptions& options = {});
  // Its selector holds a pointer to the context's prompt memo: neither copied nor moved.
  InferenceContext(const InferenceContext&) = delete;
  InferenceContext& operator=(const InferenceContext&) = delete;

  // Tokens processed so far: the position of the next token.
  int64_t position() const { return position_; }
  int64_t max_context() const { return max_context_; }
  const KvCache& cache() const { return cache_; }
  const Model& model() const { return model_; }

  // Runs `tokens` at positions position() .. position() + n − 1, appending to the cache. Fills logits
  // [rows, vocab] for the requested rows (the last token, or every token). Fails, changing nothing, if
  // a token id is outside the vocabulary or the sequence would pass max_context.
  void forward(std::span<const int32_t> tokens, LogitRows rows, std::vector<float>& logits);

  // Appends `tokens` positions of random keys and values (and a random memory state) without running the
  // model: a deep cache in no time for benchmarks, where the cost of dense decoding does not depend on
  // the values.
  void fill_synthetic(int64_t tokens, uint64_t seed);

  // Attaches a diagnostics collector, e.g. a SparseStats (null detaches); it sees every decode step's
  // selections, dense layers and dense contexts included.
  void set_sparse_stats(SelectionObserver* stats);
  // The sparse attention engine, or null for a dense context without stats.
  const SparseAttention* sparse() const { return sparse_.get(); }
  void reset_sparse_counters() {
    if (sparse_) sparse_->reset_counters();
  }

  const ForwardTimings& timings() const { return timings_; }
  void reset_timings() { timings_ = {}; }

  // Forgets the sequence: empty cache, zero memory state, position 0.
  void reset();

  // PREFILL SHARING (docs/niah.md "Speed"): one dense prefill serves every method that selects only at
  // decode. The runner prefills with the dense method, takes a checkpoint, and for each method switches the
  // config, decodes, and rolls back. A rollback truncates the KV cache instead of restoring a copy of it:
  // tokens before the checkpoint are never rewritten by appends (KvCache::truncate), so it costs
  // O(layers × page) where a snapshot of a 4K-token cache would copy tens of MiB per method. The memory
  // state is small and is copied. Selector state depends only on the prompt (select() is const), so a
  // rollback to the end of the prompt keeps it.
  struct Checkpoint {
    uint64_t sequence = 0;  // reset() starts a new sequence; a checkpoint of another one is refused
    int64_t position = 0;
    std::vector<std::vector<float>> memory_k, memory_v;
  };
  Checkpoint checkpoint() const;
  // Back to `c`, taken on this sequence at or before the current position; fails otherwise.
  void rollback(const Checkpoint& c);
  // Keeps the last `rows` post-RoPE query rows of every layer of the prompt (the forward call at position
  // 0), so that a method switched in after the prefill can observe the prompt as if it had run it
  // (SnapKV's observation window). 0 keeps none.
  void keep_prompt_queries(int64_t rows);
  // Switches the sparse method (the page size stays). Allowed on an empty sequence, or right at the end of
  // a prompt whose attention was dense when the new method's would be too; a selector that observes the
  // prompt then sees the kept query rows, which must cover what it reads (observed_prompt_rows). A
  // diagnostics observer stays attached.
  void set_sparse_config(const SparseConfig& sparse);
  const SparseConfig& sparse_config() const { return options_.sparse; }

 private:
  // A layer's two blocks over the n rows of x [n, hidden]. Rows before `from` need no output (the last
  // layer of a prompt whose logits are asked for its last rows only): the attention block still stores every
  // row's key and value, but computes the attention, the output projection and the residual update only for
  // the rows from `from` (the attention kernels' tiles give those rows the same bits either way), and the FFN
  // block only for those rows.
  void attention_block(int64_t layer, int64_t n, int64_t from, ScratchFloats& x);
  // The first row whose query (and output gate) that block needs: 0, or in a block carrying only rows from
  // `from`, the first row of the prompt kernels' query tile holding it, or earlier for the prompt's last
  // rows that a selector observes or keep_prompt_queries keeps.
  int64_t query_rows_from(int64_t n, int64_t from) const;
  void ffn_block(int64_t layer, int64_t n, int64_t from, ScratchFloats& x);
  // A block's input for `rows` rows of x: x itself, or its RMS norm in normed_ for pre-norm families.
  const float* block_input(const float* x, int64_t rows, const std::vector<float>& norm);
  // x[rows, hidden] += proj_, normed first by out_norm for families that norm inside the residual branch
  // (OLMo2).
  void add_block_output(float* x, int64_t rows, const std::vector<float>& out_norm);
  void linear(const float* x, int64_t n, const Linear& l, ScratchFloats& y);
  // Products of one input in one call (one parallel region at decode); empty Linears are skipped. Each y
  // holds n rows; only rows [first_row, n) of x are multiplied, into the same rows of y (a row's product
  // does not depend on the others in the GEMM, so they are the same bits as from a call over every row).
  static constexpr int64_t kMaxProducts = 8;
  void linear_many(const float* x, int64_t n,
                   std::initializer_list<std::pair<const Linear*, ScratchFloats*>> products,
                   int64_t first_row = 0);
  // matmul_many over outputs already sized, timed and counted in timings_.
  void run_products(const float* x, int64_t n, const MatmulTarget* targets, int64_t count);

  const Model& model_;
  InferenceOptions options_;
  int64_t max_context_;
  int64_t position_ = 0;
  ForwardTimings timings_;
  KvCache cache_;
  std::vector<std::vector<float>> memory_k_, memory_v_;  // [layer][kv_dim]
  std::unique_ptr<SparseAttention> sparse_;
  SelectionObserver* observer_ = nullptr;
  // The sequence's prompt (its first forward call): where it ends, whether its attention was dense, and
  // its last query rows per layer when keep_prompt_queries asked for them.
  uint64_t sequence_ = 0;
  int64_t prompt_end_ = 0;
  bool prompt_dense_ = true;
  int64_t keep_query_rows_ = 0, kept_query_rows_ = 0;
  std::vector<std::vector<float>> prompt_queries_;  // [layer][kept_query_rows_ * q_dim]
  PromptVotes prompt_votes_;  // what observing selectors computed from this prompt, for the next arms
  // Scratch buffers reused across calls (grown without zero-filling): the residual stream, the products.
  ScratchFloats residual_, normed_, q_, k_, v_, gate_, out_gate_, attn_, proj_, ffn_a_, ffn_b_;
};

}  // namespace ratkv

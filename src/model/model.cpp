#include "model/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "attention/attend.h"
#include "attention/prefill_attention.h"
#include "base/rng.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/memory_scan.h"
#include "model/resident_weights.h"

namespace ratkv {

Model::Model(std::unique_ptr<ModelDirectory> dir, ModelWeights weights)
    : dir_(std::move(dir)),
      weights_(std::move(weights)),
      rope_(dir_->config().rope, dir_->config().head_dim, dir_->config().max_position_embeddings) {}

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& options) {
  auto directory = std::make_unique<ModelDirectory>(dir);
  ModelWeights weights = bind_weights(*directory);
  if (!options.mmap) make_weights_resident(weights);
  return std::unique_ptr<Model>(new Model(std::move(directory), std::move(weights)));
}

namespace {

KvCacheShape cache_shape(const ModelConfig& c, const InferenceOptions& o) {
  KvCacheShape s;
  s.num_layers = c.num_layers;
  s.num_kv_heads = c.num_kv_heads;
  s.head_dim = c.head_dim;
  s.page_size = o.page_size;
  s.dtype = o.kv_dtype;
  return s;
}

constexpr int64_t kTiledAttentionMinTokens = 8;
const Linear kNoLinear;  // an absent product in a linear_many list

// Dynamic (NTK) RoPE exists to run past max_position_embeddings: by default it gets factor × that.
int64_t default_context(const ModelConfig& c) {
  if (c.rope.type == RopeType::Dynamic)
    return static_cast<int64_t>(static_cast<double>(c.max_position_embeddings) * c.rope.factor);
  return c.max_position_embeddings;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

SelectorShape selector_shape(const ModelConfig& c, const InferenceOptions& o) {
  return SelectorShape{c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, o.page_size};
}

}  // namespace

void InferenceContext::linear(const float* x, int64_t n, const Linear& l, ScratchFloats& y) {
  linear_many(x, n, {{&l, &y}});
}

void InferenceContext::linear_many(const float* x, int64_t n,
                                   std::initializer_list<std::pair<const Linear*, ScratchFloats*>> products,
                                   int64_t first_row) {
  MatmulTarget targets[kMaxProducts];
  int64_t count = 0;
  for (const auto& [l, y] : products) {
    if (l->empty()) continue;
    require(count < kMaxProducts, "too many products of one input");
    y->resize(static_cast<size_t>(n * l->weight.rows));
    targets[count++] = {&l->weight, l->bias.empty() ? nullptr : l->bias.data(),
                        y->data() + first_row * l->weight.rows};
  }
  if (count > 0) run_products(x + first_row * targets[0].w->cols, n - first_row, targets, count);
}

void InferenceContext::run_products(const float* x, int64_t n, const MatmulTarget* targets, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    timings_.matmul_flops += 2.0 * static_cast<double>(n * targets[i].w->rows * targets[i].w->cols);
  const auto start = Clock::now();
  matmul_many(x, n, targets, count, options_.matmul_precision);
  timings_.matmul_seconds += seconds_since(start);
}

InferenceContext::InferenceContext(const Model& model, const InferenceOptions& options)
    : model_(model),
      options_(options),
      max_context_(options.max_context > 0 ? options.max_context : default_context(model.config())),
      cache_(cache_shape(model.config(), options)) {
  require(options.page_size >= 1, "page size must be at least 1, got ", options.page_size);
  const auto& c = model.config();
  memory_k_.assign(static_cast<size_t>(c.num_layers),
                   std::vector<float>(static_cast<size_t>(c.kv_dim()), 0.0f));
  memory_v_ = memory_k_;
  if (options.sparse.sparse()) {
    validate_sparse_config(options.sparse, options.page_size, c.num_layers);
    sparse_ = std::make_unique<SparseAttention>(options.sparse, selector_shape(c, options),
                                                options.matmul_precision);
    sparse_->set_prompt_votes(&prompt_votes_);
  }
}

void InferenceContext::set_sparse_stats(SelectionObserver* stats) {
  observer_ = stats;
  if (!sparse_ && stats)
    sparse_ = std::make_unique<SparseAttention>(options_.sparse, selector_shape(model_.config(), options_),
                                                options_.matmul_precision);
  if (sparse_) {
    sparse_->set_observer(stats);
    sparse_->set_prompt_votes(&prompt_votes_);
  }
}

void InferenceContext::reset() {
  cache_.clear();
  for (auto& s : memory_k_) std::fill(s.begin(), s.end(), 0.0f);
  for (auto& s : memory_v_) std::fill(s.begin(), s.end(), 0.0f);
  position_ = 0;
  if (sparse_) sparse_->reset();
  ++sequence_;
  prompt_end_ = 0;
  prompt_dense_ = true;
  kept_query_rows_ = 0;
  prompt_votes_.clear();
}

InferenceContext::Checkpoint InferenceContext::checkpoint() const {
  return Checkpoint{sequence_, position_, memory_k_, memory_v_};
}

void InferenceContext::rollback(const Checkpoint& c) {
  require(c.sequence == sequence_ && c.position <= position_, "rollback: the checkpoint (position ",
          c.position, ") is not a past state of this sequence");
  cache_.truncate(c.position);
  memory_k_ = c.memory_k;
  memory_v_ = c.memory_v;
  position_ = c.position;
  if (c.position < prompt_end_) {
    // Back inside the prompt: what the selector observed of it no longer holds.
    prompt_end_ = 0;
    kept_query_rows_ = 0;
    prompt_votes_.clear();
    if (sparse_) sparse_->reset();
  }
}

void InferenceContext::keep_prompt_queries(int64_t rows) {
  require(rows >= 0, "keep_prompt_queries: rows must be >= 0, got ", rows);
  keep_query_rows_ = rows;
  prompt_queries_.resize(static_cast<size_t>(model_.config().num_layers));
}

void InferenceContext::set_sparse_config(const SparseConfig& sparse) {
  const ModelConfig& c = model_.config();
  validate_sparse_config(sparse, options_.page_size, c.num_layers);
  const SelectorShape shape = selector_shape(c, options_);
  const int64_t observed = std::min(observed_prompt_rows(sparse), prompt_end_);
  if (position_ > 0) {
    require(position_ == prompt_end_,
            "switching the sparse method is exact only right at the end of the prompt (", prompt_end_,
            " tokens), not at position ", position_);
    require(prompt_dense_ && prefill_is_dense(sparse, shape), "switching to --sparse ",
            sparse_method_name(sparse.method),
            " after the prompt: exact only when the prompt's attention and the new method's are both dense");
    require(kept_query_rows_ >= observed, "switching to --sparse ", sparse_method_name(sparse.method),
            " after the prompt needs its last ", observed, " query rows; ", kept_query_rows_,
            " were kept (keep_prompt_queries)");
  }
  options_.sparse = sparse;
  sparse_.reset();
  if (sparse.sparse() || observer_) {
    sparse_ = std::make_unique<SparseAttention>(sparse, shape, options_.matmul_precision);
    sparse_->set_observer(observer_);
    sparse_->set_prompt_votes(&prompt_votes_);
  }
  if (position_ > 0 && observed > 0 && sparse_) {
    // What the prompt's forward call would have shown it: the same rows, keys and scale (attention_block).
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    for (int64_t layer = 0; layer < c.num_layers; ++layer)
      sparse_->observe_prompt(layer, prompt_queries_[static_cast<size_t>(layer)].data(), kept_query_rows_,
                              prompt_end_ - kept_query_rows_, cache_, scale);
  }
}

void InferenceContext::fill_synthetic(int64_t tokens, uint64_t seed) {
  const ModelConfig& c = model_.config();
  require(position_ + tokens <= max_context_, "a depth of ", position_ + tokens,
          " tokens passes the context limit of ", max_context_, " (raise --ctx-size)");
  Rng rng(seed);
  const int64_t start = position_;
  const int64_t chunk = 256;
  std::vector<float> k(static_cast<size_t>(chunk * c.kv_dim())), v(k.size());
  for (int64_t done = 0; done < tokens; done += chunk) {
    const int64_t n = std::min(chunk, tokens - done);
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      for (auto& e : k) e = rng.normal();
      for (auto& e : v) e = rng.normal();
      cache_.append(layer, k.data(), v.data(), n);
    }
  }
  for (auto& state : memory_k_)
    for (float& s : state) s = rng.normal();
  for (auto& state : memory_v_)
    for (float& s : state) s = rng.normal();
  position_ += tokens;
  // A selector that observes the prompt (SnapKV) sees random queries for its window, as if the synthetic
  // tokens had been a prompt.
  if (sparse_ && start == 0 && tokens > 0) {
    const int64_t rows = std::min<int64_t>(tokens, std::max<int64_t>(1, options_.sparse.snap_window));
    std::vector<float> q(static_cast<size_t>(rows * c.q_dim()));
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      for (auto& e : q) e = rng.normal();
      sparse_->observe_prompt(layer, q.data(), rows, tokens - rows, cache_, scale);
    }
  }
}

void InferenceContext::forward(std::span<const int32_t> tokens, LogitRows rows, std::vector<float>& logits) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int64_t n = static_cast<int64_t>(tokens.size());
  require(n > 0, "no tokens to run");
  for (int32_t t : tokens)
    require(t >= 0 && t < c.vocab_size, "token id ", t, " is outside the vocabulary [0, ", c.vocab_size, ")");
  require(position_ + n <= max_context_, "the sequence would reach ", position_ + n,
          " tokens, past the context limit of ", max_context_, " (max_position_embeddings or --ctx-size)");

  const auto forward_start = Clock::now();
  if (position_ == 0) prompt_votes_.clear();  // a new prompt
  const int64_t h = c.hidden_size;
  ScratchFloats& x = residual_;
  x.resize(static_cast<size_t>(n * h));
  for (int64_t t = 0; t < n; ++t)
    convert_to_f32(w.embedding.row(tokens[static_cast<size_t>(t)]), w.embedding.dtype, static_cast<size_t>(h),
                   x.data() + t * h);

  // The last layer's output feeds only the logits: rows whose logits are not asked for are cached (keys and
  // values) but not carried through its attention output and FFN (as llama.cpp does). For the last row it
  // keeps kMatmulGemmMinRows rows, so that its products stay on the GEMM and give the same bits.
  const int64_t output_from = rows == LogitRows::All || options_.last_layer_all_rows ? 0
                              : rows == LogitRows::Last ? std::max<int64_t>(0, n - kMatmulGemmMinRows)
                                                        : n;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const int64_t from = layer + 1 == c.num_layers ? output_from : 0;
    attention_block(layer, n, from, x);
    ffn_block(layer, n, from, x);
  }
  if (position_ == 0) {
    prompt_end_ = n;
    prompt_dense_ = !sparse_ || !sparse_->selector().at_prefill();
  }
  position_ += n;

  if (rows == LogitRows::None) {
    logits.clear();
    timings_.total_seconds += seconds_since(forward_start);
    return;
  }
  const int64_t first = rows == LogitRows::All ? 0 : n - 1;
  const int64_t count = n - first;
  normed_.resize(static_cast<size_t>(count * h));
  rms_norm(x.data() + first * h, w.final_norm.data(), count, h, static_cast<float>(c.rms_norm_eps),
           normed_.data());
  // Straight into the caller's vector: the same size every decode step, so no refill.
  logits.resize(static_cast<size_t>(count * c.vocab_size));
  const MatmulTarget head{&w.lm_head, nullptr, logits.data()};
  run_products(normed_.data(), count, &head, 1);
  timings_.total_seconds += seconds_since(forward_start);
}

void InferenceContext::attention_block(int64_t layer, int64_t n, int64_t from, ScratchFloats& x) {
  const ModelConfig& c = model_.config();
  const LayerWeights& lw = model_.weights().layers[static_cast<size_t>(layer)];
  const float eps = static_cast<float>(c.rms_norm_eps);

  const float* input = block_input(x.data(), n, lw.attn_norm);
  const bool memory = c.layer_has_memory(layer);
  const int64_t q_from = query_rows_from(n, from);
  if (q_from == 0) {
    // Every product of the normed input at once (absent gates are skipped): one parallel region at decode.
    linear_many(input, n,
                {{&lw.q, &q_},
                 {&lw.k, &k_},
                 {&lw.v, &v_},
                 {memory ? &lw.memory_gate : &kNoLinear, &gate_},
                 {c.output_gate ? &lw.output_gate : &kNoLinear, &out_gate_}});
  } else {
    // Keys, values and memory gates for every row (the cache and the memory need them); the queries and
    // the output gate only for rows [q_from, n), in place in q_ and out_gate_.
    linear_many(input, n, {{&lw.k, &k_}, {&lw.v, &v_}, {memory ? &lw.memory_gate : &kNoLinear, &gate_}});
    linear_many(input, n, {{&lw.q, &q_}, {c.output_gate ? &lw.output_gate : &kNoLinear, &out_gate_}}, q_from);
  }
  if (c.qk_norm) {
    rms_norm(q_.data() + q_from * c.q_dim(), lw.q_norm.data(), n - q_from, c.q_dim(), eps,
             q_.data() + q_from * c.q_dim());
    rms_norm(k_.data(), lw.k_norm.data(), n, c.kv_dim(), eps, k_.data());
  }
  if (memory) {
    // The memory works on the keys and values attention would use, before RoPE.
    auto& state_k = memory_k_[static_cast<size_t>(layer)];
    auto& state_v = memory_v_[static_cast<size_t>(layer)];
    memory_scan(gate_.data(), k_.data(), v_.data(), n, c.kv_dim(), state_k.data(), state_v.data(),
                c.memory_gate_max());
    if (options_.memory_state_dtype != DType::F32) {
      for (float& s : state_k) s = round_to(options_.memory_state_dtype, s);
      for (float& s : state_v) s = round_to(options_.memory_state_dtype, s);
    }
  }

  const int64_t position0 = position_;
  const std::vector<float> inv_freq = model_.rope().inv_freq(position0 + n);
  model_.rope().apply(q_.data() + q_from * c.q_dim(), n - q_from, c.num_heads, position0 + q_from, inv_freq);
  model_.rope().apply(k_.data(), n, c.num_kv_heads, position0, inv_freq);
  if (position0 == 0 && keep_query_rows_ > 0) {
    const int64_t rows = std::min(keep_query_rows_, n);
    const float* first = q_.data() + (n - rows) * c.q_dim();
    prompt_queries_[static_cast<size_t>(layer)].assign(first, first + rows * c.q_dim());
    kept_query_rows_ = rows;
  }
  cache_.append(layer, k_.data(), v_.data(), n);

  attn_.resize(static_cast<size_t>(n * c.q_dim()));
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  // Prompt blocks go through the GEMM-tiled kernel; single decode steps through the per-query one.
  const auto attention_start = Clock::now();
  if (sparse_) {
    // Selection sees the keys exactly as attention reads them: post-memory, post-RoPE, stored.
    sparse_->attention(layer, q_.data(), n, position0, cache_, scale, attn_.data(), from);
    sparse_->after_attention(layer, q_.data(), n, position0, cache_, scale);
  } else if (n >= kTiledAttentionMinTokens) {
    causal_attention_tiled(q_.data(), n, position0, cache_, layer, c.num_heads, scale, attn_.data(),
                           options_.matmul_precision, from);
  } else {
    causal_attention(q_.data(), n, position0, cache_, layer, c.num_heads, scale, attn_.data());
  }
  timings_.attention_seconds += seconds_since(attention_start);
  const int64_t rows = n - from;
  if (rows == 0) return;
  float* attn_rows = attn_.data() + from * c.q_dim();
  if (c.output_gate) multiply_by_sigmoid(attn_rows, out_gate_.data() + from * c.q_dim(), rows * c.q_dim());

  linear(attn_rows, rows, lw.o, proj_);
  add_block_output(x.data() + from * c.hidden_size, rows, lw.attn_out_norm);
}

int64_t InferenceContext::query_rows_from(int64_t n, int64_t from) const {
  // Blocks below the tiled kernels' size attend every row, and so does any block with from = 0.
  if (from <= 0 || n < kTiledAttentionMinTokens) return 0;
  // The prompt kernels compute whole query tiles from the one holding `from`; a selector observing the
  // prompt (SnapKV's window) and keep_prompt_queries read the prompt's last rows.
  int64_t read_at_end = 0;
  if (position_ == 0) {
    read_at_end = keep_query_rows_;
    if (sparse_) read_at_end = std::max(read_at_end, observed_prompt_rows(sparse_->config()));
  }
  return std::max<int64_t>(0, std::min(from / kPromptQueryTile * kPromptQueryTile, n - read_at_end));
}

void InferenceContext::ffn_block(int64_t layer, int64_t n, int64_t from, ScratchFloats& x) {
  const ModelConfig& c = model_.config();
  const LayerWeights& lw = model_.weights().layers[static_cast<size_t>(layer)];
  float* x_rows = x.data() + from * c.hidden_size;
  const int64_t rows = n - from;
  if (rows == 0) return;

  const float* input = block_input(x_rows, rows, lw.ffn_norm);
  if (c.ffn == FfnKind::SwiGlu) {
    linear_many(input, rows, {{&lw.ffn_up, &ffn_a_}, {&lw.ffn_gate, &ffn_b_}});
    silu_mul(ffn_b_.data(), ffn_a_.data(), rows * c.intermediate_size);
    linear(ffn_b_.data(), rows, lw.ffn_down, proj_);
  } else {
    linear(input, rows, lw.ffn_up, ffn_a_);
    gelu_erf(ffn_a_.data(), rows * c.intermediate_size);
    linear(ffn_a_.data(), rows, lw.ffn_down, proj_);
  }
  add_block_output(x_rows, rows, lw.ffn_out_norm);
}

const float* InferenceContext::block_input(const float* x, int64_t rows, const std::vector<float>& norm) {
  const ModelConfig& c = model_.config();
  if (c.norm_placement != NormPlacement::PreNorm) return x;
  normed_.resize(static_cast<size_t>(rows * c.hidden_size));
  rms_norm(x, norm.data(), rows, c.hidden_size, static_cast<float>(c.rms_norm_eps), normed_.data());
  return normed_.data();
}

void InferenceContext::add_block_output(float* x, int64_t rows, const std::vector<float>& out_norm) {
  const ModelConfig& c = model_.config();
  const int64_t h = c.hidden_size;
  if (c.norm_placement == NormPlacement::PostNormInResidual)
    rms_norm(proj_.data(), out_norm.data(), rows, h, static_cast<float>(c.rms_norm_eps), proj_.data());
  for (int64_t i = 0; i < rows * h; ++i) x[i] += proj_[static_cast<size_t>(i)];
}

}  // namespace ratkv

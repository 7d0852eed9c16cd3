#pragma once
// What a sparse-attention run is asked to do: the method, its budget and every method parameter, with the
// two named presets (the seed paper's settings and the methods' own papers). docs/sparse.md states the
// exact semantics of each field; validate() rejects out-of-range values and combinations with one message.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv {

enum class SparseMethod { Dense, Streaming, Dilated, Quest, Moba, SnapKV, Oracle, Random };
enum class SparsePreset { Seed, Original };
enum class SnapPool { Max, Avg };

std::string sparse_method_name(SparseMethod m);
bool parse_sparse_method(const std::string& text, SparseMethod* out);

// A budget in tokens, or a fraction of the tokens visible to the query (numerator / denominator). It
// counts every token a query attends to, forced ones included.
struct SparseBudget {
  int64_t tokens = 0;  // > 0: absolute
  int64_t numerator = 1, denominator = 16;

  // Parses "256" or "1/16"; fails with a message naming --budget on 0, negatives, x/0 or fractions > 1.
  static SparseBudget parse(const std::string& text);
  // The token budget of a query that sees `visible` tokens: the absolute value, or
  // max(1, floor(visible * numerator / denominator)).
  int64_t resolve(int64_t visible) const;
  std::string to_string() const;
};

struct SparseConfig {
  SparseMethod method = SparseMethod::Dense;
  SparseBudget budget;
  // Layers that stay dense (the original Quest keeps layers 0 and 1 dense).
  std::vector<int64_t> dense_layers;
  // One selection per query head (as the references, which repeat K/V) instead of one per KV head with
  // the group's scores aggregated by max. Same thing for MHA models.
  bool per_query_head = false;

  // Block methods (quest, moba, random, oracle with oracle_pages): units always kept.
  int64_t first_units = 1;  // the first block(s) / page(s)
  int64_t local_units = 1;  // the most recent block(s) / page(s), the current one included

  // streaming and dilated (token patterns).
  int64_t initial_tokens = 4;  // P: sink tokens j < P
  int64_t local_tokens = -1;   // W: streaming keeps t - j < W (-1: budget - P); dilated keeps t - j <= W
  int64_t dilation = 16;       // D: dilated keeps (j + 1) mod D == 0

  // moba: block size in tokens (0: the page size; must be a multiple of it); also select at decode.
  int64_t moba_block = 0;
  bool moba_decode = false;

  // snapkv: observation window W, pooling kernel (odd) and kind. Capacity C = the budget at prompt end.
  int64_t snap_window = 64;
  int64_t snap_kernel = 7;
  SnapPool snap_pool = SnapPool::Max;

  // oracle: select pages by their best true score instead of single tokens.
  bool oracle_pages = false;

  // H2 ablation for quest/moba/snapkv: scores replaced by seeded uniform draws (forced units still forced).
  // Also the seed of the `random` selector.
  bool random_scores = false;
  uint64_t random_seed = 0;

  bool sparse() const { return method != SparseMethod::Dense; }
  bool layer_is_dense(int64_t layer) const;
};

// The defaults of a preset for a method, and the page size it implies.
SparseConfig preset_config(SparsePreset preset, SparseMethod method);
int64_t preset_page_size(SparsePreset preset, SparseMethod method);
bool parse_sparse_preset(const std::string& text, SparsePreset* out);

// How many of the prompt's last query rows the method reads when the prompt ends: SnapKV's observation
// window, 0 for the others (InferenceContext keeps that many to switch methods after a shared prefill).
int64_t observed_prompt_rows(const SparseConfig& c);

// Checks ranges and cross-field rules against the model shape; throws ratkv::Error naming the flag.
void validate_sparse_config(const SparseConfig& c, int64_t page_size, int64_t num_layers);

}  // namespace ratkv

#pragma once
// The one schema for every model ratkv runs: Llama, OLMo2 and RAT+ families, each with the RAT+ memory
// and output gate available as layer options. Read from an HF-style config.json (legacy and v5 rope
// keys) plus ratkv's extension object "ratkv"; written back by ModelConfig::to_json. docs/formats.md
// documents every key.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace ratkv {

enum class Family { Llama, Olmo2, RatPlus };
std::string family_name(Family f);

// Where the norms sit in a block: before each sublayer (Llama, RAT+) or on each sublayer's output inside
// the residual branch (OLMo2).
enum class NormPlacement { PreNorm, PostNormInResidual };
enum class FfnKind { SwiGlu, GeluErf };
enum class RopeType { Default, Linear, Dynamic, Llama3 };

struct RopeConfig {
  double theta = 10000.0;
  RopeType type = RopeType::Default;
  double factor = 1.0;                   // linear, dynamic, llama3
  double low_freq_factor = 1.0;          // llama3
  double high_freq_factor = 4.0;         // llama3
  int64_t original_max_position = 8192;  // llama3
};

struct ModelConfig {
  Family family = Family::Llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;

  // Derived from the family, never read from the file.
  NormPlacement norm_placement = NormPlacement::PreNorm;
  FfnKind ffn = FfnKind::SwiGlu;
  bool qk_norm = false;  // OLMo2: RMSNorm over the whole q and k projections

  // Layer options (ratkv extension keys; the ratplus family sets them from its own keys).
  std::vector<bool> memory_layers;  // per layer: k̂, v̂ = EMA of k, v with gate σ(W_g x), before RoPE
  bool output_gate = false;         // attention output multiplied by σ(W_o' x) before o_proj
  bool memory_gate_bias = false;    // the forget-gate projection has a bias
  // Bound on the memory's effective length 1/(1 − g): the gate becomes g = (1 − 1/L)·σ(W_g x), so no
  // channel averages over more than about L tokens. 0 = unbounded (RAT+'s gate, g = σ(W_g x)).
  double memory_max_length = 0;

  // The factor (1 − 1/L) on σ(W_g x); exactly 1 when the length is unbounded.
  float memory_gate_max() const {
    return memory_max_length > 0 ? static_cast<float>(1.0 - 1.0 / memory_max_length) : 1.0f;
  }

  bool has_memory() const;
  bool layer_has_memory(int64_t layer) const { return memory_layers[static_cast<size_t>(layer)]; }
  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  // Parameter count of the tensors the schema defines (tied embedding counted once).
  int64_t parameter_count() const;

  // Parses and validates; errors are "<origin>: ..." naming the key and value at fault.
  static ModelConfig from_json(const Json& json, const std::string& origin);
  static ModelConfig load(const std::string& config_path);
  Json to_json() const;

  // Checks the invariants every consumer relies on (positive sizes, heads divide, etc.).
  void validate(const std::string& origin) const;
};

}  // namespace ratkv

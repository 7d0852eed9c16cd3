#pragma once
// Binds the tensors of a model directory to the roles the forward pass uses, checking every name, shape
// and dtype against the config. Matrices stay in the mapped files (no copy) unless they are misaligned
// for their element type; norms and biases are converted to f32 once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/huge_pages.h"
#include "io/model_dir.h"
#include "tensor/dtype.h"
#include "tensor/weight_view.h"

namespace ratkv {

struct Linear {
  WeightView weight;
  std::vector<float> bias;  // empty when the layer has none
  bool empty() const { return weight.empty(); }
};

struct LayerWeights {
  // Norm weights, f32. Which are present depends on the family's norm placement.
  std::vector<float> attn_norm;       // pre-norm before attention (Llama input_layernorm, RAT+ input_norm)
  std::vector<float> ffn_norm;        // pre-norm before the FFN (Llama post_attention_layernorm, RAT+ ln)
  std::vector<float> attn_out_norm;   // OLMo2: norm of the attention output inside the residual branch
  std::vector<float> ffn_out_norm;    // OLMo2: norm of the FFN output inside the residual branch
  std::vector<float> q_norm, k_norm;  // OLMo2: over the whole q [q_dim] and k [kv_dim] projections
  Linear q, k, v, o;
  Linear memory_gate;  // [kv_dim, hidden] forget gate of the memory (empty without memory)
  Linear output_gate;  // [q_dim, hidden] output gate (empty without one)
  Linear ffn_gate;     // SwiGLU gate [intermediate, hidden]; empty for the GELU FFN
  Linear ffn_up;       // SwiGLU up, or GELU fc1 [intermediate, hidden]
  Linear ffn_down;     // [hidden, intermediate]
};

struct ModelWeights {
  WeightView embedding;  // [vocab, hidden]
  WeightView lm_head;    // [vocab, hidden]; the embedding when tied
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  DType dtype = DType::F32;                        // dtype of the largest matrices, for reports
  std::vector<std::unique_ptr<uint8_t[]>> owned;   // copies of misaligned matrices
  std::unique_ptr<uint8_t, FreeDeleter> resident;  // every matrix, when made resident (resident_weights.h)
};

// Binds and validates every tensor; fails naming the file and tensor of the first problem.
ModelWeights bind_weights(const ModelDirectory& dir);

// The tensor names a config expects, with their shapes, in the HF (llama/olmo2) or RAT+ key scheme.
// Used by bind_weights, by `ratkv init` to write a model, and by the trainer's export.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config);

}  // namespace ratkv

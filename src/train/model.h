#pragma once
// The trainable model: every family and layer option of ratkv's ModelConfig (llama, olmo2, ratplus;
// memory, output gate, memory gate bias), the same math as src/model/reference_forward.cpp, written with
// libtorch ops over fp32 master parameters.
//
// Parameters are held by the engine's tensor names (expected_tensors()), so export and import are a
// rename-free copy. One exception: a RAT+ memory layer keeps the gate rows of its fused in_proj apart, as
// "…seq_layer.fgate_proj.weight" [d, d] next to an in_proj of [4d, d] (o, q, k, v) — the split form the
// engine also loads (docs/formats.md §3.7). That way every memory parameter of every family is an
// "fgate_proj" tensor and can get its own learning rate; export writes the fused [5d, d] in_proj.
//
// Precision (docs/training.md): the residual stream, norms, the memory scan, RoPE and softmax run in
// fp32; matrix products run in `compute_dtype` (bf16 on the GPU) on weights cast from the fp32 masters
// inside forward, so autograd returns fp32 gradients to the masters. Norms and RoPE round their fp32
// result once, straight to the dtype the next op takes (train/rms_norm.h, train/rope.h: fused kernels on
// CUDA). Explicit casts instead of autocast:
// the C++ autocast API changed between libtorch 1.13 and 2.x, and explicit casts state where rounding
// happens.
#include <map>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "train/rope.h"
#include "train/torch_compat.h"

namespace ratkv::train {

struct NamedParam {
  std::string name;
  torch::Tensor tensor;  // fp32, requires_grad
};

// How each layer's attention sees the past: dense causal, or the dilated pattern S(t) (attention_ops.h).
struct AttentionPattern {
  int64_t dilation = 1;  // D; 1 = dense
  int64_t local = 0;     // W
  int64_t initial = 0;   // P
  bool dense() const { return dilation == 1; }
};

// The names and shapes the trainer holds for a config: expected_tensors() with the RAT+ gate split.
std::vector<std::pair<std::string, std::vector<int64_t>>> training_tensors(const ModelConfig& config);

// True for the memory's own parameters (the forget-gate projection and its bias).
bool is_memory_parameter(const std::string& name);

class TrainModel {
 public:
  // Zero-initialized parameters of the config's shapes on `device`; call init_random or load values.
  TrainModel(const ModelConfig& config, torch::Device device, torch::ScalarType compute_dtype);

  const ModelConfig& config() const { return config_; }
  const torch::Device& device() const { return device_; }
  torch::ScalarType compute_dtype() const { return compute_dtype_; }
  std::vector<NamedParam>& parameters() { return params_; }
  const std::vector<NamedParam>& parameters() const { return params_; }
  const torch::Tensor& param(const std::string& name) const;
  bool has_param(const std::string& name) const { return index_.count(name) != 0; }
  int64_t parameter_count() const;

  // Matrix-product FLOPs of one training step (forward + backward = 3x forward) over [batch, seq_len]
  // tokens: every weight matrix once per token (the LM head included, the embedding lookup not), and
  // attention's QK^T and PV over the (query, key) pairs the pattern allows: T²/2 when dense (causal), about
  // T²/(2D) + T·(W + P) when dilated — 4 x q_dim FLOPs a pair, per layer and row. The ratio of a measured
  // step's FLOP rate to the card's GEMM peak is the model FLOPs utilization.
  double step_flops(int64_t batch, int64_t seq_len, const AttentionPattern& pattern = {}) const;

  // Matrices ~ N(0, std²), norms 1, biases 0, drawn from ratkv::Rng(seed) in the order of parameters(),
  // so an init is the same on every machine and device.
  void init_random(uint64_t seed, float std);

  // Copies a value into a parameter (shape must match; any dtype/device).
  void set_param(const std::string& name, const torch::Tensor& value);

  // tokens [B, T] int64 → logits [B, T, vocab] fp32.
  torch::Tensor forward(const torch::Tensor& tokens, const AttentionPattern& pattern = {});

  // When on, forward records per memory layer the mean over batch, time and channels of 1/(1 − g): the
  // effective memory length. Read after forward; -1 for layers without memory.
  void set_record_memory_lengths(bool on) { record_memory_ = on; }
  std::vector<double> memory_lengths() const;

 private:
  torch::Tensor attention_block(int64_t layer, const torch::Tensor& x, const AttentionPattern& pattern);
  torch::Tensor ffn_block(int64_t layer, const torch::Tensor& x);
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight,
                       const torch::Tensor& bias = {}) const;
  torch::Tensor rms_norm(const torch::Tensor& x, const std::string& weight,
                         torch::ScalarType out_dtype) const;
  const torch::Tensor* find(const std::string& name) const;

  ModelConfig config_;
  torch::Device device_;
  torch::ScalarType compute_dtype_;
  std::vector<NamedParam> params_;
  std::map<std::string, size_t> index_;
  RopeTable rope_;
  int64_t rope_length_ = 0;
  bool record_memory_ = false;
  std::vector<torch::Tensor> memory_lengths_;
};

}  // namespace ratkv::train

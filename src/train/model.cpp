#include "train/model.h"

#include "base/error.h"
#include "base/rng.h"
#include "model/weights.h"
#include "train/attention_ops.h"
#include "train/memory_scan.h"
#include "train/rms_norm.h"

namespace ratkv::train {

namespace {

std::string hf_layer(int64_t i) {
  return "model.layers." + std::to_string(i) + ".";
}
std::string rat_layer(int64_t i) {
  return "backbone.layers." + std::to_string(i) + ".";
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> training_tensors(const ModelConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const ExpectedTensor& t : expected_tensors(c)) {
    if (c.family == Family::RatPlus && t.name.ends_with("seq_layer.in_proj.weight") &&
        t.shape[0] == 5 * c.hidden_size) {
      out.push_back({t.name, {4 * c.hidden_size, c.hidden_size}});
      const std::string prefix = t.name.substr(0, t.name.size() - std::string("in_proj.weight").size());
      out.push_back({prefix + "fgate_proj.weight", {c.hidden_size, c.hidden_size}});
    } else {
      out.push_back({t.name, t.shape});
    }
  }
  return out;
}

bool is_memory_parameter(const std::string& name) {
  return name.find("fgate_proj.") != std::string::npos;
}

TrainModel::TrainModel(const ModelConfig& config, torch::Device device, torch::ScalarType compute_dtype)
    : config_(config), device_(device), compute_dtype_(compute_dtype) {
  config_.validate("model config");
  require(!(config_.family == Family::RatPlus && config_.memory_gate_bias),
          "model config: ratkv.memory_gate_bias is not supported for the ratplus family (its fused in_proj "
          "has no "
          "bias); use llama or olmo2 for a biased memory gate");
  for (const auto& [name, shape] : training_tensors(config_)) {
    index_[name] = params_.size();
    params_.push_back({name, torch::zeros(shape, torch::TensorOptions().dtype(torch::kFloat).device(device_))
                                 .set_requires_grad(true)});
  }
  memory_lengths_.resize(static_cast<size_t>(config_.num_layers));
}

const torch::Tensor* TrainModel::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second].tensor;
}

const torch::Tensor& TrainModel::param(const std::string& name) const {
  const torch::Tensor* t = find(name);
  require(t != nullptr, "model has no parameter \"", name, "\"");
  return *t;
}

int64_t TrainModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.tensor.numel();
  return n;
}

void TrainModel::init_random(uint64_t seed, float std) {
  Rng rng(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : params_) {
    torch::Tensor cpu = torch::empty(p.tensor.sizes(), torch::kFloat);
    float* data = cpu.data_ptr<float>();
    const bool is_norm = p.name.find("norm") != std::string::npos || p.name.ends_with(".ln.weight");
    for (int64_t i = 0; i < cpu.numel(); ++i) {
      if (p.tensor.dim() >= 2)
        data[i] = rng.normal() * std;
      else
        data[i] = is_norm ? 1.0f : 0.0f;
    }
    p.tensor.copy_(cpu);
  }
}

void TrainModel::set_param(const std::string& name, const torch::Tensor& value) {
  const torch::Tensor& p = param(name);
  require(p.sizes() == value.sizes(), "parameter \"", name, "\" has shape ", p.sizes(), ", the value has ",
          value.sizes());
  torch::NoGradGuard no_grad;
  const_cast<torch::Tensor&>(p).copy_(value.to(torch::kFloat));
}

torch::Tensor TrainModel::linear(const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias) const {
  const torch::Tensor w = weight.to(compute_dtype_);
  return bias.defined() ? torch::linear(x, w, bias.to(compute_dtype_)) : torch::linear(x, w);
}

torch::Tensor TrainModel::rms_norm(const torch::Tensor& x, const std::string& weight,
                                   torch::ScalarType out_dtype) const {
  return train::rms_norm(x, param(weight), config_.rms_norm_eps, out_dtype);
}

double TrainModel::step_flops(int64_t batch, int64_t seq_len, const AttentionPattern& pattern) const {
  const ModelConfig& c = config_;
  const std::string embedding =
      c.family == Family::RatPlus ? "embedding.wte.weight" : "model.embed_tokens.weight";
  double matrix_params = 0;
  for (const auto& p : params_)
    if (p.tensor.dim() == 2 && p.name != embedding) matrix_params += static_cast<double>(p.tensor.numel());
  if (c.tie_word_embeddings)
    matrix_params += static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size);
  const double rows = static_cast<double>(batch), length = static_cast<double>(seq_len);
  const double pairs = pattern.dense() ? length * length / 2.0
                                       : length * length / (2.0 * static_cast<double>(pattern.dilation)) +
                                             length * static_cast<double>(pattern.local + pattern.initial);
  const double attention =
      4.0 * pairs * static_cast<double>(c.q_dim()) * static_cast<double>(c.num_layers) * rows;
  return 3.0 * (2.0 * matrix_params * rows * length + attention);
}

std::vector<double> TrainModel::memory_lengths() const {
  std::vector<double> out;
  for (const auto& t : memory_lengths_) out.push_back(t.defined() ? t.item<double>() : -1.0);
  return out;
}

torch::Tensor TrainModel::attention_block(int64_t layer, const torch::Tensor& x,
                                          const AttentionPattern& pattern) {
  const ModelConfig& c = config_;
  const bool rat = c.family == Family::RatPlus;
  const bool memory = c.layer_has_memory(layer);
  const std::string p = rat ? rat_layer(layer) + "seq_layer." : hf_layer(layer) + "self_attn.";
  const int64_t batch = x.size(0), length = x.size(1), hd = c.head_dim;

  torch::Tensor u;
  if (rat)
    u = rms_norm(x, p + "input_norm.weight", compute_dtype_);
  else if (c.norm_placement == NormPlacement::PreNorm)
    u = rms_norm(x, hf_layer(layer) + "input_layernorm.weight", compute_dtype_);
  else
    u = x.to(compute_dtype_);

  // One GEMM for every projection of the normalized input: [o,] q, k, v[, g][, o'].
  std::vector<torch::Tensor> weights, biases;
  std::vector<int64_t> widths;
  bool any_bias = false;
  auto add = [&](const std::string& name, int64_t width, bool has_bias) {
    weights.push_back(param(name + ".weight"));
    widths.push_back(width);
    biases.push_back(has_bias ? param(name + ".bias") : torch::Tensor());
    any_bias = any_bias || has_bias;
  };
  if (rat) {
    weights.push_back(param(p + "in_proj.weight"));
    widths.insert(widths.end(), {c.hidden_size, c.hidden_size, c.hidden_size, c.hidden_size});
    if (memory) add(p + "fgate_proj", c.hidden_size, false);
  } else {
    add(p + "q_proj", c.q_dim(), c.attention_bias);
    add(p + "k_proj", c.kv_dim(), c.attention_bias);
    add(p + "v_proj", c.kv_dim(), c.attention_bias);
    if (memory) add(p + "fgate_proj", c.kv_dim(), c.memory_gate_bias);
    if (c.output_gate) add(p + "ogate_proj", c.q_dim(), false);
  }
  const torch::Tensor fused_w = weights.size() == 1 ? weights[0] : torch::cat(weights, 0);
  torch::Tensor fused_b;
  if (any_bias) {  // projections without a bias contribute zeros (only llama/olmo2 have biases)
    for (size_t i = 0; i < biases.size(); ++i)
      if (!biases[i].defined()) biases[i] = torch::zeros({widths[i]}, x.options().dtype(torch::kFloat));
    fused_b = torch::cat(biases, 0);
  }
  const torch::Tensor proj = linear(u, fused_w, fused_b);
  std::vector<torch::Tensor> parts;
  int64_t offset = 0;
  for (int64_t w : widths) {
    parts.push_back(proj.narrow(-1, offset, w));
    offset += w;
  }
  size_t next = 0;
  torch::Tensor out_gate = rat ? parts[next++] : torch::Tensor();
  torch::Tensor q = parts[next++], k = parts[next++], v = parts[next++];
  torch::Tensor f = memory ? parts[next++] : torch::Tensor();
  if (!rat && c.output_gate) out_gate = parts[next++];

  if (c.qk_norm) {  // OLMo2: over the whole projections, before the heads are split
    q = rms_norm(q, p + "q_norm.weight", compute_dtype_);
    k = rms_norm(k, p + "k_norm.weight", compute_dtype_);
  }
  if (memory) {  // the EMA of k and v, before RoPE; k̂ stays fp32 into RoPE, which rounds it once
    auto [hk, hv] = memory_recurrence(f, k, v, c.memory_gate_max());
    k = hk;
    v = hv.to(compute_dtype_);
    if (record_memory_) {
      torch::NoGradGuard no_grad;
      const torch::Tensor g = torch::sigmoid(f.to(torch::kFloat)) * c.memory_gate_max();
      memory_lengths_[static_cast<size_t>(layer)] =
          (1.0 / (1.0 - g).clamp_min(1e-7)).mean().to(torch::kDouble);
    }
  }

  if (rope_length_ < length) {
    rope_ = make_rope_table(c, length, device_);
    rope_length_ = length;
  }
  q = rotary(q.reshape({batch, length, c.num_heads, hd}), rope_, compute_dtype_).transpose(1, 2);
  k = rotary(k.reshape({batch, length, c.num_kv_heads, hd}), rope_, compute_dtype_).transpose(1, 2);
  v = v.reshape({batch, length, c.num_kv_heads, hd}).transpose(1, 2);
  const int64_t group = c.num_heads / c.num_kv_heads;
  if (group > 1) {  // query head h reads key/value head h / group
    k = k.repeat_interleave(group, 1);
    v = v.repeat_interleave(group, 1);
  }
  torch::Tensor attn = pattern.dense()
                           ? causal_attention(q, k, v)
                           : dilated_attention(q, k, v, pattern.dilation, pattern.local, pattern.initial);
  attn = attn.transpose(1, 2).reshape({batch, length, c.q_dim()});
  if (out_gate.defined()) attn = attn * torch::sigmoid(out_gate);

  torch::Tensor out = rat ? linear(attn, param(p + "out_proj.weight"))
                          : linear(attn, param(p + "o_proj.weight"),
                                   c.attention_bias ? param(p + "o_proj.bias") : torch::Tensor());
  if (c.norm_placement == NormPlacement::PostNormInResidual)
    return rms_norm(out, hf_layer(layer) + "post_attention_layernorm.weight", torch::kFloat);
  return out.to(torch::kFloat);
}

torch::Tensor TrainModel::ffn_block(int64_t layer, const torch::Tensor& x) {
  const ModelConfig& c = config_;
  if (c.family == Family::RatPlus) {
    const std::string p = rat_layer(layer) + "hidden_layer.";
    const torch::Tensor u = rms_norm(x, p + "ln.weight", compute_dtype_);
    const torch::Tensor hidden = torch::gelu(linear(u, param(p + "fc1.weight")));  // exact erf GELU
    return linear(hidden, param(p + "fc2.weight")).to(torch::kFloat);
  }
  const std::string p = hf_layer(layer) + "mlp.";
  const bool pre_norm = c.norm_placement == NormPlacement::PreNorm;
  const torch::Tensor u =
      pre_norm ? rms_norm(x, hf_layer(layer) + "post_attention_layernorm.weight", compute_dtype_)
               : x.to(compute_dtype_);
  const int64_t inter = c.intermediate_size;
  const torch::Tensor w = torch::cat({param(p + "gate_proj.weight"), param(p + "up_proj.weight")}, 0);
  const torch::Tensor b =
      c.mlp_bias ? torch::cat({param(p + "gate_proj.bias"), param(p + "up_proj.bias")}, 0) : torch::Tensor();
  const torch::Tensor gate_up = linear(u, w, b);
  const torch::Tensor hidden = torch::silu(gate_up.narrow(-1, 0, inter)) * gate_up.narrow(-1, inter, inter);
  const torch::Tensor out = linear(hidden, param(p + "down_proj.weight"),
                                   c.mlp_bias ? param(p + "down_proj.bias") : torch::Tensor());
  if (!pre_norm) return rms_norm(out, hf_layer(layer) + "post_feedforward_layernorm.weight", torch::kFloat);
  return out.to(torch::kFloat);
}

torch::Tensor TrainModel::forward(const torch::Tensor& tokens, const AttentionPattern& pattern) {
  const ModelConfig& c = config_;
  require(tokens.dim() == 2, "forward: tokens must be [batch, time]");
  const bool rat = c.family == Family::RatPlus;
  const torch::Tensor& embedding = param(rat ? "embedding.wte.weight" : "model.embed_tokens.weight");
  torch::Tensor x = torch::embedding(embedding, tokens);  // fp32 residual stream
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    x = x + attention_block(layer, x, pattern);
    x = x + ffn_block(layer, x);
  }
  const torch::Tensor u = rms_norm(x, rat ? "backbone.ln.weight" : "model.norm.weight", compute_dtype_);
  const torch::Tensor& head =
      c.tie_word_embeddings ? embedding : param(rat ? "head.lm_head.weight" : "lm_head.weight");
  return linear(u, head).to(torch::kFloat);
}

}  // namespace ratkv::train

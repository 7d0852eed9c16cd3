#include "model/weights.h"

#include <cstring>
#include <set>

namespace ratkv {

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string hf_layer(int64_t i) {
  return "model.layers." + std::to_string(i) + ".";
}
std::string rat_layer(int64_t i) {
  return "backbone.layers." + std::to_string(i) + ".";
}

class Binder {
 public:
  Binder(const ModelDirectory& dir, ModelWeights& weights) : dir_(dir), weights_(weights) {}

  bool has(const std::string& name) const { return dir_.find(name) != nullptr; }

  const SafetensorsTensor& tensor(const std::string& name, const std::vector<int64_t>& shape) {
    const SafetensorsTensor* t = dir_.find(name);
    require(t != nullptr, dir_.path(), ": tensor \"", name, "\" ", shape_string(shape),
            " is missing for this config (", family_name(dir_.config().family), ")");
    const std::string& file = dir_.file_of(name);
    require(t->dtype.has_value(), file, ": tensor \"", name, "\" has dtype ", t->dtype_name,
            "; weights must be F32, BF16 or F16");
    require(t->shape == shape, file, ": tensor \"", name, "\" has shape ", shape_string(t->shape),
            " but the config needs ", shape_string(shape));
    used_.insert(name);
    return *t;
  }

  WeightView matrix(const std::string& name, int64_t rows, int64_t cols) {
    return rows_of(name, {rows, cols}, 0, rows);
  }

  // Rows [first, first+count) of a matrix of the given full shape: how fused projections are split
  // without copying.
  WeightView rows_of(const std::string& name, const std::vector<int64_t>& shape, int64_t first,
                     int64_t count) {
    const SafetensorsTensor& t = tensor(name, shape);
    WeightView view;
    view.dtype = *t.dtype;
    view.rows = count;
    view.cols = shape[1];
    const size_t elem = dtype_size(view.dtype);
    const uint8_t* data = t.data + static_cast<size_t>(first * shape[1]) * elem;
    if (reinterpret_cast<uintptr_t>(data) % elem != 0) {
      // Kernels load elements of their natural alignment; a writer that did not align gets a copy.
      const size_t bytes = static_cast<size_t>(count * shape[1]) * elem;
      auto copy = std::make_unique<uint8_t[]>(bytes);
      std::memcpy(copy.get(), data, bytes);
      data = copy.get();
      weights_.owned.push_back(std::move(copy));
    }
    view.data = data;
    return view;
  }

  std::vector<float> vector(const std::string& name, int64_t n) {
    const SafetensorsTensor& t = tensor(name, {n});
    std::vector<float> out(static_cast<size_t>(n));
    convert_to_f32(t.data, *t.dtype, out.size(), out.data());
    return out;
  }

  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
    Linear l;
    l.weight = matrix(prefix + ".weight", out, in);
    if (bias) l.bias = vector(prefix + ".bias", out);
    return l;
  }

  void check_all_used() const {
    for (const auto& name : dir_.tensor_names()) {
      if (used_.count(name)) continue;
      // Old HF conversions store RoPE frequencies; ratkv computes them. RAT+ may store the tied head.
      if (name.ends_with("rotary_emb.inv_freq")) continue;
      fail(dir_.file_of(name), ": tensor \"", name, "\" is not used by a ", family_name(dir_.config().family),
           " model with this config (wrong family or options?)");
    }
  }

  void mark_used(const std::string& name) { used_.insert(name); }

 private:
  const ModelDirectory& dir_;
  ModelWeights& weights_;
  std::set<std::string> used_;
};

void bind_hf_layer(Binder& b, const ModelConfig& c, int64_t i, LayerWeights& lw) {
  const std::string p = hf_layer(i);
  const int64_t h = c.hidden_size;
  lw.q = b.linear(p + "self_attn.q_proj", c.q_dim(), h, c.attention_bias);
  lw.k = b.linear(p + "self_attn.k_proj", c.kv_dim(), h, c.attention_bias);
  lw.v = b.linear(p + "self_attn.v_proj", c.kv_dim(), h, c.attention_bias);
  lw.o = b.linear(p + "self_attn.o_proj", h, c.q_dim(), c.attention_bias);
  if (c.layer_has_memory(i))
    lw.memory_gate = b.linear(p + "self_attn.fgate_proj", c.kv_dim(), h, c.memory_gate_bias);
  if (c.output_gate) lw.output_gate = b.linear(p + "self_attn.ogate_proj", c.q_dim(), h, false);
  lw.ffn_gate = b.linear(p + "mlp.gate_proj", c.intermediate_size, h, c.mlp_bias);
  lw.ffn_up = b.linear(p + "mlp.up_proj", c.intermediate_size, h, c.mlp_bias);
  lw.ffn_down = b.linear(p + "mlp.down_proj", h, c.intermediate_size, c.mlp_bias);
  if (c.family == Family::Olmo2) {
    lw.q_norm = b.vector(p + "self_attn.q_norm.weight", c.q_dim());
    lw.k_norm = b.vector(p + "self_attn.k_norm.weight", c.kv_dim());
    lw.attn_out_norm = b.vector(p + "post_attention_layernorm.weight", h);
    lw.ffn_out_norm = b.vector(p + "post_feedforward_layernorm.weight", h);
  } else {
    lw.attn_norm = b.vector(p + "input_layernorm.weight", h);
    lw.ffn_norm = b.vector(p + "post_attention_layernorm.weight", h);
  }
}

// RAT+: in_proj rows are o, q, k, v[, g]; older checkpoints keep g apart as fgate_proj.
void bind_ratplus_layer(Binder& b, const ModelConfig& c, int64_t i, LayerWeights& lw) {
  const std::string p = rat_layer(i) + "seq_layer.";
  const int64_t d = c.hidden_size;
  const bool memory = c.layer_has_memory(i);
  const bool split_gate = memory && b.has(p + "fgate_proj.weight");
  const int64_t fused_rows = (memory && !split_gate) ? 5 * d : 4 * d;
  const std::vector<int64_t> fused{fused_rows, d};
  lw.attn_norm = b.vector(p + "input_norm.weight", d);
  lw.output_gate.weight = b.rows_of(p + "in_proj.weight", fused, 0, d);
  lw.q.weight = b.rows_of(p + "in_proj.weight", fused, d, d);
  lw.k.weight = b.rows_of(p + "in_proj.weight", fused, 2 * d, d);
  lw.v.weight = b.rows_of(p + "in_proj.weight", fused, 3 * d, d);
  if (memory) {
    lw.memory_gate.weight = split_gate ? b.matrix(p + "fgate_proj.weight", d, d)
                                       : b.rows_of(p + "in_proj.weight", fused, 4 * d, d);
  }
  lw.o.weight = b.matrix(p + "out_proj.weight", d, d);
  const std::string f = rat_layer(i) + "hidden_layer.";
  lw.ffn_norm = b.vector(f + "ln.weight", d);
  lw.ffn_up.weight = b.matrix(f + "fc1.weight", c.intermediate_size, d);
  lw.ffn_down.weight = b.matrix(f + "fc2.weight", d, c.intermediate_size);
}

// The output head under the family's tensor name. A tied head is the embedding; a saved copy of it (RAT+
// checkpoints keep one) is accepted, checked for shape and ignored.
void bind_head(Binder& b, const ModelConfig& c, const std::string& name, ModelWeights& w) {
  if (c.tie_word_embeddings) {
    if (b.has(name)) b.tensor(name, {c.vocab_size, c.hidden_size});
    w.lm_head = w.embedding;
  } else {
    w.lm_head = b.matrix(name, c.vocab_size, c.hidden_size);
  }
}
}  // namespace

ModelWeights bind_weights(const ModelDirectory& dir) {
  const ModelConfig& c = dir.config();
  ModelWeights w;
  Binder b(dir, w);
  w.layers.resize(static_cast<size_t>(c.num_layers));
  if (c.family == Family::RatPlus) {
    w.embedding = b.matrix("embedding.wte.weight", c.vocab_size, c.hidden_size);
    w.final_norm = b.vector("backbone.ln.weight", c.hidden_size);
    for (int64_t i = 0; i < c.num_layers; ++i) bind_ratplus_layer(b, c, i, w.layers[static_cast<size_t>(i)]);
    bind_head(b, c, "head.lm_head.weight", w);
  } else {
    w.embedding = b.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
    w.final_norm = b.vector("model.norm.weight", c.hidden_size);
    for (int64_t i = 0; i < c.num_layers; ++i) bind_hf_layer(b, c, i, w.layers[static_cast<size_t>(i)]);
    bind_head(b, c, "lm_head.weight", w);
  }
  b.check_all_used();
  w.dtype = w.embedding.dtype;
  return w;
}

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> out;
  const int64_t h = c.hidden_size, inter = c.intermediate_size;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    out.push_back({std::move(name), std::move(shape)});
  };
  if (c.family == Family::RatPlus) {
    add("embedding.wte.weight", {c.vocab_size, h});
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = rat_layer(i);
      add(p + "seq_layer.input_norm.weight", {h});
      add(p + "seq_layer.in_proj.weight", {(c.layer_has_memory(i) ? 5 : 4) * h, h});
      add(p + "seq_layer.out_proj.weight", {h, h});
      add(p + "hidden_layer.ln.weight", {h});
      add(p + "hidden_layer.fc1.weight", {inter, h});
      add(p + "hidden_layer.fc2.weight", {h, inter});
    }
    add("backbone.ln.weight", {h});
    if (!c.tie_word_embeddings) add("head.lm_head.weight", {c.vocab_size, h});
    return out;
  }
  add("model.embed_tokens.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = hf_layer(i);
    auto linear = [&](const std::string& name, int64_t o, int64_t in, bool bias) {
      add(p + name + ".weight", {o, in});
      if (bias) add(p + name + ".bias", {o});
    };
    linear("self_attn.q_proj", c.q_dim(), h, c.attention_bias);
    linear("self_attn.k_proj", c.kv_dim(), h, c.attention_bias);
    linear("self_attn.v_proj", c.kv_dim(), h, c.attention_bias);
    linear("self_attn.o_proj", h, c.q_dim(), c.attention_bias);
    if (c.layer_has_memory(i)) linear("self_attn.fgate_proj", c.kv_dim(), h, c.memory_gate_bias);
    if (c.output_gate) linear("self_attn.ogate_proj", c.q_dim(), h, false);
    linear("mlp.gate_proj", inter, h, c.mlp_bias);
    linear("mlp.up_proj", inter, h, c.mlp_bias);
    linear("mlp.down_proj", h, inter, c.mlp_bias);
    if (c.family == Family::Olmo2) {
      add(p + "self_attn.q_norm.weight", {c.q_dim()});
      add(p + "self_attn.k_norm.weight", {c.kv_dim()});
      add(p + "post_attention_layernorm.weight", {h});
      add(p + "post_feedforward_layernorm.weight", {h});
    } else {
      add(p + "input_layernorm.weight", {h});
      add(p + "post_attention_layernorm.weight", {h});
    }
  }
  add("model.norm.weight", {h});
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, h});
  return out;
}

}  // namespace ratkv

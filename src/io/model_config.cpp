#include "io/model_config.h"

#include <cmath>

#include "base/mapped_file.h"

namespace ratkv {

std::string family_name(Family f) {
  switch (f) {
    case Family::Llama:
      return "llama";
    case Family::Olmo2:
      return "olmo2";
    case Family::RatPlus:
      return "ratplus";
  }
  return "?";
}

bool ModelConfig::has_memory() const {
  for (bool m : memory_layers)
    if (m) return true;
  return false;
}

int64_t ModelConfig::parameter_count() const {
  const int64_t h = hidden_size;
  int64_t per_layer = h * q_dim() + 2 * h * kv_dim() + q_dim() * h;  // q, k, v, o
  if (attention_bias) per_layer += q_dim() + 2 * kv_dim() + h;
  per_layer += (ffn == FfnKind::SwiGlu ? 3 : 2) * h * intermediate_size;
  if (mlp_bias) per_layer += (ffn == FfnKind::SwiGlu ? 2 : 1) * intermediate_size + h;
  per_layer += 2 * h;  // two norms
  if (qk_norm) per_layer += q_dim() + kv_dim();
  if (output_gate) per_layer += h * q_dim();
  int64_t total = per_layer * num_layers;
  for (bool m : memory_layers)
    if (m) total += h * kv_dim() + (memory_gate_bias ? kv_dim() : 0);
  total += vocab_size * h * (tie_word_embeddings ? 1 : 2) + h;
  return total;
}

namespace {

RopeType parse_rope_type(const std::string& name, const std::string& origin) {
  if (name == "default") return RopeType::Default;
  if (name == "linear") return RopeType::Linear;
  if (name == "dynamic") return RopeType::Dynamic;
  if (name == "llama3") return RopeType::Llama3;
  fail(origin, ": rope type \"", name, "\" is not supported (default, linear, dynamic, llama3)");
}

std::string rope_type_name(RopeType t) {
  switch (t) {
    case RopeType::Default:
      return "default";
    case RopeType::Linear:
      return "linear";
    case RopeType::Dynamic:
      return "dynamic";
    case RopeType::Llama3:
      return "llama3";
  }
  return "?";
}

// Reads rope settings from either the legacy flat keys ("rope_theta", "rope_scaling") or the v5
// "rope_parameters" object; the type key may be "rope_type" or the older "type".
RopeConfig parse_rope(const Json& j, const std::string& origin, double default_theta) {
  RopeConfig rope;
  rope.theta = json_number(j, "rope_theta", origin).value_or(default_theta);
  const Json* scaling = nullptr;
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) fail(origin, ": key \"", key, "\" must be an object or null");
    scaling = &*it;
    break;
  }
  if (!scaling) return rope;
  const std::string where = origin + " (rope parameters)";
  rope.theta = json_number(*scaling, "rope_theta", where).value_or(rope.theta);
  auto type = json_string(*scaling, "rope_type", where);
  if (!type) type = json_string(*scaling, "type", where);
  rope.type = parse_rope_type(type.value_or("default"), origin);
  rope.factor = json_number(*scaling, "factor", where).value_or(1.0);
  rope.low_freq_factor = json_number(*scaling, "low_freq_factor", where).value_or(1.0);
  rope.high_freq_factor = json_number(*scaling, "high_freq_factor", where).value_or(4.0);
  rope.original_max_position = json_int(*scaling, "original_max_position_embeddings", where).value_or(8192);
  if (rope.type != RopeType::Default) {
    require(rope.factor >= 1.0 && std::isfinite(rope.factor), origin, ": rope factor must be >= 1, got ",
            rope.factor);
  }
  if (rope.type == RopeType::Llama3) {
    require(rope.high_freq_factor > rope.low_freq_factor, origin,
            ": llama3 rope needs high_freq_factor > low_freq_factor");
    require(rope.original_max_position > 0, origin, ": original_max_position_embeddings must be positive");
  }
  return rope;
}

std::vector<int64_t> parse_eos(const Json& j, const std::string& origin) {
  auto it = j.find("eos_token_id");
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  if (it->is_array()) {
    std::vector<int64_t> ids;
    for (const auto& e : *it) {
      if (!e.is_number_integer()) fail(origin, ": eos_token_id list must hold integers, got ", e.dump());
      ids.push_back(e.get<int64_t>());
    }
    return ids;
  }
  fail(origin, ": eos_token_id must be an integer or a list of integers, got ", it->dump());
}

int64_t required_int(const Json& j, const char* key, const std::string& origin) {
  auto v = json_int(j, key, origin);
  if (!v) fail(origin, ": required key \"", key, "\" is missing");
  return *v;
}

// "memory": true | false | [layer indices]
std::vector<bool> parse_memory_layers(const Json& ext, int64_t num_layers, const std::string& origin) {
  std::vector<bool> layers(static_cast<size_t>(std::max<int64_t>(num_layers, 0)), false);
  auto it = ext.find("memory");
  if (it == ext.end() || it->is_null()) return layers;
  if (it->is_boolean()) {
    std::fill(layers.begin(), layers.end(), it->get<bool>());
    return layers;
  }
  if (!it->is_array()) fail(origin, ": ratkv.memory must be true, false or a list of layer indices");
  for (const auto& e : *it) {
    if (!e.is_number_integer()) fail(origin, ": ratkv.memory list must hold layer indices, got ", e.dump());
    int64_t layer = e.get<int64_t>();
    require(layer >= 0 && layer < num_layers, origin, ": ratkv.memory names layer ", layer,
            " but the model has ", num_layers, " layers");
    layers[static_cast<size_t>(layer)] = true;
  }
  return layers;
}

}  // namespace

ModelConfig ModelConfig::from_json(const Json& j, const std::string& origin) {
  require(j.is_object(), origin, ": config must be a JSON object");
  ModelConfig c;
  const std::string model_type = json_string(j, "model_type", origin).value_or("");
  if (model_type == "llama")
    c.family = Family::Llama;
  else if (model_type == "olmo2")
    c.family = Family::Olmo2;
  else if (model_type == "ratplus")
    c.family = Family::RatPlus;
  else if (model_type.empty())
    fail(origin, ": required key \"model_type\" is missing (llama, olmo2, ratplus)");
  else
    fail(origin, ": model_type \"", model_type, "\" is not supported (llama, olmo2, ratplus)");

  c.vocab_size = required_int(j, "vocab_size", origin);
  c.hidden_size = required_int(j, "hidden_size", origin);
  c.num_layers = required_int(j, "num_hidden_layers", origin);
  c.num_heads = required_int(j, "num_attention_heads", origin);
  c.num_kv_heads = json_int(j, "num_key_value_heads", origin).value_or(c.num_heads);
  c.head_dim = json_int(j, "head_dim", origin).value_or(c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.max_position_embeddings = json_int(j, "max_position_embeddings", origin).value_or(4096);
  c.attention_bias = json_bool(j, "attention_bias", origin).value_or(false);
  c.mlp_bias = json_bool(j, "mlp_bias", origin).value_or(false);
  c.bos_token_id = json_int(j, "bos_token_id", origin);
  c.eos_token_ids = parse_eos(j, origin);
  if (auto act = json_string(j, "hidden_act", origin)) {
    const bool gelu_family = c.family == Family::RatPlus;
    require(gelu_family ? (*act == "gelu") : (*act == "silu"), origin, ": hidden_act \"", *act,
            "\" is not supported for ", model_type, " (expected ", gelu_family ? "gelu" : "silu", ")");
  }

  const Json empty_ext = Json::object();
  auto ext_it = j.find("ratkv");
  if (ext_it != j.end() && !ext_it->is_object()) fail(origin, ": key \"ratkv\" must be an object");
  const Json& ext = ext_it != j.end() ? *ext_it : empty_ext;
  const std::string ext_origin = origin + " (ratkv)";

  switch (c.family) {
    case Family::Llama:
      c.intermediate_size = required_int(j, "intermediate_size", origin);
      c.rms_norm_eps = json_number(j, "rms_norm_eps", origin).value_or(1e-6);
      c.rope = parse_rope(j, origin, 10000.0);
      c.tie_word_embeddings = json_bool(j, "tie_word_embeddings", origin).value_or(false);
      c.norm_placement = NormPlacement::PreNorm;
      c.ffn = FfnKind::SwiGlu;
      c.qk_norm = false;
      break;
    case Family::Olmo2:
      c.intermediate_size = required_int(j, "intermediate_size", origin);
      c.rms_norm_eps = json_number(j, "rms_norm_eps", origin).value_or(1e-5);
      c.rope = parse_rope(j, origin, 10000.0);
      c.tie_word_embeddings = json_bool(j, "tie_word_embeddings", origin).value_or(false);
      c.norm_placement = NormPlacement::PostNormInResidual;
      c.ffn = FfnKind::SwiGlu;
      c.qk_norm = true;
      break;
    case Family::RatPlus:
      // RAT+ (wimh966/rat-plus): pre-norm, GELU FFN of 4d, tied embedding, output gate always present,
      // memory unless "apply_re" is false (its attention baseline).
      c.intermediate_size = json_int(j, "intermediate_size", origin).value_or(4 * c.hidden_size);
      c.rms_norm_eps = json_number(j, "rms_norm_eps", origin).value_or(1e-6);
      c.rope = parse_rope(j, origin, 10000.0);
      c.tie_word_embeddings = json_bool(j, "tie_word_embeddings", origin).value_or(true);
      c.norm_placement = NormPlacement::PreNorm;
      c.ffn = FfnKind::GeluErf;
      c.qk_norm = false;
      c.output_gate = true;
      require(!c.attention_bias && !c.mlp_bias, origin, ": ratplus models have no biases");
      break;
  }

  if (c.family == Family::RatPlus) {
    const bool apply_re = json_bool(j, "apply_re", origin).value_or(true);
    c.memory_layers.assign(static_cast<size_t>(std::max<int64_t>(c.num_layers, 0)), apply_re);
    if (ext.contains("memory")) c.memory_layers = parse_memory_layers(ext, c.num_layers, ext_origin);
  } else {
    c.memory_layers = parse_memory_layers(ext, c.num_layers, ext_origin);
    c.output_gate = json_bool(ext, "output_gate", ext_origin).value_or(false);
  }
  c.memory_gate_bias = json_bool(ext, "memory_gate_bias", ext_origin).value_or(false);
  c.memory_max_length = json_number(ext, "memory_max_length", ext_origin).value_or(0.0);
  c.validate(origin);
  return c;
}

void ModelConfig::validate(const std::string& origin) const {
  auto positive = [&](int64_t v, const char* key, int64_t limit) {
    require(v > 0 && v <= limit, origin, ": ", key, " must be in [1, ", limit, "], got ", v);
  };
  positive(vocab_size, "vocab_size", int64_t{1} << 24);
  positive(hidden_size, "hidden_size", int64_t{1} << 16);
  positive(intermediate_size, "intermediate_size", int64_t{1} << 18);
  positive(num_layers, "num_hidden_layers", 4096);
  positive(num_heads, "num_attention_heads", 4096);
  positive(num_kv_heads, "num_key_value_heads", 4096);
  positive(head_dim, "head_dim", 4096);
  positive(max_position_embeddings, "max_position_embeddings", int64_t{1} << 30);
  require(num_heads % num_kv_heads == 0, origin, ": num_attention_heads (", num_heads,
          ") must be a multiple of num_key_value_heads (", num_kv_heads, ")");
  require(head_dim % 2 == 0, origin, ": head_dim must be even for RoPE, got ", head_dim);
  require(std::isfinite(rms_norm_eps) && rms_norm_eps > 0 && rms_norm_eps < 1, origin,
          ": rms_norm_eps must be in (0, 1), got ", rms_norm_eps);
  require(std::isfinite(rope.theta) && rope.theta > 1.0, origin, ": rope_theta must be > 1, got ",
          rope.theta);
  require(memory_max_length == 0 || (std::isfinite(memory_max_length) && memory_max_length > 1), origin,
          ": memory_max_length must be > 1 (the gate's bound is 1 − 1/L; 0 or absent: unbounded), got ",
          memory_max_length);
  require(static_cast<int64_t>(memory_layers.size()) == num_layers, origin, ": memory layer list has ",
          memory_layers.size(), " entries for ", num_layers, " layers");
  if (family == Family::RatPlus)
    require(q_dim() == hidden_size && kv_dim() == hidden_size, origin,
            ": ratplus needs num_attention_heads * head_dim == hidden_size and no GQA (fused in_proj of 5d)");
  // bos/eos ids outside the vocabulary are tolerated (tiny HF test configs keep the defaults of big
  // models); an out-of-vocabulary id is rejected when it is actually fed to the model.
}

ModelConfig ModelConfig::load(const std::string& config_path) {
  return from_json(parse_json(read_text_file(config_path), config_path), config_path);
}

Json ModelConfig::to_json() const {
  Json j;
  j["model_type"] = family_name(family);
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_layers;
  j["num_attention_heads"] = num_heads;
  j["num_key_value_heads"] = num_kv_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope.theta;
  if (rope.type == RopeType::Default) {
    j["rope_scaling"] = nullptr;
  } else {
    Json s{{"rope_type", rope_type_name(rope.type)}, {"factor", rope.factor}};
    if (rope.type == RopeType::Llama3) {
      s["low_freq_factor"] = rope.low_freq_factor;
      s["high_freq_factor"] = rope.high_freq_factor;
      s["original_max_position_embeddings"] = rope.original_max_position;
    }
    j["rope_scaling"] = s;
  }
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (family != Family::RatPlus) {
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
    j["hidden_act"] = "silu";
  } else {
    j["hidden_act"] = "gelu";
  }
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1)
    j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty())
    j["eos_token_id"] = eos_token_ids;

  Json ext = Json::object();
  bool all = true, none = true;
  Json list = Json::array();
  for (size_t i = 0; i < memory_layers.size(); ++i) {
    all = all && memory_layers[i];
    none = none && !memory_layers[i];
    if (memory_layers[i]) list.push_back(i);
  }
  if (family == Family::RatPlus) {
    j["apply_re"] = !none;
    if (!all && !none) ext["memory"] = list;
  } else {
    ext["memory"] = all ? Json(true) : none ? Json(false) : list;
    ext["output_gate"] = output_gate;
  }
  if (memory_gate_bias) ext["memory_gate_bias"] = true;
  if (memory_max_length > 0) ext["memory_max_length"] = memory_max_length;
  if (!ext.empty()) j["ratkv"] = ext;
  return j;
}

}  // namespace ratkv

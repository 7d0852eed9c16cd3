#include "train/model_io.h"

#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/rng.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace ratkv::train {

namespace {

// The engine name a trainer parameter is stored under, and the row offset inside it (RAT+ split gate).
struct Placement {
  std::string file_name;
  int64_t first_row = 0;
};

Placement placement(const std::string& name, int64_t hidden) {
  if (name.ends_with("seq_layer.fgate_proj.weight")) {
    const std::string prefix = name.substr(0, name.size() - std::string("fgate_proj.weight").size());
    return {prefix + "in_proj.weight", 4 * hidden};
  }
  return {name, 0};
}

}  // namespace

void export_model(const TrainModel& model, const std::string& dir, DType dtype,
                  const std::optional<std::string>& tokenizer) {
  const ModelConfig& c = model.config();
  std::filesystem::create_directories(dir);
  std::vector<torch::Tensor> keep_alive;
  std::vector<TensorToWrite> tensors;
  const torch::ScalarType scalar = dtype == DType::BF16  ? torch::kBFloat16
                                   : dtype == DType::F16 ? torch::kHalf
                                                         : torch::kFloat;
  for (const ExpectedTensor& e : expected_tensors(c)) {
    torch::Tensor value;
    if (c.family == Family::RatPlus && e.name.ends_with("seq_layer.in_proj.weight") &&
        e.shape[0] == 5 * c.hidden_size) {
      const std::string gate =
          e.name.substr(0, e.name.size() - std::string("in_proj.weight").size()) + "fgate_proj.weight";
      value = torch::cat({model.param(e.name), model.param(gate)}, 0);
    } else {
      value = model.param(e.name);
    }
    value = value.detach().to(torch::kCPU).to(scalar).contiguous();
    require(std::vector<int64_t>(value.sizes().begin(), value.sizes().end()) == e.shape, "export: tensor \"",
            e.name, "\" has the wrong shape");
    keep_alive.push_back(value);
    tensors.push_back({e.name, dtype, e.shape, value.data_ptr()});
  }
  write_safetensors(dir + "/model.safetensors", tensors);
  write_text_file(dir + "/config.json", c.to_json().dump(2) + "\n");
  if (tokenizer) {
    const std::string name = tokenizer->ends_with(".json") ? "tokenizer.json" : "tokenizer.model";
    std::filesystem::copy_file(*tokenizer, dir + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  }
}

void import_weights(TrainModel& model, const std::string& dir) {
  const ModelDirectory source(dir);
  const ModelConfig& c = model.config();
  const ModelConfig& sc = source.config();
  require(sc.family == c.family && sc.hidden_size == c.hidden_size && sc.num_layers == c.num_layers &&
              sc.vocab_size == c.vocab_size && sc.intermediate_size == c.intermediate_size &&
              sc.num_heads == c.num_heads && sc.num_kv_heads == c.num_kv_heads && sc.head_dim == c.head_dim,
          dir, ": model shape differs from the training config");
  std::set<std::string> used;
  for (auto& p : model.parameters()) {
    // A RAT+ gate comes from rows 4d..5d of a fused in_proj, or from the older split fgate_proj tensor.
    const Placement fused = placement(p.name, c.hidden_size);
    std::string file_name = p.name;
    int64_t first_row = 0;
    if (fused.first_row > 0 && source.find(p.name) == nullptr) {
      const SafetensorsTensor* in_proj = source.find(fused.file_name);
      if (in_proj != nullptr && in_proj->shape[0] >= fused.first_row + p.tensor.size(0)) {
        file_name = fused.file_name;
        first_row = fused.first_row;
      }
    }
    const SafetensorsTensor* t = source.find(file_name);
    if (t == nullptr) {
      // Absent from the source: allowed only for the memory being added to an attention model.
      require(is_memory_parameter(p.name) && !sc.has_memory(), source.path(), ": tensor \"", file_name,
              "\" is missing");
      continue;
    }
    require(t->dtype.has_value(), source.file_of(file_name), ": tensor \"", file_name, "\" has dtype ",
            t->dtype_name, " (F32, BF16 or F16 needed)");
    std::vector<float> values(static_cast<size_t>(t->numel));
    convert_to_f32(t->data, *t->dtype, values.size(), values.data());
    torch::Tensor value = torch::from_blob(values.data(), t->shape, torch::kFloat);
    // A RAT+ in_proj of 5d rows feeds the 4d (o, q, k, v) parameter and the gate apart.
    if (file_name.ends_with("seq_layer.in_proj.weight") && value.size(0) > p.tensor.size(0))
      value = value.narrow(0, first_row, p.tensor.size(0));
    model.set_param(p.name, value);
    used.insert(file_name);
  }
  for (const auto& name : source.tensor_names()) {
    if (used.count(name) || name.ends_with("rotary_emb.inv_freq")) continue;
    if (c.tie_word_embeddings && (name == "lm_head.weight" || name == "head.lm_head.weight")) continue;
    fail(source.file_of(name), ": tensor \"", name,
         "\" has no place in the training model (family or options differ?)");
  }
}

ModelConfig with_memory(const ModelConfig& attention, bool gate_bias) {
  require(!attention.has_memory(), "--add-memory: the --init-from model already has a memory");
  ModelConfig c = attention;
  c.memory_layers.assign(static_cast<size_t>(c.num_layers), true);
  c.memory_gate_bias = gate_bias;
  require(!(c.family == Family::RatPlus && gate_bias),
          "--add-memory: a ratplus model cannot take a gate bias (--memory-init-bias needs llama or olmo2)");
  c.validate("--add-memory");
  return c;
}

void init_inserted_memory(TrainModel& model, float gate_bias, float gate_std, uint64_t seed) {
  Rng rng(seed ^ 0x6D656D6F7279ull);  // "memory": a stream apart from the base model's init
  for (auto& p : model.parameters()) {
    if (!is_memory_parameter(p.name)) continue;
    torch::Tensor cpu = torch::empty(p.tensor.sizes(), torch::kFloat);
    float* data = cpu.data_ptr<float>();
    const bool bias = p.name.ends_with(".bias");
    for (int64_t i = 0; i < cpu.numel(); ++i)
      data[i] = bias ? gate_bias : (gate_std > 0 ? rng.normal() * gate_std : 0.f);
    model.set_param(p.name, cpu);
  }
}

}  // namespace ratkv::train

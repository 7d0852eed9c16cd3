// ratkv inspect: what a model directory holds, as the engine understands it.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"

namespace ratkv::cli {

namespace {
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

int run_inspect(int argc, char** argv) {
  Args args("inspect",
            "Loads and validates a model directory and prints its family, options, sizes and tensors.");
  args.option("-m,--model", "DIR", "model directory")
      .flag("--json", "print the normalized config as JSON only");
  if (!args.parse(argc, argv)) return 0;
  auto model = Model::load(args.str("model"));
  const ModelConfig& c = model->config();
  if (args.enabled("json")) {
    std::printf("%s\n", c.to_json().dump(2).c_str());
    return 0;
  }
  int64_t memory_layers = 0;
  for (bool m : c.memory_layers) memory_layers += m;
  std::printf("model:          %s\n", model->directory().path().c_str());
  std::printf("family:         %s\n", family_name(c.family).c_str());
  std::printf("parameters:     %lld (%.2f M)\n", static_cast<long long>(c.parameter_count()),
              c.parameter_count() / 1e6);
  std::printf("layers:         %lld, hidden %lld, ffn %lld (%s)\n", static_cast<long long>(c.num_layers),
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.intermediate_size),
              c.ffn == FfnKind::SwiGlu ? "SwiGLU" : "GELU");
  std::printf("attention:      %lld heads, %lld kv heads, head dim %lld%s\n",
              static_cast<long long>(c.num_heads), static_cast<long long>(c.num_kv_heads),
              static_cast<long long>(c.head_dim), c.qk_norm ? ", q/k norm" : "");
  std::printf("memory:         %lld of %lld layers%s", static_cast<long long>(memory_layers),
              static_cast<long long>(c.num_layers), c.memory_gate_bias ? " (gate bias)" : "");
  if (c.memory_max_length > 0) std::printf(", length at most %g (gate <= 1 - 1/L)", c.memory_max_length);
  std::printf("\n");
  std::printf("output gate:    %s\n", c.output_gate ? "yes" : "no");
  std::printf("rope:           theta %g%s\n", c.rope.theta,
              c.rope.type == RopeType::Default ? "" : " (scaled)");
  std::printf("context:        %lld positions\n", static_cast<long long>(c.max_position_embeddings));
  std::printf("vocabulary:     %lld%s\n", static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? " (tied head)" : "");
  std::printf("weights dtype:  %s\n", std::string(dtype_name(model->weights().dtype)).c_str());
  const auto tok = model->directory().tokenizer_path();
  std::printf("tokenizer:      %s\n", tok ? tok->c_str() : "(none)");
  std::printf("tensors:\n");
  for (const auto& name : model->directory().tensor_names()) {
    const SafetensorsTensor* t = model->directory().find(name);
    std::printf("  %-56s %-5s %s\n", name.c_str(), t->dtype_name.c_str(), shape_text(t->shape).c_str());
  }
  return 0;
}

}  // namespace ratkv::cli

// ratkv init: a randomly initialized model of any family, for tests, benchmarks and training starts.
#include <cstdio>
#include <filesystem>

#include "base/mapped_file.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "model/random_init.h"

namespace ratkv::cli {

int run_init(int argc, char** argv) {
  Args args(
      "init",
      "Writes config.json and model.safetensors with random weights (N(0, 0.02) matrices, unit norms).");
  args.option("-m,--model", "DIR", "output directory (created)")
      .option("--family", "NAME", "llama, olmo2 or ratplus")
      .option("--layers", "N", "decoder layers")
      .option("--hidden", "N", "hidden size")
      .option("--heads", "N", "attention heads (default: hidden / 64)")
      .option("--kv-heads", "N", "key/value heads (default: heads)")
      .option("--head-dim", "N", "head dimension (default: hidden / heads)")
      .option("--intermediate", "N",
              "FFN width (default: 4 x hidden for ratplus, 8/3 x hidden rounded to 64 otherwise)")
      .option("--vocab", "N", "vocabulary size (or take it from --tokenizer)")
      .option("--tokenizer", "FILE", "tokenizer.json or .model to copy into the model directory")
      .option("--max-pos", "N", "max_position_embeddings", "4096")
      .option("--rope-theta", "X", "RoPE base", "10000")
      .option("--dtype", "TYPE", "weight dtype: bf16, f16, f32", "bf16")
      .option("--std", "X", "standard deviation of the weight matrices", "0.02")
      .option("--seed", "N", "random seed", "0")
      .flag("--memory", "add the RAT+ memory to every layer (default for ratplus)")
      .flag("--no-memory", "no memory (the RAT+ attention baseline)")
      .flag("--output-gate", "add the output gate (always on for ratplus)");
  if (!args.parse(argc, argv)) return 0;

  ModelConfig c;
  const std::string family = args.str("family");
  if (family == "llama")
    c.family = Family::Llama;
  else if (family == "olmo2")
    c.family = Family::Olmo2;
  else if (family == "ratplus")
    c.family = Family::RatPlus;
  else
    fail("--family must be llama, olmo2 or ratplus, got \"", family, "\"");
  require(!(args.enabled("memory") && args.enabled("no-memory")),
          "--memory and --no-memory exclude each other");

  c.num_layers = args.integer("layers", 1, 1024);
  c.hidden_size = args.integer("hidden", 2, 65536);
  c.num_heads = args.has("heads") ? args.integer("heads", 1, 4096) : std::max<int64_t>(1, c.hidden_size / 64);
  c.num_kv_heads = args.has("kv-heads") ? args.integer("kv-heads", 1, 4096) : c.num_heads;
  c.head_dim = args.has("head-dim") ? args.integer("head-dim", 2, 4096) : c.hidden_size / c.num_heads;
  c.max_position_embeddings = args.integer("max-pos", 1, int64_t{1} << 30);
  c.rope.theta = args.number("rope-theta", 1.0, 1e12);

  std::unique_ptr<Tokenizer> tokenizer;
  if (args.has("tokenizer")) {
    tokenizer = Tokenizer::load(args.str("tokenizer"));
    c.vocab_size = tokenizer->vocab_size();
    if (tokenizer->bos_id()) c.bos_token_id = *tokenizer->bos_id();
    if (tokenizer->eos_id()) c.eos_token_ids = {*tokenizer->eos_id()};
    if (args.has("vocab")) c.vocab_size = args.integer("vocab", tokenizer->vocab_size(), int64_t{1} << 24);
  } else {
    c.vocab_size = args.integer("vocab", 1, int64_t{1} << 24);
  }

  const bool memory = c.family == Family::RatPlus ? !args.enabled("no-memory") : args.enabled("memory");
  c.memory_layers.assign(static_cast<size_t>(c.num_layers), memory);
  switch (c.family) {
    case Family::Llama:
    case Family::Olmo2:
      c.intermediate_size = args.has("intermediate") ? args.integer("intermediate", 1, 1 << 20)
                                                     : (c.hidden_size * 8 / 3 + 63) / 64 * 64;
      c.norm_placement =
          c.family == Family::Olmo2 ? NormPlacement::PostNormInResidual : NormPlacement::PreNorm;
      c.qk_norm = c.family == Family::Olmo2;
      c.output_gate = args.enabled("output-gate");
      c.rms_norm_eps = c.family == Family::Olmo2 ? 1e-6 : 1e-5;
      break;
    case Family::RatPlus:
      c.intermediate_size =
          args.has("intermediate") ? args.integer("intermediate", 1, 1 << 20) : 4 * c.hidden_size;
      c.ffn = FfnKind::GeluErf;
      c.output_gate = true;
      c.tie_word_embeddings = true;
      c.rms_norm_eps = 1e-6;
      break;
  }

  RandomInitOptions init;
  require(parse_dtype(args.str("dtype"), &init.dtype), "--dtype must be bf16, f16 or f32");
  init.weight_std = static_cast<float>(args.number("std", 0.0, 10.0));
  init.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  const std::string dir = args.str("model");
  std::filesystem::create_directories(dir);
  write_random_model(dir, c, init);
  if (tokenizer) {
    const std::string src = args.str("tokenizer");
    const std::string name = src.ends_with(".json") ? "tokenizer.json" : "tokenizer.model";
    std::filesystem::copy_file(src, dir + "/" + name, std::filesystem::copy_options::overwrite_existing);
  }
  std::printf("wrote %s: %s, %.2f M parameters\n", dir.c_str(), family_name(c.family).c_str(),
              c.parameter_count() / 1e6);
  return 0;
}

}  // namespace ratkv::cli

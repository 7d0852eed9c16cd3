// ratkv init: a randomly initialized model of any family, for tests, benchmarks and training starts.
#include <cstdio>
#include <filesystem>

#include "base/mapped_file.h"
#include "cli/architecture_flags.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "model/random_init.h"

namespace ratkv::cli {

int run_init(int argc, char** argv) {
  Args args(
      "init",
      "Writes config.json and model.safetensors with random weights (N(0, 0.02) matrices, unit norms).");
  args.option("-m,--model", "DIR", "output directory (created)")
      .option("--tokenizer", "FILE", "tokenizer.json or .model to copy into the model directory")
      .option("--dtype", "TYPE", "weight dtype: bf16, f16, f32", "bf16")
      .option("--std", "X", "standard deviation of the weight matrices", "0.02")
      .option("--seed", "N", "random seed", "0");
  add_architecture_flags(args);
  if (!args.parse(argc, argv)) return 0;

  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<int64_t> vocab, bos, eos;
  if (args.has("tokenizer")) {
    tokenizer = Tokenizer::load(args.str("tokenizer"));
    vocab = tokenizer->vocab_size();
    if (tokenizer->bos_id()) bos = *tokenizer->bos_id();
    if (tokenizer->eos_id()) eos = *tokenizer->eos_id();
  }
  const ModelConfig c = architecture_from_flags(args, vocab, bos, eos);

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

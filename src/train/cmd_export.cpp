// ratkv-train export: a checkpoint → an engine model directory (config.json, model.safetensors,
// tokenizer). Also prints each memory layer's gate summary so a run's memory can be checked offline.
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "cli/args.h"
#include "train/checkpoint.h"
#include "train/commands.h"
#include "train/model_io.h"
#include "train/trainer.h"

namespace ratkv::train {

int run_export(int argc, char** argv) {
  cli::Args args("train export", "Writes a checkpoint as config.json + model.safetensors that ratkv loads.");
  args.option("--checkpoint", "PATH", "checkpoint.pt, or the run directory holding it")
      .option("-o,--out", "DIR", "output model directory (created)")
      .option("--dtype", "TYPE", "weight dtype: bf16, f16 or f32", "bf16")
      .option("--tokenizer", "FILE", "tokenizer to copy (default: the run's --tokenizer, if any)");
  if (!args.parse(argc, argv)) return 0;
  std::string path = args.str("checkpoint");
  if (std::filesystem::is_directory(path)) path = checkpoint_path(path);
  DType dtype;
  require(parse_dtype(args.str("dtype"), &dtype), "--dtype must be bf16, f16 or f32");

  const Checkpoint header = load_checkpoint_header(path);
  TrainModel model(header.config, torch::kCPU, torch::kFloat);
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) names.push_back(p.name);
  const Checkpoint c = load_checkpoint(path, names, {});
  for (const auto& [name, t] : c.params) model.set_param(name, t);

  std::optional<std::string> tokenizer = args.opt("tokenizer");
  if (!tokenizer) {
    const Json options = parse_json(header.options_json, path + " (options)");
    const std::string saved = options.value("tokenizer", "");
    if (!saved.empty()) {
      require(std::filesystem::exists(saved), path, ": the run's tokenizer ", saved,
              " no longer exists; pass --tokenizer");
      tokenizer = saved;
    }
  }
  const std::string out = args.str("out");
  export_model(model, out, dtype, tokenizer);
  std::printf("wrote %s: %s, %.2f M parameters, step %lld%s\n", out.c_str(),
              family_name(header.config.family).c_str(), model.parameter_count() / 1e6,
              static_cast<long long>(header.next_step),
              tokenizer ? (", tokenizer " + *tokenizer).c_str() : ", no tokenizer");
  return 0;
}

}  // namespace ratkv::train

#include "cli/common.h"

#include <omp.h>

#include "base/error.h"

namespace ratkv::cli {

void add_model_flags(Args& args) {
  args.option("-m,--model", "DIR", "model directory (config.json + model.safetensors)")
      .option("-t,--threads", "N", "threads (results do not depend on it)")
      .option("--kv-dtype", "TYPE", "KV cache element type: bf16, f16, f32", "bf16")
      .option("--page-size", "N", "tokens per KV cache page", "16")
      .option("-c,--ctx-size", "N", "context limit in tokens (default: the model's max_position_embeddings)")
      .option("--memory-state", "TYPE",
              "dtype of the memory state kept between calls: f32, or bf16 as the RAT+ reference decodes", "f32")
      .option("--tokenizer", "FILE", "tokenizer.json or SentencePiece .model (default: the model directory's)");
}

void add_prompt_flags(Args& args) {
  args.option("-p,--prompt", "TEXT", "prompt text (needs a tokenizer)")
      .option("--ids", "LIST", "prompt as comma-separated token ids, e.g. 1,2,3")
      .flag("--no-special", "do not add the tokenizer's special tokens (e.g. BOS) to -p");
}

int apply_threads(const Args& args) {
  int threads = omp_get_num_procs();
  if (args.has("threads")) threads = static_cast<int>(args.integer("threads", 1, 1024));
  omp_set_num_threads(threads);
  return threads;
}

namespace {
DType parse_dtype_flag(const Args& args, const std::string& flag) {
  DType t;
  const std::string v = args.str(flag);
  require(parse_dtype(v, &t), "--", flag, " must be bf16, f16 or f32, got \"", v, "\"");
  return t;
}
}  // namespace

InferenceOptions inference_options(const Args& args) {
  InferenceOptions o;
  o.kv_dtype = parse_dtype_flag(args, "kv-dtype");
  o.memory_state_dtype = parse_dtype_flag(args, "memory-state");
  o.page_size = args.integer("page-size", 1, 1 << 20);
  if (args.has("ctx-size")) o.max_context = args.integer("ctx-size", 1, int64_t{1} << 31);
  return o;
}

std::unique_ptr<Tokenizer> load_tokenizer(const Args& args, const Model& model) {
  if (auto path = args.opt("tokenizer")) return Tokenizer::load(*path);
  if (auto path = model.directory().tokenizer_path()) return Tokenizer::load(*path);
  return nullptr;
}

std::vector<int32_t> prompt_ids(const Args& args, const Model& model, const Tokenizer* tokenizer) {
  const bool has_text = args.has("prompt"), has_ids = args.has("ids");
  require(has_text != has_ids, "give the prompt as exactly one of -p TEXT or --ids LIST");
  std::vector<int32_t> ids;
  if (has_ids) {
    for (int64_t id : parse_int_list(args.str("ids"), "--ids")) {
      require(id >= 0 && id < model.config().vocab_size, "--ids: token id ", id, " is outside the vocabulary [0, ",
              model.config().vocab_size, ")");
      ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
  }
  require(tokenizer != nullptr, "-p needs a tokenizer: the model directory has no tokenizer.json or tokenizer.model;"
          " pass --tokenizer FILE or give --ids");
  // RAT+ is trained and evaluated without BOS (formats.md §3.8).
  const bool add_special = !args.enabled("no-special") && model.config().family != Family::RatPlus;
  ids = tokenizer->encode(args.str("prompt"), add_special);
  require(!ids.empty(), "the prompt is empty after tokenization");
  for (int32_t id : ids)
    require(id < model.config().vocab_size, "the tokenizer produced id ", id, ", outside the model's vocabulary of ",
            model.config().vocab_size, " (wrong tokenizer for this model?)");
  return ids;
}

}  // namespace ratkv::cli

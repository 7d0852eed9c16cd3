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
              "dtype of the memory state kept between calls: f32, or bf16 as the RAT+ reference decodes",
              "f32")
      .option("--tokenizer", "FILE",
              "tokenizer.json or SentencePiece .model (default: the model directory's)")
      .option("--matmul", "PRECISION",
              "prefill products (projections and prompt attention): f32 (exact), or bf16 (their "
              "activations rounded to bf16; about twice the rate on CPUs with AVX512_BF16)",
              "f32")
      .flag("--no-mmap",
            "copy the weights into huge-page memory instead of reading them in place from the file "
            "(faster decode, a private copy in RAM)");
}

std::unique_ptr<Model> load_model(const Args& args) {
  LoadOptions options;
  options.mmap = !args.has("no-mmap");
  return Model::load(args.str("model"), options);
}

void add_prompt_flags(Args& args) {
  args.option("-p,--prompt", "TEXT", "prompt text (needs a tokenizer)")
      .option("--ids", "LIST", "prompt as comma-separated token ids, e.g. 1,2,3")
      .flag("--no-special", "do not add the tokenizer's special tokens (e.g. BOS) to -p");
}

void add_sparse_flags(Args& args) {
  args.option("--sparse", "METHOD",
              "sparse attention: dense, streaming, dilated, quest, moba, snapkv, oracle, random", "dense")
      .option("--sparse-preset", "NAME",
              "defaults of every sparse setting: seed (the seed paper: page/block 64, all layers sparse, "
              "first and "
              "local block kept, MoBA at prefill, SnapKV window 64) or original (each method's own paper)",
              "seed")
      .option("--budget", "N|A/B",
              "tokens each query attends to (forced ones included), or a fraction of the visible "
              "tokens",
              "1/16")
      .option("--dense-layers", "LIST", "layers kept dense, e.g. 0,1 (default: preset; none for seed)")
      .flag("--per-head-select", "one selection per query head (as the references) instead of per KV head")
      .option("--first-blocks", "N", "quest/moba/random/oracle: first pages (blocks) always kept (seed 1)")
      .option("--local-blocks", "N", "quest/moba/random/oracle: most recent pages (blocks) always kept (1)")
      .option("--initial", "N", "streaming/dilated: initial (sink) tokens P", "4")
      .option("--local", "N",
              "streaming: recent tokens W (default budget - P); dilated: window t - j <= W (default 0)")
      .option("--dilation", "D", "dilated: keep positions with (j + 1) mod D = 0", "16")
      .option("--moba-block", "N",
              "moba: block size in tokens, a multiple of --page-size (default: the page size)")
      .flag("--moba-decode", "moba: select at decode too (default: prefill only, dense decode)")
      .option("--snap-window", "W", "snapkv: observation window (seed 64, original 32)")
      .option("--snap-kernel", "K", "snapkv: pooling kernel, odd", "7")
      .option("--snap-pool", "KIND", "snapkv: max or avg", "max")
      .flag("--oracle-pages", "oracle: select whole pages by their best token instead of single tokens")
      .option("--random-scores", "SEED",
              "quest/moba/snapkv: replace scores by seeded uniform draws (H2 ablation)")
      .option("--sparse-seed", "N", "random: seed of the page draws", "0");
}

SparseConfig sparse_config(const Args& args) {
  static const char* kMethodFlags[] = {
      "sparse-preset", "budget",    "dense-layers", "per-head-select", "first-blocks", "local-blocks",
      "initial",       "local",     "dilation",     "moba-block",      "moba-decode",  "snap-window",
      "snap-kernel",   "snap-pool", "oracle-pages", "random-scores",   "sparse-seed"};
  if (!args.has("sparse")) {
    for (const char* f : kMethodFlags) require(!args.has(f), "--", f, " needs --sparse METHOD");
    return {};
  }
  SparseMethod method;
  const std::string name = args.str("sparse");
  require(parse_sparse_method(name, &method),
          "--sparse must be dense, streaming, dilated, quest, moba, snapkv, oracle or random, got \"", name,
          "\"");
  SparsePreset preset = SparsePreset::Seed;
  if (args.has("sparse-preset"))
    require(parse_sparse_preset(args.str("sparse-preset"), &preset),
            "--sparse-preset must be seed or original, got \"", args.str("sparse-preset"), "\"");
  SparseConfig c = preset_config(preset, method);
  using M = SparseMethod;
  // Each flag names the methods it applies to; any other combination is rejected.
  auto only = [&](const char* flag, std::initializer_list<M> methods) {
    if (!args.has(flag)) return false;
    bool ok = false;
    for (M m : methods) ok = ok || m == method;
    require(ok, "--", flag, " does not apply to --sparse ", name);
    return true;
  };
  const auto all_sparse = {M::Streaming, M::Dilated, M::Quest, M::Moba, M::SnapKV, M::Oracle, M::Random};
  const auto blocks = {M::Quest, M::Moba, M::Random, M::Oracle};
  only("sparse-preset", all_sparse);
  if (only("budget", {M::Streaming, M::Quest, M::Moba, M::SnapKV, M::Oracle, M::Random}))
    c.budget = SparseBudget::parse(args.str("budget"));
  if (only("dense-layers", all_sparse)) {
    c.dense_layers.clear();
    if (args.str("dense-layers") != "none")
      c.dense_layers = parse_int_list(args.str("dense-layers"), "--dense-layers");
  }
  if (only("per-head-select", {M::Quest, M::Moba, M::SnapKV, M::Oracle, M::Random})) c.per_query_head = true;
  if (only("first-blocks", blocks)) c.first_units = args.integer("first-blocks", 0, 1 << 20);
  if (only("local-blocks", blocks)) c.local_units = args.integer("local-blocks", 0, 1 << 20);
  if (only("initial", {M::Streaming, M::Dilated}))
    c.initial_tokens = args.integer("initial", 0, int64_t{1} << 40);
  if (only("local", {M::Streaming, M::Dilated})) c.local_tokens = args.integer("local", 0, int64_t{1} << 40);
  if (only("dilation", {M::Dilated})) c.dilation = args.integer("dilation", 1, int64_t{1} << 40);
  if (only("moba-block", {M::Moba})) c.moba_block = args.integer("moba-block", 1, int64_t{1} << 30);
  if (only("moba-decode", {M::Moba})) c.moba_decode = true;
  if (only("snap-window", {M::SnapKV})) c.snap_window = args.integer("snap-window", 1, int64_t{1} << 30);
  if (only("snap-kernel", {M::SnapKV})) c.snap_kernel = args.integer("snap-kernel", 1, 1 << 20);
  if (only("snap-pool", {M::SnapKV})) {
    const std::string pool = args.str("snap-pool");
    require(pool == "max" || pool == "avg", "--snap-pool must be max or avg, got \"", pool, "\"");
    c.snap_pool = pool == "max" ? SnapPool::Max : SnapPool::Avg;
  }
  if (only("oracle-pages", {M::Oracle})) c.oracle_pages = true;
  if (only("random-scores", {M::Quest, M::Moba, M::SnapKV})) {
    c.random_scores = true;
    c.random_seed = static_cast<uint64_t>(args.integer("random-scores", 0, INT64_MAX));
  }
  if (only("sparse-seed", {M::Random}))
    c.random_seed = static_cast<uint64_t>(args.integer("sparse-seed", 0, INT64_MAX));
  if (method == M::Dilated && !args.has("local")) c.local_tokens = 0;
  return c;
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

MatmulPrecision matmul_precision(const Args& args) {
  const std::string v = args.str("matmul");
  require(v == "f32" || v == "bf16", "--matmul must be f32 or bf16, got \"", v, "\"");
  return v == "f32" ? MatmulPrecision::F32 : MatmulPrecision::BF16;
}

InferenceOptions inference_options(const Args& args) {
  InferenceOptions o;
  o.kv_dtype = parse_dtype_flag(args, "kv-dtype");
  o.memory_state_dtype = parse_dtype_flag(args, "memory-state");
  o.page_size = args.integer("page-size", 1, 1 << 20);
  o.matmul_precision = matmul_precision(args);
  o.sparse = sparse_config(args);
  if (o.sparse.sparse() && !args.has("page-size")) {
    SparsePreset preset = SparsePreset::Seed;
    if (args.has("sparse-preset")) parse_sparse_preset(args.str("sparse-preset"), &preset);
    o.page_size = preset_page_size(preset, o.sparse.method);
  }
  if (o.sparse.sparse()) validate_sparse_config(o.sparse, o.page_size, INT64_MAX);
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
      require(id >= 0 && id < model.config().vocab_size, "--ids: token id ", id,
              " is outside the vocabulary [0, ", model.config().vocab_size, ")");
      ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
  }
  require(tokenizer != nullptr,
          "-p needs a tokenizer: the model directory has no tokenizer.json or tokenizer.model;"
          " pass --tokenizer FILE or give --ids");
  // RAT+ is trained and evaluated without BOS (formats.md §3.8).
  const bool add_special = !args.enabled("no-special") && model.config().family != Family::RatPlus;
  ids = tokenizer->encode(args.str("prompt"), add_special);
  require(!ids.empty(), "the prompt is empty after tokenization");
  for (int32_t id : ids)
    require(id < model.config().vocab_size, "the tokenizer produced id ", id,
            ", outside the model's vocabulary of ", model.config().vocab_size,
            " (wrong tokenizer for this model?)");
  return ids;
}

}  // namespace ratkv::cli

// ratkv generate: prompt in, continuation out (text when the model has a tokenizer, else token ids).
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "generate/generate.h"
#include "sparse/sparse_stats.h"

namespace ratkv::cli {

int run_generate(int argc, char** argv) {
  Args args("generate", "Generates a continuation of a prompt: greedy by default, or sampled with a seed.");
  add_model_flags(args);
  add_sparse_flags(args);
  add_prompt_flags(args);
  args.option("-n,--n-predict", "N", "tokens to generate at most", "32")
      .option("--temp", "T", "sampling temperature; 0 is greedy", "0")
      .option("--top-k", "K", "sample among the K most likely tokens; 0 is no limit", "0")
      .option("--top-p", "P", "sample from the smallest set of tokens whose probability reaches P", "1")
      .option("--seed", "N", "sampling seed", "0")
      .flag("--ignore-eos", "do not stop at the end-of-sequence token")
      .flag("--print-ids", "print token ids even when a tokenizer is available")
      .flag("--stats", "print prefill and decode speed to stderr")
      .option("--sparse-stats", "FILE", "write per-step, per-layer, per-head selection diagnostics as JSONL")
      .option("--gold-positions", "LIST",
              "with --sparse-stats: gold position per decode step (-1: none), for the strict per-head hit");
  if (!args.parse(argc, argv)) return 0;
  apply_threads(args);
  auto model = load_model(args);
  auto tokenizer = load_tokenizer(args, *model);
  const auto ids = prompt_ids(args, *model, tokenizer.get());

  GenerateOptions options;
  options.max_new_tokens = args.integer("n-predict", 1, int64_t{1} << 30);
  options.sampling.temperature = static_cast<float>(args.number("temp", 0.0, 1e6));
  options.sampling.top_k = args.integer("top-k", 0, int64_t{1} << 30);
  options.sampling.top_p = static_cast<float>(args.number("top-p", 1e-9, 1.0));
  options.sampling.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  if (!args.enabled("ignore-eos")) {
    options.stop_ids = model->config().eos_token_ids;
    if (tokenizer && tokenizer->eos_id() &&
        std::find(options.stop_ids.begin(), options.stop_ids.end(), *tokenizer->eos_id()) ==
            options.stop_ids.end())
      options.stop_ids.push_back(*tokenizer->eos_id());
  }

  InferenceContext ctx(*model, inference_options(args));
  require(!args.has("gold-positions") || args.has("sparse-stats"),
          "--gold-positions needs --sparse-stats FILE");
  std::unique_ptr<SparseStats> sparse_stats;
  if (args.has("sparse-stats")) {
    sparse_stats = std::make_unique<SparseStats>(model->config().num_layers, model->config().num_heads);
    sparse_stats->open_jsonl(args.str("sparse-stats"));
    std::vector<int64_t> gold;
    if (args.has("gold-positions")) gold = parse_int_list(args.str("gold-positions"), "--gold-positions");
    sparse_stats->begin_sample(gold);
    ctx.set_sparse_stats(sparse_stats.get());
  }
  const bool as_text = tokenizer && !args.enabled("print-ids");
  std::vector<int32_t> produced;
  std::string printed;
  bool first = true;
  auto on_token = [&](int32_t token) {
    if (!as_text) {
      std::printf(first ? "%d" : ",%d", token);
      first = false;
    } else {
      // Decode the whole continuation and print what is new: tokens that split a UTF-8 character or
      // merge with their neighbours print correctly once complete.
      produced.push_back(token);
      const std::string text = tokenizer->decode(produced, /*skip_special=*/true);
      if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
        std::fputs(text.c_str() + printed.size(), stdout);
        printed = text;
      }
    }
    std::fflush(stdout);
  };
  const GenerateResult result = generate(ctx, ids, options, on_token);
  std::fputc('\n', stdout);
  if (sparse_stats) {
    sparse_stats->end_sample();
    ctx.set_sparse_stats(nullptr);
    double mass = 0.0, overlap = 0.0;
    int64_t heads = 0;
    for (int64_t l = 0; l < model->config().num_layers; ++l)
      for (int64_t h = 0; h < model->config().num_heads; ++h, ++heads) {
        mass += sparse_stats->head(l, h).mean_mass();
        overlap += sparse_stats->head(l, h).mean_oracle_overlap();
      }
    std::fprintf(stderr,
                 "sparse stats: %lld decode steps, mean captured mass %.4f, mean oracle overlap %.4f -> %s\n",
                 static_cast<long long>(sparse_stats->steps()), mass / heads, overlap / heads,
                 args.str("sparse-stats").c_str());
    sparse_stats->close();
  }
  if (args.enabled("stats")) {
    const double decode_tokens = static_cast<double>(std::max<size_t>(result.tokens.size(), 1) - 1);
    std::fprintf(stderr,
                 "prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens, %.1f tok/s; stop: %s\n",
                 ids.size(), result.prefill_seconds, ids.size() / std::max(result.prefill_seconds, 1e-9),
                 result.tokens.size(), decode_tokens / std::max(result.decode_seconds, 1e-9),
                 result.stop_reason.c_str());
  }
  return 0;
}

}  // namespace ratkv::cli

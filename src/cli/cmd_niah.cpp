// ratkv niah: the RULER needle-in-a-haystack benchmark — prompt generation (evaluation and train splits),
// the models × methods × budgets × tasks grid with resume and shards, and the split-disjointness check.
// docs/niah.md describes every flag and preset.
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "eval/results.h"
#include "eval/runner.h"
#include "niah/default_sources.h"
#include "niah/ruler_jsonl.h"
#include "niah/train_split.h"

namespace ratkv::cli {

namespace {

std::vector<eval::ModelRef> parse_models(const std::string& list) {
  std::vector<eval::ModelRef> out;
  for (const auto& item : eval::split_list(list)) {
    const size_t eq = item.find('=');
    eval::ModelRef m;
    m.path = eq == std::string::npos ? item : item.substr(eq + 1);
    m.name = eq == std::string::npos ? std::filesystem::path(m.path).filename().string() : item.substr(0, eq);
    if (m.name.empty()) m.name = std::filesystem::path(m.path).parent_path().filename().string();
    for (const auto& seen : out)
      require(seen.name != m.name, "--models: two models named \"", m.name, "\" (use NAME=DIR)");
    out.push_back(m);
  }
  require(!out.empty(), "--models: no model given");
  return out;
}

std::vector<niah::NiahSample> read_split(const std::string& dir) {
  std::vector<niah::NiahSample> all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".jsonl" &&
        e.path().filename().string().rfind("results", 0) != 0) {
      auto part = niah::read_samples(e.path().string());
      all.insert(all.end(), part.begin(), part.end());
    }
  require(!all.empty(), dir, ": no NIAH .jsonl files");
  return all;
}

}  // namespace

int run_niah(int argc, char** argv) {
  Args args(
      "niah",
      "RULER needle-in-a-haystack: generate prompts, run a models x methods x budgets grid, check splits.");
  args.option("--models", "LIST", "models, DIR or NAME=DIR, comma-separated")
      .option("--sparse", "LIST",
              "methods: dense, quest, moba, snapkv, oracle, random, with :b=N :w=N :random :seed=N", "dense")
      .option("--budgets", "LIST", "budgets of the sparse methods (1/4 or tokens)", "1/4,1/8,1/16")
      .option("--tasks", "LIST", "tasks, or all", "all")
      .option("--lengths", "LIST", "target lengths in the model's tokens", "4096")
      .option("--samples", "N", "samples per task and length")
      .option("--preset", "NAME", "seed (the seed paper's grid), h1, h2 or smoke; explicit flags override")
      .option("--out", "DIR", "output directory (results, prompts, report)")
      .option("--shard", "I/N", "run only shard I of N (then --merge)", "0/1")
      .flag("--merge", "merge the shard result files of --out into results.jsonl and exit")
      .option("--seed", "N", "generator seed (default 42 for eval, 20240917 for train)")
      .option("--tokens-to-generate", "N", "tokens reserved and generated per answer", "128")
      .option("--chat-template", "NAME", "RULER chat template", "base")
      .option("--haystack", "PATH",
              "essay text: file, directory or *sources.txt list (default: data/essay_sources.txt's files)")
      .option("--words", "DIR", "adjectives.txt and nouns.txt for word keys (default: WordNet)")
      .option("--data", "DIR", "run RULER-format files DIR/<task>/validation.jsonl instead of generating")
      .flag("--generate-only", "write the prompts (RULER JSONL under --out/data) and stop")
      .option("--split", "NAME", "eval or train", "eval")
      .option("--exclude", "DIR",
              "train split: evaluation JSONL files whose keys and values must not be drawn")
      .option("--check-disjoint", "EVAL,TRAIN", "check that no evaluation needle appears in the train split")
      .flag("--diagnostics", "record selection diagnostics (gold hits, captured mass)")
      .flag("--bos", "prepend BOS to prompts (RULER and the seed paper do not)")
      .flag("--no-progress", "no progress bar")
      .option("--matmul", "PRECISION",
              "prefill products (projections and prompt attention): f32 (exact), or bf16 (their activations "
              "rounded to bf16, about twice the rate on CPUs with AVX512_BF16; recorded in every row)",
              "f32")
      .flag("--no-share-prefill", "every arm runs its own prefill (same results; for checks and timing)")
      .flag(
          "--no-mmap",
          "copy each model's weights into huge-page memory instead of reading them in place (faster decode, "
          "a private copy in RAM; same results)")
      .option("-t,--threads", "N", "threads");
  if (!args.parse(argc, argv)) return 0;

  if (args.has("check-disjoint")) {
    const auto dirs = eval::split_list(args.str("check-disjoint"));
    require(dirs.size() == 2, "--check-disjoint: expected EVAL_DIR,TRAIN_DIR");
    const auto r = niah::check_disjoint(read_split(dirs[0]), read_split(dirs[1]));
    std::printf("eval needles %lld, train samples %lld: shared sentences %lld, keys %lld, values %lld\n",
                (long long)r.eval_needles, (long long)r.train_samples, (long long)r.shared_sentences,
                (long long)r.shared_keys, (long long)r.shared_values);
    for (const auto& e : r.examples) std::printf("  shared: %s\n", e.c_str());
    return r.ok() ? 0 : 1;
  }
  require(args.has("out"), "--out DIR is required");
  const std::string out = args.str("out");
  if (args.enabled("merge")) {
    std::printf("merged %lld rows into %s/results.jsonl\n", (long long)eval::merge_results(out), out.c_str());
    return 0;
  }
  apply_threads(args);
  eval::RunOptions o;
  if (args.has("preset"))
    o.grid = eval::preset_grid(args.str("preset"));
  else
    o.grid.tasks = niah::niah_tasks();
  if (!args.has("preset") || args.has("sparse"))
    o.grid.arms =
        eval::make_arms(eval::split_list(args.str("sparse")), eval::split_list(args.str("budgets")));
  if (args.has("tasks")) o.grid.tasks = niah::parse_tasks(args.str("tasks"));
  o.grid.lengths = parse_int_list(args.str("lengths"), "--lengths");
  if (args.has("samples")) o.grid.samples = args.integer("samples", 1, 1000000);
  o.grid.diagnostics = o.grid.diagnostics || args.enabled("diagnostics");
  require(args.has("models"), "--models is required");
  o.grid.models = parse_models(args.str("models"));
  o.out_dir = out;
  o.shard = eval::Shard::parse(args.str("shard"));
  o.data_dir = args.opt("data").value_or("");
  o.progress = !args.enabled("no-progress");
  const niah::Split split = niah::parse_split(args.str("split"));
  o.generator.seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX))
                                      : niah::default_seed(split);
  o.generator.tokens_to_generate = args.integer("tokens-to-generate", 1, 1 << 20);
  o.generator.chat_template = args.str("chat-template");

  niah::EssayCorpus essay;
  niah::KeyWords words;
  bool need_essay = false, need_words = false;
  for (const auto& t : o.grid.tasks) {
    need_essay = need_essay || t.haystack == niah::HaystackKind::Essay;
    need_words = need_words || t.key == niah::NeedleKind::Words || t.value == niah::NeedleKind::Words;
  }
  if (o.data_dir.empty()) {
    if (need_essay)
      essay = niah::EssayCorpus::from_files(niah::haystack_files(args.opt("haystack").value_or(""), split));
    if (need_words) words = niah::KeyWords::load(args.opt("words").value_or(""));
  }
  eval::EngineOptions engine;
  engine.add_bos = args.enabled("bos");
  engine.share_prefill = !args.enabled("no-share-prefill");
  engine.matmul = matmul_precision(args);
  engine.mmap = !args.enabled("no-mmap");
  o.matmul = matmul_precision_name(engine.matmul);
  std::unordered_set<std::string> excluded;
  if (split == niah::Split::Train) {
    require(args.has("exclude"),
            "--split train needs --exclude EVAL_DIR (the evaluation prompts to keep apart)");
    excluded = niah::needle_keys_and_values(read_split(args.str("exclude")));
  }
  require(!args.enabled("generate-only") || o.data_dir.empty(),
          "--generate-only and --data exclude each other");
  if (args.enabled("generate-only") || split == niah::Split::Train) {
    // Prompts only: RULER JSONL under <out>/data/<model>/<length>/<task>/validation.jsonl (or train.jsonl).
    for (const auto& model : o.grid.models) {
      auto session = eval::open_engine_session(model, engine);
      for (int64_t length : o.grid.lengths)
        for (const auto& task : o.grid.tasks) {
          niah::GeneratorOptions g = o.generator;
          g.max_seq_length = length;
          niah::NiahGenerator gen(task, g,
                                  {need_essay ? &essay : nullptr, need_words ? &words : nullptr, &excluded},
                                  [&session](std::string_view t) { return session->encode(t); });
          std::vector<niah::NiahSample> samples;
          for (int64_t i = 0; i < o.grid.samples; ++i)
            if (o.shard.owns(i)) samples.push_back(gen.generate(i));
          const std::string dir = cat(out, "/data/", model.name, "/", length);
          const std::string path =
              niah::task_file(dir, task.name, split == niah::Split::Train ? "train" : "validation");
          niah::write_samples(path, samples);
          std::fprintf(stderr, "wrote %zu samples to %s\n", samples.size(), path.c_str());
        }
    }
    return 0;
  }
  const auto summary = eval::run_grid(
      o, [&engine](const eval::ModelRef& m) { return eval::open_engine_session(m, engine); },
      need_essay ? &essay : nullptr, need_words ? &words : nullptr);
  std::printf("cells: %lld in this shard, %lld already done, %lld run in %.1f s -> %s\n",
              (long long)summary.cells_total, (long long)summary.cells_skipped, (long long)summary.cells_run,
              summary.seconds, out.c_str());
  return 0;
}

}  // namespace ratkv::cli

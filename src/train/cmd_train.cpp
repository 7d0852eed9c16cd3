// ratkv-train pretrain | sft: builds TrainOptions and the model config from flags, then trains.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "cli/architecture_flags.h"
#include "cli/args.h"
#include "train/commands.h"
#include "train/distributed.h"
#include "train/sft_tokens.h"
#include "train/token_shards.h"
#include "train/trainer.h"

namespace ratkv::train {

namespace {

void declare_model_flags(cli::Args& args) {
  args.option("--config", "FILE", "model config.json (the engine's schema, docs/formats.md)")
      .option("--init-from", "DIR",
              "start from this exported/engine model directory (continued pretraining, SFT)")
      .option("--eos-id", "N", "EOS id written to the config (default: the data's)");
  // The architecture, as for `ratkv init` (--family, --layers, --hidden, ...).
  cli::add_architecture_flags(args);
}

ModelConfig config_from_flags(const cli::Args& args, const std::optional<int32_t>& tokenizer_vocab,
                              const std::optional<int32_t>& tokenizer_eos) {
  std::optional<int64_t> eos = tokenizer_eos;
  if (args.has("eos-id")) eos = args.integer("eos-id", 0, (int64_t{1} << 24) - 1);
  ModelConfig c = cli::architecture_from_flags(args, tokenizer_vocab, std::nullopt, eos);
  if (eos) require(*eos < c.vocab_size, "--eos-id ", *eos, " is outside the vocabulary of ", c.vocab_size);
  return c;
}

// The command line without "--nproc N" / "--nproc=N", for the ranks the launcher starts.
std::vector<std::string> argv_without_nproc(int argc, char** argv, const char* mode) {
  std::vector<std::string> out{"ratkv-train", mode};
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

}  // namespace

int run_train_command(int argc, char** argv, const char* mode) {
  const bool sft = std::string(mode) == "sft";
  cli::Args args(std::string("train ") + mode,
                 sft ? "Supervised fine-tuning on tokenized examples; the loss is on the answer tokens only."
                     : "Pretraining (from scratch or continued) on binary token shards.");
  args.option("--data", "PATH",
              sft ? "SFT token file (ratkv-train-data sft-tokens)"
                  : "token shard file or directory of *.tok shards")
      .option("--tokenizer", "FILE", "the tokenizer of the data, copied into exported models")
      .option("--run-dir", "DIR",
              "checkpoint.pt and metrics.jsonl go here; an existing checkpoint is resumed")
      .option("--device", "DEV", "cpu or cuda", "cpu")
      .option("--nproc", "N", "data-parallel ranks on this machine (one per GPU); or set RANK/WORLD_SIZE",
              "1")
      .option("--seq-len", "N", "tokens per row", sft ? "4096" : "1024")
      .option("--batch", "N", "global batch in rows per step (all ranks)", "8")
      .option("--micro-batch", "N", "rows per forward on each rank (gradient accumulation); 0 = all", "0")
      .option("--steps", "N", "optimizer steps (batches) of the whole run")
      .option("--warmup", "N", "linear warmup steps", "0")
      .option("--lr", "X", "peak learning rate", sft ? "1e-5" : "6e-4")
      .option("--min-lr", "X", "cosine floor", "0")
      .option("--memory-lr-mult", "X", "learning rate factor for the memory (fgate_proj) parameters", "1")
      .option("--weight-decay", "X", "AdamW weight decay on matrices", sft ? "0.01" : "0.1")
      .option("--beta1", "X", "AdamW beta1", "0.9")
      .option("--beta2", "X", "AdamW beta2", "0.95")
      .option("--clip", "X", "gradient norm clip (0 = off)", "1.0")
      .option("--joint-dilated", "D",
              "RAT+ active recurrence learning: a dilated-D update then a dense one per batch", "0")
      .option("--seed", "N", "seed of the init and the data order", "0")
      .option("--precision", "P", "auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32", "auto")
      .option("--init-std", "X", "std of random matrices", "0.02")
      .flag("--add-memory", "insert a memory in every layer of the --init-from attention model")
      .option("--memory-init-bias", "B", "inserted gate: W_g = 0, bias B, so g = sigmoid(B) (llama/olmo2)",
              "-6")
      .option("--memory-init-std", "X", "inserted gate: W_g ~ N(0, X^2) instead of 0", "0")
      .option("--checkpoint-every", "N", "also checkpoint every N steps", "0")
      .option("--checkpoint-minutes", "M", "checkpoint at least every M minutes", "10")
      .option("--max-minutes", "M", "stop with a checkpoint after M minutes (resume with the same command)",
              "0")
      .option("--stop-at", "N", "stop with a checkpoint once N steps are done", "-1")
      .option("--log-every", "N", "metrics line every N steps", "10")
      .flag("--quiet", "no progress output");
  declare_model_flags(args);
  if (!args.parse(argc, argv)) return 0;

  const int nproc = static_cast<int>(args.integer("nproc", 1, 64));
  if (nproc > 1 && std::getenv("WORLD_SIZE") == nullptr)
    return launch_local_ranks(nproc, argv_without_nproc(argc, argv, mode));

  TrainOptions o;
  o.mode = mode;
  o.data = args.str("data");
  o.tokenizer = args.opt("tokenizer").value_or("");
  o.run_dir = args.str("run-dir");
  o.device = args.str("device");
  o.seq_len = args.integer("seq-len", 1, 1 << 20);
  o.batch = args.integer("batch", 1, 1 << 20);
  o.micro_batch = args.integer("micro-batch", 0, 1 << 20);
  o.steps = args.integer("steps", 1, int64_t{1} << 40);
  o.warmup = args.integer("warmup", 0, o.steps);
  o.lr = args.number("lr", 0, 10);
  o.min_lr = args.number("min-lr", 0, 10);
  o.adam.memory_lr_multiplier = args.number("memory-lr-mult", 0, 1e4);
  o.adam.weight_decay = args.number("weight-decay", 0, 10);
  o.adam.beta1 = args.number("beta1", 0, 0.999999);
  o.adam.beta2 = args.number("beta2", 0, 0.999999);
  o.clip = args.number("clip", 0, 1e9);
  o.joint_dilation = args.integer("joint-dilated", 0, 1 << 20);
  o.seed = static_cast<uint64_t>(args.integer("seed", 0, INT64_MAX));
  o.precision = args.str("precision");
  o.init_std = static_cast<float>(args.number("init-std", 0, 10));
  o.add_memory = args.enabled("add-memory");
  o.memory_init_bias = static_cast<float>(args.number("memory-init-bias", -100, 100));
  o.memory_init_std = static_cast<float>(args.number("memory-init-std", 0, 10));
  o.checkpoint_every = args.integer("checkpoint-every", 0, int64_t{1} << 40);
  o.checkpoint_minutes = args.number("checkpoint-minutes", 0, 1e6);
  o.max_minutes = args.number("max-minutes", 0, 1e6);
  o.stop_at = args.integer("stop-at", -1, int64_t{1} << 40);
  o.log_every = args.integer("log-every", 1, int64_t{1} << 40);
  o.quiet = args.enabled("quiet");
  o.init_from = args.opt("init-from").value_or("");
  require(!(sft && o.joint_dilation), "--joint-dilated is a pretraining option");

  // The model config: the checkpoint's when resuming (train() reads it), else --init-from's, --config or
  // flags.
  ModelConfig config;
  const bool resuming = std::filesystem::exists(checkpoint_path(o.run_dir));
  const int sources =
      (args.has("config") ? 1 : 0) + (o.init_from.empty() ? 0 : 1) + (args.has("family") ? 1 : 0);
  require(sources <= 1, "give only one of --config, --init-from and --family");
  if (!o.init_from.empty()) {
    config = ModelConfig::load(o.init_from + "/config.json");
  } else if (args.has("config")) {
    config = ModelConfig::load(args.str("config"));
  } else if (args.has("family")) {
    // Vocabulary and EOS default to the data's (the shard or SFT file header records the tokenizer's).
    std::optional<int32_t> vocab, eos;
    if (sft) {
      const SftFile file = read_sft_file(o.data);
      vocab = static_cast<int32_t>(file.vocab_size), eos = static_cast<int32_t>(file.eos_id);
    } else {
      const TokenShards shards(o.data);
      vocab = static_cast<int32_t>(shards.vocab_size()), eos = static_cast<int32_t>(shards.eos_id());
    }
    config = config_from_flags(args, vocab, eos);
  } else {
    require(resuming,
            "the model is missing: give --config, --init-from or --family (or a --run-dir to resume)");
  }
  const TrainResult result = train(o, config);
  return result.steps_done > 0 ? 0 : 1;
}

}  // namespace ratkv::train

#pragma once
// The training loop: data-parallel ranks, gradient accumulation, AdamW with warmup + cosine, clipping,
// RAT+'s joint dilated/dense steps, periodic atomic checkpoints with exact resume, JSONL metrics.
#include <cstdint>
#include <optional>
#include <string>

#include "base/json.h"
#include "io/model_config.h"
#include "train/optimizer.h"

namespace ratkv::train {

struct TrainOptions {
  // What defines the trajectory (saved in the checkpoint; a resume must give the same values).
  std::string mode = "pretrain";  // pretrain: token shards; sft: JSONL examples
  std::string data;               // shard file/directory, or the SFT token file
  std::string tokenizer;          // copied on export
  int64_t seq_len = 1024;
  int64_t batch = 8;    // global batch, in rows (sequences) per optimizer step, all ranks together
  int64_t steps = 100;  // optimizer steps (batches) of the whole run
  int64_t warmup = 0;
  double lr = 6e-4, min_lr = 0.0, clip = 1.0;
  AdamWOptions adam;
  int64_t joint_dilation = 0;  // > 1: RAT+ active recurrence learning with this D (two updates per batch)
  uint64_t seed = 0;
  std::string precision = "auto";  // auto (bf16 on CUDA, fp32 on CPU), bf16, fp32
  std::string init_from;           // model directory the weights start from ("" = random init)
  bool add_memory = false;
  float memory_init_bias = -6.0f, memory_init_std = 0.0f;
  float init_std = 0.02f;

  // How this piece of the run executes (free to change between pieces).
  std::string run_dir;
  std::string device = "cpu";
  int64_t micro_batch = 0;       // rows per forward on each rank; 0 = batch / world (no accumulation)
  int64_t checkpoint_every = 0;  // steps; 0 = only on time and at the end
  double checkpoint_minutes = 10.0;
  double max_minutes = 0.0;  // stop (with a checkpoint) after this long; 0 = no limit
  int64_t stop_at = -1;      // stop (with a checkpoint) once this many steps are done (tests)
  int64_t log_every = 10;
  bool quiet = false;

  Json trajectory_json() const;
};

struct TrainResult {
  int64_t steps_done = 0;  // the run's step count after this piece
  bool finished = false;   // reached options.steps
  double last_loss = 0.0;  // dense loss of the last step
};

// Runs (or resumes, when run_dir holds a checkpoint) a training run. `config` is the model for a fresh
// run (ignored on resume, where the checkpoint's config is used; with add_memory it is the attention
// model's config).
TrainResult train(const TrainOptions& options, const ModelConfig& config);

std::string checkpoint_path(const std::string& run_dir);

}  // namespace ratkv::train

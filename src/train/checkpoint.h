#pragma once
// Training checkpoints: one torch archive (torch::serialize) holding everything a resumed run needs to
// continue on exactly the trajectory it would have followed without stopping — the model config, the
// run's trajectory options, the fp32 parameters, AdamW's moments and step count, and the next step
// number. The data order is a pure function of (seed, row number) and no other randomness is drawn
// after initialization, so the next step number is the whole data cursor and RNG state.
// Written to a temporary file and renamed over the old one: a run killed mid-write keeps the previous
// checkpoint.
#include <string>
#include <vector>

#include "io/model_config.h"
#include "train/torch_compat.h"

namespace ratkv::train {

struct Checkpoint {
  ModelConfig config;
  std::string options_json;  // the trajectory-defining options (trainer.h TrainOptions::trajectory_json)
  int64_t next_step = 0;     // optimizer steps taken = batches consumed
  int64_t adam_steps = 0;
  std::vector<std::pair<std::string, torch::Tensor>> params;     // by engine tensor name
  std::vector<std::pair<std::string, torch::Tensor>> optimizer;  // AdamW::state()
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Reads the tensors to the CPU. `param_names` and `optimizer_names` say which tensors to read.
Checkpoint load_checkpoint(const std::string& path, const std::vector<std::string>& param_names,
                           const std::vector<std::string>& optimizer_names);
// Only the config and options (to build the model before reading the tensors).
Checkpoint load_checkpoint_header(const std::string& path);

}  // namespace ratkv::train

#pragma once
// Between the trainer's model and the engine's model directory (config.json + model.safetensors):
// export, import (--init-from), and inserting a memory into an attention model (--add-memory).
#include <optional>
#include <string>

#include "tensor/dtype.h"
#include "train/model.h"

namespace ratkv::train {

// Writes config.json and model.safetensors with exactly expected_tensors(config) (a RAT+ memory layer's
// gate rows fused back into in_proj as rows 4d..5d), in `dtype`, plus a copy of `tokenizer` if given.
void export_model(const TrainModel& model, const std::string& dir, DType dtype,
                  const std::optional<std::string>& tokenizer);

// Copies every tensor of a model directory into `model`, whose config must have the same shapes. Layers
// that have a memory in `model` but not in the directory keep their current values (--add-memory).
void import_weights(TrainModel& model, const std::string& dir);

// --add-memory: the config with a memory in every layer (and, when `gate_bias` is set, a biased gate).
ModelConfig with_memory(const ModelConfig& attention, bool gate_bias);

// The documented initialization of inserted memory gates: W_g = 0 and bias b (when the config has a gate
// bias), so g = σ(b) for every token and channel: k̂_t = (1 − σ(b)) k_t + σ(b) k̂_{t−1}. Outputs change at
// step 0 by a relative amount of order σ(b) (tests/train/add_memory_test.cpp measures it); there is no
// exactly neutral gate (σ(b) = 0 needs b = −∞) and the engine has no mixing weight that could be zero.
void init_inserted_memory(TrainModel& model, float gate_bias, float gate_std, uint64_t seed);

}  // namespace ratkv::train

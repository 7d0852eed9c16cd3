#pragma once
// Writes a model directory with random weights for any config: config.json + model.safetensors laid out
// exactly as expected_tensors() names them. For tests, benchmarks and the trainer's starting point.
#include <cstdint>
#include <string>

#include "io/model_config.h"
#include "tensor/dtype.h"

namespace ratkv {

struct RandomInitOptions {
  uint64_t seed = 0;
  DType dtype = DType::BF16;
  float weight_std = 0.02f;  // matrices ~ N(0, std²), as RAT+'s "fixed" init
  float norm_noise = 0.0f;   // norm weights = 1 + N(0, noise²); tests use noise to catch swapped norms
  float bias_std = 0.0f;     // biases ~ N(0, std²)
};

void write_random_model(const std::string& dir, const ModelConfig& config, const RandomInitOptions& options);

}  // namespace ratkv

#include "model/random_init.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace ratkv {

void write_random_model(const std::string& dir, const ModelConfig& config, const RandomInitOptions& options) {
  config.validate(dir + "/config.json");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    fail("cannot create directory ", dir, ": ", std::strerror(errno));

  Rng rng(options.seed);
  const std::vector<ExpectedTensor> expected = expected_tensors(config);
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorToWrite> tensors;
  storage.reserve(expected.size());
  for (const auto& e : expected) {
    int64_t numel = 1;
    for (int64_t d : e.shape) numel *= d;
    const bool is_norm = e.name.find("norm") != std::string::npos || e.name.ends_with(".ln.weight") ||
                         e.name == "backbone.ln.weight";
    const bool is_bias = e.name.ends_with(".bias");
    std::vector<float> values(static_cast<size_t>(numel));
    for (float& v : values) {
      if (is_norm)
        v = 1.0f + options.norm_noise * rng.normal();
      else if (is_bias)
        v = options.bias_std * rng.normal();
      else
        v = options.weight_std * rng.normal();
    }
    storage.emplace_back(static_cast<size_t>(numel) * dtype_size(options.dtype));
    convert_from_f32(values.data(), values.size(), options.dtype, storage.back().data());
    tensors.push_back({e.name, options.dtype, e.shape, storage.back().data()});
  }
  write_safetensors(dir + "/model.safetensors", tensors);
  write_text_file(dir + "/config.json", config.to_json().dump(2) + "\n");
}

}  // namespace ratkv

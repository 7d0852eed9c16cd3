#pragma once
// Helpers shared by the unit tests: temporary directories, tiny random models, error measures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "io/model_config.h"
#include "model/random_init.h"

namespace ratkv::testing {

// Runs the built `ratkv` binary with ARGUMENTS; returns (exit status as from pclose, stdout + stderr).
inline std::pair<int, std::string> run_cli(const std::string& arguments) {
  const std::string command = std::string(RATKV_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  if (!pipe) return {-1, "popen failed: " + command};
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
  return {pclose(pipe), output};
}

// A fresh empty directory under the test temp dir, unique per call.
inline std::string temp_dir(const std::string& stem) {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              ("ratkv_" + std::string(info ? info->name() : "x") + "_" + stem + "_" +
                               std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A tiny config of a family; callers adjust options.
inline ModelConfig tiny_config(Family family, int64_t heads = 4, int64_t kv_heads = 2, int64_t head_dim = 8) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = 97;
  c.num_layers = 2;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.hidden_size = family == Family::RatPlus ? heads * head_dim : 40;
  c.intermediate_size = family == Family::RatPlus ? 4 * c.hidden_size : 56;
  c.max_position_embeddings = 512;
  c.rms_norm_eps = 1e-5;
  c.rope.theta = 10000.0;
  c.memory_layers.assign(2, false);
  switch (family) {
    case Family::Llama:
      break;
    case Family::Olmo2:
      c.norm_placement = NormPlacement::PostNormInResidual;
      c.qk_norm = true;
      break;
    case Family::RatPlus:
      c.num_kv_heads = heads;
      c.ffn = FfnKind::GeluErf;
      c.output_gate = true;
      c.tie_word_embeddings = true;
      c.memory_layers.assign(2, true);
      break;
  }
  return c;
}

// Writes the config with random weights (std large enough that attention is far from uniform) and
// returns the directory. The config goes through to_json/from_json, so it is what a user would load.
inline std::string write_tiny_model(const ModelConfig& config, const std::string& stem, uint64_t seed = 1,
                                    DType dtype = DType::F32) {
  const std::string dir = temp_dir(stem);
  RandomInitOptions init;
  init.seed = seed;
  init.dtype = dtype;
  init.weight_std = 0.25f;
  init.norm_noise = 0.2f;
  init.bias_std = 0.1f;
  write_random_model(dir, config, init);
  return dir;
}

// n values drawn from N(0, scale²) by a seeded Rng: the same on every machine.
inline std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& e : v) e = rng.normal() * scale;
  return v;
}

// max |a − b| / max(max |b|, floor): a relative error on the scale of the reference values.
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-6) {
  EXPECT_EQ(a.size(), b.size());
  double max_diff = 0.0, max_ref = floor;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_diff / max_ref;
}

inline std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

}  // namespace ratkv::testing

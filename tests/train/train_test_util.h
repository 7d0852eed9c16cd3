#pragma once
// Helpers for the trainer tests: temporary directories, tiny configs of every family, random token shards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/rng.h"
#include "io/model_config.h"
#include "train/token_shards.h"
#include "train/trainer.h"

namespace ratkv::train::testing {

inline std::string temp_dir(const std::string& stem) {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("ratkv_train_" + std::string(info ? info->name() : "x") + "_" + stem +
                                     "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A tiny model of a family with the given layer options, parsed back through the JSON schema.
inline ModelConfig tiny_config(Family family, bool memory, bool output_gate = false, bool gate_bias = false,
                               int64_t kv_heads = 2) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = 61;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = family == Family::RatPlus ? 4 : kv_heads;
  c.head_dim = 8;
  c.hidden_size = family == Family::RatPlus ? 32 : 24;
  c.intermediate_size = family == Family::RatPlus ? 128 : 40;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-5;
  c.eos_token_ids = {2};
  c.norm_placement = family == Family::Olmo2 ? NormPlacement::PostNormInResidual : NormPlacement::PreNorm;
  c.ffn = family == Family::RatPlus ? FfnKind::GeluErf : FfnKind::SwiGlu;
  c.qk_norm = family == Family::Olmo2;
  c.tie_word_embeddings = family == Family::RatPlus;
  c.output_gate = family == Family::RatPlus || output_gate;
  c.memory_gate_bias = gate_bias;
  c.memory_layers.assign(2, memory);
  return ModelConfig::from_json(c.to_json(), "tiny config");
}

// A shard of random "documents" (ids 3..vocab−1) each ending with EOS 2.
inline std::string random_shard(const std::string& dir, int64_t tokens, uint32_t vocab = 61,
                                uint64_t seed = 1) {
  Rng rng(seed);
  std::vector<int32_t> ids;
  while (static_cast<int64_t>(ids.size()) < tokens) {
    const int64_t length = 5 + static_cast<int64_t>(rng.below(40));
    for (int64_t i = 0; i < length; ++i) ids.push_back(3 + static_cast<int32_t>(rng.below(vocab - 3)));
    ids.push_back(2);
  }
  ids.resize(static_cast<size_t>(tokens));
  const std::string path = dir + "/data.tok";
  write_token_shard(path, ids, vocab, 2);
  return path;
}

// Options for a few quick CPU steps.
inline TrainOptions quick_options(const std::string& data, const std::string& run_dir, int64_t steps) {
  TrainOptions o;
  o.data = data;
  o.run_dir = run_dir;
  o.seq_len = 24;
  o.batch = 4;
  o.steps = steps;
  o.warmup = 2;
  o.lr = 3e-3;
  o.min_lr = 3e-4;
  o.checkpoint_minutes = 0;
  o.log_every = 1;
  o.quiet = true;
  return o;
}

}  // namespace ratkv::train::testing

// The trainer's model is the engine's model: a tiny model of each family and option set is trained a few
// steps on the CPU, exported, loaded by ratkv (Model::load + InferenceContext, f32 KV cache), and the
// engine's logits must equal the trainer's within 1e-3. Export → import must also give back the
// trainer's parameters exactly.
#include <gtest/gtest.h>

#include "model/model.h"
#include "train/checkpoint.h"
#include "train/model_io.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

using testing::quick_options;
using testing::random_shard;
using testing::temp_dir;
using testing::tiny_config;

struct Case {
  const char* name;
  ModelConfig config;
  int64_t joint_dilation;
};

TrainModel load_trained(const std::string& run_dir) {
  const std::string path = checkpoint_path(run_dir);
  const Checkpoint header = load_checkpoint_header(path);
  TrainModel model(header.config, torch::kCPU, torch::kFloat);
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) names.push_back(p.name);
  for (const auto& [name, t] : load_checkpoint(path, names, {}).params) model.set_param(name, t);
  return model;
}

void check_case(const Case& c) {
  SCOPED_TRACE(c.name);
  const std::string dir = temp_dir(c.name);
  const std::string data = random_shard(dir, 2000);
  TrainOptions o = quick_options(data, dir + "/run", 3);
  o.joint_dilation = c.joint_dilation;
  o.lr = 2e-2;  // large steps so trained weights are far from the init
  train(o, c.config);
  TrainModel model = load_trained(dir + "/run");
  export_model(model, dir + "/export", DType::F32, std::nullopt);

  // The tokens of one row, run through both.
  std::vector<int32_t> ids;
  Rng rng(5);
  for (int i = 0; i < 37; ++i) ids.push_back(static_cast<int32_t>(rng.below(61)));
  const torch::Tensor tokens = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
  torch::NoGradGuard no_grad;
  const torch::Tensor trainer_logits = model.forward(tokens).squeeze(0).contiguous();

  const auto engine = Model::load(dir + "/export");
  InferenceOptions options;
  options.kv_dtype = DType::F32;
  InferenceContext context(*engine, options);
  std::vector<float> logits;
  context.forward(ids, LogitRows::All, logits);
  ASSERT_EQ(static_cast<int64_t>(logits.size()), trainer_logits.numel());
  const torch::Tensor engine_logits = torch::from_blob(logits.data(), trainer_logits.sizes(), torch::kFloat);
  const double diff = (engine_logits - trainer_logits).abs().max().item<double>();
  EXPECT_LT(diff, 1e-3) << "max |engine - trainer| logit difference";
  EXPECT_GT(trainer_logits.abs().max().item<double>(), 1e-2) << "logits are not trivially zero";

  // Export → import restores every parameter bit for bit (f32 export).
  TrainModel back(model.config(), torch::kCPU, torch::kFloat);
  import_weights(back, dir + "/export");
  for (size_t i = 0; i < model.parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(model.parameters()[i].tensor, back.parameters()[i].tensor))
        << model.parameters()[i].name;
}

TEST(ExportParity, LlamaWithMemoryOutputGateAndGqa) {
  check_case({"llama_mem_ogate", tiny_config(Family::Llama, true, true, true), 0});
}

TEST(ExportParity, LlamaAttentionOnly) {
  check_case({"llama", tiny_config(Family::Llama, false), 0});
}

TEST(ExportParity, Olmo2WithMemory) {
  check_case({"olmo2_mem", tiny_config(Family::Olmo2, true, false, true), 0});
}

TEST(ExportParity, RatPlusJointDilatedTraining) {
  check_case({"ratplus_joint", tiny_config(Family::RatPlus, true), 4});
}

// The bounded memory (gate (1 − 1/L)·σ): the trainer's scan, its gradients through training and the
// exported config key all reach the engine.
TEST(ExportParity, RatPlusBoundedMemoryLength) {
  ModelConfig c = tiny_config(Family::RatPlus, true);
  c.memory_max_length = 4;
  check_case({"ratplus_bounded", c, 4});
}

TEST(ExportParity, RatPlusAttentionBaseline) {
  check_case({"ratplus_attn", tiny_config(Family::RatPlus, false), 0});
}

TEST(ExportParity, ExportedConfigRoundTrips) {
  ModelConfig c = tiny_config(Family::Olmo2, true, true, true);
  c.memory_max_length = 64;
  const std::string dir = temp_dir("config");
  TrainModel model(c, torch::kCPU, torch::kFloat);
  model.init_random(3, 0.02f);
  export_model(model, dir, DType::BF16, std::nullopt);
  const ModelConfig back = ModelConfig::load(dir + "/config.json");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_NO_THROW(Model::load(dir));
}

}  // namespace
}  // namespace ratkv::train

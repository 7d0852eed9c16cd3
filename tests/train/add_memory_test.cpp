// --add-memory on an attention checkpoint: the inserted gate starts at W_g = 0 with bias b, so g = σ(b)
// everywhere. That is not exactly neutral (it would need b = −∞); this test measures the step-0 change
// of the logits and checks it shrinks in proportion to σ(b). Then the continued-pretraining run itself:
// the memory parameters take 10x the learning rate of the others.
#include <gtest/gtest.h>

#include <cmath>

#include "train/checkpoint.h"
#include "train/model_io.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

using testing::quick_options;
using testing::random_shard;
using testing::temp_dir;
using testing::tiny_config;

torch::Tensor logits_of(TrainModel& model) {
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = torch::arange(3, 60, torch::kLong).remainder(61).unsqueeze(0);
  return model.forward(tokens);
}

double change_at_step0(const std::string& attention_dir, const torch::Tensor& reference, float bias) {
  TrainModel with(with_memory(ModelConfig::load(attention_dir + "/config.json"), true), torch::kCPU,
                  torch::kFloat);
  import_weights(with, attention_dir);
  init_inserted_memory(with, bias, 0.0f, 0);
  return (logits_of(with) - reference).abs().max().item<double>();
}

TEST(AddMemory, Step0ChangeIsSmallAndScalesWithSigmoidOfBias) {
  const std::string dir = temp_dir("add");
  const ModelConfig attention = tiny_config(Family::Olmo2, false);
  TrainModel base(attention, torch::kCPU, torch::kFloat);
  base.init_random(11, 0.2f);  // large weights: a visible change if the memory were not near-neutral
  export_model(base, dir + "/attn", DType::F32, std::nullopt);
  const torch::Tensor reference = logits_of(base);
  const double scale = reference.abs().max().item<double>();

  const double change6 = change_at_step0(dir + "/attn", reference, -6.0f);
  const double change12 = change_at_step0(dir + "/attn", reference, -12.0f);
  std::printf("step-0 max |logit change|: b=-6 %.3g, b=-12 %.3g (logit scale %.3g)\n", change6, change12,
              scale);
  EXPECT_GT(change6, 0.0) << "the inserted memory does change outputs (documented)";
  // With weights 10x the usual init the change is about 1% of the logit scale (measured: 0.038 of 3.3).
  EXPECT_LT(change6, 2e-2 * scale);
  // σ(−12) / σ(−6) ≈ e^−6 ≈ 1/403.
  EXPECT_LT(change12, change6 / 100);
  EXPECT_GT(change12, change6 / 1000);
}

TEST(AddMemory, ContinuedPretrainingGivesMemoryTenTimesTheLearningRate) {
  const std::string dir = temp_dir("cpt");
  const ModelConfig attention = tiny_config(Family::Llama, false);
  TrainModel base(attention, torch::kCPU, torch::kFloat);
  base.init_random(5, 0.02f);
  export_model(base, dir + "/attn", DType::F32, std::nullopt);

  TrainOptions o = quick_options(random_shard(dir, 2000), dir + "/run", 1);
  o.init_from = dir + "/attn";
  o.add_memory = true;
  o.warmup = 0;
  o.lr = 1e-3;
  o.min_lr = 1e-3;
  o.adam.weight_decay = 0.0;
  o.adam.memory_lr_multiplier = 10.0;
  o.clip = 0.0;
  train(o, attention);

  const Checkpoint header = load_checkpoint_header(checkpoint_path(dir + "/run"));
  ASSERT_TRUE(header.config.has_memory());
  EXPECT_TRUE(header.config.memory_gate_bias);
  TrainModel trained(header.config, torch::kCPU, torch::kFloat);
  std::vector<std::string> names;
  for (const auto& p : trained.parameters()) names.push_back(p.name);
  for (const auto& [name, t] : load_checkpoint(checkpoint_path(dir + "/run"), names, {}).params)
    trained.set_param(name, t);
  // Adam's first update moves every weight with a nonzero gradient by lr x multiplier (to within eps).
  double memory_step = 0, other_step = 0;
  for (const auto& p : trained.parameters()) {
    torch::Tensor before;
    if (is_memory_parameter(p.name)) {
      before = p.name.ends_with(".bias") ? torch::full_like(p.tensor, -6.0f) : torch::zeros_like(p.tensor);
      memory_step = std::max(memory_step, (p.tensor - before).abs().max().item<double>());
    } else {
      before = base.param(p.name);
      other_step = std::max(other_step, (p.tensor - before).abs().max().item<double>());
    }
  }
  EXPECT_NEAR(memory_step, 1e-2, 1e-4);
  EXPECT_NEAR(other_step, 1e-3, 1e-5);
}

TEST(AddMemory, RefusesAModelThatHasOne) {
  EXPECT_THROW(with_memory(tiny_config(Family::Llama, true), true), Error);
}

}  // namespace
}  // namespace ratkv::train

// Attention patterns and the optimizer's pieces against plain definitions.
#include <gtest/gtest.h>

#include <cmath>

#include "train/attention_ops.h"
#include "train/model.h"
#include "train/optimizer.h"
#include "train/rope.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

TEST(DilatedAttention, MaskIsTheSetS) {
  // S(t) = { j <= t : t − j <= W or j < P or (j+1) mod D = 0 }, checked entry by entry.
  const int64_t T = 23, D = 4, W = 2, P = 3;
  const torch::Tensor m = dilated_mask(T, D, W, P, torch::kCPU);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < T; ++j) {
      const bool expected = j <= t && (t - j <= W || j < P || (j + 1) % D == 0);
      EXPECT_EQ(m[t][j].item<bool>(), expected) << t << "," << j;
    }
}

TEST(DilatedAttention, FastPathEqualsExplicitMask) {
  torch::manual_seed(3);
  for (int64_t T : {5, 16, 19, 40}) {
    const torch::Tensor q = torch::randn({2, 3, T, 8}), k = torch::randn({2, 3, T, 8}),
                        v = torch::randn({2, 3, T, 8});
    const torch::Tensor fast = dilated_attention(q, k, v, 4);
    const torch::Tensor masked = masked_attention(q, k, v, dilated_mask(T, 4, 0, 0, torch::kCPU));
    EXPECT_LT((fast - masked).abs().max().item<double>(), 1e-5) << "T=" << T;
  }
}

TEST(DilatedAttention, CausalEqualsDilationOne) {
  torch::manual_seed(4);
  const torch::Tensor q = torch::randn({1, 2, 13, 8}), k = torch::randn({1, 2, 13, 8}),
                      v = torch::randn({1, 2, 13, 8});
  EXPECT_LT((causal_attention(q, k, v) - dilated_attention(q, k, v, 1)).abs().max().item<double>(), 1e-5);
  // And query 0 sees only key 0.
  EXPECT_LT((causal_attention(q, k, v).select(2, 0) - v.select(2, 0)).abs().max().item<double>(), 1e-6);
}

TEST(Rope, RotatesPairsByPositionTimesFrequency) {
  const ModelConfig c = testing::tiny_config(Family::Llama, false);
  const RopeTable table = make_rope_table(c, 5, torch::kCPU);
  torch::Tensor x = torch::zeros({1, 5, 1, 8});
  x.index_put_({0, torch::indexing::Slice(), 0, 0}, 1.0);  // channel 0 pairs with channel 4
  const torch::Tensor y = apply_rope(x, table);
  for (int64_t t = 0; t < 5; ++t) {
    EXPECT_NEAR(y[0][t][0][0].item<float>(), std::cos(static_cast<double>(t)), 1e-6);  // inv_freq[0] = 1
    EXPECT_NEAR(y[0][t][0][4].item<float>(), std::sin(static_cast<double>(t)), 1e-6);
  }
}

TEST(Schedule, WarmupThenCosineToFloor) {
  EXPECT_DOUBLE_EQ(learning_rate(0, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(10, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(learning_rate(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // halfway down the cosine
  EXPECT_NEAR(learning_rate(100, 100, 10, 1.0, 0.1), 0.1, 1e-12);
}

TEST(AdamWTest, MatchesTheUpdateFormulaAndDecaysMatricesOnly) {
  const torch::Tensor w = torch::full({2, 2}, 1.0f).set_requires_grad(true);
  const torch::Tensor b = torch::full({2}, 1.0f).set_requires_grad(true);
  AdamW adam({{"w", w}, {"b", b}}, AdamWOptions{0.9, 0.95, 1e-8, 0.1, 1.0});
  w.mutable_grad() = torch::full({2, 2}, 0.5f);
  b.mutable_grad() = torch::full({2}, 0.5f);
  adam.step(0.01);
  // Step 1: m̂ = g, v̂ = g², update = lr · g / (|g| + eps) = lr; decay multiplies by (1 − lr · wd) first.
  EXPECT_NEAR(w[0][0].item<float>(), 1.0 * (1 - 0.01 * 0.1) - 0.01, 1e-6);
  EXPECT_NEAR(b[0].item<float>(), 1.0 - 0.01, 1e-6);
}

TEST(AdamWTest, ClipScalesToMaxNorm) {
  const torch::Tensor w = torch::zeros({4}).set_requires_grad(true);
  AdamW adam({{"w", w}}, {});
  w.mutable_grad() = torch::full({4}, 3.0f);  // norm 6
  EXPECT_NEAR(adam.clip_grad_norm(1.5).item<double>(), 6.0, 1e-6);
  EXPECT_NEAR(w.grad().norm().item<double>(), 1.5, 1e-5);
}

TEST(StepFlops, CountsEveryMatrixOnceAndCausalAttention) {
  // RAT+, 2 layers, d 32, 4 heads of 8, FFN 128, tied vocabulary 61: per layer in_proj 4·32·32 + out_proj
  // 32·32 + fc1 128·32 + fc2 32·128 = 13,312; with the tied head 61·32: 28,576 matrix weights.
  // 3 rows of 10 tokens: 3 · (2 · 28,576 · 30 + 2 · 10² · 32 · 2 layers · 3 rows).
  const TrainModel rat(testing::tiny_config(Family::RatPlus, false), torch::kCPU, torch::kFloat);
  EXPECT_DOUBLE_EQ(rat.step_flops(3, 10), 3.0 * (2.0 * 28576 * 30 + 2.0 * 100 * 32 * 2 * 3));
  // A dilated step (D 4, W 2, P 1) attends about 10²/(2·4) + 10·(2 + 1) = 42.5 pairs a row instead of 50.
  EXPECT_DOUBLE_EQ(rat.step_flops(3, 10, AttentionPattern{4, 2, 1}),
                   3.0 * (2.0 * 28576 * 30 + 4.0 * 42.5 * 32 * 2 * 3));
  // Llama with a memory and GQA (d 24, q 32, kv 16, FFN 40, untied head): q 768 + k 384 + v 384 + gate 384 +
  // o 768 + 3 · 960 = 5,568 per layer, + lm_head 61·24 (the embedding lookup and biases are not products).
  const TrainModel llama(testing::tiny_config(Family::Llama, true, false, true), torch::kCPU, torch::kFloat);
  EXPECT_DOUBLE_EQ(llama.step_flops(3, 10), 3.0 * (2.0 * (2 * 5568 + 61 * 24) * 30 + 2.0 * 100 * 32 * 2 * 3));
}

}  // namespace
}  // namespace ratkv::train

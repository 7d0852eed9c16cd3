// The memory recurrence op (train/memory_scan.h) against a plain reference: an explicit loop over time
// written with differentiable torch ops, so torch autograd provides the reference gradients. Odd sizes
// catch indexing mistakes; on a CUDA build with a GPU the same checks run on the CUDA kernel.
#include "train/memory_scan.h"

#include <gtest/gtest.h>

namespace ratkv::train {
namespace {

std::pair<torch::Tensor, torch::Tensor> reference(const torch::Tensor& f, const torch::Tensor& k,
                                                  const torch::Tensor& v, double gate_max) {
  const torch::Tensor g = gate_max * torch::sigmoid(f);
  torch::Tensor sk = torch::zeros_like(k.select(1, 0)), sv = torch::zeros_like(sk);
  std::vector<torch::Tensor> ks, vs;
  for (int64_t t = 0; t < k.size(1); ++t) {
    const torch::Tensor gt = g.select(1, t);
    sk = gt * sk + (1 - gt) * k.select(1, t);
    sv = gt * sv + (1 - gt) * v.select(1, t);
    ks.push_back(sk);
    vs.push_back(sv);
  }
  return {torch::stack(ks, 1), torch::stack(vs, 1)};
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble).cpu() - b.to(torch::kDouble).cpu()).abs().max().item<double>();
}

// gate_max < 1: the bounded memory, g = (1 − 1/L)·σ(f).
void check_against_reference(const torch::Device& device, int64_t batch, int64_t time, int64_t channels,
                             double gate_max = 1.0) {
  torch::manual_seed(7);
  // Gate logits spread so that g covers short and long memories (σ(±4) ≈ 0.02 .. 0.98).
  auto leaf = [&](double scale) {
    return (torch::randn({batch, time, channels}, torch::kDouble) * scale).set_requires_grad(true);
  };
  const torch::Tensor f = leaf(2.0), k = leaf(1.0), v = leaf(1.0);
  const torch::Tensor up_k = torch::randn({batch, time, channels}, torch::kDouble);
  const torch::Tensor up_v = torch::randn({batch, time, channels}, torch::kDouble);

  auto [rk, rv] = reference(f, k, v, gate_max);
  const auto ref_grads = torch::autograd::grad({(rk * up_k).sum() + (rv * up_v).sum()}, {f, k, v});

  const torch::Tensor f32 = f.detach().to(torch::kFloat).to(device).set_requires_grad(true);
  const torch::Tensor k32 = k.detach().to(torch::kFloat).to(device).set_requires_grad(true);
  const torch::Tensor v32 = v.detach().to(torch::kFloat).to(device).set_requires_grad(true);
  auto [hk, hv] = memory_recurrence(f32, k32, v32, gate_max);
  const auto grads = torch::autograd::grad(
      {(hk * up_k.to(torch::kFloat).to(device)).sum() + (hv * up_v.to(torch::kFloat).to(device)).sum()},
      {f32, k32, v32});

  EXPECT_LT(max_diff(hk, rk), 1e-5);
  EXPECT_LT(max_diff(hv, rv), 1e-5);
  const char* names[] = {"d/df", "d/dk", "d/dv"};
  for (int i = 0; i < 3; ++i) {
    const double scale = ref_grads[static_cast<size_t>(i)].abs().max().item<double>();
    EXPECT_LT(max_diff(grads[static_cast<size_t>(i)], ref_grads[static_cast<size_t>(i)]), 1e-5 * (1 + scale))
        << names[i] << " " << batch << "x" << time << "x" << channels << " gate_max " << gate_max;
  }
}

TEST(MemoryScan, MatchesReferenceAndGradientsOnCpu) {
  check_against_reference(torch::kCPU, 3, 37, 5);
  check_against_reference(torch::kCPU, 1, 1, 3);
  check_against_reference(torch::kCPU, 2, 29, 7, 1.0 - 1.0 / 3.0);
}

TEST(MemoryScan, MatchesReferenceAndGradientsOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA build or GPU";
  check_against_reference(torch::kCUDA, 3, 37, 5);
  check_against_reference(torch::kCUDA, 2, 200, 131);  // several chunks, a partial last one
  check_against_reference(torch::kCUDA, 1, 1, 3);
  check_against_reference(torch::kCUDA, 2, 130, 67, 1.0 - 1.0 / 3.0);
}

TEST(MemoryScan, ReverseScanRunsBackwards) {
  const torch::Tensor a = torch::full({1, 4, 1}, 0.5f);
  const torch::Tensor b = torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({1, 4, 1});
  const torch::Tensor forward = linear_scan(a, b, false).flatten();
  const torch::Tensor backward = linear_scan(a, b, true).flatten();
  EXPECT_FLOAT_EQ(forward[3].item<float>(), 4 + 0.5f * (3 + 0.5f * (2 + 0.5f * 1)));
  EXPECT_FLOAT_EQ(backward[0].item<float>(), 1 + 0.5f * (2 + 0.5f * (3 + 0.5f * 4)));
}

TEST(MemoryScan, RejectsMismatchedShapes) {
  EXPECT_THROW(memory_recurrence(torch::zeros({1, 2, 3}), torch::zeros({1, 2, 3}), torch::zeros({1, 3, 3})),
               std::exception);
}

TEST(MemoryScan, RejectsGateBoundOutsideUnitInterval) {
  const torch::Tensor x = torch::zeros({1, 2, 3});
  EXPECT_THROW(memory_recurrence(x, x, x, 0.0), std::exception);
  EXPECT_THROW(memory_recurrence(x, x, x, 1.5), std::exception);
}

}  // namespace
}  // namespace ratkv::train

// The fused CUDA ops of the trainer against their composite torch forms, which are the CPU path and the
// formulas the rest of the suite checks: RMSNorm (train/rms_norm.h), RoPE (train/rope.h) and the memory
// recurrence on bf16 column slices of a projection (train/memory_scan.h). Forward values and gradients of
// every input, odd sizes, strided inputs, every dtype pair the kernels take. Skipped without a GPU; run by
// scripts/train/test_gpu.sh.
#include <gtest/gtest.h>

#include "io/model_config.h"
#include "train/memory_scan.h"
#include "train/rms_norm.h"
#include "train/rope.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble).cpu() - b.to(torch::kDouble).cpu()).abs().max().item<double>();
}
double max_abs(const torch::Tensor& a) {
  return a.to(torch::kDouble).abs().max().item<double>();
}

// Tolerance for a result rounded to `dtype` (bf16 keeps 8 significant bits) relative to its scale.
double tolerance(torch::ScalarType dtype, double scale) {
  return (dtype == torch::kBFloat16 ? 1.6e-2 : 2e-5) * (1.0 + scale);
}

// A leaf [rows..., width] of `dtype` on CUDA whose last dim is a column slice (offset 3) of a wider tensor,
// as the projections' slices are; contiguous when slice is false.
torch::Tensor cuda_input(std::vector<int64_t> shape, torch::ScalarType dtype, bool slice) {
  std::vector<int64_t> wide = shape;
  if (slice) wide.back() += 7;
  torch::Tensor base = torch::randn(wide).to(torch::kCUDA).to(dtype);
  if (slice) base = base.narrow(-1, 3, shape.back());
  return base.detach().requires_grad_(true);
}

void check_rms_norm(std::vector<int64_t> shape, torch::ScalarType in, torch::ScalarType out, bool slice) {
  torch::manual_seed(11);
  const torch::Tensor x = cuda_input(shape, in, slice);
  const torch::Tensor w = (1.0 + 0.3 * torch::randn({shape.back()})).to(torch::kCUDA).requires_grad_(true);
  const torch::Tensor up = torch::randn(shape).to(torch::kCUDA);
  const torch::Tensor fused = rms_norm(x, w, 1e-5, out);
  const auto g_fused = torch::autograd::grad({(fused.to(torch::kFloat) * up).sum()}, {x, w});
  const torch::Tensor ref = rms_norm_composite(x, w, 1e-5, out);
  const auto g_ref = torch::autograd::grad({(ref.to(torch::kFloat) * up).sum()}, {x, w});
  const std::string what = "rms_norm d=" + std::to_string(shape.back());
  EXPECT_EQ(fused.scalar_type(), out) << what;
  EXPECT_LT(max_diff(fused, ref), tolerance(out, max_abs(ref))) << what;
  EXPECT_LT(max_diff(g_fused[0], g_ref[0]), tolerance(in, max_abs(g_ref[0]))) << what << " d/dx";
  // ∂w sums over every row: compare relative to its size.
  EXPECT_LT(max_diff(g_fused[1], g_ref[1]), 1e-4 * (1 + max_abs(g_ref[1]))) << what << " d/dw";
}

TEST(FusedOpsCuda, RmsNormMatchesComposite) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA build or GPU";
  check_rms_norm({3, 37, 5}, torch::kFloat, torch::kFloat, false);
  check_rms_norm({2, 19, 131}, torch::kFloat, torch::kBFloat16, false);
  check_rms_norm({2, 19, 131}, torch::kBFloat16, torch::kBFloat16, true);
  check_rms_norm({5, 33}, torch::kBFloat16, torch::kFloat, true);
  check_rms_norm({4, 301, 512}, torch::kFloat, torch::kBFloat16, false);
  check_rms_norm({3, 9, 1024}, torch::kFloat, torch::kFloat, true);
  check_rms_norm({2, 3, 1030}, torch::kFloat, torch::kFloat, false);  // past the kernels: composite
}

void check_rotary(std::vector<int64_t> shape, torch::ScalarType in, torch::ScalarType out, bool slice) {
  torch::manual_seed(12);
  ModelConfig c = testing::tiny_config(Family::Llama, false);
  c.head_dim = shape.back();
  const RopeTable table = make_rope_table(c, shape[1] + 5, torch::kCUDA);
  torch::Tensor x = cuda_input({shape[0], shape[1], shape[2] * shape[3]}, in, slice);
  const torch::Tensor heads = x.view({shape[0], shape[1], shape[2], shape[3]});
  const torch::Tensor up = torch::randn(shape).to(torch::kCUDA);
  const torch::Tensor fused = rotary(heads, table, out);
  const auto g_fused = torch::autograd::grad({(fused.to(torch::kFloat) * up).sum()}, {x});
  // The composite rotates in fp32 and rounds to its input's dtype: give it fp32 so that it rounds once, to
  // `out`, as the kernel does.
  const torch::Tensor ref = apply_rope(heads.to(torch::kFloat), table).to(out);
  const auto g_ref = torch::autograd::grad({(ref.to(torch::kFloat) * up).sum()}, {x});
  EXPECT_EQ(fused.scalar_type(), out);
  EXPECT_LT(max_diff(fused, ref), tolerance(out, max_abs(ref))) << "rotary head_dim " << shape.back();
  EXPECT_LT(max_diff(g_fused[0], g_ref[0]), tolerance(in, max_abs(g_ref[0]))) << "rotary d/dx";
}

TEST(FusedOpsCuda, RotaryMatchesComposite) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA build or GPU";
  check_rotary({2, 37, 3, 10}, torch::kFloat, torch::kFloat, false);
  check_rotary({3, 41, 5, 64}, torch::kBFloat16, torch::kBFloat16, true);
  check_rotary({1, 17, 2, 6}, torch::kFloat, torch::kBFloat16, true);
  check_rotary({2, 5, 1, 2}, torch::kBFloat16, torch::kFloat, false);
}

// The fused memory kernels on bf16 slices of one projection, against the composite op on the CPU over
// the same bf16 values.
TEST(FusedOpsCuda, MemoryOnBf16SlicesMatchesComposite) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA build or GPU";
  for (auto [batch, time, channels, gate_max] :
       {std::tuple<int64_t, int64_t, int64_t, double>{2, 200, 131, 1.0},
        {3, 65, 7, 1.0},
        {1, 1, 3, 1.0},
        {2, 130, 9, 1.0 - 1.0 / 64}}) {
    torch::manual_seed(13);
    const torch::Tensor proj = (torch::randn({batch, time, 3 * channels + 2}) * 2.0)
                                   .to(torch::kBFloat16)
                                   .to(torch::kCUDA)
                                   .requires_grad_(true);
    const torch::Tensor up_k = torch::randn({batch, time, channels}).to(torch::kCUDA);
    const torch::Tensor up_v = torch::randn({batch, time, channels}).to(torch::kCUDA);
    auto run = [&](const torch::Tensor& p) {
      auto [hk, hv] = memory_recurrence(p.narrow(2, 1, channels), p.narrow(2, 1 + channels, channels),
                                        p.narrow(2, 1 + 2 * channels, channels), gate_max);
      const auto grad =
          torch::autograd::grad({(hk * up_k.to(hk.device())).sum() + (hv * up_v.to(hv.device())).sum()}, {p});
      return std::tuple{hk, hv, grad[0]};
    };
    const auto [hk, hv, grad] = run(proj);
    const torch::Tensor proj_cpu = proj.detach().cpu().requires_grad_(true);
    const auto [rk, rv, rgrad] = run(proj_cpu);
    EXPECT_LT(max_diff(hk, rk), 1e-5 * (1 + max_abs(rk))) << batch << "x" << time << "x" << channels;
    EXPECT_LT(max_diff(hv, rv), 1e-5 * (1 + max_abs(rv)));
    EXPECT_LT(max_diff(grad, rgrad), tolerance(torch::kBFloat16, max_abs(rgrad)));
  }
}

}  // namespace
}  // namespace ratkv::train

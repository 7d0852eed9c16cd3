#include "train/rms_norm.h"

#include "base/error.h"

namespace ratkv::train {

torch::Tensor rms_norm_composite(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                                 torch::ScalarType out_dtype) {
  const torch::Tensor xf = x.to(torch::kFloat);
  return (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps) * weight).to(out_dtype);
}

#ifdef RATKV_TRAIN_CUDA
namespace {

// x as [rows, d] without a copy when its leading dimensions collapse into one row stride (the residual
// stream, a column slice of the fused projection); otherwise a contiguous copy.
torch::Tensor as_rows(const torch::Tensor& x) {
  const int64_t d = x.size(-1);
  bool collapsible = x.stride(-1) == 1;
  for (int64_t i = 0; collapsible && i + 2 < x.dim(); ++i)
    collapsible = x.size(i) == 1 || x.stride(i) == x.size(i + 1) * x.stride(i + 1);
  const torch::Tensor base = collapsible ? x : x.contiguous();
  const int64_t rows = d == 0 ? 0 : base.numel() / d;
  return base.as_strided({rows, d}, {base.dim() >= 2 ? base.stride(-2) : d, 1});
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, double eps, torch::ScalarType out_dtype) {
    const torch::Tensor rows = as_rows(x);
    auto [y, rstd] = rms_norm_forward_cuda(rows, weight, eps, out_dtype);
    ctx->save_for_backward({rows, weight, rstd});
    ctx->saved_data["shape"] = x.sizes().vec();
    return y.view(x.sizes());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const int64_t d = saved[0].size(1);
    const torch::Tensor grad_y = grads[0].reshape({-1, d}).contiguous();
    auto [dx, dw] = rms_norm_backward_cuda(grad_y, saved[0], saved[1], saved[2]);
    return {dx.view(ctx->saved_data["shape"].toIntVector()), dw, torch::Tensor(), torch::Tensor()};
  }
};

bool fused_rms_norm_applies(const torch::Tensor& x, const torch::Tensor& weight,
                            torch::ScalarType out_dtype) {
  auto supported = [](torch::ScalarType t) { return t == torch::kFloat || t == torch::kBFloat16; };
  return x.is_cuda() && x.dim() >= 1 && x.size(-1) > 0 && x.size(-1) <= kRmsNormCudaMaxWidth &&
         supported(x.scalar_type()) && supported(out_dtype) && weight.scalar_type() == torch::kFloat &&
         weight.device() == x.device() && weight.is_contiguous();
}

}  // namespace
#endif

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                       torch::ScalarType out_dtype) {
  require(weight.dim() == 1 && x.dim() >= 1 && weight.size(0) == x.size(-1),
          "rms_norm: weight [d] must match the last dimension of x");
#ifdef RATKV_TRAIN_CUDA
  if (fused_rms_norm_applies(x, weight, out_dtype)) return RmsNormFunction::apply(x, weight, eps, out_dtype);
#endif
  return rms_norm_composite(x, weight, eps, out_dtype);
}

}  // namespace ratkv::train

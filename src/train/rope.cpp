#include "train/rope.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "kernels/cpu/rope.h"

namespace ratkv::train {

RopeTable make_rope_table(const ModelConfig& config, int64_t length, const torch::Device& device) {
  const int64_t dim = config.head_dim, half = dim / 2;
  const std::vector<float> inv_freq = Rope(config.rope, dim, config.max_position_embeddings).inv_freq(length);
  std::vector<float> cos(static_cast<size_t>(length * dim)), sin(cos.size());
  for (int64_t t = 0; t < length; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(static_cast<float>(t) * inv_freq[static_cast<size_t>(i)]);
      const size_t at = static_cast<size_t>(t * dim + i);
      cos[at] = cos[at + static_cast<size_t>(half)] = static_cast<float>(std::cos(angle));
      sin[at] = sin[at + static_cast<size_t>(half)] = static_cast<float>(std::sin(angle));
    }
  }
  auto tensor = [&](const std::vector<float>& values) {
    return torch::from_blob(const_cast<float*>(values.data()), {length, 1, dim}, torch::kFloat)
        .clone()
        .to(device);
  };
  return {tensor(cos), tensor(sin)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTable& table) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor xf = x.to(torch::kFloat);
  const torch::Tensor rotated = torch::cat({-xf.narrow(-1, half, half), xf.narrow(-1, 0, half)}, -1);
  const int64_t length = x.size(1);
  return (xf * table.cos.narrow(0, 0, length) + rotated * table.sin.narrow(0, 0, length)).to(x.scalar_type());
}

#ifdef RATKV_TRAIN_CUDA
namespace {

class RotaryFunction : public torch::autograd::Function<RotaryFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin,
                               torch::ScalarType out_dtype) {
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
    return rope_cuda(x, cos, sin, out_dtype, false);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
    torch::Tensor grad = grads[0];
    if (grad.scalar_type() != torch::kFloat && grad.scalar_type() != torch::kBFloat16)
      grad = grad.to(torch::kFloat);
    if (grad.stride(-1) != 1) grad = grad.contiguous();
    return {rope_cuda(grad, saved[0], saved[1], x_dtype, true), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace
#endif

torch::Tensor rotary(const torch::Tensor& x, const RopeTable& table, torch::ScalarType out_dtype) {
  require(x.dim() == 4 && x.size(-1) % 2 == 0 && x.size(1) <= table.cos.size(0),
          "rotary: x must be [B, T, H, head_dim] with T within the table");
#ifdef RATKV_TRAIN_CUDA
  auto supported = [](torch::ScalarType t) { return t == torch::kFloat || t == torch::kBFloat16; };
  if (x.is_cuda() && supported(x.scalar_type()) && supported(out_dtype) && x.stride(-1) == 1 &&
      table.cos.device() == x.device())
    return RotaryFunction::apply(x, table.cos, table.sin, out_dtype);
#endif
  return apply_rope(x, table).to(out_dtype);
}

}  // namespace ratkv::train

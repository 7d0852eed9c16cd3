#include "train/memory_scan.h"

#include <ATen/Parallel.h>

#include <vector>

#include "base/error.h"

namespace ratkv::train {

namespace {

// One sequence at a time (parallel over the batch), the channel loop innermost so it vectorizes. The
// order of operations is fixed, so results do not depend on the thread count.
torch::Tensor linear_scan_cpu(const torch::Tensor& a, const torch::Tensor& b, bool reverse) {
  const int64_t batch = a.size(0), time = a.size(1), channels = a.size(2);
  torch::Tensor h = torch::empty_like(a);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* ph = h.data_ptr<float>();
  at::parallel_for(0, batch, 1, [&](int64_t first, int64_t last) {
    for (int64_t n = first; n < last; ++n) {
      const int64_t base = n * time * channels;
      const float* prev = nullptr;
      for (int64_t step = 0; step < time; ++step) {
        const int64_t t = reverse ? time - 1 - step : step;
        const int64_t row = base + t * channels;
        float* out = ph + row;
        if (prev == nullptr) {
          for (int64_t c = 0; c < channels; ++c) out[c] = pb[row + c];
        } else {
          for (int64_t c = 0; c < channels; ++c) out[c] = pa[row + c] * prev[c] + pb[row + c];
        }
        prev = out;
      }
    }
  });
  return h;
}

// Shifts along time by one step, filling with zeros: next(x)_t = x_{t+1}, previous(x)_t = x_{t−1}.
torch::Tensor next_step(const torch::Tensor& x) {
  return torch::cat({x.narrow(1, 1, x.size(1) - 1), torch::zeros_like(x.narrow(1, 0, 1))}, 1);
}
torch::Tensor previous_step(const torch::Tensor& x) {
  return torch::cat({torch::zeros_like(x.narrow(1, 0, 1)), x.narrow(1, 0, x.size(1) - 1)}, 1);
}

// Backward of h_t = g_t h_{t−1} + (1 − g_t) x_t for upstream gradient y_t = ∂L/∂h_t:
//   δ_t = y_t + g_{t+1} δ_{t+1}     (the total gradient reaching h_t: a reverse scan)
//   ∂L/∂x_t = (1 − g_t) δ_t,   ∂L/∂g_t = δ_t (h_{t−1} − x_t)
// k and v share g, so their gate gradients add; with g = m·s, s = σ(f): ∂L/∂f = ∂L/∂g · g (1 − s).
class MemoryScanFunction : public torch::autograd::Function<MemoryScanFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& f,
                                                const torch::Tensor& k, const torch::Tensor& v,
                                                double gate_max) {
    const torch::Tensor s = torch::sigmoid(f.to(torch::kFloat));
    const torch::Tensor g = (s * static_cast<float>(gate_max)).contiguous();
    const torch::Tensor keep = 1.0f - g;
    const torch::Tensor kf = k.to(torch::kFloat).contiguous(), vf = v.to(torch::kFloat).contiguous();
    torch::Tensor hk = linear_scan(g, (keep * kf).contiguous(), false);
    torch::Tensor hv = linear_scan(g, (keep * vf).contiguous(), false);
    ctx->save_for_backward({g, kf, vf, hk, hv, s});
    ctx->saved_data["f_dtype"] = static_cast<int64_t>(f.scalar_type());
    ctx->saved_data["k_dtype"] = static_cast<int64_t>(k.scalar_type());
    ctx->saved_data["v_dtype"] = static_cast<int64_t>(v.scalar_type());
    return {hk, hv};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &g = saved[0], &kf = saved[1], &vf = saved[2], &hk = saved[3], &hv = saved[4];
    const torch::Tensor& s = saved[5];
    const torch::Tensor g_next = next_step(g).contiguous();
    auto total = [&](const torch::Tensor& y) {
      return y.defined() ? linear_scan(g_next, y.to(torch::kFloat).contiguous(), true) : torch::zeros_like(g);
    };
    const torch::Tensor dk_total = total(grads[0]), dv_total = total(grads[1]);
    const torch::Tensor keep = 1.0f - g;
    const torch::Tensor dg = dk_total * (previous_step(hk) - kf) + dv_total * (previous_step(hv) - vf);
    auto dtype = [&](const char* key) {
      return static_cast<torch::ScalarType>(ctx->saved_data[key].toInt());
    };
    return {(dg * g * (1.0f - s)).to(dtype("f_dtype")), (keep * dk_total).to(dtype("k_dtype")),
            (keep * dv_total).to(dtype("v_dtype")), torch::Tensor()};
  }
};

#ifdef RATKV_TRAIN_CUDA
// The same op through the fused CUDA kernels (memory_scan_cuda.cu): no fp32 copies of the inputs, no
// elementwise kernels around the scans. Saves the inputs as they came (bf16 slices of the projection) and
// the fp32 states the backward needs for k̂_{t−1}, v̂_{t−1}.
class MemoryFusedFunction : public torch::autograd::Function<MemoryFusedFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& f,
                                                const torch::Tensor& k, const torch::Tensor& v,
                                                double gate_max) {
    auto [hk, hv] = memory_forward_cuda(f, k, v, gate_max);
    ctx->save_for_backward({f, k, v, hk, hv});
    ctx->saved_data["gate_max"] = gate_max;
    return {hk, hv};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &f = saved[0], &k = saved[1], &v = saved[2], &hk = saved[3], &hv = saved[4];
    auto upstream = [&](const torch::Tensor& y) {
      return y.defined() ? y.to(torch::kFloat).contiguous() : torch::zeros_like(hk);
    };
    auto [df, dk, dv] = memory_backward_cuda(upstream(grads[0]), upstream(grads[1]), f, k, v, hk, hv,
                                             ctx->saved_data["gate_max"].toDouble());
    return {df, dk, dv, torch::Tensor()};
  }
};

// The fused kernels take [B, T, C] operands of one dtype, fp32 or bf16, with contiguous channels (the
// column slices of the projection qualify as they are); other inputs are brought to that form first by a
// differentiable cast or copy.
std::vector<torch::Tensor> fused_operands(const torch::Tensor& f, const torch::Tensor& k,
                                          const torch::Tensor& v) {
  const bool all_bf16 = f.scalar_type() == torch::kBFloat16 && k.scalar_type() == torch::kBFloat16 &&
                        v.scalar_type() == torch::kBFloat16;
  const auto dtype = all_bf16 ? torch::kBFloat16 : torch::kFloat;
  std::vector<torch::Tensor> out;
  for (const torch::Tensor* x : {&f, &k, &v}) {
    require(x->device() == f.device(), "memory_recurrence: gate logits, k and v must be on one device");
    const torch::Tensor y = x->to(dtype);
    out.push_back(y.stride(2) == 1 ? y : y.contiguous());
  }
  return out;
}
#endif

}  // namespace

torch::Tensor linear_scan(const torch::Tensor& a, const torch::Tensor& b, bool reverse) {
  require(a.dim() == 3 && a.sizes() == b.sizes(),
          "linear_scan: a and b must both be [batch, time, channels]");
  require(a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat,
          "linear_scan: fp32 inputs only");
  require(a.is_contiguous() && b.is_contiguous(), "linear_scan: inputs must be contiguous");
  require(!a.is_cuda(),
          "linear_scan: CPU tensors only (on CUDA, memory_recurrence runs the fused kernels of a ratkv-train "
          "built with them)");
  if (a.numel() == 0) return torch::empty_like(a);
  return linear_scan_cpu(a, b, reverse);
}

std::pair<torch::Tensor, torch::Tensor> memory_recurrence(const torch::Tensor& gate_logits,
                                                          const torch::Tensor& k, const torch::Tensor& v,
                                                          double gate_max) {
  require(gate_max > 0 && gate_max <= 1, "memory_recurrence: gate_max must be in (0, 1], got ", gate_max);
  require(gate_logits.dim() == 3 && gate_logits.sizes() == k.sizes() && k.sizes() == v.sizes(),
          "memory_recurrence: gate logits, k and v must have the same [batch, time, channels] shape");
#ifdef RATKV_TRAIN_CUDA
  if (gate_logits.is_cuda()) {
    const auto operands = fused_operands(gate_logits, k, v);
    auto out = MemoryFusedFunction::apply(operands[0], operands[1], operands[2], gate_max);
    return {out[0], out[1]};
  }
#endif
  auto out = MemoryScanFunction::apply(gate_logits, k, v, gate_max);
  return {out[0], out[1]};
}

}  // namespace ratkv::train

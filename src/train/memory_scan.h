#pragma once
// The RAT+ memory as a differentiable op:
//   g = m · σ(f),  k̂_t = g_t ⊙ k̂_{t−1} + (1 − g_t) ⊙ k_t,  v̂_t likewise,  k̂_{−1} = v̂_{−1} = 0
// with m = gate_max: 1 for RAT+'s gate, 1 − 1/L for a memory bounded to length L
// (ModelConfig::memory_max_length). One gate per channel shared by k and v, state and arithmetic in
// fp32 (RAT+'s ascan runs in fp32). Backward is the reverse scan of the same recurrence (see
// memory_scan.cpp). On CUDA (when built with it) forward and backward are each one fused op
// (memory_scan_cuda.cu); on the CPU a composite of torch ops around linear_scan, which is also the
// reference the CUDA op is tested against.
#include <tuple>
#include <utility>

#include "train/torch_compat.h"

namespace ratkv::train {

// h_t = a_t ⊙ h_{t−1} + b_t along dim 1 of a, b: [batch, time, channels], fp32, contiguous, on the CPU;
// h_{−1} = 0.
// reverse: the same recurrence run from t = T−1 down to 0 (h_t = a_t ⊙ h_{t+1} + b_t).
torch::Tensor linear_scan(const torch::Tensor& a, const torch::Tensor& b, bool reverse);

// (k̂, v̂) in fp32 from gate logits f and k, v: [batch, time, channels] of any float dtype.
// Differentiable with respect to all three inputs.
std::pair<torch::Tensor, torch::Tensor> memory_recurrence(const torch::Tensor& gate_logits,
                                                          const torch::Tensor& k, const torch::Tensor& v,
                                                          double gate_max = 1.0);

#ifdef RATKV_TRAIN_CUDA
// memory_scan_cuda.cu: the fused forward and backward of memory_recurrence on CUDA.
std::pair<torch::Tensor, torch::Tensor> memory_forward_cuda(const torch::Tensor& f, const torch::Tensor& k,
                                                            const torch::Tensor& v, double gate_max);
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> memory_backward_cuda(
    const torch::Tensor& grad_hk, const torch::Tensor& grad_hv, const torch::Tensor& f,
    const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& hk, const torch::Tensor& hv,
    double gate_max);
#endif

}  // namespace ratkv::train

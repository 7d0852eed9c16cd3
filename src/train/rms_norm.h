#pragma once
// RMSNorm as one differentiable op: y = x · rsqrt(mean(x²) + eps) · weight over the last dimension,
// computed in fp32 and returned in `out_dtype` (the dtype the next op wants: bf16 before a GEMM, fp32
// into the residual stream).
//
// On CUDA (built with the kernels) forward and backward are one kernel each (rms_norm_cuda.cu) for
// fp32/bf16 inputs and outputs with the last dimension contiguous and at most 1024 wide; the cast to
// out_dtype happens in that kernel. Everywhere else — the CPU, other dtypes, wider rows — it is the
// composite of torch ops (xf · rsqrt(mean(xf²) + eps) · weight, then the cast), which is also the
// reference the kernels are tested against (tests/train/fused_ops_test.cpp).
#include <tuple>

#include "train/torch_compat.h"

namespace ratkv::train {

// x: [..., d] fp32 or bf16; weight: [d] fp32. Differentiable with respect to both.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                       torch::ScalarType out_dtype);

// The composite form, on any device and dtype.
torch::Tensor rms_norm_composite(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                                 torch::ScalarType out_dtype);

#ifdef RATKV_TRAIN_CUDA
// rms_norm_cuda.cu. x: [rows, d] with unit column stride and any row stride; returns (y [rows, d]
// contiguous in out_dtype, rstd [rows] fp32).
std::pair<torch::Tensor, torch::Tensor> rms_norm_forward_cuda(const torch::Tensor& x,
                                                              const torch::Tensor& weight, double eps,
                                                              torch::ScalarType out_dtype);
// grad_y: [rows, d] contiguous; returns (∂x [rows, d] contiguous in x's dtype, ∂weight [d] fp32).
std::pair<torch::Tensor, torch::Tensor> rms_norm_backward_cuda(const torch::Tensor& grad_y,
                                                               const torch::Tensor& x,
                                                               const torch::Tensor& weight,
                                                               const torch::Tensor& rstd);
// Widest row the kernels take.
constexpr int64_t kRmsNormCudaMaxWidth = 1024;
#endif

}  // namespace ratkv::train

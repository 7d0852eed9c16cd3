#pragma once
// Rotary position embedding as the engine applies it (kernels/cpu/rope.h): rotate_half layout, channel i
// paired with i + D/2, angle = fp32(position · inv_freq[i]) with the engine's own inverse frequencies
// (all of its rope types), cos/sin taken in double and rounded to fp32. The rotation runs in fp32 and
// the result is cast back to the input's dtype, as RAT+ does under bf16 autocast.
#include "io/model_config.h"
#include "train/torch_compat.h"

namespace ratkv::train {

struct RopeTable {
  torch::Tensor cos, sin;  // [T, 1, head_dim] fp32, broadcast over the heads of [B, T, H, head_dim]
};

RopeTable make_rope_table(const ModelConfig& config, int64_t length, const torch::Device& device);

// x: [B, T, H, head_dim]; returns the rotated tensor in x's dtype. The composite of torch ops: the
// reference of `rotary` and its path off CUDA.
torch::Tensor apply_rope(const torch::Tensor& x, const RopeTable& table);

// x: [B, T, H, head_dim] (fp32 or bf16; any strides with the last dimension contiguous) → the rotated
// tensor in out_dtype, contiguous, rotated in fp32 and rounded once. On CUDA one kernel each way
// (rope_cuda.cu; the backward is the rotation by the negative angle); elsewhere apply_rope + a cast.
torch::Tensor rotary(const torch::Tensor& x, const RopeTable& table, torch::ScalarType out_dtype);

#ifdef RATKV_TRAIN_CUDA
// rope_cuda.cu: y = R(±θ_t) x for x [B, T, H, D] as above; inverse = true rotates by −θ (the backward).
torch::Tensor rope_cuda(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        torch::ScalarType out_dtype, bool inverse);
#endif

}  // namespace ratkv::train

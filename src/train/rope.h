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

// x: [B, T, H, head_dim]; returns the rotated tensor in x's dtype.
torch::Tensor apply_rope(const torch::Tensor& x, const RopeTable& table);

}  // namespace ratkv::train

#pragma once
// Softmax attention for training. Shapes: q [B, H, T, hd], k and v [B, H, T, hd] (key/value heads already
// repeated to H). Scale hd^−0.5, one softmax per query, softmax in fp32.
//  - dense causal: at::scaled_dot_product_attention(is_causal) on libtorch 2.x (the flash kernel in bf16
//    on the GPU); an explicit math path on 1.13, which has no public SDPA.
//  - dilated (RAT+ active recurrence learning and sparse evaluation):
//      S(t) = { j ≤ t : t − j ≤ W  or  j < P  or  (j + 1) mod D = 0 }
//    For W = 0, P = 0 (RAT+ pretraining) S(t) is {t} plus the T/D chunk-end keys, so it is computed as a
//    softmax over [T/D dilated scores, 1 self score] in O(T · T/D); other W, P use an explicit mask.
#include "train/torch_compat.h"

namespace ratkv::train {

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// [T, T] bool, true where query t may attend key j.
torch::Tensor dilated_mask(int64_t length, int64_t dilation, int64_t local, int64_t initial,
                           const torch::Device& device);

// Attention restricted by an explicit [T, T] bool mask (every row must allow at least one key).
torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& allowed);

torch::Tensor dilated_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                int64_t dilation, int64_t local = 0, int64_t initial = 0);

}  // namespace ratkv::train

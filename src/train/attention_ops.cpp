#include "train/attention_ops.h"

#include <cmath>

#include "base/error.h"

namespace ratkv::train {

namespace {

double softmax_scale(const torch::Tensor& q) {
  return 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
}

// Scores in fp32 (inputs may be bf16: the matmul accumulates in fp32 on the GPU), probabilities cast back
// to the value dtype for the second matmul.
torch::Tensor math_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& allowed) {
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat) * softmax_scale(q);
  scores = scores.masked_fill(allowed.logical_not(), -INFINITY);
  return torch::matmul(torch::softmax(scores, -1).to(v.scalar_type()), v);
}

}  // namespace

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if RATKV_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
  const int64_t length = q.size(2);
  const torch::Tensor allowed =
      torch::ones({length, length}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).tril();
  return math_attention(q, k, v, allowed);
#endif
}

torch::Tensor dilated_mask(int64_t length, int64_t dilation, int64_t local, int64_t initial,
                           const torch::Device& device) {
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor t = torch::arange(length, options).unsqueeze(1);
  const torch::Tensor j = torch::arange(length, options).unsqueeze(0);
  const torch::Tensor chunk_end = torch::remainder(j + 1, dilation) == 0;
  return (j <= t).logical_and((t - j <= local).logical_or(j < initial).logical_or(chunk_end));
}

torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& allowed) {
#if RATKV_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, allowed, 0.0, /*is_causal=*/false);
#else
  return math_attention(q, k, v, allowed);
#endif
}

torch::Tensor dilated_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                int64_t dilation, int64_t local, int64_t initial) {
  require(dilation >= 1 && local >= 0 && initial >= 0, "dilated attention needs D >= 1, W >= 0, P >= 0");
  const int64_t length = q.size(2);
  if (local != 0 || initial != 0 || dilation == 1 || length < dilation)
    return masked_attention(q, k, v, dilated_mask(length, dilation, local, initial, q.device()));

  // Chunk-end keys j_c = D−1, 2D−1, ...; query t uses those with j_c < t, plus itself (which is a chunk
  // end when (t+1) mod D = 0, so j_c = t is left to the self score to count it once).
  const int64_t chunks = length / dilation;
  const torch::Tensor key_pos =
      torch::arange(dilation - 1, length, dilation, torch::TensorOptions().device(q.device()));
  const torch::Tensor kd = k.index_select(2, key_pos), vd = v.index_select(2, key_pos);
  const torch::Tensor t = torch::arange(length, torch::TensorOptions().device(q.device())).unsqueeze(1);
  const torch::Tensor before = key_pos.unsqueeze(0) < t;  // [T, chunks]
  const double scale = softmax_scale(q);
  torch::Tensor scores_d = torch::matmul(q, kd.transpose(-2, -1)).to(torch::kFloat) * scale;
  scores_d = scores_d.masked_fill(before.logical_not(), -INFINITY);
  const torch::Tensor score_self = (q.to(torch::kFloat) * k.to(torch::kFloat)).sum(-1, true) * scale;
  const torch::Tensor p = torch::softmax(torch::cat({scores_d, score_self}, -1), -1);
  return torch::matmul(p.narrow(-1, 0, chunks).to(v.scalar_type()), vd) +
         (p.narrow(-1, chunks, 1) * v.to(torch::kFloat)).to(v.scalar_type());
}

}  // namespace ratkv::train

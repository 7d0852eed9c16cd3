#include "train/rope.h"

#include <cmath>
#include <vector>

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

}  // namespace ratkv::train

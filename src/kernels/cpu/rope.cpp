#include "kernels/cpu/rope.h"

#include <cmath>

namespace ratkv {

namespace {

std::vector<float> default_inv_freq(double theta, int64_t head_dim) {
  std::vector<float> inv(static_cast<size_t>(head_dim / 2));
  const float base = static_cast<float>(theta);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv[static_cast<size_t>(i)] = 1.0f / std::pow(base, exponent);
  }
  return inv;
}

}  // namespace

Rope::Rope(const RopeConfig& config, int64_t head_dim, int64_t max_position_embeddings)
    : config_(config), head_dim_(head_dim), max_positions_(max_position_embeddings) {
  base_inv_freq_ = default_inv_freq(config.theta, head_dim);
  switch (config.type) {
    case RopeType::Default:
    case RopeType::Dynamic:
      break;
    case RopeType::Linear:
      for (float& f : base_inv_freq_) f /= static_cast<float>(config.factor);
      break;
    case RopeType::Llama3: {
      // Long wavelengths are slowed by `factor`, short ones kept, and the band between interpolated.
      const float factor = static_cast<float>(config.factor);
      const float low = static_cast<float>(config.low_freq_factor);
      const float high = static_cast<float>(config.high_freq_factor);
      const float old_context = static_cast<float>(config.original_max_position);
      const float low_freq_wavelen = old_context / low;
      const float high_freq_wavelen = old_context / high;
      for (float& f : base_inv_freq_) {
        const float wavelen = 2.0f * static_cast<float>(M_PI) / f;
        if (wavelen > low_freq_wavelen) {
          f = f / factor;
        } else if (wavelen >= high_freq_wavelen) {
          const float smooth = (old_context / wavelen - low) / (high - low);
          f = (1.0f - smooth) * f / factor + smooth * f;
        }
      }
      break;
    }
  }
}

std::vector<float> Rope::inv_freq(int64_t length) const {
  if (config_.type != RopeType::Dynamic || length <= max_positions_) return base_inv_freq_;
  const double dim = static_cast<double>(head_dim_);
  const double base = config_.theta * std::pow(config_.factor * static_cast<double>(length) /
                                                       static_cast<double>(max_positions_) -
                                                   (config_.factor - 1.0),
                                               dim / (dim - 2.0));
  return default_inv_freq(base, head_dim_);
}

void Rope::apply(float* x, int64_t n, int64_t heads, int64_t position0,
                 const std::vector<float>& inv_freq) const {
  const int64_t half = head_dim_ / 2;
#pragma omp parallel for schedule(static) if (n > 8)
  for (int64_t r = 0; r < n; ++r) {
    const float position = static_cast<float>(position0 + r);
    std::vector<float> cos_table(static_cast<size_t>(half)), sin_table(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
      const float angle = position * inv_freq[static_cast<size_t>(i)];
      cos_table[static_cast<size_t>(i)] = std::cos(angle);
      sin_table[static_cast<size_t>(i)] = std::sin(angle);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* head = x + (r * heads + h) * head_dim_;
      for (int64_t i = 0; i < half; ++i) {
        const float a = head[i], b = head[i + half];
        const float c = cos_table[static_cast<size_t>(i)], s = sin_table[static_cast<size_t>(i)];
        head[i] = a * c - b * s;
        head[i + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace ratkv

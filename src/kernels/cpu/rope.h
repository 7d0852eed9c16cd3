#pragma once
// Rotary position embedding in the rotate_half (NeoX / HF) layout: within each head of size D, channel i
// pairs with channel i + D/2, rotated by angle p · inv_freq[i]. Frequencies follow HF's rope types,
// computed in f32 as transformers does.
#include <cstdint>
#include <vector>

#include "io/model_config.h"

namespace ratkv {

class Rope {
 public:
  Rope(const RopeConfig& config, int64_t head_dim, int64_t max_position_embeddings);

  // Inverse frequencies [head_dim / 2] in effect when the sequence reaches `length` tokens. Only the
  // dynamic (NTK) type depends on the length: it rescales the base once the length passes
  // max_position_embeddings, as transformers does for the whole forward call.
  std::vector<float> inv_freq(int64_t length) const;

  // Rotates x [n, heads * head_dim] in place; row r is at position positions0 + r.
  void apply(float* x, int64_t n, int64_t heads, int64_t position0, const std::vector<float>& inv_freq) const;

  int64_t head_dim() const { return head_dim_; }

 private:
  RopeConfig config_;
  int64_t head_dim_;
  int64_t max_positions_;
  std::vector<float> base_inv_freq_;
};

}  // namespace ratkv

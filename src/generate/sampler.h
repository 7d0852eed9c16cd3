#pragma once
// Picks the next token from logits: greedy (temperature 0), or sampling from softmax(logits / T)
// restricted to the top-k tokens and then to the smallest set whose probability reaches top-p. Seeded:
// the same seed and logits give the same tokens on every machine.
#include <cstdint>
#include <vector>

#include "base/rng.h"

namespace ratkv {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy
  int64_t top_k = 0;         // 0: no limit
  float top_p = 1.0f;        // 1: no limit
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  int32_t sample(const float* logits, int64_t vocab);

 private:
  SamplingOptions options_;
  Rng rng_;
  std::vector<int32_t> order_;
  std::vector<float> probs_;
};

// Index of the largest logit; the lowest index among ties.
int32_t argmax(const float* logits, int64_t vocab);

}  // namespace ratkv

#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"

namespace ratkv {

int32_t argmax(const float* logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  require(options.temperature >= 0.0f && std::isfinite(options.temperature), "temperature must be >= 0, got ",
          options.temperature);
  require(options.top_k >= 0, "top-k must be >= 0, got ", options.top_k);
  require(options.top_p > 0.0f && options.top_p <= 1.0f, "top-p must be in (0, 1], got ", options.top_p);
}

int32_t Sampler::sample(const float* logits, int64_t vocab) {
  if (options_.temperature == 0.0f) return argmax(logits, vocab);

  order_.resize(static_cast<size_t>(vocab));
  std::iota(order_.begin(), order_.end(), 0);
  // Sorted by logit, ties by index, so the candidate order is fully determined.
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  const int64_t k = options_.top_k > 0 ? std::min(options_.top_k, vocab) : vocab;
  if (k < vocab)
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), by_logit);
  else
    std::sort(order_.begin(), order_.end(), by_logit);
  order_.resize(static_cast<size_t>(k));

  probs_.resize(order_.size());
  const float top = logits[order_[0]];
  double total = 0.0;
  for (size_t i = 0; i < order_.size(); ++i) {
    probs_[i] = std::exp((logits[order_[i]] - top) / options_.temperature);
    total += probs_[i];
  }
  size_t keep = order_.size();
  if (options_.top_p < 1.0f) {
    double mass = 0.0;
    for (size_t i = 0; i < order_.size(); ++i) {
      mass += probs_[i] / total;
      if (mass >= options_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept_total = 0.0;
  for (size_t i = 0; i < keep; ++i) kept_total += probs_[i];
  const double target = rng_.uniform_double() * kept_total;
  double acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    acc += probs_[i];
    if (target < acc) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace ratkv

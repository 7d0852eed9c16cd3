#include "generate/generate.h"

#include <algorithm>
#include <chrono>

#include "base/error.h"

namespace ratkv {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

GenerateResult generate(InferenceContext& ctx, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(int32_t)>& on_token) {
  std::vector<float> logits;
  const auto start = std::chrono::steady_clock::now();
  ctx.forward(prompt, LogitRows::Last, logits);
  const double prefill_seconds = seconds_since(start);
  GenerateResult result = generate_after_prefill(ctx, std::move(logits), options, on_token);
  result.prefill_seconds = prefill_seconds;
  return result;
}

GenerateResult generate_after_prefill(InferenceContext& ctx, std::vector<float> logits,
                                      const GenerateOptions& options,
                                      const std::function<void(int32_t)>& on_token) {
  GenerateResult result;
  Sampler sampler(options.sampling);
  const int64_t vocab = ctx.model().config().vocab_size;
  require(static_cast<int64_t>(logits.size()) == vocab, "generate: ", logits.size(),
          " logits for a vocabulary of ", vocab);
  const auto start = std::chrono::steady_clock::now();
  result.stop_reason = "length";
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    const int32_t token = sampler.sample(logits.data(), vocab);
    result.tokens.push_back(token);
    if (on_token) on_token(token);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) {
      result.stop_reason = "eos";
      break;
    }
    if (i + 1 == options.max_new_tokens) break;
    if (ctx.position() >= ctx.max_context()) {
      result.stop_reason = "context";
      break;
    }
    ctx.forward(std::span(&token, 1), LogitRows::Last, logits);
  }
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace ratkv

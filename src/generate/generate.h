#pragma once
// The generation loop: prefill the prompt, then decode one token at a time until an end-of-sequence
// token, the token limit or the context limit.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "model/model.h"

namespace ratkv {

struct GenerateOptions {
  int64_t max_new_tokens = 32;
  SamplingOptions sampling;
  std::vector<int64_t> stop_ids;  // usually the model's eos ids
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated tokens, the stop token included when one ended the run
  std::string stop_reason;      // "eos", "length" or "context"
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

// Runs the prompt through ctx (which may already hold earlier tokens) and generates. on_token, if set,
// sees each token as it is produced.
GenerateResult generate(InferenceContext& ctx, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(int32_t)>& on_token = {});

// The decode loop of generate() for a prompt already run: `logits` are the [vocab] logits of its last
// token. For callers that share one prefill among several decodes (prefill_seconds stays 0).
GenerateResult generate_after_prefill(InferenceContext& ctx, std::vector<float> logits,
                                      const GenerateOptions& options,
                                      const std::function<void(int32_t)>& on_token = {});

}  // namespace ratkv

#pragma once
// A plain implementation of every family's forward pass, written for clarity: loops, double
// accumulation, no cache, no threads, nothing shared with the optimized kernels. The optimized engine is
// tested against it; it is also the executable statement of the math (docs/formats.md).
#include <cstdint>
#include <vector>

#include "model/weights.h"

namespace ratkv {

struct ReferenceOptions {
  DType kv_dtype = DType::BF16;  // keys and values are rounded to this before attention, as the cache does
  // When not F32, the memory state is rounded to this dtype after every token, emulating token-by-token
  // decoding with a low-precision state (the RAT+ reference decodes with a bf16 state).
  DType memory_state_dtype = DType::F32;
};

// Logits [tokens, vocab] of the whole sequence processed from position 0.
std::vector<float> reference_forward(const ModelConfig& config, const ModelWeights& weights,
                                     const std::vector<int32_t>& tokens,
                                     const ReferenceOptions& options = {});

}  // namespace ratkv

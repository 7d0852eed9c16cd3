#pragma once
// The RAT+ memory: an exponentially decaying average of keys and values per channel, with one gate
// shared by k and v:
//   g_t = gate_max · σ(f_t),  k̂_t = g_t ⊙ k̂_{t−1} + (1 − g_t) ⊙ k_t,  v̂_t = g_t ⊙ v̂_{t−1} + (1 − g_t) ⊙ v_t
// computed in f32 before RoPE. gate_max is 1 for RAT+'s gate, 1 − 1/L for a memory bounded to length L
// (ModelConfig::memory_max_length). Shapes: gate_logits, k, v are [n, width] (width = kv heads × head dim);
// state_k and state_v are [width] and carry k̂, v̂ across calls (zero before the first token).
#include <cstdint>

namespace ratkv {

// Replaces k and v by k̂ and v̂ in place and leaves the last k̂, v̂ in the state.
void memory_scan(const float* gate_logits, float* k, float* v, int64_t n, int64_t width, float* state_k,
                 float* state_v, float gate_max = 1.0f);

}  // namespace ratkv

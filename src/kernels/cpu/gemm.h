#pragma once
// ratkv's own GEMM for the prefill products y[m, n] = x[m, k] · Wᵀ, W a weight matrix [n, k] in f32, bf16
// or f16 read in place. Owning it (rather than calling BLAS) makes prefill run at the machine's rate and
// give the same bits whatever BLAS is installed and however it is configured (OpenBLAS picks its kernels
// by CPU model, or by OPENBLAS_CORETYPE).
//
// Precision (MatmulPrecision):
//   F32  — the activations as they are, the weights widened exactly to f32, fp32 FMA. The default.
//   BF16 — the activations rounded to bf16 (nearest even) and the weights taken as bf16 (exact for bf16
//          weights, rounded for f32/f16), multiplied in bf16 pairs with fp32 accumulation (AVX512_BF16
//          vdpbf16ps: twice the f32 rate). Opt-in, since it rounds every activation entering a product.
//
// How the work is split (classic register blocking):
//   1. pack_activations: x once per product into micro-panels of kGemmRows rows, k-major.
//   2. per task, a range of W rows: pack_weights into panels of kGemmCols rows, k-major; then
//   3. gemm_packed: every activation micro-panel against every weight panel, kGemmDepth k at a time, a
//      12 × 32 tile of y held in 24 vector registers.
// Each output is summed by one task, k ascending, so the result does not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/scratch.h"
#include "tensor/weight_view.h"

namespace ratkv {

enum class MatmulPrecision : uint8_t { F32, BF16 };

const char* matmul_precision_name(MatmulPrecision p);

constexpr int64_t kGemmRows = 12;    // activation rows per micro-tile (MR)
constexpr int64_t kGemmCols = 32;    // W rows (outputs) per micro-tile (NR): two 16-lane vectors
constexpr int64_t kGemmDepth = 256;  // k per pass over a micro-tile (KC), in input elements

// Number of 32-bit k-steps of a row of k inputs: k for F32, ⌈k/2⌉ bf16 pairs for BF16.
inline int64_t gemm_steps(int64_t k, MatmulPrecision p) {
  return p == MatmulPrecision::F32 ? k : (k + 1) / 2;
}

// x [m, k] in micro-panels, pass by pass: for each pass of pass_steps k-steps (the last may be shorter),
// block b holds rows [b·kGemmRows, (b+1)·kGemmRows) as [steps of the pass][kGemmRows] 32-bit words — f32
// values, or (BF16) a pair of bf16 k-neighbours per word, the lower k in the low half. A pass's blocks are
// contiguous, so the product streams x front to back. Rows past m and an odd k's missing partner are 0.
struct PackedActivations {
  MatmulPrecision precision = MatmulPrecision::F32;
  int64_t m = 0, k = 0, steps = 0, blocks = 0, pass_steps = 0;
  // Grown without zero-filling (base/scratch.h): pack_activation_block writes every word of its block.
  std::vector<uint32_t, UninitializedAllocator<uint32_t>> words;
  // Block b of the pass starting at step s0.
  int64_t panel_offset(int64_t b, int64_t s0) const {
    return (s0 * blocks + b * std::min(pass_steps, steps - s0)) * kGemmRows;
  }
  const uint32_t* panel(int64_t b, int64_t s0) const { return words.data() + panel_offset(b, s0); }
  uint32_t* panel(int64_t b, int64_t s0) { return words.data() + panel_offset(b, s0); }
};

// Sizes `packed` for x [m, k] (no packing yet).
void prepare_activations(int64_t m, int64_t k, MatmulPrecision p, PackedActivations& packed);
// Packs block b of x (row stride ldx floats) into `packed` (prepared for the same m, k). Blocks are
// independent: callers pack them in parallel.
void pack_activation_block(const float* x, int64_t ldx, int64_t b, PackedActivations& packed);

// W rows [r0, r1) in panels of kGemmCols rows: panel p is [steps][kGemmCols] words (rows past r1 zero).
void pack_weights(const WeightView& w, int64_t r0, int64_t r1, MatmulPrecision p,
                  std::vector<uint32_t>& packed);
// The same into `packed`, which holds ⌈(r1 − r0) / kGemmCols⌉ · gemm_steps(w.cols, p) · kGemmCols words.
void pack_weights(const WeightView& w, int64_t r0, int64_t r1, MatmulPrecision p, uint32_t* packed);

// y[i, j] = Σ_k x[i, k] · W[r0 + j, k] for j < cols = r1 − r0 and the rows i of micro-panels
// [block_begin, block_end) (−1: to the last), from the packed operands (y points at row 0, column r0 of the
// output, row stride ldy). One thread. accumulate: y[i, j] += the sum instead (the sum formed from zero,
// then added, in the same order either way).
void gemm_packed(const PackedActivations& x, const uint32_t* packed_w, int64_t cols, float* y, int64_t ldy,
                 int64_t block_begin = 0, int64_t block_end = -1, bool accumulate = false);

// The same product in plain loops, double accumulation, inputs rounded as `p` rounds them: the reference.
void gemm_reference(const float* x, int64_t m, const WeightView& w, MatmulPrecision p, float* y);

}  // namespace ratkv

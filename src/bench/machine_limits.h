#pragma once
// The machine's limits, measured by the same command that measures the engine so that ratios compare
// like with like: sustained read bandwidth from memory, the f32 GEMM rate of the installed BLAS (the
// baseline ratkv's own GEMM is shown beside), and the arithmetic peak of the cores (the roofline no GEMM
// passes).
#include "kernels/cpu/gemm.h"

namespace ratkv {

struct MachineLimits {
  double read_gbps = 0.0;    // GB/s (1e9 bytes) reading a buffer far larger than the caches, all threads
  double gemm_gflops = 0.0;  // GFLOP/s of 1024x1024x1024 BLAS sgemm, one single-threaded call per thread
  double fma_gflops = 0.0;   // GFLOP/s of independent multiply-adds in registers on every thread: f32 FMA,
                             // or bf16 pair dot products for MatmulPrecision::BF16 (0 where unavailable)
};

MachineLimits measure_machine_limits(int threads, MatmulPrecision precision = MatmulPrecision::F32);
double measure_read_bandwidth(int threads);
double measure_gemm_peak(int threads);
double measure_arithmetic_peak(int threads, MatmulPrecision precision);

}  // namespace ratkv

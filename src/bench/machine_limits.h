#pragma once
// The machine's limits, measured by the same command that measures the engine so that ratios compare
// like with like: sustained read bandwidth from memory and the f32 GEMM rate of the BLAS ratkv uses.

namespace ratkv {

struct MachineLimits {
  double read_gbps = 0.0;    // GB/s (1e9 bytes) reading a buffer far larger than the caches, all threads
  double gemm_gflops = 0.0;  // GFLOP/s of 1024x1024x1024 sgemm, one single-threaded call per thread at once
};

MachineLimits measure_machine_limits(int threads);
double measure_read_bandwidth(int threads);
double measure_gemm_peak(int threads);

}  // namespace ratkv

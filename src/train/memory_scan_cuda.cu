// CUDA body of linear_scan (memory_scan.h): h_t = a_t ⊙ h_{t−1} + b_t along time, one independent
// recurrence per (sequence, channel), fp32 state.
//
// A single thread per (sequence, channel) walking all T steps leaves most of the GPU idle (16 × 512
// threads for the 8-layer d=512 model) and exposes the load latency T times. So time is cut into chunks
// of kChunk steps, and the same sequential recurrence runs in three passes:
//   1. per (sequence, chunk, channel): the chunk's own scan from a zero state → its end state E and the
//      product of its gates P (h_end = P · h_start + E);
//   2. per (sequence, channel): a sequential pass over the chunks gives each chunk's start state;
//   3. per (sequence, chunk, channel): the chunk's scan again from its start state, writing h.
// Every thread still runs the plain recurrence, left to right, in fp32; only the start state of a chunk
// is formed as P · h_start + E, which is the same sum in another association order. Layout [B, T, C]
// with C contiguous: consecutive threads read consecutive channels (coalesced).
// Only ATen is included here (not torch/torch.h) to keep nvcc away from the C++ frontend headers; the file
// is C++17 (CMakeLists.txt), which libtorch's headers are written for.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

namespace ratkv::train {

at::Tensor linear_scan_cuda(const at::Tensor& a, const at::Tensor& b, bool reverse);

namespace {

constexpr int kChunk = 64;
constexpr int kThreads = 128;

__device__ __forceinline__ int64_t time_index(int64_t step, int64_t time, bool reverse) {
  return reverse ? time - 1 - step : step;
}

__global__ void chunk_summaries(const float* __restrict__ a, const float* __restrict__ b,
                                float* __restrict__ end, float* __restrict__ product, int64_t time,
                                int64_t channels, int64_t chunks, bool reverse) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= channels) return;
  const int64_t chunk = blockIdx.y, n = blockIdx.z;
  const int64_t first = chunk * kChunk, last = min(time, first + kChunk);
  const int64_t base = n * time * channels + c;
  float h = 0.f, p = 1.f;
  for (int64_t s = first; s < last; ++s) {
    const int64_t i = base + time_index(s, time, reverse) * channels;
    h = a[i] * h + b[i];
    p *= a[i];
  }
  const int64_t out = (n * chunks + chunk) * channels + c;
  end[out] = h;
  product[out] = p;
}

// Turns (E, P) per chunk into each chunk's start state, in place of E.
__global__ void chunk_starts(float* __restrict__ end, const float* __restrict__ product, int64_t channels,
                             int64_t chunks) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= channels) return;
  const int64_t n = blockIdx.y;
  float state = 0.f;
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t i = (n * chunks + chunk) * channels + c;
    const float chunk_end = end[i];
    end[i] = state;
    state = product[i] * state + chunk_end;
  }
}

__global__ void chunk_scans(const float* __restrict__ a, const float* __restrict__ b,
                            const float* __restrict__ start, float* __restrict__ h, int64_t time,
                            int64_t channels, int64_t chunks, bool reverse) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= channels) return;
  const int64_t chunk = blockIdx.y, n = blockIdx.z;
  const int64_t first = chunk * kChunk, last = min(time, first + kChunk);
  const int64_t base = n * time * channels + c;
  float state = start[(n * chunks + chunk) * channels + c];
  for (int64_t s = first; s < last; ++s) {
    const int64_t i = base + time_index(s, time, reverse) * channels;
    state = a[i] * state + b[i];
    h[i] = state;
  }
}

}  // namespace

at::Tensor linear_scan_cuda(const at::Tensor& a, const at::Tensor& b, bool reverse) {
  const int64_t batch = a.size(0), time = a.size(1), channels = a.size(2);
  const int64_t chunks = (time + kChunk - 1) / kChunk;
  TORCH_CHECK(batch <= 65535 && chunks <= 65535, "linear_scan_cuda: batch and time / 64 must be below 65536");
  const c10::cuda::CUDAGuard guard(a.device());
  at::Tensor h = at::empty_like(a);
  at::Tensor end = at::empty({batch, chunks, channels}, a.options());
  at::Tensor product = at::empty_like(end);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const unsigned channel_blocks = static_cast<unsigned>((channels + kThreads - 1) / kThreads);
  const dim3 grid(channel_blocks, static_cast<unsigned>(chunks), static_cast<unsigned>(batch));
  chunk_summaries<<<grid, kThreads, 0, stream>>>(a.data_ptr<float>(), b.data_ptr<float>(),
                                                 end.data_ptr<float>(), product.data_ptr<float>(), time,
                                                 channels, chunks, reverse);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  chunk_starts<<<dim3(channel_blocks, static_cast<unsigned>(batch)), kThreads, 0, stream>>>(
      end.data_ptr<float>(), product.data_ptr<float>(), channels, chunks);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  chunk_scans<<<grid, kThreads, 0, stream>>>(a.data_ptr<float>(), b.data_ptr<float>(), end.data_ptr<float>(),
                                             h.data_ptr<float>(), time, channels, chunks, reverse);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return h;
}

}  // namespace ratkv::train

// The RAT+ memory on CUDA as two fused ops (memory_scan.h, MemoryFusedFunction):
//   forward:  f, k, v [B, T, C] (bf16 or fp32, channels contiguous, any batch/time strides — they are
//             column slices of the fused projection) → k̂, v̂ [B, T, C] fp32 contiguous
//   backward: ∂L/∂k̂, ∂L/∂v̂ [B, T, C] fp32 + the forward's inputs and outputs → ∂L/∂f, ∂L/∂k, ∂L/∂v in
//             the inputs' dtype, [B, T, C] contiguous
// The composite path (memory_scan.cpp, the CPU's) spends ~15 elementwise ops, two time shifts (cat) and
// casts around its two scans, each a full pass over [B, T, C] fp32; here σ, 1 − g, the products, the
// shifts and the casts happen in registers inside the scans, so each op reads its inputs twice and writes
// its outputs once.
//
// A single thread per (sequence, channel) walking all T steps would leave most of the GPU idle (16 × 512
// threads for the 8-layer d=512 model) and expose the load latency T times. So time is cut into chunks of
// kChunk steps, and the sequential recurrence runs in three passes:
//   1. per (sequence, chunk, channel): the chunk's own scan from a zero state → its end state E and the
//      product of its multipliers P (end = P · start + E);
//   2. per (sequence, channel): a sequential pass over the chunk summaries gives each chunk's start state;
//   3. per (sequence, chunk, channel): the chunk's scan again from its start state, writing the outputs.
// Every thread runs the plain recurrence in fp32; only a chunk's start state is formed as P · start + E,
// the same sum in another association order. Layout [B, T, C] with C contiguous: consecutive threads read
// consecutive channels (coalesced). Forward: h_t = g_t h_{t−1} + (1 − g_t) x_t, for k and v with the
// shared g. Backward: δ_t = y_t + g_{t+1} δ_{t+1} (reverse), then ∂x_t = (1 − g_t) δ_t and
// ∂f_t = [δᵏ_t (k̂_{t−1} − k_t) + δᵛ_t (v̂_{t−1} − v_t)] g_t (1 − g_t).
// Only ATen is included here (not torch/torch.h) to keep nvcc away from the C++ frontend headers; the file
// is C++17 (CMakeLists.txt), which libtorch's headers are written for.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <tuple>

namespace ratkv::train {

std::pair<at::Tensor, at::Tensor> memory_forward_cuda(const at::Tensor& f, const at::Tensor& k,
                                                      const at::Tensor& v, double gate_max);
std::tuple<at::Tensor, at::Tensor, at::Tensor> memory_backward_cuda(const at::Tensor& grad_hk,
                                                                    const at::Tensor& grad_hv,
                                                                    const at::Tensor& f, const at::Tensor& k,
                                                                    const at::Tensor& v, const at::Tensor& hk,
                                                                    const at::Tensor& hv, double gate_max);

namespace {

constexpr int kChunk = 64;
constexpr int kThreads = 128;

// A [B, T, C] operand with unit channel stride.
template <typename T>
struct Rows {
  const T* data;
  int64_t batch_stride, time_stride;
  __device__ __forceinline__ float at(int64_t n, int64_t t, int64_t c) const {
    return static_cast<float>(data[n * batch_stride + t * time_stride + c]);
  }
};

__device__ __forceinline__ float sigmoid(float x) {
  return 1.f / (1.f + expf(-x));
}

struct Grid {
  int64_t time, channels, chunks;
  float gate_max;  // g = gate_max · σ(f): 1, or 1 − 1/L for a memory bounded to length L
};

__device__ __forceinline__ float gate_of(const Grid& g, float logit) {
  return g.gate_max * sigmoid(logit);
}

// Thread → (channel, chunk, sequence); false for the padding threads past the last channel.
__device__ __forceinline__ bool locate(const Grid& g, int64_t& c, int64_t& chunk, int64_t& n, int64_t& first,
                                       int64_t& last) {
  c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  chunk = blockIdx.y;
  n = blockIdx.z;
  first = chunk * kChunk;
  last = min(g.time, first + kChunk);
  return c < g.channels;
}

// Per (chunk, sequence, channel) of two recurrences sharing the multiplier: the end states E from a zero
// start and the product P of the multipliers, so that end = P · start + E.
__device__ __forceinline__ int64_t summary_index(const Grid& g, int64_t n, int64_t chunk, int64_t c) {
  return (n * g.chunks + chunk) * g.channels + c;
}

template <typename T>
__global__ void forward_summaries(Rows<T> f, Rows<T> k, Rows<T> v, float* end_k, float* end_v, float* product,
                                  Grid g) {
  int64_t c, chunk, n, first, last;
  if (!locate(g, c, chunk, n, first, last)) return;
  float hk = 0.f, hv = 0.f, p = 1.f;
  for (int64_t t = first; t < last; ++t) {
    const float gate = gate_of(g, f.at(n, t, c)), keep = 1.f - gate;
    hk = gate * hk + keep * k.at(n, t, c);
    hv = gate * hv + keep * v.at(n, t, c);
    p *= gate;
  }
  const int64_t i = summary_index(g, n, chunk, c);
  end_k[i] = hk;
  end_v[i] = hv;
  product[i] = p;
}

// Sequential over the chunks of one (sequence, channel), in time order (forward) or reverse order
// (backward): replaces each E by the state entering that chunk.
__global__ void chunk_starts(float* end_k, float* end_v, const float* product, Grid g, bool reverse) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= g.channels) return;
  const int64_t n = blockIdx.y;
  float sk = 0.f, sv = 0.f;
  for (int64_t s = 0; s < g.chunks; ++s) {
    const int64_t i = summary_index(g, n, reverse ? g.chunks - 1 - s : s, c);
    const float ek = end_k[i], ev = end_v[i], p = product[i];
    end_k[i] = sk;
    end_v[i] = sv;
    sk = p * sk + ek;
    sv = p * sv + ev;
  }
}

template <typename T>
__global__ void forward_scans(Rows<T> f, Rows<T> k, Rows<T> v, const float* start_k, const float* start_v,
                              float* out_k, float* out_v, Grid g) {
  int64_t c, chunk, n, first, last;
  if (!locate(g, c, chunk, n, first, last)) return;
  const int64_t i = summary_index(g, n, chunk, c);
  float hk = start_k[i], hv = start_v[i];
  for (int64_t t = first; t < last; ++t) {
    const float gate = gate_of(g, f.at(n, t, c)), keep = 1.f - gate;
    hk = gate * hk + keep * k.at(n, t, c);
    hv = gate * hv + keep * v.at(n, t, c);
    const int64_t o = (n * g.time + t) * g.channels + c;
    out_k[o] = hk;
    out_v[o] = hv;
  }
}

// The gate multiplying δ_{t+1} in δ_t: g_{t+1}, and 0 past the end.
template <typename T>
__device__ __forceinline__ float next_gate(const Rows<T>& f, int64_t n, int64_t t, int64_t c, const Grid& g) {
  return t + 1 < g.time ? gate_of(g, f.at(n, t + 1, c)) : 0.f;
}

template <typename T>
__global__ void backward_summaries(Rows<T> f, const float* grad_k, const float* grad_v, float* end_k,
                                   float* end_v, float* product, Grid g) {
  int64_t c, chunk, n, first, last;
  if (!locate(g, c, chunk, n, first, last)) return;
  float dk = 0.f, dv = 0.f, p = 1.f;
  float a = next_gate(f, n, last - 1, c, g);
  for (int64_t t = last - 1; t >= first; --t) {
    const int64_t o = (n * g.time + t) * g.channels + c;
    dk = a * dk + grad_k[o];
    dv = a * dv + grad_v[o];
    p *= a;
    if (t > first) a = gate_of(g, f.at(n, t, c));  // g_t multiplies δ_t in δ_{t−1}
  }
  const int64_t i = summary_index(g, n, chunk, c);
  end_k[i] = dk;
  end_v[i] = dv;
  product[i] = p;
}

template <typename T>
__global__ void backward_scans(Rows<T> f, Rows<T> k, Rows<T> v, const float* hk, const float* hv,
                               const float* grad_k, const float* grad_v, const float* start_k,
                               const float* start_v, T* df, T* dk_out, T* dv_out, Grid g) {
  int64_t c, chunk, n, first, last;
  if (!locate(g, c, chunk, n, first, last)) return;
  const int64_t i = summary_index(g, n, chunk, c);
  float dk = start_k[i], dv = start_v[i];
  float a = next_gate(f, n, last - 1, c, g);
  for (int64_t t = last - 1; t >= first; --t) {
    const int64_t o = (n * g.time + t) * g.channels + c;
    dk = a * dk + grad_k[o];
    dv = a * dv + grad_v[o];
    // ∂g/∂f = gate_max · s (1 − s) = g (1 − s), with s = σ(f).
    const float s = sigmoid(f.at(n, t, c)), gate = g.gate_max * s, keep = 1.f - gate;
    const float prev_k = t > 0 ? hk[o - g.channels] : 0.f, prev_v = t > 0 ? hv[o - g.channels] : 0.f;
    const float dgate = dk * (prev_k - k.at(n, t, c)) + dv * (prev_v - v.at(n, t, c));
    df[o] = static_cast<T>(dgate * gate * (1.f - s));
    dk_out[o] = static_cast<T>(keep * dk);
    dv_out[o] = static_cast<T>(keep * dv);
    a = gate;
  }
}

template <typename T>
Rows<T> rows_of(const at::Tensor& x) {
  return {x.data_ptr<T>(), x.stride(0), x.stride(1)};
}

struct Launch {
  Grid grid;
  dim3 blocks, starts_blocks;
  cudaStream_t stream;
  at::Tensor end_k, end_v, product;
};

Launch prepare(const at::Tensor& f, double gate_max) {
  Launch l;
  const int64_t batch = f.size(0), time = f.size(1), channels = f.size(2);
  l.grid = {time, channels, (time + kChunk - 1) / kChunk, static_cast<float>(gate_max)};
  TORCH_CHECK(batch <= 65535 && l.grid.chunks <= 65535,
              "memory_cuda: batch and time / 64 must be below 65536");
  const unsigned channel_blocks = static_cast<unsigned>((channels + kThreads - 1) / kThreads);
  l.blocks = dim3(channel_blocks, static_cast<unsigned>(l.grid.chunks), static_cast<unsigned>(batch));
  l.starts_blocks = dim3(channel_blocks, static_cast<unsigned>(batch));
  l.stream = at::cuda::getCurrentCUDAStream();
  const auto opts = f.options().dtype(at::kFloat);
  l.end_k = at::empty({batch, l.grid.chunks, channels}, opts);
  l.end_v = at::empty_like(l.end_k);
  l.product = at::empty_like(l.end_k);
  return l;
}

}  // namespace

std::pair<at::Tensor, at::Tensor> memory_forward_cuda(const at::Tensor& f, const at::Tensor& k,
                                                      const at::Tensor& v, double gate_max) {
  const c10::cuda::CUDAGuard guard(f.device());
  const auto opts = f.options().dtype(at::kFloat);
  at::Tensor hk = at::empty(f.sizes(), opts), hv = at::empty(f.sizes(), opts);
  if (f.numel() == 0) return {hk, hv};
  Launch l = prepare(f, gate_max);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, f.scalar_type(), "memory_forward_cuda", [&] {
    const Rows<scalar_t> rf = rows_of<scalar_t>(f), rk = rows_of<scalar_t>(k), rv = rows_of<scalar_t>(v);
    forward_summaries<<<l.blocks, kThreads, 0, l.stream>>>(rf, rk, rv, l.end_k.data_ptr<float>(),
                                                           l.end_v.data_ptr<float>(),
                                                           l.product.data_ptr<float>(), l.grid);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    chunk_starts<<<l.starts_blocks, kThreads, 0, l.stream>>>(
        l.end_k.data_ptr<float>(), l.end_v.data_ptr<float>(), l.product.data_ptr<float>(), l.grid, false);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    forward_scans<<<l.blocks, kThreads, 0, l.stream>>>(rf, rk, rv, l.end_k.data_ptr<float>(),
                                                       l.end_v.data_ptr<float>(), hk.data_ptr<float>(),
                                                       hv.data_ptr<float>(), l.grid);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {hk, hv};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> memory_backward_cuda(const at::Tensor& grad_hk,
                                                                    const at::Tensor& grad_hv,
                                                                    const at::Tensor& f, const at::Tensor& k,
                                                                    const at::Tensor& v, const at::Tensor& hk,
                                                                    const at::Tensor& hv, double gate_max) {
  const c10::cuda::CUDAGuard guard(f.device());
  at::Tensor df = at::empty(f.sizes(), f.options()), dk = at::empty_like(df), dv = at::empty_like(df);
  if (f.numel() == 0) return {df, dk, dv};
  Launch l = prepare(f, gate_max);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, f.scalar_type(), "memory_backward_cuda", [&] {
    const Rows<scalar_t> rf = rows_of<scalar_t>(f), rk = rows_of<scalar_t>(k), rv = rows_of<scalar_t>(v);
    backward_summaries<<<l.blocks, kThreads, 0, l.stream>>>(
        rf, grad_hk.data_ptr<float>(), grad_hv.data_ptr<float>(), l.end_k.data_ptr<float>(),
        l.end_v.data_ptr<float>(), l.product.data_ptr<float>(), l.grid);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    chunk_starts<<<l.starts_blocks, kThreads, 0, l.stream>>>(
        l.end_k.data_ptr<float>(), l.end_v.data_ptr<float>(), l.product.data_ptr<float>(), l.grid, true);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    backward_scans<<<l.blocks, kThreads, 0, l.stream>>>(
        rf, rk, rv, hk.data_ptr<float>(), hv.data_ptr<float>(), grad_hk.data_ptr<float>(),
        grad_hv.data_ptr<float>(), l.end_k.data_ptr<float>(), l.end_v.data_ptr<float>(),
        df.data_ptr<scalar_t>(), dk.data_ptr<scalar_t>(), dv.data_ptr<scalar_t>(), l.grid);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {df, dk, dv};
}

}  // namespace ratkv::train

// CUDA kernels of rms_norm (rms_norm.h). One warp per row; a row of d ≤ 1024 lives in registers, lane ℓ
// holding columns ℓ, ℓ + 32, … (coalesced loads). Shapes: x [rows, d] with unit column stride and row
// stride x_stride; weight [d] fp32; y, ∂x [rows, d] contiguous; rstd [rows] fp32.
//   forward:  r = rsqrt(Σ x² / d + eps), y = (x · r) · w, rounded once to y's dtype
//   backward: ∂x = r · w · ∂y − x · r³ · (Σ_j w_j ∂y_j x_j) / d,  ∂w = Σ_rows ∂y · x · r
// ∂w is summed in a fixed order — per warp over its rows, then per block over its warps into one
// partial row per block, then a torch sum over the blocks — so it is the same on every run (no atomics).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <type_traits>

namespace ratkv::train {

std::pair<at::Tensor, at::Tensor> rms_norm_forward_cuda(const at::Tensor& x, const at::Tensor& weight,
                                                        double eps, at::ScalarType out_dtype);
std::pair<at::Tensor, at::Tensor> rms_norm_backward_cuda(const at::Tensor& grad_y, const at::Tensor& x,
                                                         const at::Tensor& weight, const at::Tensor& rstd);

namespace {

constexpr int kWarps = 8;  // rows in flight per block
// Rows up to 32 columns per lane (with_per_lane): 1024, kRmsNormCudaMaxWidth in rms_norm.h, which this
// file cannot include (it pulls in the torch C++ frontend).
constexpr int kMaxWidth = 1024;
constexpr int kMaxBlocks = 1024;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <int kPerLane, typename In, typename Out>
__global__ void __launch_bounds__(kWarps * 32)
    forward_rows(const In* __restrict__ x, int64_t x_stride, const float* __restrict__ w, Out* __restrict__ y,
                 float* __restrict__ rstd, int64_t rows, int d, float eps) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + warp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarps) {
    float v[kPerLane];
    float squares = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      v[i] = c < d ? static_cast<float>(x[row * x_stride + c]) : 0.f;
      squares += v[i] * v[i];
    }
    const float r = rsqrtf(warp_sum(squares) / static_cast<float>(d) + eps);
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      if (c < d) y[row * d + c] = static_cast<Out>(v[i] * r * w[c]);
    }
    if (lane == 0) rstd[row] = r;
  }
}

template <int kPerLane, typename In, typename Out>
__global__ void __launch_bounds__(kWarps * 32)
    backward_rows(const Out* __restrict__ grad_y, const In* __restrict__ x, int64_t x_stride,
                  const float* __restrict__ w, const float* __restrict__ rstd, In* __restrict__ grad_x,
                  float* __restrict__ grad_w_partial, int64_t rows, int d) {
  __shared__ float warp_partials[kWarps][kPerLane * 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float wv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + 32 * i;
    wv[i] = c < d ? w[c] : 0.f;
    acc[i] = 0.f;
  }
  for (int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + warp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarps) {
    float v[kPerLane], g[kPerLane];
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      v[i] = c < d ? static_cast<float>(x[row * x_stride + c]) : 0.f;
      g[i] = c < d ? static_cast<float>(grad_y[row * d + c]) : 0.f;
      dot += wv[i] * g[i] * v[i];
    }
    const float r = rstd[row];
    const float correction = warp_sum(dot) * r * r * r / static_cast<float>(d);
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      if (c < d) grad_x[row * d + c] = static_cast<In>(r * wv[i] * g[i] - v[i] * correction);
      acc[i] += g[i] * v[i] * r;
    }
  }
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) warp_partials[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float sum = 0.f;
    for (int k = 0; k < kWarps; ++k) sum += warp_partials[k][c];
    grad_w_partial[blockIdx.x * static_cast<int64_t>(d) + c] = sum;
  }
}

// Calls body.template operator()<kPerLane>() with the smallest per-lane width that holds d.
template <typename Body>
void with_per_lane(int d, Body&& body) {
  if (d <= 32)
    body(std::integral_constant<int, 1>{});
  else if (d <= 64)
    body(std::integral_constant<int, 2>{});
  else if (d <= 128)
    body(std::integral_constant<int, 4>{});
  else if (d <= 256)
    body(std::integral_constant<int, 8>{});
  else if (d <= 512)
    body(std::integral_constant<int, 16>{});
  else
    body(std::integral_constant<int, 32>{});
}

// Calls body(In{}, Out{}) for the (fp32 | bf16) × (fp32 | bf16) pair given.
template <typename Body>
void with_types(at::ScalarType in, at::ScalarType out, Body&& body) {
  auto with_out = [&](auto in_tag) {
    if (out == at::kFloat)
      body(in_tag, float{});
    else
      body(in_tag, at::BFloat16{});
  };
  if (in == at::kFloat)
    with_out(float{});
  else
    with_out(at::BFloat16{});
}

unsigned blocks_for(int64_t rows) {
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>((rows + kWarps - 1) / kWarps, kMaxBlocks)));
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rms_norm_forward_cuda(const at::Tensor& x, const at::Tensor& weight,
                                                        double eps, at::ScalarType out_dtype) {
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t rows = x.size(0);
  const int d = static_cast<int>(x.size(1));
  TORCH_CHECK(d <= kMaxWidth && x.stride(1) == 1,
              "rms_norm_forward_cuda: rows of at most 1024 unit-stride columns");
  at::Tensor y = at::empty({rows, d}, x.options().dtype(out_dtype));
  at::Tensor rstd = at::empty({rows}, x.options().dtype(at::kFloat));
  if (rows == 0) return {y, rstd};
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  with_types(x.scalar_type(), out_dtype, [&](auto in_tag, auto out_tag) {
    using In = decltype(in_tag);
    using Out = decltype(out_tag);
    with_per_lane(d, [&](auto per_lane) {
      forward_rows<decltype(per_lane)::value, In, Out><<<blocks_for(rows), kWarps * 32, 0, stream>>>(
          x.data_ptr<In>(), x.stride(0), weight.data_ptr<float>(), y.data_ptr<Out>(), rstd.data_ptr<float>(),
          rows, d, static_cast<float>(eps));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {y, rstd};
}

std::pair<at::Tensor, at::Tensor> rms_norm_backward_cuda(const at::Tensor& grad_y, const at::Tensor& x,
                                                         const at::Tensor& weight, const at::Tensor& rstd) {
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t rows = x.size(0);
  const int d = static_cast<int>(x.size(1));
  TORCH_CHECK(grad_y.is_contiguous() && grad_y.sizes() == x.sizes(),
              "rms_norm_backward_cuda: grad_y [rows, d]");
  at::Tensor grad_x = at::empty({rows, d}, x.options());
  const unsigned blocks = blocks_for(rows);
  at::Tensor partial = at::zeros({static_cast<int64_t>(blocks), d}, x.options().dtype(at::kFloat));
  if (rows > 0) {
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    with_types(x.scalar_type(), grad_y.scalar_type(), [&](auto in_tag, auto out_tag) {
      using In = decltype(in_tag);
      using Out = decltype(out_tag);
      with_per_lane(d, [&](auto per_lane) {
        backward_rows<decltype(per_lane)::value, In, Out><<<blocks, kWarps * 32, 0, stream>>>(
            grad_y.data_ptr<Out>(), x.data_ptr<In>(), x.stride(0), weight.data_ptr<float>(),
            rstd.data_ptr<float>(), grad_x.data_ptr<In>(), partial.data_ptr<float>(), rows, d);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    });
  }
  return {grad_x, partial.sum(0)};
}

}  // namespace ratkv::train

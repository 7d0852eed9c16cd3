// CUDA kernel of rotary (rope.h): one thread per rotated pair (channel i with i + D/2) of one
// (sequence, position, head). Shapes: x [B, T, H, D] with unit channel stride and any other strides;
// cos, sin [T_table, 1, D] fp32 contiguous (rope.h's table: entries i and i + D/2 hold the same angle);
// y [B, T, H, D] contiguous in out_dtype.
//   forward (R(θ)):   y_i = x_i cos θ − x_{i+D/2} sin θ,   y_{i+D/2} = x_{i+D/2} cos θ + x_i sin θ
//   inverse (R(−θ)):  the same with sin θ negated — the transpose, hence the backward of the forward
// That is apply_rope's x·cos + rotate_half(x)·sin with the table's own entries, in fp32, one rounding.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

namespace ratkv::train {

at::Tensor rope_cuda(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     at::ScalarType out_dtype, bool inverse);

namespace {

constexpr int kThreads = 256;

struct Shape {
  int64_t batch, time, heads, half;
  int64_t stride_b, stride_t, stride_h;
};

template <typename In, typename Out>
__global__ void rotate(const In* __restrict__ x, const float* __restrict__ cos, const float* __restrict__ sin,
                       Out* __restrict__ y, Shape s, float sign) {
  const int64_t pairs = s.batch * s.time * s.heads * s.half;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < pairs;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = idx % s.half;
    int64_t rest = idx / s.half;
    const int64_t h = rest % s.heads;
    rest /= s.heads;
    const int64_t t = rest % s.time, n = rest / s.time;
    const In* in = x + n * s.stride_b + t * s.stride_t + h * s.stride_h;
    const float x1 = static_cast<float>(in[i]), x2 = static_cast<float>(in[i + s.half]);
    const int64_t dim = 2 * s.half, table = t * dim;
    const float c1 = cos[table + i], s1 = sign * sin[table + i];
    const float c2 = cos[table + i + s.half], s2 = sign * sin[table + i + s.half];
    Out* out = y + idx / s.half * dim;
    out[i] = static_cast<Out>(x1 * c1 - x2 * s1);
    out[i + s.half] = static_cast<Out>(x2 * c2 + x1 * s2);
  }
}

}  // namespace

at::Tensor rope_cuda(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     at::ScalarType out_dtype, bool inverse) {
  const c10::cuda::CUDAGuard guard(x.device());
  TORCH_CHECK(x.dim() == 4 && x.stride(3) == 1 && x.size(3) % 2 == 0,
              "rope_cuda: x [B, T, H, D], unit channel stride");
  TORCH_CHECK(
      cos.is_contiguous() && sin.is_contiguous() && cos.size(2) == x.size(3) && cos.size(0) >= x.size(1),
      "rope_cuda: table [T, 1, D] covering x");
  at::Tensor y = at::empty(x.sizes(), x.options().dtype(out_dtype));
  const Shape s{x.size(0), x.size(1), x.size(2), x.size(3) / 2, x.stride(0), x.stride(1), x.stride(2)};
  const int64_t pairs = s.batch * s.time * s.heads * s.half;
  if (pairs == 0) return y;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>((pairs + kThreads - 1) / kThreads, 65535 * 8));
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const float sign = inverse ? -1.f : 1.f;
  auto launch = [&](auto in_tag, auto out_tag) {
    using In = decltype(in_tag);
    using Out = decltype(out_tag);
    rotate<In, Out><<<blocks, kThreads, 0, stream>>>(x.data_ptr<In>(), cos.data_ptr<float>(),
                                                     sin.data_ptr<float>(), y.data_ptr<Out>(), s, sign);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  };
  auto with_out = [&](auto in_tag) {
    if (out_dtype == at::kFloat)
      launch(in_tag, float{});
    else
      launch(in_tag, at::BFloat16{});
  };
  if (x.scalar_type() == at::kFloat)
    with_out(float{});
  else
    with_out(at::BFloat16{});
  return y;
}

}  // namespace ratkv::train

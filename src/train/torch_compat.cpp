#include "train/torch_compat.h"

#include <chrono>

#include "base/error.h"

#ifdef RATKV_TRAIN_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ratkv::train {

bool cuda_available() {
#ifdef RATKV_TRAIN_CUDA
  return torch::cuda::is_available();
#else
  return false;
#endif
}

torch::Device parse_device(const std::string& text, const std::string& flag) {
  if (text == "cpu") return torch::kCPU;
  if (text.rfind("cuda", 0) == 0) {
    require(cuda_available(), flag, " ", text,
            ": this ratkv-train was built without CUDA kernels or no GPU is visible (use cpu)");
    return torch::Device(text);
  }
  fail(flag, " must be cpu or cuda[:N], got \"", text, "\"");
}

void set_current_device(const torch::Device& device) {
#ifdef RATKV_TRAIN_CUDA
  if (device.is_cuda()) c10::cuda::set_device(device.has_index() ? device.index() : 0);
#endif
}

double synchronized_seconds(const torch::Device& device) {
#ifdef RATKV_TRAIN_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace ratkv::train

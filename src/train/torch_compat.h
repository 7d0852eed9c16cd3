#pragma once
// The few places where libtorch 1.13 (Debian, CPU: tests and CI) and 2.x (the GPU image) differ. Every
// trainer file includes libtorch through this header and uses only APIs present in both, or the
// wrappers below.
#include <torch/torch.h>
#include <torch/version.h>

#define RATKV_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace ratkv::train {

// True when this build has the CUDA scan kernel and a GPU is visible.
bool cuda_available();

// "cpu" or "cuda[:i]" → a device; the error names the flag.
torch::Device parse_device(const std::string& text, const std::string& flag);

// Makes `device` the current CUDA device (NCCL and the scan kernel launch on the current device).
void set_current_device(const torch::Device& device);

// Seconds on a monotonic clock, synchronizing the device first so timings cover queued GPU work.
double synchronized_seconds(const torch::Device& device);

}  // namespace ratkv::train

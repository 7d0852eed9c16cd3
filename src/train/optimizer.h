#pragma once
// AdamW (decoupled weight decay, PyTorch's update order) over named parameter groups, and the learning
// rate schedule. Written out rather than torch::optim::AdamW so that its state is plain named tensors
// (checkpointed by parameter name, resumed exactly) and so it behaves the same in libtorch 1.13 and 2.x.
#include <string>
#include <vector>

#include "train/model.h"

namespace ratkv::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;          // applied to matrices (dim >= 2) only: not to norms or biases
  double memory_lr_multiplier = 1.0;  // learning rate factor for is_memory_parameter() tensors
};

class AdamW {
 public:
  AdamW(std::vector<NamedParam> params, const AdamWOptions& options);

  // One update with base learning rate `lr` from the gradients in the parameters' .grad().
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }

  // Global L2 norm of all gradients (a 0-dim device tensor, so no host sync); when max_norm > 0 the
  // gradients are multiplied by min(1, max_norm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_ does.
  torch::Tensor clip_grad_norm(double max_norm);
  // The gradients of every parameter (defined or not), in parameter order.
  std::vector<torch::Tensor> gradients();

  // State for checkpoints: "adam.m.<name>", "adam.v.<name>" plus the step count.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, int64_t steps);

 private:
  struct Slot {
    NamedParam param;
    torch::Tensor m, v;
    double lr_multiplier, weight_decay;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

// Linear warmup from 0 to peak over `warmup` steps, then cosine from peak to floor at `total` steps.
// step is 0-based: the rate used by optimizer step number `step`.
double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double floor);

}  // namespace ratkv::train

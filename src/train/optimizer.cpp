#include "train/optimizer.h"

#include <cmath>
#include <map>

#include "base/error.h"

namespace ratkv::train {

AdamW::AdamW(std::vector<NamedParam> params, const AdamWOptions& options) : options_(options) {
  for (auto& p : params) {
    Slot s{p, torch::zeros_like(p.tensor), torch::zeros_like(p.tensor),
           is_memory_parameter(p.name) ? options.memory_lr_multiplier : 1.0,
           p.tensor.dim() >= 2 ? options.weight_decay : 0.0};
    slots_.push_back(std::move(s));
  }
}

void AdamW::zero_grad() {
  for (auto& s : slots_) {
    torch::Tensor& g = s.param.tensor.mutable_grad();
    if (g.defined()) g.zero_();
  }
}

torch::Tensor AdamW::clip_grad_norm(double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> squares;
  for (auto& s : slots_)
    if (s.param.tensor.grad().defined()) squares.push_back(s.param.tensor.grad().pow(2).sum());
  if (squares.empty()) return torch::zeros({});
  const torch::Tensor norm = torch::stack(squares).sum().sqrt();
  if (max_norm > 0) {
    const torch::Tensor factor = (max_norm / (norm + 1e-6)).clamp_max(1.0);
    for (auto& s : slots_)
      if (s.param.tensor.grad().defined()) s.param.tensor.mutable_grad().mul_(factor);
  }
  return norm;
}

std::vector<torch::Tensor> AdamW::gradients() {
  std::vector<torch::Tensor> out;
  for (auto& s : slots_) {
    torch::Tensor& g = s.param.tensor.mutable_grad();
    if (!g.defined()) g = torch::zeros_like(s.param.tensor);
    out.push_back(g);
  }
  return out;
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (auto& s : slots_) {
    const torch::Tensor& grad = s.param.tensor.grad();
    if (!grad.defined()) continue;
    torch::Tensor& p = s.param.tensor;
    const double step_lr = lr * s.lr_multiplier;
    if (s.weight_decay != 0.0) p.mul_(1.0 - step_lr * s.weight_decay);
    s.m.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    s.v.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const torch::Tensor denom = (s.v.sqrt() / std::sqrt(bias2)).add_(options_.eps);
    p.addcdiv_(s.m, denom, -step_lr / bias1);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& s : slots_) {
    out.push_back({"adam.m." + s.param.name, s.m});
    out.push_back({"adam.v." + s.param.name, s.v});
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, int64_t steps) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    for (auto [prefix, target] : {std::pair{"adam.m.", &s.m}, std::pair{"adam.v.", &s.v}}) {
      auto it = by_name.find(prefix + s.param.name);
      require(it != by_name.end(), "checkpoint: optimizer state \"", prefix, s.param.name, "\" is missing");
      require(it->second.sizes() == target->sizes(), "checkpoint: optimizer state \"", prefix, s.param.name,
              "\" has shape ", it->second.sizes(), ", expected ", target->sizes());
      target->copy_(it->second);
    }
  }
  steps_ = steps;
}

double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double floor) {
  if (warmup > 0 && step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay_steps = std::max<int64_t>(1, total - warmup);
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(decay_steps));
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace ratkv::train

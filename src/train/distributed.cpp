#include "train/distributed.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "base/error.h"

#if defined(RATKV_TRAIN_GLOO) || defined(RATKV_TRAIN_CUDA)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef RATKV_TRAIN_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef RATKV_TRAIN_CUDA
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace ratkv::train {

namespace {

int env_int(const char* name, int fallback, int min, int max) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  require(*end == '\0' && v >= min && v <= max, "environment variable ", name, "=\"", value,
          "\" must be an integer in [", min, ", ", max, "]");
  return static_cast<int>(v);
}

}  // namespace

RankInfo rank_from_environment() {
  RankInfo info;
  info.world = env_int("WORLD_SIZE", 1, 1, 1024);
  info.rank = env_int("RANK", 0, 0, info.world - 1);
  info.local_rank = env_int("LOCAL_RANK", info.rank, 0, 1023);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) info.master_addr = addr;
  info.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return info;
}

struct Communicator::Impl {
  // all_reduce(tensors, sum) and broadcast(tensors, root 0), bound to whichever process group was made.
  std::function<void(std::vector<at::Tensor>&)> all_reduce, broadcast;
#if defined(RATKV_TRAIN_GLOO) || defined(RATKV_TRAIN_CUDA)
  c10::intrusive_ptr<c10d::Store> store;
#endif
#ifdef RATKV_TRAIN_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef RATKV_TRAIN_CUDA
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
};

bool Communicator::available_for(const torch::Device& device) {
#ifdef RATKV_TRAIN_CUDA
  if (device.is_cuda()) return true;
#endif
#ifdef RATKV_TRAIN_GLOO
  if (device.is_cpu()) return true;
#endif
  return false;
}

Communicator::Communicator(const RankInfo& info, const torch::Device& device)
    : info_(info), device_(device), impl_(std::make_unique<Impl>()) {
  if (info.world == 1) return;
  require(available_for(device), "data parallelism on ", device.str(),
          " is not available in this build (CPU needs libtorch's Gloo headers: libgloo-dev; GPU needs a CUDA "
          "build)");
#if defined(RATKV_TRAIN_GLOO) || defined(RATKV_TRAIN_CUDA)
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(info.master_port);
  options.isServer = info.rank == 0;
  options.numWorkers = static_cast<size_t>(info.world);
  options.timeout = std::chrono::minutes(5);
  impl_->store = c10::make_intrusive<c10d::TCPStore>(info.master_addr, options);
#endif
#ifdef RATKV_TRAIN_CUDA
  if (device.is_cuda()) {
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, info.rank, info.world);
    impl_->nccl = pg;
    impl_->all_reduce = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
    impl_->broadcast = [pg](std::vector<at::Tensor>& t) { pg->broadcast(t)->wait(); };
    return;
  }
#endif
#ifdef RATKV_TRAIN_GLOO
  auto gloo_options = c10d::ProcessGroupGloo::Options::create();
  gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  gloo_options->timeout = std::chrono::minutes(5);
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, info.rank, info.world, gloo_options);
  impl_->gloo = pg;
  impl_->all_reduce = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
  impl_->broadcast = [pg](std::vector<at::Tensor>& t) { pg->broadcast(t)->wait(); };
#endif
}

Communicator::~Communicator() = default;

void Communicator::all_reduce_sum(const std::vector<torch::Tensor>& tensors) {
  if (info_.world == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat{torch::cat([&] {
    std::vector<torch::Tensor> parts;
    for (const auto& t : tensors) parts.push_back(t.reshape({-1}));
    return parts;
  }())};
  impl_->all_reduce(flat);
  int64_t offset = 0;
  for (const auto& t : tensors) {
    const_cast<torch::Tensor&>(t).copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

double Communicator::all_reduce_sum(double value) {
  if (info_.world == 1) return value;
  torch::Tensor t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kDouble).device(device_));
  all_reduce_sum(std::vector<torch::Tensor>{t});
  return t.item<double>();
}

double Communicator::all_reduce_max(double value) {
  if (info_.world == 1) return value;
  // max through the sum of a one-hot per rank: avoids a second reduce op kind.
  torch::Tensor t = torch::zeros({info_.world}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
  t[info_.rank] = value;
  all_reduce_sum(std::vector<torch::Tensor>{t});
  return t.max().item<double>();
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (info_.world == 1) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one{t.detach()};
    impl_->broadcast(one);
  }
}

int launch_local_ranks(int nproc, const std::vector<std::string>& argv) {
  // A free port for the TCPStore: bind port 0, read it back, release it.
  int port = 29500;
  if (int fd = socket(AF_INET, SOCK_STREAM, 0); fd >= 0) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    close(fd);
  }
  std::vector<pid_t> children;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    require(pid >= 0, "--nproc: fork failed");
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv("/proc/self/exe", args.data());
      std::perror("ratkv-train --nproc: exec failed");
      _exit(127);
    }
    children.push_back(pid);
  }
  int result = 0;
  for (size_t remaining = children.size(); remaining > 0; --remaining) {
    int status = 0;
    const pid_t pid = wait(&status);
    if (pid < 0) break;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      for (pid_t other : children)
        if (other != pid) kill(other, SIGTERM);
    }
  }
  return result;
}

}  // namespace ratkv::train

#pragma once
// Data parallelism over the GPUs (or CPU processes) of one machine, through libtorch's c10d process
// groups: NCCL for CUDA tensors, Gloo for CPU tensors (when the build has Gloo's headers). Ranks find each
// other through a TCPStore at MASTER_ADDR:MASTER_PORT, torchrun's environment variables: RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. `ratkv-train … --nproc N` sets them and starts N
// copies of itself (launch_local_ranks).
#include <memory>
#include <string>
#include <vector>

#include "train/torch_compat.h"

namespace ratkv::train {

struct RankInfo {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// From the environment; world 1 when WORLD_SIZE is unset. Errors name the variable at fault.
RankInfo rank_from_environment();

class Communicator {
 public:
  // world == 1 needs no process group and does nothing on every call.
  Communicator(const RankInfo& info, const torch::Device& device);
  ~Communicator();
  int rank() const { return info_.rank; }
  int world() const { return info_.world; }

  // Sums the tensors in place over all ranks (one flattened buffer per call).
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors);
  double all_reduce_sum(double value);
  double all_reduce_max(double value);
  // Makes every rank's tensors equal to rank 0's.
  void broadcast(const std::vector<torch::Tensor>& tensors);

  static bool available_for(const torch::Device& device);

 private:
  struct Impl;
  RankInfo info_;
  torch::Device device_;
  std::unique_ptr<Impl> impl_;
};

// Runs `argv` (this program, without --nproc) as `nproc` ranks with the environment above set; returns
// the first nonzero exit status, killing the other ranks when one fails.
int launch_local_ranks(int nproc, const std::vector<std::string>& argv);

}  // namespace ratkv::train

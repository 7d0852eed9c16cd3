// Data parallelism: 2 ranks (forked by --nproc, Gloo on the CPU) with the same global batch as 1 rank
// that accumulates 2 micro-batches must reach the same parameters (to float summation order).
#include <gtest/gtest.h>

#include <cstdio>

#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

using testing::random_shard;
using testing::temp_dir;

std::vector<std::pair<std::string, torch::Tensor>> params_of(const std::string& run_dir) {
  const Checkpoint header = load_checkpoint_header(checkpoint_path(run_dir));
  TrainModel model(header.config, torch::kCPU, torch::kFloat);
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) names.push_back(p.name);
  return load_checkpoint(checkpoint_path(run_dir), names, {}).params;
}

TEST(DataParallel, TwoRanksMatchOneRankWithTheSameGlobalBatch) {
  if (!Communicator::available_for(torch::kCPU)) GTEST_SKIP() << "this libtorch build has no Gloo headers";
  const std::string dir = temp_dir("dp");
  const std::string data = random_shard(dir, 3000);
  const std::string common =
      "pretrain --data " + data +
      " --family llama --layers 2 --hidden 24 --heads 3 --vocab 61 --memory --seq-len 24"
      " --batch 4 --steps 3 --lr 3e-3 --log-every 1 --quiet --checkpoint-minutes 0";
  auto run = [&](const std::string& args) {
    const std::string command = std::string(RATKV_TRAIN_BINARY) + " " + common + " " + args + " 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run("--run-dir " + dir + "/one --micro-batch 2"), 0);
  ASSERT_EQ(run("--run-dir " + dir + "/two --nproc 2"), 0);
  const auto one = params_of(dir + "/one"), two = params_of(dir + "/two");
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i)
    EXPECT_LT((one[i].second - two[i].second).abs().max().item<double>(), 1e-5) << one[i].first;
}

}  // namespace
}  // namespace ratkv::train

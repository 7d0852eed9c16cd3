// ratkv-train: trains models for the ratkv engine (docs/training.md).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "base/error.h"
#include "train/commands.h"

namespace {

void usage() {
  std::printf(
      "usage: ratkv-train <command> [flags]   (each command takes --help)\n"
      "  pretrain   train from scratch, or continue an exported model (--init-from, --add-memory)\n"
      "  sft        fine-tune on tokenized NIAH examples, loss on answers only\n"
      "  export     checkpoint -> config.json + model.safetensors for ratkv\n"
      "  plot       metrics.jsonl -> SVG loss curve\n"
      "  bench      training throughput (tokens/s) of attention vs memory models\n"
      "Text and tokenizers are handled by ratkv-train-data (corpus, tokenizer, shards, sft-tokens).\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  try {
    using namespace ratkv::train;
    if (command == "pretrain" || command == "sft") return run_train_command(argc - 2, argv + 2, argv[1]);
    if (command == "export") return run_export(argc - 2, argv + 2);
    if (command == "plot") return run_plot(argc - 2, argv + 2);
    if (command == "bench") return run_bench(argc - 2, argv + 2);
    std::fprintf(stderr, "ratkv-train: unknown command \"%s\"\n", command.c_str());
    usage();
    return 1;
  } catch (const ratkv::Error& e) {
    std::fprintf(stderr, "ratkv-train %s: %s\n", command.c_str(), e.what());
  } catch (const std::exception& e) {
    // libtorch reports its own failures (out of memory, NCCL) as c10::Error.
    std::fprintf(stderr, "ratkv-train %s: %s\n", command.c_str(), e.what());
  }
  return 1;
}

// ratkv-train-data: corpus → tokenizer → token shards, and SFT JSONL → tokens (docs/training.md). A
// process apart from ratkv-train because it uses SentencePiece, whose Debian build cannot share a
// process with Debian's libtorch (their protobuf copies clash).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "base/error.h"
#include "train/commands.h"

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf(
        "usage: ratkv-train-data <command> [flags]   (each command takes --help)\n"
        "  corpus      English text from installed Debian documentation packages\n"
        "  tokenizer   train a SentencePiece tokenizer on a corpus\n"
        "  shards      tokenize a corpus into binary token shards\n"
        "  sft-tokens  tokenize SFT JSONL {input, outputs|answer[, answer_prefix]} for ratkv-train sft\n");
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  try {
    using namespace ratkv::train;
    if (command == "corpus") return run_corpus(argc - 2, argv + 2);
    if (command == "tokenizer") return run_tokenizer(argc - 2, argv + 2);
    if (command == "shards") return run_shards(argc - 2, argv + 2);
    if (command == "sft-tokens") return run_sft_tokens(argc - 2, argv + 2);
    std::fprintf(stderr, "ratkv-train-data: unknown command \"%s\"\n", command.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ratkv-train-data %s: %s\n", command.c_str(), e.what());
  }
  return 1;
}

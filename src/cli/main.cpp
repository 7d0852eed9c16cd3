// ratkv: the command-line entry point. Dispatches to one subcommand; every error is printed once, as
// "ratkv: error: ...", with exit code 1 (2 for usage errors before a subcommand runs).
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "base/error.h"
#include "cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"generate", ratkv::cli::run_generate, "generate text or token ids from a prompt"},
    {"logits", ratkv::cli::run_logits, "write the logits of a prompt to a .npy file [tokens, vocab]"},
    {"inspect", ratkv::cli::run_inspect, "show a model's family, options, parameters and tensors"},
    {"init", ratkv::cli::run_init, "write a randomly initialized model of any family"},
    {"bench", ratkv::cli::run_bench, "measure prefill and decode speed against the machine's limits"},
    {"niah", ratkv::cli::run_niah, "RULER needle-in-a-haystack: prompts, model x method x budget grids"},
    {"report", ratkv::cli::run_report, "statistics, tables and plots of a niah run"},
};

void usage(FILE* out) {
  std::fputs("usage: ratkv <command> [flags]   (ratkv <command> --help for its flags)\n\ncommands:\n", out);
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const ratkv::Error& e) {
      std::fprintf(stderr, "ratkv: error: %s\n", e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "ratkv: error: out of memory\n");
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ratkv: error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "ratkv: error: unknown command \"%s\"\n", argv[1]);
  usage(stderr);
  return 2;
}

#pragma once
// One function per subcommand; each returns the process exit code and throws ratkv::Error on bad input.
namespace ratkv::cli {
int run_generate(int argc, char** argv);
int run_logits(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_init(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_niah(int argc, char** argv);
int run_report(int argc, char** argv);
}  // namespace ratkv::cli

#pragma once
// ratkv-train's subcommands, one file each; each returns the exit code and throws ratkv::Error on bad
// input (main prints it and exits 1).
namespace ratkv::train {
int run_train_command(int argc, char** argv, const char* mode);  // pretrain, sft
int run_export(int argc, char** argv);
int run_plot(int argc, char** argv);
int run_bench(int argc, char** argv);
// ratkv-train-data (no libtorch in that process: see sft_tokens.h)
int run_corpus(int argc, char** argv);
int run_tokenizer(int argc, char** argv);
int run_shards(int argc, char** argv);
int run_sft_tokens(int argc, char** argv);
}  // namespace ratkv::train

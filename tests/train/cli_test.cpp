// The command-line pipeline end to end, through the ratkv-train-data and ratkv-train binaries: corpus
// JSONL → tokenizer → shards → pretrain → export → plot, RULER-style JSONL → SFT tokens → sft, and clear
// errors with a nonzero exit for bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "base/rng.h"
#include "model/model.h"
#include "train/data_source.h"
#include "train/sft_tokens.h"
#include "train_test_util.h"

namespace ratkv::train {
namespace {

using testing::temp_dir;

struct CommandResult {
  int code;
  std::string output;
};

CommandResult run_program(const std::string& program, const std::string& args) {
  const std::string command = program + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}
CommandResult run(const std::string& args) {
  return run_program(RATKV_TRAIN_BINARY, args);
}
CommandResult run_data(const std::string& args) {
  return run_program(RATKV_TRAIN_DATA_BINARY, args);
}

// A small corpus of made-up sentences, enough for a 320-piece BPE.
std::string write_corpus(const std::string& dir) {
  const char* words[] = {"the",    "model", "reads", "a",      "long",      "story", "about",
                         "memory", "and",   "keys",  "values", "attention", "token", "number",
                         "is",     "small", "large", "river",  "mountain",  "light"};
  Rng rng(3);
  std::ofstream out(dir + "/corpus.jsonl");
  for (int d = 0; d < 60; ++d) {
    std::string text;
    for (int p = 0; p < 5; ++p) {
      for (int w = 0; w < 30; ++w) text += std::string(w ? " " : "") + words[rng.below(20)];
      text += ' ';  // appended piece by piece: `" " + std::to_string(...)` trips GCC 12's -Wstringop-overflow
      text += std::to_string(rng.below(100000));
      text += ".\n";
    }
    text.pop_back();
    out << Json{{"source", "test"}, {"text", text}}.dump() << "\n";
  }
  return dir + "/corpus.jsonl";
}

// corpus → tokenizer → shards, once per test process; a failure is reported by every test that needs it.
class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    static const std::string error = [] {
      dir_ = temp_dir("pipeline");
      const std::string corpus = write_corpus(dir_);
      const CommandResult tok =
          run_data("tokenizer --corpus " + corpus + " --vocab 320 --threads 1 --out " + dir_ + "/tok.model");
      if (tok.code != 0) return "tokenizer failed:\n" + tok.output;
      const CommandResult shards =
          run_data("shards --corpus " + corpus + " --tokenizer " + dir_ + "/tok.model --out " + dir_ +
                   "/shards --shard-tokens 3000 --threads 2");
      if (shards.code != 0) return "shards failed:\n" + shards.output;
      return std::string();
    }();
    ASSERT_TRUE(error.empty()) << error;
  }
  static inline std::string dir_;
};

TEST_F(Pipeline, ShardsCarryTheTokenizersVocabularyAndEos) {
  const TokenShards shards(dir_ + "/shards");
  EXPECT_EQ(shards.vocab_size(), 320u);
  EXPECT_EQ(shards.eos_id(), 2u);
  EXPECT_GT(shards.size(), 3000u) << "several shards";
  std::vector<int64_t> head(64);
  shards.read(0, head);
  EXPECT_TRUE(std::all_of(head.begin(), head.end(), [](int64_t t) { return t >= 3 && t < 320; }))
      << "ordinary text tokens, no unk/bos/eos inside a document";
}

TEST_F(Pipeline, PretrainExportAndPlot) {
  const std::string run_dir = dir_ + "/run";
  const CommandResult trained =
      run("pretrain --data " + dir_ + "/shards --tokenizer " + dir_ +
          "/tok.model --family ratplus --layers 2 --hidden 32 --heads 4 --run-dir " + run_dir +
          " --seq-len 32 --batch 4 --steps 4 --joint-dilated 8 --log-every 2 --quiet");
  ASSERT_EQ(trained.code, 0) << trained.output;
  const CommandResult exported =
      run("export --checkpoint " + run_dir + " --out " + dir_ + "/model --dtype bf16");
  ASSERT_EQ(exported.code, 0) << exported.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/model/tokenizer.model"));
  const auto model = Model::load(dir_ + "/model");
  EXPECT_EQ(model->config().vocab_size, 320);
  EXPECT_TRUE(model->config().has_memory());
  const CommandResult plot = run("plot --metrics " + run_dir + " --out " + dir_ + "/loss.svg");
  ASSERT_EQ(plot.code, 0) << plot.output;
  std::ifstream svg(dir_ + "/loss.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<polyline"), std::string::npos);
}

TEST_F(Pipeline, SftLabelsOnlyTheAnswerAndItsEos) {
  std::ofstream(dir_ + "/sft.jsonl")
      << R"({"input": "the number is", "outputs": ["42", "7"], "answer_prefix": " answer:"})"
      << "\n"
      << R"({"input": "the river is", "answer": "long"})"
      << "\n";
  const CommandResult tokens = run_data("sft-tokens --data " + dir_ + "/sft.jsonl --tokenizer " + dir_ +
                                        "/tok.model --out " + dir_ + "/sft.bin");
  ASSERT_EQ(tokens.code, 0) << tokens.output;
  const SftFile file = read_sft_file(dir_ + "/sft.bin");
  ASSERT_EQ(file.examples.size(), 2u);
  EXPECT_EQ(file.eos_id, 2u);
  const SftSource source(dir_ + "/sft.bin", SftOptions{48, 0});
  int matched = 0;
  for (int64_t r = 0; r < 2; ++r) {
    std::vector<int64_t> in(48), labels(48);
    source.row(r, in.data(), labels.data());
    std::vector<int32_t> answer;
    for (size_t t = 0; t < 48; ++t)
      if (labels[t] != kIgnoreLabel) {
        if (t + 1 < 48) {
          EXPECT_EQ(labels[t], in[t + 1]) << "a label is the next input token";
        }
        answer.push_back(static_cast<int32_t>(labels[t]));
      }
    for (const auto& e : file.examples) matched += answer == e.target;  // exactly the target, EOS included
  }
  EXPECT_EQ(matched, 2);
  // The "42, 7" target is longer than "long": outputs were joined.
  EXPECT_GT(file.examples[0].target.size(), 3u);

  const CommandResult sft = run("sft --data " + dir_ + "/sft.bin --tokenizer " + dir_ +
                                "/tok.model --family llama --layers 1 --hidden 16 --heads 2 --run-dir " +
                                dir_ + "/sft_run --seq-len 48 --batch 2 --steps 2 --quiet");
  EXPECT_EQ(sft.code, 0) << sft.output;
}

TEST(Cli, ErrorsNameTheFlagAndExitNonzero) {
  const std::string dir = temp_dir("cli");
  CommandResult r =
      run("pretrain --family llama --layers 1 --hidden 16 --vocab 50 --run-dir " + dir + " --steps 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--data"), std::string::npos) << r.output;
  r = run("pretrain --data " + dir + "/none.tok --family llama --layers 1 --hidden 16 --vocab 50 --run-dir " +
          dir + " --steps 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("none.tok"), std::string::npos) << r.output;
  r = run("export --checkpoint " + dir + "/missing.pt --out " + dir + "/x");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("missing.pt"), std::string::npos) << r.output;
  r = run("frobnicate");
  EXPECT_NE(r.code, 0);
}

}  // namespace
}  // namespace ratkv::train

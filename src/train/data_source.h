#pragma once
// Where training rows come from, in a deterministic order. A row is `seq_len` input tokens and as many
// labels (the next token, or −100 where no loss is taken). Row number i of the whole run is a pure
// function of (seed, i): the trainer's data cursor is just the number of rows consumed, so resuming
// needs no other state, and data-parallel ranks read disjoint row numbers (trainer.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/sft_tokens.h"
#include "train/token_shards.h"
#include "train/torch_compat.h"

namespace ratkv::train {

constexpr int64_t kIgnoreLabel = -100;

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual int64_t rows_per_epoch() const = 0;
  virtual int64_t seq_len() const = 0;
  // Fills inputs[seq_len] and labels[seq_len] for global row number `index` (any epoch).
  virtual void row(int64_t index, int64_t* inputs, int64_t* labels) const = 0;
  virtual std::string describe() const = 0;
};

// Pretraining: the token stream cut into non-overlapping windows of seq_len + 1 tokens (RAT+'s fixed-
// length windows), visited in a fresh seeded permutation each epoch. As in RAT+ (ignore_input_index),
// the label after an EOS is ignored: predicting a new document's first token from the previous one is
// noise.
class PretrainSource : public DataSource {
 public:
  PretrainSource(const std::string& shards, int64_t seq_len, uint64_t seed);
  int64_t rows_per_epoch() const override { return windows_; }
  int64_t seq_len() const override { return seq_len_; }
  void row(int64_t index, int64_t* inputs, int64_t* labels) const override;
  std::string describe() const override;
  const TokenShards& shards() const { return shards_; }

 private:
  TokenShards shards_;
  int64_t seq_len_, windows_;
  uint64_t seed_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<uint32_t> permutation_;
};

// SFT on tokenized examples (sft_tokens.h, made by `ratkv-train-data sft-tokens` from RULER JSONL):
// each example is one row, prompt then target (ending with EOS), padded with EOS to seq_len; the loss is
// on the target tokens only (labels −100 on the prompt and the padding). Examples are shuffled per epoch.
struct SftOptions {
  int64_t seq_len = 4096;
  uint64_t seed = 0;
};

class SftSource : public DataSource {
 public:
  SftSource(const std::string& sft_tokens, const SftOptions& options);
  int64_t rows_per_epoch() const override { return static_cast<int64_t>(file_.examples.size()); }
  int64_t seq_len() const override { return options_.seq_len; }
  void row(int64_t index, int64_t* inputs, int64_t* labels) const override;
  std::string describe() const override;
  uint32_t vocab_size() const { return file_.vocab_size; }
  uint32_t eos_id() const { return file_.eos_id; }

 private:
  SftFile file_;
  SftOptions options_;
  int64_t answer_tokens_ = 0;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<uint32_t> permutation_;
};

// Rows [first, first + count) as int64 tensors [count, seq_len] on `device`.
struct Batch {
  torch::Tensor inputs, labels;
  int64_t labelled = 0;  // labels other than −100, counted on the host (no device sync)
};
Batch make_batch(const DataSource& source, int64_t first, int64_t count, const torch::Device& device);

}  // namespace ratkv::train

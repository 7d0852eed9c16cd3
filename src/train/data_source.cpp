#include "train/data_source.h"

#include "base/error.h"

namespace ratkv::train {

PretrainSource::PretrainSource(const std::string& shards, int64_t seq_len, uint64_t seed)
    : shards_(shards), seq_len_(seq_len), seed_(seed) {
  require(seq_len > 0, "--seq-len must be positive");
  windows_ =
      shards_.size() > 1 ? static_cast<int64_t>((shards_.size() - 1) / static_cast<uint64_t>(seq_len)) : 0;
  require(windows_ > 0, shards, ": ", shards_.size(), " tokens do not fill one window of --seq-len ", seq_len,
          " + 1");
}

void PretrainSource::row(int64_t index, int64_t* inputs, int64_t* labels) const {
  const int64_t epoch = index / windows_;
  if (epoch != cached_epoch_) {
    permutation_ = epoch_permutation(static_cast<uint64_t>(windows_), seed_, static_cast<uint64_t>(epoch));
    cached_epoch_ = epoch;
  }
  const uint64_t window = permutation_[static_cast<size_t>(index % windows_)];
  std::vector<int64_t> tokens(static_cast<size_t>(seq_len_ + 1));
  shards_.read(window * static_cast<uint64_t>(seq_len_), tokens);
  for (int64_t t = 0; t < seq_len_; ++t) {
    inputs[t] = tokens[static_cast<size_t>(t)];
    labels[t] = inputs[t] == shards_.eos_id() ? kIgnoreLabel : tokens[static_cast<size_t>(t + 1)];
  }
}

std::string PretrainSource::describe() const {
  return cat(shards_.size(), " tokens, ", windows_, " windows of ", seq_len_, " (+1)");
}

SftSource::SftSource(const std::string& sft_tokens, const SftOptions& options)
    : file_(read_sft_file(sft_tokens)), options_(options) {
  for (size_t i = 0; i < file_.examples.size(); ++i) {
    const SftExample& e = file_.examples[i];
    const int64_t total = static_cast<int64_t>(e.prompt.size() + e.target.size());
    // Position total − 2 predicts the final EOS, so an example needs total − 1 input positions.
    require(total - 1 <= options_.seq_len, sft_tokens, ": example ", i, " is ", total,
            " tokens, longer than --seq-len ", options_.seq_len, " + 1");
    answer_tokens_ += static_cast<int64_t>(e.target.size());
  }
}

void SftSource::row(int64_t index, int64_t* inputs, int64_t* labels) const {
  const int64_t n = rows_per_epoch();
  const int64_t epoch = index / n;
  if (epoch != cached_epoch_) {
    permutation_ = epoch_permutation(static_cast<uint64_t>(n), options_.seed, static_cast<uint64_t>(epoch));
    cached_epoch_ = epoch;
  }
  const SftExample& e = file_.examples[permutation_[static_cast<size_t>(index % n)]];
  std::vector<int64_t> ids(e.prompt.begin(), e.prompt.end());
  ids.insert(ids.end(), e.target.begin(), e.target.end());
  const int64_t prompt = static_cast<int64_t>(e.prompt.size());
  for (int64_t t = 0; t < options_.seq_len; ++t) {
    const size_t ts = static_cast<size_t>(t);
    inputs[t] = ts < ids.size() ? ids[ts] : file_.eos_id;
    // Position t predicts token t + 1: a label only where token t + 1 is part of the target.
    labels[t] = (t + 1 >= prompt && ts + 1 < ids.size()) ? ids[ts + 1] : kIgnoreLabel;
  }
}

std::string SftSource::describe() const {
  return cat(file_.examples.size(), " SFT examples, ", answer_tokens_, " answer tokens, rows of ",
             options_.seq_len);
}

Batch make_batch(const DataSource& source, int64_t first, int64_t count, const torch::Device& device) {
  const int64_t length = source.seq_len();
  torch::Tensor inputs = torch::empty({count, length}, torch::kLong);
  torch::Tensor labels = torch::empty({count, length}, torch::kLong);
  for (int64_t r = 0; r < count; ++r)
    source.row(first + r, inputs.data_ptr<int64_t>() + r * length, labels.data_ptr<int64_t>() + r * length);
  const int64_t labelled = (labels != kIgnoreLabel).sum().item<int64_t>();
  return {inputs.to(device), labels.to(device), labelled};
}

}  // namespace ratkv::train

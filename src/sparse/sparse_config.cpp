#include "sparse/sparse_config.h"

#include <algorithm>
#include <charconv>

#include "base/error.h"

namespace ratkv {

namespace {

constexpr const char* kMethodNames[] = {"dense", "streaming", "dilated", "quest",
                                        "moba",  "snapkv",    "oracle",  "random"};

bool parse_int(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string sparse_method_name(SparseMethod m) {
  return kMethodNames[static_cast<int>(m)];
}

bool parse_sparse_method(const std::string& text, SparseMethod* out) {
  for (int i = 0; i < 8; ++i)
    if (text == kMethodNames[i]) {
      *out = static_cast<SparseMethod>(i);
      return true;
    }
  return false;
}

bool parse_sparse_preset(const std::string& text, SparsePreset* out) {
  if (text == "seed")
    *out = SparsePreset::Seed;
  else if (text == "original")
    *out = SparsePreset::Original;
  else
    return false;
  return true;
}

SparseBudget SparseBudget::parse(const std::string& text) {
  SparseBudget b;
  const size_t slash = text.find('/');
  if (slash == std::string::npos) {
    require(parse_int(text, &b.tokens),
            "--budget must be a token count like 256 or a fraction like 1/16, got \"", text, "\"");
    require(b.tokens >= 1, "--budget must be at least 1 token, got ", b.tokens);
    return b;
  }
  require(parse_int(text.substr(0, slash), &b.numerator) && parse_int(text.substr(slash + 1), &b.denominator),
          "--budget must be a token count like 256 or a fraction like 1/16, got \"", text, "\"");
  require(b.denominator >= 1, "--budget ", text, ": the denominator must be at least 1");
  require(b.numerator >= 1, "--budget ", text, ": the fraction must be greater than 0");
  require(b.numerator <= b.denominator, "--budget ", text, ": a fraction of the context must be at most 1");
  return b;
}

int64_t SparseBudget::resolve(int64_t visible) const {
  if (tokens > 0) return tokens;
  return std::max<int64_t>(1, visible * numerator / denominator);
}

std::string SparseBudget::to_string() const {
  return tokens > 0 ? std::to_string(tokens) : std::to_string(numerator) + "/" + std::to_string(denominator);
}

bool SparseConfig::layer_is_dense(int64_t layer) const {
  return method == SparseMethod::Dense ||
         std::find(dense_layers.begin(), dense_layers.end(), layer) != dense_layers.end();
}

SparseConfig preset_config(SparsePreset preset, SparseMethod method) {
  SparseConfig c;
  c.method = method;
  if (preset == SparsePreset::Seed) {
    // Seed paper §2.2 / A.1: block 64, every layer sparse, first and local block kept, MoBA at prefill
    // only, SnapKV window 64 (pooling unspecified there: the original's 7 / max).
    return c;
  }
  // The methods' own reference code (sparse_methods.md §1–3): selection per query head.
  c.per_query_head = true;
  switch (method) {
    case SparseMethod::Quest:  // e2e kernels: page 16, last page forced, layers 0 and 1 dense
    case SparseMethod::Random:
    case SparseMethod::Oracle:
      c.first_units = 0;
      c.local_units = 1;
      c.dense_layers = {0, 1};
      break;
    case SparseMethod::Moba:  // released code: block 512, current block counted in top-k, no first block
      c.first_units = 0;
      c.local_units = 1;
      c.moba_block = 512;
      break;
    case SparseMethod::SnapKV:  // LongBench configs: W 32, kernel 7, max pooling
      c.snap_window = 32;
      break;
    case SparseMethod::Streaming:
    case SparseMethod::Dilated:
    case SparseMethod::Dense:
      break;
  }
  return c;
}

int64_t preset_page_size(SparsePreset preset, SparseMethod method) {
  return preset == SparsePreset::Seed ? 64 : 16;
}

int64_t observed_prompt_rows(const SparseConfig& c) {
  return c.method == SparseMethod::SnapKV ? c.snap_window : 0;
}

void validate_sparse_config(const SparseConfig& c, int64_t page_size, int64_t num_layers) {
  require(page_size >= 1, "--page-size must be at least 1, got ", page_size);
  for (int64_t l : c.dense_layers)
    require(l >= 0 && l < num_layers, "--dense-layers: layer ", l, " is outside [0, ", num_layers, ")");
  require(c.first_units >= 0, "--first-blocks must be >= 0, got ", c.first_units);
  require(c.local_units >= 0, "--local-blocks must be >= 0, got ", c.local_units);
  require(c.initial_tokens >= 0, "--initial must be >= 0, got ", c.initial_tokens);
  require(c.local_tokens >= -1, "--local must be >= 0, got ", c.local_tokens);
  require(c.dilation >= 1, "--dilation must be at least 1, got ", c.dilation);
  if (c.method == SparseMethod::Moba) {
    const int64_t block = c.moba_block == 0 ? page_size : c.moba_block;
    require(block >= 1 && block % page_size == 0, "--moba-block ", block,
            " must be a positive multiple of --page-size ", page_size,
            " (block means are summed from page sums)");
    require(c.local_units >= 1,
            "--local-blocks must be at least 1 for moba: the current block is always attended");
  }
  if (c.method == SparseMethod::SnapKV) {
    require(c.snap_window >= 1, "--snap-window must be at least 1, got ", c.snap_window);
    require(c.snap_kernel >= 1 && c.snap_kernel % 2 == 1, "--snap-kernel must be odd and at least 1, got ",
            c.snap_kernel);
    if (c.budget.tokens > 0)
      require(c.snap_window < c.budget.tokens, "--snap-window ", c.snap_window,
              " must be smaller than the budget (the kept capacity C = ", c.budget.tokens, ")");
  }
  if (c.method == SparseMethod::Streaming && c.local_tokens < 0 && c.budget.tokens > 0)
    require(c.budget.tokens > c.initial_tokens, "streaming: the budget ", c.budget.tokens,
            " must exceed --initial ", c.initial_tokens, " to leave room for the recent window");
  const bool scored =
      c.method == SparseMethod::Quest || c.method == SparseMethod::Moba || c.method == SparseMethod::SnapKV;
  require(!c.random_scores || scored, "--random-scores applies to quest, moba and snapkv, not ",
          sparse_method_name(c.method));
}

}  // namespace ratkv

#pragma once
// The one seam between the NIAH runner and the engine. A ModelSession is one loaded model: it tokenizes
// (for length fitting and prompts), and runs the cells of one sample — every arm (sparse method × budget)
// asked for — returning each arm's greedy continuation and diagnostics. Implementations decide how to share
// work between arms: EngineSession (engine_session.cpp), the real one, runs one dense prefill for all arms
// whose prefill is dense and rolls the context back between their decodes; tests also use a fake.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "eval/grid.h"
#include "kernels/cpu/gemm.h"

namespace ratkv::eval {

struct CellInput {
  std::vector<int32_t> prompt;  // input + answer_prefix, tokenized (BOS per the session's setting)
  int64_t max_new_tokens = 128;
  // Token spans [begin, end) of each expected answer inside the prompt, in outputs order: the gold positions
  // of the H1 hit rate. Empty unless diagnostics are on.
  std::vector<std::pair<int64_t, int64_t>> gold_spans;
  bool diagnostics = false;
};

struct CellOutcome {
  std::vector<int32_t> tokens;
  std::string text;  // decoded, cut at the first newline
  std::string stop_reason;
  // A shared prefill's time is divided among the arms that used it, so that the rows' seconds add up to the
  // time spent.
  double prefill_seconds = 0.0, decode_seconds = 0.0;
  Json diagnostics = Json::object();
};

class ModelSession {
 public:
  virtual ~ModelSession() = default;
  // Token ids without special tokens (what RULER counts).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // The ids fed to the model for a prompt (encode, plus BOS if the session adds it).
  virtual std::vector<int32_t> prompt_ids(const std::string& prompt) const = 0;
  // One result per arm, in order.
  virtual std::vector<CellOutcome> run(const std::vector<Arm>& arms, const CellInput& input) = 0;
  // A short description of the tokenizer, so prompts made for one model are reused only by the same one.
  virtual std::string tokenizer_id() const = 0;
};

using SessionFactory = std::function<std::unique_ptr<ModelSession>(const ModelRef&)>;

struct EngineOptions {
  bool add_bos = false;  // RULER and the seed paper's SFT feed the prompt without BOS
  int threads = 0;
  // One dense prefill per sample for every arm whose prefill is exactly the dense one (engine_session.cpp).
  // Off: every arm runs its own prefill — the reference the sharing is tested against.
  bool share_prefill = true;
  MatmulPrecision matmul = MatmulPrecision::F32;  // prefill products (kernels/cpu/gemm.h)
  bool mmap = true;  // false: each model's weights copied into huge-page memory (model.h LoadOptions)
};

// Loads <path> with Model::load and its tokenizer (tokenizer.json or tokenizer.model in the directory).
std::unique_ptr<ModelSession> open_engine_session(const ModelRef& model, const EngineOptions& options);

// The gold schedule of a decode: step t needs the t-th token of the answer being written; answers follow
// each other in outputs order with one separator step (-1) between. An approximation of which position each
// step needs (the model may answer in another order or spelling), documented in docs/niah.md.
std::vector<int64_t> gold_schedule(const std::vector<std::pair<int64_t, int64_t>>& spans, int64_t max_steps);

}  // namespace ratkv::eval

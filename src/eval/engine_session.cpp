// The real ModelSession: a ratkv model and its tokenizer, greedy decoding with the answer prefix already in
// the prompt, stopping at EOS, a newline or the token limit.
//
// SPARSE SEAM: arms become InferenceOptions through arm_config() (sparse_arms.cpp); with diagnostics on, a
// SparseStats collector is attached for the decode and its per-head strict hit, captured mass and oracle
// overlap are returned. Prefill sharing: every arm currently runs its own prefill. Arms with a dense prefill
// (MethodLabel::dense_prefill) could share one once InferenceContext can restore a prefilled state (KV cache
// length + memory state) and switch its SparseConfig; run() already receives all arms of a sample together
// so that change stays inside this file.
#include <algorithm>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "eval/cell_runner.h"
#include "eval/sparse_arms.h"
#include "generate/generate.h"
#include "model/model.h"
#include "sparse/sparse_stats.h"
#include "tokenizer/tokenizer.h"

namespace ratkv::eval {

std::vector<int64_t> gold_schedule(const std::vector<std::pair<int64_t, int64_t>>& spans, int64_t max_steps) {
  std::vector<int64_t> s;
  for (size_t a = 0; a < spans.size(); ++a) {
    if (a > 0) s.push_back(-1);  // the separator between answers (", ")
    for (int64_t p = spans[a].first; p < spans[a].second; ++p) s.push_back(p);
  }
  if (static_cast<int64_t>(s.size()) > max_steps) s.resize(static_cast<size_t>(max_steps));
  return s;
}

namespace {

class EngineSession final : public ModelSession {
 public:
  EngineSession(const ModelRef& ref, const EngineOptions& options) : options_(options) {
    model_ = Model::load(ref.path);
    std::string tok_path;
    for (const char* name : {"tokenizer.json", "tokenizer.model"})
      if (std::filesystem::exists(ref.path + "/" + name)) {
        tok_path = ref.path + "/" + name;
        break;
      }
    require(!tok_path.empty(), "model ", ref.name, " (", ref.path,
            "): no tokenizer.json or tokenizer.model; NIAH prompts are fitted in the model's own tokens");
    tokenizer_ = Tokenizer::load(tok_path);
    tokenizer_id_ = tok_path + ":" + std::to_string(std::filesystem::file_size(tok_path));
    stop_ids_ = model_->config().eos_token_ids;
    if (tokenizer_->eos_id()) stop_ids_.push_back(*tokenizer_->eos_id());
    // Tokens whose text holds a newline end the answer (RULER's post-processing cuts there anyway).
    for (int32_t id = 0; id < tokenizer_->vocab_size(); ++id) {
      const int32_t one[1] = {id};
      if (tokenizer_->decode(one, true).find('\n') != std::string::npos) stop_ids_.push_back(id);
    }
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    return tokenizer_->encode(text, false);
  }

  std::vector<int32_t> prompt_ids(const std::string& prompt) const override {
    std::vector<int32_t> ids;
    if (options_.add_bos && tokenizer_->bos_id()) ids.push_back(*tokenizer_->bos_id());
    const auto body = encode(prompt);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }

  std::string tokenizer_id() const override { return tokenizer_id_; }

  std::vector<CellOutcome> run(const std::vector<Arm>& arms, const CellInput& input) override {
    std::vector<CellOutcome> out;
    for (const auto& arm : arms) out.push_back(run_arm(arm, input));
    return out;
  }

 private:
  InferenceContext& context(const Arm& arm, int64_t needed) {
    const std::string key = arm.method + "@" + arm.budget;
    auto it = contexts_.find(key);
    if (it == contexts_.end() || it->second->max_context() < needed) {
      const ArmConfig a = arm_config(arm);
      InferenceOptions o;
      o.page_size = a.page_size;
      o.sparse = a.sparse;
      o.max_context = std::max<int64_t>(needed, model_->config().max_position_embeddings);
      validate_sparse_config(o.sparse, o.page_size, model_->config().num_layers);
      it = contexts_.insert_or_assign(key, std::make_unique<InferenceContext>(*model_, o)).first;
    }
    it->second->reset();
    return *it->second;
  }

  CellOutcome run_arm(const Arm& arm, const CellInput& input) {
    InferenceContext& ctx = context(arm, static_cast<int64_t>(input.prompt.size()) + input.max_new_tokens);
    const auto& cfg = model_->config();
    std::unique_ptr<SparseStats> stats;
    if (input.diagnostics) {
      stats = std::make_unique<SparseStats>(cfg.num_layers, cfg.num_heads);
      ctx.set_sparse_stats(stats.get());
      stats->begin_sample(gold_schedule(input.gold_spans, input.max_new_tokens));
    }
    GenerateOptions g;
    g.max_new_tokens = input.max_new_tokens;
    g.stop_ids = stop_ids_;
    const GenerateResult r = generate(ctx, input.prompt, g);
    CellOutcome o;
    o.tokens = r.tokens;
    o.stop_reason = r.stop_reason;
    o.prefill_seconds = r.prefill_seconds;
    o.decode_seconds = r.decode_seconds;
    o.text = tokenizer_->decode(r.tokens, true);
    const size_t nl = o.text.find('\n');
    if (nl != std::string::npos) o.text.resize(nl);
    if (stats) {
      stats->end_sample();
      ctx.set_sparse_stats(nullptr);
      o.diagnostics = summarize(*stats, cfg.num_layers, cfg.num_heads);
    }
    return o;
  }

  // Per head: '1' hit at every gold step, '0' missed one, '-' no gold step; plus means over heads.
  static Json summarize(const SparseStats& stats, int64_t layers, int64_t heads) {
    std::string hits;
    double mass = 0.0, overlap = 0.0;
    int64_t counted = 0;
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t h = 0; h < heads; ++h) {
        const auto& s = stats.head(l, h);
        hits += s.gold_samples == 0 ? '-' : (s.strict_hits > 0 ? '1' : '0');
        if (s.steps > 0) mass += s.mean_mass(), overlap += s.mean_oracle_overlap(), ++counted;
      }
    Json j = Json::object();
    j["head_hits"] = hits;
    j["heads"] = heads;
    j["captured_mass"] = counted ? mass / static_cast<double>(counted) : 0.0;
    j["oracle_overlap"] = counted ? overlap / static_cast<double>(counted) : 0.0;
    return j;
  }

  EngineOptions options_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string tokenizer_id_;
  std::vector<int64_t> stop_ids_;
  std::map<std::string, std::unique_ptr<InferenceContext>> contexts_;
};

}  // namespace

std::unique_ptr<ModelSession> open_engine_session(const ModelRef& model, const EngineOptions& options) {
  return std::make_unique<EngineSession>(model, options);
}

}  // namespace ratkv::eval

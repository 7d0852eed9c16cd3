// The real ModelSession: a ratkv model and its tokenizer, greedy decoding with the answer prefix already in
// the prompt, stopping at EOS, a newline or the token limit.
//
// SPARSE SEAM: arms become a SparseConfig and page size through arm_config() (sparse_arms.cpp); with
// diagnostics on, a SparseStats collector is attached for the decode and its per-head strict hit, captured
// mass and oracle overlap are returned.
//
// PREFILL SHARING: the arms of one sample whose prompt attention is exactly the dense one (prefill_is_dense:
// dense, quest, snapkv, oracle, random) and that use the same page size (the cache layout) share one dense
// prefill: prefill once, checkpoint, then per arm switch the SparseConfig (SnapKV observes the kept prompt
// queries), decode, and roll back (InferenceContext::rollback truncates the cache; no copy). Arms whose
// method changes the prompt's attention (moba, streaming, dilated) run their own prefill. The result of each
// arm is bit-identical to its own run (PrefillSharing.EngineSessionSharedPrefillEqualsSeparateRuns).
#include <algorithm>
#include <chrono>
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
    model_ = Model::load(ref.path, LoadOptions{.mmap = options.mmap});
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
    const auto& cfg = model_->config();
    const SelectorShape shape{cfg.num_layers, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, 0};
    std::vector<ArmConfig> configs;
    // Arms that share a prefill, by page size; the others run alone.
    std::map<int64_t, std::vector<size_t>> shared;
    std::vector<size_t> alone;
    for (size_t i = 0; i < arms.size(); ++i) {
      configs.push_back(arm_config(arms[i]));
      validate_sparse_config(configs[i].sparse, configs[i].page_size, cfg.num_layers);
      SelectorShape s = shape;
      s.page_size = configs[i].page_size;
      if (options_.share_prefill && prefill_is_dense(configs[i].sparse, s))
        shared[configs[i].page_size].push_back(i);
      else
        alone.push_back(i);
    }
    const int64_t needed = static_cast<int64_t>(input.prompt.size()) + input.max_new_tokens;
    std::vector<CellOutcome> out(arms.size());
    for (const auto& [page_size, members] : shared) {
      int64_t window = 0;
      for (size_t i : members) window = std::max(window, observed_prompt_rows(configs[i].sparse));
      InferenceContext& ctx = context(page_size, needed);
      ctx.keep_prompt_queries(window);
      std::vector<float> logits;
      const auto start = std::chrono::steady_clock::now();
      ctx.forward(input.prompt, LogitRows::Last, logits);
      const double prefill = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                             static_cast<double>(members.size());
      const InferenceContext::Checkpoint prompt_end = ctx.checkpoint();
      for (size_t k = 0; k < members.size(); ++k) {
        if (k > 0) ctx.rollback(prompt_end);
        out[members[k]] = decode(ctx, configs[members[k]].sparse, input, &logits);
        out[members[k]].prefill_seconds += prefill;
      }
    }
    for (size_t i : alone) {
      InferenceContext& ctx = context(configs[i].page_size, needed);
      ctx.keep_prompt_queries(0);
      out[i] = decode(ctx, configs[i].sparse, input, nullptr);
    }
    return out;
  }

 private:
  // The context of a page size, emptied, with the dense method.
  InferenceContext& context(int64_t page_size, int64_t needed) {
    auto it = contexts_.find(page_size);
    if (it == contexts_.end() || it->second->max_context() < needed) {
      InferenceOptions o;
      o.page_size = page_size;
      o.matmul_precision = options_.matmul;
      o.max_context = std::max<int64_t>(needed, model_->config().max_position_embeddings);
      it = contexts_.insert_or_assign(page_size, std::make_unique<InferenceContext>(*model_, o)).first;
    }
    it->second->reset();
    it->second->set_sparse_config(SparseConfig{});
    return *it->second;
  }

  // Switches ctx to `sparse` and generates: after the shared prefill whose last logits are `*prefilled`, or
  // from the prompt when prefilled is null.
  CellOutcome decode(InferenceContext& ctx, const SparseConfig& sparse, const CellInput& input,
                     const std::vector<float>* prefilled) {
    const auto& cfg = model_->config();
    // Switching after a shared prefill runs what the method observes of the prompt (SnapKV's votes): the
    // arm's own prefill work, so its time is the arm's.
    const auto switch_start = std::chrono::steady_clock::now();
    ctx.set_sparse_config(sparse);
    const double switch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - switch_start).count();
    std::unique_ptr<SparseStats> stats;
    if (input.diagnostics) {
      stats = std::make_unique<SparseStats>(cfg.num_layers, cfg.num_heads);
      ctx.set_sparse_stats(stats.get());
      stats->begin_sample(gold_schedule(input.gold_spans, input.max_new_tokens));
    }
    GenerateOptions g;
    g.max_new_tokens = input.max_new_tokens;
    g.stop_ids = stop_ids_;
    const GenerateResult r =
        prefilled ? generate_after_prefill(ctx, *prefilled, g) : generate(ctx, input.prompt, g);
    CellOutcome o;
    o.tokens = r.tokens;
    o.stop_reason = r.stop_reason;
    o.prefill_seconds = r.prefill_seconds + switch_seconds;
    o.decode_seconds = r.decode_seconds;
    o.text = tokenizer_->decode(r.tokens, true);
    const size_t nl = o.text.find('\n');
    if (nl != std::string::npos) o.text.resize(nl);
    if (stats) {
      stats->end_sample();
      o.diagnostics = summarize(*stats, cfg.num_layers, cfg.num_heads);
    }
    ctx.set_sparse_stats(nullptr);
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
  std::map<int64_t, std::unique_ptr<InferenceContext>> contexts_;  // by page size
};

}  // namespace

std::unique_ptr<ModelSession> open_engine_session(const ModelRef& model, const EngineOptions& options) {
  return std::make_unique<EngineSession>(model, options);
}

}  // namespace ratkv::eval

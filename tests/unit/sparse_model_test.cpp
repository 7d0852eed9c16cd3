// Sparse attention inside the model: memory and attention models run the identical selector code (the
// selection is a function of the query and the stored keys only), a budget covering the context gives
// the dense logits, diagnostics do not change results, and the CLI rejects bad flags clearly.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "model/model.h"
#include "sparse/sparse_stats.h"
#include "sparse_test_util.h"
#include "test_util.h"

namespace ratkv::testing {
namespace {

struct Recorded {
  int64_t layer, head, kv_head, position;
  std::vector<float> q;
  std::set<int64_t> tokens;
  bool dense;
};

class Recorder final : public SelectionObserver {
 public:
  void on_selection(const SelectionEvent& e) override {
    const int64_t dim = e.cache->shape().head_dim;
    events.push_back({e.layer, e.head, e.kv_head, e.position, std::vector<float>(e.q, e.q + dim),
                      tokens_of(*e.spans, e.cache->shape().page_size), e.dense});
  }
  std::vector<Recorded> events;
};

std::vector<int32_t> prompt(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = static_cast<int32_t>(rng.below(97));
  return ids;
}

// Runs a prompt then `steps` greedy-free decode steps (fixed tokens); returns all logits.
std::vector<float> run(InferenceContext& ctx, int64_t prompt_len, int64_t steps) {
  std::vector<float> logits, all;
  ctx.forward(prompt(prompt_len, 3), LogitRows::All, logits);
  all = logits;
  for (int64_t i = 0; i < steps; ++i) {
    const int32_t token = static_cast<int32_t>((i * 31 + 7) % 97);
    ctx.forward(std::span(&token, 1), LogitRows::Last, logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(SparseModel, MemoryAndAttentionModelsRunTheIdenticalSelectorCode) {
  for (bool memory : {true, false}) {
    ModelConfig config = tiny_config(Family::Llama);
    config.memory_layers.assign(2, memory);
    auto model = Model::load(write_tiny_model(config, memory ? "mem" : "attn"));
    InferenceOptions options;
    options.page_size = 4;
    options.sparse = preset_config(SparsePreset::Seed, SparseMethod::Quest);
    options.sparse.per_query_head = true;
    options.sparse.budget.tokens = 12;
    InferenceContext ctx(*model, options);
    Recorder recorder;
    ctx.set_sparse_stats(&recorder);
    run(ctx, 37, 9);
    ASSERT_EQ(recorder.events.size(), 9u * 2 * 4);

    // Replay every selection through a stand-alone selector over a fresh cache holding only the keys the
    // model stored (values zero): the same tokens come out, for the memory model and the plain one alike.
    const KvCache& stored = ctx.cache();
    const KvCacheShape shape = stored.shape();
    auto selector = make_selector(options.sparse, SelectorShape{2, 4, 2, 8, 4});
    SelectScratch scratch;
    std::vector<TokenSpan> spans;
    for (const auto& e : recorder.events) {
      KvCache fresh(shape);
      std::vector<float> k(static_cast<size_t>(shape.num_kv_heads * shape.head_dim)), v(k.size(), 0.0f);
      for (int64_t layer = 0; layer < 2; ++layer)
        for (int64_t t = 0; t <= e.position; ++t) {
          for (int64_t h = 0; h < shape.num_kv_heads; ++h)
            for (int64_t d = 0; d < shape.head_dim; ++d)
              k[static_cast<size_t>(h * shape.head_dim + d)] =
                  load_as_f32(stored.keys(layer, t, h), static_cast<size_t>(d), shape.dtype);
          fresh.append(layer, k.data(), v.data(), 1);
        }
      const int64_t visible = e.position + 1, budget = options.sparse.budget.resolve(visible);
      ASSERT_EQ(e.dense, budget >= visible);
      if (e.dense) continue;
      selector->select(
          SelectRequest{&fresh, e.layer, e.kv_head, e.head, e.q.data(), 1, e.position, budget, 0.0f}, scratch,
          spans);
      EXPECT_EQ(tokens_of(spans, 4), e.tokens)
          << "memory " << memory << " layer " << e.layer << " head " << e.head;
      EXPECT_LE(static_cast<int64_t>(e.tokens.size()), budget);
    }
  }
}

TEST(SparseModel, BudgetCoveringTheContextGivesDenseLogits) {
  for (Family family : {Family::Llama, Family::RatPlus}) {
    ModelConfig config = tiny_config(family);
    auto model = Model::load(write_tiny_model(config, "full"));
    InferenceOptions dense_options;
    dense_options.page_size = 16;
    InferenceContext dense_ctx(*model, dense_options);
    const auto reference = run(dense_ctx, 45, 6);
    for (SparseMethod m : {SparseMethod::Quest, SparseMethod::Moba, SparseMethod::Oracle,
                           SparseMethod::Random, SparseMethod::Streaming, SparseMethod::SnapKV}) {
      InferenceOptions options = dense_options;
      options.sparse = preset_config(SparsePreset::Seed, m);
      options.sparse.budget.tokens = 64;
      options.sparse.moba_decode = true;
      options.sparse.snap_window = 16;
      InferenceContext ctx(*model, options);
      EXPECT_LE(relative_error(run(ctx, 45, 6), reference), 1e-6) << sparse_method_name(m);
    }
  }
}

TEST(SparseModel, StatsDoNotChangeResultsAndTrackStrictHits) {
  ModelConfig config = tiny_config(Family::RatPlus);
  auto model = Model::load(write_tiny_model(config, "stats"));
  InferenceOptions options;
  options.page_size = 4;
  options.sparse = preset_config(SparsePreset::Seed, SparseMethod::Quest);
  options.sparse.budget.tokens = 8;
  InferenceContext plain(*model, options);
  const auto expected = run(plain, 40, 5);

  InferenceContext ctx(*model, options);
  SparseStats stats(config.num_layers, config.num_heads);
  const std::string path = temp_dir("stats") + "/stats.jsonl";
  stats.open_jsonl(path);
  // Gold 0 lies in the forced first page (always hit); gold 38 in the middle (hit only if selected).
  stats.begin_sample({0, 0, 0, 0, 0});
  ctx.set_sparse_stats(&stats);
  EXPECT_EQ(run(ctx, 40, 5), expected);
  stats.end_sample();
  stats.close();
  EXPECT_EQ(stats.steps(), 5);
  for (int64_t l = 0; l < config.num_layers; ++l)
    for (int64_t h = 0; h < config.num_heads; ++h) {
      const auto& s = stats.head(l, h);
      EXPECT_EQ(s.steps, 5);
      EXPECT_GT(s.mean_mass(), 0.0);
      EXPECT_LE(s.mean_mass(), 1.0 + 1e-9);
      EXPECT_GE(s.mean_oracle_overlap(), 0.0);
      EXPECT_EQ(s.gold_samples, 1);
      EXPECT_EQ(s.strict_hit_rate(), 1.0);
    }
  std::ifstream in(path);
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 5 * 2 * 4 + 2 * 4);

  // Dense run: the selection is everything, mass and oracle overlap are 1.
  InferenceContext dense_ctx(*model, InferenceOptions{});
  SparseStats dense_stats(config.num_layers, config.num_heads);
  dense_stats.begin_sample({30, 30, 30});
  dense_ctx.set_sparse_stats(&dense_stats);
  run(dense_ctx, 40, 3);
  dense_stats.end_sample();
  EXPECT_NEAR(dense_stats.head(1, 2).mean_mass(), 1.0, 1e-9);
  EXPECT_NEAR(dense_stats.head(1, 2).mean_oracle_overlap(), 1.0, 1e-9);
  EXPECT_EQ(dense_stats.head(1, 2).strict_hit_rate(), 1.0);
}

TEST(SparseCli, RejectsBadValuesAndCombinationsClearly) {
  const std::string dir = write_tiny_model(tiny_config(Family::Llama), "cli");
  const std::string base = "generate -m " + dir + " --ids 1,2,3,4,5 -n 2 ";
  const std::pair<const char*, const char*> bad[] = {
      {"--sparse quest --budget 0", "--budget must be at least 1"},
      {"--sparse quest --budget 2/1", "at most 1"},
      {"--sparse quest --budget 1/0", "denominator"},
      {"--sparse quest --page-size 0", "--page-size"},
      {"--sparse snapkv --budget 256 --snap-window 300", "--snap-window 300 must be smaller"},
      {"--sparse quest --snap-window 8", "--snap-window does not apply to --sparse quest"},
      {"--budget 1/4", "--budget needs --sparse"},
      {"--sparse nope", "--sparse must be"},
      {"--sparse quest --dense-layers 5", "--dense-layers: layer 5"},
      {"--sparse moba --moba-block 20 --page-size 16", "multiple of --page-size"},
      {"--sparse oracle --random-scores 3", "does not apply"},
      {"--sparse snapkv --budget 128 --snap-kernel 4", "--snap-kernel must be odd"},
  };
  for (const auto& [flags, message] : bad) {
    const auto [status, output] = run_cli(base + flags);
    EXPECT_NE(status, 0) << flags;
    EXPECT_NE(output.find(message), std::string::npos) << flags << " gave: " << output;
  }
  const std::string stats = temp_dir("cli") + "/s.jsonl";
  const auto [status, output] = run_cli(base + "--sparse quest --budget 4 --page-size 2 --sparse-stats " +
                                        stats + " --gold-positions 0,1");
  EXPECT_EQ(status, 0) << output;
  std::ifstream in(stats);
  std::string first;
  std::getline(in, first);
  EXPECT_NE(first.find("\"mass\""), std::string::npos) << first;
}

}  // namespace
}  // namespace ratkv::testing

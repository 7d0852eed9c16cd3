// Prefill sharing: a rollback after a decode leaves no trace in the context (cache bytes, page metadata,
// memory state, position), switching methods after a dense prompt is refused where it would not be exact,
// and the NIAH engine session gives every arm bit-identical outputs and diagnostics with and without
// sharing one dense prefill.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "eval/cell_runner.h"
#include "model/model.h"
#include "test_util.h"

namespace ratkv::testing {
namespace {

// Every stored byte of the cache up to its length: keys, values, page min/max and sums.
std::vector<uint8_t> cache_bytes(const KvCache& cache) {
  const KvCacheShape& s = cache.shape();
  const size_t row = static_cast<size_t>(s.head_dim) * dtype_size(s.dtype);
  std::vector<uint8_t> out;
  auto put = [&out](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  for (int64_t layer = 0; layer < s.num_layers; ++layer) {
    const int64_t length = cache.length(layer);
    put(&length, sizeof length);
    for (int64_t t = 0; t < length; ++t)
      for (int64_t h = 0; h < s.num_kv_heads; ++h) {
        put(cache.keys(layer, t, h), row);
        put(cache.values(layer, t, h), row);
      }
    for (int64_t p = 0; p * s.page_size < length; ++p)
      for (int64_t h = 0; h < s.num_kv_heads; ++h) {
        put(cache.key_min_max(layer, p, h), static_cast<size_t>(cache.min_max_bytes()));
        put(cache.key_sum(layer, p, h), static_cast<size_t>(s.head_dim) * sizeof(float));
      }
  }
  return out;
}

SparseConfig quest(int64_t budget) {
  SparseConfig c = preset_config(SparsePreset::Seed, SparseMethod::Quest);
  c.budget = SparseBudget::parse(std::to_string(budget));
  return c;
}

// Decodes fixed tokens; returns every step's logits.
std::vector<float> decode_fixed(InferenceContext& ctx, int64_t steps, int32_t vocab) {
  std::vector<float> logits, all;
  for (int64_t i = 0; i < steps; ++i) {
    const int32_t token = static_cast<int32_t>((i * 31 + 7) % vocab);
    ctx.forward(std::span(&token, 1), LogitRows::Last, logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(PrefillSharing, RollbackAfterADecodeLeavesNoTrace) {
  for (Family family : {Family::RatPlus, Family::Llama}) {  // memory state (RAT+) and GQA (Llama)
    const ModelConfig config = tiny_config(family);
    auto model = Model::load(write_tiny_model(config, "rollback"));
    InferenceOptions o;
    o.page_size = 4;
    const auto prompt = random_tokens(23, config.vocab_size, 5);  // ends inside a page
    std::vector<float> logits;

    InferenceContext fresh(*model, o);
    fresh.forward(prompt, LogitRows::Last, logits);
    const std::vector<uint8_t> expected_cache = cache_bytes(fresh.cache());
    const std::vector<float> expected = decode_fixed(fresh, 6, static_cast<int32_t>(config.vocab_size));

    InferenceContext ctx(*model, o);
    ctx.keep_prompt_queries(8);
    ctx.forward(prompt, LogitRows::Last, logits);
    const auto prompt_end = ctx.checkpoint();
    // A sparse decode across two page boundaries, then back; twice, to catch reuse of dropped pages.
    for (int round = 0; round < 2; ++round) {
      ctx.set_sparse_config(quest(8));
      const auto sparse = decode_fixed(ctx, 9, static_cast<int32_t>(config.vocab_size));
      ASSERT_NE(std::vector<float>(sparse.begin(), sparse.begin() + expected.size()),
                expected);  // it selected
      ctx.rollback(prompt_end);
      EXPECT_EQ(ctx.position(), 23);
      EXPECT_EQ(cache_bytes(ctx.cache()), expected_cache) << "round " << round;
    }
    ctx.set_sparse_config(SparseConfig{});
    // Identical logits afterwards: the memory state came back too (RAT+ feeds it to every later token).
    EXPECT_EQ(decode_fixed(ctx, 6, static_cast<int32_t>(config.vocab_size)), expected);
  }
}

TEST(PrefillSharing, SwitchingIsRefusedWhereItWouldNotBeExact) {
  const ModelConfig config = tiny_config(Family::Llama);
  auto model = Model::load(write_tiny_model(config, "refuse"));
  InferenceOptions o;
  o.page_size = 4;
  InferenceContext ctx(*model, o);
  std::vector<float> logits;
  ctx.forward(random_tokens(30, config.vocab_size, 2), LogitRows::Last, logits);
  const auto at_prompt = ctx.checkpoint();

  SparseConfig moba = preset_config(SparsePreset::Seed, SparseMethod::Moba);
  moba.moba_block = 4;
  EXPECT_THROW(ctx.set_sparse_config(moba), Error);  // moba's prompt attention is not the dense one
  SparseConfig snap = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
  snap.snap_window = 4;
  snap.budget = SparseBudget::parse("12");
  EXPECT_THROW(ctx.set_sparse_config(snap), Error);  // no prompt queries were kept for its window
  ctx.set_sparse_config(quest(8));
  decode_fixed(ctx, 2, static_cast<int32_t>(config.vocab_size));
  EXPECT_THROW(ctx.set_sparse_config(SparseConfig{}), Error);  // past the prompt: decode already ran
  ctx.rollback(at_prompt);
  ctx.set_sparse_config(SparseConfig{});
  ctx.reset();
  EXPECT_THROW(ctx.rollback(at_prompt), Error);  // a checkpoint of the previous sequence

  // A context that ran moba's prompt cannot hand it to another method either.
  InferenceOptions m = o;
  m.sparse = moba;
  InferenceContext moba_ctx(*model, m);
  moba_ctx.forward(random_tokens(30, config.vocab_size, 2), LogitRows::Last, logits);
  EXPECT_THROW(moba_ctx.set_sparse_config(quest(8)), Error);
}

// A tiny model directory with the shipped tiny Llama tokenizer, so that the engine session can run.
std::string model_with_tokenizer(Family family, const std::string& stem) {
  const std::string tokenizer =
      std::string(RATKV_SOURCE_DIR) + "/tests/fixtures/tokenizer/tiny_llama.tokenizer.json";
  ModelConfig config = tiny_config(family);
  config.vocab_size = 1716;  // the tokenizer's
  config.max_position_embeddings = 1024;
  const std::string dir = write_tiny_model(config, stem);
  std::filesystem::copy_file(tokenizer, dir + "/tokenizer.json");
  return dir;
}

TEST(PrefillSharing, EngineSessionSharedPrefillEqualsSeparateRuns) {
  using eval::Arm;
  const std::vector<Arm> arms = {{"dense", "1"},
                                 {"quest:b=8", "1/4"},
                                 {"snapkv:w=16", "1/4"},
                                 {"oracle", "1/8"},
                                 {"random:b=8", "1/4"},
                                 {"moba:b=8", "1/4"},
                                 {"quest:b=8:random:seed=2", "1/4"},
                                 {"oracle:pages:b=8", "1/4"},
                                 {"snapkv:w=8:random:seed=1", "1/8"},
                                 // Votes computed once per (prompt, window) and reused across budgets.
                                 {"snapkv:w=16", "1/8"},
                                 {"snapkv:w=8", "1/4"},
                                 {"snapkv:w=16", "1/16"}};
  std::string text;
  for (int i = 0; i < 25; ++i)
    text += "The grass is green and the sky is blue number " + std::to_string(i) + ". ";
  for (Family family : {Family::RatPlus, Family::Llama}) {
    const std::string dir = model_with_tokenizer(family, "session");
    eval::EngineOptions shared_options, separate_options;
    separate_options.share_prefill = false;
    auto shared = eval::open_engine_session({"m", dir}, shared_options);
    auto separate = eval::open_engine_session({"m", dir}, separate_options);
    eval::CellInput input;
    input.prompt = shared->prompt_ids(text);
    ASSERT_GT(input.prompt.size(), 300u);
    input.max_new_tokens = 5;
    input.diagnostics = true;
    input.gold_spans = {{40, 43}, {200, 202}};
    const auto a = shared->run(arms, input);
    const auto b = separate->run(arms, input);
    ASSERT_EQ(a.size(), arms.size());
    ASSERT_EQ(b.size(), arms.size());
    int sparse_differs = 0;
    for (size_t i = 0; i < arms.size(); ++i) {
      SCOPED_TRACE(arms[i].method + "@" + arms[i].budget);
      EXPECT_EQ(a[i].tokens, b[i].tokens);
      EXPECT_EQ(a[i].text, b[i].text);
      EXPECT_EQ(a[i].stop_reason, b[i].stop_reason);
      EXPECT_EQ(a[i].diagnostics.dump(), b[i].diagnostics.dump());
      // The selections really were sparse (the comparison above is not between dense runs).
      if (i > 0 && a[i].diagnostics["captured_mass"].get<double>() < 0.999) ++sparse_differs;
    }
    EXPECT_GE(sparse_differs, 9);
    // Running again (contexts reused, rolled back many times) gives the same again.
    const auto again = shared->run(arms, input);
    for (size_t i = 0; i < arms.size(); ++i) EXPECT_EQ(again[i].diagnostics.dump(), a[i].diagnostics.dump());
  }
}

}  // namespace
}  // namespace ratkv::testing

// Logits of committed reference fixtures (tools/fixtures/make_model_fixtures.py): Llama and OLMo2 from
// Hugging Face transformers, RAT+ from an independent PyTorch implementation of its equations.
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/mapped_file.h"
#include "io/npy.h"
#include "model/model.h"
#include "test_util.h"

namespace ratkv {
namespace {

const std::string kFixtures = std::string(RATKV_SOURCE_DIR) + "/tests/fixtures/models/";

std::vector<int32_t> fixture_ids(const std::string& dir) {
  const Json j = parse_json(read_text_file(dir + "/ids.json"), dir + "/ids.json");
  return j.at("ids").get<std::vector<int32_t>>();
}

class ReferenceFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceFixture, PrefillLogitsMatch) {
  const std::string dir = kFixtures + GetParam();
  auto model = Model::load(dir);
  const auto ids = fixture_ids(dir);
  const NpyArray expected = read_npy(dir + "/logits.npy");
  ASSERT_EQ(expected.shape,
            (std::vector<int64_t>{static_cast<int64_t>(ids.size()), model->config().vocab_size}));
  InferenceOptions options;
  options.kv_dtype = DType::F32;  // the references run in f32 / f64 throughout
  options.max_context = 64;       // llama_dynamic runs past its max_position_embeddings on purpose
  InferenceContext ctx(*model, options);
  std::vector<float> logits;
  ctx.forward(ids, LogitRows::All, logits);
  const double error = testing::relative_error(logits, expected.data);
  EXPECT_LT(error, 1e-3) << GetParam();
  RecordProperty("relative_error", std::to_string(error));
  std::printf("[ fixture  ] %s: max relative error %.3g\n", GetParam().c_str(), error);
}

TEST_P(ReferenceFixture, DecodeLogitsMatch) {
  // Dynamic NTK RoPE rescales every position by the current length, so keys cached at shorter lengths
  // were rotated differently: decoding cannot equal one long prefill (transformers behaves the same).
  if (GetParam() == "llama_dynamic") GTEST_SKIP() << "dynamic RoPE depends on the call's length";
  const std::string dir = kFixtures + GetParam();
  auto model = Model::load(dir);
  const auto ids = fixture_ids(dir);
  const NpyArray expected = read_npy(dir + "/logits.npy");
  InferenceOptions options;
  options.kv_dtype = DType::F32;
  InferenceContext ctx(*model, options);
  std::vector<float> all, step;
  for (size_t t = 0; t < ids.size(); ++t) {
    ctx.forward(std::span(ids).subspan(t, 1), LogitRows::Last, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  EXPECT_LT(testing::relative_error(all, expected.data), 1e-3) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Committed, ReferenceFixture,
                         ::testing::Values("llama_gqa", "llama_mha_llama3_bias", "llama_dynamic", "olmo2_gqa",
                                           "olmo2_mha_linear", "ratplus_fused", "ratplus_split_gate"));

// The RAT+ reference decodes token by token with a bf16 memory state and a bf16 KV cache.
TEST(ReferenceFixture, RatPlusBf16DecodeStateMatches) {
  for (const char* name : {"ratplus_fused", "ratplus_split_gate"}) {
    const std::string dir = kFixtures + name;
    auto model = Model::load(dir);
    const auto ids = fixture_ids(dir);
    const NpyArray expected = read_npy(dir + "/logits_step_bf16.npy");
    InferenceOptions options;
    options.kv_dtype = DType::BF16;
    options.memory_state_dtype = DType::BF16;
    InferenceContext ctx(*model, options);
    std::vector<float> all, step;
    for (size_t t = 0; t < ids.size(); ++t) {
      ctx.forward(std::span(ids).subspan(t, 1), LogitRows::Last, step);
      all.insert(all.end(), step.begin(), step.end());
    }
    EXPECT_LT(testing::relative_error(all, expected.data), 2e-3) << name;
  }
}

}  // namespace
}  // namespace ratkv

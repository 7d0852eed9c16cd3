// The optimized forward pass against the plain reference (reference_forward.cpp), and token-by-token
// decoding against prefill, on random tiny models of every family and option.
#include <gtest/gtest.h>
#include <omp.h>

#include "model/model.h"
#include "model/reference_forward.h"
#include "sparse/sparse_config.h"
#include "test_util.h"

namespace ratkv {
namespace {

using testing::relative_error;

struct Variant {
  std::string name;
  ModelConfig config;
  DType weight_dtype;
  DType kv_dtype;
  int64_t page_size;
};

std::vector<Variant> variants() {
  std::vector<Variant> out;
  for (Family family : {Family::Llama, Family::Olmo2, Family::RatPlus}) {
    const std::string f = family_name(family);
    out.push_back({f + "_plain", testing::tiny_config(family), DType::F32, DType::F32, 16});
    out.push_back(
        {f + "_bf16_weights_bf16_cache_page5", testing::tiny_config(family), DType::BF16, DType::BF16, 5});
    if (family != Family::RatPlus) {
      ModelConfig mha = testing::tiny_config(family, 4, 4, 10);
      mha.attention_bias = true;
      mha.mlp_bias = true;
      out.push_back({f + "_mha_biases_f16_cache_page1", mha, DType::F16, DType::F16, 1});
      ModelConfig mem = testing::tiny_config(family, 6, 2, 6);
      mem.memory_layers = {true, false};
      mem.output_gate = true;
      mem.memory_gate_bias = true;
      mem.tie_word_embeddings = true;
      out.push_back({f + "_memory_layer0_output_gate_tied", mem, DType::F32, DType::F32, 3});
      mem.memory_max_length = 3.5;  // bounded gate, g = (1 − 1/3.5)·σ: far from the unbounded gate
      out.push_back({f + "_memory_bounded_length", mem, DType::F32, DType::BF16, 4});
      ModelConfig scaled = testing::tiny_config(family);
      scaled.rope.type = RopeType::Llama3;
      scaled.rope.factor = 8.0;
      scaled.rope.original_max_position = 64;
      scaled.rope.theta = 500000.0;
      out.push_back({f + "_llama3_rope", scaled, DType::F32, DType::F32, 16});
      ModelConfig linear = testing::tiny_config(family);
      linear.rope.type = RopeType::Linear;
      linear.rope.factor = 2.0;
      out.push_back({f + "_linear_rope", linear, DType::F32, DType::BF16, 7});
    } else {
      ModelConfig attention_only = testing::tiny_config(family);
      attention_only.memory_layers = {false, false};
      out.push_back({f + "_no_memory", attention_only, DType::F32, DType::F32, 4});
      ModelConfig bounded = testing::tiny_config(family);
      bounded.memory_max_length = 64;
      out.push_back({f + "_memory_max_length_64", bounded, DType::BF16, DType::BF16, 16});
    }
  }
  return out;
}

void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.name;
}

// With an f32 cache the two implementations differ only by summation order. A 16-bit cache rounds the
// keys and values both compute; an f32-vs-double difference can move a value across a rounding boundary
// (one bf16/f16 ulp), so those variants get a looser bound.
double prefill_tolerance(DType kv_dtype) {
  return kv_dtype == DType::F32 ? 1e-4 : 1e-3;
}

class ModelExactness : public ::testing::TestWithParam<Variant> {};

TEST_P(ModelExactness, PrefillMatchesReference) {
  const Variant& v = GetParam();
  auto model = Model::load(testing::write_tiny_model(v.config, v.name, 7, v.weight_dtype));
  const auto tokens = testing::random_tokens(37, v.config.vocab_size, 3);
  InferenceOptions options;
  options.kv_dtype = v.kv_dtype;
  options.page_size = v.page_size;
  InferenceContext ctx(*model, options);
  std::vector<float> logits;
  ctx.forward(tokens, LogitRows::All, logits);
  ReferenceOptions ref_options;
  ref_options.kv_dtype = v.kv_dtype;
  const auto expected = reference_forward(model->config(), model->weights(), tokens, ref_options);
  EXPECT_LT(relative_error(logits, expected), prefill_tolerance(v.kv_dtype)) << v.name;
}

TEST_P(ModelExactness, DecodeMatchesPrefill) {
  const Variant& v = GetParam();
  auto model = Model::load(testing::write_tiny_model(v.config, v.name, 11, v.weight_dtype));
  const auto tokens = testing::random_tokens(29, v.config.vocab_size, 5);
  InferenceOptions options;
  options.kv_dtype = v.kv_dtype;
  options.page_size = v.page_size;

  InferenceContext prefill(*model, options);
  std::vector<float> all;
  prefill.forward(tokens, LogitRows::All, all);

  // A first chunk by prefill, the rest token by token: the decode path after a real prefill.
  InferenceContext decode(*model, options);
  std::vector<float> stepped, step;
  const size_t first_chunk = 9;
  decode.forward(std::span(tokens).first(first_chunk), LogitRows::All, step);
  stepped = step;
  for (size_t t = first_chunk; t < tokens.size(); ++t) {
    decode.forward(std::span(tokens).subspan(t, 1), LogitRows::Last, step);
    stepped.insert(stepped.end(), step.begin(), step.end());
  }
  EXPECT_EQ(decode.position(), static_cast<int64_t>(tokens.size()));
  EXPECT_LT(relative_error(stepped, all), 1e-4) << v.name;
}

// --no-mmap copies the matrices into huge-page memory: the same bits, so the same logits exactly, for
// every layout (fused RAT+ in_proj split by rows, tied heads sharing the embedding's copy, 16-bit weights),
// through prefill and decode.
TEST_P(ModelExactness, ResidentWeightsGiveIdenticalLogits) {
  const Variant& v = GetParam();
  const std::string dir = testing::write_tiny_model(v.config, v.name, 23, v.weight_dtype);
  auto mapped = Model::load(dir);
  LoadOptions resident_options;
  resident_options.mmap = false;
  auto resident = Model::load(dir, resident_options);
  ASSERT_NE(resident->weights().resident, nullptr);
  EXPECT_NE(resident->weights().layers[0].q.weight.data, mapped->weights().layers[0].q.weight.data);
  EXPECT_EQ(resident->weights().lm_head.data == resident->weights().embedding.data,
            v.config.tie_word_embeddings);
  const auto tokens = testing::random_tokens(21, v.config.vocab_size, 9);
  InferenceOptions options;
  options.kv_dtype = v.kv_dtype;
  options.page_size = v.page_size;
  std::vector<float> expected, got, step;
  InferenceContext a(*mapped, options), b(*resident, options);
  a.forward(std::span(tokens).first(15), LogitRows::All, expected);
  b.forward(std::span(tokens).first(15), LogitRows::All, got);
  for (size_t t = 15; t < tokens.size(); ++t) {
    a.forward(std::span(tokens).subspan(t, 1), LogitRows::Last, step);
    expected.insert(expected.end(), step.begin(), step.end());
    b.forward(std::span(tokens).subspan(t, 1), LogitRows::Last, step);
    got.insert(got.end(), step.begin(), step.end());
  }
  EXPECT_EQ(got, expected) << v.name;
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, ModelExactness, ::testing::ValuesIn(variants()),
                         [](const auto& info) { return info.param.name; });

// The RAT+ reference decodes with a bf16 memory state (formats.md §3.5): emulated by memory_state_dtype.
TEST(ModelExactness, Bf16MemoryStateMatchesReferenceStepRounding) {
  const ModelConfig config = testing::tiny_config(Family::RatPlus);
  auto model = Model::load(testing::write_tiny_model(config, "ratplus_state", 13));
  const auto tokens = testing::random_tokens(21, config.vocab_size, 9);
  InferenceOptions options;
  options.kv_dtype = DType::BF16;
  options.memory_state_dtype = DType::BF16;
  InferenceContext ctx(*model, options);
  std::vector<float> stepped, step;
  for (size_t t = 0; t < tokens.size(); ++t) {
    ctx.forward(std::span(tokens).subspan(t, 1), LogitRows::Last, step);
    stepped.insert(stepped.end(), step.begin(), step.end());
  }
  ReferenceOptions ref;
  ref.kv_dtype = DType::BF16;
  ref.memory_state_dtype = DType::BF16;
  EXPECT_LT(relative_error(stepped, reference_forward(model->config(), model->weights(), tokens, ref)), 1e-4);
  // And the rounding matters: without it the reference differs by more than the tolerance used above.
  ref.memory_state_dtype = DType::F32;
  EXPECT_GT(relative_error(stepped, reference_forward(model->config(), model->weights(), tokens, ref)), 1e-4);
}

TEST(ModelExactness, ResultsDoNotDependOnThreadCount) {
  const ModelConfig config = testing::tiny_config(Family::Llama, 4, 2, 16);
  auto model = Model::load(testing::write_tiny_model(config, "threads", 17, DType::BF16));
  const auto tokens = testing::random_tokens(70, config.vocab_size, 2);
  std::vector<float> one, two;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  InferenceContext a(*model);
  a.forward(tokens, LogitRows::All, one);
  omp_set_num_threads(3);
  InferenceContext b(*model);
  b.forward(tokens, LogitRows::All, two);
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << "logit " << i;
}

// --matmul bf16 rounds the activations of every prompt product — the projections and, in the tiled prompt
// attention, q and the softmax weights — to bf16: the logits move by about bf16's precision from the f32
// ones, and stay independent of the thread count. Dense and MoBA (its block-sparse prompt on the tiles).
TEST(ModelExactness, Bf16ProductsStayNearF32AndDoNotDependOnThreadCount) {
  const ModelConfig config = testing::tiny_config(Family::RatPlus);
  auto model = Model::load(testing::write_tiny_model(config, "bf16_products", 19, DType::BF16));
  const auto tokens = testing::random_tokens(150, config.vocab_size, 4);
  for (bool moba : {false, true}) {
    InferenceOptions options;
    options.page_size = 16;
    if (moba) {
      options.sparse = preset_config(SparsePreset::Seed, SparseMethod::Moba);
      options.sparse.budget = SparseBudget::parse("1/4");
      options.sparse.moba_block = 16;
    }
    std::vector<float> f32, one, three;
    InferenceContext exact(*model, options);
    exact.forward(tokens, LogitRows::All, f32);
    options.matmul_precision = MatmulPrecision::BF16;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    InferenceContext a(*model, options);
    a.forward(tokens, LogitRows::All, one);
    omp_set_num_threads(3);
    InferenceContext b(*model, options);
    b.forward(tokens, LogitRows::All, three);
    omp_set_num_threads(saved);
    EXPECT_EQ(one, three) << (moba ? "moba" : "dense");
    const double error = testing::relative_error(one, f32);
    EXPECT_GT(error, 0.0) << (moba ? "moba" : "dense");
    EXPECT_LT(error, 2e-2) << (moba ? "moba" : "dense");
  }
}

// A prompt asked for its last row's logits only skips the last layer's output for the other rows
// (forward's output_from): the logits must have the bits they have when every row goes through
// (last_layer_all_rows), and the keys and values stored — hence every later step — must not change either.
// Every family, with and without the memory and the output gate, dense and MoBA prompts, f32 and bf16
// products; prompts of 5 (nothing to skip), 9 (per-row GEMM, one query tile), 70 and 150 tokens (tiles, the
// last one partial). With LogitRows::None the last layer's output is skipped for every row.
TEST(ModelExactness, SkippingTheLastLayersUnusedRowsChangesNoBits) {
  for (Family family : {Family::Llama, Family::Olmo2, Family::RatPlus}) {
    ModelConfig config = testing::tiny_config(family, 4, 2, 16);
    if (family != Family::RatPlus) {
      config.memory_layers = {true, false};
      config.output_gate = true;
    }
    auto model = Model::load(testing::write_tiny_model(config, "last_row", 23, DType::BF16));
    // The prompt's last rows feed SnapKV's votes whether it is set before the prompt or switched to after
    // it (keep_prompt_queries): the skipped rows must not include them.
    enum class Mode { Dense, Moba, SnapKv, SwitchToSnapKv };
    for (Mode mode : {Mode::Dense, Mode::Moba, Mode::SnapKv, Mode::SwitchToSnapKv}) {
      for (MatmulPrecision precision : {MatmulPrecision::F32, MatmulPrecision::BF16}) {
        for (int64_t n : {5, 9, 70, 150}) {
          InferenceOptions options;
          options.page_size = 16;
          options.matmul_precision = precision;
          SparseConfig snapkv = preset_config(SparsePreset::Seed, SparseMethod::SnapKV);
          snapkv.snap_window = 24;
          snapkv.budget = SparseBudget::parse("40");
          if (mode == Mode::Moba) {
            options.sparse = preset_config(SparsePreset::Seed, SparseMethod::Moba);
            options.sparse.budget = SparseBudget::parse("1/4");
            options.sparse.moba_block = 16;
          }
          if (mode == Mode::SnapKv) options.sparse = snapkv;
          InferenceOptions every_row = options;
          every_row.last_layer_all_rows = true;
          const auto tokens = testing::random_tokens(n, config.vocab_size, 5);
          InferenceContext skipping(*model, options), reference(*model, every_row), silent(*model, options);
          if (mode == Mode::SwitchToSnapKv)
            for (InferenceContext* ctx : {&skipping, &reference, &silent}) ctx->keep_prompt_queries(24);
          std::vector<float> got, expected, none;
          skipping.forward(tokens, LogitRows::Last, got);
          reference.forward(tokens, LogitRows::Last, expected);
          silent.forward(tokens, LogitRows::None, none);
          if (mode == Mode::SwitchToSnapKv)
            for (InferenceContext* ctx : {&skipping, &reference, &silent}) ctx->set_sparse_config(snapkv);
          const char* names[] = {" dense ", " moba ", " snapkv ", " switch to snapkv "};
          const std::string what = family_name(family) + names[static_cast<int>(mode)] +
                                   matmul_precision_name(precision) + " n " + std::to_string(n);
          EXPECT_EQ(got, expected) << what;
          const int32_t next = 7;
          std::vector<float> step, step_expected, step_none;
          skipping.forward(std::span(&next, 1), LogitRows::Last, step);
          reference.forward(std::span(&next, 1), LogitRows::Last, step_expected);
          silent.forward(std::span(&next, 1), LogitRows::Last, step_none);
          EXPECT_EQ(step, step_expected) << what;
          EXPECT_EQ(step_none, step_expected) << what;
        }
      }
    }
  }
}

// Decode steps past 128 tokens split attention into chunks across threads (decode_attention) and run
// the GEMVs of several products in one region (matmul_many): still the same bits for 1 and 3 threads.
TEST(ModelExactness, DecodeStepsDoNotDependOnThreadCount) {
  const ModelConfig config = testing::tiny_config(Family::Llama, 4, 2, 64);
  auto model = Model::load(testing::write_tiny_model(config, "decode_threads", 19, DType::BF16));
  const auto tokens = testing::random_tokens(300, config.vocab_size, 3);
  std::vector<float> logits[2], step;
  const int saved = omp_get_max_threads();
  for (int run = 0; run < 2; ++run) {
    omp_set_num_threads(run == 0 ? 1 : 3);
    InferenceContext ctx(*model);
    ctx.forward(std::span(tokens).first(150), LogitRows::None, step);
    for (size_t t = 150; t < tokens.size(); ++t) {
      ctx.forward(std::span(tokens).subspan(t, 1), LogitRows::Last, step);
      logits[run].insert(logits[run].end(), step.begin(), step.end());
    }
  }
  omp_set_num_threads(saved);
  ASSERT_EQ(logits[0].size(), logits[1].size());
  for (size_t i = 0; i < logits[0].size(); ++i) ASSERT_EQ(logits[0][i], logits[1][i]) << "logit " << i;
}

TEST(ModelExactness, RejectsTokensOutsideVocabularyAndPastContext) {
  ModelConfig config = testing::tiny_config(Family::Llama);
  config.max_position_embeddings = 16;
  auto model = Model::load(testing::write_tiny_model(config, "limits"));
  InferenceContext ctx(*model);
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 97};
  EXPECT_THROW(ctx.forward(bad, LogitRows::Last, logits), Error);
  EXPECT_EQ(ctx.position(), 0);
  const auto long_prompt = testing::random_tokens(17, config.vocab_size, 1);
  try {
    ctx.forward(long_prompt, LogitRows::Last, logits);
    FAIL() << "a prompt past the context was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context limit of 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ratkv

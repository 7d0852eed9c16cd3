// ratkv-train bench: training throughput of full steps (forward, backward, clip, AdamW) on random
// tokens, for the attention model and the same model with a memory (dense step, and the RAT+ joint
// dilated + dense pair). One JSON line per variant plus the memory / attention step-time ratio.
// Against the machine: a square GEMM in the training precision measured in the same run gives the peak,
// and each variant reports its model FLOPs per second as a fraction of it (MFU), plus where a dense step's
// time goes (forward with the loss, backward, clip + AdamW; timed apart with a device sync between, after
// the timed steps so the syncs do not slow them).
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "train/commands.h"
#include "train/optimizer.h"

namespace ratkv::train {

namespace {

struct BenchResult {
  double step_s, tokens_per_s;
  double model_flops;                         // per step: matrix products of forward and backward
  double forward_s, backward_s, optimizer_s;  // one dense step's phases (synced apart)
};

// The training precision's GEMM rate: [n, n] x [n, n] products, FLOP/s.
double gemm_peak(const torch::Device& device, torch::ScalarType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::Tensor c = torch::matmul(a, b);
  const int64_t reps = device.is_cuda() ? 50 : 3;
  const double start = synchronized_seconds(device);
  for (int64_t i = 0; i < reps; ++i) c = torch::matmul(a, b);
  const double seconds = synchronized_seconds(device) - start;
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) *
         static_cast<double>(reps) / seconds;
}

BenchResult bench_variant(const ModelConfig& config, const torch::Device& device, torch::ScalarType dtype,
                          int64_t batch, int64_t micro, int64_t seq_len, int64_t warmup, int64_t steps,
                          int64_t joint_dilation) {
  TrainModel model(config, device, dtype);
  model.init_random(0, 0.02f);
  AdamW adam(model.parameters(), AdamWOptions{});
  torch::manual_seed(0);
  const torch::Tensor tokens =
      torch::randint(config.vocab_size, {batch, seq_len + 1}, torch::TensorOptions().dtype(torch::kLong))
          .to(device);
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kMean);
  // phases != nullptr: sync after each phase and add its seconds there (forward, backward, optimizer).
  auto update = [&](const AttentionPattern& pattern, double* phases) {
    double mark = phases ? synchronized_seconds(device) : 0;
    auto lap = [&](int which) {
      if (!phases) return;
      const double now = synchronized_seconds(device);
      phases[which] += now - mark;
      mark = now;
    };
    adam.zero_grad();
    for (int64_t first = 0; first < batch; first += micro) {
      const torch::Tensor rows = tokens.narrow(0, first, micro);
      const torch::Tensor logits = model.forward(rows.narrow(1, 0, seq_len), pattern);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), rows.narrow(1, 1, seq_len).reshape({-1}), ce);
      lap(0);
      (loss * (static_cast<double>(micro) / static_cast<double>(batch))).backward();
      lap(1);
    }
    adam.clip_grad_norm(1.0);
    adam.step(1e-4);
    lap(2);
  };
  auto step = [&] {
    if (joint_dilation > 1) update(AttentionPattern{joint_dilation, 0, 0}, nullptr);
    update(AttentionPattern{}, nullptr);
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  const double start = synchronized_seconds(device);
  for (int64_t i = 0; i < steps; ++i) step();
  const double seconds = (synchronized_seconds(device) - start) / static_cast<double>(steps);
  double phases[3] = {0, 0, 0};
  update(AttentionPattern{}, phases);
  const double flops =
      model.step_flops(batch, seq_len) +
      (joint_dilation > 1 ? model.step_flops(batch, seq_len, AttentionPattern{joint_dilation, 0, 0}) : 0.0);
  return {seconds, static_cast<double>(batch * seq_len) / seconds, flops, phases[0], phases[1], phases[2]};
}

}  // namespace

int run_bench(int argc, char** argv) {
  cli::Args args("train bench",
                 "Training step throughput: attention vs memory (same shapes, random tokens).");
  args.option("--family", "NAME", "llama, olmo2 or ratplus", "ratplus")
      .option("--layers", "N", "decoder layers", "8")
      .option("--hidden", "N", "hidden size", "512")
      .option("--heads", "N", "attention heads (default hidden / 64)")
      .option("--vocab", "N", "vocabulary", "8192")
      .option("--seq-len", "N", "tokens per row", "4096")
      .option("--batch", "N", "rows per optimizer step", "16")
      .option("--micro-batch", "N", "rows per forward (0 = all)", "0")
      .option("--steps", "N", "timed steps", "10")
      .option("--warmup", "N", "untimed steps first", "3")
      .option("--device", "DEV", "cpu or cuda", "cuda")
      .option("--precision", "P", "bf16 or fp32", "bf16")
      .option("--joint-dilated", "D", "also time the RAT+ joint (dilated D + dense) step", "64")
      .option("--variants", "LIST", "comma-separated: attention, memory, joint", "attention,memory,joint");
  if (!args.parse(argc, argv)) return 0;
  const torch::Device device = parse_device(args.str("device"), "--device");
  set_current_device(device);
  const std::string precision = args.str("precision");
  require(precision == "bf16" || precision == "fp32", "--precision must be bf16 or fp32");
  const torch::ScalarType dtype = precision == "bf16" ? torch::kBFloat16 : torch::kFloat;

  ModelConfig c;
  const std::string family = args.str("family");
  c.family = family == "llama" ? Family::Llama : family == "olmo2" ? Family::Olmo2 : Family::RatPlus;
  require(family == "llama" || family == "olmo2" || family == "ratplus",
          "--family must be llama, olmo2 or ratplus");
  c.num_layers = args.integer("layers", 1, 1024);
  c.hidden_size = args.integer("hidden", 2, 65536);
  c.num_heads = args.has("heads") ? args.integer("heads", 1, 4096) : std::max<int64_t>(1, c.hidden_size / 64);
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  c.vocab_size = args.integer("vocab", 2, int64_t{1} << 24);
  const int64_t seq_len = args.integer("seq-len", 1, 1 << 20);
  c.max_position_embeddings = std::max<int64_t>(4096, seq_len);
  const bool rat = c.family == Family::RatPlus;
  c.intermediate_size = rat ? 4 * c.hidden_size : (c.hidden_size * 8 / 3 + 63) / 64 * 64;
  c.ffn = rat ? FfnKind::GeluErf : FfnKind::SwiGlu;
  c.output_gate = rat;
  c.tie_word_embeddings = rat;
  c.norm_placement = c.family == Family::Olmo2 ? NormPlacement::PostNormInResidual : NormPlacement::PreNorm;
  c.qk_norm = c.family == Family::Olmo2;
  c.memory_layers.assign(static_cast<size_t>(c.num_layers), false);
  const ModelConfig attention = ModelConfig::from_json(c.to_json(), "bench config");
  c.memory_layers.assign(static_cast<size_t>(c.num_layers), true);
  const ModelConfig memory = ModelConfig::from_json(c.to_json(), "bench config");

  const int64_t batch = args.integer("batch", 1, 1 << 20);
  const int64_t micro = args.integer("micro-batch", 0, batch);
  require(micro == 0 || batch % micro == 0, "--micro-batch must divide --batch");
  const int64_t steps = args.integer("steps", 1, 100000), warmup = args.integer("warmup", 0, 100000);
  const int64_t joint = args.integer("joint-dilated", 0, 1 << 20);
  std::string variants = ",";  // built in place: `"," + str + ","` trips GCC 12's -Wrestrict
  variants += args.str("variants");
  variants += ',';
  double attention_step = 0, memory_step = 0;
  const double peak = gemm_peak(device, dtype);
  std::printf("{\"gemm_peak_gflops\": %.0f, \"precision\": \"%s\", \"device\": \"%s\"}\n", peak / 1e9,
              precision.c_str(), device.str().c_str());
  auto report = [&](const char* name, const BenchResult& r) {
    const double achieved = r.model_flops / r.step_s;
    std::printf(
        "{\"variant\": \"%s\", \"family\": \"%s\", \"layers\": %lld, \"hidden\": %lld, \"vocab\": %lld, "
        "\"seq_len\": %lld, \"batch\": %lld, \"precision\": \"%s\", \"device\": \"%s\", \"step_s\": %.5f, "
        "\"tokens_per_s\": %.0f, \"model_gflops\": %.0f, \"mfu\": %.3f, \"dense_step_forward_s\": %.5f, "
        "\"dense_step_backward_s\": %.5f, \"dense_step_optimizer_s\": %.5f}\n",
        name, family.c_str(), static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
        static_cast<long long>(c.vocab_size), static_cast<long long>(seq_len), static_cast<long long>(batch),
        precision.c_str(), device.str().c_str(), r.step_s, r.tokens_per_s, achieved / 1e9, achieved / peak,
        r.forward_s, r.backward_s, r.optimizer_s);
    std::fflush(stdout);
  };
  const int64_t m = micro == 0 ? batch : micro;
  if (variants.find(",attention,") != std::string::npos) {
    const BenchResult r = bench_variant(attention, device, dtype, batch, m, seq_len, warmup, steps, 0);
    attention_step = r.step_s;
    report("attention", r);
  }
  if (variants.find(",memory,") != std::string::npos) {
    const BenchResult r = bench_variant(memory, device, dtype, batch, m, seq_len, warmup, steps, 0);
    memory_step = r.step_s;
    report("memory", r);
  }
  if (joint > 1 && variants.find(",joint,") != std::string::npos)
    report("memory_joint_dilated_dense",
           bench_variant(memory, device, dtype, batch, m, seq_len, warmup, steps, joint));
  if (attention_step > 0 && memory_step > 0)
    std::printf("{\"memory_over_attention_step_time\": %.3f}\n", memory_step / attention_step);
  return 0;
}

}  // namespace ratkv::train

// ratkv bench: prompt processing and generation speed, shown next to the machine's limits measured in
// the same run (read bandwidth, single-thread-per-core BLAS GEMM peak).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "base/error.h"
#include "base/rng.h"
#include "bench/machine_limits.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace ratkv::cli {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Row {
  std::string test;
  int64_t tokens;
  int64_t depth;
  double seconds;  // per repetition (median)
  double tokens_per_s;
  double bytes_per_token;      // tg: weights + KV read per generated token
  double gbps;                 // tg: bytes_per_token x tokens/s
  double gemm_gflops;          // rate of the projections while they ran (pp: the prefill GEMMs)
  double attention_ms;         // attention time per token (tg) or per prompt (pp)
  double attention_bytes = 0;  // tg: what attention read per token, selected KV + selector metadata
  double metadata_bytes = 0;   // tg: the selector's share of attention_bytes
  double select_ms = 0;        // tg: selector time per token, summed over threads
  double scan_ms = 0;          // tg: of which reading the metadata
};

// Weight bytes read for one decoded token: every matrix once (the embedding row is negligible).
double weight_bytes_per_token(const Model& model) {
  const ModelWeights& w = model.weights();
  auto bytes = [](const WeightView& v) { return static_cast<double>(v.rows * v.cols * dtype_size(v.dtype)); };
  double total = bytes(w.lm_head);
  for (const auto& l : w.layers)
    for (const Linear* lin :
         {&l.q, &l.k, &l.v, &l.o, &l.memory_gate, &l.output_gate, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      if (!lin->empty()) total += bytes(lin->weight);
  return total;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int run_bench(int argc, char** argv) {
  Args args(
      "bench",
      "Measures prompt processing (pp) and generation at a prefilled depth (tg), with the machine's read\n"
      "bandwidth and GEMM peak measured in the same run. Depth is filled with random keys and values\n"
      "(decode cost of dense attention does not depend on their values), so deep tests start at once.");
  add_model_flags(args);
  add_sparse_flags(args);
  args.option("-p,--n-prompt", "LIST", "prompt lengths to time", "512")
      .option("-n,--n-gen", "N", "tokens to generate per tg test (0: skip tg)", "64")
      .option("-d,--depth", "LIST", "KV depths for tg tests", "0")
      .option("-r,--repetitions", "N", "repetitions per test (median reported)", "3")
      .option("-o,--output", "FORMAT", "md or jsonl", "md")
      .flag("--skip-limits", "do not measure the machine's bandwidth and GEMM peak");
  if (!args.parse(argc, argv)) return 0;
  const int threads = apply_threads(args);
  const std::string format = args.str("output");
  require(format == "md" || format == "jsonl", "--output must be md or jsonl, got \"", format, "\"");
  const auto prompts = parse_int_list(args.str("n-prompt"), "--n-prompt");
  const auto depths = parse_int_list(args.str("depth"), "--depth");
  const int64_t n_gen = args.integer("n-gen", 0, 1 << 20);
  const int64_t reps = args.integer("repetitions", 1, 1000);
  auto model = load_model(args);
  InferenceOptions options = inference_options(args);
  int64_t needed = 0;
  for (int64_t p : prompts) needed = std::max(needed, p);
  for (int64_t d : depths) needed = std::max(needed, d + n_gen);
  if (options.max_context == 0)
    options.max_context = std::max(needed, model->config().max_position_embeddings);
  for (int64_t p : prompts)
    require(p >= 1 && p <= options.max_context, "--n-prompt ", p, " is outside [1, context]");
  for (int64_t d : depths) require(d >= 0, "--depth must be >= 0, got ", d);

  MachineLimits limits;
  if (!args.enabled("skip-limits")) limits = measure_machine_limits(threads, options.matmul_precision);

  const double weight_bytes = weight_bytes_per_token(*model);
  std::vector<Row> rows;
  std::vector<float> logits;
  Rng rng(1);
  for (int64_t p : prompts) {
    std::vector<int32_t> ids(static_cast<size_t>(p));
    for (auto& id : ids)
      id = static_cast<int32_t>(rng.below(static_cast<uint64_t>(model->config().vocab_size)));
    std::vector<double> times, gemm, attention;
    for (int64_t r = 0; r < reps + 1; ++r) {  // the first run warms caches and page tables
      InferenceContext ctx(*model, options);
      const double t0 = now_seconds();
      ctx.forward(ids, LogitRows::Last, logits);
      if (r == 0) continue;
      times.push_back(now_seconds() - t0);
      gemm.push_back(ctx.timings().matmul_flops / ctx.timings().matmul_seconds / 1e9);
      attention.push_back(ctx.timings().attention_seconds * 1e3);
    }
    const double s = median(times);
    rows.push_back({"pp" + std::to_string(p), p, 0, s, p / s, 0, 0, median(gemm), median(attention)});
  }
  if (n_gen > 0) {
    for (int64_t d : depths) {
      std::vector<double> times, gemm, attention;
      double kv_bytes_total = 0, attention_bytes = 0, metadata_bytes = 0, select_ms = 0, scan_ms = 0;
      for (int64_t r = 0; r < reps + 1; ++r) {
        InferenceContext ctx(*model, options);
        if (d > 0) ctx.fill_synthetic(d, 7);
        ctx.reset_sparse_counters();
        int32_t token = 1;
        kv_bytes_total = 0;
        const double t0 = now_seconds();
        for (int64_t i = 0; i < n_gen; ++i) {
          kv_bytes_total += static_cast<double>(ctx.position() + 1) * ctx.cache().bytes_per_token();
          ctx.forward(std::span(&token, 1), LogitRows::Last, logits);
          token = static_cast<int32_t>((token * 7919 + 13) % model->config().vocab_size);
        }
        if (r == 0) continue;
        times.push_back(now_seconds() - t0);
        gemm.push_back(ctx.timings().matmul_flops / ctx.timings().matmul_seconds / 1e9);
        attention.push_back(ctx.timings().attention_seconds * 1e3 / n_gen);
        // A sparse context counts what its attention read; a dense one reads every cached token.
        const SparseAttention* sparse = ctx.sparse();
        attention_bytes = sparse ? (sparse->counters().kv_bytes + sparse->counters().metadata_bytes) / n_gen
                                 : kv_bytes_total / n_gen;
        metadata_bytes = sparse ? sparse->counters().metadata_bytes / n_gen : 0.0;
        select_ms = sparse ? sparse->counters().select_cpu_seconds * 1e3 / n_gen : 0.0;
        scan_ms = sparse ? sparse->counters().scan_cpu_seconds * 1e3 / n_gen : 0.0;
      }
      const double s = median(times);
      const double bytes = weight_bytes + attention_bytes;
      rows.push_back({"tg" + std::to_string(n_gen), n_gen, d, s, n_gen / s, bytes, bytes * n_gen / s / 1e9,
                      median(gemm), median(attention), attention_bytes, metadata_bytes, select_ms, scan_ms});
    }
  }

  const ModelConfig& c = model->config();
  if (format == "jsonl") {
    for (const auto& row : rows) {
      Json j{{"model", model->directory().path()},
             {"family", family_name(c.family)},
             {"params", c.parameter_count()},
             {"weights_dtype", dtype_name(model->weights().dtype)},
             {"kv_dtype", dtype_name(options.kv_dtype)},
             {"matmul", matmul_precision_name(options.matmul_precision)},
             {"threads", threads},
             {"test", row.test},
             {"depth", row.depth},
             {"seconds", row.seconds},
             {"tokens_per_s", row.tokens_per_s},
             {"gemm_gflops", row.gemm_gflops},
             {"attention_ms", row.attention_ms},
             {"bytes_per_token", row.bytes_per_token},
             {"gb_per_s", row.gbps},
             {"machine_read_gb_per_s", limits.read_gbps},
             {"machine_gemm_gflops", limits.gemm_gflops},
             {"machine_fma_gflops", limits.fma_gflops},
             {"sparse", sparse_method_name(options.sparse.method)},
             {"budget", options.sparse.budget.to_string()},
             {"page_size", options.page_size},
             {"attention_bytes_per_token", row.attention_bytes},
             {"metadata_bytes_per_token", row.metadata_bytes},
             {"select_cpu_ms_per_token", row.select_ms},
             {"scan_cpu_ms_per_token", row.scan_ms}};
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  }
  const char* precision = matmul_precision_name(options.matmul_precision);
  std::printf("model: %s (%s, %.2f M params, weights %s, KV %s), prefill products %s, threads %d\n",
              model->directory().path().c_str(), family_name(c.family).c_str(), c.parameter_count() / 1e6,
              std::string(dtype_name(model->weights().dtype)).c_str(),
              std::string(dtype_name(options.kv_dtype)).c_str(), precision, threads);
  if (!args.enabled("skip-limits"))
    std::printf(
        "machine: read bandwidth %.1f GB/s, BLAS sgemm %.1f GFLOP/s, %s multiply-add peak %.1f GFLOP/s (%d "
        "threads)\n\n",
        limits.read_gbps, limits.gemm_gflops, precision, limits.fma_gflops, threads);
  std::printf(
      "| test | depth | tokens/s | GEMM GFLOP/s | %% of BLAS sgemm | %% of %s peak | attention ms | MB "
      "read/token "
      "| GB/s | %% of bandwidth |\n",
      precision);
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  // A share of a limit that was not measured (--skip-limits) prints as "–", never as 0%.
  auto percent = [](double value, double limit) {
    return limit > 0 ? cat(static_cast<long long>(std::lround(100.0 * value / limit)), "%")
                     : std::string("–");
  };
  for (const auto& row : rows) {
    const bool gen = row.test.rfind("tg", 0) == 0;
    if (gen)
      std::printf("| %s | %lld | %.1f | %.1f | | | %.3f | %.2f | %.2f | %s |\n", row.test.c_str(),
                  static_cast<long long>(row.depth), row.tokens_per_s, row.gemm_gflops, row.attention_ms,
                  row.bytes_per_token / 1e6, row.gbps, percent(row.gbps, limits.read_gbps).c_str());
    else
      std::printf("| %s | | %.1f | %.1f | %s | %s | %.1f | | | |\n", row.test.c_str(), row.tokens_per_s,
                  row.gemm_gflops, percent(row.gemm_gflops, limits.gemm_gflops).c_str(),
                  percent(row.gemm_gflops, limits.fma_gflops).c_str(), row.attention_ms);
  }
  if (n_gen > 0) {
    // Decode attention alone: what it read (selected KV + selector metadata) against the bandwidth; the
    // selector's CPU time, and of it the metadata scan's, against one thread's share of the bandwidth.
    std::printf("\nattention: --sparse %s, budget %s, page %lld\n\n",
                sparse_method_name(options.sparse.method).c_str(),
                options.sparse.sparse() ? options.sparse.budget.to_string().c_str() : "all",
                static_cast<long long>(options.page_size));
    std::printf(
        "| test | depth | step ms | attention ms/token | KV+meta MB/token | attention GB/s | %% of bandwidth "
        "| metadata MB/token | select CPU-ms/token | select GB/s per thread | scan CPU-ms/token | scan GB/s "
        "per thread | scan %% of bandwidth per thread |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& row : rows) {
      if (row.test.rfind("tg", 0) != 0) continue;
      const double gbps = row.attention_bytes / std::max(row.attention_ms * 1e-3, 1e-12) / 1e9;
      const double scan_gbps = row.scan_ms > 0 ? row.metadata_bytes / (row.scan_ms * 1e-3) / 1e9 : 0.0;
      std::printf("| %s | %lld | %.3f | %.3f | %.3f | %.2f | %s | %.3f | %.3f | %.2f | %.3f | %.2f | %s |\n",
                  row.test.c_str(), static_cast<long long>(row.depth),
                  row.seconds / static_cast<double>(row.tokens) * 1e3, row.attention_ms,
                  row.attention_bytes / 1e6, gbps, percent(gbps, limits.read_gbps).c_str(),
                  row.metadata_bytes / 1e6, row.select_ms,
                  row.select_ms > 0 ? row.metadata_bytes / (row.select_ms * 1e-3) / 1e9 : 0.0, row.scan_ms,
                  scan_gbps, row.scan_ms > 0 ? percent(scan_gbps, limits.read_gbps / threads).c_str() : "–");
    }
  }
  return 0;
}

}  // namespace ratkv::cli

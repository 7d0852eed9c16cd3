#include "train/trainer.h"

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "train/checkpoint.h"
#include "train/data_source.h"
#include "train/distributed.h"
#include "train/metrics_log.h"
#include "train/model_io.h"

namespace ratkv::train {

std::string checkpoint_path(const std::string& run_dir) {
  return run_dir + "/checkpoint.pt";
}

Json TrainOptions::trajectory_json() const {
  return Json{{"mode", mode},
              {"data", data},
              {"tokenizer", tokenizer},
              {"seq_len", seq_len},
              {"batch", batch},
              {"steps", steps},
              {"warmup", warmup},
              {"lr", lr},
              {"min_lr", min_lr},
              {"clip", clip},
              {"beta1", adam.beta1},
              {"beta2", adam.beta2},
              {"eps", adam.eps},
              {"weight_decay", adam.weight_decay},
              {"memory_lr_multiplier", adam.memory_lr_multiplier},
              {"joint_dilation", joint_dilation},
              {"seed", seed},
              {"precision", precision},
              {"init_from", init_from},
              {"add_memory", add_memory},
              {"memory_init_bias", memory_init_bias},
              {"memory_init_std", memory_init_std},
              {"init_std", init_std}};
}

namespace {

void check_same_trajectory(const std::string& saved_text, const Json& now, const std::string& path) {
  const Json saved = parse_json(saved_text, path + " (options)");
  std::string differences;
  for (const auto& [key, value] : now.items()) {
    if (!saved.contains(key) || saved[key] != value)
      differences +=
          cat("\n  --", key, ": checkpoint has ", saved.contains(key) ? saved[key].dump() : "nothing",
              ", this command has ", value.dump());
  }
  require(differences.empty(), path, ": this command's training options differ from the run being resumed",
          differences, "\n(use the original command, or a new --run-dir)");
}

torch::ScalarType compute_dtype(const std::string& precision, const torch::Device& device) {
  if (precision == "auto") return device.is_cuda() ? torch::kBFloat16 : torch::kFloat;
  if (precision == "bf16") return torch::kBFloat16;
  if (precision == "fp32") return torch::kFloat;
  fail("--precision must be auto, bf16 or fp32, got \"", precision, "\"");
}

std::unique_ptr<DataSource> open_data(const TrainOptions& o, const ModelConfig& config) {
  if (o.mode == "pretrain") {
    auto source = std::make_unique<PretrainSource>(o.data, o.seq_len, o.seed);
    require(source->shards().vocab_size() <= config.vocab_size, o.data, ": token vocabulary ",
            source->shards().vocab_size(), " is larger than the model's vocab_size ", config.vocab_size);
    return source;
  }
  require(o.mode == "sft", "unknown training mode \"", o.mode, "\"");
  auto source = std::make_unique<SftSource>(o.data, SftOptions{o.seq_len, o.seed});
  require(source->vocab_size() <= config.vocab_size, o.data, ": token vocabulary ", source->vocab_size(),
          " is larger than the model's vocab_size ", config.vocab_size);
  return source;
}

}  // namespace

TrainResult train(const TrainOptions& o, const ModelConfig& fresh_config) {
  const RankInfo rank = rank_from_environment();
  torch::Device device = parse_device(o.device, "--device");
  if (device.is_cuda() && rank.world > 1)
    device = torch::Device(torch::kCUDA, static_cast<int8_t>(rank.local_rank));
  set_current_device(device);
  require(!o.run_dir.empty(), "--run-dir is required (checkpoints and metrics go there)");
  require(o.steps > 0 && o.seq_len > 0 && o.batch > 0, "--steps, --seq-len and --batch must be positive");
  require(o.batch % rank.world == 0, "--batch ", o.batch, " must be a multiple of the number of ranks ",
          rank.world);
  const int64_t per_rank = o.batch / rank.world;
  const int64_t micro = o.micro_batch > 0 ? o.micro_batch : per_rank;
  require(per_rank % micro == 0, "--micro-batch ", micro, " must divide the rows per rank ", per_rank);
  const int64_t accum = per_rank / micro;
  require(o.joint_dilation == 0 || o.joint_dilation > 1, "--joint-dilated D needs D > 1");

  // The model: from the run's checkpoint when resuming, else fresh.
  const std::string ckpt = checkpoint_path(o.run_dir);
  const bool resume = std::filesystem::exists(ckpt);
  const Json trajectory = o.trajectory_json();
  ModelConfig config = fresh_config;
  std::optional<Checkpoint> header;
  if (resume) {
    header = load_checkpoint_header(ckpt);
    check_same_trajectory(header->options_json, trajectory, ckpt);
    config = header->config;
  } else if (o.add_memory) {
    config = with_memory(fresh_config, fresh_config.family != Family::RatPlus && o.memory_init_bias != 0.0f);
  }
  TrainModel model(config, device, compute_dtype(o.precision, device));
  AdamW adam(model.parameters(), o.adam);
  int64_t step = 0;
  if (resume) {
    std::vector<std::string> param_names, state_names;
    for (const auto& p : model.parameters()) param_names.push_back(p.name);
    for (const auto& [name, t] : adam.state()) state_names.push_back(name);
    Checkpoint c = load_checkpoint(ckpt, param_names, state_names);
    for (const auto& [name, t] : c.params) model.set_param(name, t);
    adam.load_state(c.optimizer, c.adam_steps);
    step = c.next_step;
  } else if (!o.init_from.empty()) {
    import_weights(model, o.init_from);
    if (o.add_memory) init_inserted_memory(model, o.memory_init_bias, o.memory_init_std, o.seed);
  } else {
    require(!o.add_memory, "--add-memory needs --init-from (the attention model to add it to)");
    model.init_random(o.seed, o.init_std);
  }

  const auto data = open_data(o, config);
  Communicator comm(rank, device);
  const bool leader = rank.rank == 0;
  std::filesystem::create_directories(o.run_dir);
  std::optional<MetricsLog> log;
  if (leader) {
    log.emplace(o.run_dir + "/metrics.jsonl", step);
    if (!o.quiet)
      std::printf(
          "%s %s: %.2f M parameters, %s; %lld ranks x %lld rows x %lld accumulation; step %lld of %lld\n",
          resume ? "resuming" : "starting", family_name(config.family).c_str(), model.parameter_count() / 1e6,
          data->describe().c_str(), static_cast<long long>(rank.world), static_cast<long long>(micro),
          static_cast<long long>(accum), static_cast<long long>(step), static_cast<long long>(o.steps));
  }

  const auto ce_options =
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum);
  // One optimizer update over this rank's share of the batch with the given attention pattern. The loss is
  // the sum over every labelled token of the global batch divided by their count, so gradient sums over
  // micro-batches and ranks equal the gradient of the global mean loss.
  auto update = [&](const std::vector<Batch>& batches, double labelled, const AttentionPattern& pattern,
                    double lr, bool record_memory) {
    adam.zero_grad();
    model.set_record_memory_lengths(record_memory);
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    for (const Batch& b : batches) {
      const torch::Tensor logits = model.forward(b.inputs, pattern);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                                      b.labels.reshape({-1}), ce_options) /
                                 labelled;
      loss.backward();
      loss_sum += loss.detach();
      model.set_record_memory_lengths(false);  // the first micro-batch is the sample
    }
    comm.all_reduce_sum(adam.gradients());
    const torch::Tensor norm = adam.clip_grad_norm(o.clip);
    adam.step(lr);
    return std::pair{loss_sum, norm};
  };

  auto save = [&](int64_t next_step) {
    if (!leader) return;
    Checkpoint c{config, trajectory.dump(), next_step, adam.steps(), {}, adam.state()};
    for (const auto& p : model.parameters()) c.params.push_back({p.name, p.tensor});
    save_checkpoint(ckpt, c);
  };

  TrainResult result;
  const double piece_start = synchronized_seconds(device);
  double last_checkpoint = piece_start, last_log = piece_start;
  int64_t last_log_step = step;
  while (step < o.steps) {
    const double lr = learning_rate(step, o.steps, o.warmup, o.lr, o.min_lr);
    std::vector<Batch> batches;
    double labelled = 0;
    for (int64_t m = 0; m < accum; ++m) {
      const int64_t first = step * o.batch + rank.rank * per_rank + m * micro;
      batches.push_back(make_batch(*data, first, micro, device));
      labelled += static_cast<double>(batches.back().labelled);
    }
    labelled = std::max(1.0, comm.all_reduce_sum(labelled));
    const bool log_now = (step + 1) % o.log_every == 0 || step + 1 == o.steps || step == 0;
    std::pair<torch::Tensor, torch::Tensor> dilated;
    // RAT+ joint_train: per batch an update on the dilated (sparse) loss, then one on the dense loss of
    // the same rows, both at this step's learning rate (wimh966/rat-plus src/trainer/trainer.py).
    if (o.joint_dilation > 1)
      dilated = update(batches, labelled, AttentionPattern{o.joint_dilation, 0, 0}, lr, false);
    const auto dense = update(batches, labelled, AttentionPattern{}, lr, log_now && config.has_memory());
    ++step;

    if (log_now) {
      const double now = synchronized_seconds(device);
      const double loss = comm.all_reduce_sum(dense.first.item<double>());
      Json record{{"step", step},
                  {"tokens", step * o.batch * o.seq_len},
                  {"loss", loss},
                  {"lr", lr},
                  {"grad_norm", dense.second.item<double>()},
                  {"tokens_per_s",
                   static_cast<double>((step - last_log_step) * o.batch * o.seq_len) / (now - last_log)},
                  {"step_time_s", (now - last_log) / static_cast<double>(step - last_log_step)},
                  {"elapsed_s", now - piece_start}};
      if (dilated.first.defined()) {
        record["loss_dilated"] = comm.all_reduce_sum(dilated.first.item<double>());
        record["grad_norm_dilated"] = dilated.second.item<double>();
      }
      if (config.has_memory()) {
        Json lengths = Json::array();
        for (double v : model.memory_lengths()) lengths.push_back(v < 0 ? Json(nullptr) : Json(v));
        record["memory_length"] = lengths;
      }
      if (leader) {
        log->write(record);
        if (!o.quiet)
          std::printf("step %lld/%lld loss %.4f lr %.3g grad norm %.3f %.0f tokens/s\n",
                      static_cast<long long>(step), static_cast<long long>(o.steps), loss, lr,
                      record["grad_norm"].get<double>(), record["tokens_per_s"].get<double>());
        std::fflush(stdout);
      }
      result.last_loss = loss;
      last_log = now;
      last_log_step = step;
    }

    const double now = synchronized_seconds(device);
    bool stop = o.stop_at >= 0 && step >= o.stop_at;
    if (o.max_minutes > 0)
      stop = stop || comm.all_reduce_max(now - piece_start >= o.max_minutes * 60 ? 1.0 : 0.0) > 0;
    const bool due = step == o.steps || stop || (o.checkpoint_every > 0 && step % o.checkpoint_every == 0) ||
                     (o.checkpoint_minutes > 0 && now - last_checkpoint >= o.checkpoint_minutes * 60);
    if (due) {
      save(step);
      last_checkpoint = now;
    }
    if (stop) break;
  }
  result.steps_done = step;
  result.finished = step >= o.steps;
  if (leader && !o.quiet) {
    if (result.finished)
      std::printf("finished %lld steps; checkpoint %s\n", static_cast<long long>(step), ckpt.c_str());
    else
      std::printf("stopped after step %lld of %lld; run the same command to resume from %s\n",
                  static_cast<long long>(step), static_cast<long long>(o.steps), ckpt.c_str());
  }
  return result;
}

}  // namespace ratkv::train

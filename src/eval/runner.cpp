#include "eval/runner.h"

#include <chrono>
#include <filesystem>
#include <unordered_set>

#include "base/error.h"
#include "eval/progress.h"
#include "eval/results.h"
#include "niah/ruler_jsonl.h"
#include "niah/scorer.h"

namespace ratkv::eval {

std::vector<std::pair<int64_t, int64_t>> answer_token_spans(const ModelSession& session,
                                                            const std::string& prompt,
                                                            const std::vector<std::string>& outputs,
                                                            int64_t prefix_tokens) {
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const auto& answer : outputs) {
    size_t at = prompt.find("is: " + answer);
    at = at == std::string::npos ? prompt.find(answer) : at + 4;
    if (at == std::string::npos) {
      spans.emplace_back(-1, -1);
      continue;
    }
    // Count the text before the answer without its trailing space: tokenizers attach a word's leading space
    // to the word, so the answer's first token starts there (±1 token, docs/niah.md).
    size_t cut = at;
    while (cut > 0 && prompt[cut - 1] == ' ') --cut;
    const int64_t begin = static_cast<int64_t>(session.encode(prompt.substr(0, cut)).size());
    const int64_t end = static_cast<int64_t>(session.encode(prompt.substr(0, at + answer.size())).size());
    spans.emplace_back(prefix_tokens + begin, prefix_tokens + std::max(end, begin + 1));
  }
  return spans;
}

namespace {

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

// The samples of one (model, length, task) this shard owns, made once and kept on disk.
std::vector<niah::NiahSample> task_samples(const RunOptions& o, const ModelRef& model, ModelSession& session,
                                           const niah::TaskSpec& task, int64_t length, int64_t length_index,
                                           int64_t task_index, const niah::EssayCorpus* essay,
                                           const niah::KeyWords* words) {
  const int64_t n = o.grid.samples;
  auto unit = [&](int64_t sample) {
    return (length_index * static_cast<int64_t>(o.grid.tasks.size()) + task_index) * n + sample;
  };
  if (!o.data_dir.empty()) {
    auto all = niah::read_samples(niah::task_file(o.data_dir, task.name));
    require(static_cast<int64_t>(all.size()) >= n, niah::task_file(o.data_dir, task.name), " has ",
            all.size(), " samples, fewer than --samples ", n);
    std::vector<niah::NiahSample> mine;
    for (int64_t i = 0; i < n; ++i)
      if (o.shard.owns(unit(i))) mine.push_back(all[static_cast<size_t>(i)]);
    return mine;
  }
  const std::string dir = cat(o.out_dir, "/data/", safe_name(model.name), "/", length);
  const std::string path = dir + "/" + task.name + "/validation" + o.shard.suffix() + ".jsonl";
  std::vector<int64_t> wanted;
  for (int64_t i = 0; i < n; ++i)
    if (o.shard.owns(unit(i))) wanted.push_back(i);
  if (std::filesystem::exists(path)) {
    auto kept = niah::read_samples(path);
    // Reuse only if made with the same seed and covering the wanted samples (the file stores sample order).
    bool usable = kept.size() >= wanted.size();
    for (size_t i = 0; usable && i < wanted.size(); ++i)
      usable = kept[i].seed == o.generator.seed && kept[i].max_seq_length == length;
    if (usable) {
      kept.resize(wanted.size());
      for (size_t i = 0; i < wanted.size(); ++i) kept[i].index = wanted[i];
      return kept;
    }
  }
  niah::GeneratorOptions g = o.generator;
  g.max_seq_length = length;
  niah::GeneratorSources sources{essay, words, nullptr};
  niah::NiahGenerator gen(task, g, sources, [&session](std::string_view t) { return session.encode(t); });
  std::vector<niah::NiahSample> made;
  for (int64_t i : wanted) made.push_back(gen.generate(i));
  niah::write_samples(path, made);
  return made;
}

}  // namespace

RunSummary run_grid(const RunOptions& o, const SessionFactory& open_session, const niah::EssayCorpus* essay,
                    const niah::KeyWords* words) {
  const auto start = std::chrono::steady_clock::now();
  require(!o.grid.models.empty(), "--models: no model given");
  require(!o.grid.arms.empty(), "--sparse: no method given");
  require(!o.grid.tasks.empty() && !o.grid.lengths.empty() && o.grid.samples > 0, "empty NIAH grid");
  require(o.data_dir.empty() || o.grid.lengths.size() == 1, "--data: give exactly one --lengths value");
  std::unordered_set<std::string> done;
  for (const auto& r : load_results(o.out_dir)) {
    require(r.matmul == o.matmul, o.out_dir, " holds rows made with --matmul ", r.matmul, " (", r.key(),
            "); this run uses --matmul ", o.matmul, ": give another --out");
    done.insert(r.key());
  }

  RunSummary summary;
  const int64_t n = o.grid.samples;
  const int64_t tasks = static_cast<int64_t>(o.grid.tasks.size());
  // Count the cells this shard owns and those still to do, for the progress bar.
  for (const auto& model : o.grid.models)
    for (size_t li = 0; li < o.grid.lengths.size(); ++li)
      for (int64_t ti = 0; ti < tasks; ++ti)
        for (int64_t s = 0; s < n; ++s) {
          if (!o.shard.owns((static_cast<int64_t>(li) * tasks + ti) * n + s)) continue;
          for (const auto& arm : o.grid.arms) {
            ++summary.cells_total;
            if (done.count(result_key(model.name, arm.method, arm.budget, o.grid.tasks[ti].name,
                                      o.grid.lengths[li], s)))
              ++summary.cells_skipped;
          }
        }
  Progress progress(summary.cells_total - summary.cells_skipped, o.progress ? stderr : nullptr);
  ResultWriter writer(o.out_dir, o.shard.suffix());
  for (const auto& model : o.grid.models) {
    std::unique_ptr<ModelSession> session;
    for (size_t li = 0; li < o.grid.lengths.size(); ++li) {
      const int64_t length = o.grid.lengths[li];
      for (int64_t ti = 0; ti < tasks; ++ti) {
        const auto& task = o.grid.tasks[static_cast<size_t>(ti)];
        // Skip the (model, length, task) entirely when every cell is done: no model load, no generation.
        bool any = false;
        for (int64_t s = 0; s < n && !any; ++s) {
          if (!o.shard.owns((static_cast<int64_t>(li) * tasks + ti) * n + s)) continue;
          for (const auto& arm : o.grid.arms)
            any = any || !done.count(result_key(model.name, arm.method, arm.budget, task.name, length, s));
        }
        if (!any) continue;
        if (!session) session = open_session(model);
        const auto samples =
            task_samples(o, model, *session, task, length, static_cast<int64_t>(li), ti, essay, words);
        for (const auto& sample : samples) {
          std::vector<Arm> todo;
          for (const auto& arm : o.grid.arms)
            if (!done.count(result_key(model.name, arm.method, arm.budget, task.name, length, sample.index)))
              todo.push_back(arm);
          if (todo.empty()) continue;
          const std::string prompt = sample.prompt();
          CellInput input;
          input.prompt = session->prompt_ids(prompt);
          input.max_new_tokens = o.generator.tokens_to_generate;
          input.diagnostics = o.grid.diagnostics;
          if (input.diagnostics) {
            const int64_t prefix = static_cast<int64_t>(input.prompt.size() - session->encode(prompt).size());
            input.gold_spans = answer_token_spans(*session, prompt, sample.outputs, prefix);
          }
          const auto outcomes = session->run(todo, input);
          require(outcomes.size() == todo.size(), "model session returned ", outcomes.size(), " results for ",
                  todo.size(), " cells");
          for (size_t a = 0; a < todo.size(); ++a) {
            ResultRow row;
            row.model = model.name;
            row.method = todo[a].method;
            row.budget = todo[a].budget;
            row.task = task.name;
            row.length = length;
            row.sample = sample.index;
            row.prompt_hash = prompt_hash(prompt);
            row.prediction = outcomes[a].text;
            row.score = niah::string_match_all(outcomes[a].text, sample.outputs);
            row.outputs = sample.outputs;
            row.prompt_tokens = static_cast<int64_t>(input.prompt.size());
            row.new_tokens = static_cast<int64_t>(outcomes[a].tokens.size());
            row.stop_reason = outcomes[a].stop_reason;
            row.seconds = outcomes[a].prefill_seconds + outcomes[a].decode_seconds;
            row.diagnostics = outcomes[a].diagnostics;
            row.matmul = o.matmul;
            writer.append(row);
            ++summary.cells_run;
            progress.advance();
          }
        }
      }
    }
  }
  progress.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace ratkv::eval

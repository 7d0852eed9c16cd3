#pragma once
// `ratkv niah`: runs a grid, appending one result row per cell. For each model, length and task the prompts
// are made once (or read from RULER-format files) and kept under <out>/data/<model>/<length>/<task>/, so a
// resumed run scores exactly the same prompts; cells whose key is already in a results file are skipped.
#include <cstdint>
#include <string>

#include "eval/cell_runner.h"
#include "eval/grid.h"
#include "niah/essay_corpus.h"
#include "niah/generator.h"
#include "niah/key_words.h"

namespace ratkv::eval {

struct RunOptions {
  GridSpec grid;
  std::string out_dir;
  Shard shard;
  niah::GeneratorOptions generator;  // seed, tokens_to_generate, chat template (max_seq_length per length)
  std::string data_dir;              // RULER files <data_dir>/<task>/validation.jsonl instead of generating
  bool progress = true;
  std::string matmul = "f32";  // recorded in every row; a directory holds rows of one precision only
};

struct RunSummary {
  int64_t cells_total = 0, cells_skipped = 0, cells_run = 0;
  double seconds = 0.0;
};

RunSummary run_grid(const RunOptions& options, const SessionFactory& open_session,
                    const niah::EssayCorpus* essay, const niah::KeyWords* words);

// Token spans of each expected answer in the prompt (first occurrence after "is: "), for diagnostics.
std::vector<std::pair<int64_t, int64_t>> answer_token_spans(const ModelSession& session,
                                                            const std::string& prompt,
                                                            const std::vector<std::string>& outputs,
                                                            int64_t prefix_tokens);

}  // namespace ratkv::eval

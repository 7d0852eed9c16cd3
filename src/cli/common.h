#pragma once
// Flags and helpers shared by the subcommands that run a model.
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ratkv::cli {

// -m, -t, --kv-dtype, --page-size, --ctx-size, --memory-state, --tokenizer.
void add_model_flags(Args& args);
// -p / --ids / --no-special.
void add_prompt_flags(Args& args);

// Sets the thread count from -t (defaults to the cores available).
int apply_threads(const Args& args);
InferenceOptions inference_options(const Args& args);

// The tokenizer named by --tokenizer, else the model directory's own, else null.
std::unique_ptr<Tokenizer> load_tokenizer(const Args& args, const Model& model);

// Prompt ids from --ids or from -p (tokenized, with the tokenizer's special tokens unless --no-special
// or the family adds none). Fails clearly when neither is given or -p has no tokenizer.
std::vector<int32_t> prompt_ids(const Args& args, const Model& model, const Tokenizer* tokenizer);

}  // namespace ratkv::cli

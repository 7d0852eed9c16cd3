#pragma once
// Flags and helpers shared by the subcommands that run a model.
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ratkv::cli {

// -m, -t, --kv-dtype, --page-size, --ctx-size, --memory-state, --tokenizer, --matmul, --no-mmap.
void add_model_flags(Args& args);
// Loads -m with the load options of those flags (--no-mmap).
std::unique_ptr<Model> load_model(const Args& args);
// -p / --ids / --no-special.
void add_prompt_flags(Args& args);

// --sparse and its method flags (docs/sparse.md).
void add_sparse_flags(Args& args);
// The sparse config from those flags: preset defaults, then explicit flags. Rejects flags that do not
// apply to the chosen method. Dense when --sparse is absent (then no other sparse flag may be given).
SparseConfig sparse_config(const Args& args);

// Sets the thread count from -t (defaults to the cores available).
int apply_threads(const Args& args);
// Includes the sparse config when the command declared the sparse flags; with a sparse method and no
// explicit --page-size, the page size is the preset's (64 seed, 16 original).
InferenceOptions inference_options(const Args& args);
// --matmul f32|bf16 (declared by add_model_flags, and by niah).
MatmulPrecision matmul_precision(const Args& args);

// The tokenizer named by --tokenizer, else the model directory's own, else null.
std::unique_ptr<Tokenizer> load_tokenizer(const Args& args, const Model& model);

// Prompt ids from --ids or from -p (tokenized, with the tokenizer's special tokens unless --no-special
// or the family adds none). Fails clearly when neither is given or -p has no tokenizer.
std::vector<int32_t> prompt_ids(const Args& args, const Model& model, const Tokenizer* tokenizer);

}  // namespace ratkv::cli

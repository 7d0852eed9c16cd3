// ratkv logits: the logits of every prompt token as float32 [tokens, vocab] in a .npy file, so anyone can
// compare ratkv with another implementation.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "io/npy.h"

namespace ratkv::cli {

int run_logits(int argc, char** argv) {
  Args args("logits",
            "Runs a prompt through the model and writes float32 logits [tokens, vocab] to a .npy file.");
  add_model_flags(args);
  add_sparse_flags(args);
  add_prompt_flags(args);
  args.option("-o,--out", "FILE", "output .npy file");
  args.flag("--last", "write only the last token's logits [1, vocab]");
  if (!args.parse(argc, argv)) return 0;
  apply_threads(args);
  const std::string out = args.str("out");
  auto model = load_model(args);
  auto tokenizer = load_tokenizer(args, *model);
  const auto ids = prompt_ids(args, *model, tokenizer.get());
  InferenceContext ctx(*model, inference_options(args));
  std::vector<float> logits;
  const bool last = args.enabled("last");
  ctx.forward(ids, last ? LogitRows::Last : LogitRows::All, logits);
  const int64_t rows = last ? 1 : static_cast<int64_t>(ids.size());
  write_npy_f32(out, {rows, model->config().vocab_size}, logits.data());
  std::fprintf(stderr, "wrote %s: [%lld, %lld] float32\n", out.c_str(), static_cast<long long>(rows),
               static_cast<long long>(model->config().vocab_size));
  return 0;
}

}  // namespace ratkv::cli

#include "cli/architecture_flags.h"

#include <algorithm>

#include "base/error.h"

namespace ratkv::cli {

void add_architecture_flags(Args& args) {
  args.option("--family", "NAME", "llama, olmo2 or ratplus")
      .option("--layers", "N", "decoder layers")
      .option("--hidden", "N", "hidden size")
      .option("--heads", "N", "attention heads (default: hidden / 64)")
      .option("--kv-heads", "N", "key/value heads (default: heads)")
      .option("--head-dim", "N", "head dimension (default: hidden / heads)")
      .option("--intermediate", "N",
              "FFN width (default: 4 x hidden for ratplus, 8/3 x hidden rounded to 64 otherwise)")
      .option("--vocab", "N", "vocabulary size (default: the tokenizer's)")
      .option("--max-pos", "N", "max_position_embeddings", "4096")
      .option("--rope-theta", "X", "RoPE base", "10000")
      .flag("--memory", "add the RAT+ memory to every layer (default for ratplus)")
      .flag("--no-memory", "no memory (the RAT+ attention baseline)")
      .option("--memory-max-length", "L",
              "bound the memory's effective length: gate g = (1 - 1/L) sigmoid(W_g x) (default: unbounded)")
      .flag("--output-gate", "add the output gate (always on for ratplus)");
}

ModelConfig architecture_from_flags(const Args& args, std::optional<int64_t> tokenizer_vocab,
                                    std::optional<int64_t> bos_id, std::optional<int64_t> eos_id) {
  ModelConfig c;
  const std::string family = args.str("family");
  if (family == "llama")
    c.family = Family::Llama;
  else if (family == "olmo2")
    c.family = Family::Olmo2;
  else if (family == "ratplus")
    c.family = Family::RatPlus;
  else
    fail("--family must be llama, olmo2 or ratplus, got \"", family, "\"");
  require(!(args.enabled("memory") && args.enabled("no-memory")),
          "--memory and --no-memory exclude each other");

  c.num_layers = args.integer("layers", 1, 1024);
  c.hidden_size = args.integer("hidden", 2, 65536);
  c.num_heads = args.has("heads") ? args.integer("heads", 1, 4096) : std::max<int64_t>(1, c.hidden_size / 64);
  c.num_kv_heads = args.has("kv-heads") ? args.integer("kv-heads", 1, 4096) : c.num_heads;
  c.head_dim = args.has("head-dim") ? args.integer("head-dim", 2, 4096) : c.hidden_size / c.num_heads;
  c.max_position_embeddings = args.integer("max-pos", 1, int64_t{1} << 30);
  c.rope.theta = args.number("rope-theta", 1.0, 1e12);
  if (args.has("vocab"))
    c.vocab_size = args.integer("vocab", tokenizer_vocab.value_or(1), int64_t{1} << 24);
  else if (tokenizer_vocab)
    c.vocab_size = *tokenizer_vocab;
  else
    fail("--vocab is required when no tokenizer gives the vocabulary");
  if (bos_id) c.bos_token_id = *bos_id;
  if (eos_id) c.eos_token_ids = {*eos_id};

  const bool memory = c.family == Family::RatPlus ? !args.enabled("no-memory") : args.enabled("memory");
  c.memory_layers.assign(static_cast<size_t>(c.num_layers), memory);
  if (args.has("memory-max-length")) {
    require(memory, "--memory-max-length needs a model with the memory");
    c.memory_max_length = args.number("memory-max-length", 1.0, 1e9);
    require(c.memory_max_length > 1.0, "--memory-max-length must be > 1 (the gate's bound is 1 - 1/L)");
  }
  switch (c.family) {
    case Family::Llama:
    case Family::Olmo2:
      c.intermediate_size = args.has("intermediate") ? args.integer("intermediate", 1, 1 << 20)
                                                     : (c.hidden_size * 8 / 3 + 63) / 64 * 64;
      c.norm_placement =
          c.family == Family::Olmo2 ? NormPlacement::PostNormInResidual : NormPlacement::PreNorm;
      c.qk_norm = c.family == Family::Olmo2;
      c.output_gate = args.enabled("output-gate");
      c.rms_norm_eps = c.family == Family::Olmo2 ? 1e-6 : 1e-5;
      break;
    case Family::RatPlus:
      c.intermediate_size =
          args.has("intermediate") ? args.integer("intermediate", 1, 1 << 20) : 4 * c.hidden_size;
      c.ffn = FfnKind::GeluErf;
      c.output_gate = true;
      c.tie_word_embeddings = true;
      c.rms_norm_eps = 1e-6;
      break;
  }
  return ModelConfig::from_json(c.to_json(), "model flags");
}

}  // namespace ratkv::cli

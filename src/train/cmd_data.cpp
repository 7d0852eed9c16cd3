// ratkv-train corpus | tokenizer | shards: the text → tokenizer → token shard pipeline.
#include <sentencepiece_trainer.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/error.h"
#include "base/json.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "niah/text_source.h"
#include "tokenizer/tokenizer.h"
#include "train/commands.h"
#include "train/corpus.h"
#include "train/sft_tokens.h"
#include "train/token_shards.h"

namespace ratkv::train {

namespace {

// Documents of a corpus JSONL, in file order.
std::vector<std::string> read_corpus(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), path, ": cannot open the corpus");
  std::vector<std::string> docs;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::string where = cat(path, ":", number);
    const Json j = parse_json(line, where);
    auto text = json_string(j, "text", where);
    require(text.has_value(), where, ": needs a \"text\" string");
    docs.push_back(std::move(*text));
  }
  require(!docs.empty(), path, ": the corpus has no documents");
  return docs;
}

// Feeds the corpus to the SentencePiece trainer one paragraph (line) at a time.
class ParagraphIterator : public sentencepiece::SentenceIterator {
 public:
  explicit ParagraphIterator(const std::vector<std::string>& docs) : docs_(docs) { advance(); }
  bool done() const override { return doc_ >= docs_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (doc_ < docs_.size()) {
      const std::string& d = docs_[doc_];
      if (pos_ >= d.size()) {
        ++doc_, pos_ = 0;
        continue;
      }
      size_t end = d.find('\n', pos_);
      if (end == std::string::npos) end = d.size();
      value_ = d.substr(pos_, end - pos_);
      pos_ = end + 1;
      return;
    }
  }
  const std::vector<std::string>& docs_;
  size_t doc_ = 0, pos_ = 0;
  std::string value_;
};

}  // namespace

int run_corpus(int argc, char** argv) {
  cli::Args args("train corpus",
                 "Gathers English prose from installed Debian documentation packages into JSONL.");
  args.option("-o,--out", "FILE", "corpus JSONL ({\"source\", \"text\"} per document)")
      .option("--exclude-list", "FILE", "source list of files never to use (the evaluation essay haystack)");
  if (!args.parse(argc, argv)) return 0;
  std::vector<std::string> exclude;
  if (args.has("exclude-list")) {
    const std::string list = args.str("exclude-list");
    exclude = niah::expand_sources(niah::parse_source_list(read_text_file(list)));
  }
  const auto sources = default_corpus_sources();
  const CorpusStats s = build_corpus(sources, exclude, args.str("out"));
  std::printf(
      "wrote %s: %lld documents, %lld paragraphs, %.1f MB from %lld files; %lld files excluded, %lld "
      "duplicate paragraphs dropped\n",
      args.str("out").c_str(), static_cast<long long>(s.documents), static_cast<long long>(s.paragraphs),
      s.bytes / 1e6, static_cast<long long>(s.files), static_cast<long long>(s.excluded),
      static_cast<long long>(s.duplicates));
  return 0;
}

int run_tokenizer(int argc, char** argv) {
  cli::Args args("train tokenizer",
                 "Trains a SentencePiece tokenizer (BPE, byte fallback, split digits) on a corpus.");
  args.option("--corpus", "FILE", "corpus JSONL from `ratkv-train corpus`")
      .option("--vocab", "N", "vocabulary size", "8192")
      .option("-o,--out", "FILE", "tokenizer .model to write (a .vocab is written beside it)")
      .option("--model-type", "T", "bpe or unigram", "bpe")
      .option("--sentences", "N", "paragraphs sampled for training (0 = all)", "2000000")
      .option("--threads", "N", "trainer threads", "0");
  if (!args.parse(argc, argv)) return 0;
  const std::string out = args.str("out");
  require(out.ends_with(".model"), "--out must end in .model, got ", out);
  const std::string type = args.str("model-type");
  require(type == "bpe" || type == "unigram", "--model-type must be bpe or unigram");
  const int64_t threads = args.integer("threads", 0, 1024);
  const auto docs = read_corpus(args.str("corpus"));
  ParagraphIterator it(docs);
  // Llama-2's SentencePiece settings (identity normalization, byte fallback, split digits) with ids
  // unk 0, bos 1, eos 2; documents in the shards end with EOS = 2.
  const std::unordered_map<std::string, std::string> spec{
      {"model_prefix", out.substr(0, out.size() - 6)},
      {"model_type", type},
      {"vocab_size", std::to_string(args.integer("vocab", 256 + 4, 1 << 20))},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"character_coverage", "0.9995"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"max_sentence_length", "16384"},
      {"input_sentence_size", std::to_string(args.integer("sentences", 0, int64_t{1} << 40))},
      {"shuffle_input_sentence", "true"},
      {"num_threads",
       std::to_string(threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency()))},
      {"minloglevel", "1"}};
  const auto status = sentencepiece::SentencePieceTrainer::Train(spec, &it);
  require(status.ok(), "tokenizer training failed: ", status.ToString());
  std::printf("wrote %s (eos id 2)\n", out.c_str());
  return 0;
}

int run_shards(int argc, char** argv) {
  cli::Args args("train shards",
                 "Tokenizes a corpus into binary token shards, each document followed by EOS.");
  args.option("--corpus", "FILE", "corpus JSONL")
      .option("--tokenizer", "FILE", "tokenizer .model (or tokenizer.json)")
      .option("-o,--out", "DIR", "output directory (shard_00000.tok, ...)")
      .option("--shard-tokens", "N", "tokens per shard", "100000000")
      .option("--threads", "N", "tokenizer threads (0 = all cores)", "0");
  if (!args.parse(argc, argv)) return 0;
  const auto tokenizer = Tokenizer::load(args.str("tokenizer"));
  require(tokenizer->eos_id().has_value(), args.str("tokenizer"), ": the tokenizer has no EOS token");
  const int32_t eos = *tokenizer->eos_id();
  const auto docs = read_corpus(args.str("corpus"));
  int64_t threads = args.integer("threads", 0, 1024);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  // Documents are encoded in parallel into their own slots, then written in corpus order.
  std::vector<std::vector<int32_t>> encoded(docs.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex error_mutex;
  for (int64_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < docs.size(); i = next++) {
        try {
          encoded[i] = tokenizer->encode(docs[i], false);
          encoded[i].push_back(eos);
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  const std::string dir = args.str("out");
  std::filesystem::create_directories(dir);
  const int64_t shard_tokens = args.integer("shard-tokens", 1, int64_t{1} << 40);
  std::vector<int32_t> shard;
  int shard_index = 0;
  int64_t total = 0;
  auto flush = [&] {
    if (shard.empty()) return;
    char name[32];
    std::snprintf(name, sizeof name, "/shard_%05d.tok", shard_index++);
    write_token_shard(dir + name, shard, static_cast<uint32_t>(tokenizer->vocab_size()),
                      static_cast<uint32_t>(eos));
    total += static_cast<int64_t>(shard.size());
    shard.clear();
  };
  for (const auto& doc : encoded) {
    shard.insert(shard.end(), doc.begin(), doc.end());
    if (static_cast<int64_t>(shard.size()) >= shard_tokens) flush();
  }
  flush();
  std::printf("wrote %d shards, %lld tokens (%zu documents, eos %d) to %s\n", shard_index,
              static_cast<long long>(total), docs.size(), eos, dir.c_str());
  return 0;
}

}  // namespace ratkv::train

namespace ratkv::train {

int run_sft_tokens(int argc, char** argv) {
  cli::Args args("train-data sft-tokens", "Tokenizes SFT JSONL (RULER NIAH) for ratkv-train sft.");
  args.option("--data", "FILE", "JSONL of {input, outputs: [...], answer_prefix?} or {input, answer}")
      .option("--tokenizer", "FILE", "tokenizer .model or tokenizer.json")
      .option("--answer-separator", "S", "joins an example's outputs", ", ")
      .option("-o,--out", "FILE", "SFT token file to write");
  if (!args.parse(argc, argv)) return 0;
  const auto tokenizer = Tokenizer::load(args.str("tokenizer"));
  require(tokenizer->eos_id().has_value(), args.str("tokenizer"), ": the tokenizer has no EOS token");
  const SftFile file =
      tokenize_sft_jsonl(args.str("data"), *tokenizer, *tokenizer->eos_id(), args.str("answer-separator"));
  write_sft_file(args.str("out"), file);
  int64_t answer = 0, longest = 0;
  for (const auto& e : file.examples) {
    answer += static_cast<int64_t>(e.target.size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(e.prompt.size() + e.target.size()));
  }
  std::printf("wrote %s: %zu examples, %lld answer tokens, longest %lld tokens\n", args.str("out").c_str(),
              file.examples.size(), static_cast<long long>(answer), static_cast<long long>(longest));
  return 0;
}

}  // namespace ratkv::train

#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

// Matches the reference's cache policy: short words only (long ones rarely repeat).
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kCacheCapacity = 10000;
constexpr std::string_view kWordMarker = "\xE2\x96\x81";  // U+2581 "▁"

// True if token has "▁" right after a character other than "▁".
bool marker_follows_other_character(std::string_view token) {
  for (size_t pos = token.find(kWordMarker, 1); pos != std::string_view::npos;
       pos = token.find(kWordMarker, pos + 1)) {
    if (pos < kWordMarker.size() ||
        token.substr(pos - kWordMarker.size(), kWordMarker.size()) != kWordMarker) {
      return true;
    }
  }
  return false;
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

// Open-addressing map from a symbol pair to its merge. The merge loop looks pairs up several times
// per symbol, so this is the hot path of encoding, where std::unordered_map's node chasing shows.
class BpeModel::PairTable {
 public:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };

  explicit PairTable(size_t entries) {
    size_t capacity = 16;
    int bits = 4;
    while (capacity < entries * 2) {
      capacity <<= 1;
      ++bits;
    }
    slots_.assign(capacity, Slot{kEmpty, {0, 0}});
    mask_ = capacity - 1;
    shift_ = 64 - bits;
  }

  // A later merge of the same pair replaces the earlier one, as in the reference's HashMap collect.
  void insert(uint64_t key, Merge merge) {
    size_t i = slot_of(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    slots_[i] = Slot{key, merge};
  }

  const Merge* find(uint64_t key) const {
    size_t i = slot_of(key);
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative int32, so no pair has this key
  struct Slot {
    uint64_t key;
    Merge merge;
  };

  // Fibonacci hashing: the top bits of the product mix both ids of the pair.
  size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 60;
};

struct BpeModel::Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  uint32_t bytes;  // 0 once merged into its left neighbour
};

BpeModel::BpeModel(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    require(id >= 0, "vocabulary token \"", token, "\" has negative id ", id);
    max_id = std::max(max_id, id);
  }
  tokens_by_id_.resize(static_cast<size_t>(max_id) + 1);
  id_present_.assign(tokens_by_id_.size(), false);
  for (const auto& [token, id] : vocab_) {
    require(!id_present_[id], "vocabulary id ", id, " is given to both \"", tokens_by_id_[id], "\" and \"",
            token, "\"");
    id_present_[id] = true;
    tokens_by_id_[id] = token;
    size_t pos = 0;
    if (!token.empty()) {
      char32_t c = utf8::next_code_point(token, pos);
      if (pos == token.size()) single_char_ids_.emplace(c, id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab_.find(std::string_view(name));
    byte_token_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (options_.unk_token) {
    auto it = vocab_.find(*options_.unk_token);
    require(it != vocab_.end(), "unk_token \"", *options_.unk_token, "\" is not in the vocabulary");
    unk_id_ = it->second;
  }

  split_before_word_marker_ = vocab_.count(kWordMarker) != 0 && options_.continuing_subword_prefix.empty() &&
                              options_.end_of_word_suffix.empty() && !options_.ignore_merges &&
                              std::none_of(vocab_.begin(), vocab_.end(), [](const auto& entry) {
                                return marker_follows_other_character(entry.first);
                              });

  merges_ = std::make_unique<PairTable>(merges.size());
  const size_t prefix_size = options_.continuing_subword_prefix.size();
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto left_id = token_to_id(left);
    auto right_id = token_to_id(right);
    require(left_id.has_value(), "merge ", rank, " (\"", left, " ", right, "\"): \"", left,
            "\" is not in the vocabulary");
    require(right_id.has_value(), "merge ", rank, " (\"", left, " ", right, "\"): \"", right,
            "\" is not in the vocabulary");
    // The merged token drops the right part's continuing prefix, as in the reference.
    merged.assign(left);
    merged.append(right.size() >= prefix_size ? std::string_view(right).substr(prefix_size)
                                              : std::string_view());
    auto merged_id = token_to_id(merged);
    require(merged_id.has_value(), "merge ", rank, " (\"", left, " ", right, "\"): the result \"", merged,
            "\" is not in the vocabulary");
    merges_->insert(pair_key(*left_id, *right_id), {static_cast<uint32_t>(rank), *merged_id});
  }
}

BpeModel::~BpeModel() = default;

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || id >= id_bound() || !id_present_[id]) return nullptr;
  return &tokens_by_id_[id];
}

void BpeModel::initial_symbols(std::string_view word, std::vector<Symbol>& symbols) const {
  const bool plain = options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty();
  auto add = [&](int32_t id, size_t bytes) {
    symbols.push_back({id, static_cast<int32_t>(symbols.size()) - 1, static_cast<int32_t>(symbols.size()) + 1,
                       static_cast<uint32_t>(bytes)});
  };
  // Bytes covered by a pending unknown token (0: none). Flushed when a known character follows.
  size_t pending_unk = 0;
  std::string decorated;
  for (size_t pos = 0; pos < word.size();) {
    size_t start = pos;
    char32_t c = utf8::next_code_point(word, pos);
    size_t char_bytes = pos - start;
    std::string_view piece = word.substr(start, char_bytes);

    std::optional<int32_t> id;
    if (plain) {
      auto it = single_char_ids_.find(c);
      if (it != single_char_ids_.end()) id = it->second;
    } else {
      decorated.clear();
      if (start != 0) decorated += options_.continuing_subword_prefix;
      decorated += piece;
      if (pos == word.size()) decorated += options_.end_of_word_suffix;
      piece = decorated;
      id = token_to_id(piece);
    }

    if (id) {
      if (pending_unk != 0) {
        add(*unk_id_, pending_unk);
        pending_unk = 0;
      }
      add(*id, char_bytes);
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = std::all_of(piece.begin(), piece.end(),
                                   [&](char b) { return byte_token_ids_[static_cast<uint8_t>(b)] >= 0; });
      if (all_bytes) {
        // The reference leaves a pending unknown token in place here, so byte tokens may precede it.
        for (char b : piece) add(byte_token_ids_[static_cast<uint8_t>(b)], 1);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk != 0 && options_.fuse_unk) {
        pending_unk += char_bytes;
      } else {
        if (pending_unk != 0) add(*unk_id_, pending_unk);
        pending_unk = char_bytes;
      }
    }
  }
  if (pending_unk != 0) add(*unk_id_, pending_unk);
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  initial_symbols(word, symbols);

  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
  };
  // Min-heap on (rank, position): the lowest rank merges first, ties go to the leftmost pair.
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Candidate> queue;
  queue.reserve(symbols.size());
  auto push = [&](int32_t pos, const PairTable::Merge& m) {
    queue.push_back({m.rank, pos, m.new_id});
    std::push_heap(queue.begin(), queue.end(), later);
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const auto* m = merges_->find(pair_key(symbols[i].id, symbols[i + 1].id))) {
      queue.push_back({m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  std::make_heap(queue.begin(), queue.end(), later);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    Candidate top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.bytes == 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Entries go stale when a neighbour merged first; the pair must still produce the same token.
    const auto* current = merges_->find(pair_key(left.id, right.id));
    if (current == nullptr || current->new_id != top.new_id) continue;

    left.id = top.new_id;
    left.bytes += right.bytes;
    left.next = right.next;
    right.bytes = 0;
    if (left.next >= 0) symbols[left.next].prev = top.pos;

    if (left.prev >= 0) {
      if (const auto* m = merges_->find(pair_key(symbols[left.prev].id, left.id))) push(left.prev, *m);
    }
    if (left.next >= 0) {
      if (const auto* m = merges_->find(pair_key(left.id, symbols[left.next].id))) push(top.pos, *m);
    }
  }
  for (const Symbol& s : symbols) {
    if (s.bytes != 0) out.push_back(s.id);
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (!split_before_word_marker_) {
    tokenize_whole(word, out);
    return;
  }
  size_t part_start = 0;
  for (size_t pos = word.find(kWordMarker, 1); pos != std::string_view::npos;
       pos = word.find(kWordMarker, pos + kWordMarker.size())) {
    if (pos >= kWordMarker.size() &&
        word.substr(pos - kWordMarker.size(), kWordMarker.size()) == kWordMarker) {
      continue;
    }
    tokenize_whole(word.substr(part_start, pos - part_start), out);
    part_start = pos;
  }
  tokenize_whole(word.substr(part_start), out);
}

void BpeModel::tokenize_whole(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = token_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() < kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + first, out.end()));
  }
}

}  // namespace ratkv

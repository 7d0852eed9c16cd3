#pragma once
// The paged KV cache of one sequence. Tokens live in fixed-size pages; one page table (page ids in token
// order) serves every layer, since all layers advance together, and each layer has its own page pool.
// Inside a page the layout is [kv_head][slot][head_dim] for keys and the same for values, so one head's
// keys of a page are contiguous. Pages are allocated in blocks that never move: appending never copies
// stored tokens, and the cost of reading grows with the live length, not with any capacity.
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/dtype.h"

namespace ratkv {

struct KvCacheShape {
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t page_size = 16;
  DType dtype = DType::BF16;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheShape& shape);

  const KvCacheShape& shape() const { return shape_; }
  // Tokens stored in a layer (layers are appended in order during a forward call).
  int64_t length(int64_t layer) const { return lengths_[static_cast<size_t>(layer)]; }
  int64_t num_pages() const { return static_cast<int64_t>(page_table_.size()); }
  const std::vector<int32_t>& page_table() const { return page_table_; }

  // Appends n tokens to a layer. k, v: [n, num_kv_heads * head_dim] f32 (k after RoPE), rounded to the
  // cache dtype on store.
  void append(int64_t layer, const float* k, const float* v, int64_t n);

  // Keys or values of `count` consecutive tokens of one head starting at `token`, all within one page:
  // [count][head_dim] in the cache dtype.
  const uint8_t* keys(int64_t layer, int64_t token, int64_t head) const { return slot(layer, token, head, 0); }
  const uint8_t* values(int64_t layer, int64_t token, int64_t head) const { return slot(layer, token, head, 1); }

  // Drops every token (keeps the allocated pages for reuse).
  void clear();
  // Bytes of one token's K and V over all layers and heads (for bandwidth accounting).
  int64_t bytes_per_token() const;

 private:
  static constexpr int64_t kPagesPerBlock = 64;
  const uint8_t* slot(int64_t layer, int64_t token, int64_t head, int which) const;
  uint8_t* page_data(int64_t layer, int32_t page);
  const uint8_t* page_data(int64_t layer, int32_t page) const;
  void ensure_pages(int64_t tokens);

  KvCacheShape shape_;
  int64_t page_bytes_;  // K and V of one page for one layer
  std::vector<int64_t> lengths_;
  std::vector<int32_t> page_table_;
  int32_t pages_allocated_ = 0;
  std::vector<std::vector<std::unique_ptr<uint8_t[]>>> blocks_;  // [layer][block]
};

}  // namespace ratkv

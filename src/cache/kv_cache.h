#pragma once
// The paged KV cache of one sequence. Tokens live in fixed-size pages; one page table (page ids in token
// order) serves every layer, since all layers advance together, and each layer has its own page pool.
// Inside a page the layout is [kv_head][keys, values][slot][head_dim]: one head's keys of a page are
// contiguous, followed by its values, so a decode pass over a page (head by head, keys then values)
// reads it front to back as one stream. Pages are allocated in blocks that never move: appending never copies
// stored tokens, and the cost of reading grows with the live length, not with any capacity.
//
// Every page also carries metadata for query-aware sparse attention (src/sparse/), kept up to date by
// append() — the one write path, used by the model and by fill_synthetic alike — for each layer and KV
// head: the element-wise min and max of the page's stored keys (Quest's bound; kept in the cache dtype,
// which is exact because the min/max of stored values are stored values) and their running f32 sum
// (MoBA's block mean). The recurrent memory state is not part of this cache and is never selected over.
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

// The page table of the (single) sequence in CSR form, as FlashInfer passes it: sequence s owns page ids
// page_ids[offsets[s] .. offsets[s + 1]), its last page holding last_page_length tokens.
struct PageTableView {
  int64_t offsets[2] = {0, 0};
  const int32_t* page_ids = nullptr;
  int64_t last_page_length = 0;
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
  const uint8_t* keys(int64_t layer, int64_t token, int64_t head) const {
    return slot(layer, token, head, 0);
  }
  const uint8_t* values(int64_t layer, int64_t token, int64_t head) const {
    return slot(layer, token, head, 1);
  }

  // Tokens held by logical page `page` of a layer (page_size except possibly the last one).
  int64_t page_tokens(int64_t layer, int64_t page) const;
  PageTableView page_table_view(int64_t layer) const;

  // Page metadata of logical page `page`, KV head `head`: [head_dim] min then [head_dim] max of the
  // stored keys, contiguous, in the cache dtype; and [head_dim] f32 sum of the stored keys.
  // Inline: Quest scans these once per page per step.
  const uint8_t* key_min_max(int64_t layer, int64_t page, int64_t head) const {
    const int32_t id = page_table_[static_cast<size_t>(page)];
    return min_max_blocks_[static_cast<size_t>(layer)][static_cast<size_t>(id >> meta_shift_)].get() +
           ((head << meta_shift_) + (id & meta_mask_)) * min_max_bytes();
  }
  const float* key_sum(int64_t layer, int64_t page, int64_t head) const {
    const int32_t id = page_table_[static_cast<size_t>(page)];
    return reinterpret_cast<const float*>(
               sum_blocks_[static_cast<size_t>(layer)][static_cast<size_t>(id >> meta_shift_)].get()) +
           ((head << meta_shift_) + (id & meta_mask_)) * shape_.head_dim;
  }
  // Bytes of one page's min/max metadata for one head (what a Quest scan reads per page).
  int64_t min_max_bytes() const {
    return 2 * shape_.head_dim * static_cast<int64_t>(dtype_size(shape_.dtype));
  }

  // Drops every token (keeps the allocated pages for reuse).
  void clear();
  // Drops the tokens at or past `tokens` in every layer; the ones before stay byte for byte (what
  // InferenceContext::rollback needs to run several decodes from one prefill).
  void truncate(int64_t tokens);
  // Bytes of one token's K and V over all layers and heads (for bandwidth accounting).
  int64_t bytes_per_token() const;

 private:
  // Page blocks come from aligned_alloc (2 MB-aligned, advised for transparent huge pages) and go back
  // to a process-wide pool for the next cache (kv_cache.cpp).
  struct FreeBlock {
    size_t size = 0;
    void operator()(uint8_t* p) const;
  };
  static constexpr int64_t kPagesPerBlock = 64;
  const uint8_t* slot(int64_t layer, int64_t token, int64_t head, int which) const;
  static std::unique_ptr<uint8_t[], FreeBlock> allocate_block(size_t bytes);
  uint8_t* page_data(int64_t layer, int32_t page);
  uint8_t* min_max_data(int64_t layer, int32_t page, int64_t head);
  float* sum_data(int64_t layer, int32_t page, int64_t head);
  void update_metadata(int64_t layer, int32_t page, int64_t slot);
  const uint8_t* page_data(int64_t layer, int32_t page) const;
  void ensure_pages(int64_t tokens);

  KvCacheShape shape_;
  int64_t page_bytes_;  // K and V of one page for one layer
  std::vector<int64_t> lengths_;
  std::vector<int32_t> page_table_;
  int32_t pages_allocated_ = 0;
  std::vector<std::vector<std::unique_ptr<uint8_t[], FreeBlock>>> blocks_;  // [layer][block]
  // Metadata blocks, head-major so that a selector's scan of one KV head reads one contiguous run per
  // block: [kv_head][page in block][min, max][head_dim] in the cache dtype and [kv_head][page][head_dim]
  // f32. A metadata block holds 2^meta_shift_ pages — at least kPagesPerBlock, and enough for a min/max
  // block of at least 2 MiB — so that it lies on huge pages and a scan's runs are long: with 64 KB blocks
  // of 4 KB pages a Quest scan read its bytes at half the speed of one contiguous stream
  // (tools/bench/quest_scan_bench.cpp).
  int meta_shift_ = 0;
  int32_t meta_mask_ = 0;
  std::vector<std::vector<std::unique_ptr<uint8_t[], FreeBlock>>> min_max_blocks_;
  std::vector<std::vector<std::unique_ptr<uint8_t[], FreeBlock>>> sum_blocks_;
};

}  // namespace ratkv

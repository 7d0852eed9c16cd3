#include "cache/kv_cache.h"

#include "base/error.h"

namespace ratkv {

KvCache::KvCache(const KvCacheShape& shape) : shape_(shape) {
  require(shape.page_size >= 1, "page size must be at least 1, got ", shape.page_size);
  page_bytes_ = 2 * shape.num_kv_heads * shape.page_size * shape.head_dim * static_cast<int64_t>(dtype_size(shape.dtype));
  lengths_.assign(static_cast<size_t>(shape.num_layers), 0);
  blocks_.resize(static_cast<size_t>(shape.num_layers));
}

int64_t KvCache::bytes_per_token() const {
  return 2 * shape_.num_layers * shape_.num_kv_heads * shape_.head_dim * static_cast<int64_t>(dtype_size(shape_.dtype));
}

uint8_t* KvCache::page_data(int64_t layer, int32_t page) {
  auto& blocks = blocks_[static_cast<size_t>(layer)];
  return blocks[static_cast<size_t>(page / kPagesPerBlock)].get() + (page % kPagesPerBlock) * page_bytes_;
}

const uint8_t* KvCache::page_data(int64_t layer, int32_t page) const {
  const auto& blocks = blocks_[static_cast<size_t>(layer)];
  return blocks[static_cast<size_t>(page / kPagesPerBlock)].get() + (page % kPagesPerBlock) * page_bytes_;
}

void KvCache::ensure_pages(int64_t tokens) {
  const int64_t pages_needed = (tokens + shape_.page_size - 1) / shape_.page_size;
  while (num_pages() < pages_needed) {
    if (pages_allocated_ >= static_cast<int64_t>(blocks_[0].size()) * kPagesPerBlock) {
      for (auto& layer_blocks : blocks_)
        layer_blocks.push_back(std::make_unique<uint8_t[]>(static_cast<size_t>(kPagesPerBlock * page_bytes_)));
    }
    page_table_.push_back(pages_allocated_++);
  }
}

void KvCache::append(int64_t layer, const float* k, const float* v, int64_t n) {
  const int64_t start = lengths_[static_cast<size_t>(layer)];
  ensure_pages(start + n);
  const int64_t heads = shape_.num_kv_heads, dim = shape_.head_dim, page_size = shape_.page_size;
  const size_t elem = dtype_size(shape_.dtype);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t token = start + t;
    uint8_t* page = page_data(layer, page_table_[static_cast<size_t>(token / page_size)]);
    const int64_t slot = token % page_size;
    for (int64_t h = 0; h < heads; ++h) {
      uint8_t* key = page + ((h * page_size + slot) * dim) * static_cast<int64_t>(elem);
      uint8_t* value = key + heads * page_size * dim * static_cast<int64_t>(elem);
      convert_from_f32(k + (t * heads + h) * dim, static_cast<size_t>(dim), shape_.dtype, key);
      convert_from_f32(v + (t * heads + h) * dim, static_cast<size_t>(dim), shape_.dtype, value);
    }
  }
  lengths_[static_cast<size_t>(layer)] = start + n;
}

const uint8_t* KvCache::slot(int64_t layer, int64_t token, int64_t head, int which) const {
  const int64_t page_size = shape_.page_size, dim = shape_.head_dim;
  const int64_t elem = static_cast<int64_t>(dtype_size(shape_.dtype));
  const uint8_t* page = page_data(layer, page_table_[static_cast<size_t>(token / page_size)]);
  return page + (which * shape_.num_kv_heads * page_size * dim + (head * page_size + token % page_size) * dim) * elem;
}

void KvCache::clear() {
  std::fill(lengths_.begin(), lengths_.end(), 0);
  page_table_.clear();
  pages_allocated_ = 0;
}

}  // namespace ratkv

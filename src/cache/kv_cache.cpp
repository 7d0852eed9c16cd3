#include "cache/kv_cache.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "base/error.h"
#include "base/huge_pages.h"
#include "kernels/cpu/simd.h"

namespace ratkv {

KvCache::KvCache(const KvCacheShape& shape) : shape_(shape) {
  require(shape.page_size >= 1, "page size must be at least 1, got ", shape.page_size);
  require(shape.num_layers >= 1 && shape.num_kv_heads >= 1 && shape.head_dim >= 1,
          "KV cache shape must have at least one layer, KV head and head dimension, got ", shape.num_layers,
          ", ", shape.num_kv_heads, ", ", shape.head_dim);
  page_bytes_ = 2 * shape.num_kv_heads * shape.page_size * shape.head_dim *
                static_cast<int64_t>(dtype_size(shape.dtype));
  lengths_.assign(static_cast<size_t>(shape.num_layers), 0);
  blocks_.resize(static_cast<size_t>(shape.num_layers));
  min_max_blocks_.resize(blocks_.size());
  sum_blocks_.resize(blocks_.size());
  const int64_t min_max_page_bytes = shape.num_kv_heads * min_max_bytes();
  meta_shift_ = 0;
  while ((int64_t{1} << meta_shift_) < kPagesPerBlock ||
         (min_max_page_bytes << meta_shift_) < static_cast<int64_t>(kHugePageBytes))
    ++meta_shift_;
  meta_mask_ = static_cast<int32_t>((int64_t{1} << meta_shift_) - 1);
}

int64_t KvCache::bytes_per_token() const {
  return 2 * shape_.num_layers * shape_.num_kv_heads * shape_.head_dim *
         static_cast<int64_t>(dtype_size(shape_.dtype));
}

uint8_t* KvCache::page_data(int64_t layer, int32_t page) {
  auto& blocks = blocks_[static_cast<size_t>(layer)];
  return blocks[static_cast<size_t>(page / kPagesPerBlock)].get() + (page % kPagesPerBlock) * page_bytes_;
}

const uint8_t* KvCache::page_data(int64_t layer, int32_t page) const {
  const auto& blocks = blocks_[static_cast<size_t>(layer)];
  return blocks[static_cast<size_t>(page / kPagesPerBlock)].get() + (page % kPagesPerBlock) * page_bytes_;
}

namespace {
// Freed page blocks, kept for the next cache of the process (a new sequence, the next benchmark
// repetition): a fresh block costs a page fault per 4 KB (or a kernel-zeroed 2 MB page) on first write,
// which made the prefill of a fresh 512-token context 10% slower than reusing memory. Bounded, so a
// process that drops a long context does not hold more than this.
constexpr size_t kPoolBytes = size_t{512} << 20;
struct BlockPool {
  std::mutex mutex;
  std::vector<std::pair<size_t, uint8_t*>> blocks;  // (size, block)
  size_t bytes = 0;
};
// Never destroyed, so that a cache released during static destruction still finds it.
BlockPool& block_pool() {
  static BlockPool* pool = new BlockPool;
  return *pool;
}
}  // namespace

void KvCache::FreeBlock::operator()(uint8_t* p) const {
  BlockPool& pool = block_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  if (pool.bytes + size <= kPoolBytes) {
    pool.blocks.emplace_back(size, p);
    pool.bytes += size;
  } else {
    std::free(p);
  }
}

// Decode streams every page of a long context per step: blocks come from allocate_streaming_buffer
// (2 MiB-aligned huge pages for blocks of 2 MiB or more; base/huge_pages.h), through the pool.
std::unique_ptr<uint8_t[], KvCache::FreeBlock> KvCache::allocate_block(size_t bytes) {
  const size_t rounded = streaming_buffer_size(bytes);
  {
    BlockPool& pool = block_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (size_t i = 0; i < pool.blocks.size(); ++i) {
      if (pool.blocks[i].first != rounded) continue;
      uint8_t* p = pool.blocks[i].second;
      pool.blocks.erase(pool.blocks.begin() + static_cast<std::ptrdiff_t>(i));
      pool.bytes -= rounded;
      return std::unique_ptr<uint8_t[], FreeBlock>(p, FreeBlock{rounded});
    }
  }
  return std::unique_ptr<uint8_t[], FreeBlock>(allocate_streaming_buffer(bytes, "KV cache"),
                                               FreeBlock{rounded});
}

void KvCache::ensure_pages(int64_t tokens) {
  const int64_t pages_needed = (tokens + shape_.page_size - 1) / shape_.page_size;
  while (num_pages() < pages_needed) {
    if (pages_allocated_ >= static_cast<int64_t>(blocks_[0].size()) * kPagesPerBlock) {
      // Not zeroed: every byte is written (append, update_metadata at slot 0) before anything reads it,
      // and zeroing a block (2 MB per layer at 8 heads of 64, page 16) cost a decode step that crossed
      // into a new block several milliseconds — every byte written and page-faulted at once.
      for (size_t l = 0; l < blocks_.size(); ++l)
        blocks_[l].push_back(allocate_block(static_cast<size_t>(kPagesPerBlock * page_bytes_)));
    }
    if (pages_allocated_ >= static_cast<int64_t>(min_max_blocks_[0].size()) << meta_shift_) {
      const int64_t pages = int64_t{1} << meta_shift_;
      for (size_t l = 0; l < blocks_.size(); ++l) {
        min_max_blocks_[l].push_back(
            allocate_block(static_cast<size_t>(pages * shape_.num_kv_heads * min_max_bytes())));
        sum_blocks_[l].push_back(allocate_block(
            static_cast<size_t>(pages * shape_.num_kv_heads * shape_.head_dim * int64_t{sizeof(float)})));
      }
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
      uint8_t* key = page + ((2 * h * page_size + slot) * dim) * static_cast<int64_t>(elem);
      uint8_t* value = key + page_size * dim * static_cast<int64_t>(elem);
      convert_from_f32(k + (t * heads + h) * dim, static_cast<size_t>(dim), shape_.dtype, key);
      convert_from_f32(v + (t * heads + h) * dim, static_cast<size_t>(dim), shape_.dtype, value);
    }
    update_metadata(layer, page_table_[static_cast<size_t>(token / page_size)], slot);
  }
  lengths_[static_cast<size_t>(layer)] = start + n;
}

uint8_t* KvCache::min_max_data(int64_t layer, int32_t page, int64_t head) {
  return min_max_blocks_[static_cast<size_t>(layer)][static_cast<size_t>(page >> meta_shift_)].get() +
         ((head << meta_shift_) + (page & meta_mask_)) * min_max_bytes();
}

float* KvCache::sum_data(int64_t layer, int32_t page, int64_t head) {
  return reinterpret_cast<float*>(
             sum_blocks_[static_cast<size_t>(layer)][static_cast<size_t>(page >> meta_shift_)].get()) +
         ((head << meta_shift_) + (page & meta_mask_)) * shape_.head_dim;
}

// Folds the token just stored in `slot` of a page into that page's metadata, for every KV head. It reads the
// key back from the page — the value as stored, rounded to the cache dtype — so the bound holds exactly for
// what attention reads, and truncate() can rebuild a page's metadata from its stored keys alone. Both paths
// keep each sum in token order, and min/max take the stored value only when strictly below/above (as
// _mm512_min_ps/_mm512_max_ps do with the stored value first), so they agree bit for bit.
void KvCache::update_metadata(int64_t layer, int32_t page, int64_t slot) {
  const int64_t dim = shape_.head_dim;
  const DType dtype = shape_.dtype;
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  const uint8_t* page_bytes = page_data(layer, page);
  for (int64_t h = 0; h < shape_.num_kv_heads; ++h) {
    uint8_t* min = min_max_data(layer, page, h);
    uint8_t* max = min + dim * elem;
    float* sum = sum_data(layer, page, h);
    const uint8_t* key = page_bytes + (2 * h * shape_.page_size + slot) * dim * elem;
#if defined(__AVX512F__)
    for (int64_t d = 0; d < dim; d += 16) {
      const __mmask16 mask = simd::lanes(dim - d);
      const __m512 stored = simd::load_f32x16(key + d * elem, dtype, mask);
      __m512 low = stored, high = stored, total = stored;
      if (slot != 0) {
        low = _mm512_min_ps(stored, simd::load_f32x16(min + d * elem, dtype, mask));
        high = _mm512_max_ps(stored, simd::load_f32x16(max + d * elem, dtype, mask));
        total = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, sum + d), stored);
      }
      simd::store_exact_f32x16(min + d * elem, dtype, mask, low);
      simd::store_exact_f32x16(max + d * elem, dtype, mask, high);
      _mm512_mask_storeu_ps(sum + d, mask, total);
    }
#else
    for (int64_t d = 0; d < dim; ++d) {
      const size_t i = static_cast<size_t>(d);
      const float stored = load_as_f32(key, i, dtype);
      if (slot == 0 || stored < load_as_f32(min, i, dtype)) store_from_f32(min, i, dtype, stored);
      if (slot == 0 || stored > load_as_f32(max, i, dtype)) store_from_f32(max, i, dtype, stored);
      sum[d] = slot == 0 ? stored : sum[d] + stored;
    }
#endif
  }
}

int64_t KvCache::page_tokens(int64_t layer, int64_t page) const {
  return std::clamp<int64_t>(length(layer) - page * shape_.page_size, 0, shape_.page_size);
}

PageTableView KvCache::page_table_view(int64_t layer) const {
  PageTableView view;
  const int64_t pages = (length(layer) + shape_.page_size - 1) / shape_.page_size;
  view.offsets[1] = pages;
  view.page_ids = page_table_.data();
  view.last_page_length = pages == 0 ? 0 : page_tokens(layer, pages - 1);
  return view;
}

const uint8_t* KvCache::slot(int64_t layer, int64_t token, int64_t head, int which) const {
  const int64_t page_size = shape_.page_size, dim = shape_.head_dim;
  const int64_t elem = static_cast<int64_t>(dtype_size(shape_.dtype));
  const uint8_t* page = page_data(layer, page_table_[static_cast<size_t>(token / page_size)]);
  return page + (((2 * head + which) * page_size + token % page_size) * dim) * elem;
}

void KvCache::clear() {
  std::fill(lengths_.begin(), lengths_.end(), 0);
  page_table_.clear();
  pages_allocated_ = 0;
}

// Cheaper than restoring a copy: append() only writes slots at or past a layer's length, so the tokens
// before `tokens` were never touched. What later appends did change is the metadata of a partial last
// page; it is rebuilt from the stored keys, which are the values append() folded in (it rounds before
// folding), in the same slot order, so min, max and the f32 sum come out bit-identical. The page table is
// always 0, 1, 2, ... (ensure_pages is its only writer and allocates in order; clear and truncate cut the
// table and the allocation count together), so the dropped pages are reused by the next appends.
void KvCache::truncate(int64_t tokens) {
  for (int64_t layer = 0; layer < shape_.num_layers; ++layer)
    require(tokens >= 0 && tokens <= length(layer), "KV cache: cannot truncate layer ", layer, " of ",
            length(layer), " tokens to ", tokens);
  const int64_t page_size = shape_.page_size;
  const int64_t pages = (tokens + page_size - 1) / page_size;
  page_table_.resize(static_cast<size_t>(pages));
  pages_allocated_ = static_cast<int32_t>(pages);
  std::fill(lengths_.begin(), lengths_.end(), tokens);
  if (tokens % page_size == 0) return;
  const int64_t first = (pages - 1) * page_size;
  for (int64_t layer = 0; layer < shape_.num_layers; ++layer)
    for (int64_t t = first; t < tokens; ++t)
      update_metadata(layer, page_table_[static_cast<size_t>(pages - 1)], t - first);
}

}  // namespace ratkv

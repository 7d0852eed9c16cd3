#include "model/resident_weights.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "base/error.h"

namespace ratkv {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kMatrixAlign = 64;

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}
size_t view_bytes(const WeightView& v) {
  return static_cast<size_t>(v.rows * v.cols) * dtype_size(v.dtype);
}
}  // namespace

void make_weights_resident(ModelWeights& weights) {
  std::vector<WeightView*> views{&weights.embedding, &weights.lm_head};
  for (LayerWeights& l : weights.layers)
    for (Linear* linear :
         {&l.q, &l.k, &l.v, &l.o, &l.memory_gate, &l.output_gate, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      views.push_back(&linear->weight);

  // Offsets in the new buffer of each distinct source matrix, keyed by (data, bytes).
  std::map<std::pair<const uint8_t*, size_t>, size_t> offset_of;
  size_t total = 0;
  for (const WeightView* v : views) {
    if (v->empty()) continue;
    const auto key = std::make_pair(v->data, view_bytes(*v));
    if (offset_of.count(key)) continue;
    offset_of[key] = total;
    total = round_up(total + key.second, kMatrixAlign);
  }
  if (total == 0) return;
  const size_t capacity = round_up(total, kHugePage);
  void* raw = std::aligned_alloc(kHugePage, capacity);
  require(raw != nullptr, "--no-mmap: could not allocate ", capacity, " bytes for the model's weights");
  std::unique_ptr<uint8_t, FreeDeleter> buffer(static_cast<uint8_t*>(raw));
#if defined(MADV_HUGEPAGE)
  madvise(raw, capacity, MADV_HUGEPAGE);  // a hint: where THP is off the copy simply uses 4 KiB pages
#endif
  for (const auto& [key, offset] : offset_of) std::memcpy(buffer.get() + offset, key.first, key.second);
  for (WeightView* v : views)
    if (!v->empty()) v->data = buffer.get() + offset_of.at(std::make_pair(v->data, view_bytes(*v)));
  weights.owned.clear();  // misaligned copies, now superseded
  weights.resident = std::move(buffer);
}

}  // namespace ratkv

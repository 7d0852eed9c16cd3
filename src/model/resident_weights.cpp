#include "model/resident_weights.h"

#include <cstring>
#include <map>
#include <vector>

#include "base/huge_pages.h"

namespace ratkv {

namespace {
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
  std::unique_ptr<uint8_t, FreeDeleter> buffer(
      allocate_streaming_buffer(total, "resident weights (--no-mmap)"));
  for (const auto& [key, offset] : offset_of) std::memcpy(buffer.get() + offset, key.first, key.second);
  for (WeightView* v : views)
    if (!v->empty()) v->data = buffer.get() + offset_of.at(std::make_pair(v->data, view_bytes(*v)));
  weights.owned.clear();  // misaligned copies, now superseded
  weights.resident = std::move(buffer);
}

}  // namespace ratkv

// libFuzzer entry point for the safetensors header parser. Any input must either parse or be rejected with
// ratkv::Error; crashes, sanitizer reports, other exceptions (uncaught, so they abort) and violations of the
// invariants below are findings.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "io/safetensors.h"

namespace {

// What a successful parse promises its callers: every tensor lies inside the input and the tensors tile the
// data buffer, which ends exactly at the end of the input.
void check_invariants(const ratkv::SafetensorsIndex& index, const uint8_t* data, size_t size) {
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | data[i];
  const uint8_t* buffer = data + 8 + header;
  uint64_t total = 0;
  for (const ratkv::SafetensorsTensor& t : index.tensors) {
    if (t.end < t.begin || t.data != buffer + t.begin || t.end > size - 8 - header) std::abort();
    uint64_t numel = 1;  // unsigned: a zero dimension may follow products above 2^63
    for (int64_t d : t.shape) {
      if (d < 0) std::abort();
      numel *= static_cast<uint64_t>(d);
    }
    if (t.numel < 0 || numel != static_cast<uint64_t>(t.numel)) std::abort();
    if (t.dtype && numel * ratkv::dtype_size(*t.dtype) != t.end - t.begin) std::abort();
    if (index.find(t.name) != &t) std::abort();
    total += t.end - t.begin;
  }
  if (total != size - 8 - header) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ratkv::SafetensorsIndex index = ratkv::parse_safetensors(data, size, "fuzz.safetensors");
    check_invariants(index, data, size);
  } catch (const ratkv::Error&) {
  }
  return 0;
}

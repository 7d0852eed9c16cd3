#include "base/huge_pages.h"

#include <sys/mman.h>

#include "base/error.h"

namespace ratkv {

namespace {
size_t alignment_for(size_t bytes) {
  return bytes >= kHugePageBytes ? kHugePageBytes : 64;
}
}  // namespace

size_t streaming_buffer_size(size_t bytes) {
  const size_t alignment = alignment_for(bytes);
  return (bytes + alignment - 1) / alignment * alignment;
}

uint8_t* allocate_streaming_buffer(size_t bytes, const char* what) {
  const size_t size = streaming_buffer_size(bytes);
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(alignment_for(bytes), size));
  require(p != nullptr, "out of memory allocating ", size, " bytes of ", what);
#if defined(MADV_HUGEPAGE)
  if (size >= kHugePageBytes) madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace ratkv

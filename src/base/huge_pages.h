#pragma once
// Buffers that streaming kernels read front to back (the KV cache's page blocks, resident weights):
// buffers of at least 2 MiB are 2 MiB-aligned and advised for transparent huge pages, so a pass over them
// walks few TLB entries (honoured where THP is "madvise" or "always"; harmless elsewhere); smaller ones
// are 64-byte aligned. Freed with std::free.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace ratkv {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// The size allocate_streaming_buffer(bytes) really allocates (a multiple of its alignment).
size_t streaming_buffer_size(size_t bytes);
// Allocates streaming_buffer_size(bytes) bytes (uninitialized); `what` names the buffer in the
// out-of-memory error.
uint8_t* allocate_streaming_buffer(size_t bytes, const char* what);

}  // namespace ratkv

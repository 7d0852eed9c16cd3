#pragma once
// Working buffers that grow without zero-filling. std::vector<float>::resize value-initializes every
// element it adds; for the prefill's activations ([4,096 × 1,280] floats per product and layer, and the
// residual stream per call) that is a memset of every buffer on every prompt, several percent of a
// prefill. Elements a resize adds are left indeterminate here: every user writes a buffer before reading it.
#include <memory>
#include <utility>
#include <vector>

namespace ratkv {

template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() noexcept = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}

  // Default construction (what resize does) leaves a trivial T uninitialized; anything else as usual.
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using ScratchFloats = std::vector<float, UninitializedAllocator<float>>;

}  // namespace ratkv

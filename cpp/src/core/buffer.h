// Scratch buffers of the kernels (internal): uninitialised and 64-byte aligned, so that SIMD
// loads do not split cache lines and rows with a padded stride each start a line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace ember {

struct AlignedDelete {
  void operator()(void* p) const { ::operator delete[](p, std::align_val_t(64)); }
};

template <typename T>
using Buffer = std::unique_ptr<T[], AlignedDelete>;

// n values (an empty buffer for n <= 0), left uninitialised.
template <typename T>
Buffer<T> buffer(int64_t n) {
  if (n <= 0) return Buffer<T>();
  return Buffer<T>(static_cast<T*>(::operator new[](static_cast<size_t>(n) * sizeof(T), std::align_val_t(64))));
}

}  // namespace ember

#include "ember/ember.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ember {

// glibc serves blocks above a (dynamic) threshold with mmap and gives them back on free, and
// trims the heap's top once 128 KiB or more of it is free; a training loop frees and reallocates
// the same buffers every step, so each step faulted all their pages in again (a third of an
// LSTM forward went to the kernel's page-fault path). Blocks up to 32 MiB now come from the
// heap, and up to 256 MiB of freed memory is kept for reuse.
void tune_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace ember

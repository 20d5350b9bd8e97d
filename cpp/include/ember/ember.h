// Umbrella header of the ember C++ API.
#pragma once
#include "autograd.h"
#include "device.h"
#include "dtype.h"
#include "error.h"
#include "io.h"
#include "ops.h"
#include "optim.h"
#include "tensor.h"

namespace ember {
// Threads used by ember's kernels (torch.get_num_threads / set_num_threads).
EMBER_API int get_num_threads();
EMBER_API void set_num_threads(int n);
// Sets the C library allocator up for training loops: large blocks are reused rather than
// returned to the system after each step (glibc; a no-op elsewhere). Process-wide; the Python
// module calls it when imported.
EMBER_API void tune_allocator();
}  // namespace ember

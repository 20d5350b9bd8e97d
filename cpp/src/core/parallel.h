// Threading. Work below `grain` elements runs inline on the calling thread (no parallel-region
// cost); above it, [begin, end) is cut into one contiguous range per thread. Splits depend only
// on the range and the thread count, and kernels never combine floating partial results in a
// thread-dependent order, so results are bitwise identical for any thread count.
#pragma once
#include <algorithm>
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace ember {

int get_num_threads();
void set_num_threads(int n);
bool in_parallel_region();

constexpr int64_t kGrainSize = 32768;

template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  int64_t n = end - begin;
  if (n <= 0) return;
#ifdef _OPENMP
  int nt = get_num_threads();
  if (n > grain && nt > 1 && !in_parallel_region()) {
    int64_t chunks = std::min<int64_t>(nt, (n + grain - 1) / grain);
#pragma omp parallel num_threads(static_cast<int>(chunks))
    {
      int64_t tid = omp_get_thread_num();
      int64_t per = (n + chunks - 1) / chunks;
      int64_t b = begin + tid * per, e = std::min(end, b + per);
      if (b < e) f(b, e);
    }
    return;
  }
#endif
  f(begin, end);
}

}  // namespace ember

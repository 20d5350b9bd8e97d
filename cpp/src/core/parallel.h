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

// Runs f(tid, team_size) once on each thread of a team of up to `threads` threads (team_size
// may come out smaller), for work that needs team_barrier() between its phases; one thread,
// f(0, 1), inside a parallel region or for threads <= 1.
template <typename F>
void parallel_team(int threads, const F& f) {
#ifdef _OPENMP
  if (threads > 1 && !in_parallel_region()) {
#pragma omp parallel num_threads(threads)
    f(static_cast<int64_t>(omp_get_thread_num()), static_cast<int64_t>(omp_get_num_threads()));
    return;
  }
#endif
  f(int64_t(0), int64_t(1));
}

// Waits for every thread of the innermost parallel_team (no-op outside one). Every thread of the
// team must reach each barrier.
void team_barrier();

}  // namespace ember

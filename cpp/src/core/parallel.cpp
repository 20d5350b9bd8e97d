#include "parallel.h"
#include <thread>

namespace ember {

static int g_num_threads = 0;  // 0: not set yet

int get_num_threads() {
  if (g_num_threads == 0) {
#ifdef _OPENMP
    g_num_threads = omp_get_max_threads();
#else
    g_num_threads = 1;
#endif
  }
  return g_num_threads;
}

void set_num_threads(int n) {
  g_num_threads = n < 1 ? 1 : n;
#ifdef _OPENMP
  omp_set_num_threads(g_num_threads);
#endif
}

bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

void team_barrier() {
#ifdef _OPENMP
#pragma omp barrier
#endif
}

}  // namespace ember

// The GEMM used by every matrix product of the core (linalg, and convolution as im2col + GEMM).
#pragma once
#include <cstdint>

namespace ember {

// out (row-major, leading dimension ldo) = alpha * a[n, k] @ b[k, m] + beta * out, for raw
// strided operands (any strides; row- or column-major operands are used in place, others are
// packed once). beta == 0 overwrites out without reading it. Parallel over blocks of the
// output whose size depends only on the shapes: bitwise identical for any thread count.
template <typename T>
void gemm(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t ldo,
          int64_t n, int64_t k, int64_t m, T alpha, T beta);

// Whether gemm gives each row of an [n, m] output the same bits whatever other rows it is
// computed with, so that products over subsets of a's rows match one product over all of them:
// true for the SIMD kernel (at least one micro-kernel of columns), not for the portable
// fallback, whose blocking depends on the shapes.
template <typename T>
bool gemm_rows_independent(int64_t m);

// out[n, m] (contiguous) = a @ b, or += a @ b when `accumulate`.
template <typename T>
void gemm_strided(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t n,
                  int64_t k, int64_t m, bool accumulate);

}  // namespace ember

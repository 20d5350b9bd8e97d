// ember's own float32/float64 GEMM (internal): cache-blocked, packed, register-blocked SIMD
// micro-kernel (AVX-512, or AVX2+FMA). Builds without either report kGemmSimd == false and the
// caller uses its portable fallback.
#pragma once
#include <cstdint>

namespace ember {

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
constexpr bool kGemmSimd = true;
#else
constexpr bool kGemmSimd = false;
#endif

// Rows of the output computed together by one micro-kernel call (the unit of row splits).
template <typename T>
int64_t gemm_simd_rows();
// Columns of the output computed together by one micro-kernel call (the unit of column splits).
template <typename T>
int64_t gemm_simd_cols();

// out (row-major, leading dimension ldo) = alpha * a[n, k] @ b[k, m] + beta * out on the
// calling thread; operands have any strides. beta == 0 never reads out. Every output element
// is the same chain of FMAs over k (in blocks whose bounds depend only on k), whatever the
// tile it falls in: any split of the output into sub-problems gives bitwise identical results.
// Only callable when kGemmSimd.
template <typename T>
void gemm_simd(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t ldo,
               int64_t n, int64_t k, int64_t m, T alpha, T beta);

}  // namespace ember

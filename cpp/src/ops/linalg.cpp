// Matrix products on Eigen maps over the existing buffers (no copies for transposed operands:
// a transposed view is mapped with the other storage order).
//
// Threads: the output rows are cut into blocks whose size depends only on the shapes, each
// block is one single-threaded Eigen GEMM (EIGEN_DONT_PARALLELIZE), and the blocks are spread
// over the threads. Every output element is therefore computed by the same instruction
// sequence whatever the thread count: results are bitwise reproducible.
#include <Eigen/Core>
#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "ember/ops.h"

namespace ember {

namespace {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

// Calls f(map) with an Eigen map of the 2-D strided matrix (rows r0..r0+nr of x).
template <typename T, typename F>
void with_matrix(const T* p, int64_t rows, int64_t cols, int64_t s0, int64_t s1, const F& f) {
  if (s1 == 1 && s0 >= std::max<int64_t>(cols, 1)) {
    f(Eigen::Map<const RowMat<T>, 0, Stride>(p, rows, cols, Stride(s0)));
  } else if (s0 == 1 && s1 >= std::max<int64_t>(rows, 1)) {
    f(Eigen::Map<const ColMat<T>, 0, Stride>(p, rows, cols, Stride(s1)));
  } else {
    // Other layouts (broadcast or sliced with steps): pack into a row-major copy.
    RowMat<T> m(rows, cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) m(i, j) = p[i * s0 + j * s1];
    f(Eigen::Map<const RowMat<T>, 0, Stride>(m.data(), rows, cols, Stride(std::max<int64_t>(cols, 1))));
  }
}

}  // namespace

// out[n, m] (contiguous) = a[n, k] @ b[k, m] for raw strided operands; `accumulate` adds into out.
template <typename T>
void gemm_strided(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t n,
                  int64_t k, int64_t m, bool accumulate) {
  if (n == 0 || m == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(out, out + n * m, T(0));
    return;
  }
  int64_t flops = n * k * m;
  int64_t block = n;
  if (flops >= (1 << 18) && n >= 16) block = std::max<int64_t>(8, ((n + 7) / 8 + 7) / 8 * 8);
  int64_t nblocks = (n + block - 1) / block;
  parallel_for(0, nblocks, 1, [&](int64_t bb, int64_t be) {
    for (int64_t blk = bb; blk < be; ++blk) {
      int64_t r0 = blk * block, nr = std::min(block, n - r0);
      Eigen::Map<RowMat<T>> o(out + r0 * m, nr, m);
      with_matrix<T>(a + r0 * as0, nr, k, as0, as1, [&](const auto& A) {
        with_matrix<T>(b, k, m, bs0, bs1, [&](const auto& B) {
          if (accumulate) o.noalias() += A * B;
          else o.noalias() = A * B;
        });
      });
    }
  });
}
template void gemm_strided<float>(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                                  int64_t, int64_t, bool);
template void gemm_strided<double>(const double*, int64_t, int64_t, const double*, int64_t, int64_t, double*,
                                   int64_t, int64_t, int64_t, bool);

static void check_mm_args(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2) throw Error(str_cat("self must be a matrix"));
  if (b.dim() != 2) throw Error(str_cat("mat2 must be a matrix"));
  if (a.sizes()[1] != b.sizes()[0])
    throw Error(str_cat("mat1 and mat2 shapes cannot be multiplied (", a.sizes()[0], "x", a.sizes()[1], " and ",
                        b.sizes()[0], "x", b.sizes()[1], ")"));
  if (a.dtype() != b.dtype())
    throw Error(str_cat("expected m1 and m2 to have the same dtype, but got: ", dtype_name(a.dtype()), " != ",
                        dtype_name(b.dtype())));
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_mm_args(a, b);
  int64_t n = a.sizes()[0], k = a.sizes()[1], m = b.sizes()[1];
  Tensor out = empty({n, m}, a.dtype());
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      gemm_strided<T>(a.data<T>(), a.strides()[0], a.strides()[1], b.data<T>(), b.strides()[0], b.strides()[1],
                      out.data<T>(), n, k, m, false);
    } else if constexpr (std::is_same_v<T, bool>) {
      throw NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'");
    } else {
      // Integer matmul: a plain loop (torch supports it; it is not a fast path anywhere).
      const T* A = a.data<T>();
      const T* B = b.data<T>();
      T* O = out.data<T>();
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) {
          T acc = 0;
          for (int64_t q = 0; q < k; ++q) acc += A[i * a.strides()[0] + q * a.strides()[1]] * B[q * b.strides()[0] + j * b.strides()[1]];
          O[i * m + j] = acc;
        }
    }
  });
  if (any_requires_grad({&a, &b}))
    record_function("MmBackward0", {a, b}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = mm(g[0], t(self.saved(1)));
                      if (self.needs_grad(1)) r[1] = mm(t(self.saved(0)), g[0]);
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {a.requires_grad() ? b : Tensor(), false}});
  return out;
}

}  // namespace ember

// Matrix products. float/double products with at least one micro-kernel tile of columns run on
// ember's own packed SIMD GEMM (gemm_kernel.cpp); integer products, narrow products (matrix-vector)
// and builds without AVX2/AVX-512 use Eigen maps over the existing buffers.
//
// Threads: the SIMD GEMM gives every output element the same FMA chain whatever tile computes
// it, so its output is split into one range of tiles per thread. The Eigen path cuts the output
// into blocks of rows (or of columns, when it is wider than tall) whose size depends only on the
// shapes (Eigen's own blocking depends on the block size); each block is one single-threaded
// Eigen GEMM (EIGEN_DONT_PARALLELIZE). Either way results are bitwise reproducible for any
// thread count. Batched products run one GEMM per matrix, in parallel across the batch when the
// matrices are too small to be split.
#include "linalg_kernels.h"
#include "gemm_kernel.h"
#include <Eigen/Core>
#include <memory>
#include "../core/dispatch.h"
#include "../core/iter.h"
#include "../core/parallel.h"
#include "ember/ops.h"

namespace ember {

namespace {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

constexpr int64_t kParallelFlops = int64_t(1) << 18;  // below this a product runs on one thread
constexpr int64_t kMinBlock = 256;                    // rows (or columns) per block, at least: smaller blocks repack B too often
constexpr int64_t kMaxBlocks = 8;

bool row_major_ok(int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  return (s1 == 1 || cols <= 1) && (rows <= 1 || s0 >= std::max<int64_t>(cols, 1));
}
bool col_major_ok(int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  return (s0 == 1 || rows <= 1) && (cols <= 1 || s1 >= std::max<int64_t>(rows, 1));
}

// A matrix operand that Eigen can map: the original memory when it is row- or column-major,
// else a packed row-major copy (broadcast or step-sliced views).
template <typename T>
struct Operand {
  const T* p;
  int64_t s0, s1;
  std::unique_ptr<T[]> packed;
  Operand(const T* data, int64_t rows, int64_t cols, int64_t st0, int64_t st1) : p(data), s0(st0), s1(st1) {
    if (row_major_ok(rows, cols, s0, s1) || col_major_ok(rows, cols, s0, s1)) return;
    packed.reset(new T[static_cast<size_t>(rows * cols)]);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) packed[i * cols + j] = data[i * st0 + j * st1];
    p = packed.get();
    s0 = cols;
    s1 = 1;
  }
};

// Calls f(map) with an Eigen map of a mappable strided matrix.
template <typename T, typename F>
void with_map(const T* p, int64_t rows, int64_t cols, int64_t s0, int64_t s1, const F& f) {
  if (row_major_ok(rows, cols, s0, s1))
    f(Eigen::Map<const RowMat<T>, 0, Stride>(p, rows, cols, Stride(rows <= 1 ? std::max<int64_t>(cols, 1) : s0)));
  else
    f(Eigen::Map<const ColMat<T>, 0, Stride>(p, rows, cols, Stride(cols <= 1 ? std::max<int64_t>(rows, 1) : s1)));
}

// One output block: out[nr, mc] = alpha * a @ b + beta * out.
template <typename T>
void gemm_block(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t ldo,
                int64_t nr, int64_t k, int64_t mc, T alpha, T beta) {
  if constexpr (std::is_floating_point_v<T>) {
    Eigen::Map<RowMat<T>, 0, Stride> o(out, nr, mc, Stride(ldo));
    with_map<T>(a, nr, k, as0, as1, [&](const auto& A) {
      with_map<T>(b, k, mc, bs0, bs1, [&](const auto& B) {
        if (beta == T(0)) {
          o.noalias() = alpha * A * B;
        } else {
          if (beta != T(1)) o *= beta;
          o.noalias() += alpha * A * B;
        }
      });
    });
  } else {
    // Integer products (exact, so any order gives the same result): a plain loop.
    for (int64_t i = 0; i < nr; ++i) {
      T* o = out + i * ldo;
      for (int64_t j = 0; j < mc; ++j) o[j] = beta == T(0) ? T(0) : static_cast<T>(beta * o[j]);
      for (int64_t q = 0; q < k; ++q) {
        T av = static_cast<T>(alpha * a[i * as0 + q * as1]);
        const T* brow = b + q * bs0;
        for (int64_t j = 0; j < mc; ++j) o[j] = static_cast<T>(o[j] + av * brow[j * bs1]);
      }
    }
  }
}

// The SIMD GEMM over the threads: the output is cut into contiguous ranges of micro-kernel
// row panels (or column panels, when it is wider than tall), one per thread. gemm_simd gives
// every element the same result whatever tile it is computed in, so any split (and thread
// count) gives bitwise identical results. Splitting the longer side re-packs the smaller
// operand in each thread.
template <typename T>
void gemm_simd_parallel(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out,
                        int64_t ldo, int64_t n, int64_t k, int64_t m, T alpha, T beta) {
  bool by_rows = n >= m;
  int64_t unit = by_rows ? gemm_simd_rows<T>() : gemm_simd_cols<T>();
  int64_t len = by_rows ? n : m, panels = (len + unit - 1) / unit;
  int64_t panel_flops = unit * k * (by_rows ? m : n);
  int64_t grain = std::max<int64_t>(1, (kParallelFlops + panel_flops - 1) / panel_flops);
  parallel_for(0, panels, grain, [&](int64_t pb, int64_t pe) {
    int64_t start = pb * unit, size = std::min(pe * unit, len) - start;
    if (by_rows)
      gemm_simd<T>(a + start * as0, as0, as1, b, bs0, bs1, out + start * ldo, ldo, size, k, m, alpha, beta);
    else
      gemm_simd<T>(a, as0, as1, b + start * bs1, bs0, bs1, out + start, ldo, n, k, size, alpha, beta);
  });
}

}  // namespace

template <typename T>
void gemm(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t ldo,
          int64_t n, int64_t k, int64_t m, T alpha, T beta) {
  if (n == 0 || m == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) out[i * ldo + j] = beta == T(0) ? T(0) : static_cast<T>(beta * out[i * ldo + j]);
    return;
  }
  // Fewer columns than one micro-kernel tile (matrix-vector products and the like) waste most
  // SIMD lanes: those stay with the portable path.
  if constexpr (kGemmSimd && std::is_floating_point_v<T>) {
    if (m >= gemm_simd_cols<T>()) {
      gemm_simd_parallel<T>(a, as0, as1, b, bs0, bs1, out, ldo, n, k, m, alpha, beta);
      return;
    }
  }
  Operand<T> A(a, n, k, as0, as1), B(b, k, m, bs0, bs1);
  bool by_rows = n >= m;
  int64_t len = by_rows ? n : m;
  int64_t nblocks = n * k * m < kParallelFlops ? 1 : std::clamp<int64_t>(len / kMinBlock, 1, kMaxBlocks);
  int64_t block = ((len + nblocks - 1) / nblocks + 7) / 8 * 8;
  nblocks = (len + block - 1) / block;
  parallel_for(0, nblocks, 1, [&](int64_t bb, int64_t be) {
    for (int64_t blk = bb; blk < be; ++blk) {
      int64_t start = blk * block, size = std::min(block, len - start);
      if (by_rows)
        gemm_block<T>(A.p + start * A.s0, A.s0, A.s1, B.p, B.s0, B.s1, out + start * ldo, ldo, size, k, m, alpha, beta);
      else
        gemm_block<T>(A.p, A.s0, A.s1, B.p + start * B.s1, B.s0, B.s1, out + start, ldo, n, k, size, alpha, beta);
    }
  });
}

template <typename T>
bool gemm_rows_independent(int64_t m) {
  if constexpr (kGemmSimd && std::is_floating_point_v<T>) return m >= gemm_simd_cols<T>();
  return false;
}
template bool gemm_rows_independent<float>(int64_t);
template bool gemm_rows_independent<double>(int64_t);

template <typename T>
void gemm_strided(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t n,
                  int64_t k, int64_t m, bool accumulate) {
  gemm<T>(a, as0, as1, b, bs0, bs1, out, m, n, k, m, T(1), accumulate ? T(1) : T(0));
}

#define EMBER_INSTANTIATE_GEMM(T)                                                                              \
  template void gemm<T>(const T*, int64_t, int64_t, const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t, \
                        int64_t, T, T);                                                                        \
  template void gemm_strided<T>(const T*, int64_t, int64_t, const T*, int64_t, int64_t, T*, int64_t, int64_t,  \
                                int64_t, bool);
EMBER_INSTANTIATE_GEMM(float)
EMBER_INSTANTIATE_GEMM(double)
EMBER_INSTANTIATE_GEMM(uint8_t)
EMBER_INSTANTIATE_GEMM(int8_t)
EMBER_INSTANTIATE_GEMM(int16_t)
EMBER_INSTANTIATE_GEMM(int32_t)
EMBER_INSTANTIATE_GEMM(int64_t)
#undef EMBER_INSTANTIATE_GEMM

namespace {

// Calls f(T{}) for the numeric dtypes a matrix product supports (not bool).
template <typename F>
void dispatch_matmul(DType t, const char* op, const F& f) {
  if (t == DType::Bool) throw NotImplementedError(str_cat("\"", op, "\" not implemented for 'Bool'"));
  dispatch_numeric(t, f);
}

template <typename T>
T scalar_as(const Scalar& s) { return s.to<T>(); }

// out[batch..., n, m] (contiguous) = alpha * a[batch..., n, k] @ b[batch..., k, m] + beta * out,
// where a and b have the same batch shape (broadcast batch dims have stride 0).
void batched_gemm(const Tensor& a, const Tensor& b, Tensor& out, const Scalar& alpha, const Scalar& beta) {
  int64_t nd = a.dim();
  int64_t n = a.sizes()[nd - 2], k = a.sizes()[nd - 1], m = b.sizes()[nd - 1];
  Shape batch(a.sizes().begin(), a.sizes().end() - 2);
  int64_t nbatch = shape_numel(batch);
  if (nbatch == 0 || n == 0 || m == 0) return;
  // Element offsets of each matrix of a and b, walking the batch index in row-major order.
  std::vector<int64_t> a_off(nbatch), b_off(nbatch), idx(batch.size(), 0);
  for (int64_t i = 0; i < nbatch; ++i) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) {
      oa += idx[d] * a.strides()[d];
      ob += idx[d] * b.strides()[d];
    }
    a_off[i] = oa;
    b_off[i] = ob;
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0 && ++idx[d] == batch[d]; --d) idx[d] = 0;
  }
  int64_t as0 = a.strides()[nd - 2], as1 = a.strides()[nd - 1], bs0 = b.strides()[nd - 2], bs1 = b.strides()[nd - 1];
  dispatch_matmul(a.dtype(), "bmm", [&](auto tag) {
    using T = decltype(tag);
    const T* A = a.data<T>();
    const T* B = b.data<T>();
    T* O = out.data<T>();
    T al = scalar_as<T>(alpha), be = scalar_as<T>(beta);
    auto one = [&](int64_t i) {
      gemm<T>(A + a_off[i], as0, as1, B + b_off[i], bs0, bs1, O + i * n * m, m, n, k, m, al, be);
    };
    int64_t work = std::max<int64_t>(n * k * m, 1);
    if (work >= kParallelFlops) {
      for (int64_t i = 0; i < nbatch; ++i) one(i);  // each GEMM splits itself over the threads
    } else {
      parallel_for(0, nbatch, std::max<int64_t>(1, kParallelFlops / work),
                   [&](int64_t bb, int64_t be2) { for (int64_t i = bb; i < be2; ++i) one(i); });
    }
  });
}

// a @ b for 2-D operands into a fresh [n, m] tensor (alpha * a @ b + beta * out when out is
// given pre-filled).
void mm_into(Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha, const Scalar& beta, const char* op) {
  int64_t n = a.sizes()[0], k = a.sizes()[1], m = b.sizes()[1];
  dispatch_matmul(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    gemm<T>(a.data<T>(), a.strides()[0], a.strides()[1], b.data<T>(), b.strides()[0], b.strides()[1], out.data<T>(),
            m, n, k, m, scalar_as<T>(alpha), scalar_as<T>(beta));
  });
}

void check_mm_args(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2) throw Error("self must be a matrix");
  if (b.dim() != 2) throw Error("mat2 must be a matrix");
  if (a.sizes()[1] != b.sizes()[0])
    throw Error(str_cat("mat1 and mat2 shapes cannot be multiplied (", a.sizes()[0], "x", a.sizes()[1], " and ",
                        b.sizes()[0], "x", b.sizes()[1], ")"));
  if (a.dtype() != b.dtype())
    throw Error(str_cat("expected m1 and m2 to have the same dtype, but got: ", cpp_type_name(a.dtype()), " != ",
                        cpp_type_name(b.dtype())));
}

void check_same_dtype_batched(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw Error(str_cat("expected scalar type ", scalar_type_name(a.dtype()), " but found ", scalar_type_name(b.dtype())));
}

// g scaled by a Python-number factor, skipping the multiply for 1.
Tensor scaled(const Tensor& g, const Scalar& s) {
  if (!s.is_floating() && s.i == 1) return g;
  if (s.is_floating() && s.d == 1.0) return g;
  return mul(g, wrapped_scalar(s));
}

// a[batch..., n, k] @ b[batch..., k, m] for equal batch shapes; alpha/beta as in baddbmm when
// `input` (already broadcast to the output shape) is given.
Tensor bmm_nd(const Tensor& a, const Tensor& b, const char* name = "BmmBackward0") {
  Shape shape = a.sizes();
  shape.back() = b.sizes().back();
  Tensor out = empty(shape, a.dtype());
  batched_gemm(a, b, out, Scalar(int64_t(1)), Scalar(int64_t(0)));
  if (any_requires_grad({&a, &b}))
    record_function(name, {a, b}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = bmm_nd(g[0], matrix_transpose(self.saved(1)));
                      if (self.needs_grad(1)) r[1] = bmm_nd(matrix_transpose(self.saved(0)), g[0]);
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {a.requires_grad() ? b : Tensor(), false}});
  return out;
}

// Shared checks of dot and vdot.
void check_dot_args(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dim() != 1 || b.dim() != 1)
    throw Error(str_cat("1D tensors expected, but got ", a.dim(), "D and ", b.dim(), "D tensors"));
  if (a.numel() != b.numel())
    throw Error(str_cat("inconsistent tensor size, expected tensor [", a.numel(), "] and src [", b.numel(),
                        "] to have the same number of elements, but got ", a.numel(), " and ", b.numel(),
                        " elements respectively"));
  if (a.dtype() != b.dtype())
    throw Error(str_cat(op, " : expected both vectors to have same dtype, but found ", scalar_type_name(a.dtype()),
                        " and ", scalar_type_name(b.dtype())));
}

Tensor dot_impl(const Tensor& a, const Tensor& b, const char* op, const char* node) {
  check_dot_args(a, b, op);
  Tensor out = empty({}, a.dtype());
  int64_t n = a.numel(), sa = a.strides()[0], sb = b.strides()[0];
  dispatch_matmul(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    if constexpr (std::is_floating_point_v<T>) {
      using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
      using IS = Eigen::InnerStride<>;
      *out.data<T>() = n == 0 ? T(0)
                              : Eigen::Map<const Vec, 0, IS>(x, n, IS(sa)).dot(Eigen::Map<const Vec, 0, IS>(y, n, IS(sb)));
    } else {
      T acc = 0;
      for (int64_t i = 0; i < n; ++i) acc = static_cast<T>(acc + x[i * sa] * y[i * sb]);
      *out.data<T>() = acc;
    }
  });
  if (any_requires_grad({&a, &b}))
    record_function(node, {a, b}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = mul(g[0], self.saved(1));
                      if (self.needs_grad(1)) r[1] = mul(g[0], self.saved(0));
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {a.requires_grad() ? b : Tensor(), false}});
  return out;
}

}  // namespace

// The gradient of one operand of a product, a @ b, laid out like that operand: when it is a
// transposed view (w.t() in a Linear layer), the product is computed transposed, so that the
// transpose's backward hands AccumulateGrad a contiguous gradient instead of one it must copy
// across strides (a quarter of an MLP training step).
static bool is_transposed_matrix(const Tensor& t) {
  return t.dim() == 2 && t.sizes()[0] > 1 && t.sizes()[1] > 1 && t.strides()[0] == 1 && t.strides()[1] == t.sizes()[0];
}
// Gradient of `a` in a @ b (g @ b^T), transposed-computed when a is a transposed view.
static Tensor mm_grad_left(const Tensor& g, bool a_transposed, const Tensor& b) {
  return a_transposed ? t(mm(b, t(g))) : mm(g, t(b));
}
// Gradient of `b` in a @ b (a^T @ g), transposed-computed when b is a transposed view.
static Tensor mm_grad_right(const Tensor& g, const Tensor& a, bool b_transposed) {
  return b_transposed ? t(mm(t(g), a)) : mm(t(a), g);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_mm_args(a, b);
  Tensor out = empty({a.sizes()[0], b.sizes()[1]}, a.dtype());
  mm_into(out, a, b, Scalar(int64_t(1)), Scalar(int64_t(0)), "addmm_impl_cpu_");
  if (any_requires_grad({&a, &b}))
    record_function("MmBackward0", {a, b}, {&out},
                    [a_t = is_transposed_matrix(a), b_t = is_transposed_matrix(b)](const GradList& g,
                                                                                  FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = mm_grad_left(g[0], a_t, self.saved(1));
                      if (self.needs_grad(1)) r[1] = mm_grad_right(g[0], self.saved(0), b_t);
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {a.requires_grad() ? b : Tensor(), false}});
  return out;
}

Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha) {
  check_mm_args(mat1, mat2);
  if (input.dtype() != mat2.dtype())
    throw Error(str_cat("self and mat2 must have the same dtype, but got ", scalar_type_name(input.dtype()), " and ",
                        scalar_type_name(mat2.dtype())));
  Shape shape{mat1.sizes()[0], mat2.sizes()[1]};
  Tensor bias = expand(input, shape);  // checks broadcastability with torch's message
  Tensor out = empty(shape, mat1.dtype());
  bool use_input = !(beta.is_floating() ? beta.d == 0.0 : beta.i == 0);
  if (use_input && out.numel() > 0) {
    NoGradGuard ng;
    copy_(out, bias);
  }
  mm_into(out, mat1, mat2, alpha, use_input ? beta : Scalar(int64_t(0)), "addmm_impl_cpu_");
  if (any_requires_grad({&input, &mat1, &mat2}))
    record_function("AddmmBackward0", {input, mat1, mat2}, {&out},
                    [beta, alpha, in_shape = input.sizes(), a_t = is_transposed_matrix(mat1),
                     b_t = is_transposed_matrix(mat2)](const GradList& g, FunctionNode& self) {
                      GradList r(3);
                      if (self.needs_grad(0)) r[0] = sum_to(scaled(g[0], beta), in_shape);
                      if (self.needs_grad(1)) r[1] = scaled(mm_grad_left(g[0], a_t, self.saved(1)), alpha);
                      if (self.needs_grad(2)) r[2] = scaled(mm_grad_right(g[0], self.saved(0), b_t), alpha);
                      return r;
                    },
                    {{mat2.requires_grad() ? mat1 : Tensor(), false}, {mat1.requires_grad() ? mat2 : Tensor(), false}});
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 3) throw Error("batch1 must be a 3D tensor");
  if (b.dim() != 3) throw Error("batch2 must be a 3D tensor");
  if (b.sizes()[0] != a.sizes()[0] || b.sizes()[1] != a.sizes()[2])
    throw Error(str_cat("Expected size for first two dimensions of batch2 tensor to be: [", a.sizes()[0], ", ",
                        a.sizes()[2], "] but got: [", b.sizes()[0], ", ", b.sizes()[1], "]."));
  check_same_dtype_batched(a, b);
  return bmm_nd(a, b);
}

Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, const Scalar& beta, const Scalar& alpha) {
  if (batch1.dim() != 3) throw Error("batch1 must be a 3D tensor");
  if (batch2.dim() != 3) throw Error("batch2 must be a 3D tensor");
  if (batch2.sizes()[0] != batch1.sizes()[0] || batch2.sizes()[1] != batch1.sizes()[2])
    throw Error(str_cat("Expected size for first two dimensions of batch2 tensor to be: [", batch1.sizes()[0], ", ",
                        batch1.sizes()[2], "] but got: [", batch2.sizes()[0], ", ", batch2.sizes()[1], "]."));
  check_same_dtype_batched(batch1, batch2);
  check_same_dtype_batched(input, batch1);
  Shape shape{batch1.sizes()[0], batch1.sizes()[1], batch2.sizes()[2]};
  Tensor bias = expand(input, shape);
  Tensor out = empty(shape, batch1.dtype());
  bool use_input = !(beta.is_floating() ? beta.d == 0.0 : beta.i == 0);
  if (use_input && out.numel() > 0) {
    NoGradGuard ng;
    copy_(out, bias);
  }
  batched_gemm(batch1, batch2, out, alpha, use_input ? beta : Scalar(int64_t(0)));
  if (any_requires_grad({&input, &batch1, &batch2}))
    record_function("BaddbmmBackward0", {input, batch1, batch2}, {&out},
                    [beta, alpha, in_shape = input.sizes()](const GradList& g, FunctionNode& self) {
                      GradList r(3);
                      if (self.needs_grad(0)) r[0] = sum_to(scaled(g[0], beta), in_shape);
                      if (self.needs_grad(1)) r[1] = scaled(bmm(g[0], matrix_transpose(self.saved(1))), alpha);
                      if (self.needs_grad(2)) r[2] = scaled(bmm(matrix_transpose(self.saved(0)), g[0]), alpha);
                      return r;
                    },
                    {{batch2.requires_grad() ? batch1 : Tensor(), false},
                     {batch1.requires_grad() ? batch2 : Tensor(), false}});
  return out;
}

// Shared by mv and addmv (torch words mv's errors as addmv's; input is mv's result there).
static void check_mv_args(int64_t in_dim, int64_t in_size, DType in_dtype, const Tensor& mat, const Tensor& vec) {
  if (mat.dim() != 2 || vec.dim() != 1 || in_dim > 1)
    throw Error(str_cat("vector + matrix @ vector expected, got ", in_dim, ", ", mat.dim(), ", ", vec.dim()));
  if (mat.sizes()[1] != vec.sizes()[0] || !(in_size == mat.sizes()[0] || in_size == 1))
    throw Error(str_cat("size mismatch, got input (", in_size, "), mat (", mat.sizes()[0], "x", mat.sizes()[1],
                        "), vec (", vec.sizes()[0], ")"));
  if (mat.dtype() != vec.dtype() || in_dtype != mat.dtype())
    throw Error(str_cat("addmv input tensors must have the same dtype, but got ", scalar_type_name(in_dtype), ", ",
                        scalar_type_name(mat.dtype()), ", and ", scalar_type_name(vec.dtype())));
}

static void mv_into(Tensor& out, const Tensor& mat, const Tensor& vec, const Scalar& alpha, const Scalar& beta) {
  int64_t n = mat.sizes()[0], k = mat.sizes()[1];
  dispatch_matmul(mat.dtype(), "addmv_impl_cpu", [&](auto tag) {
    using T = decltype(tag);
    // vec as a [k, 1] matrix, out as [n, 1].
    gemm<T>(mat.data<T>(), mat.strides()[0], mat.strides()[1], vec.data<T>(), vec.strides()[0], 1, out.data<T>(), 1,
            n, k, 1, scalar_as<T>(alpha), scalar_as<T>(beta));
  });
}

Tensor mv(const Tensor& mat, const Tensor& vec) {
  int64_t n = mat.dim() > 0 ? mat.sizes()[0] : 1;
  check_mv_args(1, n, promote_types(mat.dtype(), vec.dtype()), mat, vec);
  Tensor out = empty({n}, mat.dtype());
  mv_into(out, mat, vec, Scalar(int64_t(1)), Scalar(int64_t(0)));
  if (any_requires_grad({&mat, &vec}))
    record_function("MvBackward0", {mat, vec}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = outer(g[0], self.saved(1));
                      if (self.needs_grad(1)) r[1] = mv(t(self.saved(0)), g[0]);
                      return r;
                    },
                    {{vec.requires_grad() ? mat : Tensor(), false}, {mat.requires_grad() ? vec : Tensor(), false}});
  return out;
}

Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec, const Scalar& beta, const Scalar& alpha) {
  check_mv_args(input.dim(), input.dim() == 0 ? 1 : input.sizes()[0], input.dtype(), mat, vec);
  Tensor out = empty({mat.sizes()[0]}, mat.dtype());
  bool use_input = !(beta.is_floating() ? beta.d == 0.0 : beta.i == 0);
  if (use_input && out.numel() > 0) {
    NoGradGuard ng;
    copy_(out, expand(input, out.sizes()));
  }
  mv_into(out, mat, vec, alpha, use_input ? beta : Scalar(int64_t(0)));
  if (any_requires_grad({&input, &mat, &vec}))
    record_function("AddmvBackward0", {input, mat, vec}, {&out},
                    [beta, alpha, in_shape = input.sizes()](const GradList& g, FunctionNode& self) {
                      GradList r(3);
                      if (self.needs_grad(0)) r[0] = sum_to(scaled(g[0], beta), in_shape);
                      if (self.needs_grad(1)) r[1] = scaled(outer(g[0], self.saved(1)), alpha);
                      if (self.needs_grad(2)) r[2] = scaled(mv(t(self.saved(0)), g[0]), alpha);
                      return r;
                    },
                    {{vec.requires_grad() ? mat : Tensor(), false}, {mat.requires_grad() ? vec : Tensor(), false}});
  return out;
}

Tensor dot(const Tensor& a, const Tensor& b) { return dot_impl(a, b, "dot", "DotBackward0"); }
Tensor vdot(const Tensor& a, const Tensor& b) { return dot_impl(a, b, "vdot", "VdotBackward0"); }

Tensor outer(const Tensor& a, const Tensor& b) {
  if (a.dim() != 1) throw Error(str_cat("outer: Expected 1-D argument self, but got ", a.dim(), "-D"));
  if (b.dim() != 1) throw Error(str_cat("outer: Expected 1-D argument vec2, but got ", b.dim(), "-D"));
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  int64_t da = a.dim(), db = b.dim();
  if (da == 0 || db == 0)
    throw Error(str_cat("both arguments to matmul need to be at least 1D, but they are ", da, "D and ", db, "D"));
  if (da == 1 && db == 1) return dot(a, b);
  if (da == 2 && db == 1) return mv(a, b);
  if (da == 1 && db == 2) return squeeze(mm(unsqueeze(a, 0), b), 0);
  if (da == 2 && db == 2) return mm(a, b);
  if (da >= 3 && db <= 2) {
    // Fold the batch dims of a into the rows of one GEMM.
    Shape lead(a.sizes().begin(), a.sizes().end() - 1);
    int64_t rows = shape_numel(lead), k = a.sizes().back();
    Tensor a2 = reshape(a, {rows, k});
    if (db == 1) return reshape(mv(a2, b), lead);
    lead.push_back(b.sizes()[1]);
    return reshape(mm(a2, b), lead);
  }
  // Batched: broadcast the batch dims (as stride-0 views) and run one GEMM per matrix.
  Tensor a1 = da == 1 ? unsqueeze(a, 0) : a;
  Tensor b1 = db == 1 ? unsqueeze(b, 1) : b;
  Shape batch_a(a1.sizes().begin(), a1.sizes().end() - 2), batch_b(b1.sizes().begin(), b1.sizes().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  int64_t n = a1.sizes()[a1.dim() - 2], k = a1.sizes().back(), k2 = b1.sizes()[b1.dim() - 2], m = b1.sizes().back();
  check_same_dtype_batched(a1, b1);
  if (k != k2) {
    int64_t nb = shape_numel(batch);
    throw Error(str_cat("Expected size for first two dimensions of batch2 tensor to be: [", nb, ", ", k, "] but got: [",
                        nb, ", ", k2, "]."));
  }
  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {n, k});
  sb.insert(sb.end(), {k, m});
  Tensor out = bmm_nd(a1.sizes() == sa ? a1 : expand(a1, sa), b1.sizes() == sb ? b1 : expand(b1, sb));
  if (da == 1) out = squeeze(out, -2);
  if (db == 1) out = squeeze(out, -1);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  if (w.dim() != 2) {
    if (!b.defined()) return matmul(x, t(w));
    throw Error(str_cat("mat2 must be a matrix, got ", w.dim(), "-D tensor"));
  }
  if (x.dim() == 0)
    throw Error(str_cat("both arguments to linear need to be at least 1D, but they are 0D and 2D"));
  int64_t in = x.sizes().back();
  Shape lead(x.sizes().begin(), x.sizes().end() - 1);
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {shape_numel(lead), in});
  Tensor y = b.defined() ? addmm(b, x2, t(w)) : mm(x2, t(w));
  if (x.dim() == 2) return y;
  lead.push_back(w.sizes()[0]);
  return reshape(y, lead);
}

}  // namespace ember

// Shared machinery of the elementwise family: dtype resolution, casting and the kernels that
// run a scalar functor (and, for floating unary ops, an Eigen array expression that Eigen
// vectorises, exp/log/tanh included) over the strided iterator.
#pragma once
#include <Eigen/Core>
#include "../core/dispatch.h"
#include "../core/iter.h"
#include "ember/ops.h"

namespace ember {

// x converted to dtype t without recording autograd (forward kernels record their own node).
inline Tensor cast_nograd(const Tensor& x, DType t) {
  if (x.dtype() == t) return x;
  NoGradGuard g;
  return to_dtype(x, t);
}

// The shape/dtype of a forward input, kept by backward closures instead of the tensor.
struct InputMeta {
  Shape shape;
  DType dtype;
  explicit InputMeta(const Tensor& t) : shape(t.sizes()), dtype(t.dtype()) {}
  // Reduces a broadcast gradient back to this input's shape and dtype.
  Tensor reduce(const Tensor& g) const {
    Tensor r = g.sizes() == shape ? g : sum_to(g, shape);
    return r.dtype() == dtype ? r : to_dtype(r, dtype);
  }
};

// out = f(a, b) computed in dtype `compute`, stored as `out_dtype`; make(T{}) returns the functor.
template <typename Make>
Tensor binary_kernel(const Tensor& a, const Tensor& b, DType compute, DType out_dtype, const Make& make) {
  Tensor ac = cast_nograd(a, compute), bc = cast_nograd(b, compute);
  Shape shape = a.sizes() == b.sizes() ? a.sizes() : broadcast_shapes(a.sizes(), b.sizes());
  Tensor out = empty(shape, out_dtype);
  dispatch_all(compute, [&](auto tag) {
    using T = decltype(tag);
    auto f = make(tag);
    dispatch_all(out_dtype, [&](auto otag) {
      using O = decltype(otag);
      binary_loop<O, T, T>(out, ac, bc, f);
    });
  });
  return out;
}

// In place: a = f(a, b), computed in a's dtype.
template <typename Make>
void binary_kernel_inplace(Tensor& a, const Tensor& b, const Make& make) {
  Tensor bc = cast_nograd(b, a.dtype());
  Shape shape = broadcast_shapes(a.sizes(), b.sizes());
  if (shape != a.sizes())
    throw Error(str_cat("output with shape ", shape_str(a.sizes()), " doesn't match the broadcast shape ",
                        shape_str(shape)));
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_loop<T, T, T>(a, a, bc, make(tag));
  });
}

// out = f(x) for floating ops: integer inputs are computed in the default float dtype.
// `scalar_f(T)` handles strided rows, `array_f(eigen_array)` contiguous rows.
template <typename ScalarF, typename ArrayF>
void unary_float_kernel(const Tensor& out, const Tensor& x, const char* name, const ScalarF& scalar_f,
                        const ArrayF& array_f) {
  dispatch_floating(out.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
    Geometry<2> g(out.sizes(), {&out, &x});
    g.run([&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
      if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
        Eigen::Map<Arr> o(reinterpret_cast<T*>(p[0]), n);
        Eigen::Map<const Arr> i(reinterpret_cast<const T*>(p[1]), n);
        o = array_f(i);
      } else {
        for (int64_t k = 0; k < n; ++k)
          *reinterpret_cast<T*>(p[0] + k * s[0]) = scalar_f(*reinterpret_cast<const T*>(p[1] + k * s[1]));
      }
    }, 16384);
  });
}

inline DType float_result(const Tensor& x) { return is_floating(x.dtype()) ? x.dtype() : default_dtype(); }

}  // namespace ember

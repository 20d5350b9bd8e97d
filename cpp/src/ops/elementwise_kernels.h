// Shared machinery of the elementwise family: dtype resolution, casting and the kernels that
// run a scalar functor (and, for floating unary ops, an Eigen array expression that Eigen
// vectorises, exp/log/tanh included) over the strided iterator.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <type_traits>
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

// ---- dtype rules and errors -----------------------------------------------------------------
// The error torch raises for a dtype a kernel has no implementation for.
[[noreturn]] inline void not_implemented_for(const char* kernel, DType t) {
  throw NotImplementedError(str_cat("\"", kernel, "\" not implemented for '", scalar_type_name(t), "'"));
}

// torch.can_cast: a floating result can't be stored in an integer tensor, nor a non-bool in a bool one.
inline bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  return !(from != DType::Bool && to == DType::Bool);
}

inline void check_can_cast(DType result, DType out) {
  if (!can_cast(result, out))
    throw Error(str_cat("result type ", scalar_type_name(result), " can't be cast to the desired output type ",
                        scalar_type_name(out)));
}

// Broadcast shape of the defined tensors among `ts`.
inline Shape broadcast_all(std::initializer_list<const Tensor*> ts) {
  Shape s;
  bool first = true;
  for (auto* t : ts) {
    if (!t->defined()) continue;
    s = first ? t->sizes() : (s == t->sizes() ? s : broadcast_shapes(s, t->sizes()));
    first = false;
  }
  return s;
}

// ---- kernels with an optional output -------------------------------------------------------
// out = f(x) computed in dtype `compute`; the result dtype is `compute`, or bool when kBoolOut.
// `out`, when given, must already have x's shape and the result dtype (in-place ops pass self).
template <bool kBoolOut = false, typename Make>
Tensor unary_apply(const Tensor& x, DType compute, const Make& make, Tensor out = Tensor()) {
  Tensor xc = cast_nograd(x, compute);
  if (!out.defined()) out = empty(x.sizes(), kBoolOut ? DType::Bool : compute);
  dispatch_all(compute, [&](auto tag) {
    using T = decltype(tag);
    using O = std::conditional_t<kBoolOut, bool, T>;
    unary_loop<O, T>(out, xc, make(tag));
  });
  return out;
}

// out = f(a, b) with a and b broadcast, computed in dtype `compute` (result dtype as unary_apply).
template <bool kBoolOut = false, typename Make>
Tensor binary_apply(const Tensor& a, const Tensor& b, DType compute, const Make& make, Tensor out = Tensor()) {
  Tensor ac = cast_nograd(a, compute), bc = cast_nograd(b, compute);
  if (!out.defined())
    out = empty(a.sizes() == b.sizes() ? a.sizes() : broadcast_shapes(a.sizes(), b.sizes()),
                kBoolOut ? DType::Bool : compute);
  dispatch_all(compute, [&](auto tag) {
    using T = decltype(tag);
    using O = std::conditional_t<kBoolOut, bool, T>;
    binary_loop<O, T, T>(out, ac, bc, make(tag));
  });
  return out;
}

// out = f(a, b, c), all three broadcast and computed in `compute`.
template <typename Make>
Tensor ternary_apply(const Tensor& a, const Tensor& b, const Tensor& c, DType compute, const Make& make,
                     Tensor out = Tensor()) {
  Tensor ac = cast_nograd(a, compute), bc = cast_nograd(b, compute), cc = cast_nograd(c, compute);
  if (!out.defined()) out = empty(broadcast_all({&a, &b, &c}), compute);
  dispatch_all(compute, [&](auto tag) {
    using T = decltype(tag);
    ternary_loop<T, T, T, T>(out, ac, bc, cc, make(tag));
  });
  return out;
}

// ---- in-place ops ----------------------------------------------------------------------------
// Zero gradients for every input of a node that records no real derivative.
inline FunctionNode::BackwardFn zero_grads_for(std::vector<InputMeta> inputs) {
  return [inputs = std::move(inputs)](const GradList&, FunctionNode& self) {
    GradList r(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      if (self.needs_grad(i)) r[i] = zeros(inputs[i].shape, inputs[i].dtype);
    return r;
  };
}

// Some permutation of t's dims is contiguous (torch's is_non_overlapping_and_dense).
inline bool non_overlapping_and_dense(const Tensor& t) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of the dims that move
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.sizes()[d] != 1) dims.emplace_back(t.strides()[d], t.sizes()[d]);
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (auto& [stride, size] : dims) {
    if (stride != expected) return false;
    expected *= size;
  }
  return true;
}

// Writing into `self` while reading `other` is refused where torch refuses it: self has elements
// sharing memory (an expanded tensor), or other overlaps self's memory without being self's exact
// layout (x.add_(x.t()), x.add_(x[0])); results would depend on the loop order.
inline void check_no_overlap(const Tensor& self, std::initializer_list<const Tensor*> others) {
  for (int64_t d = 0; d < self.dim(); ++d)
    if (self.strides()[d] == 0 && self.sizes()[d] > 1)
      throw Error("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                  "location. Please clone() the tensor before performing the operation.");
  if (self.numel() == 0 || !non_overlapping_and_dense(self)) return;
  const char* s_begin = static_cast<const char*>(self.data_ptr());
  const char* s_end = s_begin + self.numel() * static_cast<int64_t>(self.element_size());
  for (auto* o : others) {
    if (!o->defined() || o->storage() != self.storage() || o->numel() == 0 || !non_overlapping_and_dense(*o)) continue;
    const char* o_begin = static_cast<const char*>(o->data_ptr());
    const char* o_end = o_begin + o->numel() * static_cast<int64_t>(o->element_size());
    bool full = o_begin == s_begin && o_end == s_end && o->strides() == self.strides();
    if (!full && o_begin < s_end && s_begin < o_end)
      throw Error("unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                  "single memory location. Please clone() the tensor before performing the operation.");
  }
}

// Every in-place op runs its out-of-place version `op(src, out)`, which computes the result from
// `src` and writes it into `out` when `out` is defined. When the result has self's dtype it is
// written straight into self: the version is bumped first, so a node that saves its output saves
// self at the new version (a later in-place change of self is then caught in backward, as in
// torch), and `src` is a clone of self when the op's backward needs self's old value
// (`saves_self`). Otherwise (e.g. a float64 result stored into float32 self) the result is
// computed out of place, copied into self, and self takes over the result's history. A
// non-differentiable op (comparisons) on a tensor that requires grad records `zero_node`.
template <typename Op>
Tensor& inplace_apply(Tensor& self, std::initializer_list<const Tensor*> others, DType result_dt, bool saves_self,
                      const Op& op, const char* zero_node = "NotImplemented") {
  check_can_cast(result_dt, self.dtype());
  Shape shape = self.sizes();
  bool rg = grad_enabled() && self.requires_grad();
  for (auto* o : others) {
    if (!o->defined()) continue;
    if (o->sizes() != shape) shape = broadcast_shapes(shape, o->sizes());
    rg = rg || (grad_enabled() && o->requires_grad());
  }
  check_inplace(self, rg);
  if (shape != self.sizes())
    throw Error(str_cat("output with shape ", shape_str(self.sizes()), " doesn't match the broadcast shape ",
                        shape_str(shape)));
  check_no_overlap(self, others);
  if (result_dt == self.dtype()) {
    Tensor src = rg && saves_self ? clone(self) : self;
    self.bump_version();
    op(src, self);
    return self;
  }
  Tensor r = op(rg && saves_self ? clone(self) : self, Tensor());
  {
    NoGradGuard ng;
    copy_(self, r);
  }
  if (!rg) return self;
  if (r.requires_grad()) {
    rebase_history(self, r.grad_fn());
  } else if (is_floating(self.dtype())) {
    std::vector<Tensor> inputs{self};
    std::vector<InputMeta> metas{InputMeta(self)};
    for (auto* o : others)
      if (o->defined()) { inputs.push_back(*o); metas.emplace_back(*o); }
    record_function(zero_node, inputs, {&self}, zero_grads_for(std::move(metas)));
  }
  return self;
}


}  // namespace ember

// Elementwise ops, forward and backward side by side.
//
// Unary floating ops are one line each in the table below (scalar formula, Eigen array formula
// for contiguous rows, gradient formula written with public ops so it is differentiable again).
#include <cmath>
#include "elementwise_kernels.h"

namespace ember {

// ---- unary floating ops --------------------------------------------------------------------
// In the gradient formula: g is the incoming gradient, x the input, out the output.
#define EMBER_UNARY_FLOAT_OP(op, node, scalar_expr, array_expr, grad_expr)                              \
  Tensor op(const Tensor& x_) {                                                                        \
    DType dt = float_result(x_);                                                                       \
    Tensor out_ = empty(x_.sizes(), dt);                                                               \
    unary_float_kernel(                                                                                \
        out_, cast_nograd(x_, dt), #op, [](auto v) { using T = decltype(v); (void)sizeof(T); return static_cast<T>(scalar_expr); }, \
        [](const auto& v) { return array_expr; });                                                     \
    if (any_requires_grad({&x_}))                                                                      \
      record_function(                                                                                 \
          node, {x_}, {&out_},                                                                         \
          [](const GradList& gs, FunctionNode& self) {                                                 \
            const Tensor& g = gs[0];                                                                   \
            Tensor x = self.saved(0), out = self.saved(1);                                             \
            (void)x; (void)out;                                                                        \
            return GradList{grad_expr};                                                                \
          },                                                                                           \
          {{x_, false}, {out_, true}});                                                                \
    return out_;                                                                                       \
  }

EMBER_UNARY_FLOAT_OP(exp, "ExpBackward0", std::exp(v), v.exp(), g * out)
EMBER_UNARY_FLOAT_OP(log, "LogBackward0", std::log(v), v.log(), g / x)
EMBER_UNARY_FLOAT_OP(tanh, "TanhBackward0", std::tanh(v), v.tanh(), g * (1.0 - out * out))

#undef EMBER_UNARY_FLOAT_OP

// ---- relu ------------------------------------------------------------------------------------
// grad * (out > 0), the mask computed in one pass.
static Tensor threshold_backward(const Tensor& g, const Tensor& out) {
  return binary_kernel(g, out, g.dtype(), g.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T gv, T ov) { return ov > T(0) ? gv : T(0); };
  });
}

Tensor relu(const Tensor& x) {
  EMBER_CHECK_T(TypeError, x.dtype() != DType::Bool, "\"relu\" not implemented for 'Bool'");
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, x, [](T v) { return v > T(0) ? v : T(0); });
  });
  if (any_requires_grad({&x}))
    record_function("ReluBackward0", {x}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      return GradList{threshold_backward(g[0], self.saved(0))};
                    },
                    {{out, true}});
  return out;
}

// ---- arithmetic ------------------------------------------------------------------------------
static void check_not_bool_sub(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::Bool && b.dtype() == DType::Bool)
    throw Error("Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead.");
}

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  DType dt = result_type({a, b});
  bool unit = !alpha.is_floating() && alpha.i == 1;
  Tensor out = binary_kernel(a, b, dt, dt, [&](auto tag) {
    using T = decltype(tag);
    T al = alpha.to<T>();
    return [unit, al](T x, T y) { return static_cast<T>(unit ? x + y : x + al * y); };
  });
  if (any_requires_grad({&a, &b}))
    record_function("AddBackward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b), alpha, unit](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0]);
                      if (self.needs_grad(1)) r[1] = mb.reduce(unit ? g[0] : g[0] * alpha.to<double>());
                      return r;
                    });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_not_bool_sub(a, b);
  DType dt = result_type({a, b});
  Tensor out = binary_kernel(a, b, dt, dt, [&](auto tag) {
    using T = decltype(tag);
    T al = alpha.to<T>();
    return [al](T x, T y) { return static_cast<T>(x - al * y); };
  });
  if (any_requires_grad({&a, &b}))
    record_function("SubBackward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b), alpha](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0]);
                      if (self.needs_grad(1)) r[1] = mb.reduce(g[0] * (-alpha.to<double>()));
                      return r;
                    });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  DType dt = result_type({a, b});
  Tensor out = binary_kernel(a, b, dt, dt, [](auto tag) {
    using T = decltype(tag);
    return [](T x, T y) { return static_cast<T>(x * y); };
  });
  if (any_requires_grad({&a, &b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record_function("MulBackward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0] * self.saved(1));
                      if (self.needs_grad(1)) r[1] = mb.reduce(g[0] * self.saved(0));
                      return r;
                    },
                    {{gb ? a : Tensor(), false}, {ga ? b : Tensor(), false}});
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  DType dt = result_type({a, b});
  if (!is_floating(dt)) dt = default_dtype();  // true division
  Tensor out = binary_kernel(a, b, dt, dt, [](auto tag) {
    using T = decltype(tag);
    return [](T x, T y) { return static_cast<T>(x / y); };
  });
  if (any_requires_grad({&a, &b}))
    record_function("DivBackward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      Tensor bv = self.saved(1);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0] / bv);
                      if (self.needs_grad(1)) r[1] = mb.reduce(-g[0] * self.saved(0) / (bv * bv));
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {b, false}});
  return out;
}

Tensor neg(const Tensor& a) {
  if (a.dtype() == DType::Bool)
    throw Error("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
                "mask, use the `~` or `logical_not()` operator instead.");
  Tensor out = empty(a.sizes(), a.dtype());
  dispatch_numeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, a, [](T v) { return static_cast<T>(-v); });
  });
  if (any_requires_grad({&a}))
    record_function("NegBackward0", {a}, {&out},
                    [](const GradList& g, FunctionNode&) { return GradList{neg(g[0])}; });
  return out;
}

// ---- in place --------------------------------------------------------------------------------
// Checks that the result dtype of an in-place op can be stored in `self` (torch's rule).
static void check_inplace_dtype(const Tensor& self, const Tensor& other) {
  DType r = result_type({self, other});
  bool ok = r == self.dtype() || (is_floating(self.dtype())) ||
            (!is_floating(r) && self.dtype() != DType::Bool);
  if (!ok)
    throw Error(str_cat("result type ", r == DType::Float32 ? "Float" : dtype_name(r),
                        " can't be cast to the desired output type ", dtype_name(self.dtype())));
}

Tensor& add_(Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_inplace(a);
  check_inplace_dtype(a, b);
  bool rg = any_requires_grad({&a, &b});
  bool unit = !alpha.is_floating() && alpha.i == 1;
  binary_kernel_inplace(a, b, [&](auto tag) {
    using T = decltype(tag);
    T al = alpha.to<T>();
    return [unit, al](T x, T y) { return static_cast<T>(unit ? x + y : x + al * y); };
  });
  a.bump_version();
  if (rg)
    record_function("AddBackward0", {a, b}, {&a},
                    [ma = InputMeta(a), mb = InputMeta(b), alpha, unit](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0]);
                      if (self.needs_grad(1)) r[1] = mb.reduce(unit ? g[0] : g[0] * alpha.to<double>());
                      return r;
                    });
  return a;
}

Tensor& mul_(Tensor& a, const Tensor& b) {
  check_inplace(a);
  check_inplace_dtype(a, b);
  bool rg = any_requires_grad({&a, &b});
  Tensor a_old = rg && b.requires_grad() ? clone(detach(a)) : Tensor();
  binary_kernel_inplace(a, b, [](auto tag) {
    using T = decltype(tag);
    return [](T x, T y) { return static_cast<T>(x * y); };
  });
  a.bump_version();
  if (rg)
    record_function("MulBackward0", {a, b}, {&a},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0] * self.saved(1));
                      if (self.needs_grad(1)) r[1] = mb.reduce(g[0] * self.saved(0));
                      return r;
                    },
                    {{a_old, false}, {b, false}});
  return a;
}

}  // namespace ember

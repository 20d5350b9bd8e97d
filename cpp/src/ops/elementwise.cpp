// Elementwise ops, forward and backward side by side.
//
// Each op is an `*_impl(inputs..., out)` that checks its arguments, resolves the result dtype
// (torch's type promotion, see result_type), runs one kernel and records its backward; `out`,
// when defined, receives the result (in-place ops pass self, see inplace_apply). The public
// function is the impl without `out`, the in-place one goes through inplace_apply. Backward
// formulas use public ops, so create_graph backward differentiates them again.
#include <atomic>
#include <cmath>
#include <limits>
#include "elementwise_kernels.h"

namespace ember {

namespace {

constexpr double kLn2 = 0.693147180559945309417;
constexpr double kLn10 = 2.302585092994045684018;
constexpr double kTwoOverSqrtPi = 1.128379167095512573896;

template <typename T> constexpr bool is_fp_v = std::is_floating_point_v<T>;
template <typename T> constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

Tensor zero_scalar() { return wrapped_scalar(0.0); }

// Gradient of a non-differentiable-in-practice op (floor, sign, ...): zeros shaped like the input.
GradList zero_grad(const GradList& g, FunctionNode&) { return GradList{zeros_like(g[0])}; }

// Integer division by zero is reported after the kernel (throwing inside a parallel loop is not allowed).
struct ZeroDivFlag {
  std::atomic<bool> hit{false};
  void check() const {
    if (hit.load(std::memory_order_relaxed)) throw Error("ZeroDivisionError");
  }
};

// Integer a / b, a % b without the undefined cases (b == 0 sets the flag; MIN / -1 wraps).
template <typename T>
T int_div(T a, T b, ZeroDivFlag* z) {
  if (b == 0) { z->hit.store(true, std::memory_order_relaxed); return 0; }
  if constexpr (std::is_signed_v<T>) if (b == -1) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
  return static_cast<T>(a / b);
}
template <typename T>
T int_mod(T a, T b, ZeroDivFlag* z) {
  if (b == 0) { z->hit.store(true, std::memory_order_relaxed); return 0; }
  if constexpr (std::is_signed_v<T>) if (b == -1) return 0;
  return static_cast<T>(a % b);
}

// NaN-propagating max/min (torch.maximum / torch.minimum).
template <typename T> T max_nan(T a, T b) {
  if constexpr (is_fp_v<T>) if (a != a) return a;
  return a > b ? a : b;
}
template <typename T> T min_nan(T a, T b) {
  if constexpr (is_fp_v<T>) if (a != a) return a;
  return a < b ? a : b;
}

// Integer power by squaring with wrap-around (no signed overflow); negative exponents as torch.
template <typename T>
T int_pow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp & 1) ? T(-1) : T(1);
      return 0;
    }
  }
  using W = std::conditional_t<(sizeof(T) < 8), uint32_t, uint64_t>;
  W result = 1, b = static_cast<W>(base);
  uint64_t e = static_cast<uint64_t>(exp);
  while (e) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<T>(result);
}

bool is_wrapped(const Tensor& t) { return t.defined() && t.impl()->wrapped_number; }

}  // namespace

// ============================================================================================
// Unary floating ops: one table line each. Integer inputs compute in the default float dtype.
// Columns: name, node, saves input x, saves output out, scalar formula of v (type T), Eigen array
// formula (contiguous rows; EMBER_EACH applies the scalar formula where Eigen has none or is
// inexact), gradient formula of g, x, out.
// ============================================================================================
#define EMBER_EACH(expr) v.unaryExpr([](auto v) { using T = decltype(v); return static_cast<T>(expr); })
#define EMBER_UNARY_FLOAT_OPS(X)                                                                             \
  X(exp, "ExpBackward0", 0, 1, std::exp(v), exp_array(v), g * out)                                                 \
  X(exp2, "Exp2Backward0", 0, 1, std::exp2(v), EMBER_EACH(std::exp2(v)), g * out * kLn2)                      \
  X(expm1, "Expm1Backward0", 0, 1, std::expm1(v), v.expm1(), g * (out + 1.0))                                 \
  X(log, "LogBackward0", 1, 0, std::log(v), v.log(), g / x)                                                   \
  X(log2, "Log2Backward0", 1, 0, std::log2(v), v.log2(), g / (x * kLn2))                                      \
  X(log10, "Log10Backward0", 1, 0, std::log10(v), v.log10(), g / (x * kLn10))                                 \
  X(log1p, "Log1PBackward0", 1, 0, std::log1p(v), v.log1p(), g / (x + 1.0))                                   \
  X(sqrt, "SqrtBackward0", 0, 1, std::sqrt(v), EMBER_EACH(std::sqrt(v)), g / (out * 2.0))                    \
  X(rsqrt, "RsqrtBackward0", 0, 1, T(1) / std::sqrt(v), v.rsqrt(), g * (out * out * out) * -0.5)              \
  X(sin, "SinBackward0", 1, 0, std::sin(v), v.sin(), g * cos(x))                                              \
  X(cos, "CosBackward0", 1, 0, std::cos(v), v.cos(), g * -sin(x))                                             \
  X(tan, "TanBackward0", 0, 1, std::tan(v), v.tan(), g * (out * out + 1.0))                                   \
  X(asin, "AsinBackward0", 1, 0, std::asin(v), v.asin(), g * rsqrt(1.0 - x * x))                              \
  X(acos, "AcosBackward0", 1, 0, std::acos(v), v.acos(), g * -rsqrt(1.0 - x * x))                             \
  X(atan, "AtanBackward0", 1, 0, std::atan(v), v.atan(), g / (x * x + 1.0))                                   \
  X(sinh, "SinhBackward0", 1, 0, std::sinh(v), v.sinh(), g * cosh(x))                                         \
  X(cosh, "CoshBackward0", 1, 0, std::cosh(v), v.cosh(), g * sinh(x))                                         \
  X(asinh, "AsinhBackward0", 1, 0, std::asinh(v), EMBER_EACH(std::asinh(v)), g * rsqrt(x * x + 1.0))         \
  X(acosh, "AcoshBackward0", 1, 0, std::acosh(v), EMBER_EACH(std::acosh(v)), g * rsqrt(x * x - 1.0))         \
  X(atanh, "AtanhBackward0", 1, 0, std::atanh(v), EMBER_EACH(std::atanh(v)), g / (1.0 - x * x))              \
  X(tanh, "TanhBackward0", 0, 1, std::tanh(v), v.tanh(), tanh_backward(g, out))                               \
  X(sigmoid, "SigmoidBackward0", 0, 1, T(1) / (T(1) + std::exp(-v)), v.logistic(), sigmoid_backward(g, out))  \
  X(erf, "ErfBackward0", 1, 0, std::erf(v), EMBER_EACH(std::erf(v)), g * exp(-(x * x)) * kTwoOverSqrtPi)     \
  X(erfc, "ErfcBackward0", 1, 0, std::erfc(v), EMBER_EACH(std::erfc(v)), g * exp(-(x * x)) * -kTwoOverSqrtPi) \
  X(reciprocal, "ReciprocalBackward0", 0, 1, T(1) / v, v.inverse(), -g * (out * out))

// Eigen's float exp is fast and accurate; its double exp clamps the input (exp(-inf) != 0), so
// float64 uses std::exp.
template <typename A>
static auto exp_array(const A& v) {
  if constexpr (std::is_same_v<typename A::Scalar, float>) return v.exp();
  else return v.unaryExpr([](typename A::Scalar s) { return std::exp(s); });
}

// Fused backward of the hot activations; under create_graph the composite (differentiable) form.
static Tensor tanh_backward(const Tensor& g, const Tensor& out) {
  if (grad_enabled()) return g * (1.0 - out * out);
  return binary_apply(g, out, promote_types(g.dtype(), out.dtype()), [](auto tag) {
    using T = decltype(tag);
    return [](T gv, T o) { return static_cast<T>(gv * (T(1) - o * o)); };
  });
}
static Tensor sigmoid_backward(const Tensor& g, const Tensor& out) {
  if (grad_enabled()) return g * out * (1.0 - out);
  return binary_apply(g, out, promote_types(g.dtype(), out.dtype()), [](auto tag) {
    using T = decltype(tag);
    return [](T gv, T o) { return static_cast<T>(gv * (T(1) - o) * o); };
  });
}

#define EMBER_DEFINE_UNARY_FLOAT(op, node, save_x, save_out, scalar_expr, array_expr, grad_expr)               \
  static Tensor op##_impl(const Tensor& x_, Tensor out_) {                                                     \
    DType dt = float_result(x_);                                                                               \
    if (!out_.defined()) out_ = empty(x_.sizes(), dt);                                                         \
    unary_float_kernel(                                                                                        \
        out_, cast_nograd(x_, dt), #op,                                                                        \
        [](auto v) { using T = decltype(v); return static_cast<T>(scalar_expr); },                             \
        [](const auto& v) { return array_expr; });                                                             \
    if (any_requires_grad({&x_}))                                                                              \
      record_function(                                                                                         \
          node, {x_}, {&out_},                                                                                 \
          [](const GradList& gs, FunctionNode& self) {                                                         \
            const Tensor& g = gs[0];                                                                           \
            Tensor x = (save_x) ? self.saved(0) : Tensor(), out = (save_out) ? self.saved(1) : Tensor();       \
            return GradList{grad_expr};                                                                        \
          },                                                                                                   \
          {{(save_x) ? x_ : Tensor(), false}, {(save_out) ? out_ : Tensor(), true}});                          \
    return out_;                                                                                               \
  }                                                                                                            \
  Tensor op(const Tensor& x) { return op##_impl(x, Tensor()); }                                                \
  Tensor& op##_(Tensor& x) {                                                                                   \
    return inplace_apply(x, {}, float_result(x), save_x, [](const Tensor& s, const Tensor& o) { return op##_impl(s, o); }); \
  }

EMBER_UNARY_FLOAT_OPS(EMBER_DEFINE_UNARY_FLOAT)
#undef EMBER_DEFINE_UNARY_FLOAT
#undef EMBER_UNARY_FLOAT_OPS
#undef EMBER_EACH

// ============================================================================================
// Unary ops that keep integer dtypes
// ============================================================================================
static Tensor neg_impl(const Tensor& x, Tensor out) {
  if (x.dtype() == DType::Bool)
    throw Error("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
                "mask, use the `~` or `logical_not()` operator instead.");
  out = unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    if constexpr (is_int_v<T>) return [](T v) { return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(v)); };
    else return [](T v) { return static_cast<T>(-v); };
  }, out);
  if (any_requires_grad({&x}))
    record_function("NegBackward0", {x}, {&out}, [](const GradList& g, FunctionNode&) { return GradList{neg(g[0])}; });
  return out;
}
Tensor neg(const Tensor& x) { return neg_impl(x, Tensor()); }
Tensor& neg_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, neg_impl); }

Tensor positive(const Tensor& x) {
  if (x.dtype() == DType::Bool) throw Error("The `+` operator, on a bool tensor is not supported.");
  return x;
}

static Tensor abs_impl(const Tensor& x, Tensor out) {
  if (x.dtype() == DType::Bool) not_implemented_for("abs_cpu", x.dtype());
  out = unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) {
      if constexpr (is_fp_v<T>) return std::abs(v);
      else if constexpr (std::is_unsigned_v<T>) return v;
      else return static_cast<T>(v < T(0) ? static_cast<T>(-static_cast<std::make_unsigned_t<T>>(v)) : v);
    };
  }, out);
  if (any_requires_grad({&x}))
    record_function("AbsBackward0", {x}, {&out},
                    [](const GradList& g, FunctionNode& self) { return GradList{g[0] * sign(self.saved(0))}; },
                    {{x, false}});
  return out;
}
Tensor abs(const Tensor& x) { return abs_impl(x, Tensor()); }
Tensor& abs_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), true, abs_impl); }

static Tensor sign_impl(const Tensor& x, Tensor out) {
  out = unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) {
      if constexpr (std::is_same_v<T, bool>) return v;
      else return static_cast<T>((T(0) < v) - (v < T(0)));
    };
  }, out);
  if (any_requires_grad({&x})) record_function("SignBackward0", {x}, {&out}, zero_grad);
  return out;
}
Tensor sign(const Tensor& x) { return sign_impl(x, Tensor()); }
Tensor& sign_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, sign_impl); }

// floor/ceil/trunc/round: integers are returned as copies, bool has no kernel (as torch).
#define EMBER_ROUNDING_OPS(X)                                          \
  X(floor, "FloorBackward0", "floor_vml_cpu", std::floor(v))           \
  X(ceil, "CeilBackward0", "ceil_vml_cpu", std::ceil(v))               \
  X(trunc, "TruncBackward0", "trunc_vml_cpu", std::trunc(v))
#define EMBER_DEFINE_ROUNDING(op, node, kernel, expr)                                                      \
  static Tensor op##_impl(const Tensor& x, Tensor out) {                                                  \
    if (x.dtype() == DType::Bool) not_implemented_for(kernel, x.dtype());                                 \
    out = unary_apply(x, x.dtype(), [](auto tag) {                                                        \
      using T = decltype(tag);                                                                            \
      return [](T v) { if constexpr (is_fp_v<T>) return static_cast<T>(expr); else return v; };          \
    }, out);                                                                                              \
    if (any_requires_grad({&x})) record_function(node, {x}, {&out}, zero_grad);                          \
    return out;                                                                                           \
  }                                                                                                       \
  Tensor op(const Tensor& x) { return op##_impl(x, Tensor()); }                                           \
  Tensor& op##_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, op##_impl); }
EMBER_ROUNDING_OPS(EMBER_DEFINE_ROUNDING)
#undef EMBER_DEFINE_ROUNDING
#undef EMBER_ROUNDING_OPS

// Half to even (nearbyint); with decimals, torch's scaling: x * 10^d (or x / 10^-d) rounded, scaled back.
static Tensor round_impl(const Tensor& x, int64_t decimals, Tensor out) {
  if (x.dtype() == DType::Bool) not_implemented_for("round_vml_cpu", x.dtype());
  if (decimals != 0 && !is_floating(x.dtype())) not_implemented_for("round_cpu", x.dtype());
  bool neg_flag = decimals < 0;
  double ten_pow = std::pow(10.0, static_cast<double>(neg_flag ? -decimals : decimals));
  out = unary_apply(x, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T p = static_cast<T>(ten_pow);
    return [=](T v) {
      if constexpr (is_fp_v<T>) {
        if (decimals == 0) return std::nearbyint(v);
        return neg_flag ? static_cast<T>(std::nearbyint(v / p) * p) : static_cast<T>(std::nearbyint(v * p) / p);
      } else {
        return v;
      }
    };
  }, out);
  if (any_requires_grad({&x})) record_function(decimals == 0 ? "RoundBackward0" : "RoundBackward1", {x}, {&out}, zero_grad);
  return out;
}
Tensor round(const Tensor& x, int64_t decimals) { return round_impl(x, decimals, Tensor()); }
Tensor& round_(Tensor& x, int64_t decimals) {
  return inplace_apply(x, {}, x.dtype(), false, [decimals](const Tensor& s, const Tensor& o) { return round_impl(s, decimals, o); });
}

static Tensor frac_impl(const Tensor& x, Tensor out) {
  if (!is_floating(x.dtype())) not_implemented_for("frac_cpu", x.dtype());
  out = unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) { if constexpr (is_fp_v<T>) return static_cast<T>(v - std::trunc(v)); else return v; };
  }, out);
  if (any_requires_grad({&x}))
    record_function("FracBackward0", {x}, {&out}, [](const GradList& g, FunctionNode&) { return GradList{g[0]}; });
  return out;
}
Tensor frac(const Tensor& x) { return frac_impl(x, Tensor()); }
Tensor& frac_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, frac_impl); }

// ---- relu ------------------------------------------------------------------------------------
// out <= 0 ? 0 : grad (torch's threshold_backward), in one pass. Under create_graph it is linked
// to both g and out (the latter with a zero derivative), as torch's ThresholdBackwardBackward0.
static Tensor threshold_backward(const Tensor& g, const Tensor& out) {
  Tensor r = binary_apply(g, out, g.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T gv, T ov) { return ov <= T(0) ? T(0) : gv; };
  });
  if (any_requires_grad({&g, &out}))
    record_function("ThresholdBackwardBackward0", {g, out}, {&r},
                    [out_meta = InputMeta(out)](const GradList& gg, FunctionNode& self) {
                      GradList res(2);
                      if (self.needs_grad(0)) res[0] = threshold_backward(gg[0], self.saved(0));
                      if (self.needs_grad(1)) res[1] = zeros(out_meta.shape, out_meta.dtype);
                      return res;
                    },
                    {{out, false}});
  return r;
}

static Tensor relu_impl(const Tensor& x, Tensor out) {
  if (x.dtype() == DType::Bool) throw Error("Boolean inputs not supported for relu");
  out = unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) { return v < T(0) ? T(0) : v; };  // keeps -0. and NaN, as torch
  }, out);
  if (any_requires_grad({&x}))
    record_function("ReluBackward0", {x}, {&out},
                    [](const GradList& g, FunctionNode& self) { return GradList{threshold_backward(g[0], self.saved(0))}; },
                    {{out, true}});
  return out;
}
Tensor relu(const Tensor& x) { return relu_impl(x, Tensor()); }
Tensor& relu_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, relu_impl); }

// ---- predicates and logical/bitwise not ----------------------------------------------------------
#define EMBER_PREDICATE_OPS(X)                                                       \
  X(isnan, v != v)                                                                   \
  X(isinf, std::isinf(static_cast<double>(v)))                                        \
  X(isfinite, std::isfinite(static_cast<double>(v)))
#define EMBER_DEFINE_PREDICATE(op, expr)                                             \
  Tensor op(const Tensor& x) {                                                       \
    return unary_apply<true>(x, x.dtype(), [](auto tag) {                            \
      using T = decltype(tag);                                                       \
      return [](T v) -> bool { if constexpr (is_fp_v<T>) return expr; else return op##_int(v); }; \
    });                                                                              \
  }
template <typename T> static bool isnan_int(T) { return false; }
template <typename T> static bool isinf_int(T) { return false; }
template <typename T> static bool isfinite_int(T) { return true; }
EMBER_PREDICATE_OPS(EMBER_DEFINE_PREDICATE)
#undef EMBER_DEFINE_PREDICATE
#undef EMBER_PREDICATE_OPS

static Tensor logical_not_impl(const Tensor& x, Tensor out) {
  return unary_apply<true>(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) { return !(v != T(0)); };
  }, out);
}
Tensor logical_not(const Tensor& x) { return logical_not_impl(x, Tensor()); }
Tensor& logical_not_(Tensor& x) {
  return inplace_apply(x, {}, DType::Bool, false, logical_not_impl, "LogicalNotBackward0");
}

static Tensor bitwise_not_impl(const Tensor& x, Tensor out) {
  if (is_floating(x.dtype())) not_implemented_for("bitwise_not_cpu", x.dtype());
  return unary_apply(x, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v) {
      if constexpr (std::is_same_v<T, bool>) return !v;
      else if constexpr (is_int_v<T>) return static_cast<T>(~v);
      else return v;
    };
  }, out);
}
Tensor bitwise_not(const Tensor& x) { return bitwise_not_impl(x, Tensor()); }
Tensor& bitwise_not_(Tensor& x) { return inplace_apply(x, {}, x.dtype(), false, bitwise_not_impl); }

// ============================================================================================
// Arithmetic
// ============================================================================================
static void check_alpha(DType dt, const Scalar& alpha, const char* what = "alpha") {
  if (alpha.kind == Scalar::Kind::Bool && dt != DType::Bool)
    throw Error(str_cat("Boolean ", what, " only supported for Boolean results."));
  if (alpha.is_floating() && !is_floating(dt))
    throw Error(str_cat("For integral input tensors, argument ", what, " must not be a floating point number."));
}

static void check_sub(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::Bool && b.dtype() == DType::Bool)
    throw Error("Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead.");
  if (a.dtype() == DType::Bool || b.dtype() == DType::Bool)
    throw Error("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert "
                "a mask, use the `~` or `logical_not()` operator instead.");
}

// a + sign * alpha * b, shared by add and sub.
static Tensor add_sub_impl(const Tensor& a, const Tensor& b, const Scalar& alpha, bool subtract, Tensor out) {
  if (subtract) check_sub(a, b);
  DType dt = result_type({a, b});
  check_alpha(dt, alpha);
  bool unit = !alpha.is_floating() && alpha.i == 1;
  // alpha == 1 gets its own loop without the multiply: add/sub are the per-op overhead headline.
  if (unit && !subtract && dt != DType::Bool)
    out = binary_apply(a, b, dt, [](auto tag) {
      using T = decltype(tag);
      return [](T x, T y) { return static_cast<T>(x + y); };
    }, out);
  else
    out = binary_apply(a, b, dt, [&](auto tag) {
      using T = decltype(tag);
      T al = alpha.to<T>();
      return [unit, al, subtract](T x, T y) {
        if constexpr (std::is_same_v<T, bool>) return static_cast<bool>(x + al * y);
        else if (subtract) return static_cast<T>(unit ? x - y : x - al * y);
        else return static_cast<T>(unit ? x + y : x + al * y);
      };
    }, out);
  if (any_requires_grad({&a, &b})) {
    double scale = (subtract ? -1.0 : 1.0) * alpha.to<double>();
    record_function(subtract ? "SubBackward0" : "AddBackward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b), scale](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0]);
                      if (self.needs_grad(1)) r[1] = mb.reduce(scale == 1.0 ? g[0] : g[0] * scale);
                      return r;
                    });
  }
  return out;
}
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) { return add_sub_impl(a, b, alpha, false, Tensor()); }
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) { return add_sub_impl(a, b, alpha, true, Tensor()); }
Tensor& add_(Tensor& a, const Tensor& b, const Scalar& alpha) {
  return inplace_apply(a, {&b}, result_type({a, b}), false,
                       [&](const Tensor& s, const Tensor& o) { return add_sub_impl(s, b, alpha, false, o); });
}
Tensor& sub_(Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_sub(a, b);
  return inplace_apply(a, {&b}, result_type({a, b}), false,
                       [&](const Tensor& s, const Tensor& o) { return add_sub_impl(s, b, alpha, true, o); });
}

static Tensor mul_impl(const Tensor& a, const Tensor& b, Tensor out) {
  DType dt = result_type({a, b});
  out = binary_apply(a, b, dt, [](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) return [](T x, T y) { return x && y; };
    else return [](T x, T y) { return static_cast<T>(x * y); };
  }, out);
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
Tensor mul(const Tensor& a, const Tensor& b) { return mul_impl(a, b, Tensor()); }
Tensor& mul_(Tensor& a, const Tensor& b) {
  return inplace_apply(a, {&b}, result_type({a, b}), grad_enabled() && b.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return mul_impl(s, b, o); });
}

// True division: integer inputs divide in the default float dtype.
static Tensor div_impl(const Tensor& a, const Tensor& b, Tensor out) {
  DType dt = result_type({a, b});
  if (!is_floating(dt)) dt = default_dtype();
  out = binary_apply(a, b, dt, [](auto tag) {
    using T = decltype(tag);
    return [](T x, T y) { return static_cast<T>(x / y); };
  }, out);
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

// floor / trunc division; floating floor division follows torch's div_floor_floating exactly.
static Tensor div_rounding_impl(const Tensor& a, const Tensor& b, bool floor_mode, Tensor out, const char* node) {
  DType dt = result_type({a, b});
  if (dt == DType::Bool) not_implemented_for(floor_mode ? "div_floor_cpu" : "div_trunc_cpu", dt);
  ZeroDivFlag zero;
  out = binary_apply(a, b, dt, [&](auto tag) {
    using T = decltype(tag);
    ZeroDivFlag* z = &zero;
    return [floor_mode, z](T x, T y) -> T {
      if constexpr (is_fp_v<T>) {
        if (!floor_mode) return std::trunc(x / y);
        if (y == 0) return x / y;
        T mod = std::fmod(x, y);
        T div = (x - mod) / y;
        if (mod != 0 && (y < 0) != (mod < 0)) div -= T(1);
        if (div == 0) return std::copysign(T(0), x / y);
        T fl = std::floor(div);
        if (div - fl > T(0.5)) fl += T(1);
        return fl;
      } else if constexpr (is_int_v<T>) {
        T q = int_div(x, y, z);
        if (floor_mode && y != 0 && int_mod(x, y, z) != 0 && ((x < 0) != (y < 0))) q = static_cast<T>(q - 1);
        return q;
      } else {
        return x;
      }
    };
  }, out);
  zero.check();
  if (any_requires_grad({&a, &b})) {
    if (node)
      record_function(node, {a, b}, {&out}, zero_grads_for({InputMeta(a), InputMeta(b)}));
    else  // floor_divide has no derivative in torch
      record_function("NotImplemented", {a, b}, {&out}, [](const GradList&, FunctionNode&) -> GradList {
        throw Error("derivative for aten::floor_divide is not implemented");
      });
  }
  return out;
}

static int rounding_mode_of(const std::string& mode) {
  if (mode == "trunc") return 1;
  if (mode == "floor") return 2;
  throw Error(str_cat("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '", mode, "'"));
}

static Tensor div_mode_impl(const Tensor& a, const Tensor& b, int mode, Tensor out) {
  if (mode == 0) return div_impl(a, b, out);
  return div_rounding_impl(a, b, mode == 2, out, "DivBackward2");
}
static DType div_result(const Tensor& a, const Tensor& b, int mode) {
  DType dt = result_type({a, b});
  return mode == 0 && !is_floating(dt) ? default_dtype() : dt;
}

Tensor div(const Tensor& a, const Tensor& b) { return div_impl(a, b, Tensor()); }
Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  return div_mode_impl(a, b, rounding_mode_of(rounding_mode), Tensor());
}
Tensor& div_(Tensor& a, const Tensor& b) {
  return inplace_apply(a, {&b}, div_result(a, b, 0), grad_enabled() && b.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return div_impl(s, b, o); });
}
Tensor& div_(Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  int mode = rounding_mode_of(rounding_mode);
  return inplace_apply(a, {&b}, div_result(a, b, mode), mode == 0 && grad_enabled() && b.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return div_mode_impl(s, b, mode, o); });
}
Tensor floor_divide(const Tensor& a, const Tensor& b) { return div_rounding_impl(a, b, true, Tensor(), nullptr); }
Tensor& floor_divide_(Tensor& a, const Tensor& b) {
  return inplace_apply(a, {&b}, result_type({a, b}), false,
                       [&](const Tensor& s, const Tensor& o) { return div_rounding_impl(s, b, true, o, nullptr); });
}

// remainder (sign of the divisor, Python's %) and fmod (sign of the dividend, C's fmod).
static Tensor mod_impl(const Tensor& a, const Tensor& b, bool python_mod, Tensor out) {
  DType dt = result_type({a, b});
  if (dt == DType::Bool) not_implemented_for(python_mod ? "remainder_cpu" : "fmod_cpu", dt);
  ZeroDivFlag zero;
  out = binary_apply(a, b, dt, [&](auto tag) {
    using T = decltype(tag);
    ZeroDivFlag* z = &zero;
    return [python_mod, z](T x, T y) -> T {
      if constexpr (is_fp_v<T>) {
        T m = std::fmod(x, y);
        if (python_mod && m != 0 && ((y < 0) != (m < 0))) m += y;
        return m;
      } else if constexpr (is_int_v<T>) {
        T m = int_mod(x, y, z);
        if (python_mod && m != 0 && ((m < 0) != (y < 0))) m = static_cast<T>(m + y);
        return m;
      } else {
        return x;
      }
    };
  }, out);
  zero.check();
  if (any_requires_grad({&a, &b})) {
    // d/db (a - b * q) = -q, q the (floor or trunc) quotient.
    const char* node = python_mod ? (is_wrapped(b) ? "RemainderBackward0" : "RemainderBackward1")
                                  : (is_wrapped(b) ? "FmodBackward0" : "FmodBackward1");
    record_function(node, {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b), python_mod](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      if (self.needs_grad(0)) r[0] = ma.reduce(g[0]);
                      if (self.needs_grad(1))
                        r[1] = mb.reduce(-g[0] * div(self.saved(0), self.saved(1), python_mod ? "floor" : "trunc"));
                      return r;
                    },
                    {{b.requires_grad() ? a : Tensor(), false}, {b.requires_grad() ? b : Tensor(), false}});
  }
  return out;
}
Tensor remainder(const Tensor& a, const Tensor& b) { return mod_impl(a, b, true, Tensor()); }
Tensor fmod(const Tensor& a, const Tensor& b) { return mod_impl(a, b, false, Tensor()); }
Tensor& remainder_(Tensor& a, const Tensor& b) {
  return inplace_apply(a, {&b}, result_type({a, b}), grad_enabled() && b.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return mod_impl(s, b, true, o); });
}
Tensor& fmod_(Tensor& a, const Tensor& b) {
  return inplace_apply(a, {&b}, result_type({a, b}), grad_enabled() && b.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return mod_impl(s, b, false, o); });
}

// ---- pow -----------------------------------------------------------------------------------------
// A Python-number exponent takes torch's fast paths (x*x, sqrt, ...), so results match bit for bit.
static void check_integer_pow(DType dt, const Scalar& e) {
  if (!is_floating(dt) && !e.is_floating() && e.i < 0) throw Error("Integers to negative integer powers are not allowed.");
}

static Scalar scalar_of(const Tensor& wrapped) {
  if (is_floating(wrapped.dtype())) return Scalar(wrapped.item<double>());
  if (wrapped.dtype() == DType::Bool) return Scalar(wrapped.item<bool>());
  return Scalar(wrapped.item<int64_t>());
}

static Tensor pow_scalar_kernel(const Tensor& a, const Scalar& e, DType dt, Tensor out) {
  check_integer_pow(dt, e);
  return unary_apply(a, dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_fp_v<T>) {
      T ev = e.to<T>();
      return [ev](T x) -> T {
        if (ev == T(2)) return x * x;
        if (ev == T(3)) return x * x * x;
        if (ev == T(0.5)) return std::sqrt(x);
        if (ev == T(-0.5)) return T(1) / std::sqrt(x);
        if (ev == T(-1)) return T(1) / x;
        if (ev == T(-2)) return T(1) / (x * x);
        return std::pow(x, ev);
      };
    } else if constexpr (is_int_v<T>) {
      T ev = e.to<T>();
      return [ev](T x) { return int_pow(x, ev); };
    } else {
      bool ev = e.i != 0;
      return [ev](T x) { return static_cast<T>(x || !ev); };
    }
  }, out);
}

static Tensor pow_impl(const Tensor& a, const Tensor& b, Tensor out) {
  DType dt = result_type({a, b});
  bool scalar_exp = is_wrapped(b) && !is_wrapped(a);
  if (scalar_exp) {
    Scalar e = scalar_of(b);
    out = pow_scalar_kernel(a, e, dt, out);
    if (any_requires_grad({&a}))
      record_function("PowBackward0", {a, b}, {&out},
                      [e](const GradList& g, FunctionNode& self) {
                        double ev = e.to<double>();
                        if (ev == 0.0) return GradList{zeros_like(g[0]), Tensor()};
                        Tensor x = self.saved(0);
                        Tensor d = ev == 2.0 ? x * 2.0 : pow(x, wrapped_scalar(ev - 1.0)) * ev;
                        return GradList{g[0] * d, Tensor()};
                      },
                      {{a, false}});
    return out;
  }
  if (dt == DType::Bool) not_implemented_for("pow", dt);
  out = binary_apply(a, b, dt, [](auto tag) {
    using T = decltype(tag);
    if constexpr (is_fp_v<T>) return [](T x, T y) { return static_cast<T>(std::pow(x, y)); };
    else if constexpr (is_int_v<T>) return [](T x, T y) { return int_pow(x, y); };
    else return [](T x, T) { return x; };
  }, out);
  if (any_requires_grad({&a, &b})) {
    // d/da = b * a^(b-1) (0 where b == 0); d/db = out * log(a) (0 where a == 0 and b >= 0).
    record_function(is_wrapped(a) ? "PowBackward2" : "PowBackward1", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      Tensor x = self.saved(0), y = self.saved(1);
                      if (self.needs_grad(0))
                        r[0] = ma.reduce(where(eq(y, zero_scalar()), zero_scalar(), g[0] * y * pow(x, y - 1.0)));
                      if (self.needs_grad(1)) {
                        Tensor mask = logical_and(eq(x, zero_scalar()), ge(y, zero_scalar()));
                        r[1] = mb.reduce(where(mask, zero_scalar(), g[0] * self.saved(2) * log(x)));
                      }
                      return r;
                    },
                    {{a, false}, {b, false}, {b.requires_grad() ? out : Tensor(), true}});
  }
  return out;
}
Tensor pow(const Tensor& a, const Tensor& b) { return pow_impl(a, b, Tensor()); }
Tensor& pow_(Tensor& a, const Tensor& b) {
  if (is_wrapped(b)) check_integer_pow(result_type({a, b}), scalar_of(b));  // reported before the cast check
  return inplace_apply(a, {&b}, result_type({a, b}), true,
                       [&](const Tensor& s, const Tensor& o) { return pow_impl(s, b, o); });
}
Tensor square(const Tensor& x) { return pow(x, wrapped_scalar(Scalar(int64_t(2)))); }
Tensor& square_(Tensor& x) { return pow_(x, wrapped_scalar(Scalar(int64_t(2)))); }

// ---- maximum / minimum / fmax / fmin / atan2 -------------------------------------------------------
// maximum/minimum split the gradient evenly on ties; fmax/fmin send it to the non-NaN operand.
static Tensor minmax_impl(const Tensor& a, const Tensor& b, bool is_max, bool ignore_nan) {
  DType dt = result_type({a, b});
  Tensor out = binary_apply(a, b, dt, [&](auto tag) {
    using T = decltype(tag);
    return [is_max, ignore_nan](T x, T y) -> T {
      if constexpr (is_fp_v<T>) {
        if (ignore_nan) return is_max ? std::fmax(x, y) : std::fmin(x, y);
        if (y != y) return y;
      }
      return is_max ? max_nan(x, y) : min_nan(x, y);
    };
  });
  if (any_requires_grad({&a, &b})) {
    const char* node = ignore_nan ? (is_max ? "FmaxBackward0" : "FminBackward0")
                                  : (is_max ? "MaximumBackward0" : "MinimumBackward0");
    record_function(node, {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b), is_max, ignore_nan](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      Tensor x = self.saved(0), y = self.saved(1);
                      if (ignore_nan) {
                        // a wins where a >= b (a <= b for fmin) or b is NaN.
                        Tensor a_wins = logical_or(is_max ? ge(x, y) : le(x, y), isnan(y));
                        if (self.needs_grad(0)) r[0] = ma.reduce(where(a_wins, g[0], zero_scalar()));
                        if (self.needs_grad(1)) r[1] = mb.reduce(where(a_wins, zero_scalar(), g[0]));
                        return r;
                      }
                      Tensor shared = where(eq(x, y), g[0] / 2.0, g[0]);
                      if (self.needs_grad(0)) r[0] = ma.reduce(where(is_max ? lt(x, y) : gt(x, y), zero_scalar(), shared));
                      if (self.needs_grad(1)) r[1] = mb.reduce(where(is_max ? gt(x, y) : lt(x, y), zero_scalar(), shared));
                      return r;
                    },
                    {{a, false}, {b, false}});
  }
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return minmax_impl(a, b, true, false); }
Tensor minimum(const Tensor& a, const Tensor& b) { return minmax_impl(a, b, false, false); }
Tensor fmax(const Tensor& a, const Tensor& b) { return minmax_impl(a, b, true, true); }
Tensor fmin(const Tensor& a, const Tensor& b) { return minmax_impl(a, b, false, true); }

static Tensor atan2_impl(const Tensor& a, const Tensor& b, Tensor out) {
  DType dt = result_type({a, b});
  if (!is_floating(dt)) dt = default_dtype();
  out = binary_apply(a, b, dt, [](auto tag) {
    using T = decltype(tag);
    return [](T y, T x) { return static_cast<T>(std::atan2(y, x)); };
  }, out);
  if (any_requires_grad({&a, &b}))
    record_function("Atan2Backward0", {a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(2);
                      Tensor y = self.saved(0), x = self.saved(1);
                      Tensor scale = g[0] / (x * x + y * y);
                      if (self.needs_grad(0)) r[0] = ma.reduce(scale * x);
                      if (self.needs_grad(1)) r[1] = mb.reduce(scale * -y);
                      return r;
                    },
                    {{a, false}, {b, false}});
  return out;
}
Tensor atan2(const Tensor& a, const Tensor& b) { return atan2_impl(a, b, Tensor()); }
Tensor& atan2_(Tensor& a, const Tensor& b) {
  DType dt = result_type({a, b});
  return inplace_apply(a, {&b}, is_floating(dt) ? dt : default_dtype(), true,
                       [&](const Tensor& s, const Tensor& o) { return atan2_impl(s, b, o); });
}

// ============================================================================================
// Comparisons, logical and bitwise ops (not differentiable)
// ============================================================================================
#define EMBER_COMPARE_OPS(X)           \
  X(eq, "EqBackward0", x == y)         \
  X(ne, "NeBackward0", x != y)         \
  X(lt, "LtBackward0", x < y)          \
  X(le, "LeBackward0", x <= y)         \
  X(gt, "GtBackward0", x > y)          \
  X(ge, "GeBackward0", x >= y)         \
  X(logical_and, "LogicalAndBackward0", (x != T(0)) && (y != T(0))) \
  X(logical_or, "LogicalOrBackward0", (x != T(0)) || (y != T(0)))   \
  X(logical_xor, "LogicalXorBackward0", (x != T(0)) != (y != T(0)))
#define EMBER_DEFINE_COMPARE(op, node, expr)                                                       \
  static Tensor op##_impl(const Tensor& a, const Tensor& b, Tensor out) {                          \
    return binary_apply<true>(a, b, result_type({a, b}), [](auto tag) {                            \
      using T = decltype(tag);                                                                     \
      return [](T x, T y) -> bool { return expr; };                                                \
    }, out);                                                                                       \
  }                                                                                                \
  Tensor op(const Tensor& a, const Tensor& b) { return op##_impl(a, b, Tensor()); }               \
  Tensor& op##_(Tensor& a, const Tensor& b) {                                                      \
    return inplace_apply(a, {&b}, DType::Bool, false,                                              \
                         [&](const Tensor& s, const Tensor& o) { return op##_impl(s, b, o); }, node); \
  }
EMBER_COMPARE_OPS(EMBER_DEFINE_COMPARE)
#undef EMBER_DEFINE_COMPARE
#undef EMBER_COMPARE_OPS

// Bitwise ops and shifts: integer and bool tensors only. Shifts by a negative amount or by at
// least the bit width give 0 (or -1 for right shifts of negative values), as torch.
#define EMBER_BITWISE_OPS(X)                                                                         \
  X(bitwise_and, "bitwise_and_cpu", true, x & y)                                                     \
  X(bitwise_or, "bitwise_or_cpu", true, x | y)                                                       \
  X(bitwise_xor, "bitwise_xor_cpu", true, x ^ y)                                                     \
  X(bitwise_left_shift, "lshift_cpu", false, (y < 0 || y >= T(sizeof(T) * 8)) ? T(0) :              \
                                             static_cast<T>(static_cast<std::make_unsigned_t<T>>(x) << y)) \
  X(bitwise_right_shift, "rshift_cpu", false, (y < 0 || y >= T(sizeof(T) * 8)) ? T(x < 0 ? -1 : 0) :  \
                                              static_cast<T>(x >> y))
#define EMBER_DEFINE_BITWISE(op, kernel, bool_ok, expr)                                              \
  static Tensor op##_impl(const Tensor& a, const Tensor& b, Tensor out) {                            \
    DType dt = result_type({a, b});                                                                  \
    if (is_floating(dt) || (!(bool_ok) && dt == DType::Bool)) not_implemented_for(kernel, dt);       \
    return binary_apply(a, b, dt, [](auto tag) {                                                     \
      using T = decltype(tag);                                                                       \
      return [](T x, T y) -> T {                                                                     \
        if constexpr (is_int_v<T>) return static_cast<T>(expr);                                      \
        else if constexpr (std::is_same_v<T, bool>) return bitwise_bool_##op(x, y);                  \
        else return x;                                                                               \
      };                                                                                             \
    }, out);                                                                                         \
  }                                                                                                  \
  Tensor op(const Tensor& a, const Tensor& b) { return op##_impl(a, b, Tensor()); }                 \
  Tensor& op##_(Tensor& a, const Tensor& b) {                                                        \
    return inplace_apply(a, {&b}, result_type({a, b}), false,                                        \
                         [&](const Tensor& s, const Tensor& o) { return op##_impl(s, b, o); });      \
  }
static bool bitwise_bool_bitwise_and(bool x, bool y) { return x && y; }
static bool bitwise_bool_bitwise_or(bool x, bool y) { return x || y; }
static bool bitwise_bool_bitwise_xor(bool x, bool y) { return x != y; }
static bool bitwise_bool_bitwise_left_shift(bool x, bool) { return x; }  // unreachable: rejected above
static bool bitwise_bool_bitwise_right_shift(bool x, bool) { return x; }
EMBER_BITWISE_OPS(EMBER_DEFINE_BITWISE)
#undef EMBER_DEFINE_BITWISE
#undef EMBER_BITWISE_OPS

// ============================================================================================
// clamp, where, lerp, addcmul, addcdiv
// ============================================================================================
// Bounds are optional (undefined tensors); Python numbers arrive as wrapped scalars and take the
// scalar form (ClampBackward1, gradient for x only), tensors the tensor form (ClampBackward0).
enum class ClampKind { Clamp, Min, Max };  // which function was called: it names the node, as torch

static Tensor clamp_impl(const Tensor& x, const Tensor& lo, const Tensor& hi, ClampKind kind, Tensor out) {
  if (!lo.defined() && !hi.defined()) throw Error("torch.clamp: At least one of 'min' or 'max' must not be None");
  bool scalar_bounds = (!lo.defined() || is_wrapped(lo)) && (!hi.defined() || is_wrapped(hi));
  DType dt = result_type({x, lo, hi});
  bool has_lo = lo.defined(), has_hi = hi.defined();
  if (dt == DType::Bool && scalar_bounds)  // one tensor bound is maximum/minimum, which bool has
    not_implemented_for(has_lo && has_hi ? "clamp_scalar_cpu" : (has_lo ? "clamp_min_scalar_cpu" : "clamp_max_scalar_cpu"), dt);
  if (dt == DType::Bool && has_lo && has_hi) not_implemented_for("clamp_cpu", dt);
  Tensor l = has_lo ? lo : zero_scalar(), h = has_hi ? hi : zero_scalar();
  out = ternary_apply(x, l, h, dt, [&](auto tag) {
    using T = decltype(tag);
    return [has_lo, has_hi](T v, T lv, T hv) {
      if (has_lo) v = max_nan(v, lv);
      if (has_hi) v = min_nan(v, hv);
      return v;
    };
  }, out);
  if (!any_requires_grad({&x, &lo, &hi})) return out;
  const char* node = kind == ClampKind::Clamp ? (scalar_bounds ? "ClampBackward1" : "ClampBackward0")
                     : kind == ClampKind::Min ? (scalar_bounds ? "ClampMinBackward0" : "ClampMinBackward1")
                                              : (scalar_bounds ? "ClampMaxBackward0" : "ClampMaxBackward1");
  record_function(node, {x, lo, hi}, {&out},
                  [mx = InputMeta(x), ml = InputMeta(l), mh = InputMeta(h), has_lo, has_hi](const GradList& gs, FunctionNode& self) {
                    const Tensor& g = gs[0];
                    Tensor v = self.saved(0), lv = self.saved(1), hv = self.saved(2);
                    GradList r(3);
                    if (self.needs_grad(0)) {
                      Tensor keep = has_lo && has_hi ? logical_and(ge(v, lv), le(v, hv)) : (has_lo ? ge(v, lv) : le(v, hv));
                      r[0] = mx.reduce(where(keep, g, zero_scalar()));
                    }
                    if (self.needs_grad(1)) {
                      Tensor take = has_hi ? logical_and(lt(v, lv), lt(lv, hv)) : lt(v, lv);
                      r[1] = ml.reduce(where(take, g, zero_scalar()));
                    }
                    if (self.needs_grad(2)) {
                      Tensor take = has_lo ? logical_or(gt(v, hv), lt(hv, lv)) : gt(v, hv);
                      r[2] = mh.reduce(where(take, g, zero_scalar()));
                    }
                    return r;
                  },
                  {{x, false}, {l, false}, {h, false}});
  return out;
}

Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max) {
  return clamp_impl(x, min, max, ClampKind::Clamp, Tensor());
}
Tensor clamp_min(const Tensor& x, const Tensor& min) { return clamp_impl(x, min, Tensor(), ClampKind::Min, Tensor()); }
Tensor clamp_max(const Tensor& x, const Tensor& max) { return clamp_impl(x, Tensor(), max, ClampKind::Max, Tensor()); }
static Tensor& clamp_inplace(Tensor& x, const Tensor& min, const Tensor& max, ClampKind kind) {
  if (!min.defined() && !max.defined()) throw Error("torch.clamp: At least one of 'min' or 'max' must not be None");
  return inplace_apply(x, {&min, &max}, result_type({x, min, max}), true,
                       [&](const Tensor& s, const Tensor& o) { return clamp_impl(s, min, max, kind, o); });
}
Tensor& clamp_(Tensor& x, const Tensor& min, const Tensor& max) { return clamp_inplace(x, min, max, ClampKind::Clamp); }
Tensor& clamp_min_(Tensor& x, const Tensor& min) { return clamp_inplace(x, min, Tensor(), ClampKind::Min); }
Tensor& clamp_max_(Tensor& x, const Tensor& max) { return clamp_inplace(x, Tensor(), max, ClampKind::Max); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (cond.dtype() != DType::Bool && cond.dtype() != DType::UInt8)
    throw Error(str_cat("where expected condition to be a boolean tensor, but got a tensor with dtype ",
                        scalar_type_name(cond.dtype())));
  DType dt = result_type({a, b});
  Tensor c = cast_nograd(cond, DType::Bool), ac = cast_nograd(a, dt), bc = cast_nograd(b, dt);
  Tensor out = empty(broadcast_all({&cond, &a, &b}), dt);
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    ternary_loop<T, bool, T, T>(out, c, ac, bc, [](bool k, T x, T y) { return k ? x : y; });
  });
  if (any_requires_grad({&a, &b}))
    record_function("WhereBackward0", {c, a, b}, {&out},
                    [ma = InputMeta(a), mb = InputMeta(b)](const GradList& g, FunctionNode& self) {
                      GradList r(3);
                      Tensor k = self.saved(0);
                      if (self.needs_grad(1)) r[1] = ma.reduce(where(k, g[0], zero_scalar()));
                      if (self.needs_grad(2)) r[2] = mb.reduce(where(k, zero_scalar(), g[0]));
                      return r;
                    },
                    {{c, false}});
  return out;
}

// start + w * (end - start), in torch's two-sided form (accurate at both ends).
static Tensor lerp_impl(const Tensor& start, const Tensor& end, const Tensor& weight, Tensor out) {
  bool scalar_w = is_wrapped(weight);
  DType dt = start.dtype();
  if (end.dtype() != dt)
    throw Error(str_cat("expected dtype ", cpp_type_name(dt), " for `end` but got dtype ", cpp_type_name(end.dtype())));
  if (!scalar_w && weight.dtype() != dt)
    throw Error(str_cat("expected dtype ", cpp_type_name(dt), " for `weight` but got dtype ", cpp_type_name(weight.dtype())));
  if (!is_floating(dt)) not_implemented_for(scalar_w ? "lerp_kernel_scalar" : "lerp_kernel_tensor", dt);
  out = ternary_apply(start, end, weight, dt, [](auto tag) {
    using T = decltype(tag);
    return [](T s, T e, T w) -> T {
      if constexpr (is_fp_v<T>) return std::abs(w) < T(0.5) ? s + w * (e - s) : e - (e - s) * (T(1) - w);
      else return s;
    };
  }, out);
  if (any_requires_grad({&start, &end, &weight}))
    // A scalar weight stays a double so that float64 gradients keep full precision.
    record_function(scalar_w ? "LerpBackward0" : "LerpBackward1", {start, end, weight}, {&out},
                    [ms = InputMeta(start), me = InputMeta(end), mw = InputMeta(weight), scalar_w,
                     wv = scalar_w ? weight.item<double>() : 0.0](const GradList& gs, FunctionNode& self) {
                      const Tensor& g = gs[0];
                      GradList r(3);
                      if (scalar_w) {
                        if (self.needs_grad(0)) r[0] = ms.reduce(g * (1.0 - wv));
                        if (self.needs_grad(1)) r[1] = me.reduce(g * wv);
                        return r;
                      }
                      Tensor w = self.saved(0);
                      if (self.needs_grad(0)) r[0] = ms.reduce(g * (1.0 - w));
                      if (self.needs_grad(1)) r[1] = me.reduce(g * w);
                      if (self.needs_grad(2)) r[2] = mw.reduce(g * (self.saved(2) - self.saved(1)));
                      return r;
                    },
                    {{weight, false}, {weight.requires_grad() ? start : Tensor(), false}, {weight.requires_grad() ? end : Tensor(), false}});
  return out;
}
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) { return lerp_impl(start, end, weight, Tensor()); }
Tensor& lerp_(Tensor& start, const Tensor& end, const Tensor& weight) {
  return inplace_apply(start, {&end, &weight}, start.dtype(), grad_enabled() && weight.requires_grad(),
                       [&](const Tensor& s, const Tensor& o) { return lerp_impl(s, end, weight, o); });
}

// input + value * t1 * t2 (addcmul) or input + value * t1 / t2 (addcdiv).
static Tensor addc_impl(const Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value, bool is_div, Tensor out) {
  if (is_div && is_integral(t1.dtype(), true) && is_integral(t2.dtype(), true))
    throw Error("Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
                "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
                "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the "
                "latter implementation: (input + value * tensor1 / tensor2), for all dtypes.");
  DType dt = result_type({input, t1, t2});
  check_alpha(dt, value, "value");
  if (dt == DType::Bool) not_implemented_for(is_div ? "addcdiv_cpu_out" : "addcmul_cpu_out", dt);
  out = ternary_apply(input, t1, t2, dt, [&](auto tag) {
    using T = decltype(tag);
    T v = value.to<T>();
    return [v, is_div](T s, T x, T y) {
      if constexpr (std::is_same_v<T, bool>) return s;
      else return static_cast<T>(is_div ? s + v * (x / y) : s + v * x * y);
    };
  }, out);
  if (any_requires_grad({&input, &t1, &t2}))
    record_function(is_div ? "AddcdivBackward0" : "AddcmulBackward0", {input, t1, t2}, {&out},
                    [mi = InputMeta(input), m1 = InputMeta(t1), m2 = InputMeta(t2), v = value.to<double>(), is_div](
                        const GradList& gs, FunctionNode& self) {
                      const Tensor& g = gs[0];
                      Tensor x = self.saved(0), y = self.saved(1);
                      GradList r(3);
                      if (self.needs_grad(0)) r[0] = mi.reduce(g);
                      if (is_div) {
                        if (self.needs_grad(1)) r[1] = m1.reduce(g * v / y);
                        if (self.needs_grad(2)) r[2] = m2.reduce(-g * v * x / (y * y));
                      } else {
                        if (self.needs_grad(1)) r[1] = m1.reduce(g * v * y);
                        if (self.needs_grad(2)) r[2] = m2.reduce(g * v * x);
                      }
                      return r;
                    },
                    {{t1, false}, {t2, false}});
  return out;
}
Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return addc_impl(input, t1, t2, value, false, Tensor());
}
Tensor addcdiv(const Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return addc_impl(input, t1, t2, value, true, Tensor());
}
Tensor& addcmul_(Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return inplace_apply(input, {&t1, &t2}, result_type({input, t1, t2}), false,
                       [&](const Tensor& s, const Tensor& o) { return addc_impl(s, t1, t2, value, false, o); });
}
Tensor& addcdiv_(Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return inplace_apply(input, {&t1, &t2}, result_type({input, t1, t2}), false,
                       [&](const Tensor& s, const Tensor& o) { return addc_impl(s, t1, t2, value, true, o); });
}

// ============================================================================================
// isclose, allclose, equal
// ============================================================================================
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  if (a.dtype() != b.dtype())
    throw Error(str_cat(scalar_type_name(a.dtype()), " did not match ", scalar_type_name(b.dtype())));
  if (rtol < 0) throw Error(str_cat("rtol must be greater than or equal to zero, but got ", rtol));
  if (atol < 0) throw Error(str_cat("atol must be greater than or equal to zero, but got ", atol));
  return binary_apply<true>(a, b, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return [rtol, atol, equal_nan](T x, T y) -> bool {
      if (x == y) return true;
      if constexpr (is_fp_v<T>) {
        if (equal_nan && x != x && y != y) return true;
        T allowed = static_cast<T>(atol) + std::abs(static_cast<T>(rtol) * y);
        T actual = std::abs(x - y);
        return std::isfinite(actual) && actual <= allowed;
      } else {
        double allowed = atol + std::abs(rtol * static_cast<double>(y));
        return std::abs(static_cast<double>(x) - static_cast<double>(y)) <= allowed;
      }
    };
  });
}

// True when every element of a bool tensor is true.
static bool all_true(const Tensor& t) {
  Tensor c = contiguous(t);
  const bool* p = c.data<bool>();
  for (int64_t i = 0, n = c.numel(); i < n; ++i)
    if (!p[i]) return false;
  return true;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  NoGradGuard ng;
  return all_true(isclose(a, b, rtol, atol, equal_nan));
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  NoGradGuard ng;
  return all_true(eq(a, b));
}

}  // namespace ember

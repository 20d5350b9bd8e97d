// Activation functions that the elementwise family lacks (torch.nn.functional's), forward and
// backward side by side.
//
// Every activation is three formulas handed to one shared op, `activation`: the forward value
// of one element, the gradient of one element (g * f'(x)), and the same gradient written with
// public ops. Backward runs the fused per-element gradient, except under create_graph, where
// it runs the composite form so that the result can be differentiated again. In-place forms
// go through inplace_apply, which hands the op a copy of self's old value when backward needs it.
#include <cmath>
#include "elementwise_kernels.h"

namespace ember {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;       // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;    // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;   // sqrt(2 / pi)
constexpr double kGeluKappa = 0.044715;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

Tensor S(double v) { return wrapped_scalar(v); }
Tensor zero() { return wrapped_scalar(0.0); }

struct ActivationSpec {
  const char* kernel;  // torch's kernel name, named by the error for unsupported dtypes
  const char* node;    // grad_fn name
};

// out = fwd(x) elementwise, recording `node` whose backward is grad(g, x) (fused) or
// composite(g, x) (public ops, under create_graph). `out`, when defined, receives the result.
// kIntegral: also defined for integer dtypes (hardtanh, threshold).
template <bool kIntegral = false, typename Fwd, typename Grad, typename Composite>
Tensor activation(const ActivationSpec& spec, const Tensor& x, Tensor out, const Fwd& fwd, const Grad& grad,
                  const Composite& composite) {
  DType dt = x.dtype();
  if (dt == DType::Bool) not_implemented_for(spec.kernel, dt);
  if (!out.defined()) out = empty(x.sizes(), dt);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(fwd(v)); });
  };
  if constexpr (kIntegral) dispatch_numeric(dt, run);
  else dispatch_floating(dt, spec.kernel, run);
  if (any_requires_grad({&x}))
    record_function(
        spec.node, {x}, {&out},
        [grad, composite](const GradList& gs, FunctionNode& self) {
          Tensor xs = self.saved(0);
          if (grad_enabled()) return GradList{composite(gs[0], xs)};
          return GradList{binary_apply(gs[0], xs, xs.dtype(), [&](auto tag) {
            using T = decltype(tag);
            return [&](T g, T v) -> T {
              if constexpr (std::is_floating_point_v<T>) return static_cast<T>(grad(g, v));
              else return T(0);  // never reached: only floating tensors require grad
            };
          })};
        },
        {{x, false}});
  return out;
}

// The in-place form: self's old value is copied for backward when self requires grad.
template <bool kIntegral = false, typename Impl>
Tensor& activation_(const ActivationSpec& spec, Tensor& x, const Impl& impl) {
  if (x.dtype() == DType::Bool || (!is_floating(x.dtype()) && !kIntegral)) not_implemented_for(spec.kernel, x.dtype());
  return inplace_apply(x, {}, x.dtype(), true, impl);
}

// ---- per-activation formulas (torch's CPU kernels) ------------------------------------------
// elu(x) = x > 0 ? scale * x : alpha * scale * expm1(input_scale * x); selu and celu are elus.
Tensor elu_impl(const ActivationSpec& spec, const Tensor& x, double alpha, double scale, double input_scale,
                Tensor out) {
  return activation(
      spec, x, out,
      [=](auto v) {
        using T = decltype(v);
        return v <= T(0) ? T(alpha) * T(scale) * std::expm1(v * T(input_scale)) : v * T(scale);
      },
      [=](auto g, auto v) {
        using T = decltype(v);
        return v <= T(0) ? g * T(input_scale) * T(alpha) * T(scale) * std::exp(v * T(input_scale)) : g * T(scale);
      },
      [=](const Tensor& g, const Tensor& x) {
        return where(le(x, zero()), g * exp(x * input_scale) * (input_scale * alpha * scale), g * scale);
      });
}
const ActivationSpec kElu{"elu_cpu", "EluBackward0"};
const ActivationSpec kCelu{"elu_cpu", "CeluBackward0"};

void check_celu_alpha(double alpha) {
  if (alpha == 0) throw Error("ZeroDivisionError: alpha cannot be 0 for CELU");
}

const ActivationSpec kLeakyRelu{"leaky_relu_cpu", "LeakyReluBackward0"};
Tensor leaky_relu_impl(const Tensor& x, double slope, Tensor out) {
  return activation(
      kLeakyRelu, x, out,
      [=](auto v) { using T = decltype(v); return v > T(0) ? v : v * T(slope); },
      [=](auto g, auto v) { using T = decltype(v); return v > T(0) ? g : g * T(slope); },
      [=](const Tensor& g, const Tensor& x) { return where(gt(x, zero()), g, g * slope); });
}

// Clamp to [lo, hi] (NaN propagates); the gradient is zero at and beyond the bounds.
const ActivationSpec kHardtanh{"hardtanh", "HardtanhBackward0"};
Tensor hardtanh_impl(const Tensor& x, const Scalar& lo, const Scalar& hi, Tensor out) {
  if (x.dtype() == DType::Bool) throw Error("Bool inputs not supported for hardtanh");
  double lo_d = lo.to<double>(), hi_d = hi.to<double>();
  return activation<true>(
      kHardtanh, x, out,
      [=](auto v) {
        using T = decltype(v);
        T l = lo.to<T>(), h = hi.to<T>();
        return std::min(std::max(v, l), h);  // NaN propagates, as torch's clamp
      },
      [=](auto g, auto v) {
        using T = decltype(v);
        return (v <= T(lo_d) || v >= T(hi_d)) ? T(0) : g;
      },
      [=](const Tensor& g, const Tensor& x) {
        return where(logical_or(le(x, S(lo_d)), ge(x, S(hi_d))), zero(), g);
      });
}

const ActivationSpec kHardsigmoid{"hardsigmoid_cpu", "HardsigmoidBackward0"};
Tensor hardsigmoid_impl(const Tensor& x, Tensor out) {
  return activation(
      kHardsigmoid, x, out,
      [](auto v) { using T = decltype(v); return std::min(std::max(v + T(3), T(0)), T(6)) / T(6); },
      [](auto g, auto v) { using T = decltype(v); return (v > T(-3) && v < T(3)) ? g / T(6) : T(0); },
      [](const Tensor& g, const Tensor& x) {
        return where(logical_and(gt(x, S(-3)), lt(x, S(3))), g / 6.0, zero());
      });
}

const ActivationSpec kHardswish{"hardswish_cpu", "HardswishBackward0"};
Tensor hardswish_impl(const Tensor& x, Tensor out) {
  return activation(
      kHardswish, x, out,
      [](auto v) { using T = decltype(v); return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6); },
      [](auto g, auto v) {
        using T = decltype(v);
        return v < T(-3) ? T(0) : (v <= T(3) ? g * (v / T(3) + T(0.5)) : g);
      },
      [](const Tensor& g, const Tensor& x) {
        return where(lt(x, S(-3)), zero(), where(le(x, S(3)), g * (x / 3.0 + 0.5), g));
      });
}

// log(1 + exp(beta x)) / beta, linear where beta x exceeds the threshold.
const ActivationSpec kSoftplus{"softplus_cpu", "SoftplusBackward0"};
Tensor softplus_impl(const Tensor& x, double beta, double threshold, Tensor out) {
  return activation(
      kSoftplus, x, out,
      [=](auto v) {
        using T = decltype(v);
        return v * T(beta) > T(threshold) ? v : std::log1p(std::exp(v * T(beta))) / T(beta);
      },
      [=](auto g, auto v) {
        using T = decltype(v);
        T z = std::exp(v * T(beta));
        return v * T(beta) > T(threshold) ? g : g * z / (z + T(1));
      },
      [=](const Tensor& g, const Tensor& x) {
        Tensor bx = x * beta;
        return where(gt(bx, S(threshold)), g, g * sigmoid(bx));
      });
}

const ActivationSpec kThreshold{"threshold_cpu", "ThresholdBackward0"};
Tensor threshold_impl(const Tensor& x, const Scalar& threshold, const Scalar& value, Tensor out) {
  double th = threshold.to<double>();
  return activation<true>(
      kThreshold, x, out,
      [=](auto v) { using T = decltype(v); return v <= threshold.to<T>() ? value.to<T>() : v; },
      [=](auto g, auto v) { using T = decltype(v); return v <= T(th) ? T(0) : g; },
      [=](const Tensor& g, const Tensor& x) { return where(le(x, S(th)), zero(), g); });
}

// x * Phi(x), exactly (erf) or with torch's tanh approximation.
const ActivationSpec kGelu{"GeluKernelImpl", "GeluBackward0"};
Tensor gelu_impl(const Tensor& x, bool tanh_approx, Tensor out) {
  if (tanh_approx)
    return activation(
        kGelu, x, out,
        [](auto v) {
          using T = decltype(v);
          T inner = T(kSqrt2OverPi) * (v + T(kGeluKappa) * v * v * v);
          return T(0.5) * v * (T(1) + std::tanh(inner));
        },
        [](auto g, auto v) {
          using T = decltype(v);
          T v_sq = v * v;
          T tanh_inner = std::tanh(T(kSqrt2OverPi) * (v + T(kGeluKappa) * v_sq * v));
          T right = T(1) + tanh_inner;
          T right_derivative = (T(1) - tanh_inner * tanh_inner) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluKappa) * v_sq);
          return g * (T(0.5) * right + T(0.5) * v * right_derivative);
        },
        [](const Tensor& g, const Tensor& x) {
          Tensor t = tanh((x + x * x * x * kGeluKappa) * kSqrt2OverPi);
          Tensor right_derivative = (1.0 - t * t) * (1.0 + x * x * (3 * kGeluKappa)) * kSqrt2OverPi;
          return g * ((1.0 + t) * 0.5 + x * 0.5 * right_derivative);
        });
  return activation(
      kGelu, x, out,
      [](auto v) { using T = decltype(v); return v * T(0.5) * (T(1) + std::erf(v * T(kSqrt1_2))); },
      [](auto g, auto v) {
        using T = decltype(v);
        T cdf = T(0.5) * (T(1) + std::erf(v * T(kSqrt1_2)));
        T pdf = std::exp(T(-0.5) * v * v) * T(kInvSqrt2Pi);
        return g * (cdf + v * pdf);
      },
      [](const Tensor& g, const Tensor& x) {
        return g * ((1.0 + erf(x * kSqrt1_2)) * 0.5 + x * exp(x * x * -0.5) * kInvSqrt2Pi);
      });
}

bool gelu_is_tanh(const std::string& approximate) {
  if (approximate == "tanh") return true;
  if (approximate == "none") return false;
  throw Error("approximate argument must be either none or tanh.");
}

const ActivationSpec kSilu{"silu_cpu", "SiluBackward0"};
Tensor silu_impl(const Tensor& x, Tensor out) {
  return activation(
      kSilu, x, out,
      [](auto v) { using T = decltype(v); return v / (T(1) + std::exp(-v)); },
      [](auto g, auto v) {
        using T = decltype(v);
        T s = T(1) / (T(1) + std::exp(-v));
        return g * s * (T(1) + v * (T(1) - s));
      },
      [](const Tensor& g, const Tensor& x) {
        Tensor s = sigmoid(x);
        return g * s * (1.0 + x * (1.0 - s));
      });
}

// x * tanh(softplus(x)).
const ActivationSpec kMish{"mish_cpu", "MishBackward0"};
Tensor mish_impl(const Tensor& x, Tensor out) {
  return activation(
      kMish, x, out,
      [](auto v) { return v * std::tanh(std::log1p(std::exp(v))); },
      [](auto g, auto v) {
        using T = decltype(v);
        T s = T(1) / (T(1) + std::exp(-v));
        T t = std::tanh(std::log1p(std::exp(v)));
        return g * (t + v * s * (T(1) - t * t));
      },
      [](const Tensor& g, const Tensor& x) {
        Tensor t = tanh(softplus(x, 1, 20));
        return g * (t + x * sigmoid(x) * (1.0 - t * t));
      });
}

// min(x, 0) - log1p(exp(-|x|)), stable for large |x|.
const ActivationSpec kLogSigmoid{"log_sigmoid_cpu", "LogSigmoidBackward0"};
Tensor log_sigmoid_impl(const Tensor& x, Tensor out) {
  return activation(
      kLogSigmoid, x, out,
      [](auto v) { using T = decltype(v); return std::min(v, T(0)) - std::log1p(std::exp(-std::abs(v))); },
      [](auto g, auto v) {
        using T = decltype(v);
        T z = std::exp(-std::abs(v));
        return v < T(0) ? g * (T(1) - z / (T(1) + z)) : g * (z / (T(1) + z));
      },
      [](const Tensor& g, const Tensor& x) { return g * sigmoid(-x); });
}

// Zero inside [-lambd, lambd]; hardshrink keeps x outside, softshrink moves it towards zero.
const ActivationSpec kHardshrink{"hardshrink_cpu", "HardshrinkBackward0"};
const ActivationSpec kSoftshrink{"softshrink_check", "SoftshrinkBackward0"};
Tensor shrink_impl(const Tensor& x, double lambd, bool soft) {
  auto grad = [=](auto g, auto v) {
    using T = decltype(v);
    return (v >= T(-lambd) && v <= T(lambd)) ? T(0) : g;
  };
  auto composite = [=](const Tensor& g, const Tensor& x) {
    return where(logical_and(ge(x, S(-lambd)), le(x, S(lambd))), zero(), g);
  };
  if (!soft)
    return activation(
        kHardshrink, x, Tensor(),
        [=](auto v) { using T = decltype(v); return (v >= T(-lambd) && v <= T(lambd)) ? T(0) : v; }, grad, composite);
  if (is_floating(x.dtype()) && !(lambd >= 0))
    throw Error(str_cat("lambda must be in range [0, ", x.dtype() == DType::Float32 ? "3.40282e+38" : "1.79769e+308",
                        "] for input dtype ", scalar_type_name(x.dtype()), ", but found ", lambd));
  return activation(
      kSoftshrink, x, Tensor(),
      [=](auto v) {
        using T = decltype(v);
        return v > T(lambd) ? v - T(lambd) : (v < T(-lambd) ? v + T(lambd) : v * T(0));  // keeps NaN
      },
      grad, composite);
}

}  // namespace

// ---- public ops -----------------------------------------------------------------------------
Tensor elu(const Tensor& x, double alpha, double scale, double input_scale) {
  return elu_impl(kElu, x, alpha, scale, input_scale, Tensor());
}
Tensor& elu_(Tensor& x, double alpha, double scale, double input_scale) {
  return activation_(kElu, x, [=](const Tensor& s, const Tensor& o) {
    return elu_impl(kElu, s, alpha, scale, input_scale, o);
  });
}
Tensor selu(const Tensor& x) { return elu(x, kSeluAlpha, kSeluScale, 1); }
Tensor& selu_(Tensor& x) { return elu_(x, kSeluAlpha, kSeluScale, 1); }
Tensor celu(const Tensor& x, double alpha) {
  check_celu_alpha(alpha);
  return elu_impl(kCelu, x, alpha, 1, 1 / alpha, Tensor());
}
Tensor& celu_(Tensor& x, double alpha) {
  check_celu_alpha(alpha);
  return activation_(kCelu, x, [=](const Tensor& s, const Tensor& o) { return elu_impl(kCelu, s, alpha, 1, 1 / alpha, o); });
}

Tensor leaky_relu(const Tensor& x, double negative_slope) { return leaky_relu_impl(x, negative_slope, Tensor()); }
Tensor& leaky_relu_(Tensor& x, double negative_slope) {
  return activation_(kLeakyRelu, x, [=](const Tensor& s, const Tensor& o) { return leaky_relu_impl(s, negative_slope, o); });
}

Tensor hardtanh(const Tensor& x, const Scalar& min_val, const Scalar& max_val) {
  return hardtanh_impl(x, min_val, max_val, Tensor());
}
Tensor& hardtanh_(Tensor& x, const Scalar& min_val, const Scalar& max_val) {
  if (x.dtype() == DType::Bool) throw Error("Bool inputs not supported for hardtanh");
  return activation_<true>(kHardtanh, x, [=](const Tensor& s, const Tensor& o) { return hardtanh_impl(s, min_val, max_val, o); });
}
Tensor relu6(const Tensor& x) { return hardtanh(x, Scalar(int64_t(0)), Scalar(int64_t(6))); }
Tensor& relu6_(Tensor& x) { return hardtanh_(x, Scalar(int64_t(0)), Scalar(int64_t(6))); }

Tensor hardsigmoid(const Tensor& x) { return hardsigmoid_impl(x, Tensor()); }
Tensor& hardsigmoid_(Tensor& x) { return activation_(kHardsigmoid, x, hardsigmoid_impl); }
Tensor hardswish(const Tensor& x) { return hardswish_impl(x, Tensor()); }
Tensor& hardswish_(Tensor& x) { return activation_(kHardswish, x, hardswish_impl); }

Tensor softplus(const Tensor& x, double beta, double threshold) { return softplus_impl(x, beta, threshold, Tensor()); }

Tensor threshold(const Tensor& x, const Scalar& threshold, const Scalar& value) {
  return threshold_impl(x, threshold, value, Tensor());
}
Tensor& threshold_(Tensor& x, const Scalar& threshold, const Scalar& value) {
  return activation_<true>(kThreshold, x, [=](const Tensor& s, const Tensor& o) { return threshold_impl(s, threshold, value, o); });
}

Tensor gelu(const Tensor& x, const std::string& approximate) { return gelu_impl(x, gelu_is_tanh(approximate), Tensor()); }
Tensor& gelu_(Tensor& x, const std::string& approximate) {
  bool tanh_approx = gelu_is_tanh(approximate);
  return activation_(kGelu, x, [=](const Tensor& s, const Tensor& o) { return gelu_impl(s, tanh_approx, o); });
}

Tensor silu(const Tensor& x) { return silu_impl(x, Tensor()); }
Tensor& silu_(Tensor& x) { return activation_(kSilu, x, silu_impl); }
Tensor mish(const Tensor& x) { return mish_impl(x, Tensor()); }
Tensor& mish_(Tensor& x) { return activation_(kMish, x, mish_impl); }
Tensor log_sigmoid(const Tensor& x) { return log_sigmoid_impl(x, Tensor()); }
Tensor hardshrink(const Tensor& x, double lambd) { return shrink_impl(x, lambd, false); }
Tensor softshrink(const Tensor& x, double lambd) { return shrink_impl(x, lambd, true); }

// x > 0 ? x : w * x with one weight per channel (dim 1), or one shared weight.
Tensor prelu(const Tensor& x, const Tensor& weight) {
  if (weight.dim() > 1)
    throw Error(str_cat("prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = ", weight.dim()));
  int64_t channels = x.dim() >= 2 ? x.sizes()[1] : 1;
  if (weight.numel() != 1 && weight.numel() != channels)
    throw Error(str_cat("Mismatch of parameter numbers and input channel size. Found parameter numbers = ",
                        weight.numel(), " and channel size = ", channels, "."));
  if (!is_floating(x.dtype())) not_implemented_for("prelu_cpu", x.dtype());
  if (weight.dtype() != x.dtype())
    throw Error(str_cat("expected scalar type ", scalar_type_name(x.dtype()), " but found ",
                        scalar_type_name(weight.dtype())));
  // The weight viewed so that it broadcasts along dim 1 of x.
  Shape wshape;
  if (weight.numel() != 1 || x.dim() >= 2) {
    wshape.assign(x.dim() >= 2 ? x.dim() - 1 : 0, 1);
    if (!wshape.empty()) wshape[0] = weight.numel();
  }
  Tensor wv;
  {
    NoGradGuard ng;
    wv = reshape(weight, wshape);
  }
  Tensor out = binary_apply(x, wv, x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T v, T w) { return v > T(0) ? v : static_cast<T>(w * v); };
  });
  if (any_requires_grad({&x, &weight})) {
    Shape w_sizes = weight.sizes();
    record_function(
        "PreluKernelBackward0", {x, weight}, {&out},
        [w_sizes, wshape](const GradList& gs, FunctionNode& self) {
          const Tensor& g = gs[0];
          Tensor x = self.saved(0), w = reshape(self.saved(1), wshape);
          GradList r(2);
          if (grad_enabled()) {
            Tensor pos = gt(x, zero());
            if (self.needs_grad(0)) r[0] = where(pos, g, g * w);
            if (self.needs_grad(1)) r[1] = reshape(sum_to(where(pos, zero(), g * x), wshape), w_sizes);
            return r;
          }
          if (self.needs_grad(0))
            r[0] = ternary_apply(g, x, w, x.dtype(), [](auto tag) {
              using T = decltype(tag);
              return [](T gv, T v, T wv) { return v > T(0) ? gv : static_cast<T>(gv * wv); };
            });
          if (self.needs_grad(1))
            r[1] = reshape(sum_to(binary_apply(g, x, x.dtype(), [](auto tag) {
                                    using T = decltype(tag);
                                    return [](T gv, T v) { return v > T(0) ? T(0) : static_cast<T>(gv * v); };
                                  }), wshape), w_sizes);
          return r;
        },
        {{x, false}, {weight, false}});
  }
  return out;
}

}  // namespace ember

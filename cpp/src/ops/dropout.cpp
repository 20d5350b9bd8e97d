// Dropout, alpha dropout and their channel-wise (feature) forms, forward and backward side by side.
//
// One pass draws the keep/drop decision of every element from the Philox stream of the
// generator (element i uses 32-bit word i % 4 of philox(seed, base + i / 4), so the bits do not
// depend on the thread count) and writes both the output and the per-element multiplier that
// the backward reuses: grad_input = grad_output * multiplier.
#include <cmath>
#include "elementwise_kernels.h"
#include "ember/generator.h"

namespace ember {

namespace {

constexpr double kSeluAlphaScale = 1.7580993408473766;  // alpha' = -scale * alpha of SELU

// out = x * mult[keep] + shift[keep]; returns the multiplier of every element.
struct DropoutPlan {
  double mult[2] = {0, 1};   // dropped, kept
  double shift[2] = {0, 0};
};

DropoutPlan dropout_plan(double p, bool alpha) {
  DropoutPlan d;
  if (p == 1.0) return d;  // everything dropped: x * 0, as torch
  if (!alpha) {
    d.mult[1] = 1.0 / (1.0 - p);
    return d;
  }
  double a = 1.0 / std::sqrt((kSeluAlphaScale * kSeluAlphaScale * p + 1) * (1 - p));
  d.mult[1] = a;
  d.shift[0] = kSeluAlphaScale * a * (p - 1);
  d.shift[1] = kSeluAlphaScale * a * p;
  return d;
}

void check_dropout_args(const Tensor& x, double p) {
  EMBER_CHECK_T(ValueError, p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
  if (!is_floating(x.dtype()))
    throw Error(str_cat("result type Float can't be cast to the desired output type ", scalar_type_name(x.dtype())));
}

// Fills `mult` (x's shape, contiguous) with the multipliers and, when `out` is defined, out = x *
// mult + shift. Draws nothing when every element is dropped.
void dropout_kernel(const Tensor& x, const Tensor& out, const Tensor& mult, double p, const DropoutPlan& plan,
                    Generator* gen) {
  int64_t n = x.numel();
  uint64_t seed = 0, base = 0;
  if (p < 1.0) std::tie(seed, base) = (gen ? *gen : *default_generator()).reserve(static_cast<uint64_t>((n + 3) / 4));
  // keep when u < 1 - p, u uniform on [0, 1) in steps of 2^-32
  const double keep_below = (1.0 - p) * 4294967296.0;
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T m0 = static_cast<T>(plan.mult[0]), m1 = static_cast<T>(plan.mult[1]);
    const T s0 = static_cast<T>(plan.shift[0]), s1 = static_cast<T>(plan.shift[1]);
    const T* xp = x.data<T>();
    T* op = out.defined() ? out.data<T>() : nullptr;
    T* mp = mult.data<T>();
    // Ranges start at multiples of 4 so that one Philox call serves 4 elements.
    int64_t groups = (n + 3) / 4;
    parallel_for(0, groups, kGrainSize / 16, [&](int64_t gb, int64_t ge) {
      for (int64_t g = gb; g < ge; ++g) {
        std::array<uint32_t, 4> bits{};
        if (p < 1.0) bits = philox4x32(seed, base + static_cast<uint64_t>(g));
        for (int64_t k = 0, i = g * 4; k < 4 && i < n; ++k, ++i) {
          bool keep = static_cast<double>(bits[k]) < keep_below;
          mp[i] = keep ? m1 : m0;
          if (op) op[i] = xp[i] * (keep ? m1 : m0) + (keep ? s1 : s0);
        }
      }
    });
  });
}

Tensor dropout_impl(const Tensor& x, double p, bool train, bool alpha, Generator* gen) {
  check_dropout_args(x, p);
  if (p == 0.0 || !train || x.numel() == 0) return x;
  DropoutPlan plan = dropout_plan(p, alpha);
  Tensor xc = contiguous(detach(x));
  Tensor out = empty(x.sizes(), x.dtype()), mult = empty(x.sizes(), x.dtype());
  dropout_kernel(xc, out, mult, p, plan, gen);
  if (any_requires_grad({&x}))
    record_function(alpha && p < 1.0 ? "AddBackward0" : "MulBackward0", {x}, {&out},
                    [](const GradList& g, FunctionNode& self) { return GradList{g[0] * self.saved(0)}; },
                    {{mult, false}});
  return out;
}

// In place: x * mult (+ shift) through the in-place ops, which do the autograd bookkeeping.
Tensor& dropout_inplace_impl(Tensor& x, double p, bool train, bool alpha, Generator* gen) {
  check_dropout_args(x, p);
  if (p == 0.0 || !train || x.numel() == 0) return x;
  check_inplace(x);
  DropoutPlan plan = dropout_plan(p, alpha);
  Tensor mult = empty(x.sizes(), x.dtype());
  dropout_kernel(contiguous(detach(x)), Tensor(), mult, p, plan, gen);
  mul_(x, mult);
  if (alpha && p < 1.0) {
    Tensor shift;
    {
      NoGradGuard ng;
      Tensor kept = eq(mult, wrapped_scalar(plan.mult[1]));
      shift = where(kept, full({}, Scalar(plan.shift[1]), x.dtype()), full({}, Scalar(plan.shift[0]), x.dtype()));
    }
    add_(x, shift);
  }
  return x;
}

// Channel-wise (feature) dropout, as torch's _dropout_impl: one multiplier (and, for alpha, one
// shift) per (n, c), broadcast over the remaining dims: out = x * mult (+ shift), through the
// public ops, which record MulBackward0 / AddBackward0 and do the in-place bookkeeping.
Tensor feature_dropout_impl(Tensor x, double p, bool train, bool alpha, bool inplace, Generator* gen) {
  check_dropout_args(x, p);
  if (p == 0.0 || !train || x.numel() == 0) return x;
  if (p == 1.0) {
    Tensor zero = zeros({}, x.dtype());
    return inplace ? mul_(x, zero) : mul(x, zero);
  }
  if (x.dim() < 2) throw Error("Feature dropout requires at least 2 dimensions in the input");
  Shape noise_shape(static_cast<size_t>(x.dim()), 1);
  noise_shape[0] = x.size(0);
  noise_shape[1] = x.size(1);
  DropoutPlan plan = dropout_plan(p, alpha);
  Tensor mult = empty(noise_shape, x.dtype()), shift;
  dropout_kernel(mult, Tensor(), mult, p, plan, gen);
  if (alpha) {
    NoGradGuard ng;
    Tensor kept = ne(mult, wrapped_scalar(0.0));
    shift = where(kept, full({}, Scalar(plan.shift[1]), x.dtype()), full({}, Scalar(plan.shift[0]), x.dtype()));
  }
  if (inplace) {
    check_inplace(x);
    mul_(x, mult);
    return alpha ? add_(x, shift) : x;
  }
  return alpha ? add(mul(x, mult), shift) : mul(x, mult);
}

}  // namespace

Tensor feature_dropout(const Tensor& x, double p, bool train, Generator* gen) {
  return feature_dropout_impl(x, p, train, false, false, gen);
}
Tensor& feature_dropout_(Tensor& x, double p, bool train, Generator* gen) {
  feature_dropout_impl(x, p, train, false, true, gen);
  return x;
}
Tensor feature_alpha_dropout(const Tensor& x, double p, bool train, Generator* gen) {
  return feature_dropout_impl(x, p, train, true, false, gen);
}
Tensor& feature_alpha_dropout_(Tensor& x, double p, bool train, Generator* gen) {
  feature_dropout_impl(x, p, train, true, true, gen);
  return x;
}

Tensor dropout(const Tensor& x, double p, bool train, Generator* gen) { return dropout_impl(x, p, train, false, gen); }
Tensor& dropout_(Tensor& x, double p, bool train, Generator* gen) { return dropout_inplace_impl(x, p, train, false, gen); }
Tensor alpha_dropout(const Tensor& x, double p, bool train, Generator* gen) {
  return dropout_impl(x, p, train, true, gen);
}
Tensor& alpha_dropout_(Tensor& x, double p, bool train, Generator* gen) {
  return dropout_inplace_impl(x, p, train, true, gen);
}

}  // namespace ember

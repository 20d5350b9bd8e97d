// Tensor creation: full/zeros/ones, arange, linspace, logspace, eye.
#include <cmath>
#include <limits>
#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "ember/ops.h"

namespace ember {

Tensor full(const Shape& sizes, const Scalar& v, DType dtype) {
  Tensor t = empty(sizes, dtype);
  NoGradGuard ng;
  fill_(t, v);
  return t;
}

Tensor zeros(const Shape& sizes, DType dtype) {
  for (auto s : sizes) EMBER_CHECK(s >= 0, "zeros: Dimension size must be non-negative.");
  return full(sizes, Scalar(int64_t(0)), dtype);
}
Tensor ones(const Shape& sizes, DType dtype) { return full(sizes, Scalar(int64_t(1)), dtype); }
Tensor zeros_like(const Tensor& x) { return zeros(x.sizes(), x.dtype()); }
Tensor ones_like(const Tensor& x) { return ones(x.sizes(), x.dtype()); }
Tensor full_like(const Tensor& x, const Scalar& v, std::optional<DType> dtype) {
  return full(x.sizes(), v, dtype.value_or(x.dtype()));
}
Tensor empty_like(const Tensor& x, std::optional<DType> dtype) { return empty(x.sizes(), dtype.value_or(x.dtype())); }

// out[i] = value(i) for a 1-d contiguous tensor, in parallel (every element is independent).
template <typename T, typename F>
static void fill_indexed(Tensor& out, const F& value) {
  T* o = out.data<T>();
  parallel_for(0, out.numel(), kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = value(i);
  });
}

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype) {
  if (dtype == DType::Bool) throw NotImplementedError("\"arange_cpu\" not implemented for 'Bool'");
  return dispatch_numeric(dtype, [&](auto tag) {
    using T = decltype(tag);
    // torch computes in the accumulation type: int64 for int64 results, double otherwise.
    using Acc = std::conditional_t<std::is_same_v<T, int64_t>, int64_t, double>;
    Acc xstart = start.to<Acc>(), xend = end.to<Acc>(), xstep = step.to<Acc>();
    EMBER_CHECK(xstep > 0 || xstep < 0, "step must be nonzero");
    EMBER_CHECK(std::isfinite(static_cast<double>(xstart)) && std::isfinite(static_cast<double>(xend)),
                "unsupported range: ", start.to<double>(), " -> ", end.to<double>());
    EMBER_CHECK((xstep > 0 && xend >= xstart) || (xstep < 0 && xend <= xstart),
                "upper bound and lower bound inconsistent with step sign");
    double size_d;
    if constexpr (std::is_same_v<T, int64_t>) {
      int64_t sgn = (xstep > 0) - (xstep < 0);
      size_d = static_cast<double>((xend - xstart + xstep - sgn) / xstep);
    } else {
      size_d = std::ceil((end.to<double>() - start.to<double>()) / step.to<double>());
    }
    EMBER_CHECK(size_d >= 0 && size_d <= static_cast<double>(std::numeric_limits<int64_t>::max()),
                "invalid size, possible overflow?");
    Tensor out = empty({static_cast<int64_t>(size_d)}, dtype);
    fill_indexed<T>(out, [=](int64_t i) { return static_cast<T>(xstart + xstep * static_cast<Acc>(i)); });
    return out;
  });
}

// The values of linspace in T's step type; half the points count from `start` and half back
// from `end`, so both ends are exact (torch's formula).
template <typename T, typename F>
static void linspace_kernel(Tensor& out, const Scalar& start, const Scalar& end, int64_t steps, const F& map) {
  using Step = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  const Step s0 = static_cast<Step>(start.to<T>()), s1 = static_cast<Step>(end.to<T>());
  const Step step = steps > 1 ? (s1 - s0) / static_cast<Step>(steps - 1) : Step(0);
  const int64_t halfway = steps == 1 ? 1 : steps / 2;  // a single point is `start`
  fill_indexed<T>(out, [=](int64_t i) {
    Step v = i < halfway ? s0 + step * static_cast<Step>(i) : s1 - step * static_cast<Step>(steps - i - 1);
    return map(v);
  });
}

Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, DType dtype) {
  EMBER_CHECK(steps >= 0, "number of steps must be non-negative");
  Tensor out = empty({steps}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    linspace_kernel<T>(out, start, end, steps, [](auto v) { return static_cast<T>(v); });
  });
  return out;
}

Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base, DType dtype) {
  EMBER_CHECK(steps >= 0, "number of steps must be non-negative");
  Tensor out = empty({steps}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    linspace_kernel<T>(out, start, end, steps, [base](auto v) {
      return static_cast<T>(std::pow(static_cast<decltype(v)>(base), v));
    });
  });
  return out;
}

Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype) {
  EMBER_CHECK(n >= 0, "n must be greater or equal to 0, got ", n);
  int64_t cols = m.value_or(n);
  EMBER_CHECK(cols >= 0, "m must be greater or equal to 0, got ", cols);
  Tensor out = zeros({n, cols}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    for (int64_t i = 0, d = std::min(n, cols); i < d; ++i) o[i * cols + i] = T(1);
  });
  return out;
}

}  // namespace ember

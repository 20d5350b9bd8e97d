// Reductions, scans and softmax, forward and backward side by side.
//
// Forward kernels run over a ReducePlan ([outer, R, inner], see reduce_plan.h) or a
// SliceGeometry for single-dim ops (scans, softmax). Each output is folded by one thread in
// index order (sum additionally in fixed-size chunks), so results are bitwise identical for any
// thread count. Backward formulas use public ops so that they are differentiable again; the
// masks they multiply by (ties of amax, the chosen index of max, signs) are constants.
#include <cmath>
#include <limits>
#include <string>
#include <Eigen/Core>
#include "reduce_plan.h"
#include "elementwise_kernels.h"

namespace ember {

namespace {

template <typename T>
using ArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using MutArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

bool has_dims(const OptDims& dims) { return dims && !dims->empty(); }

// Gradient of a reduction: g (shaped like the output) broadcast back over the reduced dims.
Tensor expand_reduced_grad(const Tensor& g, const Shape& keepdim_shape, const Shape& in_shape) {
  return expand(g.sizes() == keepdim_shape ? g : reshape(g, keepdim_shape), in_shape);
}

int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) n *= x.sizes()[d];
  return n;
}

// Ops without an identity (max, argmax, ...) reject empty reductions, with torch's messages.
void check_nonempty_reduction(const Tensor& x, const OptDims& dims, const std::vector<bool>& mask, const char* op,
                              bool index_error_for_all = false) {
  if (!has_dims(dims)) {
    if (x.numel() != 0) return;
    std::string msg = str_cat(op, "(): Expected reduction dim to be specified for input.numel() == 0.");
    if (index_error_for_all) throw IndexError(msg);
    throw Error(msg + " Specify the reduction dim with the 'dim' argument.");
  }
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d] && x.sizes()[d] == 0)
      throw IndexError(str_cat(op, "(): Expected reduction dim ", d, " to have non-zero size."));
}

// Autograd cannot flow into an integer result.
void check_grad_dtype(const Tensor& x, DType out) {
  if (!is_floating(out) && any_requires_grad({&x}))
    throw Error(str_cat("Autograd not support dtype: ", scalar_type_name(out)));
}

template <typename T>
bool is_nan(T v) { return v != v; }  // false for integers

// 1 where x equals ref (broadcast), else 0, in x's dtype: the ties of an amax/amin.
Tensor equal_mask(const Tensor& x, const Tensor& ref) {
  NoGradGuard ng;
  return binary_kernel(x, ref, x.dtype(), x.dtype(), [](auto tag) {
    using T = decltype(tag);
    return [](T a, T b) { return static_cast<T>(a == b ? 1 : 0); };
  });
}

// A constant tensor of x's shape and dtype computed elementwise from x.
template <typename F>
Tensor map_constant(const Tensor& x, const F& f) {
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(f(v)); });
  });
  return out;
}

Tensor sign_constant(const Tensor& x) {
  return map_constant(x, [](auto v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); });
}

// Zeros of `shape` with a 1 at indices[o, i] along `dim` of every slice (the chosen max/min).
Tensor index_mask(const Shape& shape, int64_t dim, const Tensor& indices, DType dtype) {
  Tensor out = zeros(shape, dtype);
  if (shape.empty()) return ones(shape, dtype);
  SliceGeometry g = slice_geometry(shape, dim);
  Tensor idx = contiguous(indices);
  const int64_t* ip = idx.data<int64_t>();
  dispatch_floating(dtype, "max", [&](auto tag) {
    using T = decltype(tag);
    T* op = out.data<T>();
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t i = 0; i < g.inner; ++i) op[(o * g.size + ip[o * g.inner + i]) * g.inner + i] = T(1);
  });
  return out;
}

// Reductions over a plan that fold with `step` from `init` and write `finish(acc)`.
template <typename T, typename A, typename O, typename Step, typename Finish>
Tensor fold(const Tensor& x, const OptDims& dims, bool keepdim, DType out_dtype, A init, const Step& step,
            const Finish& finish, ReducePlan* plan_out = nullptr) {
  ReducePlan p = plan_reduction(x, dims, keepdim);
  Tensor out = empty(p.out_shape, out_dtype);
  reduce_kernel<T, A, O>(p, out.data<O>(), init, step, finish);
  if (plan_out) *plan_out = std::move(p);
  return out;
}

}  // namespace

// ---- sum / mean ------------------------------------------------------------------------------
// Sums each [o, :, i] column of the plan into out (dtype T): long contiguous rows in fixed
// chunks of partial sums combined in order; strided columns as whole rows added with Eigen.
template <typename T>
static void sum_plan(const ReducePlan& p, T* out) {
  const T* in = p.input.data<T>();
  int64_t R = p.reduced, I = p.inner;
  if (I == 1) {
    constexpr int64_t kChunk = 16384;  // fixed: partial sums never depend on the thread count
    int64_t nch = std::max<int64_t>(1, (R + kChunk - 1) / kChunk);
    std::vector<T> partial(static_cast<size_t>(p.outer * nch));
    parallel_for(0, p.outer * nch, std::max<int64_t>(1, kGrainSize / std::min<int64_t>(std::max<int64_t>(R, 1), kChunk)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t idx = b; idx < e; ++idx) {
                     int64_t o = idx / nch, c = idx % nch;
                     int64_t len = std::min(kChunk, R - c * kChunk);
                     partial[idx] = len > 0 ? ArrayMap<T>(in + o * R + c * kChunk, len).sum() : T(0);
                   }
                 });
    for (int64_t o = 0; o < p.outer; ++o) {
      T acc = partial[o * nch];
      for (int64_t c = 1; c < nch; ++c) acc += partial[o * nch + c];
      out[o] = acc;
    }
    return;
  }
  for_each_segment(p.outer, I, R, [&](int64_t o, int64_t i0, int64_t n) {
    MutArrayMap<T> acc(out + o * I + i0, n);
    acc.setZero();
    const T* base = in + o * R * I + i0;
    for (int64_t r = 0; r < R; ++r) acc += ArrayMap<T>(base + r * I, n);
  });
}

Tensor sum(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype) {
  DType out_dt = dtype ? *dtype : (is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  check_grad_dtype(x, out_dt);
  if (out_dt == DType::Bool) return any(to_dtype(x, DType::Bool), dims, keepdim);
  Tensor xin = cast_nograd(x, out_dt);
  ReducePlan p = plan_reduction(xin, dims, keepdim);
  Tensor out = empty(p.out_shape, out_dt);
  dispatch_numeric(out_dt, [&](auto tag) { sum_plan<decltype(tag)>(p, out.data<decltype(tag)>()); });
  if (any_requires_grad({&x}))
    record_function(dims ? "SumBackward1" : "SumBackward0", {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x)](const GradList& g, FunctionNode&) {
                      return GradList{in.reduce(expand_reduced_grad(g[0], ks, in.shape))};
                    });
  return out;
}

Tensor mean(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype) {
  if (dtype && !is_floating(*dtype))
    throw Error(str_cat("mean(): could not infer output dtype. Optional dtype must be either a floating point or "
                        "complex dtype. Got: ", scalar_type_name(*dtype)));
  if (!dtype && !is_floating(x.dtype()))
    throw Error(str_cat("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                        "complex dtype. Got: ", scalar_type_name(x.dtype())));
  auto mask = reduced_dims_mask(x, dims);
  int64_t count = reduced_count(x, mask);
  Tensor s;
  {
    NoGradGuard ng;
    s = sum(cast_nograd(x, dtype ? *dtype : x.dtype()), dims, keepdim);
    s = div(s, wrapped_scalar(static_cast<double>(count)));
  }
  if (any_requires_grad({&x})) {
    Shape ks;
    for (int64_t d = 0; d < x.dim(); ++d) ks.push_back(mask[d] ? 1 : x.sizes()[d]);
    record_function(dims ? "MeanBackward1" : "MeanBackward0", {x}, {&s},
                    [ks, in = InputMeta(x), count](const GradList& g, FunctionNode&) {
                      return GradList{in.reduce(expand_reduced_grad(g[0] / static_cast<double>(count), ks, in.shape))};
                    });
  }
  return s;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.sizes() == shape) return x;
  int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  EMBER_CHECK(lead >= 0, "sum_to: ", shape_str(x.sizes()), " cannot be summed to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < lead; ++d) dims.push_back(d);
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t xs = x.sizes()[lead + i];
    if (shape[i] == 1 && xs != 1) dims.push_back(lead + static_cast<int64_t>(i));
    else EMBER_CHECK(shape[i] == xs, "sum_to: ", shape_str(x.sizes()), " cannot be summed to ", shape_str(shape));
  }
  if (dims.empty()) return reshape(x, shape);
  return reshape(sum(x, dims, true), shape);
}

// ---- prod ------------------------------------------------------------------------------------
// For each element, the product of the other elements of its slice along `dim` (all of x when
// nullopt), from prefix and suffix products: the gradient of prod when x holds zeros.
static Tensor prod_of_others(const Tensor& x, std::optional<int64_t> dim) {
  Tensor xc = contiguous(x), out = empty(x.sizes(), x.dtype());
  SliceGeometry g = slice_geometry(x.sizes(), dim);
  dispatch_floating(x.dtype(), "prod", [&](auto tag) {
    using T = decltype(tag);
    const T* in = xc.data<T>();
    T* op = out.data<T>();
    int64_t L = g.size, I = g.inner;
    for_each_segment(g.outer, I, 2 * L, [&](int64_t o, int64_t i0, int64_t n) {
      for (int64_t i = i0; i < i0 + n; ++i) {
        const T* s = in + o * L * I + i;
        T* d = op + o * L * I + i;
        T acc = 1;
        for (int64_t r = 0; r < L; ++r) { d[r * I] = acc; acc *= s[r * I]; }
        acc = 1;
        for (int64_t r = L - 1; r >= 0; --r) { d[r * I] *= acc; acc *= s[r * I]; }
      }
    });
  });
  return out;
}

static bool contains_zero(const Tensor& x) {
  bool found = false;
  dispatch_floating(x.dtype(), "prod", [&](auto tag) {
    using T = decltype(tag);
    Tensor xc = contiguous(x);
    found = (ArrayMap<T>(xc.data<T>(), xc.numel()) == T(0)).any();
  });
  return found;
}

Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim, std::optional<DType> dtype) {
  DType out_dt = dtype ? *dtype : (is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  check_grad_dtype(x, out_dt);
  Tensor xin = cast_nograd(x, out_dt);
  if (dim) *dim = wrap_dim(*dim, x.dim());
  OptDims dims = dim ? OptDims(std::vector<int64_t>{*dim}) : std::nullopt;
  ReducePlan p;
  Tensor out = dispatch_all(out_dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>)
      return fold<T, bool, T>(xin, dims, keepdim, out_dt, true, [](bool a, bool v, int64_t) { return a && v; },
                              [](bool a) { return a; }, &p);
    else
      return fold<T, T, T>(xin, dims, keepdim, out_dt, T(1), [](T a, T v, int64_t) { return static_cast<T>(a * v); },
                           [](T a) { return a; }, &p);
  });
  if (any_requires_grad({&x})) {
    if (x.dim() == 0) dim = std::nullopt;
    record_function(dim ? "ProdBackward1" : "ProdBackward0", {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x), dim](const GradList& g, FunctionNode& self) {
                      Tensor result = self.saved(1), xv = to_dtype(self.saved(0), result.dtype());
                      Tensor ge = expand_reduced_grad(g[0], ks, in.shape);
                      if (!contains_zero(xv))
                        return GradList{in.reduce(ge * expand_reduced_grad(result, ks, in.shape) / xv)};
                      if (grad_enabled())
                        throw NotImplementedError("double backward of prod over an input containing zeros is not "
                                                  "implemented");
                      return GradList{in.reduce(ge * prod_of_others(xv, dim))};
                    },
                    {{x, false}, {out, true}});
  }
  return out;
}

// ---- amax / amin / max / min -----------------------------------------------------------------
// Max and min share every kernel; `better` says whether a value beats the current extreme.
struct TakeMax {
  template <typename T> static bool better(T v, T cur) { return v > cur; }
  template <typename T> static T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  static constexpr const char* name = "max";
  static constexpr const char* arg_name = "argmax";
  static constexpr const char* dim_node = "MaxBackward0";
};
struct TakeMin {
  template <typename T> static bool better(T v, T cur) { return v < cur; }
  template <typename T> static T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  static constexpr const char* name = "min";
  static constexpr const char* arg_name = "argmin";
  static constexpr const char* dim_node = "MinBackward0";
};

// NaN wins (and stays); otherwise the strictly better value, so ties keep the first.
template <typename Cmp, typename T>
static bool replaces(T v, T cur) { return !is_nan(cur) && (is_nan(v) || Cmp::template better<T>(v, cur)); }

template <typename Cmp>
static Tensor extreme_values(const Tensor& x, const OptDims& dims, bool keepdim, const char* op, const char* node) {
  auto mask = reduced_dims_mask(x, dims);
  check_nonempty_reduction(x, dims, mask, op);
  ReducePlan p;
  Tensor out = dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return fold<T, T, T>(x, dims, keepdim, x.dtype(), Cmp::template identity<T>(),
                         [](T a, T v, int64_t) { return replaces<Cmp>(v, a) ? v : a; }, [](T a) { return a; }, &p);
  });
  if (any_requires_grad({&x}))
    // The gradient is shared evenly among the elements equal to the result.
    record_function(node, {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x), dims](const GradList& g, FunctionNode& self) {
                      Tensor xv = self.saved(0), result = self.saved(1);
                      Tensor ties = equal_mask(xv, reshape(detach(result), ks));
                      Tensor share;
                      {
                        NoGradGuard ng;
                        share = div(ties, sum(ties, dims, true));
                      }
                      return GradList{expand_reduced_grad(g[0], ks, in.shape) * share};
                    },
                    {{x, false}, {out, true}});
  return out;
}

Tensor amax(const Tensor& x, const OptDims& dims, bool keepdim) {
  return extreme_values<TakeMax>(x, dims, keepdim, "amax", "AmaxBackward0");
}
Tensor amin(const Tensor& x, const OptDims& dims, bool keepdim) {
  return extreme_values<TakeMin>(x, dims, keepdim, "amin", "AminBackward0");
}
Tensor max(const Tensor& x) { return extreme_values<TakeMax>(x, std::nullopt, false, "max", "MaxBackward1"); }
Tensor min(const Tensor& x) { return extreme_values<TakeMin>(x, std::nullopt, false, "min", "MinBackward1"); }

// Values and first indices of the extremes along one dim (indices only when values is null).
template <typename Cmp>
static void extreme_along(const Tensor& x, int64_t dim, bool keepdim, Tensor* values, Tensor& indices,
                          ReducePlan& p) {
  OptDims dims = std::vector<int64_t>{dim};
  p = plan_reduction(x, dims, keepdim);
  indices = empty(p.out_shape, DType::Int64);
  if (values) *values = empty(p.out_shape, x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    struct Best { T v; int64_t i; };
    std::vector<Best> best(static_cast<size_t>(p.outer * p.inner));
    reduce_kernel<T, Best, Best>(p, best.data(), Best{Cmp::template identity<T>(), 0},
                                 [](Best a, T v, int64_t r) { return replaces<Cmp>(v, a.v) ? Best{v, r} : a; },
                                 [](Best a) { return a; });
    int64_t* ip = indices.data<int64_t>();
    T* vp = values ? values->data<T>() : nullptr;
    for (size_t k = 0; k < best.size(); ++k) {
      ip[k] = best[k].i;
      if (vp) vp[k] = best[k].v;
    }
  });
}

template <typename Cmp>
static std::pair<Tensor, Tensor> extreme_dim(const Tensor& x, int64_t dim, bool keepdim) {
  dim = wrap_dim(dim, x.dim());
  OptDims dims = std::vector<int64_t>{dim};
  check_nonempty_reduction(x, dims, reduced_dims_mask(x, dims), Cmp::name);
  Tensor values, indices;
  ReducePlan p;
  extreme_along<Cmp>(x, dim, keepdim, &values, indices, p);
  if (any_requires_grad({&x}))
    // The gradient goes to the chosen index only.
    record_function(Cmp::dim_node, {x}, {&values},
                    [ks = p.keepdim_shape, in = InputMeta(x), dim, idx = reshape(indices, p.keepdim_shape)](
                        const GradList& g, FunctionNode&) {
                      Tensor chosen = index_mask(in.shape, dim, idx, g[0].dtype());
                      return GradList{expand_reduced_grad(g[0], ks, in.shape) * chosen};
                    });
  return {values, indices};
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim<TakeMax>(x, dim, keepdim); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim<TakeMin>(x, dim, keepdim); }

template <typename Cmp>
static Tensor arg_extreme(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  if (x.dtype() == DType::Bool) throw Error(str_cat(Cmp::arg_name, "(): does not support bool input"));
  Tensor src = x;
  if (dim) {
    *dim = wrap_dim(*dim, x.dim());
    OptDims dims = std::vector<int64_t>{*dim};
    check_nonempty_reduction(x, dims, reduced_dims_mask(x, dims), Cmp::arg_name);
  } else {
    check_nonempty_reduction(x, std::nullopt, {}, Cmp::arg_name, true);
    src = reshape(detach(x), {x.numel()});
  }
  Tensor indices;
  ReducePlan p;
  extreme_along<Cmp>(detach(src), dim ? *dim : 0, dim ? keepdim : false, nullptr, indices, p);
  if (!dim && keepdim) indices = reshape(indices, Shape(static_cast<size_t>(x.dim()), 1));
  return indices;
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_extreme<TakeMax>(x, dim, keepdim); }
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_extreme<TakeMin>(x, dim, keepdim); }

// ---- all / any -------------------------------------------------------------------------------
template <bool kAll>
static Tensor truth_reduction(const Tensor& x, const OptDims& dims, bool keepdim) {
  DType out_dt = x.dtype() == DType::UInt8 ? DType::UInt8 : DType::Bool;  // uint8 kept for compatibility
  return dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto step = [](bool a, T v, int64_t) { return kAll ? (a && v != T(0)) : (a || v != T(0)); };
    if (out_dt == DType::UInt8)
      return fold<T, bool, uint8_t>(detach(x), dims, keepdim, out_dt, kAll, step, [](bool a) { return uint8_t(a); });
    return fold<T, bool, bool>(detach(x), dims, keepdim, out_dt, kAll, step, [](bool a) { return a; });
  });
}

Tensor all(const Tensor& x, const OptDims& dims, bool keepdim) { return truth_reduction<true>(x, dims, keepdim); }
Tensor any(const Tensor& x, const OptDims& dims, bool keepdim) { return truth_reduction<false>(x, dims, keepdim); }

// ---- var / std -------------------------------------------------------------------------------
// Two passes per output column (mean, then squared deviations), accumulated in double.
static Tensor variance_kernel(const Tensor& x, const OptDims& dims, double correction, bool keepdim, bool take_sqrt,
                              ReducePlan& p) {
  p = plan_reduction(x, dims, keepdim);
  Tensor out = empty(p.out_shape, x.dtype());
  dispatch_floating(x.dtype(), "var", [&](auto tag) {
    using T = decltype(tag);
    const T* in = p.input.data<T>();
    T* op = out.data<T>();
    int64_t R = p.reduced, I = p.inner;
    double denom = std::max(0.0, static_cast<double>(R) - correction);
    auto finish = [&](double m2) {
      double v = m2 / denom;
      return static_cast<T>(take_sqrt ? std::sqrt(v) : v);
    };
    for_each_segment(p.outer, I, 2 * R, [&](int64_t o, int64_t i0, int64_t n) {
      const T* base = in + o * R * I + i0;
      if (I == 1) {
        auto row = ArrayMap<T>(base, R).template cast<double>();
        double mu = row.sum() / static_cast<double>(R);
        op[o] = finish((row - mu).square().sum());
        return;
      }
      std::vector<double> mu(static_cast<size_t>(n), 0.0), m2(static_cast<size_t>(n), 0.0);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < n; ++k) mu[k] += base[r * I + k];
      for (int64_t k = 0; k < n; ++k) mu[k] /= static_cast<double>(R);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < n; ++k) {
          double d = base[r * I + k] - mu[k];
          m2[k] += d * d;
        }
      for (int64_t k = 0; k < n; ++k) op[o * I + i0 + k] = finish(m2[k]);
    });
  });
  return out;
}

static void check_var_dtype(const Tensor& x) {
  if (!is_floating(x.dtype())) throw Error("std and var only support floating point and complex dtypes");
}

// d var / dx = 2 (x - mean) / (N - correction), times the incoming gradient.
static Tensor var_backward(const Tensor& g_expanded, const Tensor& x, const OptDims& dims, double denom) {
  return g_expanded * (x - mean(x, dims, true)) * (2.0 / denom);
}

static Tensor var_or_std(const Tensor& x, const OptDims& dims, double correction, bool keepdim, bool take_sqrt) {
  check_var_dtype(x);
  ReducePlan p;
  Tensor out = variance_kernel(x, dims, correction, keepdim, take_sqrt, p);
  if (any_requires_grad({&x})) {
    double denom = std::max(0.0, static_cast<double>(p.reduced) - correction);
    record_function(take_sqrt ? "StdBackward0" : "VarBackward0", {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x), dims, denom, take_sqrt](const GradList& g,
                                                                                      FunctionNode& self) {
                      Tensor xv = self.saved(0);
                      Tensor gv = g[0];
                      if (take_sqrt) gv = gv / (self.saved(1) * 2.0);  // d std = d var / (2 std)
                      return GradList{var_backward(expand_reduced_grad(gv, ks, in.shape), xv, dims, denom)};
                    },
                    {{x, false}, {take_sqrt ? out : Tensor(), true}});
  }
  return out;
}

Tensor var(const Tensor& x, const OptDims& dims, double correction, bool keepdim) {
  return var_or_std(x, dims, correction, keepdim, false);
}
Tensor stddev(const Tensor& x, const OptDims& dims, double correction, bool keepdim) {
  return var_or_std(x, dims, correction, keepdim, true);
}
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const OptDims& dims, double correction, bool keepdim) {
  check_var_dtype(x);
  return {var(x, dims, correction, keepdim), mean(x, dims, keepdim)};
}
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const OptDims& dims, double correction, bool keepdim) {
  check_var_dtype(x);
  return {stddev(x, dims, correction, keepdim), mean(x, dims, keepdim)};
}

// ---- norm ------------------------------------------------------------------------------------
Tensor norm(const Tensor& x, double p, const OptDims& dims, bool keepdim, std::optional<DType> dtype) {
  if (!is_floating(x.dtype()))
    throw Error(str_cat("linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
                        scalar_type_name(x.dtype())));
  if (dtype && !is_floating(*dtype))
    throw Error(str_cat("linalg.vector_norm: dtype should be floating point or complex. Got ",
                        scalar_type_name(*dtype)));
  Tensor xin = cast_nograd(x, dtype ? *dtype : x.dtype());
  auto mask = reduced_dims_mask(x, dims);
  bool is_inf = std::isinf(p);
  if (is_inf && reduced_count(x, mask) == 0) {
    // +-inf norms have no identity: an empty reduction is an error unless there is no output
    bool no_output = false;
    for (int64_t d = 0; d < x.dim(); ++d) no_output |= !mask[d] && x.sizes()[d] == 0;
    if (!no_output)
      throw Error(str_cat("linalg.vector_norm cannot compute the ", p > 0 ? "inf" : "-inf",
                          " norm on an empty tensor because the operation does not have an identity"));
  }
  ReducePlan plan;
  Tensor out = dispatch_floating(xin.dtype(), "norm", [&](auto tag) {
    using T = decltype(tag);
    DType dt = xin.dtype();
    auto id = [](T a) { return a; };
    if (p == 2)
      return fold<T, T, T>(xin, dims, keepdim, dt, T(0), [](T a, T v, int64_t) { return a + v * v; },
                           [](T a) { return std::sqrt(a); }, &plan);
    if (p == 1)
      return fold<T, T, T>(xin, dims, keepdim, dt, T(0), [](T a, T v, int64_t) { return a + std::abs(v); }, id,
                           &plan);
    if (p == 0)
      return fold<T, T, T>(xin, dims, keepdim, dt, T(0), [](T a, T v, int64_t) { return a + T(v != T(0)); }, id,
                           &plan);
    if (is_inf && p > 0)
      return fold<T, T, T>(xin, dims, keepdim, dt, T(0),
                           [](T a, T v, int64_t) { T m = std::abs(v); return replaces<TakeMax>(m, a) ? m : a; }, id,
                           &plan);
    if (is_inf)
      return fold<T, T, T>(xin, dims, keepdim, dt, std::numeric_limits<T>::infinity(),
                           [](T a, T v, int64_t) { T m = std::abs(v); return replaces<TakeMin>(m, a) ? m : a; }, id,
                           &plan);
    T pt = static_cast<T>(p);
    return fold<T, T, T>(xin, dims, keepdim, dt, T(0), [pt](T a, T v, int64_t) { return a + std::pow(std::abs(v), pt); },
                         [pt](T a) { return std::pow(a, T(1) / pt); }, &plan);
  });
  if (any_requires_grad({&x}))
    record_function("LinalgVectorNormBackward0", {x}, {&out},
                    [ks = plan.keepdim_shape, in = InputMeta(x), dims, p, is_inf](const GradList& g,
                                                                                   FunctionNode& self) {
                      Tensor result = reshape(self.saved(1), ks), xv = to_dtype(self.saved(0), result.dtype());
                      Tensor ge = expand_reduced_grad(g[0], ks, in.shape);
                      if (p == 0) return GradList{in.reduce(ge * zeros_like(xv))};
                      if (p == 1) return GradList{in.reduce(ge * sign_constant(xv))};
                      if (is_inf) {
                        // Like amax of |x|: shared evenly among the elements attaining the norm.
                        Tensor share;
                        {
                          NoGradGuard ng;
                          Tensor ties = equal_mask(map_constant(xv, [](auto v) { return std::abs(v); }), detach(result));
                          share = div(ties * sign_constant(xv), sum(ties, dims, true));
                        }
                        return GradList{in.reduce(ge * share)};
                      }
                      // A zero norm has a zero gradient, as in torch: divide by 1 there and mask.
                      Tensor zero = map_constant(detach(result), [](auto v) { return v == 0 ? 1 : 0; });
                      Tensor nonzero = 1.0 - zero;
                      if (p == 2) return GradList{in.reduce(xv * (ge / (result + zero) * nonzero))};
                      if (grad_enabled())
                        throw NotImplementedError(str_cat("double backward of the ", p, "-norm is not implemented"));
                      Tensor scale = map_constant(xv, [p](auto v) {
                        using T = decltype(v);
                        return v == T(0) ? T(0) : static_cast<T>(v * std::pow(std::abs(v), p - 2));
                      });
                      Tensor denom = map_constant(detach(result), [p](auto v) { return std::pow(v, p - 1); });
                      return GradList{in.reduce(ge * scale / (expand(denom + zero, in.shape)) * nonzero)};
                    },
                    {{x, false}, {out, true}});
  return out;
}

// ---- logsumexp -------------------------------------------------------------------------------
Tensor logsumexp(const Tensor& x, const OptDims& dims, bool keepdim) {
  Tensor xin = cast_nograd(x, float_result(x));
  ReducePlan p = plan_reduction(xin, dims, keepdim);
  Tensor out = empty(p.out_shape, xin.dtype());
  dispatch_floating(xin.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    const T* in = p.input.data<T>();
    T* op = out.data<T>();
    int64_t R = p.reduced, I = p.inner;
    for_each_segment(p.outer, I, 3 * R, [&](int64_t o, int64_t i0, int64_t n) {
      const T* base = in + o * R * I + i0;
      for (int64_t k = 0; k < n; ++k) {
        // max first; an infinite max is left out of the shift (as torch), so inf stays inf and
        // an all -inf column gives -inf
        T m = TakeMax::identity<T>();
        for (int64_t r = 0; r < R; ++r) m = replaces<TakeMax>(base[r * I + k], m) ? base[r * I + k] : m;
        if (std::isinf(m)) m = 0;
        T s = 0;
        if (I == 1) s = (ArrayMap<T>(base, R) - m).exp().sum();
        else for (int64_t r = 0; r < R; ++r) s += std::exp(base[r * I + k] - m);
        op[o * I + i0 + k] = std::log(s) + m;
      }
    });
  });
  if (any_requires_grad({&x}))
    record_function("LogsumexpBackward0", {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x)](const GradList& g, FunctionNode& self) {
                      Tensor xv = self.saved(0), result = reshape(self.saved(1), ks);
                      return GradList{in.reduce(expand_reduced_grad(g[0], ks, in.shape) * exp(xv - result))};
                    },
                    {{x, false}, {out, true}});
  return out;
}

// ---- cumsum / cumprod ------------------------------------------------------------------------
// Inclusive scan along dim of a contiguous input into out (same layout), forward or reversed.
// Floats accumulate in double as torch's CPU kernels do.
template <typename T, typename Op>
static void scan_kernel(const Tensor& in_c, Tensor& out, int64_t dim, bool reverse, double init, const Op& op) {
  SliceGeometry g = slice_geometry(in_c.sizes(), in_c.dim() == 0 ? std::nullopt : std::optional<int64_t>(dim));
  using A = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const T* in = in_c.data<T>();
  T* op_ = out.data<T>();
  int64_t L = g.size, I = g.inner;
  for_each_segment(g.outer, I, L, [&](int64_t o, int64_t i0, int64_t n) {
    std::vector<A> acc(static_cast<size_t>(n), static_cast<A>(init));
    for (int64_t step = 0; step < L; ++step) {
      int64_t r = reverse ? L - 1 - step : step;
      const T* src = in + (o * L + r) * I + i0;
      T* dst = op_ + (o * L + r) * I + i0;
      for (int64_t k = 0; k < n; ++k) {
        acc[k] = op(acc[k], static_cast<A>(src[k]));
        dst[k] = static_cast<T>(acc[k]);
      }
    }
  });
}

// cumsum along dim, optionally from the end (the backward of cumsum is the reversed cumsum).
static Tensor cumsum_directed(const Tensor& x, int64_t dim, bool reverse, std::optional<DType> dtype) {
  DType out_dt = dtype ? *dtype : (is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  check_grad_dtype(x, out_dt);
  dim = wrap_dim(dim, x.dim());
  Tensor xin = contiguous(cast_nograd(detach(x), out_dt));
  Tensor out = empty(x.sizes(), out_dt);
  dispatch_all(out_dt, [&](auto tag) {
    using T = decltype(tag);
    scan_kernel<T>(xin, out, dim, reverse, 0, [](auto a, auto v) { return a + v; });
  });
  if (any_requires_grad({&x}))
    record_function("CumsumBackward0", {x}, {&out}, [dim, reverse, in = InputMeta(x)](const GradList& g, FunctionNode&) {
      return GradList{in.reduce(cumsum_directed(g[0], dim, !reverse, std::nullopt))};
    });
  return out;
}

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return cumsum_directed(x, dim, false, dtype);
}

// Gradient of cumprod along dim when slices may hold zeros: for k before the first zero z,
// sum_{j>=k} g_j out_j / x_k (later terms hold x_z = 0); at z, the running product of the
// elements before and after z weighted by g; after z, zero.
static Tensor cumprod_backward_with_zeros(const Tensor& x, const Tensor& g, int64_t dim) {
  Tensor xc = contiguous(x), gc = contiguous(g), out = zeros(x.sizes(), x.dtype());
  SliceGeometry geo = slice_geometry(x.sizes(), x.dim() == 0 ? std::nullopt : std::optional<int64_t>(dim));
  dispatch_floating(x.dtype(), "cumprod", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = xc.data<T>();
    const T* gp = gc.data<T>();
    T* op = out.data<T>();
    int64_t L = geo.size, I = geo.inner;
    for_each_segment(geo.outer, I, 3 * L, [&](int64_t o, int64_t i0, int64_t n) {
      for (int64_t i = i0; i < i0 + n; ++i) {
        auto at = [&](int64_t r) { return (o * L + r) * I + i; };
        int64_t z = 0;
        while (z < L && xp[at(z)] != T(0)) ++z;
        std::vector<T> prefix(static_cast<size_t>(L) + 1, T(1));  // prefix[r] = x_0 ... x_{r-1}
        for (int64_t r = 0; r < L; ++r) prefix[r + 1] = prefix[r] * xp[at(r)];
        T tail = 0;  // sum_{j=k}^{z-1} g_j out_j
        for (int64_t k = std::min(z, L) - 1; k >= 0; --k) {
          tail += gp[at(k)] * prefix[k + 1];
          op[at(k)] = tail / xp[at(k)];
        }
        if (z < L) {
          T run = prefix[z], acc = 0;  // product of the elements of [0, j] but z
          for (int64_t j = z; j < L; ++j) {
            if (j > z) run *= xp[at(j)];
            acc += gp[at(j)] * run;
          }
          op[at(z)] = acc;
        }
      }
    });
  });
  return out;
}

Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  DType out_dt = dtype ? *dtype : (is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  check_grad_dtype(x, out_dt);
  dim = wrap_dim(dim, x.dim());
  Tensor xin = contiguous(cast_nograd(detach(x), out_dt));
  Tensor out = empty(x.sizes(), out_dt);
  dispatch_all(out_dt, [&](auto tag) {
    using T = decltype(tag);
    scan_kernel<T>(xin, out, dim, false, 1, [](auto a, auto v) { return a * v; });
  });
  if (any_requires_grad({&x}))
    record_function("CumprodBackward0", {x}, {&out},
                    [dim, in = InputMeta(x)](const GradList& g, FunctionNode& self) {
                      Tensor result = self.saved(1), xv = to_dtype(self.saved(0), result.dtype());
                      if (!contains_zero(xv)) return GradList{in.reduce(cumsum_directed(g[0] * result, dim, true, std::nullopt) / xv)};
                      if (grad_enabled())
                        throw NotImplementedError("double backward of cumprod over an input containing zeros is not "
                                                  "implemented");
                      return GradList{in.reduce(cumprod_backward_with_zeros(xv, g[0], dim))};
                    },
                    {{x, false}, {out, true}});
  return out;
}

// ---- softmax / log_softmax -------------------------------------------------------------------
// Along dim of a contiguous [outer, L, inner] input: shift by the max, exponentiate, normalise.
template <bool kLog, typename T>
static void softmax_kernel(const T* in, T* out, const SliceGeometry& g) {
  int64_t L = g.size, I = g.inner;
  for_each_segment(g.outer, I, 3 * L, [&](int64_t o, int64_t i0, int64_t n) {
    const T* base = in + o * L * I + i0;
    T* dst = out + o * L * I + i0;
    if (I == 1) {
      ArrayMap<T> row(base, L);
      MutArrayMap<T> res(dst, L);
      T m = TakeMax::identity<T>();
      for (int64_t r = 0; r < L; ++r) m = replaces<TakeMax>(base[r], m) ? base[r] : m;
      res = (row - m).exp();
      T s = res.sum();
      if (kLog) res = (row - m) - std::log(s);  // shift first: m + log(s) would round at large m
      else res /= s;
      return;
    }
    std::vector<T> m(static_cast<size_t>(n), TakeMax::identity<T>()), s(static_cast<size_t>(n), T(0));
    for (int64_t r = 0; r < L; ++r)
      for (int64_t k = 0; k < n; ++k) m[k] = replaces<TakeMax>(base[r * I + k], m[k]) ? base[r * I + k] : m[k];
    for (int64_t r = 0; r < L; ++r)
      for (int64_t k = 0; k < n; ++k) {
        T e = std::exp(base[r * I + k] - m[k]);
        if (!kLog) dst[r * I + k] = e;
        s[k] += e;
      }
    if (kLog)
      for (int64_t k = 0; k < n; ++k) s[k] = std::log(s[k]);
    for (int64_t r = 0; r < L; ++r)
      for (int64_t k = 0; k < n; ++k)
        dst[r * I + k] = kLog ? (base[r * I + k] - m[k]) - s[k] : dst[r * I + k] / s[k];
  });
}

// Fused backward (first-order only): softmax: out * (g - sum(g * out)); log_softmax:
// g - exp(out) * sum(g), per slice, reusing the saved output instead of recomputing exp(x).
template <bool kLog, typename T>
static void softmax_backward_kernel(const T* gp, const T* outp, T* res, const SliceGeometry& geo) {
  int64_t L = geo.size, I = geo.inner;
  for_each_segment(geo.outer, I, 3 * L, [&](int64_t o, int64_t i0, int64_t n) {
    size_t off = static_cast<size_t>(o * L * I + i0);
    const T *g = gp + off, *y = outp + off;
    T* d = res + off;
    std::vector<T> acc(static_cast<size_t>(n), T(0));
    for (int64_t r = 0; r < L; ++r)
      for (int64_t k = 0; k < n; ++k) acc[k] += kLog ? g[r * I + k] : g[r * I + k] * y[r * I + k];
    for (int64_t r = 0; r < L; ++r)
      for (int64_t k = 0; k < n; ++k) {
        int64_t j = r * I + k;
        d[j] = kLog ? g[j] - std::exp(y[j]) * acc[k] : y[j] * (g[j] - acc[k]);
      }
  });
}

template <bool kLog>
static Tensor softmax_impl(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  dim = wrap_dim(dim, x.dim());
  Tensor xin = contiguous(cast_nograd(detach(x), dtype ? *dtype : x.dtype()));
  Tensor out = empty(x.sizes(), xin.dtype());
  std::optional<int64_t> d = x.dim() == 0 ? std::nullopt : std::optional<int64_t>(dim);
  SliceGeometry geo = slice_geometry(x.sizes(), d);
  bool last = x.dim() == 0 || dim == x.dim() - 1;
  if (!is_floating(xin.dtype()))
    throw NotImplementedError(str_cat("\"", kLog ? "log_softmax" : "softmax", last ? "_lastdim" : "",
                                      "_kernel_impl\" not implemented for '", scalar_type_name(xin.dtype()), "'"));
  dispatch_floating(xin.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<kLog, T>(xin.data<T>(), out.data<T>(), geo);
  });
  if (any_requires_grad({&x}))
    record_function(kLog ? "LogSoftmaxBackward0" : "SoftmaxBackward0", {x}, {&out},
                    [dim, geo, in = InputMeta(x)](const GradList& g, FunctionNode& self) {
                      Tensor y = self.saved(0);
                      if (grad_enabled()) {  // create_graph: the differentiable formula
                        if (kLog) return GradList{in.reduce(g[0] - exp(y) * sum(g[0], std::vector<int64_t>{dim}, true))};
                        return GradList{in.reduce(y * (g[0] - sum(g[0] * y, std::vector<int64_t>{dim}, true)))};
                      }
                      Tensor gc = contiguous(cast_nograd(g[0], y.dtype())), yc = contiguous(y);
                      Tensor res = empty(y.sizes(), y.dtype());
                      dispatch_floating(y.dtype(), "softmax_backward", [&](auto tag) {
                        using T = decltype(tag);
                        softmax_backward_kernel<kLog, T>(gc.data<T>(), yc.data<T>(), res.data<T>(), geo);
                      });
                      return GradList{in.reduce(res)};
                    },
                    {{out, true}});
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) { return softmax_impl<false>(x, dim, dtype); }
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return softmax_impl<true>(x, dim, dtype);
}

}  // namespace ember

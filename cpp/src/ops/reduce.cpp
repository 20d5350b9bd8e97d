// Reductions, forward and backward side by side.
#include <Eigen/Core>
#include "reduce_plan.h"
#include "elementwise_kernels.h"

namespace ember {

// Gradient of a reduction: g (shaped like the output) broadcast back over the reduced dims.
static Tensor expand_reduced_grad(const Tensor& g, const Shape& keepdim_shape, const Shape& in_shape) {
  return expand(g.sizes() == keepdim_shape ? g : reshape(g, keepdim_shape), in_shape);
}

// Sums each [o, :, i] column of the plan into out (dtype T), in fixed chunks for long rows.
template <typename T>
static void sum_plan(const ReducePlan& p, T* out) {
  const T* in = p.input.data<T>();
  int64_t R = p.reduced;
  if (p.inner == 1) {
    constexpr int64_t kChunk = 16384;  // fixed: partial sums never depend on the thread count
    int64_t nch = std::max<int64_t>(1, (R + kChunk - 1) / kChunk);
    std::vector<T> partial(static_cast<size_t>(p.outer * nch));
    parallel_for(0, p.outer * nch, std::max<int64_t>(1, kGrainSize / std::min<int64_t>(std::max<int64_t>(R, 1), kChunk)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t idx = b; idx < e; ++idx) {
                     int64_t o = idx / nch, c = idx % nch;
                     int64_t len = std::min(kChunk, R - c * kChunk);
                     partial[idx] = len > 0 ? Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(in + o * R + c * kChunk, len).sum() : T(0);
                   }
                 });
    for (int64_t o = 0; o < p.outer; ++o) {
      T acc = partial[o * nch];
      for (int64_t c = 1; c < nch; ++c) acc += partial[o * nch + c];
      out[o] = acc;
    }
    return;
  }
  reduce_kernel<T, T, T>(p, out, T(0), [](T a, T v, int64_t) { return a + v; }, [](T a) { return a; });
}

Tensor sum(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype) {
  DType out_dt = dtype ? *dtype : (is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  Tensor xin = cast_nograd(x, out_dt);
  ReducePlan p = plan_reduction(xin, dims, keepdim);
  Tensor out = empty(p.out_shape, out_dt);
  dispatch_all(out_dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) throw TypeError("sum: bool output dtype is not supported");
    else sum_plan<T>(p, out.data<T>());
  });
  if (any_requires_grad({&x}))
    record_function(dims && !dims->empty() ? "SumBackward1" : "SumBackward0",
                    {x}, {&out},
                    [ks = p.keepdim_shape, in = InputMeta(x)](const GradList& g, FunctionNode&) {
                      return GradList{in.reduce(expand_reduced_grad(g[0], ks, in.shape))};
                    });
  return out;
}

Tensor mean(const Tensor& x, const OptDims& dims, bool keepdim) {
  if (!is_floating(x.dtype()))
    throw Error(str_cat("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                        "complex dtype. Got: ", x.dtype() == DType::Int64 ? "Long" : dtype_name(x.dtype())));
  auto mask = reduced_dims_mask(x, dims);
  int64_t count = 1;
  for (int64_t d = 0; d < x.dim(); ++d) if (mask[d]) count *= x.sizes()[d];
  Tensor s;
  {
    NoGradGuard ng;
    s = sum(x, dims, keepdim);
    s = div(s, wrapped_scalar(static_cast<double>(count)));
  }
  if (any_requires_grad({&x})) {
    Shape ks;
    for (int64_t d = 0; d < x.dim(); ++d) ks.push_back(mask[d] ? 1 : x.sizes()[d]);
    record_function(dims && !dims->empty() ? "MeanBackward1" : "MeanBackward0", {x}, {&s},
                    [ks, in = InputMeta(x), count](const GradList& g, FunctionNode&) {
                      return GradList{expand_reduced_grad(g[0] / static_cast<double>(count), ks, in.shape)};
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

}  // namespace ember

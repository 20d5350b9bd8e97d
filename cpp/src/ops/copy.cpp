// Conversion, copying and scalar wrapping.
#include <cstring>
#include "../core/dispatch.h"
#include "../core/iter.h"
#include "elementwise_kernels.h"

namespace ember {

Tensor wrapped_scalar(const Scalar& v) {
  Tensor t;
  switch (v.kind) {
    case Scalar::Kind::Float: t = empty({}, DType::Float64); *t.data<double>() = v.d; break;
    case Scalar::Kind::Int: t = empty({}, DType::Int64); *t.data<int64_t>() = v.i; break;
    case Scalar::Kind::Bool: t = empty({}, DType::Bool); *t.data<bool>() = v.i != 0; break;
  }
  t.impl()->wrapped_number = true;
  return t;
}

Tensor scalar_tensor(const Scalar& v, std::optional<DType> dtype) {
  DType dt = dtype ? *dtype
                   : (v.kind == Scalar::Kind::Float ? default_dtype()
                                                    : (v.kind == Scalar::Kind::Int ? DType::Int64 : DType::Bool));
  Tensor t = empty({}, dt);
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    *t.data<T>() = v.to<T>();
  });
  return t;
}

namespace {
struct DTypeState {
  bool has = false;
  DType t = DType::Bool;
  void add(DType x) { t = has ? promote_types(t, x) : x; has = true; }
};
int category(DType t) { return is_floating(t) ? 2 : (t == DType::Bool ? 0 : 1); }
// torch's combine_categories(higher, lower).
DTypeState combine(DTypeState higher, DTypeState lower) {
  if (!higher.has) return lower;
  if (!lower.has) return higher;
  if (is_floating(higher.t)) return higher;
  if (higher.t == DType::Bool || is_floating(lower.t)) {
    DTypeState r;
    r.add(higher.t);
    r.add(lower.t);
    return r;
  }
  return higher;
}
}  // namespace

DType result_type(const std::vector<Tensor>& xs) {
  DTypeState dim, zero, wrapped;
  for (auto& x : xs) {
    if (!x.defined()) continue;
    if (x.impl()->wrapped_number) wrapped.add(is_floating(x.dtype()) ? default_dtype() : x.dtype());
    else if (x.dim() == 0) zero.add(x.dtype());
    else dim.add(x.dtype());
  }
  (void)category;
  DTypeState r = combine(dim, combine(zero, wrapped));
  return r.has ? r.t : default_dtype();
}

// Copies src (same shape as dst after broadcasting) into dst, converting the element type.
static void copy_kernel(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && dst.sizes() == src.sizes()) {
    std::memcpy(dst.data_ptr(), src.data_ptr(), static_cast<size_t>(dst.numel()) * dst.element_size());
    return;
  }
  dispatch_all(dst.dtype(), [&](auto out_tag) {
    using O = decltype(out_tag);
    dispatch_all(src.dtype(), [&](auto in_tag) {
      using I = decltype(in_tag);
      binary_loop<O, O, I>(dst, dst, src, [](O, I v) { return static_cast<O>(v); });
    });
  });
}

Tensor to_dtype(const Tensor& x, DType t, bool copy) {
  if (x.dtype() == t && !copy) return x;
  Tensor out = empty(x.sizes(), t);
  copy_kernel(out, x);
  if (any_requires_grad({&x}) && is_floating(t) && is_floating(x.dtype())) {
    DType src = x.dtype();
    record_function("ToCopyBackward0", {x}, {&out},
                    [src](const GradList& g, FunctionNode&) { return GradList{to_dtype(g[0], src)}; });
  }
  return out;
}

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.sizes(), x.dtype());
  copy_kernel(out, x);
  if (any_requires_grad({&x}))
    record_function("CloneBackward0", {x}, {&out}, [](const GradList& g, FunctionNode&) { return GradList{g[0]}; });
  return out;
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return clone(x);
}

Tensor detach(const Tensor& x) {
  Tensor out = make_view(x, x.sizes(), x.strides(), x.storage_offset());
  out.impl()->is_view = x.impl()->is_view;
  return out;
}

Tensor& copy_(Tensor& dst, const Tensor& src) {
  bool rg = any_requires_grad({&dst, &src});
  check_inplace(dst, rg);
  Shape b = broadcast_shapes(dst.sizes(), src.sizes());
  if (b != dst.sizes())
    throw Error(str_cat("output with shape ", shape_str(dst.sizes()),
                        " doesn't match the broadcast shape ", shape_str(b)));
  check_no_overlap(dst, {});
  if (!dst.is_same(src)) copy_kernel(dst, src);
  dst.bump_version();
  if (rg) {
    Shape src_shape = src.sizes();
    DType src_dtype = src.dtype();
    bool src_float = is_floating(src_dtype);
    record_function("CopyBackwards", {dst, src}, {&dst},
                    [src_shape, src_dtype, src_float](const GradList& g, FunctionNode&) {
                      GradList r(2);
                      r[0] = zeros_like(g[0]);
                      if (src_float) r[1] = to_dtype(sum_to(g[0], src_shape), src_dtype);
                      return r;
                    });
  }
  return dst;
}

Tensor& fill_(Tensor& x, const Scalar& v) {
  check_inplace(x);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T val = v.to<T>();
    if (x.is_contiguous()) {
      T* p = x.data<T>();
      int64_t n = x.numel();
      parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, val); });
    } else {
      unary_loop<T, T>(x, x, [val](T) { return val; });
    }
  });
  x.bump_version();
  if (x.requires_grad() && grad_enabled())
    record_function("FillBackward0", {x}, {&x},
                    [](const GradList& g, FunctionNode&) { return GradList{zeros_like(g[0])}; });
  return x;
}

Tensor& zero_(Tensor& x) { return fill_(x, Scalar(int64_t(0))); }

}  // namespace ember

// The differentiable operations of the core, grouped by op family (one source file each in
// cpp/src/ops/). Every op checks its arguments and throws ember::Error subclasses; ops whose
// inputs require grad record their backward when grad mode is on.
#pragma once
#include <optional>
#include <string>
#include <vector>
#include "autograd.h"
#include "export.h"
#include "tensor.h"

namespace ember {

using OptDims = std::optional<std::vector<int64_t>>;

// ---- core: conversion and copying (src/ops/copy.cpp) ------------------------------------
// A tensor with dtype `t`; returns `x` itself when nothing changes and copy is false.
EMBER_API Tensor to_dtype(const Tensor& x, DType t, bool copy = false);
// `x` if already contiguous, else a contiguous copy (differentiable).
EMBER_API Tensor contiguous(const Tensor& x);
EMBER_API Tensor clone(const Tensor& x);
// A tensor sharing x's storage with no autograd history.
EMBER_API Tensor detach(const Tensor& x);
// Copies src (broadcast, cast) into dst in place; differentiable in both.
EMBER_API Tensor& copy_(Tensor& dst, const Tensor& src);
EMBER_API Tensor& fill_(Tensor& x, const Scalar& v);
EMBER_API Tensor& zero_(Tensor& x);
// A 0-dim tensor holding `v` (dtype: default float for floats, int64 for ints, bool).
EMBER_API Tensor scalar_tensor(const Scalar& v, std::optional<DType> dtype = std::nullopt);
// A 0-dim tensor that takes part in type promotion like a Python number (torch's wrapped number).
EMBER_API Tensor wrapped_scalar(const Scalar& v);
// torch.result_type over tensors (wrapped numbers count as scalars).
EMBER_API DType result_type(const std::vector<Tensor>& xs);

// ---- creation (src/ops/creation.cpp) -----------------------------------------------------
EMBER_API Tensor zeros(const Shape& sizes, DType dtype = DType::Float32);
EMBER_API Tensor ones(const Shape& sizes, DType dtype = DType::Float32);
EMBER_API Tensor full(const Shape& sizes, const Scalar& v, DType dtype);
EMBER_API Tensor zeros_like(const Tensor& x);
EMBER_API Tensor ones_like(const Tensor& x);
// [creation: more ops here]

// ---- elementwise (src/ops/elementwise.cpp) -----------------------------------------------
// Binary ops broadcast and promote like torch (Python numbers enter as wrapped_scalar). Each
// `op_` is the in-place form: it returns self and throws when the result dtype can't be cast to
// self's ("result type Float can't be cast to the desired output type Long").
// Arithmetic.
EMBER_API Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));  // a + alpha * b
EMBER_API Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));  // a - alpha * b
EMBER_API Tensor mul(const Tensor& a, const Tensor& b);
EMBER_API Tensor div(const Tensor& a, const Tensor& b);  // true division (integers give floats)
// rounding_mode "trunc" or "floor" (integer results for integer inputs).
EMBER_API Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);
EMBER_API Tensor floor_divide(const Tensor& a, const Tensor& b);
EMBER_API Tensor remainder(const Tensor& a, const Tensor& b);  // sign of b (Python's %)
EMBER_API Tensor fmod(const Tensor& a, const Tensor& b);       // sign of a (C's fmod)
EMBER_API Tensor pow(const Tensor& a, const Tensor& b);        // either side may be a wrapped scalar
EMBER_API Tensor atan2(const Tensor& a, const Tensor& b);
EMBER_API Tensor maximum(const Tensor& a, const Tensor& b);    // NaN-propagating
EMBER_API Tensor minimum(const Tensor& a, const Tensor& b);
EMBER_API Tensor fmax(const Tensor& a, const Tensor& b);       // NaN-ignoring
EMBER_API Tensor fmin(const Tensor& a, const Tensor& b);
EMBER_API Tensor& add_(Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor& sub_(Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor& mul_(Tensor& a, const Tensor& b);
EMBER_API Tensor& div_(Tensor& a, const Tensor& b);
EMBER_API Tensor& div_(Tensor& a, const Tensor& b, const std::string& rounding_mode);
EMBER_API Tensor& floor_divide_(Tensor& a, const Tensor& b);
EMBER_API Tensor& remainder_(Tensor& a, const Tensor& b);
EMBER_API Tensor& fmod_(Tensor& a, const Tensor& b);
EMBER_API Tensor& pow_(Tensor& a, const Tensor& b);
EMBER_API Tensor& atan2_(Tensor& a, const Tensor& b);
// Unary ops that keep integer dtypes (floor/ceil/round/trunc return integer inputs unchanged).
EMBER_API Tensor neg(const Tensor& x);
EMBER_API Tensor positive(const Tensor& x);  // x itself (bool raises)
EMBER_API Tensor abs(const Tensor& x);
EMBER_API Tensor sign(const Tensor& x);
EMBER_API Tensor floor(const Tensor& x);
EMBER_API Tensor ceil(const Tensor& x);
EMBER_API Tensor trunc(const Tensor& x);
EMBER_API Tensor round(const Tensor& x, int64_t decimals = 0);  // half to even
EMBER_API Tensor frac(const Tensor& x);    // x - trunc(x), floating only
EMBER_API Tensor square(const Tensor& x);  // pow(x, 2): bool gives int64
EMBER_API Tensor relu(const Tensor& x);
EMBER_API Tensor& neg_(Tensor& x);
EMBER_API Tensor& abs_(Tensor& x);
EMBER_API Tensor& sign_(Tensor& x);
EMBER_API Tensor& floor_(Tensor& x);
EMBER_API Tensor& ceil_(Tensor& x);
EMBER_API Tensor& trunc_(Tensor& x);
EMBER_API Tensor& round_(Tensor& x, int64_t decimals = 0);
EMBER_API Tensor& frac_(Tensor& x);
EMBER_API Tensor& square_(Tensor& x);
EMBER_API Tensor& relu_(Tensor& x);
// Unary floating ops: integer and bool inputs compute in the default float dtype.
#define EMBER_DECLARE_UNARY_FLOAT(op) EMBER_API Tensor op(const Tensor& x); EMBER_API Tensor& op##_(Tensor& x);
EMBER_DECLARE_UNARY_FLOAT(exp) EMBER_DECLARE_UNARY_FLOAT(exp2) EMBER_DECLARE_UNARY_FLOAT(expm1)
EMBER_DECLARE_UNARY_FLOAT(log) EMBER_DECLARE_UNARY_FLOAT(log2) EMBER_DECLARE_UNARY_FLOAT(log10)
EMBER_DECLARE_UNARY_FLOAT(log1p) EMBER_DECLARE_UNARY_FLOAT(sqrt) EMBER_DECLARE_UNARY_FLOAT(rsqrt)
EMBER_DECLARE_UNARY_FLOAT(sin) EMBER_DECLARE_UNARY_FLOAT(cos) EMBER_DECLARE_UNARY_FLOAT(tan)
EMBER_DECLARE_UNARY_FLOAT(asin) EMBER_DECLARE_UNARY_FLOAT(acos) EMBER_DECLARE_UNARY_FLOAT(atan)
EMBER_DECLARE_UNARY_FLOAT(sinh) EMBER_DECLARE_UNARY_FLOAT(cosh) EMBER_DECLARE_UNARY_FLOAT(tanh)
EMBER_DECLARE_UNARY_FLOAT(asinh) EMBER_DECLARE_UNARY_FLOAT(acosh) EMBER_DECLARE_UNARY_FLOAT(atanh)
EMBER_DECLARE_UNARY_FLOAT(sigmoid) EMBER_DECLARE_UNARY_FLOAT(erf) EMBER_DECLARE_UNARY_FLOAT(erfc)
EMBER_DECLARE_UNARY_FLOAT(reciprocal)
#undef EMBER_DECLARE_UNARY_FLOAT
// clamp: min and max are optional (undefined tensors); at least one must be given.
EMBER_API Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max);
EMBER_API Tensor clamp_min(const Tensor& x, const Tensor& min);
EMBER_API Tensor clamp_max(const Tensor& x, const Tensor& max);
EMBER_API Tensor& clamp_(Tensor& x, const Tensor& min, const Tensor& max);
EMBER_API Tensor& clamp_min_(Tensor& x, const Tensor& min);
EMBER_API Tensor& clamp_max_(Tensor& x, const Tensor& max);
// cond ? a : b elementwise; cond is a bool (or uint8) tensor.
EMBER_API Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// start + weight * (end - start); weight a tensor or a wrapped scalar.
EMBER_API Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
EMBER_API Tensor& lerp_(Tensor& start, const Tensor& end, const Tensor& weight);
// input + value * t1 * t2 and input + value * t1 / t2.
EMBER_API Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value = Scalar(int64_t(1)));
EMBER_API Tensor addcdiv(const Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value = Scalar(int64_t(1)));
EMBER_API Tensor& addcmul_(Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value = Scalar(int64_t(1)));
EMBER_API Tensor& addcdiv_(Tensor& input, const Tensor& t1, const Tensor& t2, const Scalar& value = Scalar(int64_t(1)));
// Comparisons and logical ops give bool tensors; their in-place forms store into self's dtype.
#define EMBER_DECLARE_BINARY(op) \
  EMBER_API Tensor op(const Tensor& a, const Tensor& b); EMBER_API Tensor& op##_(Tensor& a, const Tensor& b);
EMBER_DECLARE_BINARY(eq) EMBER_DECLARE_BINARY(ne) EMBER_DECLARE_BINARY(lt)
EMBER_DECLARE_BINARY(le) EMBER_DECLARE_BINARY(gt) EMBER_DECLARE_BINARY(ge)
EMBER_DECLARE_BINARY(logical_and) EMBER_DECLARE_BINARY(logical_or) EMBER_DECLARE_BINARY(logical_xor)
// Bitwise ops: integer and bool tensors only.
EMBER_DECLARE_BINARY(bitwise_and) EMBER_DECLARE_BINARY(bitwise_or) EMBER_DECLARE_BINARY(bitwise_xor)
EMBER_DECLARE_BINARY(bitwise_left_shift) EMBER_DECLARE_BINARY(bitwise_right_shift)
#undef EMBER_DECLARE_BINARY
EMBER_API Tensor logical_not(const Tensor& x);
EMBER_API Tensor& logical_not_(Tensor& x);
EMBER_API Tensor bitwise_not(const Tensor& x);
EMBER_API Tensor& bitwise_not_(Tensor& x);
EMBER_API Tensor isnan(const Tensor& x);
EMBER_API Tensor isinf(const Tensor& x);
EMBER_API Tensor isfinite(const Tensor& x);
// |a - b| <= atol + rtol * |b| elementwise (a and b of one dtype); allclose: for all elements.
EMBER_API Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
EMBER_API bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
// Same shape and equal elements (dtypes may differ).
EMBER_API bool equal(const Tensor& a, const Tensor& b);
// [elementwise: more ops here]

// ---- reductions (src/ops/reduce.cpp) ------------------------------------------------------
// dims: std::nullopt (or empty) reduces over all dims.
EMBER_API Tensor sum(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false,
                     std::optional<DType> dtype = std::nullopt);
EMBER_API Tensor mean(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false);
// Sums `x` down to `shape` (the reverse of broadcasting); used by broadcasting ops' backward.
EMBER_API Tensor sum_to(const Tensor& x, const Shape& shape);
// [reduce: more ops here]

// ---- shape and views (src/ops/shape.cpp) -------------------------------------------------
EMBER_API Tensor view(const Tensor& x, const Shape& shape);      // one dim may be -1
EMBER_API Tensor reshape(const Tensor& x, const Shape& shape);   // a view when possible
EMBER_API Tensor expand(const Tensor& x, const Shape& shape);    // -1 keeps a size
EMBER_API Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
EMBER_API Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
EMBER_API Tensor t(const Tensor& x);
EMBER_API Tensor unsqueeze(const Tensor& x, int64_t dim);
EMBER_API Tensor squeeze(const Tensor& x, const OptDims& dims = std::nullopt);
// [shape: more ops here]

// ---- linear algebra (src/ops/linalg.cpp) -------------------------------------------------
EMBER_API Tensor mm(const Tensor& a, const Tensor& b);
// [linalg: more ops here]

// ---- indexing (src/ops/index.cpp) ---------------------------------------------------------
// [index: ops here]

// C++ operators for convenience in native code and in backward formulas.
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, wrapped_scalar(s)); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, wrapped_scalar(s)); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, wrapped_scalar(s)); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, wrapped_scalar(s)); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, wrapped_scalar(s)); }
inline Tensor operator-(double s, const Tensor& a) { return sub(wrapped_scalar(s), a); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, wrapped_scalar(s)); }
inline Tensor operator/(double s, const Tensor& a) { return div(wrapped_scalar(s), a); }

}  // namespace ember

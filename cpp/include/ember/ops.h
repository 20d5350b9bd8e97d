// The differentiable operations of the core, grouped by op family (one source file each in
// cpp/src/ops/). Every op checks its arguments and throws ember::Error subclasses; ops whose
// inputs require grad record their backward when grad mode is on.
#pragma once
#include <optional>
#include <utility>
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
EMBER_API Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor mul(const Tensor& a, const Tensor& b);
EMBER_API Tensor div(const Tensor& a, const Tensor& b);
EMBER_API Tensor neg(const Tensor& a);
EMBER_API Tensor exp(const Tensor& a);
EMBER_API Tensor log(const Tensor& a);
EMBER_API Tensor tanh(const Tensor& a);
EMBER_API Tensor relu(const Tensor& a);
EMBER_API Tensor& add_(Tensor& a, const Tensor& b, const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor& mul_(Tensor& a, const Tensor& b);
// [elementwise: more ops here]

// ---- reductions (src/ops/reduce.cpp) ------------------------------------------------------
// dims: std::nullopt (or empty) reduces over all dims; negative dims count from the end.
EMBER_API Tensor sum(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false,
                     std::optional<DType> dtype = std::nullopt);
EMBER_API Tensor mean(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false,
                      std::optional<DType> dtype = std::nullopt);
// Sums `x` down to `shape` (the reverse of broadcasting); used by broadcasting ops' backward.
EMBER_API Tensor sum_to(const Tensor& x, const Shape& shape);
// Product over one dim (or all when dim is nullopt); integer inputs give int64.
EMBER_API Tensor prod(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                      std::optional<DType> dtype = std::nullopt);
// Largest / smallest value over dims (NaN propagates); gradient split evenly among ties.
EMBER_API Tensor amax(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false);
EMBER_API Tensor amin(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false);
// Largest / smallest element of the whole tensor (torch.max(x)).
EMBER_API Tensor max(const Tensor& x);
EMBER_API Tensor min(const Tensor& x);
// (values, indices) along `dim`; ties pick the first index; gradient flows to that index.
EMBER_API std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
EMBER_API std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// Index of the first largest / smallest element along `dim` (of the flattened tensor when nullopt).
EMBER_API Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
EMBER_API Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Variance / standard deviation with `correction` (1: unbiased, Bessel's correction).
EMBER_API Tensor var(const Tensor& x, const OptDims& dims = std::nullopt, double correction = 1,
                     bool keepdim = false);
EMBER_API Tensor stddev(const Tensor& x, const OptDims& dims = std::nullopt, double correction = 1,
                        bool keepdim = false);
// (var, mean) and (std, mean) over the same dims.
EMBER_API std::pair<Tensor, Tensor> var_mean(const Tensor& x, const OptDims& dims = std::nullopt,
                                             double correction = 1, bool keepdim = false);
EMBER_API std::pair<Tensor, Tensor> std_mean(const Tensor& x, const OptDims& dims = std::nullopt,
                                             double correction = 1, bool keepdim = false);
// Vector p-norm over dims (p may be +-infinity or 0), as torch.linalg.vector_norm.
EMBER_API Tensor norm(const Tensor& x, double p = 2, const OptDims& dims = std::nullopt, bool keepdim = false,
                      std::optional<DType> dtype = std::nullopt);
// log(sum(exp(x))) over dims, computed stably; integer inputs give the default float dtype.
EMBER_API Tensor logsumexp(const Tensor& x, const OptDims& dims, bool keepdim = false);
// Whether all / any elements are nonzero; bool result (uint8 for uint8 input, as torch).
EMBER_API Tensor all(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false);
EMBER_API Tensor any(const Tensor& x, const OptDims& dims = std::nullopt, bool keepdim = false);
// Inclusive running sum / product along `dim`; integer inputs give int64.
EMBER_API Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
EMBER_API Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
// exp(x) / sum(exp(x)) and its logarithm along `dim`, computed stably.
EMBER_API Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
EMBER_API Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);

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

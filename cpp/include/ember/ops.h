// The differentiable operations of the core, grouped by op family (one source file each in
// cpp/src/ops/). Every op checks its arguments and throws ember::Error subclasses; ops whose
// inputs require grad record their backward when grad mode is on.
#pragma once
#include <optional>
#include <vector>
#include "autograd.h"
#include "export.h"
#include "generator.h"
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
// A tensor of x's shape filled with v; dtype defaults to x's.
EMBER_API Tensor full_like(const Tensor& x, const Scalar& v, std::optional<DType> dtype = std::nullopt);
// An uninitialised tensor of x's shape; dtype defaults to x's.
EMBER_API Tensor empty_like(const Tensor& x, std::optional<DType> dtype = std::nullopt);
// start, start + step, ... up to (excluding) end; the length follows torch's formula.
EMBER_API Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype);
// `steps` evenly spaced values from start to end inclusive.
EMBER_API Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, DType dtype);
// base ** linspace(start, end, steps).
EMBER_API Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base, DType dtype);
// An n x m (default n x n) matrix with ones on the diagonal.
EMBER_API Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype);

// ---- random sampling (src/core/random.cpp); gen == nullptr uses default_generator() ------
// In-place samplers; values depend only on the generator state, not on the thread count.
EMBER_API Tensor& uniform_(Tensor& x, double from = 0, double to = 1, Generator* gen = nullptr);
EMBER_API Tensor& normal_(Tensor& x, double mean = 0, double std = 1, Generator* gen = nullptr);
EMBER_API Tensor& bernoulli_(Tensor& x, double p = 0.5, Generator* gen = nullptr);
// p broadcasts to x's shape; every p must lie in [0, 1].
EMBER_API Tensor& bernoulli_(Tensor& x, const Tensor& p, Generator* gen = nullptr);
EMBER_API Tensor& exponential_(Tensor& x, double lambd = 1, Generator* gen = nullptr);
// Integers in [from, to), or [from, largest exact integer of x's dtype] without `to`.
EMBER_API Tensor& random_(Tensor& x, int64_t from = 0, std::optional<int64_t> to = std::nullopt,
                          Generator* gen = nullptr);
EMBER_API Tensor rand(const Shape& sizes, DType dtype = DType::Float32, Generator* gen = nullptr);
EMBER_API Tensor randn(const Shape& sizes, DType dtype = DType::Float32, Generator* gen = nullptr);
EMBER_API Tensor randint(int64_t low, int64_t high, const Shape& sizes, DType dtype = DType::Int64,
                         Generator* gen = nullptr);
// A random permutation of 0..n-1.
EMBER_API Tensor randperm(int64_t n, DType dtype = DType::Int64, Generator* gen = nullptr);
// Normal samples with elementwise mean/std (broadcast); torch's four overloads.
EMBER_API Tensor normal(const Tensor& mean, const Tensor& std, Generator* gen = nullptr);
EMBER_API Tensor normal(const Tensor& mean, double std, Generator* gen = nullptr);
EMBER_API Tensor normal(double mean, const Tensor& std, Generator* gen = nullptr);
EMBER_API Tensor normal(double mean, double std, const Shape& sizes, DType dtype = DType::Float32,
                        Generator* gen = nullptr);
// 0/1 samples with probabilities p (same shape and dtype as p), or a constant p with x's shape.
EMBER_API Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
EMBER_API Tensor bernoulli(const Tensor& x, double p, Generator* gen = nullptr);
// Category indices drawn from the rows of probs (1-d or 2-d, unnormalised weights).
EMBER_API Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement = false,
                             Generator* gen = nullptr);

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

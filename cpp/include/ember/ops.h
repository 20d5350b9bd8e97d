// The differentiable operations of the core, grouped by op family (one source file each in
// cpp/src/ops/). Every op checks its arguments and throws ember::Error subclasses; ops whose
// inputs require grad record their backward when grad mode is on.
#pragma once
#include <optional>
#include <string>
#include <tuple>
#include <utility>
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
EMBER_API Tensor expand_as(const Tensor& x, const Tensor& other);
EMBER_API Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
EMBER_API Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
EMBER_API Tensor t(const Tensor& x);                              // transpose of a <= 2-D tensor
EMBER_API Tensor matrix_transpose(const Tensor& x);               // x.mT: swaps the last two dims
EMBER_API Tensor reverse_dims(const Tensor& x);                   // x.T: all dims reversed
EMBER_API Tensor movedim(const Tensor& x, const std::vector<int64_t>& source, const std::vector<int64_t>& destination);
EMBER_API Tensor unsqueeze(const Tensor& x, int64_t dim);
EMBER_API Tensor squeeze(const Tensor& x, const OptDims& dims = std::nullopt);  // nullopt: all size-1 dims
EMBER_API Tensor squeeze(const Tensor& x, int64_t dim);
EMBER_API Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
EMBER_API Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);  // one size may be -1
EMBER_API Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
EMBER_API Tensor select(const Tensor& x, int64_t dim, int64_t index);
// Views of consecutive pieces along dim: of split_size each (the last may be smaller), of the
// given sizes, `chunks` pieces of equal size (the last may be smaller), or every index (unbind).
EMBER_API std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
EMBER_API std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
EMBER_API std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
EMBER_API std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);
// numpy.array_split: `sections` nearly equal pieces, or pieces between the given indices.
EMBER_API std::vector<Tensor> tensor_split(const Tensor& x, int64_t sections, int64_t dim = 0);
EMBER_API std::vector<Tensor> tensor_split(const Tensor& x, const std::vector<int64_t>& indices, int64_t dim = 0);
// Concatenation with type promotion; 1-D empty tensors are skipped as in torch.
EMBER_API Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
EMBER_API Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
EMBER_API Tensor hstack(const std::vector<Tensor>& xs);
EMBER_API Tensor vstack(const std::vector<Tensor>& xs);
EMBER_API Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);
EMBER_API Tensor tile(const Tensor& x, const std::vector<int64_t>& dims);
EMBER_API Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
// Rolls along dims; with no dims the tensor is rolled as if flattened.
EMBER_API Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims = {});
// [shape: more ops here]

// ---- linear algebra (src/ops/linalg.cpp) -------------------------------------------------
EMBER_API Tensor mm(const Tensor& a, const Tensor& b);
EMBER_API Tensor bmm(const Tensor& a, const Tensor& b);               // [B, n, k] @ [B, k, m]
// torch.matmul: dot, mv, mm, or a batched product with broadcast batch dims.
EMBER_API Tensor matmul(const Tensor& a, const Tensor& b);
EMBER_API Tensor mv(const Tensor& mat, const Tensor& vec);
EMBER_API Tensor dot(const Tensor& a, const Tensor& b);
EMBER_API Tensor vdot(const Tensor& a, const Tensor& b);
EMBER_API Tensor outer(const Tensor& a, const Tensor& b);
// beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape.
EMBER_API Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2,
                       const Scalar& beta = Scalar(int64_t(1)), const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec,
                       const Scalar& beta = Scalar(int64_t(1)), const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2,
                         const Scalar& beta = Scalar(int64_t(1)), const Scalar& alpha = Scalar(int64_t(1)));
// x @ w.T + b (b may be undefined) as one GEMM with the bias as its initial value.
EMBER_API Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());
// [linalg: more ops here]

// ---- activations (src/ops/activation.cpp) ------------------------------------------------
// torch.nn.functional's activations; each `op_` is the in-place form. Floating dtypes only,
// except hardtanh/relu6/threshold, which also keep integer dtypes.
// x > 0 ? scale * x : alpha * scale * (exp(input_scale * x) - 1); selu and celu are special cases.
EMBER_API Tensor elu(const Tensor& x, double alpha = 1, double scale = 1, double input_scale = 1);
EMBER_API Tensor& elu_(Tensor& x, double alpha = 1, double scale = 1, double input_scale = 1);
EMBER_API Tensor selu(const Tensor& x);
EMBER_API Tensor& selu_(Tensor& x);
EMBER_API Tensor celu(const Tensor& x, double alpha = 1);  // alpha == 0 raises
EMBER_API Tensor& celu_(Tensor& x, double alpha = 1);
EMBER_API Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
EMBER_API Tensor& leaky_relu_(Tensor& x, double negative_slope = 0.01);
// x clamped to [min_val, max_val]; relu6 is hardtanh(x, 0, 6).
EMBER_API Tensor hardtanh(const Tensor& x, const Scalar& min_val = Scalar(-1.0), const Scalar& max_val = Scalar(1.0));
EMBER_API Tensor& hardtanh_(Tensor& x, const Scalar& min_val = Scalar(-1.0), const Scalar& max_val = Scalar(1.0));
EMBER_API Tensor relu6(const Tensor& x);
EMBER_API Tensor& relu6_(Tensor& x);
EMBER_API Tensor hardsigmoid(const Tensor& x);  // clamp(x / 6 + 1/2, 0, 1)
EMBER_API Tensor& hardsigmoid_(Tensor& x);
EMBER_API Tensor hardswish(const Tensor& x);    // x * hardsigmoid(x)
EMBER_API Tensor& hardswish_(Tensor& x);
// log(1 + exp(beta * x)) / beta, or x where beta * x > threshold.
EMBER_API Tensor softplus(const Tensor& x, double beta = 1, double threshold = 20);
// x <= threshold ? value : x.
EMBER_API Tensor threshold(const Tensor& x, const Scalar& threshold, const Scalar& value);
EMBER_API Tensor& threshold_(Tensor& x, const Scalar& threshold, const Scalar& value);
// x * Phi(x); approximate is "none" (erf) or "tanh".
EMBER_API Tensor gelu(const Tensor& x, const std::string& approximate = "none");
EMBER_API Tensor& gelu_(Tensor& x, const std::string& approximate = "none");
EMBER_API Tensor silu(const Tensor& x);  // x * sigmoid(x)
EMBER_API Tensor& silu_(Tensor& x);
EMBER_API Tensor mish(const Tensor& x);  // x * tanh(softplus(x))
EMBER_API Tensor& mish_(Tensor& x);
EMBER_API Tensor log_sigmoid(const Tensor& x);
// Zero inside [-lambd, lambd]; outside, x (hard) or x moved towards zero by lambd (soft).
EMBER_API Tensor hardshrink(const Tensor& x, double lambd = 0.5);
EMBER_API Tensor softshrink(const Tensor& x, double lambd = 0.5);
// x > 0 ? x : weight * x, weight a single value or one per channel (dim 1).
EMBER_API Tensor prelu(const Tensor& x, const Tensor& weight);

// ---- normalization (src/ops/norm.cpp) ---------------------------------------------------
// Normalises over the trailing dims `normalized_shape`, then applies the optional elementwise
// weight and bias; also returns the mean and 1/std (shaped like x with those dims set to 1).
EMBER_API std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& x, const Shape& normalized_shape,
                                                               const Tensor& weight, const Tensor& bias, double eps);
EMBER_API Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                            const Tensor& bias = Tensor(), double eps = 1e-5);

// ---- embeddings (src/ops/embedding.cpp) ---------------------------------------------------
// Rows of the 2-D weight at integer `indices` (any shape): [*indices.shape, D]. Rows equal to
// padding_idx (when >= 0) get no gradient; scale_grad_by_freq divides by each index's count.
EMBER_API Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx = -1,
                           bool scale_grad_by_freq = false, bool sparse = false);
// In place, under no autograd: rows at `indices` whose norm exceeds max_norm are scaled to it.
EMBER_API Tensor& embedding_renorm_(Tensor& weight, const Tensor& indices, double max_norm, double norm_type);
// Sums (mode 0), means (1) or maxima (2) of bags of rows: bag b holds indices[offsets[b] ..
// offsets[b+1]) (1-D indices and offsets); per_sample_weights scales each row (sum only);
// entries equal to padding_idx (when >= 0) are skipped; empty bags give zeros.
EMBER_API Tensor embedding_bag(const Tensor& weight, const Tensor& indices, const Tensor& offsets,
                               bool scale_grad_by_freq = false, int64_t mode = 0,
                               const Tensor& per_sample_weights = Tensor(), bool include_last_offset = false,
                               int64_t padding_idx = -1);

// ---- indexing (src/ops/index.cpp) ---------------------------------------------------------
// One item of a Python-style subscript x[...]: an int, a slice (absent bounds are open), None,
// Ellipsis, a Python bool, or a tensor (integer indices or a boolean mask).
struct EMBER_API TensorIndex {
  enum class Kind : int8_t { Int, Slice, None, Ellipsis, Bool, Tensor };
  Kind kind = Kind::Ellipsis;
  int64_t start = 0, stop = 0, step = 1;  // Int: start is the index
  bool has_start = false, has_stop = false, flag = false;  // flag: the value of a Bool
  Tensor tensor;
  static TensorIndex integer(int64_t i) { TensorIndex t; t.kind = Kind::Int; t.start = i; return t; }
  static TensorIndex slice(std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step = 1);
  static TensorIndex none() { TensorIndex t; t.kind = Kind::None; return t; }
  static TensorIndex ellipsis() { return TensorIndex(); }
  static TensorIndex boolean(bool b) { TensorIndex t; t.kind = Kind::Bool; t.flag = b; return t; }
  static TensorIndex of(const Tensor& x) { TensorIndex t; t.kind = Kind::Tensor; t.tensor = x; return t; }
};
using IndexList = std::vector<TensorIndex>;
// x[index] as in torch: ints/slices/None/Ellipsis give a view, tensors and bools copy.
EMBER_API Tensor get_item(const Tensor& x, const IndexList& index);
// x[index] = value: value broadcast (leading 1s dropped) and cast to x's dtype; records autograd.
EMBER_API void set_item(Tensor& x, const IndexList& index, const Tensor& value);
// Advanced indexing by a list of optional index tensors (undefined = whole dim), as aten::index.
EMBER_API Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// x[indices] = values (or += with accumulate); values must have x's dtype.
EMBER_API Tensor& index_put_(Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                             bool accumulate = false);
EMBER_API Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                           bool accumulate = false);
// Slices of x along dim at the positions of a 1-D index.
EMBER_API Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// x with alpha * source.select(dim, i) added to x.select(dim, index[i]) for every i.
EMBER_API Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source,
                           const Scalar& alpha = Scalar(int64_t(1)));
EMBER_API Tensor& index_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source,
                             const Scalar& alpha = Scalar(int64_t(1)));
// out[i][j] = x[index[i][j]][j] (dim 0), and so on.
EMBER_API Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x with src written at index along dim; reduce is "" (replace), "add" or "multiply".
EMBER_API Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                         const std::string& reduce = "");
EMBER_API Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value,
                         const std::string& reduce = "");
EMBER_API Tensor& scatter_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                           const std::string& reduce = "");
EMBER_API Tensor& scatter_(Tensor& x, int64_t dim, const Tensor& index, const Scalar& value,
                           const std::string& reduce = "");
EMBER_API Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
EMBER_API Tensor& scatter_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x with value (a 0-dim tensor) where the bool mask (broadcast) is true.
EMBER_API Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
EMBER_API Tensor& masked_fill_(Tensor& x, const Tensor& mask, const Tensor& value);
// The elements of x (broadcast with mask) where mask is true, as a 1-D tensor.
EMBER_API Tensor masked_select(const Tensor& x, const Tensor& mask);
// Coordinates of the non-zero elements: int64 [n, x.dim()].
EMBER_API Tensor nonzero(const Tensor& x);
// nonzero(x, as_tuple=True): one int64 [n] tensor per dim (one for a 0-dim x).
EMBER_API std::vector<Tensor> nonzero_tuple(const Tensor& x);
// x viewed as 1-D, indexed by an int64 tensor of any shape.
EMBER_API Tensor take(const Tensor& x, const Tensor& index);
// (values, indices) of x sorted along dim; NaN sorts as the largest value.
EMBER_API std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false,
                                         bool stable = false);
EMBER_API Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
// The k largest (or smallest) elements along dim and their indices.
EMBER_API std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                                         bool sorted = true);

// ---- losses (src/ops/loss.cpp) ----------------------------------------------------------
// Reductions of a loss, as torch's Reduction enum (0 none, 1 mean, 2 sum).
enum class Reduction : int8_t { None = 0, Mean = 1, Sum = 2 };
// log_softmax over the class dim (1, or 0 for an unbatched (C,) input) and the negative log
// likelihood in one pass. target: class indices (int64/uint8, input's shape without the class
// dim) or class probabilities (floating, input's shape).
EMBER_API Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                               Reduction reduction = Reduction::Mean, int64_t ignore_index = -100,
                               double label_smoothing = 0.0);
// -weight[t] * input[t] per sample, with input (C), (N, C) or (N, C, d1, ...).
EMBER_API Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                          Reduction reduction = Reduction::Mean, int64_t ignore_index = -100);
// Pointwise regression losses; input and target broadcast.
EMBER_API Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
EMBER_API Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
EMBER_API Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                                double beta = 1.0);
EMBER_API Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                            double delta = 1.0);
// Binary cross entropy of probabilities (logs clamped at -100); weight broadcasts to target.
EMBER_API Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                      Reduction reduction = Reduction::Mean);
// Binary cross entropy of logits, computed stably; weight and pos_weight broadcast.
EMBER_API Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                                  const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor(),
                                                  Reduction reduction = Reduction::Mean);

// ---- dropout (src/ops/dropout.cpp); gen == nullptr uses default_generator() ---------------
// Zeroes each element with probability p and scales the rest by 1/(1-p); x itself when !train or p == 0.
EMBER_API Tensor dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
EMBER_API Tensor& dropout_(Tensor& x, double p, bool train, Generator* gen = nullptr);
// Dropout that keeps the mean and variance of SELU activations (dropped values go to -alpha').
EMBER_API Tensor alpha_dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
EMBER_API Tensor& alpha_dropout_(Tensor& x, double p, bool train, Generator* gen = nullptr);

// ---- padding (src/ops/pad.cpp) -------------------------------------------------------------
// Pads the last len(pad)/2 dims with `value`: pad = (left, right) of the last dim, then of the
// one before, ...; negative amounts crop.
EMBER_API Tensor constant_pad_nd(const Tensor& x, const std::vector<int64_t>& pad, const Scalar& value = Scalar(int64_t(0)));
// Reflect, replicate or circular padding (mode) of the last len(pad)/2 dims, 1 to 3, of a
// (batch of) [C, *] input; negative amounts crop. Checks and messages as torch's F.pad.
EMBER_API Tensor pad_nd(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode);

// ---- convolution (src/ops/conv.cpp) -----------------------------------------------------------
// torch.nn.functional's convolutions: x [N, C, *spatial] or unbatched [C, *spatial], weight
// [Co, C / groups, *k], optional bias [Co]. stride/padding/dilation hold one value or one per
// spatial dim; padding may also be "same" (stride 1; extra padding goes after) or "valid".
EMBER_API Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const std::vector<int64_t>& stride = {1},
                        const std::vector<int64_t>& padding = {0}, const std::vector<int64_t>& dilation = {1},
                        int64_t groups = 1);
EMBER_API Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const std::vector<int64_t>& stride = {1},
                        const std::vector<int64_t>& padding = {0}, const std::vector<int64_t>& dilation = {1},
                        int64_t groups = 1);
EMBER_API Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), const std::vector<int64_t>& stride = {1},
                        const std::vector<int64_t>& padding = {0}, const std::vector<int64_t>& dilation = {1},
                        int64_t groups = 1);
EMBER_API Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::string& padding, const std::vector<int64_t>& dilation = {1}, int64_t groups = 1);
EMBER_API Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::string& padding, const std::vector<int64_t>& dilation = {1}, int64_t groups = 1);
EMBER_API Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::string& padding, const std::vector<int64_t>& dilation = {1}, int64_t groups = 1);
// Transposed convolutions: weight [C, Co / groups, *k]; output size per dim
// (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
EMBER_API Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(),
                                  const std::vector<int64_t>& stride = {1}, const std::vector<int64_t>& padding = {0},
                                  const std::vector<int64_t>& output_padding = {0}, int64_t groups = 1,
                                  const std::vector<int64_t>& dilation = {1});
EMBER_API Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(),
                                  const std::vector<int64_t>& stride = {1}, const std::vector<int64_t>& padding = {0},
                                  const std::vector<int64_t>& output_padding = {0}, int64_t groups = 1,
                                  const std::vector<int64_t>& dilation = {1});
EMBER_API Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(),
                                  const std::vector<int64_t>& stride = {1}, const std::vector<int64_t>& padding = {0},
                                  const std::vector<int64_t>& output_padding = {0}, int64_t groups = 1,
                                  const std::vector<int64_t>& dilation = {1});
// F.unfold: sliding 2-d blocks of x [N, C, H, W] (or [C, H, W]) as columns [N, C * kh * kw, L].
EMBER_API Tensor im2col(const Tensor& x, const std::vector<int64_t>& kernel_size, const std::vector<int64_t>& dilation,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& stride);
// F.fold: the inverse arrangement, overlapping values summed, into [N, C, *output_size].
EMBER_API Tensor col2im(const Tensor& x, const std::vector<int64_t>& output_size,
                        const std::vector<int64_t>& kernel_size, const std::vector<int64_t>& dilation,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& stride);

// ---- recurrent layers (src/ops/rnn.cpp) -------------------------------------------------------
// A whole RNN stack in one call, as torch's _VF.rnn_tanh / rnn_relu / lstm / gru. mode: 0 RNN
// tanh, 1 RNN relu, 2 LSTM, 3 GRU. input: [T, B, I] ([B, T, I] with batch_first) or, when
// batch_sizes is non-empty, packed data [sum(batch_sizes), I]. hx: [L*D, B, Hout], cx (LSTM):
// [L*D, B, H], zeros when undefined. params: per layer and direction w_ih, w_hh, [b_ih, b_hh],
// [w_hr]. Dropout (training only) applies to the inputs of layers > 0. Returns (output, h_n,
// c_n), c_n undefined except for LSTM. One autograd node; its backward is not differentiable.
EMBER_API std::tuple<Tensor, Tensor, Tensor> rnn(int64_t mode, const Tensor& input,
                                                 const std::vector<int64_t>& batch_sizes, const Tensor& hx,
                                                 const Tensor& cx, const std::vector<Tensor>& params,
                                                 bool has_biases, int64_t num_layers, double dropout, bool train,
                                                 bool bidirectional, bool batch_first, int64_t proj_size = 0,
                                                 Generator* gen = nullptr);
// One step of a cell: input [B, I], states [B, H] (zeros when undefined); biases may be undefined.
EMBER_API std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                               const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh);
EMBER_API Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                          const Tensor& b_ih, const Tensor& b_hh);
EMBER_API Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih, const Tensor& b_hh);
EMBER_API Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih, const Tensor& b_hh);

// ---- pooling (src/ops/pool.cpp) ------------------------------------------------------------
// Pooling over the last k dims (k = kernel.size() or output_size.size(), 1 to 3) of an input
// with one or two leading (batch, channel) dims; stride, padding and dilation have k entries.
// Indices are flat positions in each input plane, as torch's.
// Max over sliding windows: (values, int64 indices).
EMBER_API std::pair<Tensor, Tensor> max_pool_with_indices(const Tensor& x, const Shape& kernel, const Shape& stride,
                                                          const Shape& padding, const Shape& dilation, bool ceil_mode);
// torch.max_pool1d: values only, with torch's max_pool1d argument checks.
EMBER_API Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                            bool ceil_mode);
// Mean over sliding windows; divisor_override replaces the window size.
EMBER_API Tensor avg_pool(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                          bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override);
// Mean / max over output_size windows [floor(i * in / out), ceil((i + 1) * in / out)).
EMBER_API Tensor adaptive_avg_pool(const Tensor& x, const Shape& output_size);
EMBER_API std::pair<Tensor, Tensor> adaptive_max_pool(const Tensor& x, const Shape& output_size);
// Zeros of spatial size output_size with x's values written at `indices` (max pooling's).
EMBER_API Tensor max_unpool(const Tensor& x, const Tensor& indices, const Shape& output_size);

// ---- resampling (src/ops/resample.cpp) --------------------------------------------------------
// Resizing of the last k = x.dim() - 2 dims (1 to 3) of an (N, C, ...) input to output_size, or
// to floor(size * scale_factors) when output_size is absent (exactly one is given). The scale
// factors, when given, set the source-index scale 1 / factor, as torch's.
EMBER_API Tensor upsample_nearest(const Tensor& x, const OptDims& output_size,
                                  const std::optional<std::vector<double>>& scale_factors);
// Linear, bilinear or trilinear interpolation.
EMBER_API Tensor upsample_linear(const Tensor& x, const OptDims& output_size, bool align_corners,
                                 const std::optional<std::vector<double>>& scale_factors);
// (*, C * r * r, H, W) -> (*, C, H * r, W * r), and the inverse.
EMBER_API Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
EMBER_API Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

// ---- batch, instance and group norm (src/ops/batch_norm.cpp) --------------------------------
// Normalises each channel (dim 1) of x (N, C, *) with the batch statistics (training: biased
// variance; running_mean/var, when defined, are updated in place with momentum and the unbiased
// variance) or with running_mean/var (eval); weight/bias (C elements) are optional. Also returns
// the mean and 1/sqrt(var + eps) that were used, shape (C,).
EMBER_API std::tuple<Tensor, Tensor, Tensor> native_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                               const Tensor& running_mean, const Tensor& running_var,
                                                               bool training, double momentum, double eps);
EMBER_API Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                            const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalises each (n, c) plane of x (N, C, *); running stats (C,) are averaged over the batch.
EMBER_API Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                               const Tensor& running_var, bool use_input_stats, double momentum = 0.1,
                               double eps = 1e-5);
// Normalises each group of C / groups channels of every sample; weight/bias are per channel. Also
// returns the mean and 1/std of every (n, group), shape (N, groups).
EMBER_API std::tuple<Tensor, Tensor, Tensor> native_group_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                               int64_t groups, double eps);
EMBER_API Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(),
                            const Tensor& bias = Tensor(), double eps = 1e-5);
// Channel-wise dropout of x (N, C, *): whole (n, c) slices are zeroed with probability p and the
// rest scaled by 1/(1-p) (alpha: SELU-preserving values, as alpha_dropout); x itself when !train.
EMBER_API Tensor feature_dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
EMBER_API Tensor& feature_dropout_(Tensor& x, double p, bool train, Generator* gen = nullptr);
EMBER_API Tensor feature_alpha_dropout(const Tensor& x, double p, bool train, Generator* gen = nullptr);
EMBER_API Tensor& feature_alpha_dropout_(Tensor& x, double p, bool train, Generator* gen = nullptr);

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

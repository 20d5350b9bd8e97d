// Normalization layers, forward and backward side by side: layer_norm.
//
// layer_norm views its input as [M rows, N = prod(normalized_shape)] and normalises each row
// with its own mean and biased variance, accumulated in double. The fused backward computes,
// per row, dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) with gw = g * weight, and the
// weight/bias gradients as column sums over rows; those sums run over fixed blocks of rows
// whose partial results are added in block order, so they do not depend on the thread count.
// Under create_graph the backward is the same formula written with public ops.
#include <cmath>
#include <vector>
#include "elementwise_kernels.h"

namespace ember {

namespace {

// Rows per partial sum of the weight/bias gradients: at least 32, and at most ~64 partials. It
// depends on the row count only, never on the thread count.
int64_t row_block(int64_t rows) { return std::max<int64_t>(32, (rows + 63) / 64); }

// Checks the shapes and returns N, the number of normalised elements per row.
int64_t check_layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias) {
  if (normalized_shape.empty())
    throw Error("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
                "but got normalized_shape = []");
  auto check_param = [&](const Tensor& p, const char* name) {
    if (p.defined() && p.sizes() != normalized_shape)
      throw Error(str_cat("Expected ", name, " to be of same shape as normalized_shape, but got ", name, " of shape ",
                          shape_str(p.sizes()), " and normalized_shape = ", shape_str(normalized_shape)));
    if (p.defined() && p.dtype() != x.dtype())
      throw Error(str_cat("expected scalar type ", scalar_type_name(x.dtype()), " but found ",
                          scalar_type_name(p.dtype())));
  };
  check_param(weight, "weight");
  check_param(bias, "bias");
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool ok = x.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = x.sizes()[x.dim() - k + i] == normalized_shape[i];
  if (!ok) {
    std::string expected = "[*";
    for (auto s : normalized_shape) expected += str_cat(", ", s);
    throw Error(str_cat("Given normalized_shape=", shape_str(normalized_shape), ", expected input with shape ",
                        expected, "], but got input of size", shape_str(x.sizes())));
  }
  if (!is_floating(x.dtype())) not_implemented_for("LayerNormKernelImpl", x.dtype());
  return shape_numel(normalized_shape);
}

// Shape of mean/rstd: the leading dims of x, then ones for the normalised dims (as torch).
Shape stats_shape(const Tensor& x, size_t k) {
  Shape s = x.sizes();
  for (size_t i = s.size() - k; i < s.size(); ++i) s[i] = 1;
  return s;
}

Tensor contiguous_nograd(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  NoGradGuard ng;
  return contiguous(t);
}

template <typename T>
void layer_norm_forward_kernel(const T* x, const T* w, const T* b, T* out, T* mean, T* rstd, int64_t M, int64_t N,
                               double eps) {
  parallel_for(0, M, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(N, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * N;
      double s = 0;
      for (int64_t j = 0; j < N; ++j) s += xr[j];
      double mu = s / static_cast<double>(N);
      double v = 0;
      for (int64_t j = 0; j < N; ++j) {
        double d = xr[j] - mu;
        v += d * d;
      }
      double rs = 1.0 / std::sqrt(v / static_cast<double>(N) + eps);
      mean[r] = static_cast<T>(mu);
      rstd[r] = static_cast<T>(rs);
      T m = static_cast<T>(mu), sc = static_cast<T>(rs);
      T* o = out + r * N;
      if (w && b) for (int64_t j = 0; j < N; ++j) o[j] = (xr[j] - m) * sc * w[j] + b[j];
      else if (w) for (int64_t j = 0; j < N; ++j) o[j] = (xr[j] - m) * sc * w[j];
      else if (b) for (int64_t j = 0; j < N; ++j) o[j] = (xr[j] - m) * sc + b[j];
      else for (int64_t j = 0; j < N; ++j) o[j] = (xr[j] - m) * sc;
    }
  });
}

// dx (when dx != nullptr) and the weight/bias gradients (when dw/db != nullptr).
template <typename T>
void layer_norm_backward_kernel(const T* g, const T* x, const T* mean, const T* rstd, const T* w, T* dx, T* dw,
                                T* db, int64_t M, int64_t N) {
  const int64_t kRowBlock = row_block(M);
  int64_t blocks = (M + kRowBlock - 1) / kRowBlock;
  bool param_grads = dw || db;
  std::vector<double> partial_w(param_grads ? static_cast<size_t>(blocks * N) : 0);
  std::vector<double> partial_b(param_grads ? static_cast<size_t>(blocks * N) : 0);
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(N * kRowBlock, 1));
  parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    std::vector<double> gw(static_cast<size_t>(N));
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* pw = param_grads ? partial_w.data() + blk * N : nullptr;
      double* pb = param_grads ? partial_b.data() + blk * N : nullptr;
      for (int64_t r = blk * kRowBlock; r < std::min(M, (blk + 1) * kRowBlock); ++r) {
        const T* gr = g + r * N;
        const T* xr = x + r * N;
        double m = mean[r], rs = rstd[r];
        if (param_grads)
          for (int64_t j = 0; j < N; ++j) {
            double xhat = (xr[j] - m) * rs;
            pw[j] += gr[j] * xhat;
            pb[j] += gr[j];
          }
        if (!dx) continue;
        double sum_gw = 0, sum_gw_xhat = 0;
        for (int64_t j = 0; j < N; ++j) {
          gw[j] = w ? static_cast<double>(gr[j]) * w[j] : static_cast<double>(gr[j]);
          sum_gw += gw[j];
          sum_gw_xhat += gw[j] * (xr[j] - m) * rs;
        }
        double a = sum_gw / static_cast<double>(N), c = sum_gw_xhat / static_cast<double>(N);
        T* d = dx + r * N;
        for (int64_t j = 0; j < N; ++j) d[j] = static_cast<T>(rs * (gw[j] - a - (xr[j] - m) * rs * c));
      }
    }
  });
  if (!param_grads) return;
  for (int64_t j = 0; j < N; ++j) {
    double sw = 0, sb = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sw += partial_w[blk * N + j];
      sb += partial_b[blk * N + j];
    }
    if (dw) dw[j] = static_cast<T>(sw);
    if (db) db[j] = static_cast<T>(sb);
  }
}

// The backward formula with public ops (differentiable again, for create_graph).
GradList layer_norm_backward_composite(const Tensor& g, const Tensor& x, const Tensor& w, size_t k, double eps,
                                       const FunctionNode& self) {
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - static_cast<int64_t>(k); d < x.dim(); ++d) dims.push_back(d);
  Tensor centred = x - mean(x, dims, true);
  Tensor rstd = rsqrt(mean(centred * centred, dims, true) + eps);
  Tensor xhat = centred * rstd;
  GradList r(3);
  if (self.needs_grad(0)) {
    Tensor gw = w.defined() ? g * w : g;
    r[0] = rstd * (gw - mean(gw, dims, true) - xhat * mean(gw * xhat, dims, true));
  }
  if (self.needs_grad(1)) r[1] = sum_to(g * xhat, w.sizes());
  if (self.needs_grad(2)) {
    Shape nshape(x.sizes().end() - k, x.sizes().end());
    r[2] = sum_to(g, nshape);
  }
  return r;
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& x, const Shape& normalized_shape,
                                                     const Tensor& weight, const Tensor& bias, double eps) {
  int64_t N = check_layer_norm(x, normalized_shape, weight, bias);
  int64_t M = shape_numel(Shape(x.sizes().begin(), x.sizes().end() - normalized_shape.size()));
  Tensor xc = contiguous_nograd(x), wc = contiguous_nograd(weight), bc = contiguous_nograd(bias);
  Tensor out = empty(x.sizes(), x.dtype());
  Shape sshape = stats_shape(x, normalized_shape.size());
  Tensor mean_t = empty(sshape, x.dtype()), rstd_t = empty(sshape, x.dtype());
  dispatch_floating(x.dtype(), "LayerNormKernelImpl", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_forward_kernel<T>(xc.data<T>(), wc.defined() ? wc.data<T>() : nullptr,
                                 bc.defined() ? bc.data<T>() : nullptr, out.data<T>(), mean_t.data<T>(),
                                 rstd_t.data<T>(), M, N, eps);
  });
  if (any_requires_grad({&x, &weight, &bias})) {
    size_t k = normalized_shape.size();
    record_function(
        "NativeLayerNormBackward0", {x, weight, bias}, {&out},
        [k, eps, M, N](const GradList& gs, FunctionNode& self) {
          Tensor x = self.saved(0), w = self.saved(1);
          if (grad_enabled()) return layer_norm_backward_composite(gs[0], x, w, k, eps, self);
          Tensor g = contiguous_nograd(gs[0]), xc = contiguous_nograd(x), wc = contiguous_nograd(w);
          Tensor mean_t = self.saved(2), rstd_t = self.saved(3);
          GradList r(3);
          Shape nshape(x.sizes().end() - k, x.sizes().end());
          if (self.needs_grad(0)) r[0] = empty(x.sizes(), x.dtype());
          if (self.needs_grad(1)) r[1] = empty(nshape, x.dtype());
          if (self.needs_grad(2)) r[2] = empty(nshape, x.dtype());
          dispatch_floating(x.dtype(), "LayerNormBackwardKernelImpl", [&](auto tag) {
            using T = decltype(tag);
            auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
            layer_norm_backward_kernel<T>(g.data<T>(), xc.data<T>(), mean_t.data<T>(), rstd_t.data<T>(), ptr(wc),
                                          ptr(r[0]), ptr(r[1]), ptr(r[2]), M, N);
          });
          return r;
        },
        {{x, false}, {weight, false}, {mean_t, false}, {rstd_t, false}});
  }
  return {out, mean_t, rstd_t};
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  return std::get<0>(native_layer_norm(x, normalized_shape, weight, bias, eps));
}

}  // namespace ember

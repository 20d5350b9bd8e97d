// Batch, instance and group normalization, forward and backward side by side.
//
// batch_norm views its input as [N, C, S] (S the product of the spatial dims) and normalises
// every channel c with statistics over its N * S values. Each channel is reduced by one thread
// in a fixed order (n, then s, with 8 double accumulators), so results do not depend on the
// thread count; the elementwise pass y = (x - mean[c]) * scale[c] + bias[c] follows each
// channel's reduction on the same thread, while the channel's data is still in cache. The
// fused backward needs two per-channel sums, sum(g) and sum(g * (x - mean)), then one
// elementwise pass dx = g * k1[c] + (x - mean[c]) * k2[c] + k3[c]. instance_norm is batch_norm
// over the input viewed as [1, N * C, S], as in torch. group_norm normalises each (n, group)
// row of (C / G) * S contiguous values. Under create_graph the backwards are the same formulas
// written with public ops.
#include <cmath>
#include <vector>
#include "elementwise_kernels.h"

namespace ember {

namespace {

constexpr int kLanes = 8;

// sum_{j < n} f(j) with kLanes independent accumulators: vectorisable, and the order of the
// additions depends on n only.
template <typename F>
inline double lane_sum(int64_t n, const F& f) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += f(j + k);
  for (int k = 0; j < n; ++j, ++k) acc[k] += f(j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Two sums in one pass: (sum f(j), sum h(j)).
template <typename F, typename H>
inline std::pair<double, double> lane_sum2(int64_t n, const F& f, const H& h) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      a[k] += f(j + k);
      b[k] += h(j + k);
    }
  for (int k = 0; j < n; ++j, ++k) {
    a[k] += f(j);
    b[k] += h(j);
  }
  auto total = [](const double* v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); };
  return {total(a), total(b)};
}

Tensor contiguous_nograd(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  NoGradGuard ng;
  return contiguous(t);
}

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Shape that broadcasts a per-channel vector against x: (1, C, 1, ..., 1).
Shape channel_shape(const Tensor& x) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

// All dims but the channel dim.
std::vector<int64_t> non_channel_dims(const Tensor& x) {
  std::vector<int64_t> d{0};
  for (int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}

void check_param_dtype(const Tensor& x, const Tensor& p) {
  if (!p.defined() || p.dtype() == x.dtype()) return;
  if (x.dtype() == DType::Float32)
    throw Error("mixed dtype (CPU): expect parameter to have scalar type of Float");
  throw Error("mixed dtype (CPU): all inputs must share same datatype.");
}

// ---- batch norm kernels --------------------------------------------------------------------
// Each works on a range of channels [c0, c1) of x viewed [N, C, S]; the ops run one parallel_for
// over channels and, per range, reduce and then apply, so the second pass over a channel's data
// finds it in cache. A (N, C) input (S == 1) is walked row by row, vectorised over channels.

// Channel ranges of about kGrainSize elements (at least 8 channels when S == 1).
template <typename F>
void for_channels(int64_t N, int64_t C, int64_t S, const F& body) {
  const int64_t per_channel = std::max<int64_t>(N * S, 1);
  parallel_for(0, C, std::max<int64_t>(S == 1 ? 8 : 1, kGrainSize / per_channel), body);
}

// Per channel: the mean and the sum of squared deviations from it (m2).
template <typename T>
void channel_moments(const T* x, int64_t N, int64_t C, int64_t S, int64_t c0, int64_t c1, double* mean,
                     double* m2) {
  const double count = static_cast<double>(N * S);
  if (S == 1) {
    for (int64_t c = c0; c < c1; ++c) mean[c] = m2[c] = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) mean[c] += x[n * C + c];
    for (int64_t c = c0; c < c1; ++c) mean[c] /= count;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        double d = x[n * C + c] - mean[c];
        m2[c] += d * d;
      }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * S;
      s += lane_sum(S, [p](int64_t j) { return static_cast<double>(p[j]); });
    }
    double mu = s / count, v = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * S;
      v += lane_sum(S, [p, mu](int64_t j) {
        double d = p[j] - mu;
        return d * d;
      });
    }
    mean[c] = mu;
    m2[c] = v;
  }
}

// out = (x - m[c]) * a[c] + b[c] (+ g * k[c] when g is given): the forward and the backward
// dx = (x - mean) * k2 + k3 + g * k1 share this loop (centred, so large means cancel exactly).
template <typename T>
void channel_affine(const T* x, const T* g, T* out, const T* m, const T* a, const T* b, const T* k, int64_t N,
                    int64_t C, int64_t S, int64_t c0, int64_t c1) {
  if (S == 1) {
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * C;
      T* o = out + n * C;
      if (g) {
        const T* gr = g + n * C;
        for (int64_t c = c0; c < c1; ++c) o[c] = (xr[c] - m[c]) * a[c] + b[c] + gr[c] * k[c];
      } else {
        for (int64_t c = c0; c < c1; ++c) o[c] = (xr[c] - m[c]) * a[c] + b[c];
      }
    }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    const T mc = m[c], ac = a[c], bc = b[c];
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c) * S;
      const T* xp = x + off;
      T* o = out + off;
      if (g) {
        const T* gp = g + off;
        const T kc = k[c];
        for (int64_t j = 0; j < S; ++j) o[j] = (xp[j] - mc) * ac + bc + gp[j] * kc;
      } else {
        for (int64_t j = 0; j < S; ++j) o[j] = (xp[j] - mc) * ac + bc;
      }
    }
  }
}

// Per channel: sum(g) and sum(g * (x - mean[c])).
template <typename T>
void channel_grad_sums(const T* g, const T* x, const double* mean, int64_t N, int64_t C, int64_t S, int64_t c0,
                       int64_t c1, double* sum_g, double* sum_gx) {
  if (S == 1) {
    for (int64_t c = c0; c < c1; ++c) sum_g[c] = sum_gx[c] = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        double gv = g[n * C + c];
        sum_g[c] += gv;
        sum_gx[c] += gv * (x[n * C + c] - mean[c]);
      }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    double sg = 0, sgx = 0;
    const double mu = mean[c];
    for (int64_t n = 0; n < N; ++n) {
      const T* gp = g + (n * C + c) * S;
      const T* xp = x + (n * C + c) * S;
      auto r = lane_sum2(
          S, [gp](int64_t j) { return static_cast<double>(gp[j]); },
          [gp, xp, mu](int64_t j) { return static_cast<double>(gp[j]) * (xp[j] - mu); });
      sg += r.first;
      sgx += r.second;
    }
    sum_g[c] = sg;
    sum_gx[c] = sgx;
  }
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  Tensor c = contiguous_nograd(t);
  dispatch_floating(t.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  });
  return v;
}

Tensor from_doubles(const std::vector<double>& v, DType dtype) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, dtype);
  dispatch_floating(dtype, "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
  return t;
}

// running = (1 - momentum) * running + momentum * value, in place, without autograd.
void update_running(Tensor& running, const std::vector<double>& value, double momentum) {
  std::vector<double> r = to_doubles(running);
  for (size_t i = 0; i < r.size(); ++i) r[i] = (1 - momentum) * r[i] + momentum * value[i];
  NoGradGuard ng;
  if (running.is_contiguous()) {
    dispatch_floating(running.dtype(), "batch_norm", [&](auto tag) {
      using T = decltype(tag);
      T* p = running.data<T>();
      for (size_t i = 0; i < r.size(); ++i) p[i] = static_cast<T>(r[i]);
    });
  } else {
    copy_(running, reshape(from_doubles(r, running.dtype()), running.sizes()));
  }
}

// The batch norm backward with public ops (differentiable again, for create_graph); the weight
// and bias gradients have shape (C,).
GradList batch_norm_backward_composite(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& mean_t,
                                       const Tensor& invstd_t, bool training, double eps, const FunctionNode& self) {
  std::vector<int64_t> dims = non_channel_dims(x);
  Shape cs = channel_shape(x);
  Tensor wb = w.defined() ? reshape(w, cs) : Tensor();
  GradList r(3);
  if (training) {
    Tensor centred = x - mean(x, dims, true);
    Tensor invstd = rsqrt(mean(centred * centred, dims, true) + eps);
    Tensor xhat = centred * invstd;
    if (self.needs_grad(0)) {
      Tensor gw = wb.defined() ? g * wb : g;
      r[0] = invstd * (gw - mean(gw, dims, true) - xhat * mean(gw * xhat, dims, true));
    }
    if (self.needs_grad(1)) r[1] = sum(g * xhat, dims);
  } else {
    Tensor invstd = reshape(invstd_t, cs);
    if (self.needs_grad(0)) r[0] = wb.defined() ? g * (wb * invstd) : g * invstd;
    if (self.needs_grad(1)) r[1] = sum(g * ((x - reshape(mean_t, cs)) * invstd), dims);
  }
  if (self.needs_grad(2)) r[2] = sum(g, dims);
  return r;
}

void check_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                      const Tensor& running_var, bool training) {
  if (x.dim() < 2)
    throw Error(str_cat("batch_norm: expected input with at least 2 dimensions (N, C, *), but got input of size ",
                        shape_str(x.sizes())));
  const int64_t C = x.size(1);
  if (!training && !running_mean.defined()) throw Error("running_mean must be defined in evaluation mode");
  if (!training && !running_var.defined()) throw Error("running_var must be defined in evaluation mode");
  auto check_numel = [C](const Tensor& t, const char* name) {
    if (t.defined() && t.numel() != C) throw Error(str_cat(name, " should contain ", C, " elements not ", t.numel()));
  };
  check_numel(running_mean, "running_mean");
  check_numel(running_var, "running_var");
  check_numel(weight, "weight");
  check_numel(bias, "bias");
  if (!is_floating(x.dtype())) not_implemented_for("batch_norm", x.dtype());
  for (const Tensor* p : {&weight, &bias, &running_mean, &running_var}) check_param_dtype(x, *p);
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> native_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                     const Tensor& running_mean, const Tensor& running_var,
                                                     bool training, double momentum, double eps) {
  check_batch_norm(x, weight, bias, running_mean, running_var, training);
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(N * C, 1);
  Tensor xc = contiguous_nograd(x);
  std::vector<double> mean_v(static_cast<size_t>(C)), invstd_v(static_cast<size_t>(C)), m2(static_cast<size_t>(C));
  std::vector<double> w_v = weight.defined() ? to_doubles(weight) : std::vector<double>(C, 1.0);
  std::vector<double> b_v = bias.defined() ? to_doubles(bias) : std::vector<double>(C, 0.0);
  if (!training) {
    mean_v = to_doubles(running_mean);
    std::vector<double> var_v = to_doubles(running_var);
    for (int64_t c = 0; c < C; ++c) invstd_v[c] = 1.0 / std::sqrt(var_v[c] + eps);
  }
  const double count = static_cast<double>(N * S);
  Tensor out = empty(x.sizes(), x.dtype());
  if (x.numel() > 0)
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
      using T = decltype(tag);
      // y = (x - mean) * scale + b with scale = w * invstd
      std::vector<T> centre(static_cast<size_t>(C)), scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
      const T* xp = xc.data<T>();
      T* op = out.data<T>();
      for_channels(N, C, S, [&](int64_t c0, int64_t c1) {
        if (training) {
          channel_moments<T>(xp, N, C, S, c0, c1, mean_v.data(), m2.data());
          for (int64_t c = c0; c < c1; ++c) invstd_v[c] = 1.0 / std::sqrt(m2[c] / count + eps);
        }
        for (int64_t c = c0; c < c1; ++c) {
          centre[c] = static_cast<T>(mean_v[c]);
          scale[c] = static_cast<T>(w_v[c] * invstd_v[c]);
          shift[c] = static_cast<T>(b_v[c]);
        }
        channel_affine<T>(xp, nullptr, op, centre.data(), scale.data(), shift.data(), nullptr, N, C, S, c0, c1);
      });
    });
  else if (training)
    for (int64_t c = 0; c < C; ++c) invstd_v[c] = 1.0 / std::sqrt(m2[c] / count + eps);
  if (training && running_mean.defined() && x.numel() > 0) {
    Tensor rm = running_mean, rv = running_var;
    std::vector<double> unbiased(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) unbiased[c] = m2[c] / (count - 1);
    update_running(rm, mean_v, momentum);
    if (rv.defined()) update_running(rv, unbiased, momentum);
  }
  Tensor mean_t = from_doubles(mean_v, x.dtype()), invstd_t = from_doubles(invstd_v, x.dtype());
  if (any_requires_grad({&x, &weight, &bias})) {
    Shape wshape = weight.defined() ? weight.sizes() : Shape{C};
    Shape bshape = bias.defined() ? bias.sizes() : Shape{C};
    record_function(
        "NativeBatchNormBackward0", {x, weight, bias}, {&out},
        [training, eps, N, C, S, wshape, bshape](const GradList& gs, FunctionNode& self) {
          Tensor x = self.saved(0), w = self.saved(1), mean_t = self.saved(2), invstd_t = self.saved(3);
          if (grad_enabled()) {
            GradList r = batch_norm_backward_composite(gs[0], x, w, mean_t, invstd_t, training, eps, self);
            if (r[1].defined()) r[1] = reshape(r[1], wshape);
            if (r[2].defined()) r[2] = reshape(r[2], bshape);
            return r;
          }
          Tensor g = contiguous_nograd(gs[0]), xc = contiguous_nograd(x);
          std::vector<double> mu = to_doubles(mean_t), rs = to_doubles(invstd_t);
          std::vector<double> w_v = w.defined() ? to_doubles(w) : std::vector<double>(C, 1.0);
          std::vector<double> sum_g(static_cast<size_t>(C)), sum_gx(static_cast<size_t>(C));
          GradList r(3);
          dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto tag) {
            using T = decltype(tag);
            const T* gp = g.data<T>();
            const T* xp = xc.data<T>();
            if (self.needs_grad(0)) r[0] = empty(x.sizes(), x.dtype());
            T* dx = r[0].defined() ? r[0].data<T>() : nullptr;
            // dx = g * k1 + (x - mean) * k2 + k3 (in training the batch statistics depend on x too)
            std::vector<T> centre(mu.begin(), mu.end());
            std::vector<T> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
            const double count = static_cast<double>(N * S);
            if (x.numel() > 0)
              for_channels(N, C, S, [&](int64_t c0, int64_t c1) {
                channel_grad_sums<T>(gp, xp, mu.data(), N, C, S, c0, c1, sum_g.data(), sum_gx.data());
                if (!dx) return;
                for (int64_t c = c0; c < c1; ++c) {
                  const double a = w_v[c] * rs[c];
                  const double b = training ? -a * rs[c] * rs[c] * sum_gx[c] / count : 0.0;
                  k1[c] = static_cast<T>(a);
                  k2[c] = static_cast<T>(b);
                  k3[c] = static_cast<T>(training ? -a * sum_g[c] / count : 0.0);
                }
                channel_affine<T>(xp, gp, dx, centre.data(), k2.data(), k3.data(), k1.data(), N, C, S, c0, c1);
              });
            if (self.needs_grad(1)) {
              for (int64_t c = 0; c < C; ++c) sum_gx[c] *= rs[c];
              r[1] = reshape(from_doubles(sum_gx, x.dtype()), wshape);
            }
            if (self.needs_grad(2)) r[2] = reshape(from_doubles(sum_g, x.dtype()), bshape);
          });
          return r;
        },
        {{x, false}, {weight, false}, {mean_t, false}, {invstd_t, false}});
  }
  return {out, mean_t, invstd_t};
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  if (running_mean.defined() != running_var.defined() && training)
    throw ValueError("running_mean and running_var must either both be None or neither be None");
  return std::get<0>(native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps));
}

// ---- instance norm: batch norm over [1, N * C, *] ---------------------------------------------

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, bool use_input_stats, double momentum, double eps) {
  if (x.dim() < 2)
    throw Error(str_cat("instance_norm: expected input with at least 2 dimensions (N, C, *), but got input of size ",
                        shape_str(x.sizes())));
  if (!use_input_stats && (!running_mean.defined() || !running_var.defined()))
    throw Error("Expected running_mean and running_var to be defined when use_input_stats is false");
  const int64_t N = x.size(0), C = x.size(1);
  Shape flat = x.sizes();
  flat[0] = 1;
  flat[1] = N * C;
  auto repeated = [N](const Tensor& t) { return t.defined() ? repeat(t, {N}) : Tensor(); };
  Tensor rm, rv;
  {
    NoGradGuard ng;
    rm = repeated(running_mean);
    rv = repeated(running_var);
  }
  Tensor out = batch_norm(view(contiguous(x), flat), repeated(weight), repeated(bias), rm, rv, use_input_stats,
                          momentum, eps);
  if (use_input_stats && running_mean.defined() && x.numel() > 0) {
    NoGradGuard ng;
    Tensor dst_m = running_mean, dst_v = running_var;
    copy_(dst_m, mean(view(rm, {N, C}), std::vector<int64_t>{0}));
    copy_(dst_v, mean(view(rv, {N, C}), std::vector<int64_t>{0}));
  }
  return view(out, x.sizes());
}

// ---- group norm ------------------------------------------------------------------------------

namespace {

void check_group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias) {
  if (x.dim() < 2)
    throw Error(str_cat("Expected at least 2 dimensions for input tensor but received ", x.dim()));
  if (groups <= 0) throw Error(str_cat("Expected num groups to be greater than 0, got ", groups));
  const int64_t C = x.size(1);
  if (C % groups != 0)
    throw Error(str_cat("Expected number of channels in input to be divisible by num_groups, but got input of shape ",
                        shape_str(x.sizes()), " and num_groups=", groups));
  auto check_vec = [&](const Tensor& t, const char* name) {
    if (t.defined() && (t.dim() != 1 || t.numel() != C))
      throw Error(str_cat("Expected ", name,
                          " to be a vector of size equal to the number of channels in input, but got ", name,
                          " of shape ", shape_str(t.sizes()), " and input of shape ", shape_str(x.sizes())));
  };
  check_vec(weight, "weight");
  check_vec(bias, "bias");
  if (!is_floating(x.dtype())) not_implemented_for("GroupNormKernelImpl", x.dtype());
  check_param_dtype(x, weight);
  check_param_dtype(x, bias);
}

// The group norm backward with public ops (differentiable again, for create_graph).
GradList group_norm_backward_composite(const Tensor& g, const Tensor& x, const Tensor& w, int64_t groups, double eps,
                                       const FunctionNode& self) {
  const int64_t N = x.size(0);
  Shape rows{N, groups, -1};
  std::vector<int64_t> last{2};
  Tensor xr = reshape(x, rows);
  Tensor centred = xr - mean(xr, last, true);
  Tensor rstd = rsqrt(mean(centred * centred, last, true) + eps);
  Tensor xhat = centred * rstd;
  GradList r(3);
  Shape cs = channel_shape(x);
  if (self.needs_grad(0)) {
    Tensor gw = reshape(w.defined() ? g * reshape(w, cs) : g, rows);
    r[0] = reshape(rstd * (gw - mean(gw, last, true) - xhat * mean(gw * xhat, last, true)), x.sizes());
  }
  std::vector<int64_t> dims = non_channel_dims(x);
  if (self.needs_grad(1)) r[1] = sum(g * reshape(xhat, x.sizes()), dims);
  if (self.needs_grad(2)) r[2] = sum(g, dims);
  return r;
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> native_group_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                                     int64_t groups, double eps) {
  check_group_norm(x, groups, weight, bias);
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(N * C, 1), D = C / groups;
  const int64_t R = N * groups, L = D * S;  // rows of contiguous group elements
  Tensor xc = contiguous_nograd(x), wc = contiguous_nograd(weight), bc = contiguous_nograd(bias);
  Tensor out = empty(x.sizes(), x.dtype());
  Tensor mean_t = empty({N, groups}, x.dtype()), rstd_t = empty({N, groups}, x.dtype());
  dispatch_floating(x.dtype(), "GroupNormKernelImpl", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = xc.data<T>();
    const T* w = ptr_or_null<T>(wc);
    const T* b = ptr_or_null<T>(bc);
    T* o = out.data<T>();
    T* mp = mean_t.data<T>();
    T* rp = rstd_t.data<T>();
    parallel_for(0, R, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = xp + r * L;
        double mu = L > 0 ? lane_sum(L, [row](int64_t j) { return static_cast<double>(row[j]); }) / L : 0.0;
        double v = lane_sum(L, [row, mu](int64_t j) {
          double d = row[j] - mu;
          return d * d;
        });
        double rs = 1.0 / std::sqrt((L > 0 ? v / L : 0.0) + eps);
        mp[r] = static_cast<T>(mu);
        rp[r] = static_cast<T>(rs);
        const int64_t n = r / groups, c0 = (r % groups) * D;
        for (int64_t d = 0; d < D; ++d) {
          const int64_t c = c0 + d;
          const double sc = w ? w[c] * rs : rs;
          const T scale = static_cast<T>(sc), shift = static_cast<T>((b ? b[c] : 0.0) - mu * sc);
          const T* xpl = xp + (n * C + c) * S;
          T* opl = o + (n * C + c) * S;
          for (int64_t j = 0; j < S; ++j) opl[j] = xpl[j] * scale + shift;
        }
      }
    });
  });
  if (any_requires_grad({&x, &weight, &bias})) {
    record_function(
        "NativeGroupNormBackward0", {x, weight, bias}, {&out},
        [N, C, S, D, groups, eps](const GradList& gs, FunctionNode& self) {
          Tensor x = self.saved(0), w = self.saved(1);
          if (grad_enabled()) return group_norm_backward_composite(gs[0], x, w, groups, eps, self);
          Tensor g = contiguous_nograd(gs[0]), xc = contiguous_nograd(x), wc = contiguous_nograd(w);
          Tensor mean_t = self.saved(2), rstd_t = self.saved(3);
          GradList r(3);
          if (self.needs_grad(0)) r[0] = empty(x.sizes(), x.dtype());
          // Per (n, c) plane: ds = sum(g * (x - mean)), db = sum(g); then, for the (n, group) row
          // while it is in cache, dx = g * w * rstd + (x - mean) * c2 + c3.
          std::vector<double> ds(static_cast<size_t>(N * C)), db(static_cast<size_t>(N * C));
          dispatch_floating(x.dtype(), "GroupNormBackwardKernelImpl", [&](auto tag) {
            using T = decltype(tag);
            const T* gp = g.data<T>();
            const T* xp = xc.data<T>();
            const T* w = ptr_or_null<T>(wc);
            const T* mp = mean_t.data<T>();
            const T* rp = rstd_t.data<T>();
            T* dx = r[0].defined() ? r[0].data<T>() : nullptr;
            const double inv_count = 1.0 / static_cast<double>(std::max<int64_t>(D * S, 1));
            parallel_for(0, N * groups, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(D * S, 1)),
                         [&](int64_t r0, int64_t r1) {
              for (int64_t row = r0; row < r1; ++row) {
                const int64_t n = row / groups, c0 = (row % groups) * D;
                const double mu = mp[row], rs = rp[row];
                double ds_sum = 0, db_sum = 0;
                for (int64_t c = c0; c < c0 + D; ++c) {
                  const T* gpl = gp + (n * C + c) * S;
                  const T* xpl = xp + (n * C + c) * S;
                  auto sums = lane_sum2(
                      S, [gpl, xpl, mu](int64_t j) { return static_cast<double>(gpl[j]) * (xpl[j] - mu); },
                      [gpl](int64_t j) { return static_cast<double>(gpl[j]); });
                  ds[n * C + c] = sums.first;
                  db[n * C + c] = sums.second;
                  const double wc_ = w ? w[c] : 1.0;
                  ds_sum += sums.first * wc_;
                  db_sum += sums.second * wc_;
                }
                if (!dx) continue;
                const T k2 = static_cast<T>(-ds_sum * rs * rs * rs * inv_count);
                const T k3 = static_cast<T>(-db_sum * rs * inv_count), m = static_cast<T>(mu);
                for (int64_t c = c0; c < c0 + D; ++c) {
                  const T k1 = static_cast<T>((w ? w[c] : 1.0) * rs);
                  const T* gpl = gp + (n * C + c) * S;
                  const T* xpl = xp + (n * C + c) * S;
                  T* dpl = dx + (n * C + c) * S;
                  for (int64_t j = 0; j < S; ++j) dpl[j] = gpl[j] * k1 + (xpl[j] - m) * k2 + k3;
                }
              }
            });
            if (self.needs_grad(1) || self.needs_grad(2)) {
              std::vector<double> dw(static_cast<size_t>(C), 0.0), dbias(static_cast<size_t>(C), 0.0);
              for (int64_t n = 0; n < N; ++n)
                for (int64_t c = 0; c < C; ++c) {
                  const int64_t row = n * groups + c / D;
                  dw[c] += ds[n * C + c] * rp[row];
                  dbias[c] += db[n * C + c];
                }
              if (self.needs_grad(1)) r[1] = from_doubles(dw, x.dtype());
              if (self.needs_grad(2)) r[2] = from_doubles(dbias, x.dtype());
            }
          });
          return r;
        },
        {{x, false}, {weight, false}, {mean_t, false}, {rstd_t, false}});
  }
  return {out, mean_t, rstd_t};
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  return std::get<0>(native_group_norm(x, weight, bias, groups, eps));
}

}  // namespace ember

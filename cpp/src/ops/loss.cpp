// Loss functions, forward and backward side by side.
//
// Pointwise losses (mse, l1, smooth_l1, huber, binary cross entropy with and without logits)
// share one forward and one backward loop; each loss is a small struct with its scalar value
// and derivatives (for the fused first-order backward) and the same derivatives written with
// public ops (for create_graph). Classification losses view the input as [N, C, S] (S the
// product of the dims after the class dim) and handle one sample (n, s) per iteration: the
// fused cross entropy computes the log-softmax of the sample, its loss and, in backward, its
// gradient, without materialising intermediate tensors. Reductions sum fixed-size chunks in
// index order, so results do not depend on the thread count.
#include <atomic>
#include <cmath>
#include <vector>
#include "elementwise_kernels.h"

namespace ember {

namespace {

constexpr int64_t kSumChunk = 4096;

// sum_{i < n} f(i) in double, chunk by chunk in a fixed order.
template <typename F>
double chunked_sum(int64_t n, const F& f) {
  int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  parallel_for(0, chunks, std::max<int64_t>(1, kGrainSize / kSumChunk), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      for (int64_t i = c * kSumChunk, end = std::min(n, i + kSumChunk); i < end; ++i) s += f(i);
      part[static_cast<size_t>(c)] = s;
    }
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

// x broadcast to `shape`, cast to dt and made contiguous (no copy when it already is); records
// no autograd history.
Tensor dense(const Tensor& x, const Shape& shape, DType dt) {
  NoGradGuard ng;
  Tensor c = cast_nograd(x, dt);
  if (c.sizes() != shape) c = expand(c, shape);
  return contiguous(c);
}

template <typename T>
const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

void check_weight_no_grad(const Tensor& w, const char* fn, const char* arg = "weight") {
  if (w.defined() && w.requires_grad() && grad_enabled())
    throw Error(str_cat("The function '", fn, "' is not differentiable with respect to argument '", arg, "'. "
                        "This input cannot have requires_grad True."));
}

// ---- pointwise losses ------------------------------------------------------------------------
// Each struct: value(x, y, pw, param), dx / dy (scalar derivatives, before the weight) and
// dx_t / dy_t (the same derivatives as differentiable tensor expressions). `pw` is pos_weight
// (1 when absent), used by the logits loss only.
struct MseOp {
  template <typename T> static T value(T x, T y, T, double) { T d = x - y; return d * d; }
  template <typename T> static T dx(T x, T y, T, double) { return T(2) * (x - y); }
  template <typename T> static T dy(T x, T y, T pw, double p) { return -dx(x, y, pw, p); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor&, double) { return 2.0 * (x - y); }
  static Tensor dy_t(const Tensor& x, const Tensor& y, const Tensor&, double) { return -2.0 * (x - y); }
};

struct L1Op {
  template <typename T> static T value(T x, T y, T, double) { return std::abs(x - y); }
  template <typename T> static T dx(T x, T y, T, double) { T d = x - y; return static_cast<T>((d > T(0)) - (d < T(0))); }
  template <typename T> static T dy(T x, T y, T pw, double p) { return -dx(x, y, pw, p); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor&, double) { return sign(x - y); }
  static Tensor dy_t(const Tensor& x, const Tensor& y, const Tensor&, double) { return -sign(x - y); }
};

struct SmoothL1Op {  // param: beta
  template <typename T> static T value(T x, T y, T, double beta) {
    T z = std::abs(x - y), b = static_cast<T>(beta);
    return z < b ? T(0.5) * z * z / b : z - T(0.5) * b;
  }
  template <typename T> static T dx(T x, T y, T, double beta) {
    T d = x - y, b = static_cast<T>(beta);
    return d <= -b ? T(-1) : d >= b ? T(1) : d / b;
  }
  template <typename T> static T dy(T x, T y, T pw, double p) { return -dx(x, y, pw, p); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor&, double beta) {
    return clamp((x - y) / beta, wrapped_scalar(-1.0), wrapped_scalar(1.0));
  }
  static Tensor dy_t(const Tensor& x, const Tensor& y, const Tensor& pw, double beta) { return -dx_t(x, y, pw, beta); }
};

struct HuberOp {  // param: delta
  template <typename T> static T value(T x, T y, T, double delta) {
    T z = std::abs(x - y), d = static_cast<T>(delta);
    return z < d ? T(0.5) * z * z : d * (z - T(0.5) * d);
  }
  template <typename T> static T dx(T x, T y, T, double delta) {
    T d = x - y, m = static_cast<T>(delta);
    return d <= -m ? -m : d >= m ? m : d;
  }
  template <typename T> static T dy(T x, T y, T pw, double p) { return -dx(x, y, pw, p); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor&, double delta) {
    return clamp(x - y, wrapped_scalar(-delta), wrapped_scalar(delta));
  }
  static Tensor dy_t(const Tensor& x, const Tensor& y, const Tensor& pw, double delta) { return -dx_t(x, y, pw, delta); }
};

// torch clamps the logs at -100 so that a confident wrong prediction costs 100, not infinity.
struct BceOp {
  template <typename T> static T value(T x, T y, T, double) {
    T log_x = std::max(std::log(x), T(-100)), log_1mx = std::max(std::log1p(-x), T(-100));
    return (y - T(1)) * log_1mx - y * log_x;
  }
  template <typename T> static T dx(T x, T y, T, double) {
    return (x - y) / std::max((T(1) - x) * x, static_cast<T>(1e-12));
  }
  template <typename T> static T dy(T x, T, T, double) { return -std::log(x / (T(1) - x)); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor&, double) {
    return (x - y) / clamp_min((1.0 - x) * x, wrapped_scalar(1e-12));
  }
  static Tensor dy_t(const Tensor& x, const Tensor&, const Tensor&, double) { return -log(x / (1.0 - x)); }
};

template <typename T> T log_sigmoid(T x) { return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x))); }
template <typename T> T sigmoid_of(T x) { return T(1) / (T(1) + std::exp(-x)); }
Tensor log_sigmoid_t(const Tensor& x) { return minimum(x, wrapped_scalar(0.0)) - log1p(exp(-abs(x))); }

// (1 - y) x - (1 + (pw - 1) y) log(sigmoid(x)).
struct BceLogitsOp {
  template <typename T> static T value(T x, T y, T pw, double) {
    return (T(1) - y) * x - (T(1) + (pw - T(1)) * y) * log_sigmoid(x);
  }
  template <typename T> static T dx(T x, T y, T pw, double) { return (pw * y + T(1) - y) * sigmoid_of(x) - pw * y; }
  template <typename T> static T dy(T x, T, T pw, double) { return -x - (pw - T(1)) * log_sigmoid(x); }
  static Tensor dx_t(const Tensor& x, const Tensor& y, const Tensor& pw, double) {
    if (!pw.defined()) return sigmoid(x) - y;
    Tensor t = pw * y;
    return (t + 1.0 - y) * sigmoid(x) - t;
  }
  static Tensor dy_t(const Tensor& x, const Tensor&, const Tensor& pw, double) {
    if (!pw.defined()) return -x;
    return -x - (pw - 1.0) * log_sigmoid_t(x);
  }
};

// Dense operands of a pointwise loss: x, y (and the optional weight / pos_weight) in the
// compute dtype, contiguous, with the broadcast shape.
struct PointwiseArgs {
  Tensor x, y, w, pw;
  Shape shape;
  int64_t n = 0;
  PointwiseArgs(const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor& pos_weight, DType dt) {
    shape = broadcast_all({&input, &target, &weight, &pos_weight});
    n = shape_numel(shape);
    x = dense(input, shape, dt);
    y = dense(target, shape, dt);
    if (weight.defined()) w = dense(weight, shape, dt);
    if (pos_weight.defined()) pw = dense(pos_weight, shape, dt);
  }
};

template <typename Op, typename T>
T pointwise_value(const PointwiseArgs& a, int64_t i, double param) {
  const T* w = ptr_or_null<T>(a.w);
  const T* pw = ptr_or_null<T>(a.pw);
  T v = Op::value(a.x.data<T>()[i], a.y.data<T>()[i], pw ? pw[i] : T(1), param);
  return w ? v * w[i] : v;
}

template <typename Op>
Tensor pointwise_loss(const char* node, const Tensor& input, const Tensor& target, const Tensor& weight,
                      const Tensor& pos_weight, Reduction reduction, double param, DType dt) {
  PointwiseArgs a(input, target, weight, pos_weight, dt);
  Tensor out = reduction == Reduction::None ? empty(a.shape, dt) : empty({}, dt);
  dispatch_floating(dt, node, [&](auto tag) {
    using T = decltype(tag);
    if (reduction == Reduction::None) {
      T* o = out.data<T>();
      parallel_for(0, a.n, kGrainSize / 4, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) o[i] = pointwise_value<Op, T>(a, i, param);
      });
    } else {
      double s = chunked_sum(a.n, [&](int64_t i) { return static_cast<double>(pointwise_value<Op, T>(a, i, param)); });
      *out.data<T>() = static_cast<T>(reduction == Reduction::Mean ? s / static_cast<double>(a.n) : s);
    }
  });
  if (!any_requires_grad({&input, &target})) return out;
  record_function(
      node, {input, target}, {&out},
      [reduction, param, dt, n = a.n, in = InputMeta(input), tg = InputMeta(target)](const GradList& gs,
                                                                                      FunctionNode& self) {
        Tensor x = self.saved(0), y = self.saved(1), w = self.saved(2), pw = self.saved(3);
        bool need_x = self.needs_grad(0), need_y = self.needs_grad(1);
        GradList res(2);
        if (grad_enabled()) {  // create_graph: differentiable formulas
          Tensor g = reduction == Reduction::Mean ? gs[0] / static_cast<double>(n) : gs[0];
          if (w.defined()) g = g * w;
          if (need_x) res[0] = in.reduce(g * Op::dx_t(x, y, pw, param));
          if (need_y) res[1] = tg.reduce(g * Op::dy_t(x, y, pw, param));
          return res;
        }
        PointwiseArgs a(x, y, w, pw, dt);
        Tensor gx = need_x ? empty(a.shape, dt) : Tensor(), gy = need_y ? empty(a.shape, dt) : Tensor();
        Tensor g = reduction == Reduction::None ? dense(gs[0], a.shape, dt) : Tensor();
        double scale = reduction == Reduction::None ? 1.0 : gs[0].item<double>();
        if (reduction == Reduction::Mean) scale /= static_cast<double>(n);
        dispatch_floating(dt, "loss_backward", [&](auto tag) {
          using T = decltype(tag);
          const T *xp = a.x.data<T>(), *yp = a.y.data<T>(), *wp = ptr_or_null<T>(a.w), *pwp = ptr_or_null<T>(a.pw);
          const T* gp = ptr_or_null<T>(g);
          T* gxp = need_x ? gx.data<T>() : nullptr;
          T* gyp = need_y ? gy.data<T>() : nullptr;
          parallel_for(0, a.n, kGrainSize / 4, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
              T s = gp ? gp[i] : static_cast<T>(scale);
              if (wp) s *= wp[i];
              T pv = pwp ? pwp[i] : T(1);
              if (gxp) gxp[i] = s * Op::dx(xp[i], yp[i], pv, param);
              if (gyp) gyp[i] = s * Op::dy(xp[i], yp[i], pv, param);
            }
          });
        });
        if (need_x) res[0] = in.reduce(gx);
        if (need_y) res[1] = tg.reduce(gy);
        return res;
      },
      {{input, false}, {target, false}, {weight, false}, {pos_weight, false}});
  return out;
}

// The dtype a regression loss computes in: torch's promotion; integers have no kernel.
DType regression_dtype(const Tensor& input, const Tensor& target, const char* kernel) {
  DType dt = promote_types(input.dtype(), target.dtype());
  if (!is_floating(dt)) not_implemented_for(kernel, dt);
  return dt;
}

// ---- classification losses -------------------------------------------------------------------
// The input viewed as [N, C, S]: N samples (1 for an unbatched (C,) input), C classes, S
// positions per sample (the product of the dims after the class dim).
struct ClassGeometry {
  int64_t N = 1, C = 1, S = 1;
  int64_t class_dim = 0;
  explicit ClassGeometry(const Tensor& input) {
    int64_t nd = input.dim();
    class_dim = nd == 1 ? 0 : 1;
    C = input.sizes()[class_dim];
    N = nd == 1 ? 1 : input.sizes()[0];
    for (int64_t d = 2; d < nd; ++d) S *= input.sizes()[d];
  }
  int64_t samples() const { return N * S; }
};

// Argument checks of torch's nll_loss_nd, in torch's order and with its messages.
void check_nll_args(const Tensor& input, const Tensor& target, const Tensor& weight) {
  int64_t nd = input.dim();
  if (nd < 1) throw ValueError(str_cat("Expected 1 or more dimensions (got ", nd, ")"));
  int64_t target_batch = target.dim() > 0 ? target.sizes()[0] : 0;
  if (nd != 1 && input.sizes()[0] != target_batch)
    throw ValueError(str_cat("Expected input batch_size (", input.sizes()[0], ") to match target batch_size (",
                             target_batch, ")."));
  if (nd == 1 && target.dim() == 1 && target.sizes()[0] != 1)
    throw ValueError(str_cat("For 1D input, 1D target must have size 1, but got target size: ", target.sizes()[0]));
  if (target.dtype() != DType::Int64 && target.dtype() != DType::UInt8)
    throw Error(str_cat("expected target dtype to be Long or Byte, but got ", scalar_type_name(target.dtype())));
  int64_t C = input.sizes()[nd == 1 ? 0 : 1];
  if (nd <= 2) {
    if (target.dim() > 1) throw Error("0D or 1D target tensor expected, multi-target not supported");
    if (weight.defined() && !(weight.dim() == 1 && weight.numel() == C))
      throw Error(str_cat("weight tensor should be defined either for all ", C,
                          " classes or no classes but got weight tensor of shape: ", shape_str(weight.sizes())));
  } else {
    Shape expected{input.sizes()[0]};
    expected.insert(expected.end(), input.sizes().begin() + 2, input.sizes().end());
    if (nd == 4 && target.dim() != 3)
      throw Error(str_cat("only batches of spatial targets supported (3D tensors) but got targets of dimension: ",
                          target.dim()));
    if (target.sizes() != expected) {
      if (nd == 4)
        throw Error(str_cat("size mismatch (got input: ", shape_str(input.sizes()), " , target: ",
                            shape_str(target.sizes())));
      throw Error(str_cat("Expected target size ", shape_str(expected), ", got ", shape_str(target.sizes())));
    }
    if (weight.defined() && weight.numel() != C)
      throw Error(nd == 4 ? str_cat("weight tensor should be defined either for all ", C,
                                    " classes or no classes but got weight tensor of shape: ", shape_str(weight.sizes()))
                          : std::string("weight tensor should be defined either for all or no classes"));
  }
  if (weight.defined() && weight.dtype() != input.dtype())
    throw Error(str_cat("expected scalar type ", scalar_type_name(input.dtype()), " but found ",
                        scalar_type_name(weight.dtype())));
}

// Every target is a class or ignore_index; the first that is neither is reported.
void check_targets(const Tensor& target, int64_t C, int64_t ignore_index) {
  dispatch_all(target.dtype(), [&](auto tag) {
    using I = decltype(tag);
    if constexpr (std::is_same_v<I, int64_t> || std::is_same_v<I, uint8_t>) {
      const I* t = target.data<I>();
      for (int64_t j = 0, n = target.numel(); j < n; ++j) {
        int64_t v = static_cast<int64_t>(t[j]);
        if (v != ignore_index && (v < 0 || v >= C)) throw IndexError(str_cat("Target ", v, " is out of bounds."));
      }
    }
  });
}

// The class-index loss: per sample j with class t (not ignored), weight w,
//   loss_j = -(1 - eps) w[t] lp[t] - eps / C * sum_c w[c] lp[c],
// lp = log_softmax(x) (kLogSoftmax) or x itself (nll_loss, eps = 0). Also returns w[t] per
// sample (0 when ignored), the denominators of the mean.
template <bool kLogSoftmax, typename T, typename I>
void class_index_forward(const T* x, const I* t, const T* w, T* lp, T* loss, T* wt, const ClassGeometry& g,
                         int64_t ignore_index, double eps) {
  const int64_t C = g.C, S = g.S;
  const T smooth = static_cast<T>(eps / static_cast<double>(C)), keep = static_cast<T>(1.0 - eps);
  parallel_for(0, g.samples(), std::max<int64_t>(1, kGrainSize / (4 * C)), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      int64_t n = j / S, s = j % S, base = n * C * S + s;
      const T* xs = x + base;
      const T* ls = xs;
      if constexpr (kLogSoftmax) {
        T m = xs[0];
        for (int64_t c = 1; c < C; ++c) m = (xs[c * S] > m || xs[c * S] != xs[c * S]) ? xs[c * S] : m;
        if (std::isinf(m)) m = T(0);  // all -inf (or +inf): keep the shift finite, as torch
        T sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += std::exp(xs[c * S] - m);
        T lse = std::log(sum);
        for (int64_t c = 0; c < C; ++c) lp[base + c * S] = (xs[c * S] - m) - lse;
        ls = lp + base;
      }
      int64_t k = static_cast<int64_t>(t[j]);
      if (k == ignore_index) {
        loss[j] = T(0);
        wt[j] = T(0);
        continue;
      }
      T wk = w ? w[k] : T(1);
      T v = -wk * ls[k * S];
      if (eps != 0.0) {
        T sm = 0;
        for (int64_t c = 0; c < C; ++c) sm += (w ? w[c] : T(1)) * ls[c * S];
        v = keep * v - smooth * sm;
      }
      loss[j] = v;
      wt[j] = wk;
    }
  });
}

// Gradient of the class-index loss with respect to its input, scale[j] (or `scale` when
// scale_p is null) times: softmax * ((1 - eps) w[t] + eps W / C) - (1 - eps) w[t] onehot(t)
// - eps w / C for cross entropy; -w[t] onehot(t) for nll_loss.
template <bool kLogSoftmax, typename T, typename I>
void class_index_backward(const T* lp, const I* t, const T* w, const T* scale_p, T scale, T* gx,
                          const ClassGeometry& g, int64_t ignore_index, double eps) {
  const int64_t C = g.C, S = g.S;
  const T smooth = static_cast<T>(eps / static_cast<double>(C)), keep = static_cast<T>(1.0 - eps);
  T wsum = 0;
  for (int64_t c = 0; c < C; ++c) wsum += w ? w[c] : T(1);
  parallel_for(0, g.samples(), std::max<int64_t>(1, kGrainSize / (4 * C)), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      int64_t n = j / S, s = j % S, base = n * C * S + s;
      T* gs = gx + base;
      int64_t k = static_cast<int64_t>(t[j]);
      if (k == ignore_index) {
        for (int64_t c = 0; c < C; ++c) gs[c * S] = T(0);
        continue;
      }
      T sc = scale_p ? scale_p[j] : scale;
      T wk = w ? w[k] : T(1);
      if constexpr (kLogSoftmax) {
        const T* ls = lp + base;
        T a = keep * wk + smooth * wsum;
        for (int64_t c = 0; c < C; ++c) gs[c * S] = sc * (std::exp(ls[c * S]) * a - smooth * (w ? w[c] : T(1)));
        gs[k * S] -= sc * keep * wk;
      } else {
        for (int64_t c = 0; c < C; ++c) gs[c * S] = T(0);
        gs[k * S] = -sc * wk;
      }
    }
  });
}

// The target distribution the class-index loss compares with, Q = (1 - eps) w[t] onehot(t) +
// eps w / C (rows of ignored samples are 0), shaped like the input: the backward is
// g * (softmax * sum_c Q - Q) for cross entropy and -g * Q for nll_loss.
template <typename T, typename I>
void class_index_target_dist(const I* t, const T* w, T* q, const ClassGeometry& g, int64_t ignore_index, double eps) {
  const int64_t C = g.C, S = g.S;
  const T smooth = static_cast<T>(eps / static_cast<double>(C)), keep = static_cast<T>(1.0 - eps);
  for (int64_t j = 0; j < g.samples(); ++j) {
    int64_t n = j / S, s = j % S, base = n * C * S + s;
    int64_t k = static_cast<int64_t>(t[j]);
    bool ignored = k == ignore_index;
    for (int64_t c = 0; c < C; ++c) q[base + c * S] = ignored ? T(0) : smooth * (w ? w[c] : T(1));
    if (!ignored) q[base + k * S] += keep * (w ? w[k] : T(1));
  }
}

template <typename F>
auto dispatch_target(DType t, F&& f) {
  if (t == DType::UInt8) return f(uint8_t{});
  return f(int64_t{});
}

// Shape of the per-sample loss (reduction 'none'): the input without its class dim.
Shape sample_shape(const Tensor& input, const ClassGeometry& g) {
  if (input.dim() == 1) return {};
  Shape s{g.N};
  s.insert(s.end(), input.sizes().begin() + 2, input.sizes().end());
  return s;
}

// Gradient of the loss per sample, shaped to broadcast against the input (class dim of size 1).
Tensor per_sample_grad(const Tensor& g, Reduction reduction, double denom, const Tensor& input, const ClassGeometry& geo) {
  if (reduction == Reduction::Mean) return g / denom;
  if (reduction == Reduction::Sum || input.dim() == 1) return g;
  return unsqueeze(g, geo.class_dim);
}

// Class-index cross entropy (kLogSoftmax) and nll_loss: one forward pass, one backward pass.
template <bool kLogSoftmax>
Tensor class_index_loss(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                        int64_t ignore_index, double eps) {
  ClassGeometry geo(input);
  const char* node = eps > 0 ? "AddBackward0" : input.dim() <= 2 ? "NllLossBackward0" : "NllLoss2DBackward0";
  DType dt = input.dtype();
  Tensor x = dense(input, input.sizes(), dt), t = contiguous(target);
  Tensor w = weight.defined() ? dense(weight, weight.sizes(), dt) : Tensor();
  check_targets(t, geo.C, ignore_index);
  int64_t ns = geo.samples();
  Tensor lp = kLogSoftmax ? empty(input.sizes(), dt) : x;
  Tensor loss = empty(sample_shape(input, geo), dt), wt = empty({ns}, dt);
  double denom = 0;
  Tensor out;
  dispatch_floating(dt, "nll_loss", [&](auto tag) {
    using T = decltype(tag);
    dispatch_target(t.dtype(), [&](auto itag) {
      using I = decltype(itag);
      class_index_forward<kLogSoftmax, T, I>(x.data<T>(), t.data<I>(), ptr_or_null<T>(w), lp.data<T>(),
                                            loss.data<T>(), wt.data<T>(), geo, ignore_index, eps);
    });
    if (reduction == Reduction::None) {
      out = loss;
      return;
    }
    const T* lv = loss.data<T>();
    const T* wv = wt.data<T>();
    double s = chunked_sum(ns, [&](int64_t j) { return static_cast<double>(lv[j]); });
    if (reduction == Reduction::Mean) {
      denom = chunked_sum(ns, [&](int64_t j) { return static_cast<double>(wv[j]); });
      s /= denom;
    }
    out = full({}, Scalar(s), dt);
  });
  if (!any_requires_grad({&input})) return out;
  record_function(
      node, {input}, {&out},
      [reduction, ignore_index, eps, denom, geo](const GradList& gs, FunctionNode& self) {
        Tensor x = self.saved(0), t = self.saved(1), w = self.saved(2), lp = self.saved(3);
        DType dt = x.dtype();
        Tensor g = cast_nograd(gs[0], dt);
        if (grad_enabled()) {  // create_graph: g * (softmax * sum_c Q - Q), or -g * Q
          Tensor q = empty(x.sizes(), dt);
          dispatch_floating(dt, "nll_loss_backward", [&](auto tag) {
            using T = decltype(tag);
            dispatch_target(t.dtype(), [&](auto itag) {
              using I = decltype(itag);
              class_index_target_dist<T, I>(t.data<I>(), ptr_or_null<T>(w), q.data<T>(), geo, ignore_index, eps);
            });
          });
          Tensor gj = per_sample_grad(g, reduction, denom, x, geo);
          if (!kLogSoftmax) return GradList{-(gj * q)};
          Tensor qsum = sum(q, std::vector<int64_t>{geo.class_dim}, true);
          return GradList{gj * (softmax(x, geo.class_dim) * qsum - q)};
        }
        Tensor gx = empty(x.sizes(), dt);
        Tensor gc = reduction == Reduction::None ? contiguous(g) : Tensor();
        double scale = reduction == Reduction::None ? 0.0 : g.item<double>();
        if (reduction == Reduction::Mean) scale /= denom;
        dispatch_floating(dt, "nll_loss_backward", [&](auto tag) {
          using T = decltype(tag);
          dispatch_target(t.dtype(), [&](auto itag) {
            using I = decltype(itag);
            class_index_backward<kLogSoftmax, T, I>(ptr_or_null<T>(lp), t.data<I>(), ptr_or_null<T>(w), ptr_or_null<T>(gc),
                                                   static_cast<T>(scale), gx.data<T>(), geo, ignore_index, eps);
          });
        });
        return GradList{gx};
      },
      {{input, false}, {t, false}, {w, false}, {kLogSoftmax ? lp : Tensor(), false}});
  return out;
}

// Cross entropy with class probabilities: loss_j = -sum_c w[c] y'[c] lp[c], y' = (1 - eps) y + eps / C.
template <typename T>
void class_prob_forward(const T* x, const T* y, const T* w, T* lp, T* loss, const ClassGeometry& g, double eps) {
  const int64_t C = g.C, S = g.S;
  const T smooth = static_cast<T>(eps / static_cast<double>(C)), keep = static_cast<T>(1.0 - eps);
  parallel_for(0, g.samples(), std::max<int64_t>(1, kGrainSize / (4 * C)), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      int64_t n = j / S, s = j % S, base = n * C * S + s;
      const T* xs = x + base;
      T m = xs[0];
      for (int64_t c = 1; c < C; ++c) m = (xs[c * S] > m || xs[c * S] != xs[c * S]) ? xs[c * S] : m;
      if (std::isinf(m)) m = T(0);
      T sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += std::exp(xs[c * S] - m);
      T lse = std::log(sum), v = 0;
      for (int64_t c = 0; c < C; ++c) {
        T l = (xs[c * S] - m) - lse;
        lp[base + c * S] = l;
        v -= (w ? w[c] : T(1)) * (keep * y[base + c * S] + smooth) * l;
      }
      loss[j] = v;
    }
  });
}

// d/dx = scale_j (softmax sum_k w[k] y'[k] - w y'); d/dy = -scale_j (1 - eps) w lp.
template <typename T>
void class_prob_backward(const T* lp, const T* y, const T* w, const T* scale_p, T scale, T* gx, T* gy,
                         const ClassGeometry& g, double eps) {
  const int64_t C = g.C, S = g.S;
  const T smooth = static_cast<T>(eps / static_cast<double>(C)), keep = static_cast<T>(1.0 - eps);
  parallel_for(0, g.samples(), std::max<int64_t>(1, kGrainSize / (4 * C)), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      int64_t n = j / S, s = j % S, base = n * C * S + s;
      T sc = scale_p ? scale_p[j] : scale;
      T wy = 0;
      for (int64_t c = 0; c < C; ++c) wy += (w ? w[c] : T(1)) * (keep * y[base + c * S] + smooth);
      for (int64_t c = 0; c < C; ++c) {
        int64_t i = base + c * S;
        T wc = w ? w[c] : T(1);
        if (gx) gx[i] = sc * (std::exp(lp[i]) * wy - wc * (keep * y[i] + smooth));
        if (gy) gy[i] = -sc * keep * wc * lp[i];
      }
    }
  });
}

Tensor class_prob_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                                double eps) {
  ClassGeometry geo(input);
  int64_t nd = input.dim();
  DType dt = promote_types(input.dtype(), target.dtype());
  if (weight.defined()) dt = promote_types(dt, weight.dtype());
  if (!is_floating(dt)) not_implemented_for(nd <= 2 ? "log_softmax_lastdim_kernel_impl" : "log_softmax_kernel_impl", dt);
  Tensor x = dense(input, input.sizes(), dt), y = dense(target, input.sizes(), dt);
  Tensor w = weight.defined() ? dense(weight, weight.sizes(), dt) : Tensor();
  int64_t ns = geo.samples();
  Tensor lp = empty(input.sizes(), dt), loss = empty(sample_shape(input, geo), dt);
  Tensor out;
  dispatch_floating(dt, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    class_prob_forward<T>(x.data<T>(), y.data<T>(), ptr_or_null<T>(w), lp.data<T>(), loss.data<T>(), geo, eps);
    if (reduction == Reduction::None) {
      out = loss;
      return;
    }
    const T* lv = loss.data<T>();
    double s = chunked_sum(ns, [&](int64_t j) { return static_cast<double>(lv[j]); });
    if (reduction == Reduction::Mean) s /= static_cast<double>(ns);
    out = full({}, Scalar(s), dt);
  });
  if (!any_requires_grad({&input, &target, &weight})) return out;
  double denom = static_cast<double>(ns);
  record_function(
      reduction == Reduction::Mean ? "DivBackward1" : "NegBackward0", {input, target, weight}, {&out},
      [reduction, eps, denom, geo, dt, nd, in = InputMeta(input), tg = InputMeta(target),
       wm = InputMeta(weight.defined() ? weight : input)](const GradList& gs, FunctionNode& self) {
        Tensor x = self.saved(0), y = self.saved(1), w = self.saved(2), lp = self.saved(3);
        Tensor g = cast_nograd(gs[0], dt);
        GradList res(3);
        int64_t cd = geo.class_dim;
        // The weight broadcast along the class dim.
        auto class_view = [&](const Tensor& v) {
          Shape s(static_cast<size_t>(nd), 1);
          s[static_cast<size_t>(cd)] = geo.C;
          return reshape(v, s);
        };
        Tensor gj = per_sample_grad(g, reduction, denom, x, geo);
        const double keep = 1.0 - eps, smooth = eps / static_cast<double>(geo.C);
        if (self.needs_grad(2)) {  // the weight's gradient only ever comes from the composite formula
          std::vector<int64_t> others;
          for (int64_t d = 0; d < nd; ++d)
            if (d != cd) others.push_back(d);
          Tensor term = -(gj * (y * keep + smooth) * (grad_enabled() ? log_softmax(x, cd) : lp));
          res[2] = wm.reduce(others.empty() ? term : sum(term, others));
        }
        if (grad_enabled()) {  // create_graph: differentiable formulas
          Tensor wv = w.defined() ? class_view(w) : Tensor();
          Tensor wy = y * keep + smooth;
          if (wv.defined()) wy = wy * wv;
          if (self.needs_grad(0))
            res[0] = in.reduce(gj * (softmax(x, cd) * sum(wy, std::vector<int64_t>{cd}, true) - wy));
          if (self.needs_grad(1)) {
            Tensor d = log_softmax(x, cd) * (-keep);
            res[1] = tg.reduce(gj * (wv.defined() ? d * wv : d));
          }
          return res;
        }
        if (!self.needs_grad(0) && !self.needs_grad(1)) return res;
        Tensor xd = dense(x, x.sizes(), dt), yd = dense(y, x.sizes(), dt), wd = w.defined() ? dense(w, w.sizes(), dt) : Tensor();
        Tensor gx = self.needs_grad(0) ? empty(x.sizes(), dt) : Tensor();
        Tensor gy = self.needs_grad(1) ? empty(x.sizes(), dt) : Tensor();
        Tensor gc = reduction == Reduction::None ? contiguous(g) : Tensor();
        double scale = reduction == Reduction::None ? 0.0 : g.item<double>();
        if (reduction == Reduction::Mean) scale /= denom;
        dispatch_floating(dt, "cross_entropy_backward", [&](auto tag) {
          using T = decltype(tag);
          class_prob_backward<T>(lp.data<T>(), yd.data<T>(), ptr_or_null<T>(wd), ptr_or_null<T>(gc),
                                 static_cast<T>(scale), gx.defined() ? gx.data<T>() : nullptr,
                                 gy.defined() ? gy.data<T>() : nullptr, geo, eps);
        });
        if (gx.defined()) res[0] = in.reduce(gx);
        if (gy.defined()) res[1] = tg.reduce(gy);
        return res;
      },
      {{input, false}, {target, false}, {weight, false}, {lp, false}});
  return out;
}

}  // namespace

// ============================================================================================
// Public ops
// ============================================================================================

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                     int64_t ignore_index, double label_smoothing) {
  if (input.sizes() == target.sizes()) {  // class probabilities
    if (!is_floating(target.dtype()))
      throw Error(str_cat("Expected floating point type for target with class probabilities, got ",
                          scalar_type_name(target.dtype())));
    EMBER_CHECK(ignore_index < 0, "ignore_index is not supported for floating point target");
    EMBER_CHECK(label_smoothing <= 1.0, "label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
    int64_t cd = wrap_dim(input.dim() == 1 ? 0 : 1, input.dim());
    int64_t C = input.sizes()[cd];
    if (weight.defined() && !(weight.dim() == 1 && weight.numel() == C))
      throw Error(str_cat("cross_entropy: weight tensor should be defined either for all ", C,
                          " classes or no classes but got weight tensor of shape: ", shape_str(weight.sizes())));
    return class_prob_cross_entropy(input, target, weight, reduction, std::max(label_smoothing, 0.0));
  }
  if (label_smoothing > 1.0)
    throw Error(str_cat("label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing));
  if (input.dim() >= 1 && !is_floating(input.dtype()))
    not_implemented_for(input.dim() <= 2 ? "log_softmax_lastdim_kernel_impl" : "log_softmax_kernel_impl",
                        input.dtype());
  check_nll_args(input, target, weight);
  check_weight_no_grad(weight, "nll_loss_forward");
  return class_index_loss<true>(input, target, weight, reduction, ignore_index, std::max(label_smoothing, 0.0));
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                int64_t ignore_index) {
  check_nll_args(input, target, weight);
  if (!is_floating(input.dtype()))
    not_implemented_for(input.dim() <= 2 ? "nll_loss_out_frame" : "nll_loss2d_forward_out_frame", input.dtype());
  check_weight_no_grad(weight, "nll_loss_forward");
  return class_index_loss<false>(input, target, weight, reduction, ignore_index, 0.0);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return pointwise_loss<MseOp>("MseLossBackward0", input, target, Tensor(), Tensor(), reduction, 0.0,
                               regression_dtype(input, target, "mse_cpu"));
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  DType dt = promote_types(input.dtype(), target.dtype());
  if (!is_floating(dt)) {  // torch's composite: integer results for 'none' and 'sum'
    Tensor d = abs(input - target);
    return reduction == Reduction::None ? d : reduction == Reduction::Sum ? sum(d) : mean(d);
  }
  const char* node = reduction == Reduction::None ? "AbsBackward0"
                     : reduction == Reduction::Mean ? "MeanBackward0" : "SumBackward0";
  return pointwise_loss<L1Op>(node, input, target, Tensor(), Tensor(), reduction, 0.0, dt);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  EMBER_CHECK(beta >= 0, "smooth_l1_loss does not support negative values for beta.");
  if (beta == 0.0) return l1_loss(input, target, reduction);  // as torch: the l1 loss, and its gradient at 0
  return pointwise_loss<SmoothL1Op>("SmoothL1LossBackward0", input, target, Tensor(), Tensor(), reduction, beta,
                                    regression_dtype(input, target, "smooth_l1_cpu"));
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  EMBER_CHECK(delta > 0, "huber_loss does not support non-positive values for delta.");
  return pointwise_loss<HuberOp>("HuberLossBackward0", input, target, Tensor(), Tensor(), reduction, delta,
                                 regression_dtype(input, target, "huber_cpu"));
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction) {
  if (!is_floating(input.dtype())) not_implemented_for("binary_cross_entropy", input.dtype());
  if (target.dtype() != input.dtype())
    throw Error(str_cat("Found dtype ", scalar_type_name(target.dtype()), " but expected ",
                        scalar_type_name(input.dtype())));
  EMBER_CHECK(input.numel() == target.numel(), "input and target should have the same number of elements, got ",
              shape_str(input.sizes()), " and ", shape_str(target.sizes()));
  if (weight.defined()) broadcast_shapes(target.sizes(), weight.sizes());  // RuntimeError if it does not broadcast
  check_weight_no_grad(weight, "binary_cross_entropy");
  {  // torch checks the range before computing; NaN is out of range too
    Tensor xc = dense(input, input.sizes(), input.dtype());
    bool ok = dispatch_floating(input.dtype(), "binary_cross_entropy", [&](auto tag) {
      using T = decltype(tag);
      const T* p = xc.data<T>();
      for (int64_t i = 0, n = xc.numel(); i < n; ++i)
        if (!(p[i] >= T(0) && p[i] <= T(1))) return false;
      return true;
    });
    EMBER_CHECK(ok, "all elements of input should be between 0 and 1");
  }
  return pointwise_loss<BceOp>("BinaryCrossEntropyBackward0", input, target, weight, Tensor(), reduction, 0.0,
                               input.dtype());
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  if (!is_floating(input.dtype())) not_implemented_for("log_sigmoid_cpu", input.dtype());
  DType dt = promote_types(input.dtype(), target.dtype());
  if (!is_floating(target.dtype()))
    throw Error(str_cat("result type ", scalar_type_name(dt), " can't be cast to the desired output type ",
                        scalar_type_name(target.dtype())));
  Shape shape = input.sizes() == target.sizes() ? input.sizes() : broadcast_shapes(input.sizes(), target.sizes());
  if (pos_weight.defined()) broadcast_shapes(pos_weight.sizes(), shape);
  if (weight.defined()) broadcast_shapes(shape, weight.sizes());
  check_weight_no_grad(weight, "binary_cross_entropy_with_logits");
  check_weight_no_grad(pos_weight, "binary_cross_entropy_with_logits", "pos_weight");
  return pointwise_loss<BceLogitsOp>("BinaryCrossEntropyWithLogitsBackward0", input, target, weight, pos_weight,
                                     reduction, 0.0, dt);
}

}  // namespace ember

// Fused optimizer updates: one call updates a whole parameter group.
//
// Each kernel reproduces torch.optim's single-tensor implementation operation by operation,
// in the parameter's dtype, with hyper-parameters rounded to that dtype where torch rounds
// them (Scalars passed to its tensor ops) and bias corrections computed in double where torch
// computes them in Python. torch's CPU kernels use a fused multiply-add for `add(alpha=)`,
// `addcmul` and `lerp`, and a plain multiply, divide, add for `addcdiv`; `madd` below is that
// fused multiply-add. Elements are independent, so the split across threads never changes a bit.
#include "ember/optim.h"

#include <cmath>
#include "core/dispatch.h"
#include "core/parallel.h"
#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember {
namespace optim {
namespace {

template <typename T>
inline T madd(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// torch.lerp(self, end, weight) with a scalar weight.
template <typename T>
struct Lerp {
  T w, one_minus_w;
  bool small;
  explicit Lerp(double weight) : w(static_cast<T>(weight)), one_minus_w(T(1) - w), small(std::abs(w) < T(0.5)) {}
  T operator()(T self, T end) const {
    T diff = end - self;
    return small ? madd(w, diff, self) : madd(-diff, one_minus_w, end);
  }
};

// torch.maximum: NaN wins.
template <typename T>
inline T nan_max(T a, T b) {
  return (a > b || a != a) ? a : b;
}

// The gradient as torch's step functions see it: negated for maximize, then `grad.add(param,
// alpha=weight_decay)`.
template <typename T>
struct GradIn {
  bool maximize, decay;
  T weight_decay;
  GradIn(bool maximize, double weight_decay)
      : maximize(maximize), decay(weight_decay != 0), weight_decay(static_cast<T>(weight_decay)) {}
  T operator()(T g, T p) const {
    if (maximize) g = -g;
    return decay ? madd(p, weight_decay, g) : g;
  }
};

// A contiguous buffer for a tensor the kernel reads and writes: the tensor itself, or a
// contiguous copy that finish() copies back.
struct Dense {
  Tensor target, work;
  explicit Dense(const Tensor& t) : target(t), work(t.is_contiguous() ? t : contiguous(t)) {}
  template <typename T> T* data() const { return work.data<T>(); }
  void finish() {
    if (work.is_same(target)) target.bump_version();
    else copy_(target, work);
  }
};

void check_params_and_grads(const char* opt, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  EMBER_CHECK_T(ValueError, grads.size() == params.size(), opt, ": got ", grads.size(), " gradients for ",
                params.size(), " parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const Tensor& g = grads[i];
    EMBER_CHECK_T(TypeError, p.defined(), opt, ": parameter ", i, " is None");
    EMBER_CHECK_T(TypeError, g.defined(), opt, ": parameter ", i, " has no gradient");
    EMBER_CHECK_T(TypeError, is_floating(p.dtype()), opt, ": can only optimize floating point parameters, but parameter ",
                  i, " has dtype ", dtype_name(p.dtype()));
    EMBER_CHECK(g.sizes() == p.sizes(), opt, ": the gradient of parameter ", i, " has shape ", shape_str(g.sizes()),
                " but the parameter has shape ", shape_str(p.sizes()));
    EMBER_CHECK(g.dtype() == p.dtype(), opt, ": the gradient of parameter ", i, " has dtype ", dtype_name(g.dtype()),
                " but the parameter has dtype ", dtype_name(p.dtype()));
  }
}

// State tensors (exp_avg, square_avg, ...) must be one per parameter, shaped and typed like it.
void check_state(const char* opt, const char* name, const std::vector<Tensor>& state,
                 const std::vector<Tensor>& params) {
  EMBER_CHECK_T(ValueError, state.size() == params.size(), opt, ": got ", state.size(), " ", name, " tensors for ",
                params.size(), " parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& s = state[i];
    EMBER_CHECK_T(TypeError, s.defined(), opt, ": ", name, " of parameter ", i, " is None");
    EMBER_CHECK(s.sizes() == params[i].sizes(), opt, ": ", name, " of parameter ", i, " has shape ",
                shape_str(s.sizes()), " but the parameter has shape ", shape_str(params[i].sizes()));
    EMBER_CHECK(s.dtype() == params[i].dtype(), opt, ": ", name, " of parameter ", i, " has dtype ",
                dtype_name(s.dtype()), " but the parameter has dtype ", dtype_name(params[i].dtype()));
  }
}

void check_steps(const char* opt, const std::vector<Tensor>& steps, const std::vector<Tensor>& params) {
  EMBER_CHECK_T(ValueError, steps.size() == params.size(), opt, ": got ", steps.size(), " step tensors for ",
                params.size(), " parameters");
  for (size_t i = 0; i < steps.size(); ++i) {
    EMBER_CHECK_T(TypeError, steps[i].defined(), opt, ": step of parameter ", i, " is None");
    EMBER_CHECK(steps[i].numel() == 1 && is_floating(steps[i].dtype()), opt, ": step of parameter ", i,
                " must be a one-element floating point tensor, got shape ", shape_str(steps[i].sizes()),
                " and dtype ", dtype_name(steps[i].dtype()));
  }
}

// `step_t += 1` in the step tensor's dtype, then its value (torch's `_get_value(step_t)`).
double increment_step(const Tensor& step) {
  double value = dispatch_floating(step.dtype(), "optimizer step", [&](auto tag) {
    using S = decltype(tag);
    S* s = step.data<S>();
    *s += S(1);
    return static_cast<double>(*s);
  });
  step.bump_version();
  return value;
}

// Runs body(begin, end) over the elements of one tensor, in parallel when it is large.
template <typename F>
void over_elements(int64_t n, const F& body) {
  parallel_for(0, n, kGrainSize, body);
}

// ---- per-tensor kernels -------------------------------------------------------------------

template <typename T>
void sgd_tensor(T* p, const T* g, T* buf, bool first_step, int64_t n, const GradIn<T>& grad_in, double lr,
                double momentum, double dampening, bool nesterov) {
  const T neg_lr = static_cast<T>(-lr), mom = static_cast<T>(momentum), keep = static_cast<T>(1 - dampening);
  if (!buf) {
    over_elements(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = madd(grad_in(g[i], p[i]), neg_lr, p[i]);
    });
    return;
  }
  over_elements(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = grad_in(g[i], p[i]);
      T v = first_step ? d : madd(d, keep, buf[i] * mom);
      buf[i] = v;
      T update = nesterov ? madd(v, mom, d) : v;
      p[i] = madd(update, neg_lr, p[i]);
    }
  });
}

template <typename T>
void adam_tensor(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const GradIn<T>& grad_in, double decay_factor,
                 const Lerp<T>& lerp_m, T beta2, T one_minus_beta2, T bc2_sqrt, T eps, T neg_step_size) {
  const bool decoupled = decay_factor != 1.0;
  const T decay = static_cast<T>(decay_factor);
  over_elements(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T pi = decoupled ? p[i] * decay : p[i];
      T d = grad_in(g[i], pi);
      T mi = lerp_m(m[i], d);
      T vi = madd(one_minus_beta2 * d, d, v[i] * beta2);
      m[i] = mi;
      v[i] = vi;
      T second = vi;
      if (vmax) second = vmax[i] = nan_max(vmax[i], vi);
      T denom = std::sqrt(second) / bc2_sqrt + eps;
      p[i] = pi + (neg_step_size * mi) / denom;
    }
  });
}

template <typename T>
void rmsprop_tensor(T* p, const T* g, T* sq, T* gavg, T* buf, int64_t n, const GradIn<T>& grad_in, T alpha,
                    T one_minus_alpha, const Lerp<T>& lerp_g, T eps, T momentum, T neg_lr) {
  over_elements(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = grad_in(g[i], p[i]);
      T s = madd(one_minus_alpha * d, d, sq[i] * alpha);
      sq[i] = s;
      T avg;
      if (gavg) {
        T ga = lerp_g(gavg[i], d);
        gavg[i] = ga;
        avg = std::sqrt(madd(-ga, ga, s));
      } else {
        avg = std::sqrt(s);
      }
      avg = avg + eps;
      if (buf) {
        T bi = buf[i] * momentum + d / avg;
        buf[i] = bi;
        p[i] = madd(bi, neg_lr, p[i]);
      } else {
        p[i] = p[i] + (neg_lr * d) / avg;
      }
    }
  });
}

template <typename T>
void adagrad_tensor(T* p, const T* g, T* sum, int64_t n, const GradIn<T>& grad_in, T eps, T neg_clr) {
  over_elements(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = grad_in(g[i], p[i]);
      T s = madd(d, d, sum[i]);
      sum[i] = s;
      p[i] = p[i] + (neg_clr * d) / (std::sqrt(s) + eps);
    }
  });
}

Tensor dense_grad(const Tensor& g) { return g.is_contiguous() ? g : contiguous(g); }

}  // namespace

void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, std::vector<Tensor>& momentum_buffers,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
  check_params_and_grads("sgd", params, grads);
  EMBER_CHECK_T(ValueError, momentum_buffers.size() == params.size(), "sgd: got ", momentum_buffers.size(),
                " momentum buffers for ", params.size(), " parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    if (!momentum_buffers[i].defined()) continue;
    std::vector<Tensor> one_buf{momentum_buffers[i]}, one_param{params[i]};
    check_state("sgd", "momentum_buffer", one_buf, one_param);
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    Dense p(params[i]);
    Tensor g = dense_grad(grads[i]);
    bool first_step = false;
    if (momentum != 0 && !momentum_buffers[i].defined()) {
      momentum_buffers[i] = empty(params[i].sizes(), params[i].dtype());
      first_step = true;
    }
    std::optional<Dense> buf;
    if (momentum != 0) buf.emplace(momentum_buffers[i]);
    dispatch_floating(params[i].dtype(), "sgd", [&](auto tag) {
      using T = decltype(tag);
      sgd_tensor<T>(p.data<T>(), g.data<T>(), buf ? buf->data<T>() : nullptr, first_step, params[i].numel(),
                    GradIn<T>(maximize, weight_decay), lr, momentum, dampening, nesterov);
    });
    p.finish();
    if (buf) buf->finish();
  }
}

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& exp_avgs,
               const std::vector<Tensor>& exp_avg_sqs, const std::vector<Tensor>& max_exp_avg_sqs,
               const std::vector<Tensor>& steps, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool amsgrad, bool maximize, bool decoupled_weight_decay) {
  const char* opt = decoupled_weight_decay ? "adamw" : "adam";
  check_params_and_grads(opt, params, grads);
  check_state(opt, "exp_avg", exp_avgs, params);
  check_state(opt, "exp_avg_sq", exp_avg_sqs, params);
  if (amsgrad) check_state(opt, "max_exp_avg_sq", max_exp_avg_sqs, params);
  check_steps(opt, steps, params);
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    double step = increment_step(steps[i]);
    Dense p(params[i]), m(exp_avgs[i]), v(exp_avg_sqs[i]);
    std::optional<Dense> vmax;
    if (amsgrad) vmax.emplace(max_exp_avg_sqs[i]);
    Tensor g = dense_grad(grads[i]);
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
    // AdamW decays the parameter first (`param.mul_(1 - lr * weight_decay)`); Adam adds
    // weight_decay * param to the gradient.
    const bool decoupled = decoupled_weight_decay && weight_decay != 0;
    const double decay_factor = decoupled ? 1 - lr * weight_decay : 1.0;
    dispatch_floating(params[i].dtype(), opt, [&](auto tag) {
      using T = decltype(tag);
      adam_tensor<T>(p.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), vmax ? vmax->data<T>() : nullptr,
                     params[i].numel(), GradIn<T>(maximize, decoupled ? 0.0 : weight_decay), decay_factor,
                     Lerp<T>(1 - beta1), static_cast<T>(beta2), static_cast<T>(1 - beta2),
                     static_cast<T>(bias_correction2_sqrt), static_cast<T>(eps), static_cast<T>(-step_size));
    });
    p.finish();
    m.finish();
    v.finish();
    if (vmax) vmax->finish();
  }
}

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& grad_avgs,
                  const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& steps, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  check_params_and_grads("rmsprop", params, grads);
  check_state("rmsprop", "square_avg", square_avgs, params);
  if (centered) check_state("rmsprop", "grad_avg", grad_avgs, params);
  if (momentum > 0) check_state("rmsprop", "momentum_buffer", momentum_buffers, params);
  check_steps("rmsprop", steps, params);
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    increment_step(steps[i]);
    Dense p(params[i]), sq(square_avgs[i]);
    std::optional<Dense> gavg, buf;
    if (centered) gavg.emplace(grad_avgs[i]);
    if (momentum > 0) buf.emplace(momentum_buffers[i]);
    Tensor g = dense_grad(grads[i]);
    dispatch_floating(params[i].dtype(), "rmsprop", [&](auto tag) {
      using T = decltype(tag);
      rmsprop_tensor<T>(p.data<T>(), g.data<T>(), sq.data<T>(), gavg ? gavg->data<T>() : nullptr,
                        buf ? buf->data<T>() : nullptr, params[i].numel(), GradIn<T>(maximize, weight_decay),
                        static_cast<T>(alpha), static_cast<T>(1 - alpha), Lerp<T>(1 - alpha), static_cast<T>(eps),
                        static_cast<T>(momentum), static_cast<T>(-lr));
    });
    p.finish();
    sq.finish();
    if (gavg) gavg->finish();
    if (buf) buf->finish();
  }
}

void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& state_sums, const std::vector<Tensor>& steps, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize) {
  check_params_and_grads("adagrad", params, grads);
  check_state("adagrad", "sum", state_sums, params);
  check_steps("adagrad", steps, params);
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    double step = increment_step(steps[i]);
    const double clr = lr / (1 + (step - 1) * lr_decay);
    Dense p(params[i]), sum(state_sums[i]);
    Tensor g = dense_grad(grads[i]);
    dispatch_floating(params[i].dtype(), "adagrad", [&](auto tag) {
      using T = decltype(tag);
      adagrad_tensor<T>(p.data<T>(), g.data<T>(), sum.data<T>(), params[i].numel(), GradIn<T>(maximize, weight_decay),
                        static_cast<T>(eps), static_cast<T>(-clr));
    });
    p.finish();
    sum.finish();
  }
}

}  // namespace optim
}  // namespace ember

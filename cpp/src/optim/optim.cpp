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
#include <type_traits>
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

// Calls f(std::true_type()) or f(std::false_type()). The kernels take their option flags as
// compile-time constants: GCC does not vectorise a loop that selects on a run-time bool or
// loads or stores a tensor only when a flag is set, and these loops are too long for it to
// unswitch by itself (a scalar Adam step ran at half torch's speed).
template <typename F>
void with_flag(bool flag, const F& f) {
  if (flag) f(std::true_type());
  else f(std::false_type());
}

// torch.lerp(self, end, weight) with a scalar weight; torch switches formula at |weight| 0.5.
template <typename T, bool kSmallWeight>
struct Lerp {
  T w, one_minus_w;
  T operator()(T self, T end) const {
    T diff = end - self;
    if constexpr (kSmallWeight) return madd(w, diff, self);
    else return madd(-diff, one_minus_w, end);
  }
};

template <typename T, typename F>
void with_lerp(double weight, const F& f) {
  const T w = static_cast<T>(weight);
  with_flag(std::abs(w) < T(0.5), [&](auto small) { f(Lerp<T, decltype(small)::value>{w, T(1) - w}); });
}

// torch.maximum: NaN wins.
template <typename T>
inline T nan_max(T a, T b) {
  return (a > b || a != a) ? a : b;
}

// The gradient as torch's step functions see it: negated for maximize, then `grad.add(param,
// alpha=weight_decay)` when weight_decay is not 0.
template <typename T, bool kMaximize, bool kDecay>
struct GradIn {
  T weight_decay;
  T operator()(T g, T p) const {
    if constexpr (kMaximize) g = -g;
    if constexpr (kDecay) return madd(p, weight_decay, g);
    else return g;
  }
};

template <typename T, typename F>
void with_grad_in(bool maximize, double weight_decay, const F& f) {
  with_flag(maximize, [&](auto max) {
    with_flag(weight_decay != 0, [&](auto decay) {
      f(GradIn<T, decltype(max)::value, decltype(decay)::value>{static_cast<T>(weight_decay)});
    });
  });
}

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

// Runs update(i) for every element i of one tensor, in parallel when it is large. The update
// is copied into each thread, so its pointers and hyper-parameters live in the thread's own
// registers. (Captured by reference, every store through a data pointer forces the captures
// to be reloaded, since they might alias, and with two threads those reloads hit the caller's
// stack frame, a cache line the caller keeps writing: the step ran four times slower on two
// threads than on one.)
template <typename Update>
void over_elements(int64_t n, const Update& update) {
  parallel_for(0, n, kGrainSize, [update](int64_t begin, int64_t end) {
    const Update local = update;
    for (int64_t i = begin; i < end; ++i) local(i);
  });
}

// ---- per-tensor kernels -------------------------------------------------------------------
// GradInT and LerpT are the GradIn and Lerp instantiations the steps pick with with_grad_in and
// with_lerp; the other k* flags are chosen with with_flag.

template <typename T, bool kMomentum, bool kFirstStep, bool kNesterov, typename GradInT>
void sgd_tensor(T* p, const T* g, T* buf, int64_t n, GradInT grad_in, T neg_lr, T momentum, T keep) {
  over_elements(n, [=](int64_t i) {
    T d = grad_in(g[i], p[i]);
    T update = d;
    if constexpr (kMomentum) {
      T v = kFirstStep ? d : madd(d, keep, buf[i] * momentum);
      buf[i] = v;
      update = kNesterov ? madd(v, momentum, d) : v;
    }
    p[i] = madd(update, neg_lr, p[i]);
  });
}

template <typename T, bool kAmsgrad, typename GradInT, typename LerpT>
void adam_tensor(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, GradInT grad_in, T decay, LerpT lerp_m, T beta2,
                 T one_minus_beta2, T bc2_sqrt, T eps, T neg_step_size) {
  over_elements(n, [=](int64_t i) {
    T pi = p[i] * decay;  // decay is 1 unless decoupled, and p * 1 == p exactly
    T d = grad_in(g[i], pi);
    T mi = lerp_m(m[i], d);
    T vi = madd(one_minus_beta2 * d, d, v[i] * beta2);
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if constexpr (kAmsgrad) second = vmax[i] = nan_max(vmax[i], vi);
    T denom = std::sqrt(second) / bc2_sqrt + eps;
    p[i] = pi + (neg_step_size * mi) / denom;
  });
}

template <typename T, bool kCentered, bool kMomentum, typename GradInT, typename LerpT>
void rmsprop_tensor(T* p, const T* g, T* sq, T* gavg, T* buf, int64_t n, GradInT grad_in, T alpha, T one_minus_alpha,
                    LerpT lerp_g, T eps, T momentum, T neg_lr) {
  over_elements(n, [=](int64_t i) {
    T d = grad_in(g[i], p[i]);
    T s = madd(one_minus_alpha * d, d, sq[i] * alpha);
    sq[i] = s;
    T avg;
    if constexpr (kCentered) {
      T ga = lerp_g(gavg[i], d);
      gavg[i] = ga;
      avg = std::sqrt(madd(-ga, ga, s));
    } else {
      avg = std::sqrt(s);
    }
    avg = avg + eps;
    if constexpr (kMomentum) {
      T bi = buf[i] * momentum + d / avg;
      buf[i] = bi;
      p[i] = madd(bi, neg_lr, p[i]);
    } else {
      p[i] = p[i] + (neg_lr * d) / avg;
    }
  });
}

template <typename T, typename GradInT>
void adagrad_tensor(T* p, const T* g, T* sum, int64_t n, GradInT grad_in, T eps, T neg_clr) {
  over_elements(n, [=](int64_t i) {
    T d = grad_in(g[i], p[i]);
    T s = madd(d, d, sum[i]);
    sum[i] = s;
    p[i] = p[i] + (neg_clr * d) / (std::sqrt(s) + eps);
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
      T* buf_data = buf ? buf->data<T>() : nullptr;
      with_grad_in<T>(maximize, weight_decay, [&](auto grad_in) {
        with_flag(momentum != 0, [&](auto has_momentum) {
          with_flag(first_step, [&](auto first) {
            with_flag(nesterov, [&](auto nest) {
              sgd_tensor<T, has_momentum, first, nest>(p.data<T>(), g.data<T>(), buf_data, params[i].numel(),
                                                       grad_in, static_cast<T>(-lr), static_cast<T>(momentum),
                                                       static_cast<T>(1 - dampening));
            });
          });
        });
      });
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
      T* vmax_data = vmax ? vmax->data<T>() : nullptr;
      with_grad_in<T>(maximize, decoupled ? 0.0 : weight_decay, [&](auto grad_in) {
        with_lerp<T>(1 - beta1, [&](auto lerp_m) {
          with_flag(amsgrad, [&](auto ams) {
            adam_tensor<T, ams>(p.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), vmax_data, params[i].numel(),
                                grad_in, static_cast<T>(decay_factor), lerp_m, static_cast<T>(beta2),
                                static_cast<T>(1 - beta2), static_cast<T>(bias_correction2_sqrt),
                                static_cast<T>(eps), static_cast<T>(-step_size));
          });
        });
      });
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
      T* gavg_data = gavg ? gavg->data<T>() : nullptr;
      T* buf_data = buf ? buf->data<T>() : nullptr;
      with_grad_in<T>(maximize, weight_decay, [&](auto grad_in) {
        with_lerp<T>(1 - alpha, [&](auto lerp_g) {
          with_flag(centered, [&](auto cent) {
            with_flag(momentum > 0, [&](auto has_momentum) {
              rmsprop_tensor<T, cent, has_momentum>(p.data<T>(), g.data<T>(), sq.data<T>(), gavg_data, buf_data,
                                                    params[i].numel(), grad_in, static_cast<T>(alpha),
                                                    static_cast<T>(1 - alpha), lerp_g, static_cast<T>(eps),
                                                    static_cast<T>(momentum), static_cast<T>(-lr));
            });
          });
        });
      });
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
      with_grad_in<T>(maximize, weight_decay, [&](auto grad_in) {
        adagrad_tensor<T>(p.data<T>(), g.data<T>(), sum.data<T>(), params[i].numel(), grad_in, static_cast<T>(eps),
                          static_cast<T>(-clr));
      });
    });
    p.finish();
    sum.finish();
  }
}

}  // namespace optim
}  // namespace ember

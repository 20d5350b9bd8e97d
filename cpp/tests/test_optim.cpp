// The fused optimizer updates through the public C++ API only: a training loop with Adam, hand
// computed SGD-with-momentum values, and argument errors raised as exceptions.
#include <cmath>
#include <cstdio>
#include "ember/ember.h"

using namespace ember;

static int failures = 0;
static void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

int main() {
  // SGD, momentum 0.5, dampening 0: buf1 = g, p1 = p0 - lr*buf1; buf2 = 0.5*buf1 + g, p2 = p1 - lr*buf2.
  {
    Tensor p = full({2}, Scalar(1.0), DType::Float32);
    Tensor g = full({2}, Scalar(2.0), DType::Float32);
    std::vector<Tensor> bufs(1);
    optim::sgd_step({p}, {g}, bufs, 0.1, 0.5, 0.0, 0.0, false, false);
    expect(bufs[0].defined() && std::fabs(p.data<float>()[0] - 0.8f) < 1e-6f, "sgd first step");
    optim::sgd_step({p}, {g}, bufs, 0.1, 0.5, 0.0, 0.0, false, false);
    expect(std::fabs(bufs[0].data<float>()[1] - 3.0f) < 1e-6f, "sgd momentum buffer");
    expect(std::fabs(p.data<float>()[1] - 0.5f) < 1e-6f, "sgd second step");
  }

  // Adam minimises (w - 3)^2 with gradients from autograd.
  {
    Tensor w = zeros({1}, DType::Float64);
    w.set_requires_grad(true);
    Tensor m = zeros({1}, DType::Float64), v = zeros({1}, DType::Float64), step = zeros({}, DType::Float32);
    for (int i = 0; i < 2000; ++i) {
      Tensor d = w - 3.0;
      Tensor loss = sum(d * d);
      loss.backward();
      optim::adam_step({w}, {w.grad()}, {m}, {v}, {}, {step}, 0.05, 0.9, 0.999, 1e-8, 0.0, false, false, false);
      Tensor gw = w.grad();
      zero_(gw);
    }
    expect(std::fabs(w.item<double>() - 3.0) < 1e-3, "adam converges");
    expect(step.item<double>() == 2000.0, "adam counts steps");
  }

  // Bad input throws before anything is written.
  {
    Tensor p = ones({3});
    std::vector<Tensor> bufs(1);
    bool threw = false;
    try {
      optim::sgd_step({p}, {ones({4})}, bufs, 0.1, 0.0, 0.0, 0.0, false, false);
    } catch (const Error&) {
      threw = true;
    }
    expect(threw && p.data<float>()[0] == 1.0f, "gradient shape mismatch throws");
    threw = false;
    try {
      optim::adagrad_step({p}, {ones({3})}, {ones({3}, DType::Float64)}, {zeros({})}, 0.1, 0, 0, 1e-10, false);
    } catch (const Error&) {
      threw = true;
    }
    expect(threw && p.data<float>()[0] == 1.0f, "state dtype mismatch throws");
  }

  if (failures == 0) std::printf("optim: ok\n");
  return failures == 0 ? 0 : 1;
}

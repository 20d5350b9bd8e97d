// Trains y = 3x - 2 through the public C++ API only (tensors, autograd, a manual SGD step).
#include <cmath>
#include <cstdio>
#include "ember/ember.h"

using namespace ember;

int main() {
  const int64_t n = 64;
  Tensor x = empty({n, 1});
  for (int64_t i = 0; i < n; ++i) x.data<float>()[i] = static_cast<float>(i) / n;
  Tensor y = x * 3.0 - 2.0;
  Tensor w = zeros({1, 1});
  Tensor b = zeros({1});
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  double loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    Tensor pred = add(mm(x, w), b);
    Tensor diff = pred - y;
    Tensor loss = mean(diff * diff);
    loss.backward();
    {
      NoGradGuard ng;
      Tensor wd = detach(w), bd = detach(b);
      add_(wd, w.grad(), Scalar(-0.5));
      add_(bd, b.grad(), Scalar(-0.5));
      Tensor gw = w.grad(), gb = b.grad();
      zero_(gw);
      zero_(gb);
    }
    loss_value = loss.item<double>();
  }
  double wv = w.item<double>(), bv = b.item<double>();
  std::printf("loss %.6f w %.4f b %.4f\n", loss_value, wv, bv);
  if (!(loss_value < 1e-3 && std::fabs(wv - 3) < 0.05 && std::fabs(bv + 2) < 0.05)) {
    std::printf("FAILED: did not converge\n");
    return 1;
  }
  // Errors surface as exceptions, not crashes.
  try {
    mm(ones({2, 3}), ones({4, 5}));
    std::printf("FAILED: no error for mismatched mm\n");
    return 1;
  } catch (const Error& e) {
    std::printf("mismatch raised: %s\n", e.what());
  }
  return 0;
}

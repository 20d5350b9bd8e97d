// Losses, dropout and padding through the public C++ API: known values, gradients, errors.
#include <cmath>
#include <cstdio>
#include <cstring>
#include "ember/ember.h"

using namespace ember;

static int failures = 0;
#define EXPECT(cond)                                              \
  do {                                                            \
    if (!(cond)) {                                                \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                 \
    }                                                             \
  } while (0)

static Tensor vec(std::initializer_list<double> v, DType dt = DType::Float64) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, DType::Float64);
  int64_t i = 0;
  for (double x : v) t.data<double>()[i++] = x;
  return to_dtype(t, dt);
}

static bool near(double a, double b, double tol = 1e-9) { return std::abs(a - b) <= tol * (1 + std::abs(b)); }

int main() {
  // cross entropy of logits (0, ln 2, ln 3) at class 2: -log(3/6)
  Tensor logits = reshape(vec({0.0, std::log(2.0), std::log(3.0)}), {1, 3});
  logits.set_requires_grad(true);
  Tensor target = vec({2}, DType::Int64);
  Tensor loss = cross_entropy(logits, target);
  EXPECT(near(loss.item<double>(), std::log(2.0)));
  loss.backward();
  const double* g = logits.grad().data<double>();  // softmax - onehot
  EXPECT(near(g[0], 1.0 / 6) && near(g[1], 2.0 / 6) && near(g[2], 3.0 / 6 - 1));

  // nll_loss with a weight and an ignored sample: mean over the weights of the kept samples
  Tensor logp = reshape(vec({-1, -2, -3, -4}), {2, 2});
  Tensor nll = nll_loss(logp, vec({1, -100}, DType::Int64), vec({0.5, 2.0}));
  EXPECT(near(nll.item<double>(), 2.0));

  // mse / bce reductions
  EXPECT(near(mse_loss(vec({1, 2}), vec({0, 0}), Reduction::Sum).item<double>(), 5.0));
  EXPECT(near(binary_cross_entropy(vec({0.0}), vec({1.0})).item<double>(), 100.0));
  EXPECT(near(binary_cross_entropy_with_logits(vec({0.0}), vec({1.0})).item<double>(), std::log(2.0)));

  // errors are thrown, not crashes
  bool threw = false;
  try { cross_entropy(logits, vec({7}, DType::Int64)); } catch (const IndexError&) { threw = true; }
  EXPECT(threw);
  threw = false;
  try { constant_pad_nd(logits, {1, 2, 3}); } catch (const Error&) { threw = true; }
  EXPECT(threw);

  // dropout: reproducible from the generator, zeros or x / (1 - p)
  Generator gen(42);
  Tensor ones_t = ones({4096});
  Tensor d1 = dropout(ones_t, 0.25, true, &gen);
  gen.manual_seed(42);
  Tensor d2 = dropout(ones_t, 0.25, true, &gen);
  EXPECT(std::memcmp(d1.data_ptr(), d2.data_ptr(), 4096 * sizeof(float)) == 0);
  int64_t kept = 0;
  bool values_ok = true;
  for (int64_t i = 0; i < 4096; ++i) {
    float v = d1.data<float>()[i];
    kept += v != 0;
    values_ok = values_ok && (v == 0 || v == 1.0f / 0.75f);
  }
  EXPECT(values_ok && kept > 2900 && kept < 3250);
  EXPECT(dropout(ones_t, 0.5, false).is_same(ones_t));

  // padding and cropping
  Tensor padded = constant_pad_nd(vec({1, 2, 3}), {1, -1}, Scalar(9.0));
  EXPECT(padded.numel() == 3 && padded.data<double>()[0] == 9 && padded.data<double>()[2] == 2);

  if (failures) std::fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}

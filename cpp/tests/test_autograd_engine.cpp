// Autograd through the public C++ headers: an MLP trained with manual SGD, run_backward with
// inputs (autograd.grad) and second derivatives, hooks and retain_grad, a closure-defined op,
// torch's errors, and graphs freed with their outputs.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include "ember/ember.h"

using namespace ember;

static int g_failures = 0;
#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
      ++g_failures;                                                         \
    }                                                                       \
  } while (0)

static Tensor from_values(std::initializer_list<double> v, DType dt = DType::Float64) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, DType::Float64);
  double* p = t.data<double>();
  for (double x : v) *p++ = x;
  return to_dtype(t, dt);
}

static double at(const Tensor& t, int64_t i) { return to_dtype(contiguous(t), DType::Float64).data<double>()[i]; }

template <typename F>
static bool throws_with(F f, const char* needle) {
  try {
    f();
  } catch (const Error& e) {
    if (std::strstr(e.what(), needle)) return true;
    std::printf("unexpected message: %s\n", e.what());
    return false;
  }
  return false;
}

// Fits y = sin(3x) on [-1, 1] with a 1-16-1 tanh MLP and plain SGD.
static void test_mlp_training() {
  const int64_t n = 64, hidden = 16;
  Tensor x = empty({n, 1}), y = empty({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    float v = -1.0f + 2.0f * static_cast<float>(i) / (n - 1);
    x.data<float>()[i] = v;
    y.data<float>()[i] = std::sin(3.0f * v);
  }
  // Deterministic small weights.
  auto init = [](Shape s, float scale, int seed) {
    Tensor w = empty(s);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = scale * std::sin(1.7f * (i + 1) + seed);
    w.set_requires_grad(true);
    return w;
  };
  Tensor w1 = init({1, hidden}, 1.5f, 1), b1 = init({hidden}, 0.5f, 2);
  Tensor w2 = init({hidden, 1}, 0.5f, 3), b2 = init({1}, 0.1f, 4);
  Tensor params[] = {w1, b1, w2, b2};
  double first = 0, last = 0;
  for (int step = 0; step < 1500; ++step) {
    Tensor h = tanh(add(mm(x, w1), b1));
    Tensor pred = add(mm(h, w2), b2);
    Tensor diff = pred - y;
    Tensor loss = mean(diff * diff);
    loss.backward();
    {
      NoGradGuard no_grad;
      for (auto& p : params) {
        Tensor data = detach(p);
        add_(data, p.grad(), Scalar(-0.2));
        Tensor g = p.grad();
        zero_(g);
      }
    }
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  std::printf("mlp loss %.5f -> %.5f\n", first, last);
  CHECK(last < 0.02 && last < first / 10);
  CHECK(!w1.grad().requires_grad());
}

// autograd.grad: gradients returned, .grad untouched, second derivatives with create_graph.
static void test_run_backward_with_inputs() {
  Tensor x = from_values({0.5, -1.0, 2.0});
  x.set_requires_grad(true);
  Tensor y = sum(x * x * x);
  auto g = run_backward({y}, {Tensor()}, /*retain_graph=*/true, /*create_graph=*/true, {x});
  CHECK(g.size() == 1 && g[0].requires_grad());
  for (int i = 0; i < 3; ++i) CHECK(std::fabs(at(g[0], i) - 3 * at(x, i) * at(x, i)) < 1e-12);
  CHECK(!x.grad().defined());
  auto h = run_backward({sum(g[0])}, {Tensor()}, false, false, {x});
  for (int i = 0; i < 3; ++i) CHECK(std::fabs(at(h[0], i) - 6 * at(x, i)) < 1e-12);

  // Only the path to the requested input runs; an unused input needs allow_unused.
  Tensor a = from_values({1.0, 2.0}), b = from_values({3.0, 4.0});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor out = sum(a * 2.0);
  CHECK(throws_with([&] { run_backward({out}, {Tensor()}, true, false, {a, b}); },
                    "The differentiated Tensor at index 1 appears to not have been used in the graph"));
  auto r = run_backward({out}, {Tensor()}, false, false, {a, b}, /*allow_unused=*/true);
  CHECK(r[0].defined() && !r[1].defined() && at(r[0], 1) == 2.0);

  // backward(inputs=...): accumulates only into the requested tensors.
  Tensor c = sum(a * b);
  run_backward_into({c}, {Tensor()}, false, false, {a});
  CHECK(a.grad().defined() && !b.grad().defined() && at(a.grad(), 0) == 3.0);
}

static void test_hooks_and_retain_grad() {
  Tensor x = from_values({1.0, 2.0});
  x.set_requires_grad(true);
  int leaf_calls = 0;
  x.register_hook([&](const Tensor& g) {
    ++leaf_calls;
    return g * 10.0;
  });
  Tensor y = x * 3.0;
  y.retain_grad();  // registered before the hook below: still sees the hooked gradient
  y.register_hook([](const Tensor& g) { return g + 1.0; });
  y.register_hook([](const Tensor&) { return Tensor(); });  // undefined: keep the gradient
  sum(y).backward();
  CHECK(leaf_calls == 1);
  CHECK(at(y.grad(), 0) == 2.0);           // 1 + 1
  CHECK(at(x.grad(), 0) == 60.0);          // (1 + 1) * 3 * 10
  CHECK(y.retains_grad() && !x.retains_grad());
  Tensor z = x * 1.0;
  z.register_hook([](const Tensor& g) { return sum(g); });
  CHECK(throws_with([&] { sum(z).backward(); }, "hook has changed the size of value"));
}

// An op defined with a closure, as the op files do; its saved output is re-linked on unpack.
static Tensor square_exp(const Tensor& x) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = exp(x * x);
  }
  if (any_requires_grad({&x}))
    record_function("SquareExpBackward0", {x}, {&out},
                    [](const GradList& g, FunctionNode& self) {
                      Tensor xs = self.saved(0), o = self.saved(1);
                      return GradList{g[0] * 2.0 * xs * o};
                    },
                    {{x, false}, {out, true}});
  return out;
}

static void test_closure_op_and_graph_lifetime() {
  Tensor x = from_values({0.3, -0.2});
  x.set_requires_grad(true);
  std::weak_ptr<Node> node;
  {
    Tensor y = square_exp(x);
    CHECK(y.grad_fn() && y.grad_fn()->name() == "SquareExpBackward0");
    node = y.grad_fn();
    auto g = run_backward({sum(y)}, {Tensor()}, true, true, {x});
    double x0 = at(x, 0);
    CHECK(std::fabs(at(g[0], 0) - 2 * x0 * std::exp(x0 * x0)) < 1e-12);
    // d/dx (2x e^{x^2}) = (2 + 4x^2) e^{x^2}, through the re-linked saved output.
    auto h = run_backward({sum(g[0])}, {Tensor()}, false, false, {x});
    CHECK(std::fabs(at(h[0], 0) - (2 + 4 * x0 * x0) * std::exp(x0 * x0)) < 1e-12);
    CHECK(!node.expired());
  }
  CHECK(node.expired());  // a saved output does not keep its own node alive
}

static void test_errors() {
  Tensor x = from_values({1.0, 2.0, 3.0});
  x.set_requires_grad(true);
  Tensor y = sum(exp(x));
  y.backward();
  CHECK(throws_with([&] { y.backward(); }, "Trying to backward through the graph a second time"));
  CHECK(throws_with([&] { sum(ones({2})).backward(); },
                    "element 0 of tensors does not require grad and does not have a grad_fn"));
  CHECK(throws_with([&] { (x * 2.0).backward(); }, "grad can be implicitly created only for scalar outputs"));
  CHECK(throws_with([&] { (x * 2.0).backward(ones({2}, DType::Float64)); }, "Mismatch in shape"));
  Tensor h = x * 1.0;
  Tensor s = h * h;
  Tensor hv = h;
  mul_(hv, from_values({2.0, 2.0, 2.0}));
  CHECK(throws_with([&] { sum(s).backward(); },
                    "one of the variables needed for gradient computation has been modified by an inplace operation"));
  CHECK(throws_with([&] { mul_(x, from_values({2.0})); }, "a leaf Variable that requires grad"));
  Tensor i = ones({2}, DType::Int64);
  CHECK(throws_with([&] { i.set_requires_grad(true); }, "only Tensors of floating point dtype can require gradients"));
  CHECK(throws_with([&] { s.set_requires_grad(false); }, "you can only change requires_grad flags of leaf variables"));
}

// A write through a view changes the base's history: d(sum(a))/dx is 2 where b wrote, 1 elsewhere.
static void test_inplace_through_view() {
  Tensor x = from_values({1.0, 2.0, 3.0, 4.0});
  x.set_requires_grad(true);
  Tensor a = x * 1.0;
  Tensor b = narrow(a, 0, 1, 2);
  mul_(b, from_values({2.0}));
  CHECK(a.grad_fn()->name() == "CopySlices" && b.grad_fn()->name() == "AsStridedBackward0");
  CHECK(b.grad_fn()->next_edges[0].fn == a.grad_fn());
  sum(a).backward();
  CHECK(at(x.grad(), 0) == 1.0 && at(x.grad(), 1) == 2.0 && at(x.grad(), 2) == 2.0 && at(x.grad(), 3) == 1.0);
  Tensor v = narrow(x, 0, 0, 2);
  CHECK(throws_with([&] { mul_(v, from_values({2.0})); }, "a view of a leaf Variable that requires grad"));
}

int main() {
  test_inplace_through_view();
  test_mlp_training();
  test_run_backward_with_inputs();
  test_hooks_and_retain_grad();
  test_closure_op_and_graph_lifetime();
  test_errors();
  if (g_failures) {
    std::printf("%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all autograd checks passed\n");
  return 0;
}

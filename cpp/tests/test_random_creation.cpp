// Creation and random ops through the public C++ API: values, reproducibility, thread independence.
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

static bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()) == 0;
}

int main() {
  // Philox4x32-10 known-answer vector (Random123): counter 0, key 0.
  auto bits = philox4x32(0, 0);
  EXPECT(bits[0] == 0x6627e8d5u && bits[1] == 0xe169c58du && bits[2] == 0xbc57ac4cu && bits[3] == 0x9b00dbd8u);

  Tensor r = arange(Scalar(int64_t(2)), Scalar(int64_t(11)), Scalar(int64_t(3)), DType::Int64);
  EXPECT(r.numel() == 3 && r.data<int64_t>()[2] == 8);
  Tensor l = linspace(Scalar(0.0), Scalar(1.0), 5, DType::Float32);
  EXPECT(l.numel() == 5 && l.data<float>()[1] == 0.25f && l.data<float>()[4] == 1.0f);
  Tensor e = eye(2, 3, DType::Float64);
  EXPECT(e.data<double>()[0] == 1 && e.data<double>()[1] == 0 && e.data<double>()[4] == 1);

  manual_seed(5);
  Tensor a = randn({100000});
  manual_seed(5);
  Tensor b = randn({100000});
  EXPECT(same_bytes(a, b));
  double mean = 0;
  for (int64_t i = 0; i < a.numel(); ++i) mean += a.data<float>()[i];
  EXPECT(std::fabs(mean / a.numel()) < 0.02);

  int prev = get_num_threads();
  set_num_threads(1);
  Generator g1(9);
  Tensor u1 = rand({100000}, DType::Float64, &g1);
  set_num_threads(2);
  Generator g2(9);
  Tensor u2 = rand({100000}, DType::Float64, &g2);
  set_num_threads(prev);
  EXPECT(same_bytes(u1, u2));

  Tensor p = randperm(1000);
  std::vector<int> seen(1000, 0);
  for (int64_t i = 0; i < 1000; ++i) seen[p.data<int64_t>()[i]]++;
  bool perm = true;
  for (int s : seen) perm = perm && s == 1;
  EXPECT(perm);

  bool threw = false;
  try {
    randint(3, 3, {2});
  } catch (const Error&) {
    threw = true;
  }
  EXPECT(threw);

  if (failures) std::fprintf(stderr, "%d failures\n", failures);
  else std::printf("ok\n");
  return failures ? 1 : 0;
}

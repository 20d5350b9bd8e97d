// Random sampling: the generator and every random op (uniform_, normal_, bernoulli_,
// exponential_, random_, rand, randn, randint, randperm, normal, bernoulli, multinomial).
//
// Every kernel draws element i of its output from philox4x32(seed, base + i), where `base` is
// the first of the counters the op reserved, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include "dispatch.h"
#include "iter.h"
#include "ember/generator.h"
#include "ember/ops.h"

namespace ember {

// ---- generator ----------------------------------------------------------------------------

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  offset_ = 0;
}

uint64_t Generator::seed() {
  std::random_device rd;
  uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  manual_seed(s);
  return s;
}

uint64_t Generator::initial_seed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seed_;
}

std::pair<uint64_t, uint64_t> Generator::reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t first = offset_;
  offset_ += n;
  return {seed_, first};
}

std::vector<uint8_t> Generator::get_state() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint8_t> s(16);
  std::memcpy(s.data(), &seed_, 8);
  std::memcpy(s.data() + 8, &offset_, 8);
  return s;
}

void Generator::set_state(const std::vector<uint8_t>& state) {
  EMBER_CHECK(state.size() == 16, "Expected a Generator state of size 16 but found the input RNG state size to be ",
              state.size());
  std::lock_guard<std::mutex> lock(mu_);
  std::memcpy(&seed_, state.data(), 8);
  std::memcpy(&offset_, state.data() + 8, 8);
}

const std::shared_ptr<Generator>& default_generator() {
  static const std::shared_ptr<Generator> gen = std::make_shared<Generator>();
  return gen;
}

void manual_seed(uint64_t seed) { default_generator()->manual_seed(seed); }

// ---- bits to samples ----------------------------------------------------------------------

namespace {

using Bits = std::array<uint32_t, 4>;

inline uint64_t bits64(const Bits& b, int i) { return (static_cast<uint64_t>(b[i]) << 32) | b[i + 1]; }
// Uniform in [0, 1) with 53 random bits, from words i and i+1.
inline double uniform53(const Bits& b, int i = 0) { return static_cast<double>(bits64(b, i) >> 11) * 0x1.0p-53; }
// Standard normal by Box-Muller (u1 in (0, 1] so the log is finite).
inline double standard_normal(const Bits& b) {
  double u1 = 1.0 - uniform53(b, 0), u2 = uniform53(b, 2);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void require_floating(const Tensor& x, const char* kernel) {
  if (!is_floating(x.dtype()))
    throw NotImplementedError(str_cat("\"", kernel, "\" not implemented for '", scalar_type_name(x.dtype()), "'"));
}

Generator& pick(Generator* gen) { return gen ? *gen : *default_generator(); }

constexpr int64_t kRandomGrain = 8192;

// The one loop behind every elementwise sampler: out[i] = sample(philox(seed, base + i)), i being
// the row-major index of the element in x (which may be non-contiguous).
template <typename T, typename Sample>
void fill_random(const Tensor& x, Generator* gen, const Sample& sample) {
  int64_t n = x.numel();
  if (n == 0) return;
  auto [seed, base] = pick(gen).reserve(static_cast<uint64_t>(n));
  Geometry<1> geo(x.sizes(), {&x});
  parallel_for(0, n, kRandomGrain, [&](int64_t b, int64_t e) {
    uint64_t idx = base + static_cast<uint64_t>(b);
    geo.for_each_row(b, e, [&](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t m) {
      for (int64_t i = 0; i < m; ++i, ++idx) *reinterpret_cast<T*>(p[0] + i * s[0]) = sample(philox4x32(seed, idx));
    });
  });
}

// In-place random ops record a node whose gradient is zero (the values no longer depend on
// the old ones), as torch does.
void finish_inplace(Tensor& x, const char* node) {
  x.bump_version();
  if (x.requires_grad() && grad_enabled())
    record_function(node, {x}, {&x}, [](const GradList& g, FunctionNode&) { return GradList{zeros_like(g[0])}; });
}

}  // namespace

// ---- in-place samplers ----------------------------------------------------------------------

Tensor& uniform_(Tensor& x, double from, double to, Generator* gen) {
  require_floating(x, "check_uniform_bounds");
  EMBER_CHECK(from <= to, "uniform_ expects to return a [from, to) range, but found from=", from, " > to=", to);
  check_inplace(x);
  dispatch_floating(x.dtype(), "uniform_", [&](auto tag) {
    using T = decltype(tag);
    const T lo = static_cast<T>(from), hi = static_cast<T>(to);
    // The largest T below `to`: rounding to T must not produce the excluded bound.
    const T below = from < to ? std::nextafter(hi, lo) : hi;
    fill_random<T>(x, gen, [=](const Bits& b) {
      T v = static_cast<T>(from + (to - from) * uniform53(b));
      return v < hi ? v : below;
    });
  });
  finish_inplace(x, "UniformBackward0");
  return x;
}

Tensor& normal_(Tensor& x, double mean, double std, Generator* gen) {
  EMBER_CHECK(std >= 0.0, "normal expects std >= 0.0, but found std ", std);
  require_floating(x, "normal_kernel_cpu");
  check_inplace(x);
  dispatch_floating(x.dtype(), "normal_", [&](auto tag) {
    using T = decltype(tag);
    fill_random<T>(x, gen, [=](const Bits& b) { return static_cast<T>(mean + std * standard_normal(b)); });
  });
  finish_inplace(x, "NormalBackward0");
  return x;
}

Tensor& bernoulli_(Tensor& x, double p, Generator* gen) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "bernoulli_ expects p to be in [0, 1], but got p=", p);
  check_inplace(x);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill_random<T>(x, gen, [=](const Bits& b) { return static_cast<T>(uniform53(b) < p); });
  });
  finish_inplace(x, "BernoulliBackward2");
  return x;
}

Tensor& bernoulli_(Tensor& x, const Tensor& p, Generator* gen) {
  require_floating(p, "bernoulli_tensor_cpu_p_");
  check_inplace(x);
  Tensor pd = to_dtype(detach(p), DType::Float64);
  Tensor pb = expand(pd, x.sizes());  // RuntimeError if p does not broadcast to x
  bool in_range = true;
  Tensor pc = contiguous(pb);
  const double* pp = pc.data<double>();
  for (int64_t i = 0, n = pc.numel(); i < n; ++i)
    if (!(pp[i] >= 0.0 && pp[i] <= 1.0)) { in_range = false; break; }
  EMBER_CHECK(in_range, "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
  // Draw uniforms with x's geometry, then compare with the broadcast probabilities.
  Tensor u = empty(x.sizes(), DType::Float64);
  fill_random<double>(u, gen, [](const Bits& b) { return uniform53(b); });
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_loop<T, double, double>(x, u, pb, [](double uv, double pv) { return static_cast<T>(uv < pv); });
  });
  finish_inplace(x, "BernoulliBackward1");
  return x;
}

Tensor& exponential_(Tensor& x, double lambd, Generator* gen) {
  EMBER_CHECK(lambd > 0.0, "exponential_ expects lambda > 0.0, but found lambda=", lambd);
  EMBER_CHECK(is_floating(x.dtype()), "Exponential distribution is a continuous probability distribution. "
              "dtype must be a floating point but you specified ", scalar_type_name(x.dtype()));
  check_inplace(x);
  dispatch_floating(x.dtype(), "exponential_", [&](auto tag) {
    using T = decltype(tag);
    fill_random<T>(x, gen, [=](const Bits& b) { return static_cast<T>(-std::log1p(-uniform53(b)) / lambd); });
  });
  finish_inplace(x, "ExponentialBackward0");
  return x;
}

Tensor& random_(Tensor& x, int64_t from, std::optional<int64_t> to, Generator* gen) {
  if (to)
    EMBER_CHECK(from < *to, "random_ expects 'from' to be less than 'to', but got from=", from, " >= to=", *to);
  check_inplace(x);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Without `to`, torch draws from [from, largest integer T represents exactly].
    uint64_t top;
    if constexpr (std::is_same_v<T, bool>) top = 1;
    else if constexpr (std::is_floating_point_v<T>) top = uint64_t(1) << std::numeric_limits<T>::digits;
    else top = static_cast<uint64_t>(std::numeric_limits<T>::max());
    uint64_t range = to ? static_cast<uint64_t>(*to) - static_cast<uint64_t>(from)
                        : top - static_cast<uint64_t>(from) + 1;  // 0 means the full 2^64
    fill_random<T>(x, gen, [=](const Bits& b) {
      uint64_t r = bits64(b, 0);
      return static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(from) + (range ? r % range : r)));
    });
  });
  finish_inplace(x, to ? (from == 0 ? "RandomBackward1" : "RandomBackward0") : "RandomBackward2");
  return x;
}

// ---- factories --------------------------------------------------------------------------------

Tensor rand(const Shape& sizes, DType dtype, Generator* gen) {
  Tensor t = empty(sizes, dtype);
  return uniform_(t, 0.0, 1.0, gen);
}

Tensor randn(const Shape& sizes, DType dtype, Generator* gen) {
  Tensor t = empty(sizes, dtype);
  return normal_(t, 0.0, 1.0, gen);
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, DType dtype, Generator* gen) {
  EMBER_CHECK(low < high, "random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high);
  Tensor t = empty(sizes, dtype);
  return random_(t, low, high, gen);
}

Tensor randperm(int64_t n, DType dtype, Generator* gen) {
  Tensor out = empty({n}, dtype);
  if (dtype != DType::Int64 && n > 0) {
    // Every value below n must be representable in dtype.
    double limit = dispatch_all(dtype, [](auto tag) -> double {
      using T = decltype(tag);
      if constexpr (std::is_floating_point_v<T>) return std::ldexp(1.0, std::numeric_limits<T>::digits);
      else return static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    });
    EMBER_CHECK(static_cast<double>(n) <= limit, "n must be less than or equal to ", static_cast<int64_t>(limit),
                " for the given dtype ", dtype_name(dtype), ", but got n=", n);
  }
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  if (n > 1) {
    // Fisher-Yates; swap i draws from counter base + i.
    auto [seed, base] = pick(gen).reserve(static_cast<uint64_t>(n));
    for (int64_t i = n - 1; i > 0; --i) {
      uint64_t j = bits64(philox4x32(seed, base + static_cast<uint64_t>(i)), 0) % static_cast<uint64_t>(i + 1);
      std::swap(perm[i], perm[j]);
    }
  }
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(perm[i]);
  });
  return out;
}

// mean + std * N(0, 1) over the broadcast shape of mean and std; gradients are zero, as in torch.
static Tensor normal_impl(const Tensor& mean, const Tensor& std, bool check_std, Generator* gen, const char* node) {
  std::vector<Tensor> inputs;  // the tensor arguments (not the wrapped Python floats)
  for (const Tensor* t : {&mean, &std})
    if (!t->impl()->wrapped_number) {
      require_floating(*t, "normal_kernel_cpu");
      inputs.push_back(*t);
    }
  DType dt = result_type({mean, std});
  if (check_std) {
    Tensor s = contiguous(to_dtype(detach(std), DType::Float64));
    const double* sp = s.data<double>();
    for (int64_t i = 0, n = s.numel(); i < n; ++i)
      EMBER_CHECK(sp[i] >= 0.0, "normal expects all elements of std >= 0.0");
  }
  Tensor out = empty(broadcast_shapes(mean.sizes(), std.sizes()), dt);
  {
    NoGradGuard ng;
    normal_(out, 0.0, 1.0, gen);
  }
  Tensor m = to_dtype(detach(mean), dt), s = to_dtype(detach(std), dt);
  dispatch_floating(dt, "normal", [&](auto tag) {
    using T = decltype(tag);
    ternary_loop<T, T, T, T>(out, out, m, s, [](T z, T mu, T sd) { return mu + sd * z; });
  });
  if (any_requires_grad(inputs)) {
    std::vector<std::pair<Shape, DType>> metas;
    for (auto& t : inputs) metas.emplace_back(t.sizes(), t.dtype());
    record_function(node, inputs, {&out}, [metas](const GradList&, FunctionNode&) {
      GradList r;
      for (auto& [shape, dtype] : metas) r.push_back(zeros(shape, dtype));
      return r;
    });
  }
  return out;
}

Tensor normal(const Tensor& mean, const Tensor& std, Generator* gen) {
  return normal_impl(mean, std, true, gen, "NormalBackward3");
}

Tensor normal(const Tensor& mean, double std, Generator* gen) {
  EMBER_CHECK(std >= 0.0, "normal expects std >= 0.0, but found std ", std);
  return normal_impl(mean, wrapped_scalar(Scalar(std)), false, gen, "NormalBackward1");
}

Tensor normal(double mean, const Tensor& std, Generator* gen) {
  return normal_impl(wrapped_scalar(Scalar(mean)), std, true, gen, "NormalBackward2");
}

Tensor normal(double mean, double std, const Shape& sizes, DType dtype, Generator* gen) {
  EMBER_CHECK(std >= 0.0, "normal expects std >= 0.0, but found std ", std);
  Tensor t = empty(sizes, dtype);
  return normal_(t, mean, std, gen);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  require_floating(p, "bernoulli_tensor_cpu_p_");
  Tensor out = empty(p.sizes(), p.dtype());
  {
    NoGradGuard ng;
    bernoulli_(out, p, gen);
  }
  if (any_requires_grad({&p}))
    record_function("BernoulliBackward0", {p}, {&out},
                    [](const GradList& g, FunctionNode&) { return GradList{zeros_like(g[0])}; });
  return out;
}

Tensor bernoulli(const Tensor& x, double p, Generator* gen) {
  Tensor out = empty(x.sizes(), x.dtype());
  NoGradGuard ng;
  return bernoulli_(out, p, gen);
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement, Generator* gen) {
  EMBER_CHECK(probs.dim() == 1 || probs.dim() == 2, "prob_dist must be 1 or 2 dim");
  EMBER_CHECK(is_floating(probs.dtype()), "multinomial only supports floating-point dtypes for input, got: ",
              scalar_type_name(probs.dtype()));
  EMBER_CHECK(num_samples > 0, "cannot sample n_sample <= 0 samples");
  int64_t categories = probs.size(-1);
  EMBER_CHECK(replacement || num_samples <= categories,
              "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  EMBER_CHECK(categories <= (int64_t(1) << 24), "number of categories cannot exceed 2^24");
  int64_t rows = probs.dim() == 2 ? probs.size(0) : 1;
  Tensor p = contiguous(to_dtype(detach(probs), DType::Float64));
  const double* pp = p.data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    for (int64_t k = 0; k < categories; ++k) {
      double v = pp[r * categories + k];
      EMBER_CHECK(std::isfinite(v) && v >= 0, "probability tensor contains either `inf`, `nan` or element < 0");
      total += v;
    }
    EMBER_CHECK(total > 0, "invalid multinomial distribution (sum of probabilities <= 0)");
  }
  Shape out_shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = empty(out_shape, DType::Int64);
  int64_t* o = out.data<int64_t>();
  // Row r uses counters [base + r * per_row, base + (r + 1) * per_row).
  uint64_t per_row = static_cast<uint64_t>(replacement ? num_samples : categories);
  auto [seed, base] = pick(gen).reserve(per_row * static_cast<uint64_t>(rows));
  parallel_for(0, rows, std::max<int64_t>(1, kRandomGrain / std::max<int64_t>(categories, num_samples)),
               [&, seed = seed, base = base](int64_t rb, int64_t re) {
    std::vector<double> work(static_cast<size_t>(categories));
    std::vector<int64_t> order(static_cast<size_t>(categories));
    for (int64_t r = rb; r < re; ++r) {
      const double* row = pp + r * categories;
      uint64_t first = base + static_cast<uint64_t>(r) * per_row;
      if (replacement) {
        // Inverse CDF: the first category whose cumulative mass exceeds u * total.
        double acc = 0;
        for (int64_t k = 0; k < categories; ++k) work[k] = (acc += row[k]);
        for (int64_t s = 0; s < num_samples; ++s) {
          double target = uniform53(philox4x32(seed, first + static_cast<uint64_t>(s))) * acc;
          int64_t k = std::upper_bound(work.begin(), work.end(), target) - work.begin();
          o[r * num_samples + s] = std::min(k, categories - 1);
        }
      } else {
        // Exponential race: category k gets key log(u_k) / p_k; the largest keys win, in order.
        for (int64_t k = 0; k < categories; ++k) {
          double u = 1.0 - uniform53(philox4x32(seed, first + static_cast<uint64_t>(k)));
          work[k] = row[k] > 0 ? std::log(u) / row[k] : -std::numeric_limits<double>::infinity();
          order[k] = k;
        }
        std::partial_sort(order.begin(), order.begin() + num_samples, order.end(), [&](int64_t a, int64_t b) {
          return work[a] > work[b] || (work[a] == work[b] && a < b);
        });
        for (int64_t s = 0; s < num_samples; ++s) o[r * num_samples + s] = order[s];
      }
    }
  });
  return out;
}

}  // namespace ember

// Pooling over 1 to 3 spatial dims: max, average, adaptive max / average and max unpooling,
// forward and backward side by side.
//
// Every pooling op is planned the same way. The input is viewed as [planes, D, H, W] (planes =
// the leading batch and channel dims; absent spatial dims have size 1) and every spatial dim
// gets a table holding, for each output index, its input window: the first in-bounds tap, the
// number of in-bounds taps, the tap step (dilation) and the window length counted with padding.
// One max kernel and one average kernel walk these tables, so sliding and adaptive pooling
// share their loops; planes run in parallel and each output is computed by one thread, so
// results do not depend on the thread count.
//
// Backward: average pooling is linear, so its backward is the adjoint kernel, recorded in turn
// with the forward kernel as its own backward (double backward). Max pooling's backward
// scatters the gradient to the saved indices, and the backward of that scatter gathers at
// them; max_unpool is the same pair used the other way round.
#include <cmath>
#include <limits>
#include <memory>
#include "elementwise_kernels.h"
#include "../core/parallel.h"

namespace ember {

namespace {

// The input window of one output index along one dim.
struct Window {
  int64_t start = 0;   // first in-bounds tap
  int64_t count = 0;   // in-bounds taps
  int64_t padded = 0;  // window length with padding (average pooling's count_include_pad divisor)
};

struct PoolPlan {
  int64_t planes = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, step[3] = {1, 1, 1};
  std::vector<Window> win[3];
  Shape in_shape, out_shape;  // full shapes: leading dims, then the spatial dims
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};
using PlanPtr = std::shared_ptr<const PoolPlan>;

struct NodeNames {
  const char* forward;   // the node a forward (pooling-direction) kernel records
  const char* backward;  // the node its adjoint records (seen only under create_graph)
  const char* kernel;    // named by the error for unsupported dtypes
};

int64_t div_floor(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// torch's pooling_output_shape: with ceil_mode the last window must start inside the input or
// the left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t out = div_floor(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

std::vector<Window> sliding_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
  std::vector<Window> w(out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t first = o * s - p;
    int64_t k0 = first < 0 ? (-first + d - 1) / d : 0;
    int64_t k1 = first + (k - 1) * d < in ? k : (in - 1 - first >= 0 ? (in - 1 - first) / d + 1 : 0);
    w[o].start = first + k0 * d;
    w[o].count = std::max<int64_t>(k1 - k0, 0);
    w[o].padded = std::min(first + k, in + p) - first;  // used with d == 1 (average pooling)
  }
  return w;
}

// torch's adaptive windows: [floor(o * in / out), ceil((o + 1) * in / out)).
std::vector<Window> adaptive_windows(int64_t in, int64_t out) {
  std::vector<Window> w(out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t a = (o * in) / out, b = ((o + 1) * in + out - 1) / out;
    w[o] = Window{a, b - a, b - a};
  }
  return w;
}

// Planes per parallel chunk: about kGrainSize element visits each.
int64_t plane_grain(int64_t work_per_plane) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work_per_plane)); }

std::string join_sizes(const int64_t* s, int64_t n, const char* sep = "x") {
  std::string r;
  for (int64_t i = 0; i < n; ++i) r += (i ? sep : "") + std::to_string(s[i]);
  return r;
}

const char* kDimLetters[3] = {"T", "H", "W"};
// "kH: 0 kW: 0" (2-d) or "kT: 0 kH: 0 kW: 0" (3-d).
std::string per_dim(const char* prefix, const Shape& v) {
  std::string r;
  size_t nd = v.size();
  for (size_t i = 0; i < nd; ++i)
    r += (i ? " " : "") + std::string(prefix) + kDimLetters[3 - nd + i] + ": " + std::to_string(v[i]);
  return r;
}

// The leading dims and the spatial layout of x for an nd-dim pooling op.
PoolPlan base_plan(const Tensor& x, size_t nd) {
  PoolPlan p;
  int64_t lead = x.dim() - static_cast<int64_t>(nd);
  p.planes = 1;
  for (int64_t i = 0; i < lead; ++i) p.planes *= x.sizes()[i];
  for (size_t i = 0; i < nd; ++i) p.in[3 - nd + i] = x.sizes()[lead + i];
  p.in_shape = x.sizes();
  return p;
}

void finish_plan(PoolPlan& p, size_t nd) {
  p.out_shape = Shape(p.in_shape.begin(), p.in_shape.end() - static_cast<int64_t>(nd));
  for (size_t i = 0; i < nd; ++i) p.out_shape.push_back(p.out[3 - nd + i]);
  for (int d = 0; d < 3; ++d)
    if (p.win[d].empty()) p.win[d] = adaptive_windows(1, 1);  // absent dims: one tap at 0
}

// Rank and empty-dim checks shared by max and average pooling (torch's pool2d/3d_shape_check).
void check_pool_input(const Tensor& x, size_t nd, bool is_max) {
  int64_t r = x.dim(), want = static_cast<int64_t>(nd) + 1;
  if (r != want && r != want + 1) {
    if (is_max) throw Error(str_cat("non-empty ", want, "D or ", want + 1, "D (batch mode) tensor expected for input"));
    throw Error(str_cat("Expected ", want, "D or ", want + 1, "D (batch mode) tensor with optional 0 dim batch size for input, but got:",
                        shape_str(x.sizes())));
  }
  for (int64_t i = r - want; i < r; ++i)
    EMBER_CHECK(x.sizes()[i] > 0, "Expected ", want, "D or ", want + 1,
                "D (batch mode) tensor with optional 0 dim batch size for input, but got:", shape_str(x.sizes()));
}

void check_window_args(size_t nd, const Shape& kernel, const Shape& stride, const Shape& padding, const Shape& dilation) {
  EMBER_CHECK(stride.size() == nd && padding.size() == nd && dilation.size() == nd,
              "pooling: kernel_size, stride, padding and dilation must have ", nd, " entries each");
  for (size_t i = 0; i < nd; ++i)
    EMBER_CHECK(kernel[i] > 0, "kernel size should be greater than zero, but got ", per_dim("k", kernel));
  for (size_t i = 0; i < nd; ++i) {
    EMBER_CHECK(stride[i] != 0, "stride should not be zero");
    EMBER_CHECK(stride[i] > 0, "stride should be greater than zero, but got ", per_dim("d", stride));
  }
  for (size_t i = 0; i < nd; ++i)
    EMBER_CHECK(dilation[i] > 0, "dilation should be greater than zero, but got ", per_dim("dilation", dilation));
  for (size_t i = 0; i < nd; ++i) {
    EMBER_CHECK(padding[i] >= 0, "pad must be non-negative, but got pad: ", padding[i]);
    EMBER_CHECK(padding[i] <= ((kernel[i] - 1) * dilation[i] + 1) / 2,
                "pad should be at most half of effective kernel size, but got pad=", padding[i],
                ", kernel_size=", kernel[i], " and dilation=", dilation[i]);
  }
}

PlanPtr sliding_plan(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                     const Shape& dilation, bool ceil_mode, bool is_max) {
  size_t nd = kernel.size();
  check_window_args(nd, kernel, stride, padding, dilation);
  check_pool_input(x, nd, is_max);
  auto p = std::make_shared<PoolPlan>(base_plan(x, nd));
  bool too_small = false;
  for (size_t i = 0; i < nd; ++i) {
    int64_t d = 3 - nd + i;
    p->out[d] = pooled_size(p->in[d], kernel[i], stride[i], padding[i], dilation[i], ceil_mode);
    too_small |= p->out[d] < 1;
  }
  if (too_small) {
    int64_t channels = x.sizes()[x.dim() - nd - 1];
    Shape in_sz{channels}, out_sz{channels};
    for (size_t i = 0; i < nd; ++i) in_sz.push_back(p->in[3 - nd + i]), out_sz.push_back(p->out[3 - nd + i]);
    throw Error(str_cat("Given input size: (", join_sizes(in_sz.data(), in_sz.size()), "). Calculated output size: (",
                        join_sizes(out_sz.data(), out_sz.size()), "). Output size is too small"));
  }
  for (size_t i = 0; i < nd; ++i) {
    int64_t d = 3 - nd + i;
    p->win[d] = sliding_windows(p->in[d], p->out[d], kernel[i], stride[i], padding[i], dilation[i]);
    p->step[d] = dilation[i];
  }
  finish_plan(*p, nd);
  return p;
}

PlanPtr adaptive_plan(const Tensor& x, const Shape& output_size, bool is_max) {
  size_t nd = output_size.size();
  const char* name = is_max ? (nd == 3 ? "adaptive_max_pool3d" : "adaptive_max_pool2d")
                            : (nd == 3 ? "adaptive_avg_pool3d" : "adaptive_avg_pool2d");
  int64_t r = x.dim(), want = static_cast<int64_t>(nd) + 1;
  EMBER_CHECK(r == want || r == want + 1, name, "(): Expected ", want, "D or ", want + 1, "D tensor, but got",
              is_max ? ": " : " ", shape_str(x.sizes()));
  for (int64_t i = r - want + 1; i < r; ++i)
    EMBER_CHECK(x.sizes()[i] > 0, name, "(): Expected input to have non-zero size for non-batch dimensions, but input has sizes ",
                shape_str(x.sizes()), " with dimension ", i, " being empty");
  for (size_t i = 0; i < nd; ++i) {
    if (output_size[i] >= 0) continue;
    if (is_max) {
      Shape bad(x.sizes().begin(), x.sizes().end() - nd);
      bad.insert(bad.end(), output_size.begin(), output_size.end());
      throw Error(str_cat("Trying to create tensor with negative dimension ", output_size[i], ": ", shape_str(bad)));
    }
    std::string list;
    for (size_t j = 0; j < nd; ++j) list += (j ? ", " : "") + std::to_string(output_size[j]);
    throw Error(str_cat(name, ": elements of output_size must be greater than or equal to 0 but received {", list, "}"));
  }
  auto p = std::make_shared<PoolPlan>(base_plan(x, nd));
  for (size_t i = 0; i < nd; ++i) {
    int64_t d = 3 - nd + i;
    p->out[d] = output_size[i];
    p->win[d] = adaptive_windows(p->in[d], p->out[d]);
  }
  finish_plan(*p, nd);
  return p;
}

// Where a running maximum starts: -inf, or the type's lowest value for integers.
template <typename T> T lowest_value() {
  return std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
}

template <typename T> bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// Calls f(o, wd, wh, ww) for every output position o of one plane, in order.
template <typename F>
inline void for_each_window(const PoolPlan& p, const F& f) {
  int64_t o = 0;
  for (const Window& wd : p.win[0])
    for (const Window& wh : p.win[1])
      for (const Window& ww : p.win[2]) f(o++, wd, wh, ww);
}

// ---- max pooling: values and flat indices -------------------------------------------------
// The first largest value of each window (NaN wins, as torch); the index is the window's first
// in-bounds tap when every value is -inf.
// Whether windows along one axis all have `count` taps, starting `stride` apart (no padding
// or ceil-mode overhang clips them).
bool regular_windows(const std::vector<Window>& win, int64_t& stride) {
  stride = win.size() > 1 ? win[1].start - win[0].start : 1;
  for (size_t o = 0; o < win.size(); ++o)
    if (win[o].count != win[0].count || win[o].start != win[0].start + static_cast<int64_t>(o) * stride) return false;
  return true;
}

// 2-d max pooling whose windows are all whole (the usual case): each output row is built tap
// by tap across all of its windows. The generic loop below walks one window at a time and
// branches on each comparison, which real activations make a coin flip: it ran at a quarter
// of this speed. Taps are visited in the same order, so values and indices are identical.
template <typename T>
bool max_pool2d_whole_windows(const PoolPlan& p, const T* x, T* y, int64_t* idx) {
  int64_t sh = 0, sw = 0;
  if (p.in[0] != 1 || p.win[1].empty() || p.win[2].empty() || !regular_windows(p.win[1], sh) ||
      !regular_windows(p.win[2], sw))
    return false;
  const int64_t W = p.in[2], ip = p.in_plane(), op = p.out_plane(), OH = p.out[1], OW = p.out[2];
  const int64_t KH = p.win[1][0].count, KW = p.win[2][0].count, dh = p.step[1], dw = p.step[2];
  const int64_t row0 = p.win[1][0].start, col0 = p.win[2][0].start;
  parallel_for(0, p.planes, plane_grain(op * KH * KW), [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* xp = x + b * ip;
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* best = y + b * op + oh * OW;
        int64_t* arg = idx + b * op + oh * OW;
        const int64_t first = (row0 + oh * sh) * W + col0;
        for (int64_t ow = 0; ow < OW; ++ow) {
          best[ow] = lowest_value<T>();
          arg[ow] = first + ow * sw;
        }
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t tap = first + kh * dh * W + kw * dw;
#pragma omp simd
            for (int64_t ow = 0; ow < OW; ++ow) {
              const int64_t i = tap + ow * sw;
              const T v = xp[i];
              const bool take = (v > best[ow]) | is_nan_value(v);
              best[ow] = take ? v : best[ow];
              arg[ow] = take ? i : arg[ow];
            }
          }
      }
    }
  });
  return true;
}

template <typename T>
void max_pool_kernel(const PoolPlan& p, const T* x, T* y, int64_t* idx) {
  if (max_pool2d_whole_windows(p, x, y, idx)) return;
  const int64_t H = p.in[1], W = p.in[2], ip = p.in_plane(), op = p.out_plane();
  const int64_t sd = p.step[0], sh = p.step[1], sw = p.step[2];
  const int64_t taps = std::max<int64_t>(1, ip / std::max<int64_t>(1, op));
  parallel_for(0, p.planes, plane_grain(op * taps), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* xp = x + b * ip;
      T* yp = y + b * op;
      int64_t* ix = idx + b * op;
      for_each_window(p, [&](int64_t o, const Window& wd, const Window& wh, const Window& ww) {
        T best = lowest_value<T>();
        int64_t arg = (wd.start * H + wh.start) * W + ww.start;
        for (int64_t kd = 0, id = wd.start; kd < wd.count; ++kd, id += sd)
          for (int64_t kh = 0, ih = wh.start; kh < wh.count; ++kh, ih += sh) {
            const int64_t row = (id * H + ih) * W;
            for (int64_t kw = 0, i = row + ww.start; kw < ww.count; ++kw, i += sw) {
              T v = xp[i];
              if (v > best || is_nan_value(v)) { best = v; arg = i; }
            }
          }
        yp[o] = best;
        ix[o] = arg;
      });
    }
  });
}

// Max pooling's linearisation at fixed indices, as a pair of adjoint ops on [planes, *] views:
// gather: small[b, o] = large[b, idx[b, o]];
// scatter: zeros of the large shape with large[b, idx[b, o]] (+)= small[b, o].
// Each records the other as its backward, under the node names of the op they serve.
// Out-of-range indices (max pooling of an all-padding window) read as zero and are skipped.
struct GatherScatter {
  const char* gather_node;
  const char* scatter_node;
  bool accumulate;  // scatter adds (max pooling's backward) or overwrites (max_unpool)
};

Tensor pool_scatter(const Tensor& small, const Tensor& idx, const Shape& large_shape, int64_t large_plane,
                    const GatherScatter& op);

Tensor pool_gather(const Tensor& large, const Tensor& idx, int64_t large_plane, const GatherScatter& op) {
  Tensor src = contiguous(detach(large));
  Tensor out = empty(idx.sizes(), large.dtype());
  const int64_t planes = large_plane ? large.numel() / large_plane : 0;
  const int64_t small_plane = planes ? idx.numel() / planes : 0;
  dispatch_all(large.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = src.data<T>();
    T* d = out.data<T>();
    const int64_t* ix = idx.data<int64_t>();
    parallel_for(0, planes, plane_grain(small_plane), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        for (int64_t o = b * small_plane, e = o + small_plane; o < e; ++o) {
          int64_t i = ix[o];
          d[o] = (i >= 0 && i < large_plane) ? s[b * large_plane + i] : T(0);
        }
    });
  });
  if (any_requires_grad({&large})) {
    Shape large_shape = large.sizes();
    record_function(op.gather_node, {large}, {&out},
                    [large_shape, large_plane, op](const GradList& g, FunctionNode& self) {
                      return GradList{pool_scatter(g[0], self.saved(0), large_shape, large_plane, op)};
                    },
                    {{idx, false}});
  }
  return out;
}

Tensor pool_scatter(const Tensor& small, const Tensor& idx, const Shape& large_shape, int64_t large_plane,
                    const GatherScatter& op) {
  Tensor src = contiguous(detach(small));
  Tensor out = zeros(large_shape, small.dtype());
  const int64_t planes = large_plane ? shape_numel(large_shape) / large_plane : 0;
  const int64_t small_plane = planes ? idx.numel() / planes : 0;
  dispatch_all(small.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = src.data<T>();
    T* d = out.data<T>();
    const int64_t* ix = idx.data<int64_t>();
    parallel_for(0, planes, plane_grain(small_plane), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        T* dp = d + b * large_plane;
        for (int64_t o = b * small_plane, e = o + small_plane; o < e; ++o) {
          int64_t i = ix[o];
          if (i < 0 || i >= large_plane) continue;
          if (op.accumulate) dp[i] += s[o];
          else dp[i] = s[o];
        }
      }
    });
  });
  if (any_requires_grad({&small})) {
    record_function(op.scatter_node, {small}, {&out},
                    [large_plane, op](const GradList& g, FunctionNode& self) {
                      return GradList{pool_gather(g[0], self.saved(0), large_plane, op)};
                    },
                    {{idx, false}});
  }
  return out;
}

// ---- average pooling ------------------------------------------------------------------------
// Each output's divisor: divisor_override, or the window length with padding
// (count_include_pad) or without; an empty window averages to zero.
inline int64_t window_divisor(const PoolPlan& p, const Window& wd, const Window& wh, const Window& ww) {
  if (p.divisor_override) return p.divisor_override;
  if (p.count_include_pad) return wd.padded * wh.padded * ww.padded;
  return wd.count * wh.count * ww.count;
}

// Calls f(plane offset in x, tap offset) over every tap of one window, in torch's order.
template <typename F>
inline void for_each_tap(const PoolPlan& p, const Window& wd, const Window& wh, const Window& ww, const F& f) {
  const int64_t H = p.in[1], W = p.in[2];
  for (int64_t id = wd.start, ed = id + wd.count; id < ed; ++id)
    for (int64_t ih = wh.start, eh = ih + wh.count; ih < eh; ++ih) {
      const int64_t row = (id * H + ih) * W;
      for (int64_t i = row + ww.start, e = i + ww.count; i < e; ++i) f(i);
    }
}

template <typename T>
void avg_pool_kernel(const PoolPlan& p, const T* x, T* y) {
  const int64_t ip = p.in_plane(), op = p.out_plane();
  const int64_t taps = std::max<int64_t>(1, ip / std::max<int64_t>(1, op));
  parallel_for(0, p.planes, plane_grain(op * taps), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* xp = x + b * ip;
      T* yp = y + b * op;
      for_each_window(p, [&](int64_t o, const Window& wd, const Window& wh, const Window& ww) {
        if (wd.count <= 0 || wh.count <= 0 || ww.count <= 0) { yp[o] = T(0); return; }
        T sum = 0;
        for_each_tap(p, wd, wh, ww, [&](int64_t i) { sum += xp[i]; });
        yp[o] = sum / static_cast<T>(window_divisor(p, wd, wh, ww));
      });
    }
  });
}

// The adjoint: every output's gradient divided by its divisor, added to each tap.
template <typename T>
void avg_pool_adjoint_kernel(const PoolPlan& p, const T* g, T* gx) {
  const int64_t ip = p.in_plane(), op = p.out_plane();
  const int64_t taps = std::max<int64_t>(1, ip / std::max<int64_t>(1, op));
  parallel_for(0, p.planes, plane_grain(op * taps), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* gp = g + b * op;
      T* xp = gx + b * ip;
      for_each_window(p, [&](int64_t o, const Window& wd, const Window& wh, const Window& ww) {
        if (wd.count <= 0 || wh.count <= 0 || ww.count <= 0) return;
        const T v = gp[o] / static_cast<T>(window_divisor(p, wd, wh, ww));
        for_each_tap(p, wd, wh, ww, [&](int64_t i) { xp[i] += v; });
      });
    }
  });
}

Tensor avg_pool_adjoint(const Tensor& g, const PlanPtr& plan, const NodeNames& names);

// avg_pool_apply (x -> pooled) and avg_pool_adjoint (pooled gradient -> input gradient) record
// each other as backward.
Tensor avg_pool_apply(const Tensor& x, const PlanPtr& plan, const NodeNames& names) {
  Tensor src = contiguous(detach(x));
  Tensor out = empty(plan->out_shape, x.dtype());
  dispatch_floating(x.dtype(), names.kernel, [&](auto tag) {
    using T = decltype(tag);
    avg_pool_kernel<T>(*plan, src.data<T>(), out.data<T>());
  });
  if (any_requires_grad({&x}))
    record_function(names.forward, {x}, {&out}, [plan, names](const GradList& g, FunctionNode&) {
      return GradList{avg_pool_adjoint(g[0], plan, names)};
    });
  return out;
}

Tensor avg_pool_adjoint(const Tensor& g, const PlanPtr& plan, const NodeNames& names) {
  Tensor src = contiguous(detach(g));
  Tensor out = zeros(plan->in_shape, g.dtype());
  dispatch_floating(g.dtype(), names.kernel, [&](auto tag) {
    using T = decltype(tag);
    avg_pool_adjoint_kernel<T>(*plan, src.data<T>(), out.data<T>());
  });
  if (any_requires_grad({&g}))
    record_function(names.backward, {g}, {&out}, [plan, names](const GradList& gg, FunctionNode&) {
      return GradList{avg_pool_apply(gg[0], plan, names)};
    });
  return out;
}

// Max pooling over a planned window table: values, indices, and the node whose backward
// scatters to the indices.
std::pair<Tensor, Tensor> max_pool_apply(const Tensor& x, const PlanPtr& plan, const GatherScatter& op,
                                         const char* kernel) {
  if (x.dtype() == DType::Bool) not_implemented_for(kernel, x.dtype());
  Tensor src = contiguous(detach(x));
  Tensor out = empty(plan->out_shape, x.dtype());
  Tensor idx = empty(plan->out_shape, DType::Int64);
  dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool_kernel<T>(*plan, src.data<T>(), out.data<T>(), idx.data<int64_t>());
  });
  if (any_requires_grad({&x})) {
    Shape in_shape = plan->in_shape;
    int64_t in_plane = plan->in_plane();
    record_function(op.gather_node, {x}, {&out},
                    [in_shape, in_plane, op](const GradList& g, FunctionNode& self) {
                      return GradList{pool_scatter(g[0], self.saved(0), in_shape, in_plane, op)};
                    },
                    {{idx, false}});
  }
  return {out, idx};
}

}  // namespace

// ---- public ops -------------------------------------------------------------------------------

std::pair<Tensor, Tensor> max_pool_with_indices(const Tensor& x, const Shape& kernel, const Shape& stride,
                                                const Shape& padding, const Shape& dilation, bool ceil_mode) {
  size_t nd = kernel.size();
  EMBER_CHECK(nd >= 1 && nd <= 3, "max_pool: kernel_size must have 1 to 3 entries, got ", nd);
  if (nd == 1) {  // as torch: a 2-d pooling over (1, L)
    check_pool_input(x, 1, true);
    auto [out, idx] = max_pool_with_indices(unsqueeze(x, -2), {1, kernel[0]}, {1, stride.at(0)}, {0, padding.at(0)},
                                            {1, dilation.at(0)}, ceil_mode);
    return {squeeze(out, -2), squeeze(idx, -2)};
  }
  PlanPtr plan = sliding_plan(x, kernel, stride, padding, dilation, ceil_mode, true);
  static const GatherScatter ops[2] = {
      {"MaxPool2DWithIndicesBackward0", "MaxPool2DWithIndicesBackwardBackward0", true},
      {"MaxPool3DWithIndicesBackward0", "MaxPool3DWithIndicesBackwardBackward0", true}};
  return max_pool_apply(x, plan, ops[nd - 2], nd == 2 ? "max_pool2d" : "max_pool3d");
}

Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode) {
  EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
              "size for input, but got:", shape_str(x.sizes()));
  EMBER_CHECK(kernel > 0, "max_pool1d() kernel_size must be greater than zero, but got ", kernel);
  EMBER_CHECK(stride > 0, "max_pool1d() stride must be greater than zero, but got ", stride);
  EMBER_CHECK(padding >= 0, "max_pool1d() padding must be non-negative, but got ", padding);
  EMBER_CHECK(padding <= kernel / 2, "max_pool1d() padding should be at most half of kernel size, but got padding=",
              padding, " and kernel_size=", kernel);
  EMBER_CHECK(dilation > 0, "max_pool1d() dilation must be greater than zero, but got ", dilation);
  int64_t out = pooled_size(x.sizes().back(), kernel, stride, padding, dilation, ceil_mode);
  EMBER_CHECK(out > 0, "max_pool1d() Invalid computed output size: ", out);
  return max_pool_with_indices(x, {kernel}, {stride}, {padding}, {dilation}, ceil_mode).first;
}

Tensor avg_pool(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding, bool ceil_mode,
                bool count_include_pad, std::optional<int64_t> divisor_override) {
  size_t nd = kernel.size();
  EMBER_CHECK(nd >= 1 && nd <= 3, "avg_pool: kernel_size must have 1 to 3 entries, got ", nd);
  if (nd == 1) {
    EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "Expected 2 to 3 dimensions, but got ", x.dim(),
                "-dimensional tensor for argument #1 'self' (while checking arguments for avg_pool1d)");
    return squeeze(avg_pool(unsqueeze(x, -2), {1, kernel[0]}, {1, stride.at(0)}, {0, padding.at(0)}, ceil_mode,
                            count_include_pad, divisor_override), -2);
  }
  EMBER_CHECK(!divisor_override || *divisor_override != 0, "divisor must be not zero");
  Shape dilation(nd, 1);
  PlanPtr base = sliding_plan(x, kernel, stride, padding, dilation, ceil_mode, false);
  auto plan = std::make_shared<PoolPlan>(*base);
  plan->count_include_pad = count_include_pad;
  plan->divisor_override = divisor_override.value_or(0);
  static const NodeNames names[2] = {{"AvgPool2DBackward0", "AvgPool2DBackwardBackward0", "avg_pool2d"},
                                     {"AvgPool3DBackward0", "AvgPool3DBackwardBackward0", "avg_pool3d"}};
  return avg_pool_apply(x, plan, names[nd - 2]);
}

Tensor adaptive_avg_pool(const Tensor& x, const Shape& output_size) {
  size_t nd = output_size.size();
  EMBER_CHECK(nd >= 1 && nd <= 3, "adaptive_avg_pool: output_size must have 1 to 3 entries, got ", nd);
  if (nd == 1) {
    EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "Expected 2 to 3 dimensions, but got ", x.dim(),
                "-dimensional tensor for argument #1 'self' (while checking arguments for adaptive_avg_pool1d)");
    return squeeze(adaptive_avg_pool(unsqueeze(x, -2), {1, output_size[0]}), -2);
  }
  PlanPtr plan = adaptive_plan(x, output_size, false);
  static const NodeNames names[2] = {
      {"AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool2DBackwardBackward0", "adaptive_avg_pool2d"},
      {"AdaptiveAvgPool3DBackward0", "AdaptiveAvgPool3DBackwardBackward0", "adaptive_avg_pool3d"}};
  return avg_pool_apply(x, plan, names[nd - 2]);
}

std::pair<Tensor, Tensor> adaptive_max_pool(const Tensor& x, const Shape& output_size) {
  size_t nd = output_size.size();
  EMBER_CHECK(nd >= 1 && nd <= 3, "adaptive_max_pool: output_size must have 1 to 3 entries, got ", nd);
  if (nd == 1) {
    EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "Expected 2 to 3 dimensions, but got ", x.dim(),
                "-dimensional tensor for argument #1 'self' (while checking arguments for adaptive_max_pool1d)");
    auto [out, idx] = adaptive_max_pool(unsqueeze(x, -2), {1, output_size[0]});
    return {squeeze(out, -2), squeeze(idx, -2)};
  }
  PlanPtr plan = adaptive_plan(x, output_size, true);
  static const GatherScatter ops[2] = {
      {"AdaptiveMaxPool2DBackward0", "AdaptiveMaxPool2DBackwardBackward0", true},
      {"AdaptiveMaxPool3DBackward0", "AdaptiveMaxPool3DBackwardBackward0", true}};
  return max_pool_apply(x, plan, ops[nd - 2], nd == 2 ? "adaptive_max_pool2d" : "adaptive_max_pool3d");
}

Tensor max_unpool(const Tensor& x, const Tensor& indices, const Shape& output_size) {
  size_t nd = output_size.size();
  EMBER_CHECK(nd >= 1 && nd <= 3, "max_unpool: output_size must have 1 to 3 entries, got ", nd);
  if (nd == 1) {  // as torch: a 2-d unpooling to (L, 1)
    return squeeze(max_unpool(unsqueeze(x, -1), unsqueeze(indices, -1), {output_size[0], 1}), -1);
  }
  const int64_t want = static_cast<int64_t>(nd) + 1;
  EMBER_CHECK(indices.dtype() == DType::Int64, "elements in indices should be type int64 but got: ",
              scalar_type_name(indices.dtype()));
  EMBER_CHECK(x.dim() == want || x.dim() == want + 1, "Input to max_unpooling", nd, "d should be a ", want, "d or ",
              want + 1, "d Tensor, but got a tensor with ", x.dim(), " dimensions.");
  EMBER_CHECK(x.sizes() == indices.sizes(), "Expected shape of indices to be same as that of the input tensor (",
              shape_str(x.sizes()), ") but got indices tensor with shape: ", shape_str(indices.sizes()));
  for (size_t i = 0; i < nd; ++i)
    EMBER_CHECK(output_size[i] > 0, "max_unpooling", nd, "d(): output_size must be positive, got ",
                shape_str(output_size));
  for (int64_t i = 1; i < x.dim(); ++i)
    EMBER_CHECK(x.sizes()[i] > 0, "max_unpooling", nd, "d(): Expected input to have non-zero size for non-batch "
                "dimensions, but got ", shape_str(x.sizes()), " with dimension ", i, " being empty.");
  Shape out_shape(x.sizes().begin(), x.sizes().end() - nd);
  out_shape.insert(out_shape.end(), output_size.begin(), output_size.end());
  int64_t out_plane = 1;
  for (auto s : output_size) out_plane *= s;
  // Refuse out-of-range indices before writing; the message names the last one (as torch on
  // one thread).
  Tensor idx = contiguous(indices);
  const int64_t* ix = idx.data<int64_t>();
  for (int64_t i = idx.numel() - 1; i >= 0; --i)
    if (ix[i] < 0 || ix[i] >= out_plane) {
      std::string volume = join_sizes(output_size.data(), nd);
      throw Error(str_cat("Found an invalid max index: ", ix[i], " (output volumes are of size ", volume, ")"));
    }
  static const GatherScatter ops[2] = {{"MaxUnpool2DBackwardBackward0", "MaxUnpool2DBackward0", false},
                                       {"MaxUnpool3DBackwardBackward0", "MaxUnpool3DBackward0", false}};
  return pool_scatter(x, idx, out_shape, out_plane, ops[nd - 2]);
}

}  // namespace ember

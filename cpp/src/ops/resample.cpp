// Resampling: nearest and (bi/tri)linear interpolation over 1 to 3 spatial dims, and pixel
// (un)shuffle, forward and backward side by side.
//
// Interpolation is separable: each spatial dim gets a table of source indices (and, for linear,
// the two neighbours and their weights) computed with torch's formulas in torch's precision
// (the source-index arithmetic of nearest runs in float, as torch's floorf). The kernels run
// over [planes, D, H, W] views with planes in parallel. Both modes are linear maps, so each
// backward is the adjoint kernel, recorded with the forward as its own backward.
#include <cmath>
#include <memory>
#include "elementwise_kernels.h"
#include "../core/parallel.h"

namespace ember {

namespace {

struct ResamplePlan {
  int64_t nd = 0, planes = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  std::optional<double> scale[3];
  bool align_corners = false;
  Shape in_shape, out_shape;
  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};
using PlanPtr = std::shared_ptr<const ResamplePlan>;

struct NodeNames {
  const char* forward;   // node of the interpolation (UpsampleBilinear2DBackward0, ...)
  const char* backward;  // node of its adjoint (seen only under create_graph)
  const char* kernel;    // named by the error for unsupported dtypes
};

// torch's compute_scales_value: 1 / scale_factor when one was given, else in / out.
template <typename T>
T scale_value(const std::optional<double>& scale, int64_t in, int64_t out) {
  return (scale && *scale > 0.) ? static_cast<T>(1.0 / *scale) : static_cast<T>(in) / static_cast<T>(out);
}

// Source index of every output index along one dim: min(floor(dst * scale), in - 1). torch
// computes it two ways: its generic forward kernel (1-d and 3-d) uses the formula in the input's
// precision, while its 2-d forward and every backward use nearest_idx, which copies when
// out == in, halves when out == 2 * in and otherwise uses a float scale. Both are kept, so
// that values and gradients match torch's.
template <typename T>
std::vector<int64_t> nearest_table(const ResamplePlan& p, int d, bool nearest_idx) {
  const int64_t in = p.in[d], out = p.out[d];
  std::vector<int64_t> t(out);
  for (int64_t o = 0; o < out; ++o) {
    if (nearest_idx && out == in) t[o] = o;
    else if (nearest_idx && out == 2 * in) t[o] = o >> 1;
    else if (nearest_idx) t[o] = static_cast<int64_t>(std::floor(static_cast<float>(o) * scale_value<float>(p.scale[d], in, out)));
    else t[o] = static_cast<int64_t>(std::floor(static_cast<float>(scale_value<T>(p.scale[d], in, out) * static_cast<T>(o))));
    t[o] = std::min(t[o], in - 1);
  }
  return t;
}

// Two neighbours and their weights per output index along one dim (torch's
// compute_source_index_and_lambda).
template <typename T>
struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};

template <typename T>
LinearTable<T> linear_table(const ResamplePlan& p, int d) {
  const int64_t in = p.in[d], out = p.out[d];
  LinearTable<T> t{std::vector<int64_t>(out), std::vector<int64_t>(out), std::vector<T>(out), std::vector<T>(out)};
  T ratio = p.align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                            : scale_value<T>(p.scale[d], in, out);
  for (int64_t o = 0; o < out; ++o) {
    if (in == out) {
      t.i0[o] = t.i1[o] = o;
      t.l0[o] = T(1);
      t.l1[o] = T(0);
      continue;
    }
    T real = p.align_corners ? ratio * static_cast<T>(o) : ratio * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (!p.align_corners && real < T(0)) real = T(0);
    int64_t i0 = std::min(static_cast<int64_t>(std::floor(static_cast<float>(real))), in - 1);
    T l1 = std::min(std::max(real - static_cast<T>(i0), T(0)), T(1));
    t.i0[o] = i0;
    t.i1[o] = i0 + (i0 < in - 1 ? 1 : 0);
    t.l1[o] = l1;
    t.l0[o] = T(1) - l1;
  }
  return t;
}

int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// ---- nearest ----------------------------------------------------------------------------------
// kAdjoint false: y[o] = x[src(o)]; true: gx[src(o)] += g[o].
template <typename T, bool kAdjoint>
void nearest_kernel(const ResamplePlan& p, const T* a, T* b) {
  const bool nearest_idx = kAdjoint || p.nd == 2;
  const auto td = nearest_table<T>(p, 0, nearest_idx), th = nearest_table<T>(p, 1, nearest_idx),
             tw = nearest_table<T>(p, 2, nearest_idx);
  const int64_t H = p.in[1], W = p.in[2], ip = p.in_plane(), op = p.out_plane();
  parallel_for(0, p.planes, plane_grain(op), [&](int64_t b0, int64_t b1) {
    for (int64_t pl = b0; pl < b1; ++pl) {
      int64_t o = pl * op;
      const int64_t base = pl * ip;
      for (int64_t od = 0; od < p.out[0]; ++od)
        for (int64_t oh = 0; oh < p.out[1]; ++oh) {
          const int64_t row = base + (td[od] * H + th[oh]) * W;
          for (int64_t ow = 0; ow < p.out[2]; ++ow, ++o) {
            if constexpr (kAdjoint) b[row + tw[ow]] += a[o];
            else b[o] = a[row + tw[ow]];
          }
        }
    }
  });
}

// ---- linear -----------------------------------------------------------------------------------
// kAdjoint false: y = sum over the 2^k corners of weight * x (torch's nesting: the innermost dim
// first); true: each corner of gx gets g * weights.
template <typename T, int ND, bool kAdjoint>
void linear_kernel(const ResamplePlan& p, const T* a, T* b) {
  const auto td = linear_table<T>(p, 0), th = linear_table<T>(p, 1), tw = linear_table<T>(p, 2);
  const int64_t H = p.in[1], W = p.in[2], ip = p.in_plane(), op = p.out_plane();
  parallel_for(0, p.planes, plane_grain(op * (1 << ND)), [&](int64_t b0, int64_t b1) {
    for (int64_t pl = b0; pl < b1; ++pl) {
      int64_t o = pl * op;
      const int64_t base = pl * ip;
      for (int64_t od = 0; od < p.out[0]; ++od)
        for (int64_t oh = 0; oh < p.out[1]; ++oh)
          for (int64_t ow = 0; ow < p.out[2]; ++ow, ++o) {
            const int64_t w0 = tw.i0[ow], w1 = tw.i1[ow];
            const T lw0 = tw.l0[ow], lw1 = tw.l1[ow];
            if constexpr (!kAdjoint) {
              auto row = [&](int64_t r) { return a[r + w0] * lw0 + a[r + w1] * lw1; };
              auto plane = [&](int64_t q) {
                if constexpr (ND == 1) return row(q);
                else return row(q + th.i0[oh] * W) * th.l0[oh] + row(q + th.i1[oh] * W) * th.l1[oh];
              };
              if constexpr (ND == 3)
                b[o] = plane(base + td.i0[od] * H * W) * td.l0[od] + plane(base + td.i1[od] * H * W) * td.l1[od];
              else
                b[o] = plane(base);
            } else {
              auto row = [&](int64_t r, T v) { b[r + w0] += v * lw0; b[r + w1] += v * lw1; };
              auto plane = [&](int64_t q, T v) {
                if constexpr (ND == 1) row(q, v);
                else { row(q + th.i0[oh] * W, v * th.l0[oh]); row(q + th.i1[oh] * W, v * th.l1[oh]); }
              };
              const T g = a[o];
              if constexpr (ND == 3) {
                plane(base + td.i0[od] * H * W, g * td.l0[od]);
                plane(base + td.i1[od] * H * W, g * td.l1[od]);
              } else {
                plane(base, g);
              }
            }
          }
    }
  });
}

template <typename T, bool kAdjoint>
void run_resample(const ResamplePlan& p, bool linear, const T* a, T* b) {
  if (!linear) return nearest_kernel<T, kAdjoint>(p, a, b);
  if (p.nd == 1) linear_kernel<T, 1, kAdjoint>(p, a, b);
  else if (p.nd == 2) linear_kernel<T, 2, kAdjoint>(p, a, b);
  else linear_kernel<T, 3, kAdjoint>(p, a, b);
}

Tensor resample_adjoint(const Tensor& g, const PlanPtr& plan, bool linear, const NodeNames& names);

// resample_apply (x -> resized) and resample_adjoint (gradient -> input gradient) record each
// other as backward.
Tensor resample_apply(const Tensor& x, const PlanPtr& plan, bool linear, const NodeNames& names) {
  Tensor src = contiguous(detach(x));
  Tensor out = empty(plan->out_shape, x.dtype());
  dispatch_floating(x.dtype(), names.kernel, [&](auto tag) {
    using T = decltype(tag);
    run_resample<T, false>(*plan, linear, src.data<T>(), out.data<T>());
  });
  if (any_requires_grad({&x}))
    record_function(names.forward, {x}, {&out}, [plan, linear, names](const GradList& g, FunctionNode&) {
      return GradList{resample_adjoint(g[0], plan, linear, names)};
    });
  return out;
}

Tensor resample_adjoint(const Tensor& g, const PlanPtr& plan, bool linear, const NodeNames& names) {
  Tensor src = contiguous(detach(g));
  Tensor out = zeros(plan->in_shape, g.dtype());
  dispatch_floating(g.dtype(), names.kernel, [&](auto tag) {
    using T = decltype(tag);
    run_resample<T, true>(*plan, linear, src.data<T>(), out.data<T>());
  });
  if (any_requires_grad({&g}))
    record_function(names.backward, {g}, {&out}, [plan, linear, names](const GradList& gg, FunctionNode&) {
      return GradList{resample_apply(gg[0], plan, linear, names)};
    });
  return out;
}

// Checks the arguments and resolves the output size (torch's upsample_*_common_check).
PlanPtr resample_plan(const Tensor& x, const OptDims& output_size, const std::optional<std::vector<double>>& scales,
                      bool align_corners) {
  const int64_t nd = x.dim() - 2;
  EMBER_CHECK(nd >= 1 && nd <= 3, "upsample: expected a 3-D, 4-D or 5-D (N, C, ...) input, but got input of size ",
              shape_str(x.sizes()));
  EMBER_CHECK(output_size.has_value() != scales.has_value(), "Must specify exactly one of output_size and scale_factors");
  if (output_size)
    EMBER_CHECK(static_cast<int64_t>(output_size->size()) == nd, "It is expected output_size equals to ", nd,
                ", but got size ", output_size->size());
  if (scales)
    EMBER_CHECK(static_cast<int64_t>(scales->size()) == nd, "It is expected scale_factors equals to ", nd,
                ", but got size ", scales->size());
  for (int64_t i = 1; i < x.dim(); ++i)
    EMBER_CHECK(x.sizes()[i] != 0, "Non-empty ", nd + 2, "D data tensor expected but got a tensor with sizes ",
                shape_str(x.sizes()));
  auto p = std::make_shared<ResamplePlan>();
  p->nd = nd;
  p->planes = x.sizes()[0] * x.sizes()[1];
  p->align_corners = align_corners;
  p->in_shape = x.sizes();
  p->out_shape = {x.sizes()[0], x.sizes()[1]};
  bool positive = true;
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = 3 - nd + i, in = x.sizes()[2 + i];
    p->in[d] = in;
    if (output_size) {
      p->out[d] = (*output_size)[i];
    } else {
      p->out[d] = static_cast<int64_t>(std::floor(static_cast<double>(in) * (*scales)[i]));
      p->scale[d] = (*scales)[i];
    }
    positive &= in > 0 && p->out[d] > 0;
    p->out_shape.push_back(p->out[d]);
  }
  if (!positive) {
    std::string ins, outs;
    for (int64_t i = 0; i < nd; ++i) {
      int64_t d = 3 - nd + i;
      const char* letter = nd == 3 ? (i == 0 ? "D" : i == 1 ? "H" : "W") : nd == 2 ? (i == 0 ? "H" : "W") : "W";
      ins += str_cat(i ? ", " : "", letter, ": ", p->in[d]);
      outs += str_cat(i ? ", " : "", letter, ": ", p->out[d]);
    }
    throw Error(str_cat("Input and output sizes should be greater than 0, but got input (", ins, ") output (", outs, ")"));
  }
  return p;
}

}  // namespace

Tensor upsample_nearest(const Tensor& x, const OptDims& output_size, const std::optional<std::vector<double>>& scale_factors) {
  PlanPtr plan = resample_plan(x, output_size, scale_factors, false);
  static const NodeNames names[3] = {
      {"UpsampleNearest1DBackward0", "UpsampleNearest1DBackwardBackward0", "upsample_nearest1d"},
      {"UpsampleNearest2DBackward0", "UpsampleNearest2DBackwardBackward0", "upsample_nearest2d"},
      {"UpsampleNearest3DBackward0", "UpsampleNearest3DBackwardBackward0", "upsample_nearest3d"}};
  return resample_apply(x, plan, false, names[plan->nd - 1]);
}

Tensor upsample_linear(const Tensor& x, const OptDims& output_size, bool align_corners,
                       const std::optional<std::vector<double>>& scale_factors) {
  PlanPtr plan = resample_plan(x, output_size, scale_factors, align_corners);
  static const NodeNames names[3] = {
      {"UpsampleLinear1DBackward0", "UpsampleLinear1DBackwardBackward0", "upsample_linear1d"},
      {"UpsampleBilinear2DBackward0", "UpsampleBilinear2DBackwardBackward0", "upsample_bilinear2d"},
      {"UpsampleTrilinear3DBackward0", "UpsampleTrilinear3DBackwardBackward0", "upsample_trilinear3d"}};
  return resample_apply(x, plan, true, names[plan->nd - 1]);
}

// ---- pixel shuffle: views and one permuted copy ------------------------------------------------
Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  EMBER_CHECK(x.dim() >= 3, "pixel_shuffle expects input to have at least 3 dimensions, but got input with ", x.dim(),
              " dimension(s)");
  EMBER_CHECK(r > 0, "pixel_shuffle expects a positive upscale_factor, but got ", r);
  const int64_t n = x.dim(), c = x.sizes()[n - 3], h = x.sizes()[n - 2], w = x.sizes()[n - 1];
  EMBER_CHECK(c % (r * r) == 0, "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
              "upscale_factor, but input.size(-3)=", c, " is not divisible by ", r * r);
  Shape lead(x.sizes().begin(), x.sizes().end() - 3);
  Shape split = lead, merged = lead;
  split.insert(split.end(), {c / (r * r), r, r, h, w});
  merged.insert(merged.end(), {c / (r * r), h * r, w * r});
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < n - 3; ++i) perm.push_back(i);
  const int64_t k = n - 3;
  perm.insert(perm.end(), {k, k + 3, k + 1, k + 4, k + 2});  // (C, H, r, W, r)
  return reshape(permute(reshape(x, split), perm), merged);
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  EMBER_CHECK(x.dim() >= 3, "pixel_unshuffle expects input to have at least 3 dimensions, but got input with ", x.dim(),
              " dimension(s)");
  EMBER_CHECK(r > 0, "pixel_unshuffle expects a positive downscale_factor, but got ", r);
  const int64_t n = x.dim(), c = x.sizes()[n - 3], h = x.sizes()[n - 2], w = x.sizes()[n - 1];
  EMBER_CHECK(h % r == 0, "pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)=", h,
              " is not divisible by ", r);
  EMBER_CHECK(w % r == 0, "pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)=", w,
              " is not divisible by ", r);
  Shape lead(x.sizes().begin(), x.sizes().end() - 3);
  Shape split = lead, merged = lead;
  split.insert(split.end(), {c, h / r, r, w / r, r});
  merged.insert(merged.end(), {c * r * r, h / r, w / r});
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < n - 3; ++i) perm.push_back(i);
  const int64_t k = n - 3;
  perm.insert(perm.end(), {k, k + 2, k + 4, k + 1, k + 3});  // (C, r, r, H, W)
  return reshape(permute(reshape(x, split), perm), merged);
}

}  // namespace ember

// Reduction planning shared by the reduce family.
//
// Any reduction over a set of dims is brought to the form x[outer, R, inner] (row-major,
// contiguous), where R is the product of the reduced dims: directly when the reduced dims are
// adjacent in a contiguous input, otherwise after a permuted contiguous copy (kept dims first,
// reduced dims last, so inner == 1). Each output element (o, i) folds its R inputs in index
// order, one thread per output range: results are identical for any thread count.
#pragma once
#include <algorithm>
#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "ember/ops.h"

namespace ember {

struct ReducePlan {
  Tensor input;            // contiguous, viewed as [outer, R, inner]
  int64_t outer = 1, reduced = 1, inner = 1;
  Shape out_shape;          // without the reduced dims (or with 1s when keepdim)
  Shape keepdim_shape;      // reduced dims as 1
  std::vector<bool> is_reduced;
};

// Normalises dims (wraps negatives; nullopt or empty = all) and rejects duplicates.
inline std::vector<bool> reduced_dims_mask(const Tensor& x, const OptDims& dims, const char* name = "dim") {
  int64_t nd = x.dim();
  std::vector<bool> mask(static_cast<size_t>(std::max<int64_t>(nd, 0)), false);
  if (!dims || dims->empty()) {
    std::fill(mask.begin(), mask.end(), true);
    return mask;
  }
  for (int64_t d : *dims) {
    int64_t w = wrap_dim(d, nd);
    if (nd == 0) continue;
    if (mask[w]) throw Error(str_cat(name, " ", w, " appears multiple times in the list of dims"));
    mask[w] = true;
  }
  return mask;
}

inline ReducePlan plan_reduction(const Tensor& x, const OptDims& dims, bool keepdim) {
  ReducePlan p;
  p.is_reduced = reduced_dims_mask(x, dims);
  int64_t nd = x.dim();
  for (int64_t d = 0; d < nd; ++d) {
    p.keepdim_shape.push_back(p.is_reduced[d] ? 1 : x.sizes()[d]);
    if (!p.is_reduced[d]) p.out_shape.push_back(x.sizes()[d]);
    else if (keepdim) p.out_shape.push_back(1);
  }
  // Adjacent reduced dims in a contiguous tensor: no copy.
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < nd; ++d)
    if (p.is_reduced[d]) { if (first < 0) first = d; last = d; }
  bool adjacent = first >= 0;
  for (int64_t d = first; adjacent && d <= last; ++d) adjacent = p.is_reduced[d];
  if (nd == 0 || (adjacent && x.is_contiguous())) {
    p.input = x.is_contiguous() ? x : contiguous(x);
    for (int64_t d = 0; d < nd; ++d) {
      int64_t s = x.sizes()[d];
      if (d < first) p.outer *= s;
      else if (d <= last) p.reduced *= s;
      else p.inner *= s;
    }
    return p;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < nd; ++d) if (!p.is_reduced[d]) { perm.push_back(d); p.outer *= x.sizes()[d]; }
  for (int64_t d = 0; d < nd; ++d) if (p.is_reduced[d]) { perm.push_back(d); p.reduced *= x.sizes()[d]; }
  NoGradGuard ng;
  p.input = contiguous(permute(x, perm));
  return p;
}

// [outer, size, inner] of a contiguous tensor of `shape` around `dim` (all of it when nullopt).
struct SliceGeometry {
  int64_t outer = 1, size = 1, inner = 1;
};
inline SliceGeometry slice_geometry(const Shape& shape, std::optional<int64_t> dim) {
  SliceGeometry g;
  int64_t nd = static_cast<int64_t>(shape.size());
  if (!dim) { g.size = shape_numel(shape); return g; }
  for (int64_t d = 0; d < nd; ++d) {
    if (d < *dim) g.outer *= shape[d];
    else if (d == *dim) g.size = shape[d];
    else g.inner *= shape[d];
  }
  return g;
}

// Runs f(o, i0, n) over the columns [o, :, i0 .. i0+n) of an [outer, R, inner] layout, in
// parallel. Every column is handled whole by one call (a segment never spans two o), so
// results never depend on how the range was split across threads.
template <typename F>
void for_each_segment(int64_t outer, int64_t inner, int64_t cost_per_column, const F& f) {
  int64_t total = outer * inner;
  parallel_for(0, total, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(cost_per_column, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t pos = b; pos < e;) {
                   int64_t o = pos / inner, i0 = pos % inner, n = std::min(inner - i0, e - pos);
                   f(o, i0, n);
                   pos += n;
                 }
               });
}

// Folds each [o, :, i] column: acc = init; acc = step(acc, v); out = finish(acc).
// T: input element type, A: accumulator, O: output element type.
template <typename T, typename A, typename O, typename Step, typename Finish>
void reduce_kernel(const ReducePlan& p, O* out, A init, const Step& step, const Finish& finish) {
  const T* in = p.input.data<T>();
  int64_t R = p.reduced, I = p.inner;
  if (I == 1) {
    parallel_for(0, p.outer, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        A acc = init;
        const T* row = in + o * R;
        for (int64_t r = 0; r < R; ++r) acc = step(acc, row[r], r);
        out[o] = finish(acc);
      }
    });
    return;
  }
  int64_t total = p.outer * I;
  parallel_for(0, total, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
    std::vector<A> acc;
    for (int64_t pos = b; pos < e;) {
      int64_t o = pos / I, i0 = pos % I, n = std::min(I - i0, e - pos);
      acc.assign(static_cast<size_t>(n), init);
      const T* base = in + o * R * I + i0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = base + r * I;
        for (int64_t k = 0; k < n; ++k) acc[k] = step(acc[k], row[k], r);
      }
      for (int64_t k = 0; k < n; ++k) out[o * I + i0 + k] = finish(acc[k]);
      pos += n;
    }
  });
}

}  // namespace ember

// Shape ops. Views share storage with their input; their backward maps the gradient back.
#include <algorithm>
#include <numeric>
#include "../core/iter.h"
#include "ember/ops.h"

namespace ember {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(str_cat("The size of tensor a (", da, ") must match the size of tensor b (", db,
                          ") at non-singleton dimension ", i));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Resolves one -1 in `shape` against numel (torch's infer_size).
static Shape infer_size(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error(str_cat("invalid shape dimension ", shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw Error(str_cat("shape '", shape_str(shape), "' is invalid for input of size ", numel));
    out[infer] = numel / known;
  } else if (known != numel) {
    throw Error(str_cat("shape '", shape_str(shape), "' is invalid for input of size ", numel));
  }
  return out;
}

// Strides for viewing (sizes, strides) as `shape` without a copy, if possible (torch's
// computeStride): each run of old dims that are contiguous with each other may be split or
// merged freely; a view may not span two such runs.
static std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& shape) {
  Shape st(shape.size(), 1);
  if (old_sizes.empty()) return st;
  int64_t numel = shape_numel(old_sizes);
  if (numel == 0) {
    if (old_sizes == shape) return old_strides;
    return contiguous_strides(shape);
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    if (d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

// A view of x with the given geometry whose backward is `back(g)`.
template <typename Back>
static Tensor make_differentiable_view(const Tensor& x, const Shape& sizes, const Shape& strides, int64_t offset,
                                       const char* name, Back back) {
  Tensor out = make_view(x, sizes, strides, offset);
  if (any_requires_grad({&x}))
    record_function(name, {x}, {&out}, [back](const GradList& g, FunctionNode&) { return GradList{back(g[0])}; });
  return out;
}

Tensor view(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel());
  auto st = view_strides(x.sizes(), x.strides(), sizes);
  if (!st)
    throw Error("view size is not compatible with input tensor's size and stride (at least one dimension spans "
                "across two contiguous subspaces). Use .reshape(...) instead.");
  Shape in_shape = x.sizes();
  return make_differentiable_view(x, sizes, *st, x.storage_offset(), "ViewBackward0",
                                  [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel());
  if (auto st = view_strides(x.sizes(), x.strides(), sizes)) {
    Shape in_shape = x.sizes();
    return make_differentiable_view(x, sizes, *st, x.storage_offset(), "ViewBackward0",
                                    [in_shape](const Tensor& g) { return reshape(g, in_shape); });
  }
  return view(clone(x), sizes);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  int64_t nd = static_cast<int64_t>(shape.size());
  if (nd < x.dim())
    throw Error(str_cat("expand(", legacy_type_name(x.dtype()), "{", shape_str(x.sizes()).substr(1, shape_str(x.sizes()).size() - 2),
                        "}, size=", shape_str(shape), "): the number of sizes provided (", nd,
                        ") must be greater or equal to the number of dimensions in the tensor (", x.dim(), ")"));
  Shape sizes(nd), strides(nd);
  int64_t lead = nd - x.dim();
  for (int64_t i = nd - 1; i >= 0; --i) {
    int64_t want = shape[i];
    if (i < lead) {
      if (want < 0) throw Error(str_cat("The expanded size of the tensor (", want, ") isn't allowed in a leading, non-existing dimension ", i));
      sizes[i] = want;
      strides[i] = 0;
      continue;
    }
    int64_t have = x.sizes()[i - lead];
    if (want == -1) want = have;
    if (have == want) { sizes[i] = have; strides[i] = x.strides()[i - lead]; }
    else if (have == 1) { sizes[i] = want; strides[i] = 0; }
    else
      throw Error(str_cat("The expanded size of the tensor (", want, ") must match the existing size (", have,
                          ") at non-singleton dimension ", i, ".  Target sizes: ", shape_str(shape),
                          ".  Tensor sizes: ", shape_str(x.sizes())));
  }
  if (sizes == x.sizes()) return x;
  Shape in_shape = x.sizes();
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "ExpandBackward0",
                                  [in_shape](const Tensor& g) { return sum_to(g, in_shape); });
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  int64_t nd = x.dim();
  if (static_cast<int64_t>(dims.size()) != nd)
    throw Error(str_cat("permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                        "of the desired ordering of dimensions i.e. input.dim() = ", nd,
                        " is not equal to len(dims) = ", dims.size()));
  std::vector<int64_t> p(nd), inv(nd);
  std::vector<bool> seen(nd, false);
  Shape sizes(nd), strides(nd);
  for (int64_t i = 0; i < nd; ++i) {
    p[i] = wrap_dim(dims[i], nd);
    if (seen[p[i]]) throw Error("permute(): duplicate dims are not allowed.");
    seen[p[i]] = true;
    inv[p[i]] = i;
    sizes[i] = x.sizes()[p[i]];
    strides[i] = x.strides()[p[i]];
  }
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "PermuteBackward0",
                                  [inv](const Tensor& g) { return permute(g, inv); });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  int64_t nd = x.dim();
  d0 = wrap_dim(d0, nd);
  d1 = wrap_dim(d1, nd);
  if (nd == 0) return x;
  Shape sizes = x.sizes(), strides = x.strides();
  std::swap(sizes[d0], sizes[d1]);
  std::swap(strides[d0], strides[d1]);
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "TransposeBackward0",
                                  [d0, d1](const Tensor& g) { return transpose(g, d0, d1); });
}

Tensor t(const Tensor& x) {
  if (x.dim() > 2)
    throw Error(str_cat("t() expects a tensor with <= 2 dimensions, but self is ", x.dim(), "D"));
  if (x.dim() < 2) return x;
  return transpose(x, 0, 1);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t nd = x.dim();
  dim = wrap_dim(dim, nd + 1);
  Shape sizes = x.sizes(), strides = x.strides();
  int64_t st = dim < nd ? sizes[dim] * strides[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "UnsqueezeBackward0",
                                  [dim](const Tensor& g) { return squeeze(g, std::vector<int64_t>{dim}); });
}

Tensor squeeze(const Tensor& x, const OptDims& dims) {
  int64_t nd = x.dim();
  std::vector<bool> drop(nd, false);
  if (!dims) {
    for (int64_t d = 0; d < nd; ++d) drop[d] = x.sizes()[d] == 1;
  } else {
    for (int64_t d : *dims) {
      int64_t w = wrap_dim(d, nd);
      if (nd > 0 && x.sizes()[w] == 1) drop[w] = true;
    }
  }
  Shape sizes, strides;
  for (int64_t d = 0; d < nd; ++d)
    if (!drop[d]) { sizes.push_back(x.sizes()[d]); strides.push_back(x.strides()[d]); }
  if (sizes.size() == static_cast<size_t>(nd)) return x;
  Shape in_shape = x.sizes();
  return make_differentiable_view(x, sizes, strides, x.storage_offset(),
                                  dims ? "SqueezeBackward1" : "SqueezeBackward0",
                                  [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

}  // namespace ember

// Shape ops. Views share storage with their input; their backward maps the gradient back.
// Multi-output views (split, chunk, unbind) record one node for all outputs; the engine hands
// it zeros for outputs that received no gradient.
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

namespace {

// Resolves one -1 in `shape` against numel (torch's infer_size).
Shape infer_size(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error(str_cat("invalid shape dimension ", shape[i], " at index ", i, " of shape ", shape_str(shape)));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 && numel == 0)
      throw Error(str_cat("cannot reshape tensor of 0 elements into shape ", shape_str(shape),
                          " because the unspecified dimension size -1 can be any value and is ambiguous"));
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
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& shape) {
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

// A view of x with the given geometry whose backward is `back(g)`; unless `differentiable_view`
// is false (an internal copy's alias), it is x's differentiable view (in-place writes reach x).
template <typename Back>
Tensor make_differentiable_view(const Tensor& x, const Shape& sizes, const Shape& strides, int64_t offset,
                                const char* name, Back back, bool differentiable_view = true) {
  Tensor out = make_view(x, sizes, strides, offset);
  if (any_requires_grad({&x}))
    record_function(name, {x}, {&out}, [back](const GradList& g, FunctionNode&) { return GradList{back(g[0])}; });
  if (differentiable_view) set_view_base(out, x);
  return out;
}

// A view of x with `sizes` (viewable by construction), named `name` in the graph.
Tensor reshape_view(const Tensor& x, const Shape& sizes, const Shape& strides, const char* name,
                    bool differentiable_view = true) {
  Shape in_shape = x.sizes();
  return make_differentiable_view(
      x, sizes, strides, x.storage_offset(), name, [in_shape](const Tensor& g) { return reshape(g, in_shape); },
      differentiable_view);
}

// Copies src into dst (same shape) with no autograd recording.
void copy_nograd(Tensor dst, const Tensor& src) {
  NoGradGuard ng;
  copy_(dst, src);
}

// x's view along `dim` of [start, start + length) (dim and start already valid).
Tensor narrow_view(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Shape sizes = x.sizes();
  sizes[dim] = length;
  return make_view(x, sizes, x.strides(), x.storage_offset() + start * x.strides()[dim]);
}

// The gradient of a narrow: g placed at [start, start + g.size(dim)) along `dim` of a zero
// tensor shaped like the input. Differentiable (its own backward narrows again).
Tensor slice_backward(const Tensor& g, const Shape& in_shape, int64_t dim, int64_t start) {
  Tensor out = zeros(in_shape, g.dtype());
  int64_t length = g.sizes()[dim];
  if (g.numel() > 0) copy_nograd(narrow_view(out, dim, start, length), g);
  if (any_requires_grad({&g}))
    record_function("SliceBackwardBackward0", {g}, {&out}, [dim, start, length](const GradList& gg, FunctionNode&) {
      return GradList{narrow(gg[0], dim, start, length)};
    });
  return out;
}

std::vector<Tensor*> pointers(std::vector<Tensor>& xs) {
  std::vector<Tensor*> p;
  for (auto& x : xs) p.push_back(&x);
  return p;
}

// Views of x along `dim` with the given consecutive sizes, recorded as one node whose
// backward concatenates the gradients.
std::vector<Tensor> split_views(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim, const char* name) {
  std::vector<Tensor> outs;
  int64_t start = 0;
  for (int64_t s : sizes) {
    outs.push_back(narrow_view(x, dim, start, s));
    start += s;
  }
  if (any_requires_grad({&x}))
    record_function(name, {x}, pointers(outs), [dim](const GradList& g, FunctionNode&) {
      return GradList{cat(g, dim)};
    });
  for (auto& o : outs) set_view_base(o, x, true);
  return outs;
}

std::string int_list_str(const std::vector<int64_t>& v) { return shape_str(v); }

// Wraps dims and rejects repeats ("dim 0 appears multiple times in the list of dims").
std::vector<int64_t> wrap_dims_unique(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<int64_t> out;
  std::vector<bool> seen(std::max<int64_t>(ndim, 1), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim);
    if (seen[w]) throw Error(str_cat("dim ", w, " appears multiple times in the list of dims"));
    seen[w] = true;
    out.push_back(w);
  }
  return out;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel());
  auto st = view_strides(x.sizes(), x.strides(), sizes);
  if (!st)
    throw Error("view size is not compatible with input tensor's size and stride (at least one dimension spans "
                "across two contiguous subspaces). Use .reshape(...) instead.");
  return reshape_view(x, sizes, *st, "ViewBackward0");
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel());
  if (auto st = view_strides(x.sizes(), x.strides(), sizes)) return reshape_view(x, sizes, *st, "ViewBackward0");
  // Not viewable: copy to contiguous memory, then view the copy (torch's _unsafe_view: not a view).
  Tensor c = clone(x);
  return reshape_view(c, sizes, contiguous_strides(sizes), "UnsafeViewBackward0", false);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  int64_t nd = static_cast<int64_t>(shape.size());
  if (nd < x.dim())
    throw Error(str_cat("expand(", legacy_type_name(x.dtype()), "{", shape_str(x.sizes()), "}, size=", shape_str(shape),
                        "): the number of sizes provided (", nd,
                        ") must be greater or equal to the number of dimensions in the tensor (", x.dim(), ")"));
  Shape sizes(nd), strides(nd);
  int64_t lead = nd - x.dim();
  for (int64_t i = nd - 1; i >= 0; --i) {
    int64_t want = shape[i];
    if (i < lead) {
      if (want < 0)
        throw Error(str_cat("The expanded size of the tensor (", want, ") isn't allowed in a leading, non-existing dimension ", i));
      sizes[i] = want;
      strides[i] = 0;
      continue;
    }
    int64_t have = x.sizes()[i - lead];
    if (want == -1) want = have;
    if (have == want) { sizes[i] = have; strides[i] = x.strides()[i - lead]; }
    else if (have == 1 && want >= 0) { sizes[i] = want; strides[i] = 0; }
    else
      throw Error(str_cat("The expanded size of the tensor (", want, ") must match the existing size (", have,
                          ") at non-singleton dimension ", i, ".  Target sizes: ", shape_str(shape),
                          ".  Tensor sizes: ", shape_str(x.sizes())));
  }
  Shape in_shape = x.sizes();
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "ExpandBackward0",
                                  [in_shape](const Tensor& g) { return sum_to(g, in_shape); });
}

Tensor expand_as(const Tensor& x, const Tensor& other) { return expand(x, other.sizes()); }

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

// transpose's view, recorded under `name` (TransposeBackward0, or TBackward0 for t()).
static Tensor transpose_named(const Tensor& x, int64_t d0, int64_t d1, const char* name) {
  int64_t nd = x.dim();
  d0 = wrap_dim(d0, nd);
  d1 = wrap_dim(d1, nd);
  Shape sizes = x.sizes(), strides = x.strides();
  if (nd > 0) {
    std::swap(sizes[d0], sizes[d1]);
    std::swap(strides[d0], strides[d1]);
  }
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), name,
                                  [d0, d1](const Tensor& g) { return transpose(g, d0, d1); });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) { return transpose_named(x, d0, d1, "TransposeBackward0"); }

Tensor t(const Tensor& x) {
  if (x.dim() > 2)
    throw Error(str_cat("t() expects a tensor with <= 2 dimensions, but self is ", x.dim(), "D"));
  return transpose_named(x, 0, x.dim() < 2 ? 0 : 1, "TBackward0");
}

Tensor matrix_transpose(const Tensor& x) {
  if (x.dim() < 2)
    throw Error(str_cat("tensor.mT is only supported on matrices or batches of matrices. Got ", x.dim(), "-D tensor."));
  return transpose(x, -2, -1);
}

Tensor reverse_dims(const Tensor& x) {
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.rbegin(), dims.rend(), 0);
  return permute(x, dims);
}

Tensor movedim(const Tensor& x, const std::vector<int64_t>& source, const std::vector<int64_t>& destination) {
  int64_t nd = x.dim();
  if (source.size() != destination.size())
    throw Error(str_cat("movedim: Invalid source or destination dims: source (", int_list_str(source),
                        " dims) should contain the same number of dims as destination (", int_list_str(destination),
                        " dims)"));
  std::vector<int64_t> src, dst;
  for (auto d : source) src.push_back(wrap_dim(d, nd));
  for (auto d : destination) dst.push_back(wrap_dim(d, nd));
  auto check_unique = [](const std::vector<int64_t>& v, const std::vector<int64_t>& given, const char* what) {
    std::vector<int64_t> s = v;
    std::sort(s.begin(), s.end());
    if (std::adjacent_find(s.begin(), s.end()) != s.end())
      throw Error(str_cat("movedim: repeated dim in `", what, "` (", int_list_str(given), ")"));
  };
  check_unique(src, source, "source");
  check_unique(dst, destination, "destination");
  // order[dst[i]] = src[i]; the remaining output slots take the remaining input dims in order.
  std::vector<int64_t> order(std::max<int64_t>(nd, 0), -1);
  std::vector<bool> used(std::max<int64_t>(nd, 0), false);
  for (size_t i = 0; i < src.size(); ++i) {
    if (nd == 0) break;
    order[dst[i]] = src[i];
    used[src[i]] = true;
  }
  int64_t next = 0;
  for (int64_t i = 0; i < nd; ++i) {
    if (order[i] >= 0) continue;
    while (used[next]) ++next;
    order[i] = next++;
  }
  return permute(x, order);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t nd = x.dim();
  dim = wrap_dim(dim, nd + 1);
  Shape sizes = x.sizes(), strides = x.strides();
  int64_t st = dim < nd ? sizes[dim] * strides[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), "UnsqueezeBackward0",
                                  [dim](const Tensor& g) { return squeeze(g, dim); });
}

// Drops the size-1 dims marked in `drop`; the view is recorded as `name`.
static Tensor squeeze_mask(const Tensor& x, const std::vector<bool>& drop, const char* name) {
  Shape sizes, strides;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!drop[d]) { sizes.push_back(x.sizes()[d]); strides.push_back(x.strides()[d]); }
  Shape in_shape = x.sizes();
  return make_differentiable_view(x, sizes, strides, x.storage_offset(), name,
                                  [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

Tensor squeeze(const Tensor& x, const OptDims& dims) {
  int64_t nd = x.dim();
  std::vector<bool> drop(nd, false);
  if (!dims) {
    for (int64_t d = 0; d < nd; ++d) drop[d] = x.sizes()[d] == 1;
    return squeeze_mask(x, drop, "SqueezeBackward0");
  }
  for (int64_t w : wrap_dims_unique(*dims, nd))
    if (nd > 0 && x.sizes()[w] == 1) drop[w] = true;
  return squeeze_mask(x, drop, "SqueezeBackward2");
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  int64_t nd = x.dim();
  int64_t w = wrap_dim(dim, nd);
  std::vector<bool> drop(nd, false);
  if (nd > 0 && x.sizes()[w] == 1) drop[w] = true;
  return squeeze_mask(x, drop, "SqueezeBackward1");
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  int64_t nd = x.dim();
  int64_t s = wrap_dim(start_dim, nd), e = wrap_dim(end_dim, nd);
  if (s > e) throw Error("flatten() has invalid args: start_dim cannot come after end_dim");
  if (nd == 0) return reshape(x, {1});
  if (s == e) return x;
  Shape sizes(x.sizes().begin(), x.sizes().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= x.sizes()[d];
  sizes.push_back(n);
  sizes.insert(sizes.end(), x.sizes().begin() + e + 1, x.sizes().end());
  return reshape(x, sizes);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {
  if (x.dim() == 0) throw IndexError(str_cat("Dimension specified as ", dim, " but tensor has no dimensions"));
  dim = wrap_dim(dim, x.dim());
  if (sizes.empty()) throw Error("unflatten: sizes must be non-empty");
  int64_t size = x.sizes()[dim];
  Shape resolved = sizes;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (infer >= 0) throw Error("only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else if (sizes[i] < 0) {
      throw Error(str_cat("invalid shape dimension ", sizes[i], " at index ", i, " of shape ", shape_str(sizes)));
    } else {
      known *= sizes[i];
    }
  }
  bool ok = infer >= 0 ? (known != 0 && size % known == 0) : known == size;
  if (!ok)
    throw Error(str_cat("unflatten: Provided sizes ", shape_str(sizes), " don't multiply up to the size of dim ", dim,
                        " (", size, ") in the input tensor"));
  if (infer >= 0) resolved[infer] = size / known;
  Shape shape(x.sizes().begin(), x.sizes().begin() + dim);
  shape.insert(shape.end(), resolved.begin(), resolved.end());
  shape.insert(shape.end(), x.sizes().begin() + dim + 1, x.sizes().end());
  return view(x, shape);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  if (x.dim() == 0) throw Error("narrow() cannot be applied to a 0-dim tensor.");
  if (length < 0) throw Error("narrow(): length must be non-negative.");
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.sizes()[dim];
  if (start < -size || start > size)
    throw IndexError(str_cat("start out of range (expected to be in range of [", -size, ", ", size, "], but got ",
                             start, ")"));
  if (start < 0) start += size;
  if (start > size - length)
    throw Error(str_cat("start (", start, ") + length (", length, ") exceeds dimension size (", size, ")."));
  Tensor out = narrow_view(x, dim, start, length);
  if (any_requires_grad({&x}))
    record_function("SliceBackward0", {x}, {&out}, [in_shape = x.sizes(), dim, start](const GradList& g, FunctionNode&) {
      return GradList{slice_backward(g[0], in_shape, dim, start)};
    });
  set_view_base(out, x);
  return out;
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  if (x.dim() == 0) throw IndexError("select() cannot be applied to a 0-dim tensor.");
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.sizes()[dim];
  if (index < -size || index >= size)
    throw IndexError(str_cat("select(): index ", index, " out of range for tensor of size ", shape_str(x.sizes()),
                             " at dimension ", dim));
  if (index < 0) index += size;
  Shape sizes = x.sizes(), strides = x.strides();
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  Tensor out = make_view(x, sizes, strides, x.storage_offset() + index * x.strides()[dim]);
  if (any_requires_grad({&x}))
    record_function("SelectBackward0", {x}, {&out}, [in_shape = x.sizes(), dim, index](const GradList& g, FunctionNode&) {
      return GradList{slice_backward(unsqueeze(g[0], dim), in_shape, dim, index)};
    });
  set_view_base(out, x);
  return out;
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  if (x.dim() == 0) throw Error("split expects at least a 1-dimensional tensor");
  dim = wrap_dim(dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      throw Error(str_cat("split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=",
                          int_list_str(sizes)));
    total += s;
  }
  if (total != x.sizes()[dim])
    throw Error(str_cat("split_with_sizes expects split_sizes to sum exactly to ", x.sizes()[dim],
                        " (input tensor's size at dimension ", dim, "), but got split_sizes=", int_list_str(sizes)));
  return split_views(x, sizes, dim, "SplitWithSizesBackward0");
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  if (x.dim() == 0) throw Error("split expects at least a 1-dimensional tensor");
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.sizes()[dim];
  if (split_size < 0)
    throw Error(str_cat("split expects split_size be non-negative, but got split_size=", split_size));
  if (split_size == 0 && size != 0)
    throw Error(str_cat("split_size can only be 0 if dimension size is 0, but got dimension size of ", size));
  int64_t n = split_size == 0 ? 1 : std::max<int64_t>((size + split_size - 1) / split_size, 1);
  std::vector<int64_t> sizes(n, split_size);
  sizes.back() = split_size - (split_size * n - size);
  return split_views(x, sizes, dim, "SplitBackward0");
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  if (x.dim() == 0) throw Error("chunk expects at least a 1-dimensional tensor");
  if (chunks <= 0) throw Error(str_cat("chunk expects `chunks` to be greater than 0, got: ", chunks));
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.sizes()[dim];
  int64_t split_size = (size + chunks - 1) / chunks;
  if (split_size == 0 && size == 0) {
    // torch returns `chunks` empty pieces here.
    return split_views(x, std::vector<int64_t>(chunks, 0), dim, "SplitWithSizesBackward0");
  }
  return split(x, split_size, dim);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) throw IndexError(str_cat("Dimension specified as ", dim, " but tensor has no dimensions"));
  dim = wrap_dim(dim, x.dim());
  Shape sizes = x.sizes(), strides = x.strides();
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  std::vector<Tensor> outs;
  for (int64_t i = 0; i < x.sizes()[dim]; ++i)
    outs.push_back(make_view(x, sizes, strides, x.storage_offset() + i * x.strides()[dim]));
  if (any_requires_grad({&x}) && !outs.empty())
    record_function("UnbindBackward0", {x}, pointers(outs), [dim](const GradList& g, FunctionNode&) {
      return GradList{stack(g, dim)};
    });
  for (auto& o : outs) set_view_base(o, x, true);
  return outs;
}

// torch's slice() bounds: negative ends count from the back, then clamp to [0, size].
static Tensor slice_clamped(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  int64_t size = x.sizes()[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  return narrow(x, dim, start, end - start);
}

std::vector<Tensor> tensor_split(const Tensor& x, int64_t sections, int64_t dim) {
  if (x.dim() == 0)
    throw Error("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims");
  if (sections <= 0) throw Error(str_cat("number of sections must be larger than 0, got ", sections));
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.sizes()[dim], base = size / sections, extra = size % sections;
  std::vector<Tensor> outs;
  int64_t start = 0;
  for (int64_t i = 0; i < sections; ++i) {
    int64_t len = base + (i < extra ? 1 : 0);
    outs.push_back(narrow(x, dim, start, len));
    start += len;
  }
  return outs;
}

std::vector<Tensor> tensor_split(const Tensor& x, const std::vector<int64_t>& indices, int64_t dim) {
  if (x.dim() == 0)
    throw Error("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims");
  dim = wrap_dim(dim, x.dim());
  std::vector<Tensor> outs;
  int64_t start = 0;
  for (int64_t idx : indices) {
    outs.push_back(slice_clamped(x, dim, start, idx));
    start = idx;
  }
  outs.push_back(slice_clamped(x, dim, start, x.sizes()[dim]));
  return outs;
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  if (xs.empty()) throw ValueError("cat(): expected a non-empty list of Tensors");
  // 1-D empty tensors are skipped (legacy torch behaviour) but still take part in type promotion.
  auto skipped = [](const Tensor& x) { return x.dim() == 1 && x.numel() == 0; };
  const Tensor* ref = nullptr;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].dim() == 0)
      throw Error(str_cat("zero-dimensional tensor (at position ", i, ") cannot be concatenated"));
    if (!ref && !skipped(xs[i])) ref = &xs[i];
  }
  DType dtype = xs[0].dtype();
  for (auto& x : xs) dtype = promote_types(dtype, x.dtype());
  if (!ref) return empty({0}, dtype);
  int64_t nd = ref->dim();
  dim = wrap_dim(dim, nd);
  Shape shape = ref->sizes();
  shape[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    if (skipped(x)) continue;
    if (x.dim() != nd) throw Error(str_cat("Tensors must have same number of dimensions: got ", nd, " and ", x.dim()));
    for (int64_t d = 0; d < nd; ++d)
      if (d != dim && x.sizes()[d] != ref->sizes()[d])
        throw Error(str_cat("Sizes of tensors must match except in dimension ", dim, ". Expected size ",
                            ref->sizes()[d], " but got size ", x.sizes()[d], " for tensor number ", i,
                            " in the list."));
    shape[dim] += x.sizes()[dim];
  }
  Tensor out = empty(shape, dtype);
  std::vector<int64_t> starts(xs.size(), 0);
  int64_t start = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (skipped(xs[i])) continue;
    starts[i] = start;
    int64_t len = xs[i].sizes()[dim];
    if (xs[i].numel() > 0) copy_nograd(narrow_view(out, dim, start, len), xs[i]);
    start += len;
  }
  if (any_requires_grad(xs)) {
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    for (auto& x : xs) { shapes.push_back(x.sizes()); dtypes.push_back(x.dtype()); }
    record_function("CatBackward0", xs, {&out}, [dim, starts, shapes, dtypes](const GradList& g, FunctionNode& self) {
      GradList r(shapes.size());
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (!self.needs_grad(i)) continue;
        bool skip = shapes[i].size() == 1 && shapes[i][0] == 0;
        Tensor gi = skip ? zeros(shapes[i], g[0].dtype()) : narrow(g[0], dim, starts[i], shapes[i][dim]);
        r[i] = gi.dtype() == dtypes[i] ? gi : to_dtype(gi, dtypes[i]);
      }
      return r;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  if (xs.empty()) throw Error("stack expects a non-empty TensorList");
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i].sizes() != xs[0].sizes())
      throw Error(str_cat("stack expects each tensor to be equal size, but got ", shape_str(xs[0].sizes()),
                          " at entry 0 and ", shape_str(xs[i].sizes()), " at entry ", i));
  dim = wrap_dim(dim, xs[0].dim() + 1);
  Tensor out;
  {
    NoGradGuard ng;
    std::vector<Tensor> parts;
    for (auto& x : xs) parts.push_back(unsqueeze(x, dim));
    out = cat(parts, dim);
  }
  if (any_requires_grad(xs)) {
    std::vector<DType> dtypes;
    for (auto& x : xs) dtypes.push_back(x.dtype());
    record_function("StackBackward0", xs, {&out}, [dim, dtypes](const GradList& g, FunctionNode& self) {
      std::vector<Tensor> parts = unbind(g[0], dim);
      GradList r(dtypes.size());
      for (size_t i = 0; i < dtypes.size(); ++i)
        if (self.needs_grad(i)) r[i] = parts[i].dtype() == dtypes[i] ? parts[i] : to_dtype(parts[i], dtypes[i]);
      return r;
    });
  }
  return out;
}

Tensor hstack(const std::vector<Tensor>& xs) {
  std::vector<Tensor> parts;
  for (auto& x : xs) parts.push_back(x.dim() == 0 ? reshape(x, {1}) : x);
  return cat(parts, !parts.empty() && parts[0].dim() == 1 ? 0 : 1);
}

Tensor vstack(const std::vector<Tensor>& xs) {
  std::vector<Tensor> parts;
  for (auto& x : xs) parts.push_back(x.dim() == 0 ? reshape(x, {1, 1}) : (x.dim() == 1 ? unsqueeze(x, 0) : x));
  return cat(parts, 0);
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  int64_t nd = static_cast<int64_t>(repeats.size());
  if (nd < x.dim())
    throw Error("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  int64_t lead = nd - x.dim();
  // out viewed as [r0, s0, r1, s1, ...] (row-major) receives x broadcast along the r dims.
  Shape out_shape(nd), pair_shape(2 * nd), src_strides(2 * nd, 0);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t s = i < lead ? 1 : x.sizes()[i - lead];
    out_shape[i] = repeats[i] * s;
    pair_shape[2 * i] = repeats[i];
    pair_shape[2 * i + 1] = s;
    if (i >= lead) src_strides[2 * i + 1] = x.strides()[i - lead];
  }
  Tensor out = empty(out_shape, x.dtype());  // checks for negative sizes
  if (out.numel() > 0) {
    Tensor dst = make_view(out, pair_shape, contiguous_strides(pair_shape), 0);
    copy_nograd(dst, make_view(x, pair_shape, src_strides, x.storage_offset()));
  }
  if (any_requires_grad({&x})) {
    record_function("RepeatBackward0", {x}, {&out}, [pair_shape, in_shape = x.sizes()](const GradList& g, FunctionNode&) {
      std::vector<int64_t> dims;
      for (size_t i = 0; i < pair_shape.size(); i += 2) dims.push_back(static_cast<int64_t>(i));
      Tensor r = reshape(g[0], pair_shape);
      if (!dims.empty()) r = sum(r, dims);
      return GradList{reshape(r, in_shape)};
    });
  }
  return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> reps = dims;
  if (static_cast<int64_t>(reps.size()) < x.dim()) reps.insert(reps.begin(), x.dim() - reps.size(), 1);
  return repeat(x, reps);
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> wd = wrap_dims_unique(dims, x.dim());
  Tensor out = empty(x.sizes(), x.dtype());
  if (out.numel() > 0) {
    // A negative-stride view of x (internal only) copied into a fresh tensor.
    Shape strides = x.strides();
    int64_t offset = x.storage_offset();
    for (int64_t d : wd) {
      if (x.dim() == 0) break;
      offset += (x.sizes()[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
    copy_nograd(out, make_view(x, x.sizes(), strides, offset));
  }
  if (any_requires_grad({&x}))
    record_function("FlipBackward0", {x}, {&out}, [wd](const GradList& g, FunctionNode&) {
      return GradList{flip(g[0], wd)};
    });
  return out;
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  if (shifts.empty()) throw Error("`shifts` required");
  if (dims.empty() && shifts.size() != 1)
    throw Error(str_cat("shifts and dimensions must align. shifts: ", shifts.size(), ", dims:", dims.size()));
  if (!dims.empty() && shifts.size() != dims.size())
    throw Error(str_cat("shifts and dimensions must align. shifts: ", shifts.size(), ", dims:", dims.size()));
  Tensor out;
  {
    NoGradGuard ng;
    if (dims.empty()) {
      out = detach(view(roll(flatten(x), shifts, {0}), x.sizes()));  // a result, not a view of a temporary
    } else {
      Tensor cur = x;
      for (size_t i = 0; i < dims.size(); ++i) {
        int64_t d = wrap_dim(dims[i], x.dim());
        int64_t n = x.dim() == 0 ? 1 : x.sizes()[d];
        if (n == 0 || x.dim() == 0) continue;
        int64_t s = ((shifts[i] % n) + n) % n;
        if (s == 0) continue;
        cur = cat({narrow_view(cur, d, n - s, s), narrow_view(cur, d, 0, n - s)}, d);
      }
      out = cur.is_same(x) ? clone(x) : cur;
    }
  }
  if (any_requires_grad({&x})) {
    std::vector<int64_t> back;
    for (auto s : shifts) back.push_back(-s);
    record_function("RollBackward0", {x}, {&out}, [back, dims](const GradList& g, FunctionNode&) {
      return GradList{roll(g[0], back, dims)};
    });
  }
  return out;
}

}  // namespace ember

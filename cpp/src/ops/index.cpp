// Indexing ops, forward and backward side by side.
//
// Python subscripts are parsed in two stages, as in torch:
// 1. Basic items (ints, slices, None, Ellipsis) become a list of view steps (select, slice,
//    unsqueeze) applied to x's geometry: the result is a view, and its backward replays the
//    same steps on a zero tensor of x's shape to place the gradient.
// 2. Tensor items (integer tensors, boolean masks, Python bools) are collected per result dim
//    and applied by advanced indexing, which copies. An AdvancedIndex splits x's dims into
//    [pre dims | indexed dims | post dims]; the indexed dims are replaced by the broadcast
//    index shape B, which goes where the first indexed dim was when all indexed dims are
//    adjacent, and first otherwise. The element offset of every position of B is computed
//    once (bounds checked before anything is written), so the gather and put kernels are
//    three nested loops over offset tables: pre x B x post.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include "elementwise_kernels.h"

namespace ember {

TensorIndex TensorIndex::slice(std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  TensorIndex t;
  t.kind = Kind::Slice;
  t.has_start = start.has_value();
  t.has_stop = stop.has_value();
  t.start = start.value_or(0);
  t.stop = stop.value_or(0);
  t.step = step;
  return t;
}

namespace {

// ---- helpers ---------------------------------------------------------------------------------
// "Float" for error messages that use torch's scalar type names.
std::string type_short(DType t) {
  std::string s = legacy_type_name(t);
  return s.substr(0, s.size() - 6);  // drop "Tensor"
}

bool is_index_dtype(DType t) { return t == DType::Int64 || t == DType::Int32; }

Tensor as_int64(const Tensor& t) { return cast_nograd(t, DType::Int64); }

// The value of a 0-dim tensor as a Scalar of its own kind.
Scalar scalar_of(const Tensor& t) {
  if (is_floating(t.dtype())) return Scalar(t.item<double>());
  if (t.dtype() == DType::Bool) return Scalar(t.item<bool>());
  return Scalar(t.item<int64_t>());
}

// Calls f(linear, element_offset) for every position of `sizes` in row-major order.
template <typename F>
void for_each_position(const Shape& sizes, const Shape& strides, const F& f) {
  int64_t n = 1;
  for (auto s : sizes) n *= s;
  if (n == 0) return;
  int64_t nd = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  for (int64_t lin = 0; lin < n; ++lin) {
    f(lin, off);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < sizes[d]) { off += strides[d]; break; }
      off -= (sizes[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
}

std::vector<int64_t> offset_table(const Shape& sizes, const Shape& strides) {
  std::vector<int64_t> t;
  t.reserve(static_cast<size_t>(shape_numel(sizes)));
  for_each_position(sizes, strides, [&](int64_t, int64_t off) { t.push_back(off); });
  return t;
}

bool is_identity_table(const std::vector<int64_t>& t) {
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// Whether a tensor of shape `from` can be expanded to `to`.
bool expandable(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// Strides of `t` expanded to `to` (0 on broadcast dims); requires expandable(t.sizes(), to).
Shape expanded_strides(const Tensor& t, const Shape& to) {
  Shape st(to.size(), 0);
  size_t lead = to.size() - t.sizes().size();
  for (size_t i = 0; i < t.sizes().size(); ++i)
    st[lead + i] = t.sizes()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

Shape strip_leading_ones(const Shape& s) {
  size_t i = 0;
  while (i < s.size() && s[i] == 1) ++i;
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(i), s.end());
}

// Calls f(U{}) with an unsigned integer type of the given element size (for raw copies).
template <typename F>
void dispatch_bytes(size_t size, const F& f) {
  switch (size) {
    case 1: f(uint8_t{}); return;
    case 2: f(uint16_t{}); return;
    case 4: f(uint32_t{}); return;
    case 8: f(uint64_t{}); return;
  }
  throw Error("unsupported element size");
}

// ---- basic indexing: view steps ------------------------------------------------------------
struct BasicStep {
  enum class Kind : int8_t { Select, Slice, Unsqueeze } kind;
  int64_t dim = 0, start = 0, step = 1, length = 0;
};
using Steps = std::vector<BasicStep>;

Tensor raw_view(const Tensor& x, const Steps& steps) {
  Shape sizes = x.sizes(), strides = x.strides();
  int64_t offset = x.storage_offset();
  for (auto& s : steps) {
    auto d = static_cast<std::ptrdiff_t>(s.dim);
    switch (s.kind) {
      case BasicStep::Kind::Select:
        offset += s.start * strides[d];
        sizes.erase(sizes.begin() + d);
        strides.erase(strides.begin() + d);
        break;
      case BasicStep::Kind::Slice:
        offset += s.start * strides[d];
        sizes[d] = s.length;
        strides[d] *= s.step;
        break;
      case BasicStep::Kind::Unsqueeze: {
        int64_t st = s.dim < static_cast<int64_t>(sizes.size()) ? sizes[d] * strides[d] : 1;
        sizes.insert(sizes.begin() + d, 1);
        strides.insert(strides.begin() + d, st);
        break;
      }
    }
  }
  return make_view(x, sizes, strides, offset);
}

// torch's node name for the view (named after its last step), or for that node's backward.
const char* step_node_name(const Steps& steps, bool backward_of_backward = false) {
  static const char* names[2][4] = {
      {"AliasBackward0", "SelectBackward0", "SliceBackward0", "UnsqueezeBackward0"},
      {"AliasBackwardBackward0", "SelectBackwardBackward0", "SliceBackwardBackward0", "UnsqueezeBackwardBackward0"}};
  int k = steps.empty() ? 0 : 1 + static_cast<int>(steps.back().kind);
  return names[backward_of_backward][k];
}

Tensor basic_view_backward(const Tensor& g, const Shape& in_shape, const Steps& steps);

// The view of x given by `steps`; its backward places the gradient into zeros of x's shape.
Tensor basic_view(const Tensor& x, const Steps& steps) {
  Tensor out = raw_view(x, steps);
  if (any_requires_grad({&x}))
    record_function(step_node_name(steps), {x}, {&out},
                    [in_shape = x.sizes(), steps](const GradList& g, FunctionNode&) {
                      return GradList{basic_view_backward(g[0], in_shape, steps)};
                    });
  set_view_base(out, x);
  return out;
}

Tensor basic_view_backward(const Tensor& g, const Shape& in_shape, const Steps& steps) {
  Tensor out = zeros(in_shape, g.dtype());
  {
    NoGradGuard ng;
    Tensor dst = raw_view(out, steps);
    copy_(dst, g);
  }
  if (any_requires_grad({&g}))
    record_function(step_node_name(steps, true), {g}, {&out},
                    [steps](const GradList& gg, FunctionNode&) { return GradList{basic_view(gg[0], steps)}; });
  return out;
}

// ---- parsing a subscript -----------------------------------------------------------------------
struct ParsedIndex {
  Steps steps;
  std::vector<Tensor> adv;  // index tensors in result-dim order (a mask takes one entry)
  bool has_adv = false;
};

Tensor bool_to_index(bool b) {
  Tensor t = zeros({b ? 1 : 0}, DType::Int64);
  return t;
}

ParsedIndex parse_index(const Tensor& x, const IndexList& index) {
  using K = TensorIndex::Kind;
  if (x.dim() == 0 && index.size() == 1 && index[0].kind == K::Int)
    throw IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
                     "C++ to convert a 0-dim tensor to a number");
  int64_t specified = 0;
  for (auto& it : index) {
    if (it.kind == K::Int || it.kind == K::Slice) ++specified;
    else if (it.kind == K::Tensor) {
      EMBER_CHECK_T(IndexError, it.tensor.defined(), "index tensor is undefined");
      DType dt = it.tensor.dtype();
      specified += (dt == DType::Bool || dt == DType::UInt8) ? it.tensor.dim() : 1;
    }
  }
  if (specified > x.dim()) throw IndexError(str_cat("too many indices for tensor of dimension ", x.dim()));

  ParsedIndex p;
  Shape sizes = x.sizes();
  int64_t dim = 0, shift = 0;
  bool single = index.size() == 1;
  auto record_adv = [&](const Tensor& t, int64_t consumed) {
    size_t pos = static_cast<size_t>(dim - shift);
    if (p.adv.size() < pos + 1) p.adv.resize(pos + 1);
    p.adv[pos] = t;
    p.has_adv = true;
    dim += consumed;
    shift += consumed - 1;
  };
  auto select = [&](int64_t i, int64_t real_dim) {
    int64_t size = sizes[static_cast<size_t>(dim)];
    if (i < -size || i >= size)
      throw IndexError(str_cat("index ", i, " is out of bounds for dimension ", real_dim, " with size ", size));
    p.steps.push_back({BasicStep::Kind::Select, dim, i < 0 ? i + size : i, 1, 0});
    sizes.erase(sizes.begin() + static_cast<std::ptrdiff_t>(dim));
  };
  auto unsqueeze = [&]() {
    p.steps.push_back({BasicStep::Kind::Unsqueeze, dim, 0, 1, 0});
    sizes.insert(sizes.begin() + static_cast<std::ptrdiff_t>(dim), 1);
  };
  for (size_t i = 0; i < index.size(); ++i) {
    const TensorIndex& it = index[i];
    int64_t real_dim = static_cast<int64_t>(i);
    switch (it.kind) {
      case K::Int: select(it.start, real_dim); break;
      case K::Slice: {
        if (it.step == 0) throw ValueError("slice step cannot be zero");
        if (it.step < 0) throw ValueError("step must be greater than zero");
        int64_t size = sizes[static_cast<size_t>(dim)];
        int64_t start = it.has_start ? it.start : 0;
        int64_t stop = it.has_stop ? it.stop : std::numeric_limits<int64_t>::max();
        if (start < 0) start = start < -size ? 0 : start + size;
        if (stop < 0) stop = stop < -size ? 0 : stop + size;
        start = std::min(start, size);
        stop = std::max(start, std::min(stop, size));
        int64_t len = (stop - start + it.step - 1) / it.step;
        // A full slice of a multi-item subscript is no step at all (torch skips it too).
        if (single || start != 0 || len != size || it.step != 1) {
          p.steps.push_back({BasicStep::Kind::Slice, dim, start, it.step, len});
          sizes[static_cast<size_t>(dim)] = len;
        }
        ++dim;
        break;
      }
      case K::None: unsqueeze(); ++dim; break;
      case K::Ellipsis:  // torch accepts several; each one skips the unspecified dims
        dim += x.dim() - specified;
        break;
      case K::Bool: unsqueeze(); record_adv(bool_to_index(it.flag), 1); break;
      case K::Tensor: {
        const Tensor& t = it.tensor;
        DType dt = t.dtype();
        bool is_mask = dt == DType::Bool || dt == DType::UInt8;
        if (t.dim() == 0 && is_integral(dt, true)) {
          if (!is_mask) {
            select(t.item<int64_t>(), real_dim);
          } else {
            unsqueeze();
            record_adv(bool_to_index(t.item<int64_t>() != 0), 1);
          }
        } else if (is_mask && t.dim() > 0) {
          record_adv(t, t.dim());
        } else {
          record_adv(t, 1);
        }
        break;
      }
    }
  }
  return p;
}

// ---- advanced indexing -------------------------------------------------------------------------
struct AdvancedIndex {
  Shape out_shape;
  size_t pre_dims = 0;              // result dims before the index block
  Shape index_shape;                // broadcast shape of the index tensors (B)
  std::vector<int64_t> offsets;     // element offset into x of each position of B
  Shape pre_sizes, pre_strides, post_sizes, post_strides;  // x's non-indexed dims
};

[[noreturn]] void too_many_indices(int64_t nd) {
  throw IndexError(str_cat("too many indices for tensor of dimension ", nd));
}

AdvancedIndex plan_advanced(const Tensor& x, const std::vector<Tensor>& indices) {
  NoGradGuard ng;
  int64_t nd = x.dim();
  // Masks become one int64 index tensor per masked dim.
  std::vector<Tensor> idx;
  for (const Tensor& t : indices) {
    if (!t.defined()) { idx.push_back(Tensor()); continue; }
    DType dt = t.dtype();
    if (dt == DType::Bool || dt == DType::UInt8) {
      int64_t base = static_cast<int64_t>(idx.size());
      if (base + t.dim() > nd) too_many_indices(nd);
      for (int64_t j = 0; j < t.dim(); ++j)
        if (t.sizes()[j] != x.sizes()[base + j])
          throw IndexError(str_cat("The shape of the mask ", shape_str(t.sizes()), " at index ", j,
                                   " does not match the shape of the indexed tensor ", shape_str(x.sizes()),
                                   " at index ", base + j));
      Tensor nz = nonzero(t);
      int64_t n = nz.sizes()[0];
      for (int64_t j = 0; j < t.dim(); ++j) idx.push_back(make_view(nz, {n}, {t.dim()}, j));
    } else if (is_index_dtype(dt)) {
      idx.push_back(as_int64(t));
    } else {
      throw IndexError("tensors used as indices must be long, int, byte or bool tensors");
    }
  }
  if (static_cast<int64_t>(idx.size()) > nd) too_many_indices(nd);
  idx.resize(static_cast<size_t>(nd));

  AdvancedIndex a;
  // Broadcast the index tensors together.
  bool first = true, ok = true;
  for (auto& t : idx) {
    if (!t.defined()) continue;
    if (first) { a.index_shape = t.sizes(); first = false; continue; }
    const Shape& s = t.sizes();
    size_t n = std::max(s.size(), a.index_shape.size());
    Shape b(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t da = i < n - a.index_shape.size() ? 1 : a.index_shape[i - (n - a.index_shape.size())];
      int64_t db = i < n - s.size() ? 1 : s[i - (n - s.size())];
      if (da != db && da != 1 && db != 1) ok = false;
      b[i] = da == 1 ? db : da;
    }
    a.index_shape = b;
  }
  if (!ok) {
    std::string shapes;
    for (auto& t : idx)
      if (t.defined()) shapes += (shapes.empty() ? "" : ", ") + shape_str(t.sizes());
    throw IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes " + shapes);
  }
  // Where the index block goes: in place when the indexed dims are adjacent, else first.
  int64_t first_dim = -1, last_dim = -1;
  for (int64_t d = 0; d < nd; ++d)
    if (idx[d].defined()) { if (first_dim < 0) first_dim = d; last_dim = d; }
  bool adjacent = true;
  for (int64_t d = first_dim; d >= 0 && d <= last_dim; ++d)
    if (!idx[d].defined()) adjacent = false;
  // Offsets of every index position (bounds checked).
  int64_t nb = shape_numel(a.index_shape);
  a.offsets.assign(static_cast<size_t>(nb), 0);
  int64_t ordinal = 0;
  for (int64_t d = 0; d < nd; ++d) {
    const Tensor& t = idx[d];
    if (!t.defined()) continue;
    int64_t size = x.sizes()[d], stride = x.strides()[d];
    const int64_t* data = t.data<int64_t>();
    for_each_position(a.index_shape, expanded_strides(t, a.index_shape), [&](int64_t lin, int64_t off) {
      int64_t v = data[off];
      if (v < -size || v >= size)
        throw IndexError(str_cat("index ", v, " is out of bounds for dimension ", ordinal, " with size ", size));
      a.offsets[lin] += (v < 0 ? v + size : v) * stride;
    });
    ++ordinal;
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (idx[d].defined()) continue;
    bool before = adjacent && first_dim >= 0 && d < first_dim;
    (before ? a.pre_sizes : a.post_sizes).push_back(x.sizes()[d]);
    (before ? a.pre_strides : a.post_strides).push_back(x.strides()[d]);
  }
  a.pre_dims = a.pre_sizes.size();
  a.out_shape = a.pre_sizes;
  a.out_shape.insert(a.out_shape.end(), a.index_shape.begin(), a.index_shape.end());
  a.out_shape.insert(a.out_shape.end(), a.post_sizes.begin(), a.post_sizes.end());
  return a;
}

// out[pre, b, post] = x[pre_off + offsets[b] + post_off], for any dtype (raw element copies).
Tensor gather_kernel(const Tensor& x, const AdvancedIndex& a) {
  Tensor out = empty(a.out_shape, x.dtype());
  if (out.numel() == 0) return out;
  auto pre = offset_table(a.pre_sizes, a.pre_strides);
  auto post = offset_table(a.post_sizes, a.post_strides);
  int64_t nb = static_cast<int64_t>(a.offsets.size()), np = static_cast<int64_t>(post.size());
  bool post_contig = is_identity_table(post);
  dispatch_bytes(x.element_size(), [&](auto tag) {
    using U = decltype(tag);
    const U* src = static_cast<const U*>(x.data_ptr());
    U* dst = static_cast<U*>(out.data_ptr());
    int64_t rows = static_cast<int64_t>(pre.size()) * nb;
    // Row copies are bound by memory bandwidth: a second thread only pays off for large gathers.
    int64_t grain = std::max<int64_t>(1, 8 * kGrainSize / std::max<int64_t>(np, 1));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const U* s = src + pre[r / nb] + a.offsets[r % nb];
        U* d = dst + r * np;
        if (post_contig) std::memcpy(d, s, static_cast<size_t>(np) * sizeof(U));
        else for (int64_t k = 0; k < np; ++k) d[k] = s[post[k]];
      }
    });
  });
  return out;
}

// x[pre, b, post] = (or +=) values[pre, b, post]; values has x's dtype and broadcasts to the
// result shape. Positions of B are visited in order, so repeated indices resolve the same way
// (the last write wins, sums add in index order) for any thread count.
void put_kernel(const Tensor& x, const AdvancedIndex& a, const Tensor& values, bool accumulate) {
  if (!expandable(values.sizes(), a.out_shape))
    throw Error(str_cat("shape mismatch: value tensor of shape ", shape_str(values.sizes()),
                        " cannot be broadcast to indexing result of shape ", shape_str(a.out_shape)));
  if (shape_numel(a.out_shape) == 0) return;
  Shape vst = expanded_strides(values, a.out_shape);
  size_t nbd = a.index_shape.size();
  auto seg = [&](size_t from, size_t n) { return Shape(vst.begin() + from, vst.begin() + from + n); };
  auto pre = offset_table(a.pre_sizes, a.pre_strides), post = offset_table(a.post_sizes, a.post_strides);
  auto vpre = offset_table(a.pre_sizes, seg(0, a.pre_dims));
  auto vb = offset_table(a.index_shape, seg(a.pre_dims, nbd));
  auto vpost = offset_table(a.post_sizes, seg(a.pre_dims + nbd, a.post_sizes.size()));
  int64_t nb = static_cast<int64_t>(a.offsets.size()), np = static_cast<int64_t>(post.size());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = x.data<T>();
    const T* src = values.data<T>();
    parallel_for(0, static_cast<int64_t>(pre.size()), std::max<int64_t>(1, kGrainSize / std::max<int64_t>(nb * np, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t p = b; p < e; ++p)
                     for (int64_t j = 0; j < nb; ++j) {
                       T* d = dst + pre[p] + a.offsets[j];
                       const T* s = src + vpre[p] + vb[j];
                       if (accumulate)
                         for (int64_t k = 0; k < np; ++k) d[post[k]] = static_cast<T>(d[post[k]] + s[vpost[k]]);
                       else
                         for (int64_t k = 0; k < np; ++k) d[post[k]] = s[vpost[k]];
                     }
                 });
  });
}

void check_same_dtype_put(const Tensor& x, const Tensor& values) {
  if (values.dtype() != x.dtype())
    throw Error(str_cat("Index put requires the source and destination dtypes match, got ", type_short(x.dtype()),
                        " for the destination and ", type_short(values.dtype()), " for the source."));
}

void record_index_put(const Tensor& self, const Tensor& values, Tensor& out, const std::vector<Tensor>& indices,
                      bool accumulate) {
  record_function("IndexPutBackward0", {self, values}, {&out},
                  [indices, accumulate, vmeta = InputMeta(values)](const GradList& g, FunctionNode& node) {
                    GradList r(2);
                    if (node.needs_grad(0))
                      r[0] = accumulate ? g[0] : index_put(g[0], indices, zeros({}, g[0].dtype()), false);
                    if (node.needs_grad(1)) r[1] = vmeta.reduce(index(g[0], indices));
                    return r;
                  });
}

}  // namespace

// ---- x[index] and x[index] = value ------------------------------------------------------------
Tensor index(const Tensor& x, const std::vector<Tensor>& indices) {
  AdvancedIndex a = plan_advanced(x, indices);
  Tensor out = gather_kernel(x, a);
  if (any_requires_grad({&x}))
    record_function("IndexBackward0", {x}, {&out},
                    [in_shape = x.sizes(), indices](const GradList& g, FunctionNode&) {
                      return GradList{index_put(zeros(in_shape, g[0].dtype()), indices, g[0], true)};
                    });
  return out;
}

Tensor& index_put_(Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  check_same_dtype_put(x, values);
  bool rg = any_requires_grad({&x, &values});
  check_inplace(x, rg);
  put_kernel(x, plan_advanced(x, indices), values, accumulate);
  x.bump_version();
  if (rg) record_index_put(x, values, x, indices, accumulate);
  return x;
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  check_same_dtype_put(x, values);
  Tensor out;
  {
    NoGradGuard ng;
    out = clone(x);
  }
  put_kernel(out, plan_advanced(out, indices), values, accumulate);
  if (any_requires_grad({&x, &values})) record_index_put(x, values, out, indices, accumulate);
  return out;
}

Tensor get_item(const Tensor& x, const IndexList& index) {
  ParsedIndex p = parse_index(x, index);
  if (!p.has_adv) return basic_view(x, p.steps);
  return ember::index(p.steps.empty() ? x : basic_view(x, p.steps), p.adv);
}

void set_item(Tensor& x, const IndexList& index, const Tensor& value) {
  // A lone Python bool is a view step, as in torch: x[True] = v writes x[None], x[False] writes nothing.
  bool lone_bool = index.size() == 1 && index[0].kind == TensorIndex::Kind::Bool;
  if (lone_bool && !index[0].flag) return;
  ParsedIndex p = parse_index(x, lone_bool ? IndexList{TensorIndex::none()} : index);
  bool rg = any_requires_grad({&x, &value});
  // The write goes through the view the basic items make (torch checks that view; full slices
  // make none), then the history of x changes.
  bool whole = std::all_of(p.steps.begin(), p.steps.end(), [&](const BasicStep& s) {
    return s.kind == BasicStep::Kind::Slice && s.start == 0 && s.step == 1 && s.length == x.sizes()[s.dim];
  });
  if (rg && !whole) check_inplace(basic_view(x, p.steps), rg);
  check_inplace(x, rg);
  // Python numbers take x's dtype; index_put needs matching dtypes for tensor values (torch).
  if (p.has_adv && !value.impl()->wrapped_number) check_same_dtype_put(x, value);
  Shape vshape = strip_leading_ones(value.sizes());
  {
    NoGradGuard ng;
    Tensor v = cast_nograd(value, x.dtype());
    if (vshape != v.sizes()) v = reshape(v, vshape);
    Tensor dst = raw_view(x, p.steps);
    if (!p.has_adv) {
      if (v.sizes() != dst.sizes() && v.dim() > 0) v = expand(v, dst.sizes());  // torch's error message
      copy_(dst, v);
    } else {
      put_kernel(dst, plan_advanced(dst, p.adv), v, false);
    }
  }
  x.bump_version();
  if (rg)
    record_function(p.steps.empty() ? (p.has_adv ? "IndexPutBackward0" : "CopyBackwards") : "CopySlices",
                    {x, value}, {&x},
                    [index, vmeta = InputMeta(value), vshape](const GradList& g, FunctionNode& node) {
                      GradList r(2);
                      if (node.needs_grad(0)) {
                        Tensor gx = clone(g[0]);
                        set_item(gx, index, wrapped_scalar(Scalar(int64_t(0))));
                        r[0] = gx;
                      }
                      if (node.needs_grad(1)) {
                        Tensor gv = sum_to(get_item(g[0], index), vshape);
                        r[1] = vmeta.reduce(gv.sizes() == vmeta.shape ? gv : reshape(gv, vmeta.shape));
                      }
                      return r;
                    });
}

// ---- index_select / index_add -----------------------------------------------------------------
namespace {

// A plan selecting positions `index` (1-D or 0-D, int32/int64) along `dim` of x.
AdvancedIndex plan_along_dim(const Tensor& x, int64_t dim, const Tensor& index, bool allow_negative,
                             const std::function<void(int64_t, int64_t)>& out_of_range) {
  AdvancedIndex a;
  int64_t nd = x.dim();
  Tensor idx = as_int64(index);
  int64_t n = idx.numel(), size = nd == 0 ? 1 : x.sizes()[dim], stride = nd == 0 ? 0 : x.strides()[dim];
  a.index_shape = {n};
  a.offsets.resize(static_cast<size_t>(n));
  const int64_t* data = idx.data<int64_t>();
  int64_t istride = idx.dim() == 0 ? 0 : idx.strides()[0];
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = data[i * istride];
    if (v >= size || v < (allow_negative ? -size : 0)) out_of_range(v, size);
    a.offsets[i] = (v < 0 ? v + size : v) * stride;
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (d == dim) continue;
    (d < dim ? a.pre_sizes : a.post_sizes).push_back(x.sizes()[d]);
    (d < dim ? a.pre_strides : a.post_strides).push_back(x.strides()[d]);
  }
  a.pre_dims = a.pre_sizes.size();
  a.out_shape = a.pre_sizes;
  if (nd > 0) a.out_shape.push_back(n);
  a.out_shape.insert(a.out_shape.end(), a.post_sizes.begin(), a.post_sizes.end());
  if (nd == 0) a.index_shape = {};
  return a;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  if (!is_index_dtype(index.dtype())) throw Error("index_select(): Expected dtype int32 or int64 for index");
  if (index.dim() > 1) throw IndexError("index_select(): Index is supposed to be a vector");
  dim = wrap_dim(dim, x.dim());
  if (x.dim() == 0 && index.numel() != 1)
    throw Error(str_cat("index_select(): Index to scalar can have only 1 value, got ", index.numel(), " value(s)"));
  AdvancedIndex a = plan_along_dim(x, dim, index, false, [](int64_t, int64_t) {
    throw IndexError("index out of range in self");
  });
  Tensor out = gather_kernel(x, a);
  if (any_requires_grad({&x}))
    record_function("IndexSelectBackward0", {x}, {&out},
                    [in_shape = x.sizes(), dim, index](const GradList& g, FunctionNode&) {
                      return GradList{index_add(zeros(in_shape, g[0].dtype()), dim, index, g[0])};
                    });
  return out;
}

namespace {

Tensor& index_add_impl(Tensor& out, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                       const Scalar& alpha, bool rg) {
  if (!is_index_dtype(index.dtype()))
    throw Error(str_cat("index_add_(): Expected dtype int32/int64 for index but got: ", type_short(index.dtype())));
  if (index.dim() > 1)
    throw IndexError(str_cat("index_add_(): Index is supposed to be a vector, but got dim: ", index.dim(),
                             " with type: ", type_short(index.dtype()), " and size: ", shape_str(index.sizes())));
  if (source.dtype() != self.dtype())
    throw Error(str_cat("index_add_(): self (", type_short(self.dtype()), ") and source (", type_short(source.dtype()),
                        ") must have the same scalar type"));
  dim = wrap_dim(dim, self.dim());
  int64_t src_len = source.dim() == 0 ? 1 : source.sizes()[dim < source.dim() ? dim : 0];
  if (index.numel() != src_len)
    throw Error(str_cat("index_add_(): Number of indices (", index.numel(), ") should be equal to source.size(dim): (",
                        src_len, "), for dim: ", dim));
  AdvancedIndex a = plan_along_dim(out, dim, index, false, [dim](int64_t v, int64_t size) {
    throw Error(str_cat("index ", v, " is out of bounds for dimension ", dim, " with size ", size));
  });
  Shape want = a.out_shape;
  if (source.sizes() != want && !(source.numel() == 1 && shape_numel(want) == 1))
    throw Error(str_cat("source tensor shape must match self tensor shape, excluding the specified dimension. Got "
                        "self.shape = ", shape_str(self.sizes()), " source.shape = ", shape_str(source.sizes())));
  {
    NoGradGuard ng;
    Tensor src = source.sizes() == want ? source : reshape(source, want);
    bool unit = !alpha.is_floating() && alpha.i == 1;
    if (!unit) src = mul(src, wrapped_scalar(alpha));
    put_kernel(out, a, cast_nograd(src, out.dtype()), true);
  }
  out.bump_version();
  if (rg)
    record_function("IndexAddBackward0", {self, source}, {&out},
                    [dim, index, alpha, smeta = InputMeta(source)](const GradList& g, FunctionNode& node) {
                      GradList r(2);
                      if (node.needs_grad(0)) r[0] = g[0];
                      if (node.needs_grad(1)) {
                        Tensor gs = index_select(g[0], dim, index);
                        if (!(!alpha.is_floating() && alpha.i == 1)) gs = gs * alpha.to<double>();
                        r[1] = smeta.reduce(gs.sizes() == smeta.shape ? gs : reshape(gs, smeta.shape));
                      }
                      return r;
                    });
  return out;
}

}  // namespace

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  Tensor out;
  {
    NoGradGuard ng;
    out = clone(x);
  }
  return index_add_impl(out, x, dim, index, source, alpha, any_requires_grad({&x, &source}));
}

Tensor& index_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  bool rg = any_requires_grad({&x, &source});
  check_inplace(x, rg);
  return index_add_impl(x, x, dim, index, source, alpha, rg);
}

// ---- gather / scatter ---------------------------------------------------------------------------
namespace {

int64_t nonempty_dim(const Tensor& t) { return std::max<int64_t>(t.dim(), 1); }

// 0-dim tensors take part in gather/scatter as 1-element vectors (torch's rule).
Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? make_view(t, {1}, {1}, t.storage_offset()) : t; }

// Checks the index of gather/scatter and that each index value is within x.size(dim).
void check_gather_index(const char* op, const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src) {
  if (!is_index_dtype(index.dtype())) throw Error(str_cat(op, "(): Expected dtype int32/int64 for index"));
  if (nonempty_dim(index) != nonempty_dim(x))
    throw Error(str_cat("Index tensor must have the same number of dimensions as ", src ? "self" : "input", " tensor"));
  if (src && nonempty_dim(index) != nonempty_dim(*src))
    throw Error("Index tensor must have the same number of dimensions as src tensor");
  Tensor xi = as_1d(x), ii = as_1d(index);
  for (int64_t d = 0; d < ii.dim(); ++d) {
    bool bad = d != dim && ii.sizes()[d] > xi.sizes()[d];
    if (src) {
      Tensor si = as_1d(*src);
      if (bad || ii.sizes()[d] > si.sizes()[d])
        throw Error(str_cat("Expected index ", shape_str(index.sizes()), " to be no larger than self ",
                            shape_str(x.sizes()), " apart from dimension ", dim, " and to be no larger size than src ",
                            shape_str(src->sizes())));
    } else if (bad) {
      throw Error(str_cat("Size does not match at dimension ", d, " expected index ", shape_str(index.sizes()),
                          " to be no larger than self ", shape_str(x.sizes()), " apart from dimension ", dim));
    }
  }
  Tensor i64 = as_int64(ii);
  int64_t size = xi.sizes()[dim];
  for_each_position(i64.sizes(), i64.strides(), [&](int64_t, int64_t off) {
    int64_t v = i64.data<int64_t>()[off];
    if (v < 0 || v >= size)
      throw Error(str_cat("index ", v, " is out of bounds for dimension ", dim, " with size ", size));
  });
}

// A view of t with index's sizes, t's strides, and stride 0 along `dim` (if zero_dim).
Tensor restride(const Tensor& t, const Tensor& index, int64_t dim, bool zero_dim) {
  Shape st = t.strides();
  if (zero_dim) st[dim] = 0;
  return make_view(t, index.sizes(), st, t.storage_offset());
}

enum class Reduce { None, Add, Multiply };

Reduce parse_reduce(const std::string& r) {
  if (r.empty()) return Reduce::None;
  if (r == "add") return Reduce::Add;
  if (r == "multiply") return Reduce::Multiply;
  throw Error("reduce argument must be either add or multiply.");
}

// out (contiguous copy of self) with src written at index along dim, in index order.
void scatter_kernel(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, Reduce reduce) {
  Tensor o = as_1d(out), i = as_int64(as_1d(index)), s = as_1d(src);
  if (i.numel() == 0) return;
  Tensor orr = restride(o, i, dim, true), srr = restride(s, i, dim, false);
  int64_t dstride = o.strides()[dim];
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Geometry<3> g(i.sizes(), {&orr, &i, &srr});
    g.for_each_row(0, g.numel, [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& st, int64_t n) {
      for (int64_t k = 0; k < n; ++k) {
        int64_t v = *reinterpret_cast<const int64_t*>(p[1] + k * st[1]);
        T* d = reinterpret_cast<T*>(p[0] + k * st[0]) + v * dstride;
        T sv = *reinterpret_cast<const T*>(p[2] + k * st[2]);
        if (reduce == Reduce::Add) *d = static_cast<T>(*d + sv);
        else if (reduce == Reduce::Multiply) *d = static_cast<T>(*d * sv);
        else *d = sv;
      }
    });
  });
}

// The gradient of a scatter source: g gathered at index, zero-padded to src's shape.
Tensor scatter_src_grad(const Tensor& g, int64_t dim, const Tensor& index, const InputMeta& src) {
  Tensor gs = gather(g, dim, index);
  if (gs.sizes() == src.shape) return gs;
  if (gs.numel() == shape_numel(src.shape) && gs.numel() == 1) return reshape(gs, src.shape);
  Tensor z = zeros(src.shape, gs.dtype());
  IndexList region;
  for (int64_t d = 0; d < gs.dim(); ++d) region.push_back(TensorIndex::slice(0, gs.sizes()[d]));
  set_item(z, region, gs);
  return z;
}

Tensor& scatter_impl(Tensor& out, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                     bool src_is_value, const std::string& reduce_name, bool rg, const char* op) {
  dim = wrap_dim(dim, self.dim());
  Reduce reduce = parse_reduce(reduce_name);
  if (!src_is_value && src.dtype() != self.dtype())
    throw Error(str_cat(op, "(): Expected self.dtype to be equal to src.dtype"));
  check_gather_index(op, self, dim, index, src_is_value ? nullptr : &src);
  {
    NoGradGuard ng;
    Tensor s = src_is_value ? make_view(cast_nograd(src, self.dtype()), index.sizes(), Shape(index.dim(), 0), 0) : src;
    scatter_kernel(out, dim, index, s, reduce);
  }
  out.bump_version();
  if (!rg) return out;
  if (reduce != Reduce::None) {
    record_function("NotImplemented", {self, src_is_value ? Tensor() : src}, {&out},
                    [](const GradList&, FunctionNode&) -> GradList {
                      throw Error("derivative for aten::scatter is not implemented");
                    });
  } else if (src_is_value) {
    record_function("ScatterBackward1", {self}, {&out}, [dim, index](const GradList& g, FunctionNode&) {
      return GradList{scatter(g[0], dim, index, Scalar(0.0))};
    });
  } else {
    record_function("ScatterBackward0", {self, src}, {&out},
                    [dim, index, smeta = InputMeta(src)](const GradList& g, FunctionNode& node) {
                      GradList r(2);
                      if (node.needs_grad(0)) r[0] = scatter(g[0], dim, index, Scalar(0.0));
                      if (node.needs_grad(1)) r[1] = scatter_src_grad(g[0], dim, index, smeta);
                      return r;
                    });
  }
  return out;
}

Tensor clone_nograd(const Tensor& x) {
  NoGradGuard ng;
  return clone(x);
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, x.dim());
  check_gather_index("gather", x, dim, index, nullptr);
  Tensor out = empty(index.sizes(), x.dtype());
  if (out.numel() > 0) {
    Tensor o = as_1d(out), i = as_int64(as_1d(index)), xi = as_1d(x);
    Tensor xr = restride(xi, i, dim, true);
    int64_t dstride = xi.strides()[dim];
    dispatch_bytes(x.element_size(), [&](auto tag) {
      using U = decltype(tag);
      Geometry<3> g(i.sizes(), {&o, &i, &xr});
      g.run([&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& st, int64_t n) {
        for (int64_t k = 0; k < n; ++k) {
          int64_t v = *reinterpret_cast<const int64_t*>(p[1] + k * st[1]);
          *reinterpret_cast<U*>(p[0] + k * st[0]) = reinterpret_cast<const U*>(p[2] + k * st[2])[v * dstride];
        }
      });
    });
  }
  if (any_requires_grad({&x}))
    record_function("GatherBackward0", {x}, {&out}, [in_shape = x.sizes(), dim, index](const GradList& g, FunctionNode&) {
      return GradList{scatter_add(zeros(in_shape, g[0].dtype()), dim, index, g[0])};
    });
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  Tensor out = clone_nograd(x);
  return scatter_impl(out, x, dim, index, src, false, reduce, any_requires_grad({&x, &src}), "scatter");
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value, const std::string& reduce) {
  Tensor out = clone_nograd(x);
  return scatter_impl(out, x, dim, index, wrapped_scalar(value), true, reduce, any_requires_grad({&x}), "scatter");
}

Tensor& scatter_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  bool rg = any_requires_grad({&x, &src});
  check_inplace(x, rg);
  return scatter_impl(x, x, dim, index, src, false, reduce, rg, "scatter");
}

Tensor& scatter_(Tensor& x, int64_t dim, const Tensor& index, const Scalar& value, const std::string& reduce) {
  bool rg = any_requires_grad({&x});
  check_inplace(x, rg);
  return scatter_impl(x, x, dim, index, wrapped_scalar(value), true, reduce, rg, "scatter");
}

namespace {

Tensor& scatter_add_impl(Tensor& out, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, bool rg) {
  dim = wrap_dim(dim, self.dim());
  if (src.dtype() != self.dtype()) throw Error("scatter(): Expected self.dtype to be equal to src.dtype");
  check_gather_index("scatter", self, dim, index, &src);
  scatter_kernel(out, dim, index, src, Reduce::Add);
  out.bump_version();
  if (rg)
    record_function("ScatterAddBackward0", {self, src}, {&out},
                    [dim, index, smeta = InputMeta(src)](const GradList& g, FunctionNode& node) {
                      GradList r(2);
                      if (node.needs_grad(0)) r[0] = g[0];
                      if (node.needs_grad(1)) r[1] = scatter_src_grad(g[0], dim, index, smeta);
                      return r;
                    });
  return out;
}

}  // namespace

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = clone_nograd(x);
  return scatter_add_impl(out, x, dim, index, src, any_requires_grad({&x, &src}));
}

Tensor& scatter_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  bool rg = any_requires_grad({&x, &src});
  check_inplace(x, rg);
  return scatter_add_impl(x, x, dim, index, src, rg);
}

// ---- masks: masked_fill, masked_select, nonzero, take --------------------------------------------
namespace {

void check_masked_fill_args(const Tensor& mask, const Tensor& value) {
  if (mask.dtype() != DType::Bool)
    throw Error(str_cat("masked_fill_ only supports boolean masks, but got mask with dtype ", cpp_type_name(mask.dtype())));
  if (value.dim() != 0)
    throw Error(str_cat("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ", value.dim(),
                        " dimension(s)."));
}

void masked_fill_kernel(const Tensor& out, const Tensor& x, const Tensor& mask, const Tensor& value) {
  Scalar s = scalar_of(value);
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T v = s.to<T>();
    binary_loop<T, T, bool>(out, x, mask, [v](T a, bool m) { return m ? v : a; });
  });
}

void record_masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value, Tensor& out) {
  bool value_grad = value.requires_grad();
  record_function(value_grad ? "MaskedFillBackward1" : "MaskedFillBackward0", {self, value_grad ? value : Tensor()},
                  {&out}, [mask, smeta = InputMeta(self), vmeta = InputMeta(value)](const GradList& g, FunctionNode& node) {
                    GradList r(2);
                    if (node.needs_grad(0))
                      r[0] = smeta.reduce(masked_fill(g[0], mask, wrapped_scalar(Scalar(int64_t(0)))));
                    if (node.needs_grad(1)) r[1] = vmeta.reduce(sum(masked_select(g[0], mask)));
                    return r;
                  });
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  check_masked_fill_args(mask, value);
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes());
  Tensor out = empty(shape, x.dtype());
  masked_fill_kernel(out, x, mask, value);
  if (any_requires_grad({&x, &value})) record_masked_fill(x, mask, value, out);
  return out;
}

Tensor& masked_fill_(Tensor& x, const Tensor& mask, const Tensor& value) {
  check_masked_fill_args(mask, value);
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes());
  if (shape != x.sizes())
    throw Error(str_cat("output with shape ", shape_str(x.sizes()), " doesn't match the broadcast shape ",
                        shape_str(shape)));
  bool rg = any_requires_grad({&x, &value});
  check_inplace(x, rg);
  masked_fill_kernel(x, x, mask, value);
  x.bump_version();
  if (rg) record_masked_fill(x, mask, value, x);
  return x;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  if (mask.dtype() != DType::Bool) throw Error("masked_select: expected BoolTensor for mask");
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes());
  Tensor out, mb;
  {
    NoGradGuard ng;
    mb = shape.empty() ? reshape(mask, {1}) : expand(mask, shape);
    Tensor xb = shape.empty() ? reshape(x, {1}) : expand(x, shape);
    out = gather_kernel(xb, plan_advanced(xb, {mb}));
  }
  if (any_requires_grad({&x}))
    record_function("MaskedSelectBackward0", {x}, {&out},
                    [mb, shape, xmeta = InputMeta(x)](const GradList& g, FunctionNode&) {
                      Tensor z = zeros(mb.sizes(), g[0].dtype());
                      Tensor full = index_put(z, {mb}, g[0], false);
                      return GradList{xmeta.reduce(reshape(full, shape))};
                    });
  return out;
}

Tensor nonzero(const Tensor& x) {
  Tensor xc;
  {
    NoGradGuard ng;
    xc = contiguous(x);
  }
  int64_t n = xc.numel(), nd = xc.dim();
  constexpr int64_t kChunk = 1 << 16;  // fixed chunks: the output order never depends on threads
  int64_t nch = (n + kChunk - 1) / kChunk;
  std::vector<int64_t> counts(static_cast<size_t>(nch) + 1, 0);
  Tensor out;
  dispatch_all(xc.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    parallel_for(0, nch, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        int64_t cnt = 0, end = std::min(n, (c + 1) * kChunk);
        for (int64_t i = c * kChunk; i < end; ++i) cnt += p[i] != T(0);
        counts[c + 1] = cnt;
      }
    });
    for (int64_t c = 0; c < nch; ++c) counts[c + 1] += counts[c];
    out = empty({counts[nch], nd}, DType::Int64);
    int64_t* o = out.data<int64_t>();
    const Shape& sizes = xc.sizes();
    parallel_for(0, nch, 1, [&](int64_t b, int64_t e) {
      std::vector<int64_t> idx(static_cast<size_t>(nd));
      for (int64_t c = b; c < e; ++c) {
        int64_t start = c * kChunk, end = std::min(n, start + kChunk);
        int64_t rem = start;
        for (int64_t d = nd - 1; d >= 0; --d) { idx[d] = rem % sizes[d]; rem /= sizes[d]; }
        int64_t* w = o + counts[c] * nd;
        for (int64_t i = start; i < end; ++i) {
          if (p[i] != T(0)) { std::copy(idx.begin(), idx.end(), w); w += nd; }
          for (int64_t d = nd - 1; d >= 0; --d) {
            if (++idx[d] < sizes[d]) break;
            idx[d] = 0;
          }
        }
      }
    });
  });
  return out;
}

std::vector<Tensor> nonzero_tuple(const Tensor& x) {
  NoGradGuard ng;
  Tensor nz = nonzero(x.dim() == 0 ? reshape(x, {1}) : x);
  int64_t n = nz.sizes()[0], nd = nz.sizes()[1];
  std::vector<Tensor> r;
  for (int64_t d = 0; d < nd; ++d) r.push_back(clone(make_view(nz, {n}, {nd}, d)));
  return r;
}

Tensor take(const Tensor& x, const Tensor& index) {
  if (index.dtype() != DType::Int64)
    throw Error(str_cat("take(): Expected a long tensor for index, but got ", type_short(index.dtype())));
  Tensor flat;
  {
    NoGradGuard ng;
    flat = reshape(x, {x.numel()});
  }
  int64_t n = x.numel();
  AdvancedIndex a;
  a.index_shape = index.sizes();
  a.out_shape = index.sizes();
  a.offsets.reserve(static_cast<size_t>(index.numel()));
  const int64_t* data = index.data<int64_t>();
  int64_t st = flat.strides()[0];
  for_each_position(index.sizes(), index.strides(), [&](int64_t, int64_t off) {
    int64_t v = data[off];
    if (v < -n || v >= n)
      throw IndexError(str_cat("out of range: tried to access index ", v, " on a tensor of ", n, " elements."));
    a.offsets.push_back((v < 0 ? v + n : v) * st);
  });
  Tensor out = gather_kernel(flat, a);
  if (any_requires_grad({&x}))
    record_function("TakeBackward0", {x}, {&out}, [in_shape = x.sizes(), n, index](const GradList& g, FunctionNode&) {
      Tensor z = zeros({n}, g[0].dtype());
      Tensor flat_idx = reshape(index, {index.numel()});
      return GradList{reshape(index_put(z, {flat_idx}, reshape(g[0], {g[0].numel()}), true), in_shape)};
    });
  return out;
}

// ---- sort / argsort / topk ------------------------------------------------------------------------
namespace {

// Ascending order with NaN last (largest), as torch.
template <typename T>
bool value_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return a < b || (std::isnan(b) && !std::isnan(a));
  else return a < b;
}

// Runs `per_line(values, out_values, out_indices)` over every line of x along dim, where
// out_k is the output length along dim. Outputs are contiguous with x's shape (k along dim).
template <typename PerLine>
std::pair<Tensor, Tensor> along_lines(const Tensor& x, int64_t dim, int64_t out_k, const PerLine& per_line) {
  Tensor xc;
  {
    NoGradGuard ng;
    xc = contiguous(x);
  }
  int64_t nd = x.dim();
  int64_t size = nd == 0 ? 1 : x.sizes()[dim];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.sizes()[d];
  for (int64_t d = dim + 1; d < nd; ++d) inner *= x.sizes()[d];
  Shape out_shape = x.sizes();
  if (nd > 0) out_shape[dim] = out_k;
  Tensor values = empty(out_shape, x.dtype()), indices = empty(out_shape, DType::Int64);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = xc.data<T>();
    T* ov = values.data<T>();
    int64_t* oi = indices.data<int64_t>();
    parallel_for(0, outer * inner, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(size, 1)), [&](int64_t b, int64_t e) {
      std::vector<T> line(static_cast<size_t>(size));
      std::vector<int64_t> perm(static_cast<size_t>(size));
      for (int64_t l = b; l < e; ++l) {
        int64_t o = l / inner, i = l % inner;
        const T* src = in + o * size * inner + i;
        for (int64_t j = 0; j < size; ++j) line[j] = src[j * inner];
        std::iota(perm.begin(), perm.end(), int64_t(0));
        per_line(line, perm);
        int64_t base = o * out_k * inner + i;
        for (int64_t j = 0; j < out_k; ++j) {
          ov[base + j * inner] = line[perm[j]];
          oi[base + j * inner] = perm[j];
        }
      }
    });
  });
  return {values, indices};
}

// Gradient of sort/topk values: g scattered back to the selected positions.
void record_selection_backward(const char* name, const Tensor& x, int64_t dim, std::pair<Tensor, Tensor>& out) {
  if (!any_requires_grad({&x})) return;
  Tensor idx = detach(out.second);
  record_function(name, {x}, {&out.first, &out.second},
                  [in_shape = x.sizes(), dim, idx](const GradList& g, FunctionNode&) {
                    return GradList{scatter(zeros(in_shape, g[0].dtype()), dim, idx, g[0])};
                  });
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool /*stable*/) {
  dim = wrap_dim(dim, x.dim());
  // Always stable: equal values keep their order, whatever `stable` says.
  auto out = along_lines(x, dim, x.dim() == 0 ? 1 : x.sizes()[dim], [descending](auto& line, auto& perm) {
    using T = typename std::decay_t<decltype(line)>::value_type;
    if (descending)
      std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return value_less<T>(line[b], line[a]); });
    else
      std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return value_less<T>(line[a], line[b]); });
  });
  record_selection_backward("SortBackward0", x, dim, out);
  return out;
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  NoGradGuard ng;
  return sort(x, dim, descending, stable).second;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  dim = wrap_dim(dim, x.dim());
  int64_t size = x.dim() == 0 ? 1 : x.sizes()[dim];
  if (k < 0 || k > size) throw Error("selected index k out of range");
  if (x.dtype() == DType::Bool) throw Error("topk does not support bool dtypes on CPU");
  // Results are always sorted; ties keep index order.
  auto out = along_lines(x, dim, k, [k, largest](auto& line, auto& perm) {
    using T = typename std::decay_t<decltype(line)>::value_type;
    auto before = [&](int64_t a, int64_t b) {
      bool lt = largest ? value_less<T>(line[b], line[a]) : value_less<T>(line[a], line[b]);
      bool gt = largest ? value_less<T>(line[a], line[b]) : value_less<T>(line[b], line[a]);
      return lt || (!gt && a < b);
    };
    std::partial_sort(perm.begin(), perm.begin() + k, perm.end(), before);
  });
  record_selection_backward("TopkBackward0", x, dim, out);
  return out;
}

}  // namespace ember

// Views and in-place ops: torch's view + in-place semantics.
//
// A view op's output is a differentiable view: it remembers the root tensor it aliases (its
// base; a view of a view has the same base) and how it was made. Its grad_fn is the view op's
// node. An in-place op writes into a tensor and records its node `fn` with that tensor as the
// output (after bumping the storage version). For a tensor that is not a view, fn simply becomes
// its history. For a view, the write changed the base too, so the base's history must change:
// the base gets a CopySlices node, which runs fn on the view's region of the base's gradient and
// passes the rest of that gradient through untouched. The view's own history then becomes a view
// of the base's new history (AsStridedBackward0: the base's gradient is the view's gradient
// scattered into the view's region). Any other view of the same base sees the storage version
// move past the version its history was made at, and regenerates its grad_fn the same way the
// next time it is used (refresh_view_history, called by Tensor::grad_fn and gradient_edge).
//
// Geometry: the base's gradient is laid out in a scratch buffer with the base's strides, and the
// view's region is addressed in that buffer with the view's strides and its offset relative to
// the base's, so any chain of views reduces to one strided region of the base.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include "ember/autograd.h"
#include "ember/ops.h"
#include "../core/dispatch.h"
#include "../core/iter.h"
#include "internal.h"

namespace ember {

namespace {

// A strided region of a storage; `offset` counts elements from the base's storage offset.
struct Region {
  Shape sizes, strides;
  int64_t offset = 0;
};

Region region_of(const Tensor& t, int64_t origin) { return {t.sizes(), t.strides(), t.storage_offset() - origin}; }

// Whether no two elements of the region share memory: with the dims that move sorted by
// stride, each stride must step past everything the smaller dims span. Layouts this test
// cannot prove (none that view ops make from a non-overlapping base) count as overlapping.
bool non_overlapping(const Region& r) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, size)
  for (size_t d = 0; d < r.sizes.size(); ++d) {
    if (r.sizes[d] == 0) return true;
    if (r.sizes[d] != 1) dims.emplace_back(std::abs(r.strides[d]), r.sizes[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t span = 0;  // elements spanned by the dims so far, minus one
  for (auto& [stride, size] : dims) {
    if (stride <= span) return false;
    span += (size - 1) * stride;
  }
  return true;
}

const char* kOverlapMessage =
    "unsupported operation: more than one element of the written-to tensor refers to a single memory location. "
    "Please clone() the tensor before performing the operation.";

// Element offsets [lo, hi] the region spans.
std::pair<int64_t, int64_t> span_of(const Region& r) {
  int64_t lo = r.offset, hi = r.offset;
  for (size_t d = 0; d < r.sizes.size(); ++d) {
    if (r.sizes[d] == 0) return {r.offset, r.offset};
    int64_t ext = (r.sizes[d] - 1) * r.strides[d];
    (ext < 0 ? lo : hi) += ext;
  }
  return {lo, hi};
}

// A zeroed buffer covering both regions, and views of it through each.
struct Scratch {
  Tensor buffer;
  int64_t lo;
  Scratch(const Region& base, const Region& view, DType dtype) {
    auto [blo, bhi] = span_of(base);
    auto [vlo, vhi] = span_of(view);
    lo = std::min(blo, vlo);
    buffer = zeros({std::max(bhi, vhi) - lo + 1}, dtype);
  }
  Tensor at(const Region& r) const { return make_view(buffer, r.sizes, r.strides, r.offset - lo); }
};

// dst[i] += src[i], element by element in order, so that elements of dst sharing memory (an
// expanded view) accumulate every contribution.
void accumulate_overlapping(const Tensor& dst, const Tensor& src) {
  dispatch_floating(dst.dtype(), "as_strided_backward", [&](auto tag) {
    using T = decltype(tag);
    Geometry<2> g(dst.sizes(), {&dst, &src});
    g.for_each_row(0, g.numel, [](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
      for (int64_t k = 0; k < n; ++k)
        *reinterpret_cast<T*>(p[0] + k * s[0]) += *reinterpret_cast<const T*>(p[1] + k * s[1]);
    });
  });
}

Tensor base_grad_from_view_grad(const Tensor& g, const Region& base, const Region& view);
Tensor replace_view_region(const Tensor& g, const Tensor& v, const Region& base, const Region& view);

// The view's region of a base-shaped gradient `g` (as_strided of g laid out like the base).
Tensor view_region_of(const Tensor& g, const Region& base, const Region& view) {
  Tensor out;
  {
    NoGradGuard ng;
    Scratch s(base, view, g.dtype());
    Tensor dst = s.at(base);
    copy_(dst, g);
    out = clone(s.at(view));
  }
  if (any_requires_grad({&g}))
    record_function("AsStridedBackward0", {g}, {&out}, [base, view](const GradList& gg, FunctionNode&) {
      return GradList{base_grad_from_view_grad(gg[0], base, view)};
    });
  return out;
}

// A view's gradient `g` scattered into zeros shaped like the base (AsStridedBackward0's formula);
// elements of the view that share memory add up.
Tensor base_grad_from_view_grad(const Tensor& g, const Region& base, const Region& view) {
  Tensor out;
  {
    NoGradGuard ng;
    Scratch s(base, view, g.dtype());
    Tensor dst = s.at(view);
    if (non_overlapping(view)) copy_(dst, g);
    else accumulate_overlapping(dst, g);
    out = clone(s.at(base));
  }
  if (any_requires_grad({&g}))
    record_function("AsStridedBackwardBackward0", {g}, {&out}, [base, view](const GradList& gg, FunctionNode&) {
      return GradList{view_region_of(gg[0], base, view)};
    });
  return out;
}

// A base-shaped gradient `g` with the view's region replaced by `v` (as_strided_scatter).
Tensor replace_view_region(const Tensor& g, const Tensor& v, const Region& base, const Region& view) {
  Tensor out;
  {
    NoGradGuard ng;
    Scratch s(base, view, g.dtype());
    Tensor bdst = s.at(base), vdst = s.at(view);
    copy_(bdst, g);
    copy_(vdst, v);
    out = clone(s.at(base));
  }
  if (any_requires_grad({&g, &v}))
    record_function("AsStridedScatterBackward0", {g, v}, {&out}, [base, view](const GradList& gg, FunctionNode& self) {
      GradList r(2);
      if (self.needs_grad(0)) r[0] = replace_view_region(gg[0], zeros(view.sizes, gg[0].dtype()), base, view);
      if (self.needs_grad(1)) r[1] = view_region_of(gg[0], base, view);
      return r;
    });
  return out;
}

// The base's history after an in-place op `fn` wrote into the view: fn runs on the view's region
// of the base's gradient; its gradient for the view's old value replaces that region, which
// then flows to the base's old history; fn's other inputs get fn's gradients.
struct CopySlices : Node {
  CopySlices(Region base_region, Region view_region, std::shared_ptr<Node> fn)
      : base(std::move(base_region)), view(std::move(view_region)), fn(std::move(fn)) {}
  std::string name() const override { return "CopySlices"; }
  // Drops fn rather than freeing its saved tensors: fn may also be in the graph on its own, as
  // the history of a saved output re-linked under create_graph (torch does the same).
  void release_saved() override {
    fn.reset();
    released = true;
  }
  GradList apply(GradList&& grads) override {
    if (!fn) throw_backward_twice();
    const Tensor& g = grads[0];
    // The view requires grad whenever its base does, so fn computes a gradient for it then.
    if (needs_grad(0) && !fn->needs_grad(0))
      throw Error(str_cat("CopySlices: ", fn->name(), " has no gradient for the view it wrote into"));
    GradList res = fn->apply(GradList{view_region_of(g, base, view)});
    GradList out(next_edges.size());
    for (size_t i = 1; i < out.size() && i < res.size(); ++i)
      if (needs_grad(i)) out[i] = std::move(res[i]);
    if (needs_grad(0)) {
      Tensor r0 = !res.empty() && res[0].defined() ? res[0] : zeros(view.sizes, g.dtype());
      out[0] = replace_view_region(g, r0, base, view);
    }
    return out;
  }
  Region base, view;
  std::shared_ptr<Node> fn;
};

Tensor base_of(const Tensor& view) { return Tensor(view.impl()->view_base); }

void check_base_layout(const Tensor& base) {
  if (!non_overlapping(region_of(base, base.storage_offset())))
    throw Error(str_cat("autograd through views of a tensor whose elements share memory (sizes ",
                        shape_str(base.sizes()), ", strides ", shape_str(base.strides()),
                        ") is not supported after an in-place write; clone() that tensor first"));
}

// "SliceBackward0" -> "Slice": torch names the forward op in view errors.
std::string forward_name(const Node& n) {
  std::string s = n.name();
  size_t end = s.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(s[end - 1]))) --end;
  const std::string suffix = "Backward";
  if (end >= suffix.size() && s.compare(end - suffix.size(), suffix.size(), suffix) == 0) end -= suffix.size();
  return s.substr(0, end);
}

// torch's handle_view_on_rebase: views made in no_grad/inference mode or by multi-output ops
// may not be written in place (`indirect`: their base or another view of it was written).
void check_view_creation(const Tensor& view, bool indirect) {
  const TensorImpl* vi = view.impl();
  ViewCreation c = vi->view_creation;
  if (c == ViewCreation::Default) return;
  const Node* fn = vi->autograd ? vi->autograd->grad_fn.get() : nullptr;
  uint32_t nr = vi->autograd ? vi->autograd->output_nr : 0;
  std::string modified = indirect ? "its base or another view of its base has been" : "is being";
  std::string msg;
  if (c == ViewCreation::InferenceMode || c == ViewCreation::NoGradMode || !fn) {
    std::string prefix = fn ? str_cat("Output ", nr, " of ", forward_name(*fn), " is a view of a view which was created in")
                            : std::string("A view was created in");
    msg = c == ViewCreation::InferenceMode
              ? str_cat(prefix, " inference mode and ", modified, " modified inplace in normal mode.")
              : str_cat(prefix, " no_grad mode and ", modified, " modified inplace with grad mode enabled.");
  } else {
    msg = str_cat("Output ", nr, " of ", forward_name(*fn), " is a view and ", modified, " modified inplace.");
  }
  if (c == ViewCreation::MultiOutput) {
    msg += " This view is the output of a function that returns multiple views. Such functions do not allow the "
           "output views to be modified inplace. You should replace the inplace operation by an out-of-place one.";
  } else {
    const char* block = c == ViewCreation::InferenceMode ? "inference_mode" : "no_grad";
    msg += str_cat(" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
                   "code by moving both the view and the inplace either both inside the ", block,
                   " block (if you don't want the inplace to be tracked) or both outside (if you want the inplace "
                   "to be tracked).");
  }
  throw Error(msg);
}

// A view's grad_fn as a view of its base's current history.
void regenerate_view_history(const Tensor& view) {
  Tensor base = base_of(view);
  check_base_layout(base);
  Region b = region_of(base, base.storage_offset()), v = region_of(view, base.storage_offset());
  auto node = std::make_shared<FunctionNode>("AsStridedBackward0", [b, v](const GradList& g, FunctionNode&) {
    return GradList{base_grad_from_view_grad(g[0], b, v)};
  });
  node->sequence_nr = next_sequence_nr();
  node->next_edges.push_back(gradient_edge(base));
  view.impl()->view_version = view.version();
  set_history(view, node, 0);
}

}  // namespace

void set_history(const Tensor& t, const std::shared_ptr<Node>& fn, uint32_t output_nr) {
  AutogradMeta& m = t.impl()->meta();
  // retain_grad follows the tensor to its new history (hooks stay with the old one, as torch).
  if (m.retains_grad && m.grad_fn && m.grad_fn != fn) {
    auto& hooks = m.grad_fn->retain_grad_hooks;
    for (auto it = hooks.begin(); it != hooks.end();) {
      if (it->first != m.output_nr) { ++it; continue; }
      fn->retain_grad_hooks.emplace_back(output_nr, std::move(it->second));
      it = hooks.erase(it);
    }
  }
  m.grad_fn = fn;
  m.output_nr = output_nr;
  m.requires_grad = true;
}

void set_view_base(Tensor& view, const Tensor& x, bool multi_output) {
  const TensorImpl* xi = x.impl();
  TensorImpl* vi = view.impl();
  vi->view_base = xi->view_base ? xi->view_base : x.impl_ptr();
  ViewCreation c = inference_mode_enabled() ? ViewCreation::InferenceMode
                   : !grad_enabled()        ? ViewCreation::NoGradMode
                   : multi_output           ? ViewCreation::MultiOutput
                                            : ViewCreation::Default;
  // A view of a view keeps the restriction of the view it was made from (torch's propagate).
  if (xi->view_base && (c == ViewCreation::Default || xi->view_creation == ViewCreation::InferenceMode))
    c = xi->view_creation;
  vi->view_creation = c;
  vi->view_version = view.version();
}

void check_inplace(const Tensor& t) { check_inplace(t, t.requires_grad()); }

void check_inplace(const Tensor& t, bool any_requires_grad) {
  if (!grad_enabled() || !any_requires_grad) return;
  if (const TensorImpl* base = t.impl()->view_base.get()) {
    check_view_creation(t, false);
    if (t.requires_grad() && !(base->autograd && base->autograd->grad_fn))
      throw Error("a view of a leaf Variable that requires grad is being used in an in-place operation.");
    if (!non_overlapping(region_of(t, 0))) throw Error(kOverlapMessage);
  }
  if (t.requires_grad() && t.is_leaf())
    throw Error("a leaf Variable that requires grad is being used in an in-place operation.");
}

void rebase_history(Tensor& t, const std::shared_ptr<Node>& fn) {
  if (!t.impl()->view_base) {
    set_history(t, fn, 0);
    return;
  }
  check_view_creation(t, false);
  if (fn->num_outputs != 1) throw Error("Functions which modify views in-place must return a single Variable");
  if (fn->next_edges.empty()) throw Error(str_cat(fn->name(), " wrote into a view without taking it as input"));
  Tensor base = base_of(t);
  check_base_layout(base);
  Region view = region_of(t, base.storage_offset());
  if (!non_overlapping(view)) throw Error(kOverlapMessage);
  auto copy_slices =
      std::make_shared<CopySlices>(region_of(base, base.storage_offset()), std::move(view), fn);
  copy_slices->sequence_nr = next_sequence_nr();
  // CopySlices takes fn's edges, except input 0 (the view's old value), whose gradient it folds
  // into the base's. fn keeps its own edge 0: a saved output of fn re-linked to fn under
  // create_graph leads back through the view's old history.
  copy_slices->next_edges = fn->next_edges;
  copy_slices->next_edges[0] = gradient_edge(base);
  set_history(base, copy_slices, 0);
  regenerate_view_history(t);
}

void refresh_view_history(const Tensor& view) {
  TensorImpl* vi = view.impl();
  const TensorImpl* base = vi->view_base.get();
  if (!base || vi->view_version == view.version()) return;
  bool has_fn = vi->autograd && vi->autograd->grad_fn;
  if (!has_fn && !(base->autograd && base->autograd->requires_grad)) return;
  if (base->storage != vi->storage) return;  // the base was rebound to other data (.data =)
  check_view_creation(view, true);
  regenerate_view_history(view);
}

}  // namespace ember

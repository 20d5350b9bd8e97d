// Graph construction: grad mode, saved tensors, recording nodes, in-place history rebasing.
#include <atomic>
#include "ember/autograd.h"
#include "ember/ops.h"
#include "internal.h"

namespace ember {

static thread_local bool t_grad_enabled = true;
static thread_local bool t_inference_mode = false;
static std::atomic<uint64_t> g_sequence_nr{0};

void throw_backward_twice() {
  throw Error("Trying to backward through the graph a second time (or directly access saved tensors after "
              "they have already been freed). Saved intermediate values of the graph are freed when you call "
              ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
              "graph a second time or if you need to access saved tensors after calling backward.");
}

uint64_t next_sequence_nr() { return g_sequence_nr.fetch_add(1, std::memory_order_relaxed); }

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool e) { t_grad_enabled = e; }
bool inference_mode_enabled() { return t_inference_mode; }
void set_inference_mode(bool e) { t_inference_mode = e; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (auto* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return Edge{};
  if (t.impl()->view_base) refresh_view_history(t);
  if (!t.requires_grad()) return Edge{};
  auto& m = t.impl()->meta();
  if (m.grad_fn) return Edge{m.grad_fn, m.output_nr};
  // A view made in no_grad mode requires grad through its base only: its gradient goes nowhere.
  if (!m.requires_grad) return Edge{};
  auto acc = m.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    m.grad_accumulator = acc;
  }
  return Edge{std::move(acc), 0};
}

void record(const std::shared_ptr<Node>& fn, const std::vector<Tensor>& inputs,
            const std::vector<Tensor*>& outputs) {
  fn->sequence_nr = next_sequence_nr();
  // An output that is a differentiable view and also an input, or written since its history was
  // set (in-place ops bump the version before recording), was written in place through the view.
  // Decided before the inputs' edges are taken, which brings such a view's grad_fn up to date.
  std::vector<char> written(outputs.size(), 0);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorImpl* o = outputs[i]->impl();
    if (!o->view_base) continue;
    written[i] = o->view_version != outputs[i]->version();
    for (auto& in : inputs) written[i] = written[i] || in.impl() == o;
  }
  fn->next_edges.reserve(inputs.size());
  for (auto& in : inputs) fn->next_edges.push_back(gradient_edge(in));
  fn->num_outputs = static_cast<uint32_t>(outputs.size());
  if (outputs.size() > 1) {
    for (auto* o : outputs) {
      fn->output_shapes.push_back(o->sizes());
      fn->output_dtypes.push_back(o->dtype());
    }
  }
  for (uint32_t nr = 0; nr < outputs.size(); ++nr) {
    Tensor& o = *outputs[nr];
    bool floating = is_floating(o.dtype());
    if (written[nr] && floating) {
      rebase_history(o, fn);
      continue;
    }
    // A view that a non-view op hands out as its result (made internally) is not a view for autograd.
    if (!written[nr]) o.impl()->view_base.reset();
    if (floating) {
      set_history(o, fn, nr);
    } else {
      auto& m = o.impl()->meta();
      m.requires_grad = false;
      m.grad_fn = nullptr;
      m.output_nr = nr;
    }
  }
}

std::shared_ptr<FunctionNode> record_function(const char* name, const std::vector<Tensor>& inputs,
                                              const std::vector<Tensor*>& outputs,
                                              FunctionNode::BackwardFn fn,
                                              const std::vector<std::pair<Tensor, bool>>& saved) {
  auto node = std::make_shared<FunctionNode>(name, std::move(fn));
  record(node, inputs, outputs);
  node->saved_tensors.reserve(saved.size());
  for (auto& [t, is_out] : saved) node->saved_tensors.emplace_back(t, is_out);
  return node;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  is_output_ = is_output;
  requires_grad_ = t.requires_grad();
  output_nr_ = t.output_nr();
  if (is_output && t.impl()->view_base && t.impl()->autograd) {
    inplace_view_ = true;
    view_fn_ = t.impl()->autograd->grad_fn;
  }
  if (is_output) data_ = detach(t);  // without grad_fn: the node owning us is its grad_fn
  else data_ = t;
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner) const {
  if (released_) throw_backward_twice();
  if (!data_.defined()) return Tensor();
  if (data_.version() != version_) {
    // Name the node that produced the tensor: the owner for saved outputs, the tensor's own
    // (current) history for saved inputs; leaves have none.
    std::string producer;
    if (is_output_ && owner) producer = str_cat(", which is output ", output_nr_, " of ", owner->name(), ",");
    else if (!is_output_ && data_.grad_fn())
      producer = str_cat(", which is output ", data_.output_nr(), " of ", data_.grad_fn()->name(), ",");
    throw Error(str_cat("one of the variables needed for gradient computation has been modified by an inplace "
                        "operation: [", legacy_type_name(data_.dtype()), " ", shape_str(data_.sizes()), "]",
                        producer, " is at version ", data_.version(), "; expected version ", version_,
                        " instead. Hint: the operation that failed to compute its gradient used this tensor; "
                        "it was changed in place after it was saved, in that operation or later."));
  }
  if (!is_output_ || !requires_grad_) return data_;
  // Re-link the output to its node so that create_graph backward can differentiate through it.
  Tensor out = make_view(data_, data_.sizes(), data_.strides(), data_.storage_offset());
  out.impl()->is_view = data_.impl()->is_view;
  auto& m = out.impl()->meta();
  m.requires_grad = true;
  m.grad_fn = owner;
  m.output_nr = output_nr_;
  if (inplace_view_)
    if (auto fn = view_fn_.lock()) m.grad_fn = std::move(fn);
  return out;
}

GradList FunctionNode::apply(GradList&& grads) { return fn_(grads, *this); }

void FunctionNode::release_saved() {
  for (auto& s : saved_tensors) s.release();
  released = true;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf_impl)
    : leaf(leaf_impl), leaf_strong(std::move(leaf_impl)) {
  sequence_nr = UINT64_MAX;  // run as soon as ready: the gradient is final and its buffer freed
}

GradList AccumulateGrad::apply(GradList&& grads) {
  auto impl = leaf.lock();
  if (!impl || grads.empty() || !grads[0].defined()) return {};
  Tensor g = std::move(grads[0]);
  Tensor var(impl);
  auto& m = impl->meta();
  if (g.sizes() != var.sizes()) g = sum_to(g, var.sizes());
  if (g.dtype() != var.dtype()) g = to_dtype(g, var.dtype());
  if (!m.grad || !m.grad->defined()) {
    // A fresh gradient is stolen when nothing else can see it (no other handle, no other user
    // of its storage); otherwise copied, so that later in-place accumulation touches no one
    // else's memory. With create_graph the copy is a differentiable clone.
    // A view qualifies when it is the whole of a storage nobody else holds (the transpose a
    // Linear layer's weight gradient comes back as): it is re-wrapped as a plain tensor.
    const bool whole_storage =
        g.impl()->offset == 0 && static_cast<size_t>(g.numel()) * itemsize(g.dtype()) == g.storage()->nbytes;
    bool exclusive = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 &&
                     (!g.impl()->is_view || whole_storage) && g.is_contiguous() && !g.requires_grad();
    if (!grad_enabled() && exclusive && g.impl()->is_view) {
      Tensor plain = make_view(g, g.sizes(), g.strides(), 0);
      plain.impl()->is_view = false;
      g = std::move(plain);
    }
    if (!grad_enabled() && exclusive) m.grad = std::make_shared<Tensor>(std::move(g));
    else if (grad_enabled()) m.grad = std::make_shared<Tensor>(clone(g));
    else m.grad = std::make_shared<Tensor>(clone(detach(g)));
  } else if (grad_enabled()) {
    *m.grad = add(*m.grad, g);  // create_graph: keep the graph of the accumulated gradient
  } else {
    add_(*m.grad, g);
  }
  return {};
}

}  // namespace ember

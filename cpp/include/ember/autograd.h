// Reverse-mode autograd: graph nodes, saved tensors, grad mode and the backward engine.
//
// Every differentiable op records one Node per call when grad mode is on and an input requires
// grad. A Node maps the gradients of its forward outputs to the gradients of its forward
// inputs; `next_edges[i]` says where input i's gradient goes (the producing Node and which of
// its outputs, or a leaf's AccumulateGrad). Nodes are written with the public ops, so a
// backward run with create_graph=true records a differentiable graph of its own.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "export.h"
#include "tensor.h"

namespace ember {

struct Edge {
  std::shared_ptr<Node> fn;  // null: this input needs no gradient
  uint32_t input_nr = 0;     // which output of the forward op fn backs up
};

// A tensor kept for backward. Outputs of the node that saves them are held without their
// grad_fn (which would be a reference cycle) and re-linked on unpack; every save records the
// storage version so that an in-place change in between is reported.
class EMBER_API SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  Tensor unpack(const std::shared_ptr<Node>& owner) const;
  void release() { data_ = Tensor(); released_ = true; }
  bool defined() const { return data_.defined() || released_; }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool is_output_ = false, released_ = false, requires_grad_ = false;
  uint32_t output_nr_ = 0;
  // An output written in place through a view: its history is the view's regenerated grad_fn,
  // not the owner (held weakly: that history leads back to the owner).
  std::weak_ptr<Node> view_fn_;
  bool inplace_view_ = false;
};

using GradList = std::vector<Tensor>;

struct EMBER_API Node : std::enable_shared_from_this<Node> {
  virtual ~Node() = default;
  // Gradients of the inputs from gradients of the outputs (undefined = zero).
  virtual GradList apply(GradList&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;
  // Whether forward input i needs a gradient (ctx.needs_input_grad).
  bool needs_grad(size_t i) const { return i < next_edges.size() && next_edges[i].fn != nullptr; }
  uint64_t sequence_nr = 0;
  uint32_t num_outputs = 1;           // forward outputs, i.e. incoming gradients
  std::vector<std::pair<uint32_t, TensorHook>> pre_hooks;  // per forward output (non-leaf hooks)
  // retain_grad() of non-leaf outputs; run after pre_hooks, as in torch.
  std::vector<std::pair<uint32_t, std::function<void(const Tensor&)>>> retain_grad_hooks;
  std::vector<Shape> output_shapes;   // so missing gradients can be materialised as zeros
  std::vector<DType> output_dtypes;
  // Whether missing gradients of multi-output nodes are passed to apply() as zeros (true) or as
  // undefined tensors (ctx.set_materialize_grads(False)).
  bool materialize_grads = true;
  bool released = false;  // saved tensors freed by a backward without retain_graph
};

// A Node whose backward is a closure: ops write `[saved...](const GradList& g) { ... }`.
struct EMBER_API FunctionNode : Node {
  using BackwardFn = std::function<GradList(const GradList& grads, FunctionNode& self)>;
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  GradList apply(GradList&& grads) override;
  std::string name() const override { return name_; }
  void release_saved() override;
  // Saved tensors, unpacked in backward with self.saved(i).
  std::vector<SavedTensor> saved_tensors;
  Tensor saved(size_t i) { return saved_tensors.at(i).unpack(shared_from_this()); }

 private:
  std::string name_;
  BackwardFn fn_;
};

// Accumulates into a leaf's .grad (the leaf's tensor hooks are run by the engine before).
// The leaf holds its accumulator weakly and the accumulator holds the leaf strongly, so a
// leaf stays alive while a graph that uses it does (as torch's AccumulateGrad.variable).
struct EMBER_API AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  GradList apply(GradList&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::weak_ptr<TensorImpl> leaf;
  std::shared_ptr<TensorImpl> leaf_strong;
};

// Grad mode (thread-local), as torch.is_grad_enabled / set_grad_enabled.
EMBER_API bool grad_enabled();
EMBER_API void set_grad_enabled(bool enabled);
EMBER_API bool inference_mode_enabled();
EMBER_API void set_inference_mode(bool enabled);
struct EMBER_API NoGradGuard {
  bool prev;
  NoGradGuard() : prev(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev); }
};

// True when an op taking these inputs must record a node.
EMBER_API bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
EMBER_API bool any_requires_grad(const std::vector<Tensor>& inputs);
// The edge through which gradient flows back into `t` (its grad_fn or AccumulateGrad).
EMBER_API Edge gradient_edge(const Tensor& t);
// Links `outputs` to a new node `fn` whose inputs are `inputs`; sets requires_grad/grad_fn.
EMBER_API void record(const std::shared_ptr<Node>& fn, const std::vector<Tensor>& inputs,
                      const std::vector<Tensor*>& outputs);
// Convenience for closure ops: builds a FunctionNode, saves `saved`, links inputs and outputs.
EMBER_API std::shared_ptr<FunctionNode> record_function(
    const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor*>& outputs,
    FunctionNode::BackwardFn fn, const std::vector<std::pair<Tensor, bool>>& saved = {});

// ---- views and in-place ops (torch's view + in-place semantics) ----------------------------
// A view op's output is a differentiable view of the op's input: its base is the input's base (or
// the input). record() treats an output that is such a view and also an input, or written since
// its history was set, as an in-place write through the view and calls rebase_history.
// Marks `view` as a differentiable view of `x`; view ops call it after recording their node.
EMBER_API void set_view_base(Tensor& view, const Tensor& x, bool multi_output = false);
// Before an in-place op writes into `t`: torch's errors for leaves that require grad, views of
// them, views made in no_grad/inference mode or by multi-output ops, and views whose elements
// overlap. `any_requires_grad`: whether some input of the op (t included) requires grad.
EMBER_API void check_inplace(const Tensor& t, bool any_requires_grad);
EMBER_API void check_inplace(const Tensor& t);
// Gives an in-place-modified tensor `t` the history `fn`, whose input 0 is t's old value. For a
// differentiable view, the base's history becomes CopySlices(fn) and t's grad_fn a view of it.
EMBER_API void rebase_history(Tensor& t, const std::shared_ptr<Node>& fn);
// Regenerates a view's grad_fn from its base's history after either was written in place.
EMBER_API void refresh_view_history(const Tensor& view);

// Runs backward from `roots` with `grad_roots` (same length; an undefined gradient means ones
// for a one-element root). Without `inputs`, accumulates into the leaves' .grad (unless
// `accumulate` is false). With `inputs`, returns the gradients w.r.t. those tensors instead,
// running only the part of the graph that leads to them (torch.autograd.grad);
// `allow_unused` controls the error for inputs that receive no gradient.
EMBER_API std::vector<Tensor> run_backward(const std::vector<Tensor>& roots,
                                           const std::vector<Tensor>& grad_roots,
                                           bool retain_graph, bool create_graph,
                                           const std::vector<Tensor>& inputs = {},
                                           bool allow_unused = false, bool accumulate = true);
// torch.autograd.backward(..., inputs=...): accumulates into the .grad of `inputs` only (leaves
// and non-leaves), running only the part of the graph that leads to them.
EMBER_API void run_backward_into(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs);

}  // namespace ember

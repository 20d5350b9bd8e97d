// The backward engine.
//
// A backward run is one "graph task" over the nodes reachable from the roots:
// 1. Discover the graph from the roots and count, for every node, how many edges of the task
//    point at it (its dependencies). For autograd.grad / backward(inputs=...) the task is
//    restricted to the nodes on a path to some requested input: a post-order walk marks a node
//    needed when it is an input's node or has a needed child, and edges to nodes that are not
//    needed are ignored (torch's exec_info).
// 2. Seed the roots' input buffers with the root gradients. A node is ready when all of its
//    dependencies have run (delivered a gradient or nothing). Ready nodes run in order of
//    decreasing sequence number (the most recently recorded op first; accumulators, whose
//    gradient is then final, before everything); any order of ready nodes is valid.
// 3. Running a node: call its tensor hooks per incoming slot (registration order; for leaves,
//    the leaf's hooks), then retain_grad (which sees the hooked value); capture the slots
//    requested by autograd.grad (after the hooks, or before them at a node that runs further,
//    as torch does); then apply() and add each result into the input buffer of the node its
//    edge points to. A node that received no gradient at all is not applied: it only releases
//    its dependencies, so that nodes below it that other paths feed become ready.
// 4. Without retain_graph, each applied node frees its saved tensors; a later backward that
//    needs them gets torch's "backward through the graph a second time" error on unpack (nodes
//    without saved tensors can be run again, as in torch).
#include <queue>
#include <unordered_map>
#include "ember/autograd.h"
#include "ember/ops.h"

namespace ember {

namespace {

struct GradModeGuard {
  bool prev;
  explicit GradModeGuard(bool enabled) : prev(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(prev); }
};

void accumulate_into(Tensor& slot, const Tensor& g) {
  if (!g.defined()) return;
  if (!slot.defined()) slot = g;
  else slot = add(slot, g);
}

Tensor run_hook(const TensorHook& hook, const Tensor& g) {
  Tensor r = hook(g);
  if (!r.defined()) return g;
  if (r.sizes() != g.sizes())
    throw Error(str_cat("hook has changed the size of value: ", shape_str(g.sizes()), " to ",
                        shape_str(r.sizes())));
  return r;
}

struct NodeTask {
  int deps = 0;
  bool needed = true;   // on a path to a requested input (always, without inputs)
  bool queued = false;
  GradList buffer;      // incoming gradients, one per forward output of the node
};

struct CompareSeq {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

// What a graph task does with the gradients that reach leaves and requested inputs.
enum class Target {
  Leaves,         // .backward(): accumulate into every leaf's .grad
  None,           // run the graph, accumulate nowhere
  CaptureInputs,  // autograd.grad: return the inputs' gradients
  IntoInputs,     // backward(inputs=...): accumulate into the inputs' .grad only
};

std::vector<Tensor> run_graph_task(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                                   bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs,
                                   bool allow_unused, Target target) {
  const bool accumulate = target == Target::Leaves || target == Target::IntoInputs;
  if (roots.size() != grad_roots.size())
    throw Error(str_cat("backward: got ", roots.size(), " tensors and ", grad_roots.size(), " gradients"));
  const bool capture_mode = target == Target::CaptureInputs || target == Target::IntoInputs;
  if (capture_mode && inputs.empty()) throw Error("run_backward: `inputs` cannot be empty");

  // Root edges and their gradients (implicit ones for one-element roots, cast to the root dtype).
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_grads;
  root_edges.reserve(roots.size());
  root_grads.reserve(roots.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    if (!r.defined() || !r.requires_grad())
      throw Error(str_cat("element ", i, " of tensors does not require grad and does not have a grad_fn"));
    Tensor g = grad_roots[i];
    if (!g.defined()) {
      if (r.numel() != 1) throw Error("grad can be implicitly created only for scalar outputs");
      g = ones(r.sizes(), r.dtype());
    } else if (g.sizes() != r.sizes()) {
      throw Error(str_cat("Mismatch in shape: grad_output[", i, "] has a shape of ", shape_str(g.sizes()),
                          " and output[", i, "] has a shape of ", shape_str(r.sizes()), "."));
    } else if (g.dtype() != r.dtype()) {
      if (!is_floating(g.dtype()))
        throw Error(str_cat("grad_output[", i, "] has dtype ", dtype_name(g.dtype()),
                            " but output[", i, "] has floating point dtype ", dtype_name(r.dtype())));
      g = to_dtype(g, r.dtype());
    }
    root_edges.push_back(gradient_edge(r));
    root_grads.push_back(std::move(g));
  }

  // Requested inputs: where their gradients arrive (node, slot) -> index into `captured`.
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures;
  std::vector<Edge> input_edges;  // keeps the inputs' accumulators alive during the run
  std::vector<Tensor> captured(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad())
      throw Error("One of the differentiated Tensors does not require grad");
    input_edges.push_back(gradient_edge(inputs[i]));
    captures[input_edges.back().fn.get()].emplace_back(input_edges.back().input_nr, i);
  }

  // 1. Discovery. Without inputs: every reachable node, dependencies counted on the way.
  std::unordered_map<Node*, NodeTask> tasks;
  if (!capture_mode) {
    std::vector<Node*> stack;
    for (auto& e : root_edges)
      if (tasks.emplace(e.fn.get(), NodeTask{}).second) stack.push_back(e.fn.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (auto& e : n->next_edges) {
        if (!e.fn) continue;
        auto [it, fresh] = tasks.emplace(e.fn.get(), NodeTask{});
        it->second.deps += 1;
        if (fresh) stack.push_back(e.fn.get());
      }
    }
  } else {
    // Post-order walk: a node is needed when it is an input's node or a child of it is needed.
    struct Frame { Node* n; size_t next; };
    std::vector<Frame> stack;
    for (auto& e : root_edges) {
      auto [it, fresh] = tasks.emplace(e.fn.get(), NodeTask{});
      if (!fresh) continue;
      it->second.needed = false;
      stack.push_back({e.fn.get(), 0});
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next < f.n->next_edges.size()) {
          Node* c = f.n->next_edges[f.next++].fn.get();
          if (!c) continue;
          auto [cit, cfresh] = tasks.emplace(c, NodeTask{});
          if (cfresh) {
            cit->second.needed = false;
            stack.push_back({c, 0});
          }
          continue;
        }
        Node* n = f.n;
        stack.pop_back();
        NodeTask& t = tasks[n];
        t.needed = captures.count(n) > 0;
        for (auto& e : n->next_edges)
          if (e.fn && tasks[e.fn.get()].needed) { t.needed = true; break; }
      }
    }
    // Dependencies over edges between needed nodes only.
    for (auto& [n, t] : tasks) {
      if (!t.needed) continue;
      for (auto& e : n->next_edges)
        if (e.fn) {
          NodeTask& c = tasks[e.fn.get()];
          if (c.needed) c.deps += 1;
        }
    }
  }

  // 2. Seed the roots.
  GradModeGuard mode(create_graph);
  std::priority_queue<Node*, std::vector<Node*>, CompareSeq> ready;
  for (size_t i = 0; i < root_edges.size(); ++i) {
    Node* n = root_edges[i].fn.get();
    NodeTask& t = tasks[n];
    if (!t.needed) continue;
    if (t.buffer.empty()) t.buffer.resize(n->num_outputs);
    accumulate_into(t.buffer[root_edges[i].input_nr], root_grads[i]);
  }
  for (auto& e : root_edges) {
    NodeTask& t = tasks[e.fn.get()];
    if (t.needed && t.deps == 0 && !t.queued) {
      t.queued = true;
      ready.push(e.fn.get());
    }
  }

  // 3. Run.
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    NodeTask& task = tasks[n];
    GradList grads = std::move(task.buffer);
    task.buffer = GradList();
    bool any_grad = false;
    for (auto& g : grads) any_grad = any_grad || g.defined();

    GradList outs;
    auto* acc = dynamic_cast<AccumulateGrad*>(n);
    if (any_grad) {
      if (grads.size() < n->num_outputs) grads.resize(n->num_outputs);
      // Whether apply() runs: accumulators only where .grad is written (all leaves, or the
      // requested ones for backward(inputs=...)); with inputs, other nodes only when something
      // below them is needed.
      auto cap = capture_mode ? captures.find(n) : captures.end();
      bool run = true;
      if (acc) {
        run = accumulate && (!capture_mode || cap != captures.end());
      } else if (capture_mode) {
        run = false;
        for (auto& e : n->next_edges)
          if (e.fn && tasks[e.fn.get()].needed) { run = true; break; }
      }
      // autograd.grad captures the gradient after the tensor hooks, except at a node that runs
      // further, where torch captures it before them (hooks then run as part of the node).
      auto capture = [&] {
        if (target != Target::CaptureInputs || cap == captures.end()) return;
        for (auto& [nr, idx] : cap->second) accumulate_into(captured[idx], grads[nr]);
      };
      if (run && !acc) capture();

      // Tensor hooks (a leaf's live on the tensor, a non-leaf's on its grad_fn), then retain_grad.
      if (acc) {
        if (auto leaf = acc->leaf.lock(); leaf && leaf->autograd)
          for (size_t h = 0; h < leaf->autograd->hooks.size(); ++h)  // hooks may register hooks
            grads[0] = run_hook(TensorHook(leaf->autograd->hooks[h]), grads[0]);
      } else {
        for (size_t h = 0; h < n->pre_hooks.size(); ++h) {
          auto [nr, hook] = n->pre_hooks[h];
          if (grads[nr].defined()) grads[nr] = run_hook(hook, grads[nr]);
        }
        for (size_t h = 0; h < n->retain_grad_hooks.size(); ++h) {
          auto [nr, hook] = n->retain_grad_hooks[h];
          if (grads[nr].defined()) hook(grads[nr]);
        }
      }
      if (!run || acc) capture();

      if (run) {
        if (n->materialize_grads)
          for (uint32_t k = 0; k < grads.size(); ++k)
            if (!grads[k].defined() && k < n->output_shapes.size())
              grads[k] = zeros(n->output_shapes[k], n->output_dtypes[k]);
        outs = n->apply(std::move(grads));
        if (!retain_graph) n->release_saved();
      }
    }

    // Deliver and release dependencies.
    for (size_t k = 0; k < n->next_edges.size(); ++k) {
      const Edge& e = n->next_edges[k];
      if (!e.fn) continue;
      Node* child = e.fn.get();
      NodeTask& ct = tasks[child];
      if (!ct.needed) continue;
      if (k < outs.size() && outs[k].defined()) {
        if (ct.buffer.empty()) ct.buffer.resize(child->num_outputs);
        accumulate_into(ct.buffer[e.input_nr], outs[k]);
      }
      if (--ct.deps == 0 && !ct.queued) {
        ct.queued = true;
        ready.push(child);
      }
    }
  }

  if (capture_mode && !accumulate) {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!captured[i].defined() && !allow_unused)
        throw Error(str_cat("The differentiated Tensor at index ", i,
                            " appears to not have been used in the graph. Set allow_unused=True if this is the "
                            "desired behavior."));
  }
  return captured;
}

}  // namespace

std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs,
                                 bool allow_unused, bool accumulate) {
  Target target = !inputs.empty() ? Target::CaptureInputs : accumulate ? Target::Leaves : Target::None;
  return run_graph_task(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused, target);
}

void run_backward_into(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph,
                       bool create_graph, const std::vector<Tensor>& inputs) {
  // As torch: a non-leaf input gets its .grad through retain_grad (which stays on afterwards).
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad() && !t.is_leaf()) Tensor(t).retain_grad();
  run_graph_task(roots, grad_roots, retain_graph, create_graph, inputs, true, Target::IntoInputs);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  run_backward({*this}, {gradient}, retain_graph, create_graph);
}

}  // namespace ember

// The backward engine.
//
// 1. Walk the graph from the roots and count, for every node, how many edges point at it.
// 2. Seed the roots' input buffers with the root gradients; a node is ready when all its
//    dependencies have delivered. Ready nodes run highest sequence number first (the most
//    recently recorded op), which is a valid reverse topological order.
// 3. Running a node: apply its pre-hooks (tensor hooks, retain_grad) per incoming slot, call
//    apply(), and add each result into the input buffer of the node its edge points to.
// 4. Without retain_graph, each node frees its saved tensors after it ran.
// For autograd.grad, gradients arriving at the requested inputs' edges are captured instead
// of accumulated, and only nodes on a path to some input run.
#include <queue>
#include <unordered_map>
#include <unordered_set>
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

struct CompareSeq {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

}  // namespace

std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                                 bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs,
                                 bool allow_unused, bool accumulate) {
  GradModeGuard mode(create_graph);
  bool capture_mode = !inputs.empty();

  // Root edges.
  std::vector<Edge> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    if (!r.requires_grad())
      throw Error(str_cat("element ", i, " of tensors does not require grad and does not have a grad_fn"));
    root_edges.push_back(gradient_edge(r));
  }

  // Capture slots for autograd.grad.
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures;
  std::vector<Tensor> captured(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad())
      throw Error(str_cat("One of the differentiated Tensors does not require grad"));
    Edge e = gradient_edge(inputs[i]);
    captures[e.fn.get()].emplace_back(e.input_nr, i);
  }

  // Dependencies (and, for capture mode, which nodes lead to an input).
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& e : root_edges)
    if (e.fn && seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  std::vector<Node*> order;  // discovery order, for the needed-set computation
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (auto& e : n->next_edges) {
      if (!e.fn) continue;
      deps[e.fn.get()] += 1;
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  std::unordered_set<Node*> needed;
  if (capture_mode) {
    // A node is needed when it is captured or one of its children is needed. Iterate to a fixed
    // point over the discovery order reversed (children mostly come later).
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* n = *it;
        if (needed.count(n)) continue;
        bool need = captures.count(n) > 0;
        for (auto& e : n->next_edges)
          if (e.fn && needed.count(e.fn.get())) { need = true; break; }
        if (need) { needed.insert(n); changed = true; }
      }
    }
  }

  std::unordered_map<Node*, GradList> buffers;
  std::priority_queue<Node*, std::vector<Node*>, CompareSeq> ready;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep;  // keep nodes alive during the run

  for (size_t i = 0; i < root_edges.size(); ++i) {
    auto& e = root_edges[i];
    if (!e.fn) continue;
    auto& buf = buffers[e.fn.get()];
    if (buf.empty()) buf.resize(e.fn->num_outputs);
    accumulate_into(buf[e.input_nr], grad_roots[i]);
    keep[e.fn.get()] = e.fn;
  }
  for (auto& e : root_edges)
    if (e.fn && deps[e.fn.get()] == 0) {
      deps[e.fn.get()] = -1;  // queued
      ready.push(e.fn.get());
    }

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    GradList grads = std::move(buffers[n]);
    buffers.erase(n);
    if (grads.size() < n->num_outputs) grads.resize(n->num_outputs);

    // Tensor hooks of non-leaf outputs, then retain_grad.
    for (auto& [nr, hook] : n->pre_hooks) {
      if (!grads[nr].defined()) continue;
      Tensor r = hook(grads[nr]);
      if (r.defined()) grads[nr] = r;
    }
    for (auto& [nr, hook] : n->retain_grad_hooks) hook(grads[nr]);

    // Captures for autograd.grad.
    auto cap = captures.find(n);
    if (cap != captures.end())
      for (auto& [nr, idx] : cap->second) accumulate_into(captured[idx], grads[nr]);

    bool is_accumulator = dynamic_cast<AccumulateGrad*>(n) != nullptr;
    bool run = !(is_accumulator && (capture_mode || !accumulate));
    if (capture_mode && run) {
      run = false;  // only descend where something below still needs gradients
      for (auto& e : n->next_edges)
        if (e.fn && needed.count(e.fn.get())) { run = true; break; }
    }

    GradList outs;
    if (run) {
      if (n->released)
        throw Error("Trying to backward through the graph a second time (or directly access saved tensors after "
                    "they have already been freed). Saved intermediate values of the graph are freed when you "
                    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
                    "through the graph a second time or if you need to access saved tensors after calling "
                    "backward.");
      // Undefined incoming gradients of multi-output nodes become zeros.
      for (uint32_t k = 0; k < grads.size(); ++k)
        if (!grads[k].defined() && k < n->output_shapes.size())
          grads[k] = zeros(n->output_shapes[k], n->output_dtypes[k]);
      outs = n->apply(std::move(grads));
      if (!retain_graph) n->release_saved();
    }

    for (size_t k = 0; k < n->next_edges.size(); ++k) {
      auto& e = n->next_edges[k];
      if (!e.fn) continue;
      Node* child = e.fn.get();
      if (run && k < outs.size() && outs[k].defined()) {
        auto& buf = buffers[child];
        if (buf.empty()) buf.resize(child->num_outputs);
        accumulate_into(buf[e.input_nr], outs[k]);
        keep[child] = e.fn;
      }
      if (--deps[child] == 0) {
        deps[child] = -1;
        if (buffers.count(child)) {
          keep[child] = e.fn;
          ready.push(child);
        } else {
          // No gradient reached this node: its subtree still needs its dependency counts
          // settled so that other paths can make their nodes ready.
          std::vector<Node*> st{child};
          while (!st.empty()) {
            Node* c = st.back();
            st.pop_back();
            for (auto& ce : c->next_edges) {
              if (!ce.fn) continue;
              if (--deps[ce.fn.get()] == 0) {
                deps[ce.fn.get()] = -1;
                if (buffers.count(ce.fn.get())) { keep[ce.fn.get()] = ce.fn; ready.push(ce.fn.get()); }
                else st.push_back(ce.fn.get());
              }
            }
          }
        }
      }
    }
  }

  if (capture_mode) {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!captured[i].defined() && !allow_unused)
        throw Error("One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior.");
  }
  return captured;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  if (!requires_grad())
    throw Error("element 0 of tensors does not require grad and does not have a grad_fn");
  Tensor g = gradient;
  if (!g.defined()) {
    if (numel() != 1) throw Error("grad can be implicitly created only for scalar outputs");
    g = ones(sizes(), dtype());
  } else if (g.sizes() != sizes()) {
    throw Error(str_cat("Mismatch in shape: grad_output[0] has a shape of ", shape_str(g.sizes()),
                        " and output[0] has a shape of ", shape_str(sizes()), "."));
  }
  run_backward({*this}, {g}, retain_graph, create_graph);
}

}  // namespace ember

// Autograd bindings: grad mode, the backward engine, graph nodes, Python-defined Functions.
#include "common.h"

namespace ember_py {

using ember::GradList;
using ember::Node;
using ember::Tensor;

std::shared_ptr<void> keep_alive(py::object o);

// Whether `shape` broadcasts to `target` (so a gradient of shape `target` sums down to it).
static bool expandable_to(const ember::Shape& shape, const ember::Shape& target) {
  if (shape.size() > target.size()) return false;
  size_t off = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && shape[i] != target[off + i]) return false;
  return true;
}

// The backward of a Python autograd.Function: calls `trampoline(node, *grads)` (a Python
// callable that runs Function.backward and maps its results onto the tensor inputs), then
// checks each gradient against its input's metadata like torch's validate_outputs: a gradient
// whose shape the input broadcasts to is summed down, a different dtype is cast.
static GradList call_python_backward(const std::shared_ptr<void>& trampoline, const std::string& name,
                                     const std::vector<ember::Shape>& in_shapes,
                                     const std::vector<ember::DType>& in_dtypes, const GradList& grads,
                                     ember::FunctionNode& self) {
  py::gil_scoped_acquire gil;
  py::tuple args(grads.size() + 1);
  args[0] = py::cast(std::static_pointer_cast<Node>(self.shared_from_this()));
  for (size_t i = 0; i < grads.size(); ++i) args[i + 1] = grads[i].defined() ? py::cast(grads[i]) : py::none();
  py::object r = (*static_cast<py::object*>(trampoline.get()))(*args);
  py::sequence rs = r.cast<py::sequence>();
  size_t n_in = in_shapes.size();
  if (rs.size() != n_in)
    throw ember::Error(ember::str_cat("function ", name, " returned an incorrect number of gradients (expected ",
                                      n_in, ", got ", rs.size(), ")"));
  GradList out(n_in);
  for (size_t i = 0; i < n_in; ++i) {
    py::object gi = rs[i];
    if (gi.is_none()) continue;
    if (!py::isinstance(gi, tensor_class()))
      throw py::type_error(ember::str_cat("function ", name, " returned a gradient of type ",
                                          std::string(py::str(py::type::handle_of(gi).attr("__name__"))),
                                          " at index ", i, ", expected a Tensor or None"));
    Tensor g = gi.cast<Tensor>();
    if (!self.needs_grad(i)) continue;
    if (g.sizes() != in_shapes[i]) {
      if (!expandable_to(in_shapes[i], g.sizes()))
        throw ember::Error(ember::str_cat("Function ", name, " returned an invalid gradient at index ", i, " - got ",
                                          ember::shape_str(g.sizes()), " but expected shape compatible with ",
                                          ember::shape_str(in_shapes[i])));
      g = ember::sum_to(g, in_shapes[i]);
    }
    if (g.dtype() != in_dtypes[i]) g = ember::to_dtype(g, in_dtypes[i]);
    out[i] = std::move(g);
  }
  return out;
}

void init_autograd(py::module_& m) {
  m.def("is_grad_enabled", &ember::grad_enabled);
  m.def("_set_grad_enabled", &ember::set_grad_enabled);
  m.def("is_inference_mode_enabled", &ember::inference_mode_enabled);
  m.def("_set_inference_mode", &ember::set_inference_mode);

  // roots and grads have the same length (a None gradient: implicit ones for one-element roots).
  // With inputs: accumulate=False is autograd.grad, accumulate=True is backward(inputs=...).
  m.def("_run_backward",
        [](const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph, bool create_graph,
           const std::vector<Tensor>& inputs, bool allow_unused, bool accumulate) {
          if (!inputs.empty() && accumulate) {
            ember::run_backward_into(roots, grads, retain_graph, create_graph, inputs);
            return std::vector<Tensor>();
          }
          return ember::run_backward(roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate);
        });

  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("name", &Node::name)
      .def_property_readonly("next_functions",
                             [](const Node& n) {
                               py::tuple r(n.next_edges.size());
                               for (size_t i = 0; i < n.next_edges.size(); ++i) {
                                 auto& e = n.next_edges[i];
                                 r[i] = py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), e.input_nr);
                               }
                               return r;
                             })
      .def_property_readonly("_sequence_nr", [](const Node& n) { return n.sequence_nr; })
      // Saved tensors of a Python Function's node (ctx.saved_tensors), unpacked with the
      // version check; raises once they were freed by a backward without retain_graph.
      .def("_saved_tensors",
           [](Node& n) {
             auto* f = dynamic_cast<ember::FunctionNode*>(&n);
             if (!f) throw ember::Error(n.name() + " has no saved tensors");
             py::tuple r(f->saved_tensors.size());
             for (size_t i = 0; i < f->saved_tensors.size(); ++i) {
               Tensor t = f->saved(i);
               r[i] = t.defined() ? py::cast(t) : py::none();
             }
             return r;
           })
      .def("__repr__", [](const Node& n) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%p", static_cast<const void*>(&n));
        return "<" + n.name() + " object at " + buf + ">";
      });
  // Registered so that pybind hands out the most derived class: AccumulateGrad.variable.
  py::class_<ember::AccumulateGrad, Node, std::shared_ptr<ember::AccumulateGrad>>(m, "AccumulateGrad")
      .def_property_readonly("variable", [](const ember::AccumulateGrad& a) -> py::object {
        auto leaf = a.leaf.lock();
        if (!leaf) return py::none();
        return py::cast(Tensor(leaf));
      });

  // Links the outputs of a Python autograd.Function to a new node (see call_python_backward).
  // `saved` are kept as saved tensors of the node (outputs among them without a reference
  // cycle); `materialize_grads` false passes missing output gradients as None.
  m.def("_record_function",
        [](const std::string& name, py::function trampoline, const std::vector<Tensor>& inputs,
           std::vector<Tensor> outputs, bool materialize_grads, const std::vector<Tensor>& saved,
           const std::vector<bool>& saved_is_output) {
          if (saved.size() != saved_is_output.size()) throw py::value_error("saved and saved_is_output differ");
          auto fn = keep_alive(std::move(trampoline));
          std::vector<ember::Shape> in_shapes;
          std::vector<ember::DType> in_dtypes;
          for (auto& i : inputs) {
            in_shapes.push_back(i.sizes());
            in_dtypes.push_back(i.dtype());
          }
          std::vector<Tensor*> outs;
          for (auto& o : outputs) outs.push_back(&o);
          std::vector<std::pair<Tensor, bool>> to_save;
          for (size_t i = 0; i < saved.size(); ++i) to_save.emplace_back(saved[i], saved_is_output[i]);
          auto node = ember::record_function(
              name.c_str(), inputs, outs,
              [fn, name, in_shapes, in_dtypes](const GradList& grads, ember::FunctionNode& self) {
                return call_python_backward(fn, name, in_shapes, in_dtypes, grads, self);
              },
              to_save);
          node->materialize_grads = materialize_grads;
          if (node->output_shapes.empty())
            for (auto& o : outputs) {
              node->output_shapes.push_back(o.sizes());
              node->output_dtypes.push_back(o.dtype());
            }
          return std::static_pointer_cast<Node>(node);
        });
}

}  // namespace ember_py

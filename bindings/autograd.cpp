// Autograd bindings: grad mode, the backward engine, graph nodes, Python-defined Functions.
#include "common.h"

namespace ember_py {

using ember::GradList;
using ember::Node;
using ember::Tensor;

std::shared_ptr<void> keep_alive(py::object o);

void init_autograd(py::module_& m) {
  m.def("is_grad_enabled", &ember::grad_enabled);
  m.def("_set_grad_enabled", &ember::set_grad_enabled);
  m.def("is_inference_mode_enabled", &ember::inference_mode_enabled);
  m.def("_set_inference_mode", &ember::set_inference_mode);

  m.def("_run_backward",
        [](const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph, bool create_graph,
           const std::vector<Tensor>& inputs, bool allow_unused, bool accumulate) {
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
      .def("__repr__", [](const Node& n) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%p", static_cast<const void*>(&n));
        return "<" + n.name() + " object at " + buf + ">";
      });
  // Links outputs of a Python autograd.Function to a node whose backward calls `backward`
  // (a Python callable taking the output gradients and returning one gradient per input).
  m.def("_record_function",
        [](const std::string& name, py::function backward, const std::vector<Tensor>& inputs,
           std::vector<Tensor> outputs, bool materialize_grads) {
          auto fn = keep_alive(std::move(backward));
          size_t n_in = inputs.size();
          std::vector<Tensor*> outs;
          for (auto& o : outputs) outs.push_back(&o);
          std::vector<ember::Shape> out_shapes;
          std::vector<ember::DType> out_dtypes;
          for (auto& o : outputs) { out_shapes.push_back(o.sizes()); out_dtypes.push_back(o.dtype()); }
          auto node = ember::record_function(
              name.c_str(), inputs, outs,
              [fn, n_in, name, materialize_grads, out_shapes, out_dtypes](const GradList& grads, ember::FunctionNode&) {
                py::gil_scoped_acquire gil;
                py::tuple args(grads.size());
                for (size_t i = 0; i < grads.size(); ++i) {
                  Tensor g = grads[i];
                  if (!g.defined() && materialize_grads) g = ember::zeros(out_shapes[i], out_dtypes[i]);
                  args[i] = py::cast(g);
                }
                py::object r = (*static_cast<py::object*>(fn.get()))(*args);
                py::tuple rt = py::isinstance<py::tuple>(r) ? r.cast<py::tuple>() : py::make_tuple(r);
                if (rt.size() != n_in)
                  throw ember::Error(ember::str_cat("function ", name, " returned an incorrect number of gradients (expected ",
                                                    n_in, ", got ", rt.size(), ")"));
                GradList out(n_in);
                for (size_t i = 0; i < n_in; ++i) out[i] = rt[i].is_none() ? Tensor() : rt[i].cast<Tensor>();
                return out;
              });
          // The engine turns missing gradients into zeros for nodes that know their output
          // shapes; without materialize_grads the backward must see them as None.
          node->output_shapes = materialize_grads ? out_shapes : std::vector<ember::Shape>{};
          node->output_dtypes = materialize_grads ? out_dtypes : std::vector<ember::DType>{};
          return std::static_pointer_cast<Node>(node);
        });
}

}  // namespace ember_py

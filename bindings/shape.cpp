// Shape and view ops: ember.* functions and Tensor methods.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_shape(py::module_& m) {
  using namespace ember;
  // ---- shape
  def_tensor_method("view", [](const Tensor& x, py::args shape) {
    if (shape.size() == 1) {
      DType dt;
      if (dtype_from_py(shape[0], dt)) throw py::type_error("view(dtype) is not supported yet");
    }
    return ember::view(x, shape_from_args(shape, "view"));
  });
  def_tensor_method("reshape", [](const Tensor& x, py::args shape) { return ember::reshape(x, shape_from_args(shape, "reshape")); });
  def_tensor_method("expand", [](const Tensor& x, py::args shape) { return ember::expand(x, shape_from_args(shape, "expand")); });
  def_tensor_method("permute", [](const Tensor& x, py::args dims) { return ember::permute(x, shape_from_args(dims, "permute")); });
  def_tensor_method("transpose", &ember::transpose, py::arg("dim0"), py::arg("dim1"));
  def_tensor_method("t", &ember::t);
  def_tensor_method("unsqueeze", &ember::unsqueeze, py::arg("dim"));
  def_tensor_method("squeeze", [](const Tensor& x, py::handle dim) { return ember::squeeze(x, dims_from_py(dim)); },
                    py::arg("dim") = py::none());
  m.def("reshape", [](const Tensor& x, py::handle shape) { return ember::reshape(x, shape_from_py(shape, "reshape")); },
        py::arg("input"), py::arg("shape"));
  m.def("permute", [](const Tensor& x, py::handle dims) { return ember::permute(x, shape_from_py(dims, "permute")); },
        py::arg("input"), py::arg("dims"));
  m.def("transpose", &ember::transpose, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("t", &ember::t, py::arg("input"));
  m.def("unsqueeze", &ember::unsqueeze, py::arg("input"), py::arg("dim"));
  m.def("squeeze", [](const Tensor& x, py::handle dim) { return ember::squeeze(x, dims_from_py(dim)); },
        py::arg("input"), py::arg("dim") = py::none());

}

}  // namespace ember_py

// Free functions of ember._C (the ember.* op namespace) and the Tensor methods that call them.
// One line per op: argument conversion only.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_ops(py::module_& m) {
  using namespace ember;
  // ---- elementwise
  m.def("add", [](py::handle a, py::handle b, Scalar alpha) {
    return ember::add(operand_or_throw(a, "add"), operand_or_throw(b, "add"), alpha);
  }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  m.def("sub", [](py::handle a, py::handle b, Scalar alpha) {
    return ember::sub(operand_or_throw(a, "sub"), operand_or_throw(b, "sub"), alpha);
  }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  m.def("mul", [](py::handle a, py::handle b) { return ember::mul(operand_or_throw(a, "mul"), operand_or_throw(b, "mul")); },
        py::arg("input"), py::arg("other"));
  m.def("div", [](py::handle a, py::handle b) { return ember::div(operand_or_throw(a, "div"), operand_or_throw(b, "div")); },
        py::arg("input"), py::arg("other"));
  m.def("neg", &ember::neg, py::arg("input"));
  m.def("exp", &ember::exp, py::arg("input"));
  m.def("log", &ember::log, py::arg("input"));
  m.def("tanh", &ember::tanh, py::arg("input"));
  m.def("relu", &ember::relu, py::arg("input"));
  def_tensor_method("add", [](const Tensor& a, py::handle b, Scalar alpha) { return ember::add(a, operand_or_throw(b, "add"), alpha); },
                    py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("sub", [](const Tensor& a, py::handle b, Scalar alpha) { return ember::sub(a, operand_or_throw(b, "sub"), alpha); },
                    py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("mul", [](const Tensor& a, py::handle b) { return ember::mul(a, operand_or_throw(b, "mul")); }, py::arg("other"));
  def_tensor_method("div", [](const Tensor& a, py::handle b) { return ember::div(a, operand_or_throw(b, "div")); }, py::arg("other"));
  def_tensor_method("add_", [](Tensor& a, py::handle b, Scalar alpha) { return ember::add_(a, operand_or_throw(b, "add_"), alpha); },
                    py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("sub_", [](Tensor& a, py::handle b, Scalar alpha) {
    return ember::add_(a, operand_or_throw(b, "sub_"), Scalar(alpha.is_floating() ? -alpha.d : static_cast<double>(-alpha.i)));
  }, py::arg("other"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("mul_", [](Tensor& a, py::handle b) { return ember::mul_(a, operand_or_throw(b, "mul_")); }, py::arg("other"));
  def_tensor_method("neg", &ember::neg);
  def_tensor_method("exp", &ember::exp);
  def_tensor_method("log", &ember::log);
  def_tensor_method("tanh", &ember::tanh);
  def_tensor_method("relu", &ember::relu);

  // ---- reductions
  m.def("sum", [](const Tensor& x, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    return ember::sum(x, dims_from_py(dim), keepdim, dtype);
  }, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());
  m.def("mean", [](const Tensor& x, py::handle dim, bool keepdim) { return ember::mean(x, dims_from_py(dim), keepdim); },
        py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_tensor_method("sum", [](const Tensor& x, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    return ember::sum(x, dims_from_py(dim), keepdim, dtype);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());
  def_tensor_method("mean", [](const Tensor& x, py::handle dim, bool keepdim) { return ember::mean(x, dims_from_py(dim), keepdim); },
                    py::arg("dim") = py::none(), py::arg("keepdim") = false);

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

  // ---- linear algebra
  m.def("mm", &ember::mm, py::arg("input"), py::arg("mat2"));
  def_tensor_method("mm", &ember::mm, py::arg("mat2"));

  // ---- creation
  m.def("_empty", [](py::handle shape, DType dtype) { return ember::empty(shape_from_py(shape, "empty"), dtype); });
  m.def("_full", [](py::handle shape, Scalar v, DType dtype) { return ember::full(shape_from_py(shape, "full"), v, dtype); });
  m.def("_scalar_tensor", [](Scalar v, std::optional<DType> dtype) { return ember::scalar_tensor(v, dtype); });
  m.def("result_type", [](py::handle a, py::handle b) {
    return ember::result_type({operand_or_throw(a, "result_type"), operand_or_throw(b, "result_type")});
  });
}

}  // namespace ember_py

// Elementwise ops: ember.* functions and Tensor methods (argument conversion only).
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_elementwise(py::module_& m) {
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

}

}  // namespace ember_py

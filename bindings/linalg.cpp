// Linear algebra: ember.* functions, Tensor methods and the @ operator.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_linalg(py::module_& m) {
  using namespace ember;
  using release = py::call_guard<py::gil_scoped_release>;
  // ---- products
  m.def("mm", &ember::mm, py::arg("input"), py::arg("mat2"), release());
  m.def("bmm", &ember::bmm, py::arg("input"), py::arg("mat2"), release());
  m.def("matmul", &ember::matmul, py::arg("input"), py::arg("other"), release());
  m.def("mv", &ember::mv, py::arg("input"), py::arg("vec"));
  m.def("dot", &ember::dot, py::arg("input"), py::arg("tensor"));
  m.def("vdot", &ember::vdot, py::arg("input"), py::arg("other"));
  m.def("outer", &ember::outer, py::arg("input"), py::arg("vec2"));
  m.def("ger", &ember::outer, py::arg("input"), py::arg("vec2"));
  m.def("addmm", &ember::addmm, py::arg("input"), py::arg("mat1"), py::arg("mat2"), py::kw_only(),
        py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)), release());
  m.def("addmv", &ember::addmv, py::arg("input"), py::arg("mat"), py::arg("vec"), py::kw_only(),
        py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)));
  m.def("baddbmm", &ember::baddbmm, py::arg("input"), py::arg("batch1"), py::arg("batch2"), py::kw_only(),
        py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)), release());
  // x @ w.T + b in one GEMM (nn.functional.linear).
  m.def("_linear", &ember::linear, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), release());

  def_tensor_method("mm", &ember::mm, py::arg("mat2"), release());
  def_tensor_method("bmm", &ember::bmm, py::arg("mat2"), release());
  def_tensor_method("matmul", &ember::matmul, py::arg("other"), release());
  def_tensor_method("mv", &ember::mv, py::arg("vec"));
  def_tensor_method("dot", &ember::dot, py::arg("tensor"));
  def_tensor_method("vdot", &ember::vdot, py::arg("other"));
  def_tensor_method("outer", &ember::outer, py::arg("vec2"));
  def_tensor_method("ger", &ember::outer, py::arg("vec2"));
  def_tensor_method("addmm", &ember::addmm, py::arg("mat1"), py::arg("mat2"), py::kw_only(),
                    py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)), release());
  def_tensor_method("addmv", &ember::addmv, py::arg("mat"), py::arg("vec"), py::kw_only(),
                    py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("baddbmm", &ember::baddbmm, py::arg("batch1"), py::arg("batch2"), py::kw_only(),
                    py::arg("beta") = Scalar(int64_t(1)), py::arg("alpha") = Scalar(int64_t(1)), release());

  // The @ operator: only tensors (torch raises TypeError for numbers and other objects).
  auto matmul_operator = [](const Tensor& a, const Tensor& b, bool reflected) -> Tensor {
    py::gil_scoped_release nogil;
    return reflected ? ember::matmul(b, a) : ember::matmul(a, b);
  };
  auto as_tensor = [](py::handle h, Tensor& out) {
    py::detail::make_caster<Tensor> c;
    if (h.is_none() || !c.load(h, false)) return false;
    out = py::detail::cast_op<Tensor>(c);
    return true;
  };
  def_tensor_method("__matmul__", [=](const Tensor& a, py::handle other) -> py::object {
    Tensor b;
    if (!as_tensor(other, b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(matmul_operator(a, b, false));
  });
  def_tensor_method("__rmatmul__", [=](const Tensor& a, py::handle other) -> py::object {
    Tensor b;
    if (!as_tensor(other, b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(matmul_operator(a, b, true));
  });
}

}  // namespace ember_py

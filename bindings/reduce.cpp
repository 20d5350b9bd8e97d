// Reductions: ember.* functions and Tensor methods.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_reduce(py::module_& m) {
  using namespace ember;
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

}

}  // namespace ember_py

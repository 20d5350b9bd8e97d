// Linear algebra: ember.* functions and Tensor methods.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_linalg(py::module_& m) {
  using namespace ember;
  // ---- linear algebra
  m.def("mm", &ember::mm, py::arg("input"), py::arg("mat2"));
  def_tensor_method("mm", &ember::mm, py::arg("mat2"));

}

}  // namespace ember_py

// Tensor creation and random sampling.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_creation(py::module_& m) {
  using namespace ember;
  // ---- creation
  m.def("_empty", [](py::handle shape, DType dtype) { return ember::empty(shape_from_py(shape, "empty"), dtype); });
  m.def("_full", [](py::handle shape, Scalar v, DType dtype) { return ember::full(shape_from_py(shape, "full"), v, dtype); });
  m.def("_scalar_tensor", [](Scalar v, std::optional<DType> dtype) { return ember::scalar_tensor(v, dtype); });
  m.def("result_type", [](py::handle a, py::handle b) {
    return ember::result_type({operand_or_throw(a, "result_type"), operand_or_throw(b, "result_type")});
  });
}

}  // namespace ember_py

// Indexing: __getitem__/__setitem__, gather/scatter, sort/topk, ...
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_index(py::module_& m) {
  using namespace ember;
}

}  // namespace ember_py

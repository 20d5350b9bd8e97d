// numpy interop: zero-copy Tensor <-> ndarray.
#include <pybind11/numpy.h>
#include "common.h"

namespace ember_py {

using ember::DType;
using ember::Tensor;

static bool dtype_from_numpy(const py::dtype& d, DType& out) {
  char kind = d.kind();
  size_t size = d.itemsize();
  if (kind == 'b') { out = DType::Bool; return true; }
  if (kind == 'f' && size == 4) { out = DType::Float32; return true; }
  if (kind == 'f' && size == 8) { out = DType::Float64; return true; }
  if (kind == 'u' && size == 1) { out = DType::UInt8; return true; }
  if (kind == 'i') {
    switch (size) {
      case 1: out = DType::Int8; return true;
      case 2: out = DType::Int16; return true;
      case 4: out = DType::Int32; return true;
      case 8: out = DType::Int64; return true;
    }
  }
  return false;
}

static py::dtype numpy_dtype(DType t) {
  static const char* codes[] = {"?", "u1", "i1", "i2", "i4", "i8", "f4", "f8"};
  return py::dtype(codes[static_cast<int>(t)]);
}

// Keeps a Python object alive from C++ (the GIL is taken to release it).
std::shared_ptr<void> keep_alive(py::object o) {
  auto* p = new py::object(std::move(o));
  return std::shared_ptr<void>(p, [](void* q) {
    py::gil_scoped_acquire g;
    delete static_cast<py::object*>(q);
  });
}

Tensor from_numpy(py::array arr) {
  DType dt;
  if (!dtype_from_numpy(arr.dtype(), dt))
    throw py::type_error("can't convert np.ndarray of type " + std::string(py::str(arr.dtype())) +
                         ". The only supported types are: float64, float32, int64, int32, int16, int8, uint8, and bool.");
  if (arr.dtype().byteorder() == '>')
    throw py::type_error("given numpy array has byte order different from the native byte order.");
  int64_t nd = arr.ndim();
  size_t isz = ember::itemsize(dt);
  ember::Shape sizes(nd), strides(nd);
  int64_t max_off = 0;
  for (int64_t i = 0; i < nd; ++i) {
    sizes[i] = arr.shape(i);
    int64_t sb = arr.strides(i);
    if (sb < 0)
      throw py::value_error("At least one stride in the given numpy array is negative, and tensors with negative "
                            "strides are not currently supported. (You can probably work around this by making a "
                            "copy of your array  with array.copy().) ");
    if (sb % static_cast<int64_t>(isz) != 0)
      throw py::value_error("given numpy array strides not a multiple of the element byte size. Copy the numpy "
                            "array to reallocate the memory.");
    strides[i] = sb / static_cast<int64_t>(isz);
    if (sizes[i] > 0) max_off += (sizes[i] - 1) * strides[i];
  }
  if (!arr.writeable()) {
    // torch warns once per process and shares the read-only memory anyway.
    static bool warned = false;
    if (!warned) {
      warned = true;
      if (PyErr_WarnEx(PyExc_UserWarning,
                       "The given NumPy array is not writable, and ember does not support non-writable tensors. "
                       "This means writing to this tensor will result in undefined behavior. You may want to copy "
                       "the array to protect its data or make it writable before converting it to a tensor. This "
                       "type of warning will be suppressed for the rest of this program.", 1) != 0)
        throw py::error_already_set();
    }
  }
  bool empty = arr.size() == 0;
  size_t nbytes = empty ? 0 : static_cast<size_t>(max_off + 1) * isz;
  void* data = const_cast<void*>(arr.data());
  auto impl = std::make_shared<ember::TensorImpl>();
  impl->storage = ember::Storage::wrap(data, nbytes, keep_alive(arr));
  impl->sizes = sizes;
  impl->strides = strides;
  impl->dtype = dt;
  impl->inference = ember::inference_mode_enabled();
  return Tensor(std::move(impl));
}

void init_numpy(py::module_& m) {
  m.def("from_numpy", &from_numpy, py::arg("ndarray"));
  def_tensor_method("numpy", [](py::object self, bool force) {
    Tensor t = self.cast<Tensor>();
    if (t.requires_grad() && !force)
      throw ember::Error("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
    std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end());
    std::vector<py::ssize_t> strides;
    for (auto s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.element_size()));
    return py::array(numpy_dtype(t.dtype()), shape, strides, t.data_ptr(), self);
  }, py::kw_only(), py::arg("force") = false);
}

}  // namespace ember_py

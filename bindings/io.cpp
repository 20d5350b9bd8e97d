// Checkpoint helpers for ember.serialization and ember.io: storage identity and bytes, views
// over a loaded storage, and the safetensors reader/writer of the core.
#include <pybind11/numpy.h>
#include "common.h"

namespace ember_py {

using ember::Tensor;

static ember::NamedTensors named_tensors_from_py(const py::dict& d) {
  ember::NamedTensors out;
  for (auto item : d) {
    if (!PyUnicode_Check(item.first.ptr()))
      throw py::type_error("save_safetensors: keys must be strings, got " +
                           std::string(py::str(py::type::handle_of(item.first).attr("__name__"))));
    py::detail::make_caster<Tensor> c;
    if (item.second.is_none() || !c.load(item.second, false))
      throw py::type_error("save_safetensors: the value of '" + item.first.cast<std::string>() +
                           "' must be a Tensor, got " +
                           std::string(py::str(py::type::handle_of(item.second).attr("__name__"))));
    out.emplace_back(item.first.cast<std::string>(), py::detail::cast_op<Tensor>(c));
  }
  return out;
}

static std::map<std::string, std::string> metadata_from_py(const py::object& m) {
  std::map<std::string, std::string> out;
  if (m.is_none()) return out;
  if (!PyDict_Check(m.ptr())) throw py::type_error("save_safetensors: metadata must be a dict of str to str");
  for (auto item : m.cast<py::dict>()) {
    if (!PyUnicode_Check(item.first.ptr()) || !PyUnicode_Check(item.second.ptr()))
      throw py::type_error("save_safetensors: metadata must be a dict of str to str, got the entry " +
                           std::string(py::repr(item.first)) + ": " + std::string(py::repr(item.second)));
    out[item.first.cast<std::string>()] = item.second.cast<std::string>();
  }
  return out;
}

static py::tuple safetensors_to_py(ember::SafetensorsData&& data) {
  py::list tensors;
  for (auto& [name, t] : data.tensors) tensors.append(py::make_tuple(name, t));
  py::dict meta;
  for (auto& [k, v] : data.metadata) meta[py::str(k)] = py::str(v);
  return py::make_tuple(tensors, meta);
}

void init_io(py::module_& m) {
  // (identity, nbytes) of the storage under a tensor: views of one storage share the identity.
  m.def("_storage_info", [](const Tensor& t) {
    return py::make_tuple(reinterpret_cast<uintptr_t>(t.storage().get()), t.storage()->nbytes);
  });
  // All bytes of the storage under a tensor, as a uint8 array that keeps the tensor alive.
  m.def("_storage_bytes", [](py::object self) {
    Tensor t = self.cast<Tensor>();
    const auto& s = t.storage();
    std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(s->nbytes)};
    static unsigned char empty_byte = 0;
    void* data = s->data ? s->data : &empty_byte;
    return py::array(py::dtype("u1"), shape, {1}, data, self);
  });
  // A tensor of `dtype` over the storage of `base` (no copy, not an autograd view).
  m.def("_from_storage", [](const Tensor& base, ember::DType dtype, py::handle sizes, py::handle strides,
                            int64_t offset) {
    return ember::tensor_from_storage(base.storage(), dtype, shape_from_py(sizes, "_from_storage"),
                                      shape_from_py(strides, "_from_storage"), offset);
  });

  m.def("_save_safetensors", [](const py::dict& tensors, const std::string& path, const py::object& metadata) {
    auto named = named_tensors_from_py(tensors);
    auto meta = metadata_from_py(metadata);
    py::gil_scoped_release nogil;
    ember::save_safetensors(path, named, meta);
  });
  m.def("_load_safetensors", [](const std::string& path) {
    ember::SafetensorsData data;
    {
      py::gil_scoped_release nogil;
      data = ember::load_safetensors(path);
    }
    return safetensors_to_py(std::move(data));
  });
  m.def("_safetensors_serialize", [](const py::dict& tensors, const py::object& metadata) {
    std::string out = ember::safetensors_serialize(named_tensors_from_py(tensors), metadata_from_py(metadata));
    return py::bytes(out);
  });
  m.def("_safetensors_deserialize", [](py::buffer data) {
    py::buffer_info info = data.request();
    if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1)
      throw py::type_error("load_safetensors_bytes: expected a contiguous bytes-like object");
    ember::SafetensorsData out;
    {
      py::gil_scoped_release nogil;
      out = ember::safetensors_deserialize(info.ptr, static_cast<size_t>(info.size));
    }
    return safetensors_to_py(std::move(out));
  });
}

}  // namespace ember_py

// Argument conversion shared by the binding files: Tensor, DType, Scalar and shapes.
// No math lives here.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include "ember/ember.h"

namespace py = pybind11;

namespace ember_py {

// Singleton Python objects for ember.float32 etc. and the ember.Size class.
struct PyDType {
  ember::DType t;
};
py::object dtype_object(ember::DType t);
bool dtype_from_py(py::handle h, ember::DType& out);  // ember.dtype, or float/int/bool
py::object size_object(const ember::Shape& s);        // ember.Size(...)

// Python number, bool or 0-dim/1-element numpy scalar -> Scalar. Returns false for other types.
bool scalar_from_py(py::handle h, ember::Scalar& out);
// Tensor or Python number (wrapped as a 0-dim scalar tensor) -> Tensor; false otherwise.
bool operand_from_py(py::handle h, ember::Tensor& out);
// A shape given as varargs ints, one tuple/list/Size, or a torch-like Size.
ember::Shape shape_from_args(const py::args& args, const char* fn);
ember::Shape shape_from_py(py::handle h, const char* fn);
// Dims argument: None, int, or sequence of ints.
ember::OptDims dims_from_py(py::handle h);

// The Python class ember.Tensor; binding files add methods to it with def_tensor_method.
py::object tensor_class();
template <typename F, typename... Extra>
void def_tensor_method(const char* name, F&& f, const Extra&... extra) {
  py::object cls = tensor_class();
  py::cpp_function cf(std::forward<F>(f), py::name(name), py::is_method(cls),
                      py::sibling(py::getattr(cls, name, py::none())), extra...);
  py::setattr(cls, name, cf);
}

// Python operand -> Tensor or a TypeError naming the argument.
inline ember::Tensor operand_or_throw(py::handle h, const char* fn) {
  ember::Tensor t;
  if (!operand_from_py(h, t))
    throw py::type_error(std::string(fn) + "(): argument 'other' must be Tensor or Number, not " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return t;
}

}  // namespace ember_py

namespace pybind11 {
namespace detail {

// ember::Tensor <-> the Python class wrapping std::shared_ptr<TensorImpl>. Returning a
// tensor whose impl already has a Python object returns that object (so `x.grad is x.grad`).
template <>
struct type_caster<ember::Tensor> {
 public:
  PYBIND11_TYPE_CASTER(ember::Tensor, const_name("Tensor"));
  bool load(handle src, bool convert) {
    if (src.is_none()) { value = ember::Tensor(); return true; }
    copyable_holder_caster<ember::TensorImpl, std::shared_ptr<ember::TensorImpl>> c;
    if (!c.load(src, convert)) return false;
    value = ember::Tensor(static_cast<std::shared_ptr<ember::TensorImpl>>(c));
    return true;
  }
  static handle cast(const ember::Tensor& src, return_value_policy, handle) {
    if (!src.defined()) return none().release();
    return copyable_holder_caster<ember::TensorImpl, std::shared_ptr<ember::TensorImpl>>::cast(
        src.impl_ptr(), return_value_policy::take_ownership, handle());
  }
};

template <>
struct type_caster<ember::DType> {
 public:
  PYBIND11_TYPE_CASTER(ember::DType, const_name("dtype"));
  bool load(handle src, bool) { return ember_py::dtype_from_py(src, value); }
  static handle cast(ember::DType t, return_value_policy, handle) { return ember_py::dtype_object(t).release(); }
};

template <>
struct type_caster<ember::Scalar> {
 public:
  PYBIND11_TYPE_CASTER(ember::Scalar, const_name("Number"));
  bool load(handle src, bool) { return ember_py::scalar_from_py(src, value); }
  static handle cast(const ember::Scalar& s, return_value_policy, handle) {
    if (s.kind == ember::Scalar::Kind::Float) return PyFloat_FromDouble(s.d);
    if (s.kind == ember::Scalar::Kind::Bool) return PyBool_FromLong(s.i);
    return PyLong_FromLongLong(s.i);
  }
};

}  // namespace detail
}  // namespace pybind11

// ember._C: module assembly, error mapping, dtype objects and argument helpers.
#include <pybind11/numpy.h>
#include "common.h"

namespace ember_py {

void init_tensor(py::module_& m);
void init_elementwise(py::module_& m);
void init_reduce(py::module_& m);
void init_shape(py::module_& m);
void init_linalg(py::module_& m);
void init_index(py::module_& m);
void init_creation(py::module_& m);
void init_autograd(py::module_& m);
void init_numpy(py::module_& m);
void init_optim(py::module_& m);
void init_dlpack(py::module_& m);
void init_nn(py::module_& m);
void init_nn_loss(py::module_& m);
void init_nn_rnn(py::module_& m);
void init_io(py::module_& m);
void init_nn_conv(py::module_& m);
void init_nn_pool(py::module_& m);
void init_nn_norm(py::module_& m);

// Raw, intentionally leaked references: static py::objects would be released after the
// interpreter is gone.
static PyObject* g_dtype_objects[ember::kNumDTypes];
static PyObject* g_size_class = nullptr;

py::object dtype_object(ember::DType t) {
  return py::reinterpret_borrow<py::object>(g_dtype_objects[static_cast<int>(t)]);
}

bool dtype_from_py(py::handle h, ember::DType& out) {
  if (py::isinstance<PyDType>(h)) {
    out = h.cast<PyDType&>().t;
    return true;
  }
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) { out = ember::DType::Float64; return true; }
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) { out = ember::DType::Int64; return true; }
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) { out = ember::DType::Bool; return true; }
  return false;
}

py::object size_object(const ember::Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) PyTuple_SET_ITEM(t.ptr(), i, PyLong_FromLongLong(s[i]));
  if (!g_size_class) return std::move(t);
  PyObject* r = PyObject_CallOneArg(g_size_class, t.ptr());
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

bool scalar_from_py(py::handle h, ember::Scalar& out) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) { out = ember::Scalar(o == Py_True); return true; }
  if (PyLong_Check(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) throw py::value_error("value cannot be converted to type int64 without overflow");
    out = ember::Scalar(static_cast<int64_t>(v));
    return true;
  }
  if (PyFloat_Check(o)) { out = ember::Scalar(PyFloat_AS_DOUBLE(o)); return true; }
  // numpy scalars
  if (py::hasattr(h, "dtype") && py::hasattr(h, "item") && !py::hasattr(h, "__dlpack_device__")) {
    py::object v = h.attr("item")();
    if (PyBool_Check(v.ptr()) || PyLong_Check(v.ptr()) || PyFloat_Check(v.ptr())) return scalar_from_py(v, out);
  }
  return false;
}

bool operand_from_py(py::handle h, ember::Tensor& out) {
  py::detail::make_caster<ember::Tensor> c;
  if (!h.is_none() && c.load(h, false)) { out = py::detail::cast_op<ember::Tensor>(c); return true; }
  ember::Scalar s;
  if (scalar_from_py(h, s)) { out = ember::wrapped_scalar(s); return true; }
  return false;
}

static int64_t index_int(py::handle h, const char* fn) {
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return PyLong_AsLongLong(h.ptr());
  if (py::hasattr(h, "__index__")) return h.attr("__index__")().cast<int64_t>();
  throw py::type_error(std::string(fn) + "(): argument 'size' must be tuple of ints, but found element of type " +
                       std::string(py::str(py::type::handle_of(h).attr("__name__"))));
}

ember::Shape shape_from_py(py::handle h, const char* fn) {
  ember::Shape s;
  if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) {
    for (auto item : h) s.push_back(index_int(item, fn));
    return s;
  }
  s.push_back(index_int(h, fn));
  return s;
}

ember::Shape shape_from_args(const py::args& args, const char* fn) {
  if (args.size() == 1 && (PyTuple_Check(args[0].ptr()) || PyList_Check(args[0].ptr())))
    return shape_from_py(args[0], fn);
  ember::Shape s;
  for (auto a : args) s.push_back(index_int(a, fn));
  return s;
}

ember::OptDims dims_from_py(py::handle h) {
  if (h.is_none()) return std::nullopt;
  std::vector<int64_t> d;
  if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) {
    for (auto item : h) d.push_back(index_int(item, "dim"));
    return d;
  }
  d.push_back(index_int(h, "dim"));
  return d;
}

}  // namespace ember_py

using namespace ember_py;

PYBIND11_MODULE(_C, m) {
  m.doc() = "ember core";
  ember::tune_allocator();

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ember::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const ember::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const ember::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const ember::NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const ember::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<PyDType>(m, "dtype")
      .def_property_readonly("is_floating_point", [](const PyDType& d) { return ember::is_floating(d.t); })
      .def_property_readonly("is_signed", [](const PyDType& d) {
        return d.t != ember::DType::Bool && d.t != ember::DType::UInt8;
      })
      .def_property_readonly("itemsize", [](const PyDType& d) { return ember::itemsize(d.t); })
      .def("__repr__", [](const PyDType& d) { return std::string("ember.") + ember::dtype_name(d.t); })
      .def("__reduce__", [](const PyDType& d) { return std::string(ember::dtype_name(d.t)); })
      .def_property_readonly("_index", [](const PyDType& d) { return static_cast<int>(d.t); });
  for (int i = 0; i < ember::kNumDTypes; ++i) {
    auto t = static_cast<ember::DType>(i);
    g_dtype_objects[i] = py::cast(PyDType{t}, py::return_value_policy::move).release().ptr();
    m.attr(ember::dtype_name(t)) = dtype_object(t);
  }
  m.def("_set_size_class", [](py::object cls) { g_size_class = cls.release().ptr(); });
  m.def("get_num_threads", &ember::get_num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("set_num_threads expects a positive integer");
    ember::set_num_threads(n);
  });
  m.def("get_default_dtype", &ember::default_dtype);
  m.def("set_default_dtype", &ember::set_default_dtype);
  m.def("promote_types", &ember::promote_types);

  init_tensor(m);
  init_elementwise(m);
  init_reduce(m);
  init_shape(m);
  init_linalg(m);
  init_index(m);
  init_creation(m);
  init_autograd(m);
  init_numpy(m);
  init_optim(m);
  init_dlpack(m);
  init_nn(m);
  init_nn_loss(m);
  init_nn_rnn(m);
  init_io(m);
  init_nn_conv(m);
  init_nn_pool(m);
  init_nn_norm(m);

}

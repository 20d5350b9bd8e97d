// Shape and view ops: ember.* functions and Tensor methods.
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

namespace {

// A tuple/list of tensors (cat, stack, ...); TypeError names the function otherwise.
std::vector<Tensor> tensors_from_py(py::handle h, const char* fn) {
  if (!PyTuple_Check(h.ptr()) && !PyList_Check(h.ptr()))
    throw py::type_error(std::string(fn) + "(): argument 'tensors' (position 1) must be tuple of Tensors, not " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  std::vector<Tensor> out;
  size_t i = 0;
  for (auto item : h) {
    py::detail::make_caster<Tensor> c;
    if (item.is_none() || !c.load(item, false))
      throw py::type_error(std::string(fn) + "(): expected Tensor as element " + std::to_string(i) +
                           " in argument 0, but got " + std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    out.push_back(py::detail::cast_op<Tensor>(c));
    ++i;
  }
  return out;
}

py::tuple to_tuple(const std::vector<Tensor>& xs) {
  py::tuple t(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) t[i] = py::cast(xs[i]);
  return t;
}

bool is_sequence(py::handle h) { return PyTuple_Check(h.ptr()) || PyList_Check(h.ptr()); }

// An int, or a sequence of ints (shape_from_py accepts both).
std::vector<int64_t> ints_from_py(py::handle h, const char* fn) { return shape_from_py(h, fn); }

// Varargs ints or one sequence: flip(0, 1) / flip((0, 1)) / repeat(2, 3) / repeat((2, 3)).
std::vector<int64_t> ints_from_args(const py::args& args, const char* fn) { return shape_from_args(args, fn); }

py::object split_py(const Tensor& x, py::handle split_size_or_sections, int64_t dim) {
  if (is_sequence(split_size_or_sections))
    return to_tuple(ember::split_with_sizes(x, shape_from_py(split_size_or_sections, "split"), dim));
  return to_tuple(ember::split(x, split_size_or_sections.cast<int64_t>(), dim));
}

py::object tensor_split_py(const Tensor& x, py::handle sections, int64_t dim) {
  py::detail::make_caster<Tensor> c;
  if (!sections.is_none() && !PyLong_Check(sections.ptr()) && c.load(sections, false)) {
    Tensor s = py::detail::cast_op<Tensor>(c);
    if (ember::is_floating(s.dtype()) || s.dtype() == ember::DType::Bool || s.dim() > 1)
      throw py::type_error("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                           "one-dimensional tensor, but got a tensor with " + std::to_string(s.dim()) + " dims");
    if (s.dim() == 0) return to_tuple(ember::tensor_split(x, s.item<int64_t>(), dim));
    std::vector<int64_t> idx;
    Tensor s64 = ember::to_dtype(s, ember::DType::Int64);
    for (int64_t i = 0; i < s64.numel(); ++i) idx.push_back(s64.data<int64_t>()[i * s64.strides()[0]]);
    return to_tuple(ember::tensor_split(x, idx, dim));
  }
  if (is_sequence(sections)) return to_tuple(ember::tensor_split(x, shape_from_py(sections, "tensor_split"), dim));
  return to_tuple(ember::tensor_split(x, sections.cast<int64_t>(), dim));
}

Tensor squeeze_py(const Tensor& x, py::handle dim) {
  if (dim.is_none()) return ember::squeeze(x);
  if (is_sequence(dim)) return ember::squeeze(x, dims_from_py(dim));
  return ember::squeeze(x, dim.cast<int64_t>());
}

Tensor movedim_py(const Tensor& x, py::handle source, py::handle destination) {
  return ember::movedim(x, ints_from_py(source, "movedim"), ints_from_py(destination, "movedim"));
}

Tensor roll_py(const Tensor& x, py::handle shifts, py::handle dims) {
  std::vector<int64_t> d;
  if (!dims.is_none()) d = ints_from_py(dims, "roll");
  return ember::roll(x, ints_from_py(shifts, "roll"), d);
}

// A read-only property on ember.Tensor implemented by `f`.
template <typename F>
void def_tensor_property(const char* name, F&& f) {
  py::object cls = tensor_class();
  py::cpp_function getter(std::forward<F>(f), py::is_method(cls));
  py::setattr(cls, name, py::module_::import("builtins").attr("property")(getter));
}

}  // namespace

void init_shape(py::module_& m) {
  using namespace ember;
  // ---- views
  def_tensor_method("view", [](const Tensor& x, py::args shape) {
    if (shape.size() == 1) {
      DType dt;
      if (dtype_from_py(shape[0], dt)) throw py::type_error("view(dtype) is not supported yet");
    }
    return ember::view(x, shape_from_args(shape, "view"));
  });
  def_tensor_method("view_as", [](const Tensor& x, const Tensor& other) { return ember::view(x, other.sizes()); },
                    py::arg("other"));
  def_tensor_method("reshape", [](const Tensor& x, py::args shape) { return ember::reshape(x, shape_from_args(shape, "reshape")); });
  def_tensor_method("reshape_as", [](const Tensor& x, const Tensor& other) { return ember::reshape(x, other.sizes()); },
                    py::arg("other"));
  def_tensor_method("expand", [](const Tensor& x, py::args shape) { return ember::expand(x, shape_from_args(shape, "expand")); });
  def_tensor_method("expand_as", &ember::expand_as, py::arg("other"));
  def_tensor_method("permute", [](const Tensor& x, py::args dims) { return ember::permute(x, shape_from_args(dims, "permute")); });
  def_tensor_method("transpose", &ember::transpose, py::arg("dim0"), py::arg("dim1"));
  def_tensor_method("swapaxes", &ember::transpose, py::arg("axis0"), py::arg("axis1"));
  def_tensor_method("swapdims", &ember::transpose, py::arg("dim0"), py::arg("dim1"));
  def_tensor_method("t", &ember::t);
  def_tensor_property("T", &ember::reverse_dims);
  def_tensor_property("mT", &ember::matrix_transpose);
  def_tensor_method("movedim", &movedim_py, py::arg("source"), py::arg("destination"));
  def_tensor_method("moveaxis", &movedim_py, py::arg("source"), py::arg("destination"));
  def_tensor_method("unsqueeze", &ember::unsqueeze, py::arg("dim"));
  def_tensor_method("squeeze", &squeeze_py, py::arg("dim") = py::none());
  def_tensor_method("flatten", &ember::flatten, py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  def_tensor_method("unflatten", [](const Tensor& x, int64_t dim, py::handle sizes) {
    return ember::unflatten(x, dim, shape_from_py(sizes, "unflatten"));
  }, py::arg("dim"), py::arg("sizes"));
  def_tensor_method("narrow", &ember::narrow, py::arg("dim"), py::arg("start"), py::arg("length"));
  def_tensor_method("select", &ember::select, py::arg("dim"), py::arg("index"));
  def_tensor_method("chunk", [](const Tensor& x, int64_t chunks, int64_t dim) { return to_tuple(ember::chunk(x, chunks, dim)); },
                    py::arg("chunks"), py::arg("dim") = 0);
  def_tensor_method("split", &split_py, py::arg("split_size"), py::arg("dim") = 0);
  def_tensor_method("unbind", [](const Tensor& x, int64_t dim) { return to_tuple(ember::unbind(x, dim)); },
                    py::arg("dim") = 0);
  def_tensor_method("tensor_split", &tensor_split_py, py::arg("indices_or_sections"), py::arg("dim") = 0);
  def_tensor_method("repeat", [](const Tensor& x, py::args repeats) {
    if (repeats.size() == 0) throw py::type_error("repeat() missing 1 required positional arguments: \"repeats\"");
    return ember::repeat(x, ints_from_args(repeats, "repeat"));
  });
  def_tensor_method("tile", [](const Tensor& x, py::args dims) { return ember::tile(x, ints_from_args(dims, "tile")); });
  def_tensor_method("flip", [](const Tensor& x, py::args dims) { return ember::flip(x, ints_from_args(dims, "flip")); });
  def_tensor_method("roll", &roll_py, py::arg("shifts"), py::arg("dims") = py::none());

  m.def("reshape", [](const Tensor& x, py::handle shape) { return ember::reshape(x, shape_from_py(shape, "reshape")); },
        py::arg("input"), py::arg("shape"));
  m.def("permute", [](const Tensor& x, py::handle dims) { return ember::permute(x, shape_from_py(dims, "permute")); },
        py::arg("input"), py::arg("dims"));
  m.def("transpose", &ember::transpose, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("swapaxes", &ember::transpose, py::arg("input"), py::arg("axis0"), py::arg("axis1"));
  m.def("swapdims", &ember::transpose, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("t", &ember::t, py::arg("input"));
  m.def("movedim", &movedim_py, py::arg("input"), py::arg("source"), py::arg("destination"));
  m.def("moveaxis", &movedim_py, py::arg("input"), py::arg("source"), py::arg("destination"));
  m.def("unsqueeze", &ember::unsqueeze, py::arg("input"), py::arg("dim"));
  m.def("squeeze", &squeeze_py, py::arg("input"), py::arg("dim") = py::none());
  m.def("flatten", &ember::flatten, py::arg("input"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  m.def("unflatten", [](const Tensor& x, int64_t dim, py::handle sizes) {
    return ember::unflatten(x, dim, shape_from_py(sizes, "unflatten"));
  }, py::arg("input"), py::arg("dim"), py::arg("sizes"));
  m.def("narrow", &ember::narrow, py::arg("input"), py::arg("dim"), py::arg("start"), py::arg("length"));
  m.def("select", &ember::select, py::arg("input"), py::arg("dim"), py::arg("index"));
  m.def("chunk", [](const Tensor& x, int64_t chunks, int64_t dim) { return to_tuple(ember::chunk(x, chunks, dim)); },
        py::arg("input"), py::arg("chunks"), py::arg("dim") = 0);
  m.def("split", &split_py, py::arg("tensor"), py::arg("split_size_or_sections"), py::arg("dim") = 0);
  m.def("unbind", [](const Tensor& x, int64_t dim) { return to_tuple(ember::unbind(x, dim)); },
        py::arg("input"), py::arg("dim") = 0);
  m.def("tensor_split", &tensor_split_py, py::arg("input"), py::arg("indices_or_sections"), py::arg("dim") = 0);
  m.def("tile", [](const Tensor& x, py::handle dims) { return ember::tile(x, ints_from_py(dims, "tile")); },
        py::arg("input"), py::arg("dims"));
  m.def("flip", [](const Tensor& x, py::handle dims) { return ember::flip(x, ints_from_py(dims, "flip")); },
        py::arg("input"), py::arg("dims"));
  m.def("roll", &roll_py, py::arg("input"), py::arg("shifts"), py::arg("dims") = py::none());

  // ---- joining
  auto cat_py = [](py::handle tensors, int64_t dim) { return ember::cat(tensors_from_py(tensors, "cat"), dim); };
  m.def("cat", cat_py, py::arg("tensors"), py::arg("dim") = 0);
  m.def("concat", cat_py, py::arg("tensors"), py::arg("dim") = 0);
  m.def("concatenate", cat_py, py::arg("tensors"), py::arg("axis") = 0);
  m.def("stack", [](py::handle tensors, int64_t dim) { return ember::stack(tensors_from_py(tensors, "stack"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
  m.def("hstack", [](py::handle tensors) { return ember::hstack(tensors_from_py(tensors, "hstack")); },
        py::arg("tensors"));
  m.def("vstack", [](py::handle tensors) { return ember::vstack(tensors_from_py(tensors, "vstack")); },
        py::arg("tensors"));
}

}  // namespace ember_py

// Reductions: ember.* functions and Tensor methods (argument conversion only).
#include <cmath>
#include "common.h"

namespace ember_py {

using ember::DType;
using ember::OptDims;
using ember::Tensor;

namespace {

// torch.return_types.max / min: named tuples with .values and .indices.
PyObject* g_max_type = nullptr;
PyObject* g_min_type = nullptr;

py::object values_indices(PyObject* type, const std::pair<Tensor, Tensor>& r) {
  return py::reinterpret_borrow<py::object>(type)(r.first, r.second);
}

std::optional<int64_t> opt_dim(py::handle h) {
  if (h.is_none()) return std::nullopt;
  auto d = dims_from_py(h);
  if (d->size() != 1) throw py::type_error("dim must be an int");
  return (*d)[0];
}

// max(input), max(input, dim, keepdim), max(input, other): the binary form is maximum/minimum.
py::object extreme(const char* name, const char* binary, PyObject* type, const Tensor& x, py::handle dim,
                   bool keepdim) {
  if (dim.is_none()) return py::cast(std::string(name) == "max" ? ember::max(x) : ember::min(x));
  Tensor other;
  if (py::detail::make_caster<Tensor>().load(dim, false)) {
    py::module_ ember_mod = py::module_::import("ember");
    if (!py::hasattr(ember_mod, binary))
      throw ember::NotImplementedError(std::string(name) + "(input, other) needs ember." + binary +
                                       ", which is not available in this build");
    return ember_mod.attr(binary)(x, dim);
  }
  if (!PyLong_Check(dim.ptr()) && !py::hasattr(dim, "__index__"))
    throw py::type_error(std::string(name) + "() received an invalid combination of arguments - got (Tensor, " +
                         std::string(py::str(py::type::handle_of(dim).attr("__name__"))) + ")");
  int64_t d = py::int_(py::reinterpret_borrow<py::object>(dim)).cast<int64_t>();
  auto r = std::string(name) == "max" ? ember::max(x, d, keepdim) : ember::min(x, d, keepdim);
  return values_indices(type, r);
}

// std/var arguments: (dim, unbiased, keepdim, *, correction), where a bool in dim's place is
// the legacy `unbiased` (torch.std(x, False)).
struct VarArgs {
  OptDims dims;
  double correction = 1;
};
VarArgs var_args(const char* name, py::handle dim, py::handle unbiased, py::handle correction) {
  VarArgs a;
  py::handle unb = unbiased;
  if (PyBool_Check(dim.ptr())) {
    unb = dim;
  } else {
    a.dims = dims_from_py(dim);
  }
  if (!unb.is_none() && !correction.is_none())
    throw py::type_error(std::string(name) + "() received an invalid combination of arguments - got both 'unbiased' and 'correction'");
  if (!unb.is_none()) a.correction = unb.cast<bool>() ? 1 : 0;
  if (!correction.is_none()) a.correction = correction.cast<double>();
  return a;
}

// norm's p: a number, 'fro' (the 2-norm over at most two dims) or 'nuc' (not supported).
double norm_p(py::handle p, const OptDims& dims) {
  if (py::isinstance<py::str>(p)) {
    std::string s = p.cast<std::string>();
    if (s == "fro") {
      if (dims && dims->size() > 2) {
        std::string got;
        for (auto d : *dims) got += " " + std::to_string(d);
        throw ember::Error("linalg.matrix_norm: dim must be a 2-tuple. Got" + got);
      }
      return 2;
    }
    if (s == "nuc") throw ember::NotImplementedError("norm: the nuclear norm ('nuc') is not implemented");
    throw py::value_error("norm: unsupported norm type '" + s + "'");
  }
  if (p.is_none()) return 2;
  return p.cast<double>();
}

// Binds fn as ember.name(input, ...) and as Tensor.name(...).
template <typename F, typename... Args>
void def_both(py::module_& m, const char* name, F fn, const Args&... args) {
  m.def(name, fn, py::arg("input"), args...);
  def_tensor_method(name, fn, args...);
}

}  // namespace

void init_reduce(py::module_& m) {
  using namespace ember;
  auto dim_none = py::arg("dim") = py::none();
  auto keepdim = py::arg("keepdim") = false;
  auto dtype_none = py::arg("dtype") = py::none();

  py::module_ rt = m.def_submodule("return_types", "Named tuples returned by ops such as max(dim).");
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  for (auto [name, slot] : {std::pair<const char*, PyObject**>{"max", &g_max_type}, {"min", &g_min_type}}) {
    py::object t = namedtuple(name, py::make_tuple("values", "indices"));
    t.attr("__module__") = "ember.return_types";
    t.attr("__qualname__") = name;
    rt.attr(name) = t;
    *slot = t.release().ptr();
  }

  def_both(m, "sum", [](const Tensor& x, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    return ember::sum(x, dims_from_py(dim), keepdim, dtype);
  }, dim_none, keepdim, py::kw_only(), dtype_none);
  def_both(m, "mean", [](const Tensor& x, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    return ember::mean(x, dims_from_py(dim), keepdim, dtype);
  }, dim_none, keepdim, py::kw_only(), dtype_none);
  def_both(m, "prod", [](const Tensor& x, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    return ember::prod(x, opt_dim(dim), keepdim, dtype);
  }, dim_none, keepdim, py::kw_only(), dtype_none);
  def_both(m, "amax", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::amax(x, dims_from_py(dim), keepdim);
  }, py::arg("dim") = py::tuple(), keepdim);
  def_both(m, "amin", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::amin(x, dims_from_py(dim), keepdim);
  }, py::arg("dim") = py::tuple(), keepdim);
  def_both(m, "max", [](const Tensor& x, py::handle dim, bool keepdim) {
    return extreme("max", "maximum", g_max_type, x, dim, keepdim);
  }, dim_none, keepdim);
  def_both(m, "min", [](const Tensor& x, py::handle dim, bool keepdim) {
    return extreme("min", "minimum", g_min_type, x, dim, keepdim);
  }, dim_none, keepdim);
  def_both(m, "argmax", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::argmax(x, opt_dim(dim), keepdim);
  }, dim_none, keepdim);
  def_both(m, "argmin", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::argmin(x, opt_dim(dim), keepdim);
  }, dim_none, keepdim);
  def_both(m, "all", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::all(x, dims_from_py(dim), keepdim);
  }, dim_none, keepdim);
  def_both(m, "any", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::any(x, dims_from_py(dim), keepdim);
  }, dim_none, keepdim);
  def_both(m, "var", [](const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
    VarArgs a = var_args("var", dim, unbiased, correction);
    return ember::var(x, a.dims, a.correction, keepdim);
  }, dim_none, py::arg("unbiased") = py::none(), keepdim, py::kw_only(), py::arg("correction") = py::none());
  def_both(m, "std", [](const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
    VarArgs a = var_args("std", dim, unbiased, correction);
    return ember::stddev(x, a.dims, a.correction, keepdim);
  }, dim_none, py::arg("unbiased") = py::none(), keepdim, py::kw_only(), py::arg("correction") = py::none());
  m.def("var_mean", [](const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
    VarArgs a = var_args("var_mean", dim, unbiased, correction);
    auto r = ember::var_mean(x, a.dims, a.correction, keepdim);
    return py::make_tuple(r.first, r.second);
  }, py::arg("input"), dim_none, py::arg("unbiased") = py::none(), keepdim, py::kw_only(), py::arg("correction") = py::none());
  m.def("std_mean", [](const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
    VarArgs a = var_args("std_mean", dim, unbiased, correction);
    auto r = ember::std_mean(x, a.dims, a.correction, keepdim);
    return py::make_tuple(r.first, r.second);
  }, py::arg("input"), dim_none, py::arg("unbiased") = py::none(), keepdim, py::kw_only(), py::arg("correction") = py::none());
  def_both(m, "norm", [](const Tensor& x, py::handle p, py::handle dim, bool keepdim, std::optional<DType> dtype) {
    OptDims dims = dims_from_py(dim);
    return ember::norm(x, norm_p(p, dims), dims, keepdim, dtype);
  }, py::arg("p") = "fro", dim_none, keepdim, dtype_none);
  def_both(m, "logsumexp", [](const Tensor& x, py::handle dim, bool keepdim) {
    return ember::logsumexp(x, dims_from_py(dim), keepdim);
  }, py::arg("dim"), keepdim);
  def_both(m, "cumsum", [](const Tensor& x, int64_t dim, std::optional<DType> dtype) {
    return ember::cumsum(x, dim, dtype);
  }, py::arg("dim"), py::kw_only(), dtype_none);
  def_both(m, "cumprod", [](const Tensor& x, int64_t dim, std::optional<DType> dtype) {
    return ember::cumprod(x, dim, dtype);
  }, py::arg("dim"), py::kw_only(), dtype_none);
  def_both(m, "softmax", [](const Tensor& x, int64_t dim, std::optional<DType> dtype) {
    return ember::softmax(x, dim, dtype);
  }, py::arg("dim"), dtype_none);
  def_both(m, "log_softmax", [](const Tensor& x, int64_t dim, std::optional<DType> dtype) {
    return ember::log_softmax(x, dim, dtype);
  }, py::arg("dim"), dtype_none);
}

}  // namespace ember_py

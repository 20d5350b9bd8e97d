// Indexing: __getitem__/__setitem__ (the Python key converted to an ember::IndexList here),
// gather/scatter, masks, sort/topk.
#include "common.h"

namespace ember_py {

using ember::IndexList;
using ember::Scalar;
using ember::Tensor;
using ember::TensorIndex;

namespace {

bool is_tensor(py::handle h) { return PyObject_IsInstance(h.ptr(), tensor_class().ptr()) == 1; }

// Nested lists, tuples and arrays become tensors with ember.tensor's dtype rules.
Tensor sequence_to_tensor(py::handle seq) {
  static PyObject* fn = py::object(py::module_::import("ember._creation").attr("tensor")).release().ptr();
  return py::reinterpret_borrow<py::object>(fn)(seq).cast<Tensor>();
}

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

TensorIndex item_from_py(py::handle obj) {
  PyObject* o = obj.ptr();
  if (PyBool_Check(o)) return TensorIndex::boolean(o == Py_True);
  if (PyLong_Check(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) throw py::value_error("Overflow when unpacking long long");
    return TensorIndex::integer(v);
  }
  if (PySlice_Check(o)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw py::error_already_set();
    if (step < 0) throw py::value_error("step must be greater than zero");
    return TensorIndex::slice(start, stop, step);
  }
  if (o == Py_None) return TensorIndex::none();
  if (o == Py_Ellipsis) return TensorIndex::ellipsis();
  if (is_tensor(obj)) return TensorIndex::of(obj.cast<Tensor>());
  if (PySequence_Check(o)) return TensorIndex::of(sequence_to_tensor(obj));
  PyObject* idx = PyNumber_Index(o);  // numpy integers and other __index__ objects
  if (!idx) {
    PyErr_Clear();
    throw py::index_error("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                          "valid indices (got " + type_name(obj) + ")");
  }
  auto holder = py::reinterpret_steal<py::object>(idx);
  return item_from_py(holder);
}

// numpy's (and torch's) rule: a short non-tuple sequence holding slices, None, Ellipsis,
// tensors or sequences is a multi-dimensional index, not one index tensor.
bool sequence_is_tuple(py::handle key) {
  PyObject* o = key.ptr();
  if (PyTuple_Check(o)) return true;
  if (is_tensor(key) || PyObject_HasAttrString(o, "__array_interface__") || !PySequence_Check(o)) return false;
  Py_ssize_t n = PySequence_Size(o);
  if (n < 0) { PyErr_Clear(); return false; }
  if (n >= 32) return false;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* it = PySequence_GetItem(o, i);
    if (!it) { PyErr_Clear(); return false; }
    auto holder = py::reinterpret_steal<py::object>(it);
    if (is_tensor(holder) || PySequence_Check(it) || PySlice_Check(it) || it == Py_Ellipsis || it == Py_None)
      return true;
  }
  return false;
}

IndexList key_from_py(py::handle key) {
  IndexList list;
  if (PyLong_Check(key.ptr()) || PySlice_Check(key.ptr()) || !sequence_is_tuple(key)) {
    list.push_back(item_from_py(key));
    return list;
  }
  py::sequence seq = py::reinterpret_borrow<py::sequence>(key);
  list.reserve(seq.size());
  for (auto it : seq) list.push_back(item_from_py(it));
  return list;
}

Tensor value_from_py(py::handle v, const Tensor& self) {
  Tensor t;
  if (operand_from_py(v, t)) return t;
  throw py::type_error("can't assign a " + type_name(v) + " to a ember." + ember::legacy_type_name(self.dtype()));
}

// Python number or 0-dim tensor for masked_fill's value.
Tensor fill_value(py::handle v) {
  Tensor t;
  if (!operand_from_py(v, t))
    throw py::type_error("masked_fill(): argument 'value' must be Number or Tensor, not " + type_name(v));
  return t;
}

std::vector<Tensor> indices_from_py(py::handle h) {
  std::vector<Tensor> r;
  for (auto it : h) r.push_back(it.is_none() ? Tensor() : it.cast<Tensor>());
  return r;
}

std::string reduce_arg(const std::optional<std::string>& r) { return r.value_or(""); }

// scatter's 4th argument: a src tensor, or a number (positional, or given as value=).
template <typename TensorFn, typename ValueFn>
Tensor scatter_dispatch(py::handle src, py::handle value, const TensorFn& with_src, const ValueFn& with_value) {
  py::handle v = src.is_none() ? value : src;
  if (v.is_none()) throw py::type_error("scatter() missing 1 required argument: 'src' or 'value'");
  if (is_tensor(v)) return with_src(v.cast<Tensor>());
  Scalar s;
  if (!scalar_from_py(v, s))
    throw py::type_error("scatter(): argument 'src' must be Tensor or Number, not " + type_name(v));
  return with_value(s);
}

PyObject* g_sort_result = nullptr;
PyObject* g_topk_result = nullptr;

py::object pair_result(PyObject* type, const std::pair<Tensor, Tensor>& r) {
  return py::reinterpret_borrow<py::object>(type)(py::cast(r.first), py::cast(r.second));
}

py::tuple tensor_tuple(const std::vector<Tensor>& ts) {
  py::tuple t(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) t[i] = py::cast(ts[i]);
  return t;
}

}  // namespace

void init_index(py::module_& m) {
  using namespace ember;
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  g_sort_result = namedtuple("sort", py::make_tuple("values", "indices"), py::arg("module") = "ember.return_types")
                      .release().ptr();
  g_topk_result = namedtuple("topk", py::make_tuple("values", "indices"), py::arg("module") = "ember.return_types")
                      .release().ptr();
  m.attr("_sort_result") = py::reinterpret_borrow<py::object>(g_sort_result);
  m.attr("_topk_result") = py::reinterpret_borrow<py::object>(g_topk_result);

  // ---- subscripts
  def_tensor_method("__getitem__", [](const Tensor& x, py::handle key) {
    if (PyLong_Check(key.ptr()) && !PyBool_Check(key.ptr())) {
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(key.ptr(), &overflow);
      if (!overflow) return ember::get_item(x, {TensorIndex::integer(v)});
    }
    return ember::get_item(x, key_from_py(key));
  });
  def_tensor_method("__setitem__", [](Tensor& x, py::handle key, py::handle value) {
    ember::set_item(x, key_from_py(key), value_from_py(value, x));
  });

  // ---- index_select / index_add / index_put / take
  m.def("index_select", &ember::index_select, py::arg("input"), py::arg("dim"), py::arg("index"));
  def_tensor_method("index_select", &ember::index_select, py::arg("dim"), py::arg("index"));
  m.def("index_add", &ember::index_add, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("source"),
        py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("index_add", &ember::index_add, py::arg("dim"), py::arg("index"), py::arg("source"),
                    py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  def_tensor_method("index_add_", [](Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
    return ember::index_add_(x, dim, index, source, alpha);
  }, py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = Scalar(int64_t(1)));
  m.def("index_put", [](const Tensor& x, py::handle indices, const Tensor& values, bool accumulate) {
    return ember::index_put(x, indices_from_py(indices), values, accumulate);
  }, py::arg("input"), py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  def_tensor_method("index_put", [](const Tensor& x, py::handle indices, const Tensor& values, bool accumulate) {
    return ember::index_put(x, indices_from_py(indices), values, accumulate);
  }, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  def_tensor_method("index_put_", [](Tensor& x, py::handle indices, const Tensor& values, bool accumulate) {
    return ember::index_put_(x, indices_from_py(indices), values, accumulate);
  }, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  m.def("take", &ember::take, py::arg("input"), py::arg("index"));
  def_tensor_method("take", &ember::take, py::arg("index"));

  // ---- gather / scatter
  m.def("gather", [](const Tensor& x, int64_t dim, const Tensor& index, bool) { return ember::gather(x, dim, index); },
        py::arg("input"), py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false);
  def_tensor_method("gather", [](const Tensor& x, int64_t dim, const Tensor& index, bool) {
    return ember::gather(x, dim, index);
  }, py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false);
  auto scatter_fn = [](const Tensor& x, int64_t dim, const Tensor& index, py::handle src, py::handle value,
                       std::optional<std::string> reduce) {
    return scatter_dispatch(
        src, value, [&](const Tensor& s) { return ember::scatter(x, dim, index, s, reduce_arg(reduce)); },
        [&](const Scalar& v) { return ember::scatter(x, dim, index, v, reduce_arg(reduce)); });
  };
  m.def("scatter", scatter_fn, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src") = py::none(),
        py::arg("value") = py::none(), py::kw_only(), py::arg("reduce") = py::none());
  def_tensor_method("scatter", scatter_fn, py::arg("dim"), py::arg("index"), py::arg("src") = py::none(),
                    py::arg("value") = py::none(), py::kw_only(), py::arg("reduce") = py::none());
  def_tensor_method("scatter_", [](Tensor& x, int64_t dim, const Tensor& index, py::handle src, py::handle value,
                                   std::optional<std::string> reduce) {
    return scatter_dispatch(
        src, value, [&](const Tensor& s) { return ember::scatter_(x, dim, index, s, reduce_arg(reduce)); },
        [&](const Scalar& v) { return ember::scatter_(x, dim, index, v, reduce_arg(reduce)); });
  }, py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::arg("value") = py::none(), py::kw_only(),
     py::arg("reduce") = py::none());
  m.def("scatter_add", &ember::scatter_add, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"));
  def_tensor_method("scatter_add", &ember::scatter_add, py::arg("dim"), py::arg("index"), py::arg("src"));
  def_tensor_method("scatter_add_", [](Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    return ember::scatter_add_(x, dim, index, src);
  }, py::arg("dim"), py::arg("index"), py::arg("src"));

  // ---- masks
  m.def("masked_fill", [](const Tensor& x, const Tensor& mask, py::handle value) {
    return ember::masked_fill(x, mask, fill_value(value));
  }, py::arg("input"), py::arg("mask"), py::arg("value"));
  def_tensor_method("masked_fill", [](const Tensor& x, const Tensor& mask, py::handle value) {
    return ember::masked_fill(x, mask, fill_value(value));
  }, py::arg("mask"), py::arg("value"));
  def_tensor_method("masked_fill_", [](Tensor& x, const Tensor& mask, py::handle value) {
    return ember::masked_fill_(x, mask, fill_value(value));
  }, py::arg("mask"), py::arg("value"));
  m.def("masked_select", &ember::masked_select, py::arg("input"), py::arg("mask"));
  def_tensor_method("masked_select", &ember::masked_select, py::arg("mask"));
  auto nonzero_fn = [](const Tensor& x, bool as_tuple) -> py::object {
    if (as_tuple) return tensor_tuple(ember::nonzero_tuple(x));
    return py::cast(ember::nonzero(x));
  };
  m.def("nonzero", nonzero_fn, py::arg("input"), py::kw_only(), py::arg("as_tuple") = false);
  def_tensor_method("nonzero", nonzero_fn, py::kw_only(), py::arg("as_tuple") = false);
  // where(condition): the one-argument form (the three-argument form is elementwise).
  m.def("where", [](const Tensor& cond) { return tensor_tuple(ember::nonzero_tuple(cond)); }, py::arg("condition"));

  // ---- sort / argsort / topk
  auto sort_fn = [](const Tensor& x, int64_t dim, bool descending, bool stable) {
    return pair_result(g_sort_result, ember::sort(x, dim, descending, stable));
  };
  m.def("sort", sort_fn, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
        py::arg("stable") = false);
  def_tensor_method("sort", sort_fn, py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
                    py::arg("stable") = false);
  m.def("argsort", &ember::argsort, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false,
        py::kw_only(), py::arg("stable") = false);
  def_tensor_method("argsort", &ember::argsort, py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
                    py::arg("stable") = false);
  auto topk_fn = [](const Tensor& x, int64_t k, py::handle dim, bool largest, bool sorted) {
    int64_t d = dim.is_none() ? -1 : dim.cast<int64_t>();
    return pair_result(g_topk_result, ember::topk(x, k, d, largest, sorted));
  };
  m.def("topk", topk_fn, py::arg("input"), py::arg("k"), py::arg("dim") = py::none(), py::arg("largest") = true,
        py::arg("sorted") = true);
  def_tensor_method("topk", topk_fn, py::arg("k"), py::arg("dim") = py::none(), py::arg("largest") = true,
                    py::arg("sorted") = true);
}

}  // namespace ember_py

// The ember.Tensor class: attributes, conversions, autograd entry points and operators.
// Hot methods are bound here directly (no Python wrapper in between); ops that are plain
// function calls are bound in ops.cpp and added to the class too.
#include "common.h"

namespace ember_py {

using ember::Tensor;
using ember::TensorImpl;

static PyObject* g_tensor_class = nullptr;
py::object tensor_class() { return py::reinterpret_borrow<py::object>(g_tensor_class); }

// Binary operator: returns NotImplemented for operands that are neither tensors nor numbers.
template <typename F>
static py::object binary_operator(const Tensor& self, py::handle other, const F& f) {
  Tensor o;
  if (!operand_from_py(other, o)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  return py::cast(f(self, o));
}

void init_tensor(py::module_& m) {
  using namespace ember;
  py::class_<TensorImpl, std::shared_ptr<TensorImpl>> cls(m, "Tensor", py::dynamic_attr());
  g_tensor_class = cls.ptr();
  Py_INCREF(g_tensor_class);

  // ember.Tensor(...) legacy constructor (also the base initialiser of nn.Parameter): the new
  // object shares storage with the tensor built by ember._tensor._legacy_new.
  cls.def(py::init([](py::args args, py::kwargs kwargs) {
    py::object fn = py::module_::import("ember._tensor").attr("_legacy_new");
    Tensor t = fn(*args, **kwargs).cast<Tensor>();
    return ember::detach(t).impl_ptr();
  }));
  cls.def_property_readonly("shape", [](const Tensor& t) { return size_object(t.sizes()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return t.dtype(); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t.dim(); })
      .def_property_readonly("grad_fn", [](const Tensor& t) { return t.grad_fn(); })
      .def_property_readonly("is_leaf", [](const Tensor& t) { return t.is_leaf(); })
      .def_property_readonly("_version", [](const Tensor& t) { return t.version(); })
      .def_property_readonly("_base_is_view", [](const Tensor& t) { return t.impl()->is_view; })
      .def_property_readonly("_base",
                             [](const Tensor& t) -> py::object {
                               if (!t.impl()->view_base) return py::none();
                               return py::cast(Tensor(t.impl()->view_base));
                             })
      .def("is_inference", [](const Tensor& t) { return t.impl()->inference; })
      .def_property_readonly("output_nr", [](const Tensor& t) { return t.output_nr(); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t.retains_grad(); })
      .def_property_readonly("is_cuda", [](const Tensor&) { return false; })
      .def_property(
          "requires_grad", [](const Tensor& t) { return t.requires_grad(); },
          [](Tensor& t, bool r) { t.set_requires_grad(r); })
      .def_property(
          "grad", [](const Tensor& t) { return t.grad(); },
          [](Tensor& t, const Tensor& g) { t.set_grad(g); })
      .def_property(
          "data", [](const Tensor& t) { return ember::detach(t); },
          [](Tensor& t, const Tensor& src) {
            // Rebinds t to src's data (storage, geometry, dtype); autograd state is kept.
            TensorImpl* i = t.impl();
            i->storage = src.storage();
            i->offset = src.storage_offset();
            i->sizes = src.sizes();
            i->strides = src.strides();
            i->dtype = src.dtype();
          })
      .def("size",
           [](const Tensor& t, py::object dim) -> py::object {
             if (dim.is_none()) return size_object(t.sizes());
             return py::int_(t.size(dim.cast<int64_t>()));
           },
           py::arg("dim") = py::none())
      .def("stride",
           [](const Tensor& t, py::object dim) -> py::object {
             if (dim.is_none()) {
               py::tuple r(t.dim());
               for (int64_t i = 0; i < t.dim(); ++i) r[i] = py::int_(t.strides()[i]);
               return std::move(r);
             }
             return py::int_(t.stride(dim.cast<int64_t>()));
           },
           py::arg("dim") = py::none())
      .def("dim", [](const Tensor& t) { return t.dim(); })
      .def("ndimension", [](const Tensor& t) { return t.dim(); })
      .def("numel", [](const Tensor& t) { return t.numel(); })
      .def("nelement", [](const Tensor& t) { return t.numel(); })
      .def("__len__",
           [](const Tensor& t) {
             if (t.dim() == 0) throw py::type_error("len() of a 0-d tensor");
             return t.sizes()[0];
           })
      .def("storage_offset", [](const Tensor& t) { return t.storage_offset(); })
      .def("is_contiguous", [](const Tensor& t) { return t.is_contiguous(); })
      .def("element_size", [](const Tensor& t) { return t.element_size(); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); })
      .def("item",
           [](const Tensor& t) -> py::object {
             if (t.numel() != 1)
               throw ember::Error("a Tensor with " + std::to_string(t.numel()) +
                                  " elements cannot be converted to Scalar");
             if (is_floating(t.dtype())) return py::float_(t.item<double>());
             if (t.dtype() == DType::Bool) return py::bool_(t.item<bool>());
             return py::int_(t.item<int64_t>());
           })
      .def("backward",
           [](const Tensor& t, const Tensor& gradient, py::object retain_graph, bool create_graph, py::object inputs) {
             bool retain = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
             if (inputs.is_none()) return t.backward(gradient, retain, create_graph);
             std::vector<Tensor> in = py::isinstance(inputs, tensor_class()) ? std::vector<Tensor>{inputs.cast<Tensor>()}
                                                                              : inputs.cast<std::vector<Tensor>>();
             if (in.empty()) throw ember::Error("`inputs` argument to `backward()` cannot be empty.");
             ember::run_backward_into({t}, {gradient}, retain, create_graph, in);
           },
           py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(),
           py::arg("create_graph") = false, py::arg("inputs") = py::none())
      .def("detach", [](const Tensor& t) { return ember::detach(t); })
      .def("detach_",
           [](Tensor& t) {
             if (t.impl()->view_base)
               throw ember::Error(
                   "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                   "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                   "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                   "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.");
             if (t.impl()->autograd) {
               t.impl()->autograd->grad_fn.reset();
               t.impl()->autograd->requires_grad = false;
             }
             return t;
           })
      .def("requires_grad_",
           [](Tensor& t, bool r) {
             t.set_requires_grad(r);
             return t;
           },
           py::arg("requires_grad") = true)
      .def("retain_grad", [](Tensor& t) { t.retain_grad(); })
      .def("_register_hook_raw",
           [](Tensor& t, py::function fn) {
             auto holder = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* o) {
               py::gil_scoped_acquire g;
               delete o;
             });
             t.register_hook([holder](const Tensor& g) -> Tensor {
               py::gil_scoped_acquire gil;
               py::object r = (*holder)(g);
               if (r.is_none()) return Tensor();
               return r.cast<Tensor>();
             });
           })
      .def("contiguous", [](const Tensor& t) { return ember::contiguous(t); })
      .def("clone", [](const Tensor& t) { return ember::clone(t); })
      .def("_to_dtype", [](const Tensor& t, DType d, bool copy) { return ember::to_dtype(t, d, copy); },
           py::arg("dtype"), py::arg("copy") = false)
      .def("float", [](const Tensor& t) { return ember::to_dtype(t, DType::Float32); })
      .def("double", [](const Tensor& t) { return ember::to_dtype(t, DType::Float64); })
      .def("long", [](const Tensor& t) { return ember::to_dtype(t, DType::Int64); })
      .def("int", [](const Tensor& t) { return ember::to_dtype(t, DType::Int32); })
      .def("short", [](const Tensor& t) { return ember::to_dtype(t, DType::Int16); })
      .def("char", [](const Tensor& t) { return ember::to_dtype(t, DType::Int8); })
      .def("byte", [](const Tensor& t) { return ember::to_dtype(t, DType::UInt8); })
      .def("bool", [](const Tensor& t) { return ember::to_dtype(t, DType::Bool); })
      .def("type_as", [](const Tensor& t, const Tensor& o) { return ember::to_dtype(t, o.dtype()); })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("copy_", [](Tensor& t, const Tensor& src) { return ember::copy_(t, src); })
      .def("fill_",
           [](Tensor& t, py::handle v) {
             Scalar s;
             if (!scalar_from_py(v, s)) {
               Tensor tv = v.cast<Tensor>();
               if (tv.dim() != 0)
                 throw py::value_error("fill_ only supports 0-dimension value tensor but got tensor with " +
                                       std::to_string(tv.dim()) + " dimensions.");
               return ember::copy_(t, tv);
             }
             return ember::fill_(t, s);
           })
      .def("zero_", [](Tensor& t) { return ember::zero_(t); })
      .def("__bool__",
           [](const Tensor& t) {
             if (t.numel() != 1)
               throw py::value_error("Boolean value of Tensor with more than one value is ambiguous");
             return t.item<bool>();
           })
      .def("__float__", [](const Tensor& t) {
        if (t.numel() != 1) throw py::value_error("only one element tensors can be converted to Python scalars");
        return t.item<double>();
      })
      .def("__int__", [](const Tensor& t) {
        if (t.numel() != 1) throw py::value_error("only one element tensors can be converted to Python scalars");
        return t.item<int64_t>();
      })
      .def("__index__", [](const Tensor& t) {
        if (t.numel() != 1 || is_floating(t.dtype()) || t.dtype() == DType::Bool)
          throw py::type_error("only integer tensors of a single element can be converted to an index");
        return t.item<int64_t>();
      })
      // Arithmetic operators.
      .def("__add__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::add(x, y); }); })
      .def("__radd__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::add(x, y); }); })
      .def("__sub__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::sub(x, y); }); })
      .def("__rsub__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::sub(y, x); }); })
      .def("__mul__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::mul(x, y); }); })
      .def("__rmul__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::mul(x, y); }); })
      .def("__truediv__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::div(x, y); }); })
      .def("__rtruediv__", [](const Tensor& a, py::handle b) { return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return ember::div(y, x); }); })
      .def("__neg__", [](const Tensor& a) { return ember::neg(a); })
      .def("__iadd__", [](Tensor& a, py::handle b) { Tensor o = operand_or_throw(b, "add_"); return ember::add_(a, o); })
      .def("__isub__", [](Tensor& a, py::handle b) { Tensor o = operand_or_throw(b, "sub_"); return ember::sub_(a, o); })
      .def("__imul__", [](Tensor& a, py::handle b) { Tensor o = operand_or_throw(b, "mul_"); return ember::mul_(a, o); });
  // The remaining operators: op(self, other), reflected op(other, self), in place op_(self, other).
  using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
  using InplaceFn = Tensor& (*)(Tensor&, const Tensor&);
  struct BinaryOperator { const char *name, *rname, *iname; BinaryFn fn; InplaceFn inplace; };
  static const BinaryOperator binary_operators[] = {
      {"__floordiv__", "__rfloordiv__", "__ifloordiv__", &ember::floor_divide, &ember::floor_divide_},
      {"__mod__", "__rmod__", "__imod__", &ember::remainder, &ember::remainder_},
      {"__pow__", "__rpow__", "__ipow__", &ember::pow, &ember::pow_},
      {"__and__", "__rand__", "__iand__", &ember::bitwise_and, &ember::bitwise_and_},
      {"__or__", "__ror__", "__ior__", &ember::bitwise_or, &ember::bitwise_or_},
      {"__xor__", "__rxor__", "__ixor__", &ember::bitwise_xor, &ember::bitwise_xor_},
      {"__lshift__", "__rlshift__", "__ilshift__", &ember::bitwise_left_shift, &ember::bitwise_left_shift_},
      {"__rshift__", "__rrshift__", "__irshift__", &ember::bitwise_right_shift, &ember::bitwise_right_shift_},
      {"__eq__", nullptr, nullptr, &ember::eq, nullptr},
      {"__ne__", nullptr, nullptr, &ember::ne, nullptr},
      {"__lt__", nullptr, nullptr, &ember::lt, nullptr},
      {"__le__", nullptr, nullptr, &ember::le, nullptr},
      {"__gt__", nullptr, nullptr, &ember::gt, nullptr},
      {"__ge__", nullptr, nullptr, &ember::ge, nullptr},
  };
  for (const auto& op : binary_operators) {
    BinaryFn fn = op.fn;
    cls.def(op.name, [fn](const Tensor& a, py::handle b) { return binary_operator(a, b, fn); });
    if (op.rname)
      cls.def(op.rname, [fn](const Tensor& a, py::handle b) {
        return binary_operator(a, b, [fn](const Tensor& x, const Tensor& y) { return fn(y, x); });
      });
    if (op.iname)
      cls.def(op.iname, [inplace = op.inplace, name = op.iname](Tensor& a, py::handle b) -> Tensor& {
        return inplace(a, operand_or_throw(b, name));
      });
  }
  cls.def("__itruediv__", [](Tensor& a, py::handle b) -> Tensor& { return ember::div_(a, operand_or_throw(b, "div_")); })
      .def("__abs__", [](const Tensor& a) { return ember::abs(a); })
      .def("__pos__", [](const Tensor& a) { return ember::positive(a); })
      .def("__invert__", [](const Tensor& a) {
        if (is_floating(a.dtype()))
          throw py::type_error("~ (operator.invert) is only implemented on integer and Boolean-type tensors");
        return ember::bitwise_not(a);
      });
}

}  // namespace ember_py

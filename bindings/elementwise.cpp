// Elementwise ops: ember.* functions and Tensor methods (argument conversion only).
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

namespace {

using UnaryFn = Tensor (*)(const Tensor&);
using UnaryInplaceFn = Tensor& (*)(Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
using BinaryInplaceFn = Tensor& (*)(Tensor&, const Tensor&);

// ember.name(input), Tensor.name() and, when given, Tensor.name_() and (where torch has it,
// `module_inplace`) ember.name_(input).
void def_unary(py::module_& m, const char* name, UnaryFn fn, const char* inplace_name = nullptr,
               UnaryInplaceFn inplace = nullptr, bool module_inplace = true) {
  m.def(name, fn, py::arg("input"));
  def_tensor_method(name, fn);
  if (!inplace) return;
  def_tensor_method(inplace_name, inplace);
  if (module_inplace) m.def(inplace_name, inplace, py::arg("input"));
}

// ember.name(input, other) and Tensor.name(other); either operand may be a Python number.
void def_binary(py::module_& m, const char* name, BinaryFn fn, const char* inplace_name = nullptr,
                BinaryInplaceFn inplace = nullptr) {
  m.def(name, [name, fn](py::handle a, py::handle b) { return fn(operand_or_throw(a, name), operand_or_throw(b, name)); },
        py::arg("input"), py::arg("other"));
  def_tensor_method(name, [name, fn](const Tensor& a, py::handle b) { return fn(a, operand_or_throw(b, name)); },
                    py::arg("other"));
  if (inplace)
    def_tensor_method(inplace_name, [inplace_name, inplace](Tensor& a, py::handle b) -> Tensor& {
      return inplace(a, operand_or_throw(b, inplace_name));
    }, py::arg("other"));
}

// A tensor argument, or torch's TypeError for anything else.
Tensor tensor_arg(py::handle h, const char* fn, const char* arg, int pos) {
  Tensor t;
  if (h.is_none() || !operand_from_py(h, t) || t.impl()->wrapped_number)
    throw py::type_error(std::string(fn) + "(): argument '" + arg + "' (position " + std::to_string(pos) +
                         ") must be Tensor, not " + std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return t;
}

// ember.name(input, other) / Tensor.name(other) for ops whose operands must both be tensors;
// `inplace` adds Tensor.name_(other).
void def_binary_tensors(py::module_& m, const char* name, BinaryFn fn, const char* inplace_name = nullptr,
                        BinaryInplaceFn inplace = nullptr) {
  m.def(name, [name, fn](py::handle a, py::handle b) {
    return fn(tensor_arg(a, name, "input", 1), tensor_arg(b, name, "other", 2));
  }, py::arg("input"), py::arg("other"));
  def_tensor_method(name, [name, fn](const Tensor& a, py::handle b) { return fn(a, tensor_arg(b, name, "other", 1)); },
                    py::arg("other"));
  if (inplace)
    def_tensor_method(inplace_name, [inplace_name, inplace](Tensor& a, py::handle b) -> Tensor& {
      return inplace(a, tensor_arg(b, inplace_name, "other", 1));
    }, py::arg("other"));
}

// None -> undefined tensor (an absent optional bound); a number -> wrapped scalar.
Tensor optional_operand(py::handle h, const char* fn) {
  if (h.is_none()) return Tensor();
  return operand_or_throw(h, fn);
}

Tensor div_mode(const Tensor& a, const Tensor& b, py::handle mode) {
  if (mode.is_none()) return ember::div(a, b);
  return ember::div(a, b, mode.cast<std::string>());
}

}  // namespace

void init_elementwise(py::module_& m) {
  using namespace ember;
  // ---- arithmetic
  auto alpha1 = Scalar(int64_t(1));
  for (const char* name : {"add", "sub", "subtract"}) {
    bool is_sub = name[0] == 's';
    auto fn = is_sub ? static_cast<Tensor (*)(const Tensor&, const Tensor&, const Scalar&)>(&ember::sub)
                     : static_cast<Tensor (*)(const Tensor&, const Tensor&, const Scalar&)>(&ember::add);
    m.def(name, [name, fn](py::handle a, py::handle b, Scalar alpha) {
      return fn(operand_or_throw(a, name), operand_or_throw(b, name), alpha);
    }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = alpha1);
    def_tensor_method(name, [name, fn](const Tensor& a, py::handle b, Scalar alpha) {
      return fn(a, operand_or_throw(b, name), alpha);
    }, py::arg("other"), py::kw_only(), py::arg("alpha") = alpha1);
  }
  for (const char* name : {"add_", "sub_", "subtract_"}) {
    auto fn = name[0] == 's' ? &ember::sub_ : &ember::add_;
    def_tensor_method(name, [name, fn](Tensor& a, py::handle b, Scalar alpha) -> Tensor& {
      return fn(a, operand_or_throw(b, name), alpha);
    }, py::arg("other"), py::kw_only(), py::arg("alpha") = alpha1);
  }
  m.def("rsub", [](py::handle a, py::handle b, Scalar alpha) {
    return ember::sub(operand_or_throw(b, "rsub"), operand_or_throw(a, "rsub"), alpha);
  }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = alpha1);
  def_binary(m, "mul", &ember::mul, "mul_", &ember::mul_);
  def_binary(m, "multiply", &ember::mul, "multiply_", &ember::mul_);
  for (const char* name : {"div", "divide"}) {
    m.def(name, [name](py::handle a, py::handle b, py::handle mode) {
      return div_mode(operand_or_throw(a, name), operand_or_throw(b, name), mode);
    }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
    def_tensor_method(name, [name](const Tensor& a, py::handle b, py::handle mode) {
      return div_mode(a, operand_or_throw(b, name), mode);
    }, py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  }
  for (const char* name : {"div_", "divide_"}) {
    def_tensor_method(name, [name](Tensor& a, py::handle b, py::handle mode) -> Tensor& {
      Tensor o = operand_or_throw(b, name);
      if (mode.is_none()) return ember::div_(a, o);
      return ember::div_(a, o, mode.cast<std::string>());
    }, py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  }
  def_binary(m, "true_divide", static_cast<BinaryFn>(&ember::div), "true_divide_", static_cast<BinaryInplaceFn>(&ember::div_));
  def_binary(m, "floor_divide", &ember::floor_divide, "floor_divide_", &ember::floor_divide_);
  def_binary(m, "remainder", &ember::remainder, "remainder_", &ember::remainder_);
  def_binary(m, "fmod", &ember::fmod, "fmod_", &ember::fmod_);
  // pow(input, exponent): the base may be a Python number (ember.pow(2, t)).
  m.def("pow", [](py::handle a, py::handle b) { return ember::pow(operand_or_throw(a, "pow"), operand_or_throw(b, "pow")); },
        py::arg("input"), py::arg("exponent"));
  def_tensor_method("pow", [](const Tensor& a, py::handle b) { return ember::pow(a, operand_or_throw(b, "pow")); },
                    py::arg("exponent"));
  def_tensor_method("pow_", [](Tensor& a, py::handle b) -> Tensor& { return ember::pow_(a, operand_or_throw(b, "pow_")); },
                    py::arg("exponent"));
  def_binary_tensors(m, "atan2", &ember::atan2, "atan2_", &ember::atan2_);
  def_binary_tensors(m, "arctan2", &ember::atan2, "arctan2_", &ember::atan2_);
  def_binary_tensors(m, "maximum", &ember::maximum);
  def_binary_tensors(m, "minimum", &ember::minimum);
  def_binary_tensors(m, "fmax", &ember::fmax);
  def_binary_tensors(m, "fmin", &ember::fmin);

  // ---- unary
  def_unary(m, "neg", &ember::neg, "neg_", &ember::neg_);
  def_unary(m, "negative", &ember::neg, "negative_", &ember::neg_);
  def_unary(m, "positive", &ember::positive);
  def_unary(m, "abs", &ember::abs, "abs_", &ember::abs_);
  def_unary(m, "absolute", &ember::abs, "absolute_", &ember::abs_, false);
  def_unary(m, "sign", &ember::sign, "sign_", &ember::sign_, false);
  def_unary(m, "floor", &ember::floor, "floor_", &ember::floor_);
  def_unary(m, "ceil", &ember::ceil, "ceil_", &ember::ceil_);
  def_unary(m, "trunc", &ember::trunc, "trunc_", &ember::trunc_);
  def_unary(m, "fix", &ember::trunc, "fix_", &ember::trunc_);
  def_unary(m, "frac", &ember::frac, "frac_", &ember::frac_);
  def_unary(m, "square", &ember::square, "square_", &ember::square_);
  def_unary(m, "relu", &ember::relu, "relu_", &ember::relu_);
  m.def("round", &ember::round, py::arg("input"), py::kw_only(), py::arg("decimals") = 0);
  def_tensor_method("round", &ember::round, py::kw_only(), py::arg("decimals") = 0);
  def_tensor_method("round_", &ember::round_, py::kw_only(), py::arg("decimals") = 0);
  m.def("round_", &ember::round_, py::arg("input"), py::kw_only(), py::arg("decimals") = 0);
#define EMBER_BIND_UNARY_FLOAT(op) def_unary(m, #op, &ember::op, #op "_", &ember::op##_);
  EMBER_BIND_UNARY_FLOAT(exp) EMBER_BIND_UNARY_FLOAT(exp2) EMBER_BIND_UNARY_FLOAT(expm1)
  EMBER_BIND_UNARY_FLOAT(log) EMBER_BIND_UNARY_FLOAT(log2) EMBER_BIND_UNARY_FLOAT(log10)
  EMBER_BIND_UNARY_FLOAT(log1p) EMBER_BIND_UNARY_FLOAT(sqrt) EMBER_BIND_UNARY_FLOAT(rsqrt)
  EMBER_BIND_UNARY_FLOAT(sin) EMBER_BIND_UNARY_FLOAT(cos) EMBER_BIND_UNARY_FLOAT(tan)
  EMBER_BIND_UNARY_FLOAT(asin) EMBER_BIND_UNARY_FLOAT(acos) EMBER_BIND_UNARY_FLOAT(atan)
  EMBER_BIND_UNARY_FLOAT(sinh) EMBER_BIND_UNARY_FLOAT(cosh) EMBER_BIND_UNARY_FLOAT(tanh)
  EMBER_BIND_UNARY_FLOAT(asinh) EMBER_BIND_UNARY_FLOAT(acosh) EMBER_BIND_UNARY_FLOAT(atanh)
  EMBER_BIND_UNARY_FLOAT(sigmoid) EMBER_BIND_UNARY_FLOAT(erf) EMBER_BIND_UNARY_FLOAT(erfc)
  EMBER_BIND_UNARY_FLOAT(reciprocal)
#undef EMBER_BIND_UNARY_FLOAT
  def_unary(m, "arcsin", &ember::asin, "arcsin_", &ember::asin_);
  def_unary(m, "arccos", &ember::acos, "arccos_", &ember::acos_);
  def_unary(m, "arctan", &ember::atan, "arctan_", &ember::atan_);

  // ---- clamp, where, lerp, addcmul, addcdiv
  for (const char* name : {"clamp", "clip"}) {
    m.def(name, [name](const Tensor& x, py::handle lo, py::handle hi) {
      return ember::clamp(x, optional_operand(lo, name), optional_operand(hi, name));
    }, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
    def_tensor_method(name, [name](const Tensor& x, py::handle lo, py::handle hi) {
      return ember::clamp(x, optional_operand(lo, name), optional_operand(hi, name));
    }, py::arg("min") = py::none(), py::arg("max") = py::none());
  }
  for (const char* name : {"clamp_", "clip_"}) {
    auto fn = [name](Tensor& x, py::handle lo, py::handle hi) -> Tensor& {
      return ember::clamp_(x, optional_operand(lo, name), optional_operand(hi, name));
    };
    def_tensor_method(name, fn, py::arg("min") = py::none(), py::arg("max") = py::none());
    m.def(name, fn, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
  }
  m.def("clamp_min", [](const Tensor& x, py::handle lo) { return ember::clamp_min(x, operand_or_throw(lo, "clamp_min")); },
        py::arg("input"), py::arg("min"));
  m.def("clamp_max", [](const Tensor& x, py::handle hi) { return ember::clamp_max(x, operand_or_throw(hi, "clamp_max")); },
        py::arg("input"), py::arg("max"));
  def_tensor_method("clamp_min", [](const Tensor& x, py::handle lo) { return ember::clamp_min(x, operand_or_throw(lo, "clamp_min")); },
                    py::arg("min"));
  def_tensor_method("clamp_max", [](const Tensor& x, py::handle hi) { return ember::clamp_max(x, operand_or_throw(hi, "clamp_max")); },
                    py::arg("max"));
  auto clamp_min_fn = [](Tensor& x, py::handle lo) -> Tensor& { return ember::clamp_min_(x, operand_or_throw(lo, "clamp_min_")); };
  auto clamp_max_fn = [](Tensor& x, py::handle hi) -> Tensor& { return ember::clamp_max_(x, operand_or_throw(hi, "clamp_max_")); };
  def_tensor_method("clamp_min_", clamp_min_fn, py::arg("min"));
  def_tensor_method("clamp_max_", clamp_max_fn, py::arg("max"));
  m.def("clamp_min_", clamp_min_fn, py::arg("input"), py::arg("min"));
  m.def("clamp_max_", clamp_max_fn, py::arg("input"), py::arg("max"));

  m.def("where", [](const Tensor& cond, py::handle a, py::handle b) {
    return ember::where(cond, operand_or_throw(a, "where"), operand_or_throw(b, "where"));
  }, py::arg("condition"), py::arg("input"), py::arg("other"));
  // where(condition) is nonzero(condition, as_tuple=True).
  m.def("where", [](py::object cond) -> py::object {
    py::object mod = py::module_::import("ember");
    if (!py::hasattr(mod, "nonzero")) throw ember::NotImplementedError("where(condition) needs ember.nonzero");
    return mod.attr("nonzero")(cond, py::arg("as_tuple") = true);
  }, py::arg("condition"));
  def_tensor_method("where", [](const Tensor& x, const Tensor& cond, py::handle b) {
    return ember::where(cond, x, operand_or_throw(b, "where"));
  }, py::arg("condition"), py::arg("other"));

  m.def("lerp", [](const Tensor& s, const Tensor& e, py::handle w) { return ember::lerp(s, e, operand_or_throw(w, "lerp")); },
        py::arg("input"), py::arg("end"), py::arg("weight"));
  def_tensor_method("lerp", [](const Tensor& s, const Tensor& e, py::handle w) { return ember::lerp(s, e, operand_or_throw(w, "lerp")); },
                    py::arg("end"), py::arg("weight"));
  def_tensor_method("lerp_", [](Tensor& s, const Tensor& e, py::handle w) -> Tensor& {
    return ember::lerp_(s, e, operand_or_throw(w, "lerp_"));
  }, py::arg("end"), py::arg("weight"));
  for (bool is_div : {false, true}) {
    auto fn = is_div ? &ember::addcdiv : &ember::addcmul;
    auto fn_ = is_div ? &ember::addcdiv_ : &ember::addcmul_;
    const char* name = is_div ? "addcdiv" : "addcmul";
    const char* name_ = is_div ? "addcdiv_" : "addcmul_";
    m.def(name, fn, py::arg("input"), py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = alpha1);
    def_tensor_method(name, fn, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = alpha1);
    def_tensor_method(name_, fn_, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = alpha1);
  }

  // ---- comparisons, logical, bitwise
  def_binary(m, "eq", &ember::eq, "eq_", &ember::eq_);
  def_binary(m, "ne", &ember::ne, "ne_", &ember::ne_);
  def_binary(m, "not_equal", &ember::ne, "not_equal_", &ember::ne_);
  def_binary(m, "lt", &ember::lt, "lt_", &ember::lt_);
  def_binary(m, "less", &ember::lt, "less_", &ember::lt_);
  def_binary(m, "le", &ember::le, "le_", &ember::le_);
  def_binary(m, "less_equal", &ember::le, "less_equal_", &ember::le_);
  def_binary(m, "gt", &ember::gt, "gt_", &ember::gt_);
  def_binary(m, "greater", &ember::gt, "greater_", &ember::gt_);
  def_binary(m, "ge", &ember::ge, "ge_", &ember::ge_);
  def_binary(m, "greater_equal", &ember::ge, "greater_equal_", &ember::ge_);
  def_binary_tensors(m, "logical_and", &ember::logical_and, "logical_and_", &ember::logical_and_);
  def_binary_tensors(m, "logical_or", &ember::logical_or, "logical_or_", &ember::logical_or_);
  def_binary_tensors(m, "logical_xor", &ember::logical_xor, "logical_xor_", &ember::logical_xor_);
  def_unary(m, "logical_not", &ember::logical_not, "logical_not_", &ember::logical_not_, false);
  def_binary(m, "bitwise_and", &ember::bitwise_and, "bitwise_and_", &ember::bitwise_and_);
  def_binary(m, "bitwise_or", &ember::bitwise_or, "bitwise_or_", &ember::bitwise_or_);
  def_binary(m, "bitwise_xor", &ember::bitwise_xor, "bitwise_xor_", &ember::bitwise_xor_);
  def_binary(m, "bitwise_left_shift", &ember::bitwise_left_shift, "bitwise_left_shift_", &ember::bitwise_left_shift_);
  def_binary(m, "bitwise_right_shift", &ember::bitwise_right_shift, "bitwise_right_shift_", &ember::bitwise_right_shift_);
  def_unary(m, "bitwise_not", &ember::bitwise_not, "bitwise_not_", &ember::bitwise_not_, false);
  def_unary(m, "isnan", &ember::isnan);
  def_unary(m, "isinf", &ember::isinf);
  def_unary(m, "isfinite", &ember::isfinite);
  m.def("isclose", &ember::isclose, py::arg("input"), py::arg("other"), py::arg("rtol") = 1e-5, py::arg("atol") = 1e-8,
        py::arg("equal_nan") = false);
  def_tensor_method("isclose", &ember::isclose, py::arg("other"), py::arg("rtol") = 1e-5, py::arg("atol") = 1e-8,
                    py::arg("equal_nan") = false);
  m.def("allclose", &ember::allclose, py::arg("input"), py::arg("other"), py::arg("rtol") = 1e-5, py::arg("atol") = 1e-8,
        py::arg("equal_nan") = false);
  def_tensor_method("allclose", &ember::allclose, py::arg("other"), py::arg("rtol") = 1e-5, py::arg("atol") = 1e-8,
                    py::arg("equal_nan") = false);
  m.def("equal", &ember::equal, py::arg("input"), py::arg("other"));
  def_tensor_method("equal", &ember::equal, py::arg("other"));
}

}  // namespace ember_py

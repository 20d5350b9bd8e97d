// Tensor creation and random sampling: factories, ember.Generator and the in-place samplers.
#include "common.h"

namespace ember_py {

using ember::Generator;
using ember::Scalar;
using ember::Tensor;

// A Python int as a 64-bit seed; negative seeds wrap around as in torch.
static uint64_t seed_from_py(py::handle h) {
  if (!PyLong_Check(h.ptr()) && !py::hasattr(h, "__index__"))
    throw py::type_error("manual_seed expected a long, but got " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  py::int_ v = py::reinterpret_steal<py::int_>(PyNumber_Index(h.ptr()));
  if (!v) throw py::error_already_set();
  int overflow = 0;
  long long s = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (!overflow) return static_cast<uint64_t>(s);
  unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());
  if (PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error("Overflow when unpacking long long");
  }
  return u;
}

static Tensor state_tensor(const std::vector<uint8_t>& state) {
  Tensor t = ember::empty({static_cast<int64_t>(state.size())}, ember::DType::UInt8);
  std::copy(state.begin(), state.end(), t.data<uint8_t>());
  return t;
}

static std::vector<uint8_t> state_from_py(py::handle h) {
  py::detail::make_caster<Tensor> c;
  if (h.is_none() || !c.load(h, false))
    throw py::type_error("expected a ember.ByteTensor, but got " +
                         std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  Tensor t = ember::contiguous(py::detail::cast_op<Tensor>(c));
  if (t.dtype() != ember::DType::UInt8) throw py::type_error("RNG state must be a ember.ByteTensor");
  const uint8_t* p = t.data<uint8_t>();
  return std::vector<uint8_t>(p, p + t.numel());
}

static void check_cpu_device(py::handle device) {
  if (device.is_none()) return;
  std::string d = py::str(device);
  if (d != "cpu" && d.rfind("cpu:", 0) != 0)
    throw py::value_error("ember was built without support for device '" + d + "'");
}

void init_creation(py::module_& m) {
  using namespace ember;
  using ember::DType;
  // ---- creation (Python argument handling in ember/_creation.py)
  m.def("_empty", [](py::handle shape, DType dtype) { return ember::empty(shape_from_py(shape, "empty"), dtype); });
  m.def("_full", [](py::handle shape, Scalar v, DType dtype) { return ember::full(shape_from_py(shape, "full"), v, dtype); });
  m.def("_zeros", [](py::handle shape, DType dtype) { return ember::zeros(shape_from_py(shape, "zeros"), dtype); });
  m.def("_scalar_tensor", [](Scalar v, std::optional<DType> dtype) { return ember::scalar_tensor(v, dtype); });
  m.def("_arange", &ember::arange);
  m.def("_linspace", &ember::linspace);
  m.def("_logspace", &ember::logspace);
  m.def("_eye", &ember::eye);
  m.def("result_type", [](py::handle a, py::handle b) {
    return ember::result_type({operand_or_throw(a, "result_type"), operand_or_throw(b, "result_type")});
  });

  // ---- generators
  py::class_<Generator, std::shared_ptr<Generator>>(m, "Generator")
      .def(py::init([](py::handle device) {
             check_cpu_device(device);
             return std::make_shared<Generator>();
           }),
           py::arg("device") = "cpu")
      .def("manual_seed",
           [](py::object self, py::handle seed) {
             self.cast<Generator&>().manual_seed(seed_from_py(seed));
             return self;
           },
           py::arg("seed"))
      .def("seed", &Generator::seed)
      .def("initial_seed", &Generator::initial_seed)
      .def("get_state", [](const Generator& g) { return state_tensor(g.get_state()); })
      .def("set_state",
           [](py::object self, py::handle state) {
             self.cast<Generator&>().set_state(state_from_py(state));
             return self;
           },
           py::arg("new_state"))
      .def_property_readonly("device", [](const Generator&) {
        return py::module_::import("ember").attr("device")("cpu");
      });
  m.attr("default_generator") = ember::default_generator();
  m.def("manual_seed", [](py::handle seed) {
    ember::default_generator()->manual_seed(seed_from_py(seed));
    return ember::default_generator();
  }, py::arg("seed"));
  m.def("seed", []() { return ember::default_generator()->seed(); });
  m.def("initial_seed", []() { return ember::default_generator()->initial_seed(); });
  m.def("get_rng_state", []() { return state_tensor(ember::default_generator()->get_state()); });
  m.def("set_rng_state", [](py::handle state) { ember::default_generator()->set_state(state_from_py(state)); },
        py::arg("new_state"));

  // ---- random factories (Python argument handling in ember/_random.py)
  auto gen_arg = py::arg("generator") = py::none();
  m.def("_rand", [](py::handle shape, DType dtype, Generator* gen) {
    return ember::rand(shape_from_py(shape, "rand"), dtype, gen);
  }, py::arg("size"), py::arg("dtype"), gen_arg);
  m.def("_randn", [](py::handle shape, DType dtype, Generator* gen) {
    return ember::randn(shape_from_py(shape, "randn"), dtype, gen);
  }, py::arg("size"), py::arg("dtype"), gen_arg);
  m.def("_randint", [](int64_t low, int64_t high, py::handle shape, DType dtype, Generator* gen) {
    return ember::randint(low, high, shape_from_py(shape, "randint"), dtype, gen);
  }, py::arg("low"), py::arg("high"), py::arg("size"), py::arg("dtype"), gen_arg);
  m.def("_randperm", &ember::randperm, py::arg("n"), py::arg("dtype"), gen_arg);
  m.def("_normal_tensor_tensor", py::overload_cast<const Tensor&, const Tensor&, Generator*>(&ember::normal),
        py::arg("mean"), py::arg("std"), gen_arg);
  m.def("_normal_tensor_float", py::overload_cast<const Tensor&, double, Generator*>(&ember::normal),
        py::arg("mean"), py::arg("std"), gen_arg);
  m.def("_normal_float_tensor", py::overload_cast<double, const Tensor&, Generator*>(&ember::normal),
        py::arg("mean"), py::arg("std"), gen_arg);
  m.def("_normal_float_float", py::overload_cast<double, double, const Shape&, DType, Generator*>(&ember::normal),
        py::arg("mean"), py::arg("std"), py::arg("size"), py::arg("dtype"), gen_arg);
  m.def("multinomial", &ember::multinomial, py::arg("input"), py::arg("num_samples"),
        py::arg("replacement") = false, py::kw_only(), gen_arg);
  def_tensor_method("multinomial", &ember::multinomial, py::arg("num_samples"), py::arg("replacement") = false,
                    py::kw_only(), gen_arg);

  // bernoulli(input) samples with probabilities input; bernoulli(input, p) uses a constant p.
  auto bernoulli = [](const Tensor& x, py::object p, Generator* gen) {
    if (p.is_none()) return ember::bernoulli(x, gen);
    return ember::bernoulli(x, p.cast<double>(), gen);
  };
  m.def("bernoulli", bernoulli, py::arg("input"), py::arg("p") = py::none(), py::kw_only(), gen_arg);
  def_tensor_method("bernoulli", bernoulli, py::arg("p") = py::none(), py::kw_only(), gen_arg);

  // ---- in-place samplers, bound directly (nn.init calls them)
  def_tensor_method("uniform_", [](Tensor& x, double from, double to, Generator* gen) -> Tensor& {
    return ember::uniform_(x, from, to, gen);
  }, py::arg("from") = 0.0, py::arg("to") = 1.0, py::kw_only(), gen_arg);
  def_tensor_method("normal_", [](Tensor& x, double mean, double std, Generator* gen) -> Tensor& {
    return ember::normal_(x, mean, std, gen);
  }, py::arg("mean") = 0.0, py::arg("std") = 1.0, py::kw_only(), gen_arg);
  def_tensor_method("exponential_", [](Tensor& x, double lambd, Generator* gen) -> Tensor& {
    return ember::exponential_(x, lambd, gen);
  }, py::arg("lambd") = 1.0, py::kw_only(), gen_arg);
  def_tensor_method("bernoulli_", [](Tensor& x, py::handle p, Generator* gen) -> Tensor& {
    py::detail::make_caster<Tensor> c;
    if (!p.is_none() && !PyFloat_Check(p.ptr()) && !PyLong_Check(p.ptr()) && c.load(p, false))
      return ember::bernoulli_(x, py::detail::cast_op<Tensor>(c), gen);
    return ember::bernoulli_(x, p.cast<double>(), gen);
  }, py::arg("p") = 0.5, py::kw_only(), gen_arg);
  // random_(), random_(to), random_(from, to)
  def_tensor_method("random_", [](Tensor& x, py::object a, py::object b, Generator* gen) -> Tensor& {
    if (a.is_none()) return ember::random_(x, 0, std::nullopt, gen);
    if (b.is_none()) return ember::random_(x, 0, a.cast<int64_t>(), gen);
    return ember::random_(x, a.cast<int64_t>(), b.cast<int64_t>(), gen);
  }, py::arg("from") = py::none(), py::arg("to") = py::none(), py::kw_only(), gen_arg);
}

}  // namespace ember_py

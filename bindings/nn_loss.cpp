// Losses, dropout and padding: ember._C._nn (torch._C._nn's kernels behind nn.functional) and the
// ember.* functions torch also has at top level (argument conversion only).
#include "common.h"

namespace ember_py {

using ember::Reduction;
using ember::Tensor;

namespace {

Reduction reduction_from_int(int64_t r) {
  if (r < 0 || r > 2) throw py::value_error("reduction must be 0 ('none'), 1 ('mean') or 2 ('sum'), got " + std::to_string(r));
  return static_cast<Reduction>(r);
}

// A tuple/list of Python ints, with torch's TypeError naming the first other element.
std::vector<int64_t> int_list(py::handle h, const char* fn, const char* arg, int position) {
  auto fail = [&](const std::string& found) {
    throw py::type_error(std::string(fn) + "(): argument '" + arg + "' (position " + std::to_string(position) +
                         ") must be tuple of ints, " + found);
  };
  if (!PyTuple_Check(h.ptr()) && !PyList_Check(h.ptr()))
    fail("not " + std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  std::vector<int64_t> out;
  int i = 0;
  for (auto item : h) {
    if (!PyLong_Check(item.ptr()) && !py::hasattr(item, "__index__"))
      fail("but found element of type " + std::string(py::str(py::type::handle_of(item).attr("__name__"))) +
           " at pos " + std::to_string(i));
    out.push_back(item.attr("__index__")().cast<int64_t>());
    ++i;
  }
  return out;
}

ember::Generator* no_generator() { return nullptr; }

}  // namespace

void init_nn_loss(py::module_& m) {
  py::module_ nn = m.def_submodule("_nn", "Kernels behind ember.nn.functional");
  auto input = py::arg("input"), target = py::arg("target");
  auto weight = py::arg("weight") = py::none(), reduction = py::arg("reduction") = 1;

  nn.def("cross_entropy_loss",
         [](const Tensor& x, const Tensor& t, const Tensor& w, int64_t r, int64_t ignore_index, double smoothing) {
           return ember::cross_entropy(x, t, w, reduction_from_int(r), ignore_index, smoothing);
         },
         input, target, weight, reduction, py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0);
  nn.def("nll_loss_nd",
         [](const Tensor& x, const Tensor& t, const Tensor& w, int64_t r, int64_t ignore_index) {
           return ember::nll_loss(x, t, w, reduction_from_int(r), ignore_index);
         },
         input, target, weight, reduction, py::arg("ignore_index") = -100);
  nn.def("mse_loss", [](const Tensor& x, const Tensor& t, int64_t r) { return ember::mse_loss(x, t, reduction_from_int(r)); },
         input, target, reduction);
  nn.def("l1_loss", [](const Tensor& x, const Tensor& t, int64_t r) { return ember::l1_loss(x, t, reduction_from_int(r)); },
         input, target, reduction);
  nn.def("smooth_l1_loss",
         [](const Tensor& x, const Tensor& t, int64_t r, double beta) {
           return ember::smooth_l1_loss(x, t, reduction_from_int(r), beta);
         },
         input, target, reduction, py::arg("beta") = 1.0);
  nn.def("huber_loss",
         [](const Tensor& x, const Tensor& t, int64_t r, double delta) {
           return ember::huber_loss(x, t, reduction_from_int(r), delta);
         },
         input, target, reduction, py::arg("delta") = 1.0);
  nn.def("binary_cross_entropy",
         [](const Tensor& x, const Tensor& t, const Tensor& w, int64_t r) {
           return ember::binary_cross_entropy(x, t, w, reduction_from_int(r));
         },
         input, target, weight, reduction);

  m.def("binary_cross_entropy_with_logits",
        [](const Tensor& x, const Tensor& t, const Tensor& w, const Tensor& pw, int64_t r) {
          return ember::binary_cross_entropy_with_logits(x, t, w, pw, reduction_from_int(r));
        },
        input, target, weight, py::arg("pos_weight") = py::none(), reduction);

  auto p = py::arg("p"), train = py::arg("train");
  m.def("dropout", [](const Tensor& x, double p, bool train) { return ember::dropout(x, p, train, no_generator()); },
        input, p, train);
  m.def("dropout_", [](Tensor& x, double p, bool train) { return ember::dropout_(x, p, train, no_generator()); },
        input, p, train);
  m.def("alpha_dropout",
        [](const Tensor& x, double p, bool train) { return ember::alpha_dropout(x, p, train, no_generator()); },
        input, p, train);
  m.def("alpha_dropout_",
        [](Tensor& x, double p, bool train) { return ember::alpha_dropout_(x, p, train, no_generator()); },
        input, p, train);

  m.def("constant_pad_nd",
        [](const Tensor& x, py::handle pad, const ember::Scalar& value) {
          return ember::constant_pad_nd(x, int_list(pad, "constant_pad_nd", "pad", 2), value);
        },
        input, py::arg("pad"), py::arg("value") = ember::Scalar(int64_t(0)));
  // F.pad's constant mode: the pad list is checked with F.pad's name and messages.
  nn.def("constant_pad",
         [](const Tensor& x, py::handle pad, const ember::Scalar& value) {
           std::vector<int64_t> amounts = int_list(pad, "pad", "pad", 2);
           EMBER_CHECK(amounts.size() % 2 == 0, "Padding length must be divisible by 2");
           EMBER_CHECK(static_cast<int64_t>(amounts.size()) / 2 <= x.dim(),
                       "Padding length should be less than or equal to two times the input dimension but got "
                       "padding length ", amounts.size(), " and input of dimension ", x.dim());
           return ember::constant_pad_nd(x, amounts, value);
         },
         input, py::arg("pad"), py::arg("value") = ember::Scalar(int64_t(0)));
}

}  // namespace ember_py

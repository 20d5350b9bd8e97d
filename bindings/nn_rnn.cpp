// Recurrent layers and cells: ember._C._rnn (a whole stack in one call) and the cell steps
// ember.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell.
#include "common.h"

namespace ember_py {

using ember::Tensor;

namespace {

// batch_sizes of a PackedSequence (a 1-D int64 tensor) or None for padded input.
std::vector<int64_t> batch_sizes_from_py(const Tensor& t) {
  if (!t.defined()) return {};
  if (t.dim() != 1 || t.dtype() != ember::DType::Int64)
    throw py::value_error("batch_sizes must be a 1-D int64 tensor");
  Tensor c = ember::contiguous(t);
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

}  // namespace

void init_nn_rnn(py::module_& m) {
  m.def("_rnn",
        [](int64_t mode, const Tensor& input, const Tensor& batch_sizes, const Tensor& hx, const Tensor& cx,
           const std::vector<Tensor>& params, bool has_biases, int64_t num_layers, double dropout, bool train,
           bool bidirectional, bool batch_first, int64_t proj_size) {
          std::vector<int64_t> bs = batch_sizes_from_py(batch_sizes);
          py::gil_scoped_release nogil;
          return ember::rnn(mode, input, bs, hx, cx, params, has_biases, num_layers, dropout, train, bidirectional,
                            batch_first, proj_size, nullptr);
        },
        py::arg("mode"), py::arg("input"), py::arg("batch_sizes"), py::arg("hx"), py::arg("cx"), py::arg("params"),
        py::arg("has_biases"), py::arg("num_layers"), py::arg("dropout"), py::arg("train"),
        py::arg("bidirectional"), py::arg("batch_first"), py::arg("proj_size") = 0);
  auto w = [] {
    return std::make_tuple(py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih") = py::none(),
                           py::arg("b_hh") = py::none());
  };
  auto [w_ih, w_hh, b_ih, b_hh] = w();
  m.def("lstm_cell", &ember::lstm_cell, py::arg("input"), py::arg("h"), py::arg("c"), w_ih, w_hh, b_ih, b_hh);
  m.def("gru_cell", &ember::gru_cell, py::arg("input"), py::arg("hx"), w_ih, w_hh, b_ih, b_hh);
  m.def("rnn_tanh_cell", &ember::rnn_tanh_cell, py::arg("input"), py::arg("hx"), w_ih, w_hh, b_ih, b_hh);
  m.def("rnn_relu_cell", &ember::rnn_relu_cell, py::arg("input"), py::arg("hx"), w_ih, w_hh, b_ih, b_hh);
}

}  // namespace ember_py

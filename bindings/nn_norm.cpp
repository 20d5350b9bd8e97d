// Batch, instance and group norm and channel-wise dropout: the torch-level functions
// (ember.batch_norm, ember.group_norm, ember.feature_dropout, ...), argument conversion only.
#include "common.h"

namespace ember_py {

using ember::Tensor;

void init_nn_norm(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;
  auto x = py::arg("input"), weight = py::arg("weight"), bias = py::arg("bias");
  auto running_mean = py::arg("running_mean"), running_var = py::arg("running_var");

  m.def("batch_norm",
        [](const Tensor& input, const Tensor& w, const Tensor& b, const Tensor& rm, const Tensor& rv, bool training,
           double momentum, double eps, bool) {
          return ember::batch_norm(input, w, b, rm, rv, training, momentum, eps);
        },
        x, weight, bias, running_mean, running_var, py::arg("training"), py::arg("momentum"), py::arg("eps"),
        py::arg("cudnn_enabled") = true, release());
  m.def("native_batch_norm", &ember::native_batch_norm, x, weight, bias, running_mean, running_var,
        py::arg("training"), py::arg("momentum"), py::arg("eps"), release());
  m.def("instance_norm",
        [](const Tensor& input, const Tensor& w, const Tensor& b, const Tensor& rm, const Tensor& rv,
           bool use_input_stats, double momentum, double eps, bool) {
          return ember::instance_norm(input, w, b, rm, rv, use_input_stats, momentum, eps);
        },
        x, weight, bias, running_mean, running_var, py::arg("use_input_stats"), py::arg("momentum"), py::arg("eps"),
        py::arg("cudnn_enabled") = true, release());
  m.def("group_norm",
        [](const Tensor& input, int64_t groups, const Tensor& w, const Tensor& b, double eps, bool) {
          return ember::group_norm(input, groups, w, b, eps);
        },
        x, py::arg("num_groups"), py::arg("weight") = py::none(), py::arg("bias") = py::none(), py::arg("eps") = 1e-5,
        py::arg("cudnn_enabled") = true, release());
  m.def("native_group_norm",
        [](const Tensor& input, const Tensor& w, const Tensor& b, int64_t N, int64_t C, int64_t HxW, int64_t group,
           double eps) {
          if (input.dim() < 2 || input.size(0) != N || input.size(1) != C || N * C * HxW != input.numel())
            throw ember::Error(ember::str_cat("Expected input of shape (", N, ", ", C, ", ...) with ", N * C * HxW,
                                              " elements, but got input of size ", ember::shape_str(input.sizes())));
          return ember::native_group_norm(input, w, b, group, eps);
        },
        x, weight, bias, py::arg("N"), py::arg("C"), py::arg("HxW"), py::arg("group"), py::arg("eps"), release());

  // Channel-wise dropout draws from the default generator.
  auto p = py::arg("p"), train = py::arg("train");
  m.def("feature_dropout", [](const Tensor& t, double pr, bool tr) { return ember::feature_dropout(t, pr, tr); }, x, p,
        train);
  m.def("feature_dropout_", [](Tensor& t, double pr, bool tr) { return ember::feature_dropout_(t, pr, tr); }, x, p,
        train);
  m.def("feature_alpha_dropout",
        [](const Tensor& t, double pr, bool tr) { return ember::feature_alpha_dropout(t, pr, tr); }, x, p, train);
  m.def("feature_alpha_dropout_",
        [](Tensor& t, double pr, bool tr) { return ember::feature_alpha_dropout_(t, pr, tr); }, x, p, train);
}

}  // namespace ember_py

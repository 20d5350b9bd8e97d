// Layers and activations: torch-level ops (ember.selu, ember.layer_norm, ember.embedding, ...)
// and the kernels behind ember.nn.functional in ember._C._nn (as torch._C._nn).
#include "common.h"

namespace ember_py {

using ember::Scalar;
using ember::Tensor;

void init_nn(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;
  // Another binding file may have created the submodule already.
  py::module_ nn = py::hasattr(m, "_nn") ? py::reinterpret_borrow<py::module_>(m.attr("_nn"))
                                         : m.def_submodule("_nn", "Kernels behind ember.nn.functional");
  auto x = py::arg("input");

  // ---- activations
  nn.def("elu", &ember::elu, x, py::arg("alpha") = 1.0, py::arg("scale") = 1.0, py::arg("input_scale") = 1.0);
  nn.def("elu_", &ember::elu_, x, py::arg("alpha") = 1.0, py::arg("scale") = 1.0, py::arg("input_scale") = 1.0);
  m.def("selu", &ember::selu, x);
  m.def("selu_", &ember::selu_, x);
  m.def("celu", &ember::celu, x, py::arg("alpha") = 1.0);
  m.def("celu_", &ember::celu_, x, py::arg("alpha") = 1.0);
  nn.def("leaky_relu", &ember::leaky_relu, x, py::arg("negative_slope") = 0.01);
  nn.def("leaky_relu_", &ember::leaky_relu_, x, py::arg("negative_slope") = 0.01);
  nn.def("hardtanh", &ember::hardtanh, x, py::arg("min_val") = Scalar(-1.0), py::arg("max_val") = Scalar(1.0));
  nn.def("hardtanh_", &ember::hardtanh_, x, py::arg("min_val") = Scalar(-1.0), py::arg("max_val") = Scalar(1.0));
  nn.def("relu6", &ember::relu6, x);
  nn.def("relu6_", &ember::relu6_, x);
  nn.def("hardsigmoid", &ember::hardsigmoid, x);
  nn.def("hardsigmoid_", &ember::hardsigmoid_, x);
  nn.def("hardswish", &ember::hardswish, x);
  nn.def("hardswish_", &ember::hardswish_, x);
  nn.def("softplus", &ember::softplus, x, py::arg("beta") = 1.0, py::arg("threshold") = 20.0);
  m.def("threshold", &ember::threshold, x, py::arg("threshold"), py::arg("value"));
  m.def("threshold_", &ember::threshold_, x, py::arg("threshold"), py::arg("value"));
  nn.def("gelu", &ember::gelu, x, py::kw_only(), py::arg("approximate") = "none");
  nn.def("gelu_", &ember::gelu_, x, py::kw_only(), py::arg("approximate") = "none");
  nn.def("silu", &ember::silu, x);
  nn.def("silu_", &ember::silu_, x);
  nn.def("mish", &ember::mish, x);
  nn.def("mish_", &ember::mish_, x);
  nn.def("log_sigmoid", &ember::log_sigmoid, x);
  m.def("hardshrink", &ember::hardshrink, x, py::arg("lambd") = 0.5);
  def_tensor_method("hardshrink", &ember::hardshrink, py::arg("lambd") = 0.5);
  nn.def("softshrink", &ember::softshrink, x, py::arg("lambd") = 0.5);
  m.def("prelu", &ember::prelu, x, py::arg("weight"));
  def_tensor_method("prelu", &ember::prelu, py::arg("weight"));

  // ---- normalization
  auto shape_arg = [](py::handle h) { return shape_from_py(h, "layer_norm"); };
  m.def("layer_norm", [shape_arg](const Tensor& input, py::handle normalized_shape, const Tensor& weight,
                                  const Tensor& bias, double eps, bool) {
          ember::Shape s = shape_arg(normalized_shape);
          py::gil_scoped_release nogil;
          return ember::layer_norm(input, s, weight, bias, eps);
        },
        x, py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
        py::arg("eps") = 1e-5, py::arg("cudnn_enable") = true);
  m.def("native_layer_norm", [shape_arg](const Tensor& input, py::handle normalized_shape, const Tensor& weight,
                                         const Tensor& bias, double eps) {
          ember::Shape s = shape_arg(normalized_shape);
          py::gil_scoped_release nogil;
          return ember::native_layer_norm(input, s, weight, bias, eps);
        },
        x, py::arg("normalized_shape"), py::arg("weight"), py::arg("bias"), py::arg("eps"));

  // ---- embeddings
  m.def("embedding", &ember::embedding, py::arg("weight"), py::arg("indices"), py::arg("padding_idx") = -1,
        py::arg("scale_grad_by_freq") = false, py::arg("sparse") = false, release());
  m.def("embedding_renorm_", &ember::embedding_renorm_, py::arg("input"), py::arg("indices"), py::arg("max_norm"),
        py::arg("norm_type"));
  // Returns the output only (torch.embedding_bag also returns its bookkeeping tensors).
  nn.def("embedding_bag", &ember::embedding_bag, py::arg("weight"), py::arg("indices"), py::arg("offsets"),
         py::arg("scale_grad_by_freq") = false, py::arg("mode") = 0, py::arg("per_sample_weights") = py::none(),
         py::arg("include_last_offset") = false, py::arg("padding_idx") = -1, release());
}

}  // namespace ember_py

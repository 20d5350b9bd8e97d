// ember._C optimizer updates: one call per parameter group (see ember/optim.h). The GIL is
// released while the kernels run.
#include "common.h"

namespace ember_py {

using ember::Tensor;
using TensorList = std::vector<Tensor>;

void init_optim(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;

  // None entries are buffers to create; returns the buffers (None while momentum is 0).
  m.def(
      "_sgd_step",
      [](const TensorList& params, const TensorList& grads, TensorList momentum_buffers, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool maximize) {
        ember::optim::sgd_step(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay, nesterov,
                               maximize);
        return momentum_buffers;
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("lr"), py::arg("momentum"),
      py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"), release());

  m.def("_adam_step", &ember::optim::adam_step, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"),
        py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"), py::arg("state_steps"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("amsgrad"), py::arg("maximize"),
        py::arg("decoupled_weight_decay"), release());

  m.def("_rmsprop_step", &ember::optim::rmsprop_step, py::arg("params"), py::arg("grads"), py::arg("square_avgs"),
        py::arg("grad_avgs"), py::arg("momentum_buffers"), py::arg("state_steps"), py::arg("lr"), py::arg("alpha"),
        py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"), py::arg("maximize"),
        release());

  m.def("_adagrad_step", &ember::optim::adagrad_step, py::arg("params"), py::arg("grads"), py::arg("state_sums"),
        py::arg("state_steps"), py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"),
        py::arg("maximize"), release());
}

}  // namespace ember_py

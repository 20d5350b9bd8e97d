// Fused optimizer updates. Each call updates every parameter of one parameter group in place,
// with torch.optim's single-tensor arithmetic (same operations in the same order, in the
// parameter's dtype), under no grad, bumping the version counters of what it writes.
// Gradients must match their parameters in shape and dtype; state tensors too. `steps` are
// one-element floating tensors (torch's `state["step"]`), incremented by one per call.
#pragma once
#include <vector>
#include "export.h"
#include "tensor.h"

namespace ember {
namespace optim {

// SGD (torch.optim.SGD); an undefined momentum_buffers[i] is set to a copy of the first
// (decayed) gradient, as torch does on the first step. Buffers are left undefined when momentum is 0.
EMBER_API void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        std::vector<Tensor>& momentum_buffers, double lr, double momentum, double dampening,
                        double weight_decay, bool nesterov, bool maximize);

// Adam, or AdamW when decoupled_weight_decay; max_exp_avg_sqs is used (and required) when amsgrad.
EMBER_API void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                         const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<Tensor>& steps, double lr,
                         double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool maximize,
                         bool decoupled_weight_decay);

// RMSprop; grad_avgs are used when centered, momentum_buffers when momentum > 0.
EMBER_API void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                            const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& grad_avgs,
                            const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& steps,
                            double lr, double alpha, double eps, double weight_decay, double momentum,
                            bool centered, bool maximize);

// Adagrad (dense gradients).
EMBER_API void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                            const std::vector<Tensor>& state_sums, const std::vector<Tensor>& steps, double lr,
                            double lr_decay, double weight_decay, double eps, bool maximize);

}  // namespace optim
}  // namespace ember

"""Adam (torch.optim.Adam), with amsgrad, maximize and optional decoupled weight decay."""
from .. import _C
from .._C import Tensor
from .._creation import zeros_like
from .optimizer import Optimizer, _check_not_differentiable, _new_step, _to_scalar, _use_grad_for_differentiable

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, as torch.optim.Adam; ``decoupled_weight_decay=True`` makes it AdamW.

    ``foreach``, ``fused`` and ``capturable`` are accepted and change nothing: every group is
    updated by one fused C++ call. ``differentiable=True`` raises NotImplementedError.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if isinstance(lr, Tensor):
            if foreach and not capturable:
                raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= _to_scalar(betas[0]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= _to_scalar(betas[1]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor) and beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(map(_to_scalar, betas))
        _check_not_differentiable(differentiable)

        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)

    def _init_group(self, group, params):
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], []
        amsgrad = group["amsgrad"]
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _new_step()
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if amsgrad:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            steps.append(state["step"])
        return exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            params, grads = self._params_with_grad(group)
            exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = self._init_group(group, params)
            beta1, beta2 = group["betas"]
            _C._adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                          float(_to_scalar(group["lr"])), float(_to_scalar(beta1)), float(_to_scalar(beta2)),
                          float(group["eps"]), float(group["weight_decay"]), bool(group["amsgrad"]),
                          bool(group["maximize"]), bool(group["decoupled_weight_decay"]))
        return loss

"""RMSprop with momentum and the centered variant (torch.optim.RMSprop)."""
from .. import _C
from .._C import Tensor
from .._creation import zeros_like
from .optimizer import Optimizer, _check_not_differentiable, _new_step, _to_scalar, _use_grad_for_differentiable

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop.

    ``foreach`` and ``capturable`` are accepted and change nothing. ``differentiable=True``
    raises NotImplementedError.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _to_scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_not_differentiable(differentiable)

        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def _init_group(self, group, params):
        square_avgs, grad_avgs, buffers, steps = [], [], [], []
        momentum, centered = group["momentum"], group["centered"]
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _new_step()
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            square_avgs.append(state["square_avg"])
            steps.append(state["step"])
            if momentum > 0:
                buffers.append(state["momentum_buffer"])
            if centered:
                grad_avgs.append(state["grad_avg"])
        return square_avgs, grad_avgs, buffers, steps

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            params, grads = self._params_with_grad(group)
            square_avgs, grad_avgs, buffers, steps = self._init_group(group, params)
            _C._rmsprop_step(params, grads, square_avgs, grad_avgs, buffers, steps, float(_to_scalar(group["lr"])),
                             float(group["alpha"]), float(group["eps"]), float(group["weight_decay"]),
                             float(group["momentum"]), bool(group["centered"]), bool(group["maximize"]))
        return loss

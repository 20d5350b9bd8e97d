"""ember.autograd: backward, grad, Function, gradcheck and grad-mode managers."""
from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401
from . import functional  # noqa: F401

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "functional"]


def _tensor_list(x, what):
    """A Tensor or a sequence of them (None entries allowed for gradients) -> list."""
    if x is None:
        return None
    if isinstance(x, _C.Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return list(x)
    raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, not {type(x).__name__}")


def _grads_for(outputs, grad_outputs):
    if grad_outputs is None:
        return [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    return list(grad_outputs)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Computes the sum of gradients of ``tensors`` w.r.t. graph leaves (or ``inputs``) into ``.grad``."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    tensors = _tensor_list(tensors, "tensors")
    grads = _grads_for(tensors, _tensor_list(grad_tensors, "grad_tensors"))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _tensor_list(inputs, "inputs")
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        _C._run_backward(tensors, grads, retain_graph, create_graph, inputs, True, True)
        return
    _C._run_backward(tensors, grads, retain_graph, create_graph, [], False, True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Returns the gradients of ``outputs`` w.r.t. ``inputs`` without touching ``.grad``."""
    if is_grads_batched:
        raise NotImplementedError("ember.autograd.grad: is_grads_batched=True is not supported")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _tensor_list(outputs, "outputs")
    inputs = _tensor_list(inputs, "inputs")
    if len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = _grads_for(outputs, _tensor_list(grad_outputs, "grad_outputs"))
    if retain_graph is None:
        retain_graph = create_graph
    res = _C._run_backward(outputs, grads, retain_graph, create_graph, inputs, allow_unused, False)
    if materialize_grads:
        from .. import zeros_like
        res = [zeros_like(i) if r is None else r for i, r in zip(inputs, res)]
    return tuple(res)

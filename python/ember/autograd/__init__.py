"""ember.autograd: backward, grad, Function, gradcheck and grad-mode managers."""
from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode"]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, _C.Tensor):
        return [x]
    return list(x)


def _make_grads(outputs, grad_outputs):
    from .. import ones_like
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(out)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                               f"has a shape of {out.shape}.")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Computes the sum of gradients of ``tensors`` w.r.t. graph leaves."""
    tensors = _as_list(tensors)
    grads = _make_grads(tensors, _as_list(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_list(inputs)
        res = _C._run_backward(tensors, grads, retain_graph, create_graph, inputs, True, False)
        for t, g in zip(inputs, res):
            if g is not None:
                t.grad = g.detach() if t.grad is None else t.grad + g
        return
    _C._run_backward(tensors, grads, retain_graph, create_graph, [], False, True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Returns the gradients of ``outputs`` w.r.t. ``inputs`` without touching ``.grad``."""
    outputs = _as_list(outputs)
    single = isinstance(inputs, _C.Tensor)
    inputs = _as_list(inputs)
    grads = _make_grads(outputs, _as_list(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    res = _C._run_backward(outputs, grads, retain_graph, create_graph, inputs, allow_unused, False)
    if materialize_grads:
        from .. import zeros_like
        res = [zeros_like(i) if r is None else r for i, r in zip(inputs, res)]
    return tuple(res)

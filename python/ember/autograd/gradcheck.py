"""gradcheck / gradgradcheck: analytic gradients against central finite differences.

Like torch's slow mode: the numerical Jacobian perturbs one input element at a time (in place,
through a numpy view of the input's memory) and evaluates the function twice; the analytical
Jacobian backpropagates one unit vector per output element. Jacobians are laid out
[input element, output element] and compared with |a - n| <= atol + rtol * |n|.
"""
import warnings

import numpy as np

from .. import _C

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

_Tensor = _C.Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck / gradgradcheck when a check fails."""


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _check_inputs(inputs):
    any_requires_grad = False
    for idx, inp in enumerate(inputs):
        if not (isinstance(inp, _Tensor) and inp.requires_grad):
            continue
        if inp.dtype != _C.float64:
            warnings.warn(f"Input #{idx} requires gradient and is not a double precision floating point or complex. "
                          "This check will likely fail if all the inputs are not of double precision floating "
                          "point or complex. ", stacklevel=3)
        if any(st == 0 and sz > 1 for st, sz in zip(inp.stride(), inp.shape)):
            raise RuntimeError(f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs "
                               "that are non-overlapping to be able to compute the numerical gradients correctly. "
                               "You should call .contiguous on the input before passing it to gradcheck.")
        any_requires_grad = True
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have "
                         "requires_grad=True.")


def _tensor_outputs(out):
    return [o for o in _as_tuple(out) if isinstance(o, _Tensor)]


def _to_np(t):
    return np.array(t.detach().numpy(), dtype=np.float64).reshape(-1)


def _numerical_jacobians(func, inputs, diff_idx, outputs, eps):
    """[input][output] -> array (input numel, output numel) of central differences."""
    jac = [[np.zeros((inputs[i].numel(), o.numel())) for o in outputs] for i in diff_idx]
    for a, i in enumerate(diff_idx):
        arr = inputs[i].detach().numpy()  # shares the input's memory
        for flat in range(arr.size):
            idx = np.unravel_index(flat, arr.shape) if arr.ndim else ()
            orig = arr[idx].copy()
            arr[idx] = orig - eps
            minus = [_to_np(o) for o in _tensor_outputs(func(*inputs))]
            arr[idx] = orig + eps
            plus = [_to_np(o) for o in _tensor_outputs(func(*inputs))]
            arr[idx] = orig
            for k in range(len(outputs)):
                jac[a][k][flat] = (plus[k] - minus[k]) / (2 * eps)
    return jac


def _unit(o, j):
    from .. import from_numpy
    a = np.zeros(o.numel(), dtype=np.float64)
    a[j] = 1.0
    return from_numpy(a.reshape(tuple(o.shape))).to(o.dtype)


def _backward_columns(outputs, diff_inputs):
    """Analytical Jacobians [input][output], each (input numel, output numel)."""
    from . import grad
    jac = [[np.zeros((x.numel(), o.numel())) for o in outputs] for x in diff_inputs]
    for k, o in enumerate(outputs):
        if not o.requires_grad:
            continue
        for j in range(o.numel()):
            gs = grad(o, diff_inputs, _unit(o, j), retain_graph=True, allow_unused=True)
            for a, g in enumerate(gs):
                if g is not None:
                    if tuple(g.shape) != tuple(diff_inputs[a].shape):
                        raise GradcheckError(f"Gradient has shape mismatch: got {tuple(g.shape)} for input {a} of "
                                             f"shape {tuple(diff_inputs[a].shape)}")
                    jac[a][k][:, j] = _to_np(g)
    return jac


def _fmt(a):
    from .. import from_numpy
    return repr(from_numpy(np.ascontiguousarray(a)))


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """Checks the gradients computed by backward against finite differences; True when they match.

    Inputs that require grad should be float64. Raises GradcheckError (or returns False when
    ``raise_exception=False``) naming the output and input whose Jacobians differ.
    """
    if check_forward_ad or check_batched_forward_grad:
        raise NotImplementedError("ember.autograd.gradcheck: forward-mode AD checks are not supported")
    if check_batched_grad:
        raise NotImplementedError("ember.autograd.gradcheck: check_batched_grad is not supported")
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, _Tensor) and x.requires_grad]
    diff_inputs = [inputs[i] for i in diff_idx]

    outputs = _tensor_outputs(func(*inputs))
    outputs = [o for o in outputs if o.is_floating_point()]
    numerical = _numerical_jacobians(func, inputs, diff_idx, outputs, eps)

    for k, o in enumerate(outputs):
        if o.requires_grad:
            continue
        for a, i in enumerate(diff_idx):
            if not np.allclose(numerical[a][k], 0.0, rtol=rtol, atol=atol):
                return _fail(f"Numerical gradient for function expected to be zero for output {k} with respect to "
                             f"input {i}, but is:\n{_fmt(numerical[a][k])}", raise_exception)
    if not check_backward_ad:
        return True

    analytical = _backward_columns(outputs, diff_inputs)
    for k in range(len(outputs)):
        for a, i in enumerate(diff_idx):
            n, an = numerical[a][k], analytical[a][k]
            if not np.allclose(an, n, rtol=rtol, atol=atol):
                return _fail(f"Jacobian mismatch for output {k} with respect to input {i},\n"
                             f"numerical:{_fmt(n)}\nanalytical:{_fmt(an)}\n", raise_exception)

    # Reentrancy: the same backward again must give the same values.
    again = _backward_columns(outputs, diff_inputs)
    for k in range(len(outputs)):
        for a, i in enumerate(diff_idx):
            if np.abs(again[a][k] - analytical[a][k]).max(initial=0.0) > nondet_tol:
                return _fail("Backward is not reentrant, i.e., running backward with same input and grad_output "
                             "multiple times gives different values, although analytical gradient matches "
                             f"numerical gradient.The tolerance for nondeterminism was {nondet_tol}.",
                             raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """Checks second derivatives: gradcheck of the function (inputs, grad_outputs) -> input gradients,
    computed with create_graph=True. Random grad_outputs (seeded) are used when none are given."""
    if check_fwd_over_rev:
        raise NotImplementedError("ember.autograd.gradgradcheck: forward-over-reverse checks are not supported")
    from .. import from_numpy
    from . import grad
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        outs = [o for o in _tensor_outputs(func(*inputs)) if o.requires_grad]
        grad_outputs = tuple(from_numpy(rng.uniform(-1.0, 1.0, tuple(o.shape))).to(o.dtype).requires_grad_()
                             for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_out = len(grad_outputs)

    def new_func(*args):
        input_args, gos = args[:-n_out], args[-n_out:]
        outs = [o for o in _tensor_outputs(func(*input_args)) if o.requires_grad]
        diff = [x for x in input_args if isinstance(x, _Tensor) and x.requires_grad]
        grads = grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol)

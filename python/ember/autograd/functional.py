"""Higher-level differentiation of functions: vjp, jvp, vhp, hvp, jacobian, hessian.

All are built on ember.autograd.grad (jvp with the double-backward trick), with torch's
argument conventions: ``inputs`` is a Tensor or a tuple of Tensors, results follow the same
nesting, and without ``create_graph`` the results are detached.
"""
from .. import _C

__all__ = ["vjp", "jvp", "vhp", "hvp", "jacobian", "hessian"]

_Tensor = _C.Tensor


def _as_tuple(x, arg_name, fn_name):
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, _Tensor):
            where = f"{arg_name}" if not is_tuple else f"Entry {i} in {arg_name}"
            raise TypeError(f"The {where} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                            f"value at index {i} has type {type(t)}.")
    return is_tuple, xs


def _prepare(inputs, create_graph):
    # Fresh leaves (or, with create_graph, differentiable aliases) so gradients stop here.
    return tuple(x.view(tuple(x.shape)) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _finish(xs, create_graph):
    return tuple(x if x is None or create_graph else x.detach() for x in xs)


def _fill_none(grads, like):
    from .. import zeros_like
    return tuple(zeros_like(x) if g is None else g for g, x in zip(grads, like))


def _grad(outputs, inputs, grad_outputs, create_graph, strict, fn_name):
    from . import grad
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad] if grad_outputs is not None else None
    if not outs:
        if strict:
            raise RuntimeError(f"The output of the user-provided function given to {fn_name} is independent of "
                               "its inputs. This is not allowed in strict mode.")
        return (None,) * len(inputs)
    res = grad(outs, inputs, gos, create_graph=True, retain_graph=True, allow_unused=True)
    if strict:
        for i, r in enumerate(res):
            if r is None:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   f"not allowed in strict mode.")
    return res


def _out(is_tuple, xs):
    return xs if is_tuple else xs[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    from .grad_mode import enable_grad
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        if v is None:
            if any(o.numel() != 1 for o in outputs):
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            v = None
        else:
            _, v = _as_tuple(v, "v", "vjp")
        res = _grad(outputs, inputs, v, create_graph, strict, "vjp")
        res = _fill_none(res, inputs)
    return _out(out_tuple, _finish(outputs, create_graph)), _out(in_tuple, _finish(res, create_graph))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), by differentiating v^T -> (u^T J) v with respect to u."""
    from .. import zeros_like
    from .grad_mode import enable_grad
    from . import grad
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if any(x.numel() != 1 for x in inputs):
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            from .. import ones_like
            v = tuple(ones_like(x) for x in inputs)
        else:
            _, v = _as_tuple(v, "v", "jvp")
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        us = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        g = _grad(outputs, inputs, us, True, strict, "jvp")
        pairs = [(gi, vi) for gi, vi in zip(g, v) if gi is not None and gi.requires_grad]
        if pairs:
            res = grad([p[0] for p in pairs], us, [p[1] for p in pairs], create_graph=create_graph,
                       allow_unused=True)
        else:
            res = (None,) * len(us)
        res = _fill_none(res, outputs)
    return _out(out_tuple, _finish(outputs, create_graph)), _out(out_tuple, _finish(res, create_graph))


def _scalar_output(func, inputs, fn_name):
    out = func(*inputs)
    if isinstance(out, (tuple, list)):
        if len(out) != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
        out = out[0]
    if not isinstance(out, _Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single "
                           "element")
    return out


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar func."""
    from .grad_mode import enable_grad
    from . import grad
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if any(x.numel() != 1 for x in inputs):
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            from .. import ones_like
            v = tuple(ones_like(x) for x in inputs)
        else:
            _, v = _as_tuple(v, "v", "vhp")
        out = _scalar_output(func, inputs, "vhp")
        g = _grad([out], inputs, None, True, strict, "vhp")
        pairs = [(gi, vi, xi) for gi, vi, xi in zip(g, v, inputs) if gi is not None and gi.requires_grad]
        res = grad([p[0] for p in pairs], inputs, [p[1] for p in pairs], create_graph=create_graph,
                   allow_unused=True) if pairs else (None,) * len(inputs)
        res = _fill_none(res, inputs)
    return _finish((out,), create_graph)[0], _out(in_tuple, _finish(res, create_graph))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar func (H is symmetric, so this is vhp)."""
    return vhp(func, inputs, v, create_graph, strict)


def _one_hot(n, j, like):
    import numpy as np
    from .. import from_numpy
    a = np.zeros(n, dtype=np.float64)
    a[j] = 1.0
    return from_numpy(a).to(like.dtype)


def _stack_rows(rows, row_shape, lead_shape):
    """rows (each of row_shape, one per element of lead_shape) -> one tensor lead_shape + row_shape."""
    stack = getattr(_C, "stack", None)
    if stack is not None:
        return stack(rows).reshape(tuple(lead_shape) + tuple(row_shape))
    # Without stack: a sum of one-hot outer products, still differentiable.
    n = len(rows)
    total = None
    for j, r in enumerate(rows):
        term = _one_hot(n, j, r).reshape((n,) + (1,) * len(row_shape)) * r.reshape((1,) + tuple(row_shape))
        total = term if total is None else total + term
    return total.reshape(tuple(lead_shape) + tuple(row_shape))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: for each output and input, a tensor output.shape + input.shape."""
    from .. import zeros_like
    from .grad_mode import enable_grad
    from . import grad
    if strategy != "reverse-mode":
        raise NotImplementedError("ember.autograd.functional.jacobian: only strategy='reverse-mode' is supported")
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        result = []
        for k, o in enumerate(outputs):
            rows = [[] for _ in inputs]
            for j in range(o.numel()):
                if o.requires_grad:
                    unit = _one_hot(o.numel(), j, o).reshape(tuple(o.shape))
                    gs = grad(o, inputs, unit, retain_graph=True, create_graph=create_graph, allow_unused=True)
                else:
                    gs = (None,) * len(inputs)
                if strict and None in gs:
                    raise RuntimeError(f"Output {k} of the user-provided function is independent of input "
                                       f"{gs.index(None)}. This is not allowed in strict mode.")
                for i, (g, x) in enumerate(zip(gs, inputs)):
                    rows[i].append(zeros_like(x) if g is None else g)
            per_input = tuple(_stack_rows(r, x.shape, o.shape) for r, x in zip(rows, inputs))
            result.append(_finish(per_input, create_graph))
    if out_tuple:
        return tuple(r if in_tuple else r[0] for r in result)
    return result[0] if in_tuple else result[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar func: for each pair of inputs, a tensor input_i.shape + input_j.shape."""
    from .. import zeros_like
    from . import grad
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*inp):
        out = _scalar_output(func, inp, "hessian")
        gs = grad(out, inp, create_graph=True, allow_unused=True)
        gs = tuple(zeros_like(x) if g is None else g for g, x in zip(gs, inp))
        return gs if in_tuple else gs[0]

    return jacobian(gradient, xs if in_tuple else xs[0], create_graph=create_graph, strict=strict)

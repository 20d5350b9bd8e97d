"""The torch oracle: run the same inputs through ember and torch, compare values and grads.

check(fn, *inputs) calls fn(lib, *tensors) once with lib=ember and once with lib=torch, on
tensors built from the same numpy arrays, compares the outputs, then backpropagates the same
random upstream gradient through both and compares the input gradients. gradcheck_fd(fn,
*inputs) compares ember's analytic float64 gradients with central finite differences.
"""
import re

import numpy as np
import pytest
import torch

import ember

TOL = {np.float32: dict(rtol=1.3e-6 * 10, atol=1e-5), np.float64: dict(rtol=1e-7, atol=1e-7)}


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def make(lib, arr, requires_grad=False, noncontig=False):
    """A tensor of `lib` holding arr; noncontig gives a transposed (non-contiguous) view."""
    if not isinstance(arr, np.ndarray):
        return arr
    if noncontig and arr.ndim >= 2:
        base = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
        t = lib.tensor(base)
        t = t.transpose(-1, -2)
        if requires_grad and arr.dtype.kind == "f":
            t = t.detach().requires_grad_(True) if lib is torch else _leaf_view(t)
        return t
    t = lib.tensor(arr.copy())
    if requires_grad and arr.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def _leaf_view(t):
    t = t.detach()
    t.requires_grad_(True)
    return t


def assert_close(a, b, rtol=None, atol=None, msg=""):
    a, b = to_numpy(a), to_numpy(b)
    assert a.shape == b.shape, f"{msg}shape {a.shape} != {b.shape}"
    if a.dtype.kind in "fc":
        tol = TOL.get(a.dtype.type, dict(rtol=1e-5, atol=1e-6))
        np.testing.assert_allclose(a, b, rtol=rtol or tol["rtol"], atol=atol or tol["atol"], err_msg=msg,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b, err_msg=msg)


def _flat_outputs(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat_outputs(o))
        return res
    return [out]


def check(fn, *arrays, grad=True, noncontig=False, rtol=None, atol=None, check_dtype=True):
    """Compare fn(ember, ...) with fn(torch, ...) forward and backward. Returns ember outputs."""
    ins_e = [make(ember, a, grad, noncontig) for a in arrays]
    ins_t = [make(torch, a, grad, noncontig) for a in arrays]
    out_e = _flat_outputs(fn(ember, *ins_e))
    out_t = _flat_outputs(fn(torch, *ins_t))
    assert len(out_e) == len(out_t)
    for i, (e, t) in enumerate(zip(out_e, out_t)):
        if isinstance(t, torch.Tensor):
            assert isinstance(e, ember.Tensor), f"output {i}: {type(e)} is not an ember.Tensor"
            if check_dtype:
                assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], f"output {i}: dtype {e.dtype} vs {t.dtype}"
            assert tuple(e.shape) == tuple(t.shape), f"output {i}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
            assert_close(e, t, rtol, atol, msg=f"output {i}: ")
        else:
            assert e == t or (isinstance(t, float) and np.isclose(e, t)), f"output {i}: {e} vs {t}"
    if not grad:
        return out_e
    diff_e = [(e, t) for e, t in zip(out_e, out_t) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not diff_e:
        return out_e
    rng = np.random.RandomState(1)
    ups = [rng.standard_normal(t.shape).astype(to_numpy(t).dtype) for _, t in diff_e]
    lhs_e = ember.zeros(())
    lhs_t = torch.zeros(())
    for (e, t), u in zip(diff_e, ups):
        lhs_e = lhs_e + (e * ember.tensor(u)).sum()
        lhs_t = lhs_t + (t * torch.tensor(u)).sum()
    lhs_e.backward()
    lhs_t.backward()
    for i, (e, t) in enumerate(zip(ins_e, ins_t)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert e.grad is None or np.all(to_numpy(e.grad) == 0), f"grad {i}: torch has none"
                continue
            assert e.grad is not None, f"grad {i}: ember computed no gradient"
            assert_close(e.grad, t.grad, rtol, atol, msg=f"grad of input {i}: ")
    return out_e


def gradcheck_fd(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Analytic float64 gradients of sum(fn(...) * u) against central finite differences."""
    arrays = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]
    ins = [ember.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
           (ember.tensor(a) if isinstance(a, np.ndarray) else a) for a in arrays]
    out = _flat_outputs(fn(ember, *ins))
    rng = np.random.RandomState(2)
    ups = [rng.standard_normal(tuple(o.shape)) for o in out if isinstance(o, ember.Tensor) and o.requires_grad]
    outs = [o for o in out if isinstance(o, ember.Tensor) and o.requires_grad]

    def scalar(inputs):
        with ember.no_grad():
            res = _flat_outputs(fn(ember, *inputs))
            res = [o for o in res if isinstance(o, ember.Tensor) and is_float(o)]
            return sum(float((to_numpy(o) * u).sum()) for o, u in zip(res, ups))

    total = ember.zeros((), dtype=ember.float64)
    for o, u in zip(outs, ups):
        total = total + (o * ember.tensor(u)).sum()
    total.backward()
    for k, t in enumerate(ins):
        if not (isinstance(t, ember.Tensor) and t.requires_grad):
            continue
        analytic = to_numpy(t.grad) if t.grad is not None else np.zeros(tuple(t.shape))
        numeric = np.zeros(arrays[k].shape)
        flat = arrays[k].reshape(-1)
        for j in range(flat.size):
            plus, minus = arrays[k].copy().reshape(-1), arrays[k].copy().reshape(-1)
            plus[j] += eps
            minus[j] -= eps
            fp = scalar([ember.tensor(plus.reshape(arrays[k].shape)) if i == k else x for i, x in enumerate(ins)])
            fm = scalar([ember.tensor(minus.reshape(arrays[k].shape)) if i == k else x for i, x in enumerate(ins)])
            numeric.reshape(-1)[j] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=rtol, err_msg=f"input {k}")


def is_float(t):
    return t.dtype in (ember.float32, ember.float64)


def same_error(fn, exc=Exception):
    """fn(lib) raises the same exception type and message in torch and in ember (with "torch" in
    torch's message read as "ember"); torch's exception must be an `exc`. Returns ember's."""
    with pytest.raises(exc) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value) == str(t_err.value).replace("torch", "ember")
    return e_err.value


def same_error_matching(fn, exc=None):
    """fn(lib) raises torch's exception type in ember too, with a message that matches torch's
    from its start; when exc is given, torch's exception must be exactly that type."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    typ = type(t_err.value)
    if exc is not None:
        assert typ is exc
    with pytest.raises(typ, match=re.escape(str(t_err.value))):
        fn(ember)

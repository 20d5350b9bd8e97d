"""torch's type promotion across every dtype pair: tensors, 0-dim tensors and Python numbers."""
import itertools
import re

import numpy as np
import pytest
import torch

import ember
from oracle import check

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64]
SCALARS = [True, 3, -2, 2.5]

BINARY_OPS = {
    "add": lambda lib, a, b: lib.add(a, b),
    "sub": lambda lib, a, b: lib.sub(a, b),
    "mul": lambda lib, a, b: lib.mul(a, b),
    "div": lambda lib, a, b: lib.div(a, b),
    "div_floor": lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
    "floor_divide": lambda lib, a, b: lib.floor_divide(a, b),
    "remainder": lambda lib, a, b: lib.remainder(a, b),
    "fmod": lambda lib, a, b: lib.fmod(a, b),
    "pow": lambda lib, a, b: lib.pow(a, b),
    "eq": lambda lib, a, b: lib.eq(a, b),
    "lt": lambda lib, a, b: a < b,
    "bitwise_and": lambda lib, a, b: lib.bitwise_and(a, b),
    "bitwise_xor": lambda lib, a, b: a ^ b,
    "left_shift": lambda lib, a, b: a << b,
    "where": lambda lib, a, b: lib.where(lib.tensor([True, False, True]).reshape(a.shape if a.dim() else (3,)), a, b),
    "clamp": lambda lib, a, b: lib.clamp(a, max=b),
}
TENSOR_ONLY_OPS = {
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "fmin": lambda lib, a, b: lib.fmin(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "logical_or": lambda lib, a, b: lib.logical_or(a, b),
}


def values(dtype, n=3):
    return np.array([1, 2, 3][:n]).astype(dtype) if dtype != np.bool_ else np.array([True, False, True][:n])


def divisors(dtype, n=3):
    return np.array([2, 1, 3][:n]).astype(dtype)


def run_both(fn, *arrays):
    """Same values and dtype in ember and torch, or the same exception type and message."""
    try:
        fn(torch, *[torch.tensor(a) for a in arrays])
    except Exception as e:
        with pytest.raises(type(e), match=re.escape(str(e)[:45])):
            fn(ember, *[ember.tensor(a) for a in arrays])
        return
    check(fn, *arrays, grad=False)


def as_kind(x, zero_dim):
    return x.reshape(()) if zero_dim else x


@pytest.mark.parametrize("name", list(BINARY_OPS) + list(TENSOR_ONLY_OPS))
def test_tensor_tensor_promotion(name):
    fn = BINARY_OPS.get(name) or TENSOR_ONLY_OPS[name]
    for da, db in itertools.product(DTYPES, DTYPES):
        for za, zb in ((False, False), (False, True), (True, False), (True, True)):
            a = values(da, 1 if za else 3)
            b = divisors(db, 1 if zb else 3)
            run_both(lambda lib, x, y: fn(lib, as_kind(x, za), as_kind(y, zb)), a, b)


@pytest.mark.parametrize("name", list(BINARY_OPS))
def test_tensor_scalar_promotion(name):
    fn = BINARY_OPS[name]
    for da, s, za in itertools.product(DTYPES, SCALARS, (False, True)):
        a = values(da, 1 if za else 3)
        run_both(lambda lib, x: fn(lib, as_kind(x, za), s), a)
        if name not in ("where", "clamp", "fmod", "eq"):  # torch takes no number as their first argument
            run_both(lambda lib, x: fn(lib, s, as_kind(x, za)) if name not in ("lt", "bitwise_xor", "left_shift")
                     else {"lt": lambda: s < as_kind(x, za), "bitwise_xor": lambda: s ^ as_kind(x, za),
                           "left_shift": lambda: s << as_kind(x, za)}[name](), a)


INPLACE_OPS = {
    "add_": lambda lib, a, b: a.add_(b),
    "sub_": lambda lib, a, b: a.sub_(b),
    "mul_": lambda lib, a, b: a.mul_(b),
    "div_": lambda lib, a, b: a.div_(b),
    "div_trunc_": lambda lib, a, b: a.div_(b, rounding_mode="trunc"),
    "floor_divide_": lambda lib, a, b: a.floor_divide_(b),
    "remainder_": lambda lib, a, b: a.remainder_(b),
    "pow_": lambda lib, a, b: a.pow_(b),
    "eq_": lambda lib, a, b: a.eq_(b),
    "logical_and_": lambda lib, a, b: a.logical_and_(b),
    "bitwise_or_": lambda lib, a, b: a.bitwise_or_(b),
    "clamp_": lambda lib, a, b: a.clamp_(min=b),
    "ior": lambda lib, a, b: a.__ior__(b),
    "itruediv": lambda lib, a, b: a.__itruediv__(b),
}


@pytest.mark.parametrize("name", list(INPLACE_OPS))
def test_inplace_result_cast_rules(name):
    fn = INPLACE_OPS[name]
    for da, db in itertools.product(DTYPES, DTYPES):
        run_both(lambda lib, x, y: fn(lib, x.clone(), y), values(da), divisors(db))
    for da, s in itertools.product(DTYPES, SCALARS):
        if name not in ("logical_and_",):
            run_both(lambda lib, x: fn(lib, x.clone(), s), values(da))


def test_unary_float_ops_promote_integers_to_default_dtype():
    for dt in DTYPES:
        run_both(lambda lib, x: (lib.exp(x), lib.sqrt(x), lib.sigmoid(x), lib.reciprocal(x), x.log1p()), values(dt))
        run_both(lambda lib, x: (lib.floor(x), lib.abs(x), lib.sign(x), -x, lib.square(x)), values(dt))


def test_default_dtype_float64_changes_promotion():
    prev = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for fn in (lambda lib, x: x / 2, lambda lib, x: x * 2.5, lambda lib, x: lib.exp(x), lambda lib, x: x ** 0.5,
                   lambda lib, x: lib.where(x > 1, x, 0.5), lambda lib, x: lib.clamp(x, 0.5)):
            run_both(fn, np.array([1, 2, 3]))
        run_both(lambda lib, x: x * 2.5, np.array([1, 2, 3], dtype=np.float32))
    finally:
        ember.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_result_type_matches_torch():
    for da, db in itertools.product(DTYPES, DTYPES):
        a, b = values(da), divisors(db)
        for za, zb in ((False, False), (False, True), (True, False)):
            ea, eb = as_kind(ember.tensor(a[:1] if za else a), za), as_kind(ember.tensor(b[:1] if zb else b), zb)
            ta, tb = as_kind(torch.tensor(a[:1] if za else a), za), as_kind(torch.tensor(b[:1] if zb else b), zb)
            assert str(ember.result_type(ea, eb)).split(".")[1] == str(torch.result_type(ta, tb)).split(".")[1]
        for s in SCALARS:
            assert (str(ember.result_type(ember.tensor(a), s)).split(".")[1]
                    == str(torch.result_type(torch.tensor(a), s)).split(".")[1])

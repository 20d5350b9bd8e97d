"""Elementwise ops against torch: values, dtypes, gradients, in-place forms, operators, errors."""
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import assert_close, check, gradcheck_fd


def sample(domain, shape, dtype=np.float32, rng=None):
    """Random values inside an op's domain, away from points where its derivative jumps."""
    rng = rng or np.random
    if domain == "real":
        a = rng.uniform(-3, 3, shape)
    elif domain == "pos":
        a = rng.uniform(0.5, 3, shape)
    elif domain == "unit":
        a = rng.uniform(-0.9, 0.9, shape)
    elif domain == "gt1":
        a = rng.uniform(1.2, 3, shape)
    elif domain == "nonzero":
        a = rng.uniform(0.5, 3, shape) * rng.choice([-1, 1], shape)
    else:
        raise ValueError(domain)
    return np.asarray(a, dtype=dtype)


def behaves_like_torch(fn, *arrays):
    """fn(lib, *tensors) gives the same values and dtype in both libraries, or the same error."""
    try:
        fn(torch, *[torch.tensor(a) for a in arrays])
    except Exception as e:  # torch's error is the expected one
        with pytest.raises(type(e), match=re.escape(str(e)[:50])):
            fn(ember, *[ember.tensor(a) for a in arrays])
        return
    check(fn, *arrays, grad=False)


# ---- unary ops: one table drives values, gradients, in-place forms and integer inputs ----------
UNARY = [
    ("exp", "real"), ("exp2", "real"), ("expm1", "real"), ("log", "pos"), ("log2", "pos"), ("log10", "pos"),
    ("log1p", "pos"), ("sqrt", "pos"), ("rsqrt", "pos"), ("sin", "real"), ("cos", "real"), ("tan", "unit"),
    ("asin", "unit"), ("acos", "unit"), ("atan", "real"), ("sinh", "real"), ("cosh", "real"), ("tanh", "real"),
    ("asinh", "real"), ("acosh", "gt1"), ("atanh", "unit"), ("sigmoid", "real"), ("erf", "real"),
    ("erfc", "real"), ("reciprocal", "nonzero"), ("neg", "real"), ("abs", "nonzero"), ("sign", "real"),
    ("floor", "real"), ("ceil", "real"), ("trunc", "real"), ("round", "real"), ("frac", "real"),
    ("square", "real"), ("relu", "nonzero"),
]
UNARY_NAMES = [n for n, _ in UNARY]


@pytest.mark.parametrize("name,domain", UNARY, ids=UNARY_NAMES)
def test_unary_matches_torch(name, domain):
    a = sample(domain, (3, 4))
    check(lambda lib, x: getattr(lib, name)(x), a)
    check(lambda lib, x: getattr(x, name)(), a, noncontig=True)
    check(lambda lib, x: getattr(lib, name)(x.reshape(())), sample(domain, (1,)))  # 0-dim
    check(lambda lib, x: getattr(lib, name)(x), sample(domain, (2, 0)))  # empty


@pytest.mark.parametrize("name,domain", UNARY, ids=UNARY_NAMES)
def test_unary_gradcheck(name, domain):
    gradcheck_fd(lambda lib, x: getattr(lib, name)(x), sample(domain, (2, 3), np.float64))


# torch has no derivative for asinh_/acosh_/atanh_ (ember's are checked by gradcheck below).
UNARY_INPLACE = [(n, d) for n, d in UNARY if n not in ("asinh", "acosh", "atanh")]


@pytest.mark.parametrize("name,domain", UNARY_INPLACE, ids=[n for n, _ in UNARY_INPLACE])
def test_unary_inplace_autograd(name, domain):
    """y = x * 1; y.op_(): same values and gradients through the in-place op as torch."""
    def fn(lib, x):
        y = x * 1
        r = getattr(y, name + "_")()
        assert r is y
        return y
    out = check(fn, sample(domain, (3, 4)))
    assert out[0].grad_fn.name() == fn(torch, torch.ones(1, requires_grad=True)).grad_fn.name()


@pytest.mark.parametrize("name", [n for n, _ in UNARY_INPLACE if hasattr(torch, n + "_")])
def test_unary_functional_inplace_forms(name):
    domain = dict(UNARY)[name]
    check(lambda lib, x: getattr(lib, name + "_")(x * 1), sample(domain, (3, 4)))


API = ("add sub subtract rsub mul multiply div divide true_divide floor_divide remainder fmod pow atan2 arctan2 "
       "maximum minimum fmax fmin neg negative positive abs absolute sign floor ceil trunc fix round frac square "
       "relu exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan arcsin arccos arctan sinh "
       "cosh tanh asinh acosh atanh sigmoid erf erfc reciprocal clamp clip clamp_min clamp_max where lerp addcmul "
       "addcdiv eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and logical_or "
       "logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift "
       "bitwise_right_shift isnan isinf isfinite isclose allclose equal").split()


@pytest.mark.parametrize("name", API)
def test_api_surface_matches_torch(name):
    """ember.op / Tensor.op / Tensor.op_ / ember.op_ exist exactly where torch has them."""
    assert hasattr(ember, name)
    for owner_e, owner_t in ((ember, torch), (ember.Tensor, torch.Tensor)):
        for n in (name, name + "_"):
            if hasattr(owner_t, n):
                assert hasattr(owner_e, n), f"{owner_e.__name__}.{n} is missing"


@pytest.mark.parametrize("name", UNARY_NAMES)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_unary_integer_and_bool_inputs(name, dtype):
    a = np.array([[0, 1, 2], [3, 1, 0]]).astype(dtype)
    behaves_like_torch(lambda lib, x: getattr(lib, name)(x), a)
    behaves_like_torch(lambda lib, x: getattr(x.clone(), name + "_")(), a)


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh"])
def test_unary_inplace_gradcheck_where_torch_has_none(name):
    domain = dict(UNARY)[name]
    gradcheck_fd(lambda lib, x: getattr(x * 1, name + "_")(), sample(domain, (2, 3), np.float64))


def test_unary_float64_and_special_values():
    a = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -2.5, 2.5, 0.5, 1.5], dtype=np.float64)
    for name in UNARY_NAMES:
        check(lambda lib, x: getattr(lib, name)(x), a, grad=False)
    check(lambda lib, x: (lib.isnan(x), lib.isinf(x), lib.isfinite(x)), a, grad=False)


@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_round_decimals_half_to_even(decimals):
    a = np.array([0.5, 1.5, 2.5, -0.5, 1.25, 2.675, 125.0, 135.0, -3.14159], dtype=np.float32)
    out = check(lambda lib, x: lib.round(x, decimals=decimals), a)
    assert out[0].grad_fn.name() == ("RoundBackward0" if decimals == 0 else "RoundBackward1")
    check(lambda lib, x: (x * 1).round_(decimals=decimals), a)


def test_positive_and_operator_forms():
    a = sample("real", (3, 4))
    check(lambda lib, x: (+x, -x, abs(x), lib.positive(x)), a)
    x = ember.tensor(a)
    assert (+x) is x
    with pytest.raises(RuntimeError, match="The `\\+` operator, on a bool tensor is not supported"):
        +ember.tensor([True])


def test_relu_and_sigmoid_double_backward():
    a = sample("pos", (5,), np.float64)
    for name in ("sigmoid", "tanh", "exp", "sqrt"):
        outs = {}
        for lib in (ember, torch):
            x = lib.tensor(a.copy(), requires_grad=True)
            y = getattr(lib, name)(x)
            (g,) = (lib.autograd.grad(y.sum(), x, create_graph=True) if lib is torch
                    else _ember_grad(y.sum(), x))
            (g * g).sum().backward()
            outs[lib.__name__] = (g.detach().numpy(), x.grad.numpy())
        np.testing.assert_allclose(outs["ember"][0], outs["torch"][0], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(outs["ember"][1], outs["torch"][1], rtol=1e-7, atol=1e-10)


def _ember_grad(y, x):
    if hasattr(ember.autograd, "grad"):
        return ember.autograd.grad(y, x, create_graph=True)
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    return (g,)


# ---- binary arithmetic --------------------------------------------------------------------------
BINARY = [
    ("add", lambda lib, a, b: lib.add(a, b, alpha=2), "real", "real"),
    ("sub", lambda lib, a, b: lib.sub(a, b, alpha=0.5), "real", "real"),
    ("mul", lambda lib, a, b: lib.mul(a, b), "real", "real"),
    ("div", lambda lib, a, b: lib.div(a, b), "real", "nonzero"),
    ("div_trunc", lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"), "real", "nonzero"),
    ("div_floor", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), "real", "nonzero"),
    ("true_divide", lambda lib, a, b: lib.true_divide(a, b), "real", "nonzero"),
    ("remainder", lambda lib, a, b: lib.remainder(a, b), "real", "nonzero"),
    ("fmod", lambda lib, a, b: lib.fmod(a, b), "real", "nonzero"),
    ("pow", lambda lib, a, b: lib.pow(a, b), "pos", "real"),
    ("atan2", lambda lib, a, b: lib.atan2(a, b), "real", "nonzero"),
    ("maximum", lambda lib, a, b: lib.maximum(a, b), "real", "real"),
    ("minimum", lambda lib, a, b: lib.minimum(a, b), "real", "real"),
    ("fmax", lambda lib, a, b: lib.fmax(a, b), "real", "real"),
    ("fmin", lambda lib, a, b: lib.fmin(a, b), "real", "real"),
]
BINARY_IDS = [b[0] for b in BINARY]
TENSOR_ONLY = ("atan2", "maximum", "minimum", "fmax", "fmin")  # torch takes no Python numbers there
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((3, 1), ())]


@pytest.mark.parametrize("name,fn,da,db", BINARY, ids=BINARY_IDS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_matches_torch_broadcast(name, fn, da, db, shapes):
    sa, sb = shapes  # 0-dim operands are made by reshaping one-element tensors

    def run(lib, x, y):
        return fn(lib, x.reshape(sa), y.reshape(sb))
    out = check(run, sample(da, sa or (1,)), sample(db, sb or (1,)))
    assert out[0].shape == ember.Size(np.broadcast_shapes(*shapes))


@pytest.mark.parametrize("name,fn,da,db", BINARY, ids=BINARY_IDS)
def test_binary_noncontiguous_and_gradcheck(name, fn, da, db):
    check(fn, sample(da, (3, 4)), sample(db, (3, 4)), noncontig=True)
    gradcheck_fd(fn, sample(da, (2, 3), np.float64), sample(db, (3,), np.float64))


@pytest.mark.parametrize("name,fn,da,db", BINARY, ids=BINARY_IDS)
def test_binary_python_scalar_operands(name, fn, da, db):
    if name in TENSOR_ONLY:
        with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'other' \\(position 2\\) must be Tensor, not float"):
            fn(ember, ember.ones(2), 2.5)
        return
    b = float(sample(db, ()))
    check(lambda lib, x: fn(lib, x, b), sample(da, (3, 4)))
    check(lambda lib, x: fn(lib, x, 2), sample(da, (3, 4)))
    # torch has no derivative for remainder(number, tensor)
    if name != "fmod":  # torch.fmod takes no number as its first argument
        check(lambda lib, y: fn(lib, 2.5, y), sample(db, (3, 4)), grad=name != "remainder")


@pytest.mark.parametrize("name,fn,da,db", BINARY, ids=BINARY_IDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_binary_integer_and_bool_inputs(name, fn, da, db, dtype):
    a = np.array([[7, -7, 3], [0, 5, -2]]).astype(dtype)
    b = np.array([2, -3, 1]).astype(dtype)
    behaves_like_torch(fn, a, b)
    behaves_like_torch(lambda lib, x, y: fn(lib, x, 3), a, b)


def test_binary_float_special_values():
    a = np.array([5.5, -5.5, 0.0, -0.0, np.inf, np.nan, 1.0, -1.0, 0.0], dtype=np.float32)
    b = np.array([-2.0, 2.0, 0.0, -1.0, 2.0, 1.0, np.nan, -0.0, -0.0], dtype=np.float32)
    for _, fn, _, _ in BINARY:
        check(fn, a, b, grad=False)


def test_maximum_minimum_tie_gradients_split():
    a = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    b = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    for f in ("maximum", "minimum", "fmax", "fmin"):
        check(lambda lib, x, y: getattr(lib, f)(x, y), a, b)


def test_pow_special_cases():
    a = np.array([0.0, 1.0, 2.0, 0.5], dtype=np.float32)
    e = np.array([0.0, 1.0, 2.0, 0.0], dtype=np.float32)
    check(lambda lib, x, y: lib.pow(x, y), a, e)  # zero base/exponent gradients
    for p in (0, 1, 2, 3, 0.5, -0.5, -1, -2, 1.7, -3):
        check(lambda lib, x: x ** p, sample("pos", (3, 4)))
        check(lambda lib, x: p ** x if p > 0 else x ** p, sample("real", (3, 4)))
    check(lambda lib, x: 0.0 ** x, np.array([0.0, 1.0, 2.0], dtype=np.float32))
    names = {(ember.ones(2, requires_grad=True) ** 2).grad_fn.name(),
             (2 ** ember.ones(2, requires_grad=True)).grad_fn.name(),
             (ember.ones(2, requires_grad=True) ** ember.ones(2)).grad_fn.name()}
    assert names == {"PowBackward0", "PowBackward2", "PowBackward1"}


def test_integer_pow_wraps_and_negative_exponents():
    check(lambda lib, x, y: lib.pow(x, y), np.array([1, -1, 2, 0, -1, 3]), np.array([-3, -3, -1, 2, 4, 40]),
          grad=False)
    check(lambda lib, x: x ** 7, np.array([2, 3], dtype=np.int8), grad=False)
    check(lambda lib, x: (2 ** x, x ** 2, lib.square(x)), np.array([0, 1, 5]), grad=False)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        ember.tensor([2]) ** -1


def test_integer_division_semantics_and_zero_division():
    a = np.array([5, -5, 7, -7, 0], dtype=np.int64)
    b = np.array([2, 2, -3, -3, 3], dtype=np.int64)
    check(lambda lib, x, y: (x // y, x % y, lib.fmod(x, y), lib.div(x, y, rounding_mode="trunc"),
                             lib.div(x, y, rounding_mode="floor"), x / y), a, b, grad=False)
    check(lambda lib, x: (7 // x, 7 % x, x // -2, x % -2), b, grad=False)
    i64min = np.array([np.iinfo(np.int64).min], dtype=np.int64)
    check(lambda lib, x: (x // -1, x % -1), i64min, grad=False)
    for op in (lambda x: x // 0, lambda x: x % 0, lambda x: ember.fmod(x, 0),
               lambda x: ember.div(x, 0, rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(ember.tensor([1, 2]))
    check(lambda lib, x: (x // 0.0, x % 0.0, x / 0), np.array([1.0, -1.0, 0.0], dtype=np.float32), grad=False)


def test_floor_divide_backward_not_implemented_like_torch():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x // 2
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        y.sum().backward()


def test_alpha_checks():
    with pytest.raises(RuntimeError, match="For integral input tensors, argument alpha must not be a floating point"):
        ember.add(ember.tensor([1]), ember.tensor([1]), alpha=2.5)
    with pytest.raises(RuntimeError, match="Boolean alpha only supported for Boolean results"):
        ember.add(ember.tensor([1.0]), ember.tensor([1.0]), alpha=True)
    check(lambda lib, x, y: (lib.add(x, y, alpha=3), lib.sub(x, y, alpha=2), lib.rsub(x, y, alpha=2)),
          np.array([1, 2]), np.array([3, 4]), grad=False)
    check(lambda lib, x, y: (x.add(y, alpha=1.5), x.sub(y, alpha=-2), lib.subtract(x, y)),
          sample("real", (3,)), sample("real", (3,)))


# ---- operators ----------------------------------------------------------------------------------
OPERATORS = [
    lambda lib, a, b: a + b, lambda lib, a, b: a - b, lambda lib, a, b: a * b, lambda lib, a, b: a / b,
    lambda lib, a, b: a // b, lambda lib, a, b: a % b, lambda lib, a, b: abs(a) ** b,
    lambda lib, a, b: 2 + a, lambda lib, a, b: 2 - a, lambda lib, a, b: 2 * a, lambda lib, a, b: 2 / a,
    lambda lib, a, b: 2 // a, lambda lib, a, b: 2.5 % a, lambda lib, a, b: 2 ** a, lambda lib, a, b: a ** 2,
    lambda lib, a, b: a + 1.5, lambda lib, a, b: a - True, lambda lib, a, b: (a == b, a != b, a < b, a <= b),
    lambda lib, a, b: (a > b, a >= b, a > 0, 0 < a, a == 1.0, 1 != a),
]


@pytest.mark.parametrize("k", range(len(OPERATORS)))
def test_operators_match_torch(k):
    fn = OPERATORS[k]
    a, b = sample("nonzero", (3, 4)), sample("nonzero", (4,))
    if k in (16,):  # bool operand to '-' is an error in both libraries
        behaves_like_torch(fn, a, b)
        return
    grad = k not in (4, 11, 12)  # no derivative for floor division nor number % tensor in torch
    check(fn, a, b, grad=grad)
    check(fn, np.array([[3, -4, 5, 1]]), np.array([2, 3, -1, 7]), grad=False)


def test_inplace_operators_match_torch():
    def fn(lib, x, y):
        z = x * 1
        z += y
        z -= 0.5
        z *= y
        z /= 2
        z **= 2
        z %= 5
        return z
    check(fn, sample("real", (3, 4)), sample("nonzero", (4,)))

    def ifn(lib, x, y):
        z = x.clone()
        z //= y
        z %= 4
        z &= 6
        z |= 1
        z ^= 3
        z <<= 2
        z >>= 1
        z += 2
        z -= y
        z *= y
        return z
    check(ifn, np.array([9, -7, 4]), np.array([2, 3, -5]), grad=False)


def test_eq_with_non_tensor_returns_false():
    x = ember.tensor([1, 2])
    assert (x == None) is False  # noqa: E711
    assert (x == "a") is False
    assert (x != "a") is True
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        x += "a"
    with pytest.raises(TypeError, match="must be Tensor or Number"):
        ember.add(x, "a")


# ---- comparisons, logical, bitwise --------------------------------------------------------------
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
           "greater", "greater_equal", "less", "less_equal", "not_equal"]


@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_and_logical_match_torch(name):
    a = np.array([[1.0, np.nan, 0.0, -2.0], [3.0, 2.0, 0.0, np.inf]], dtype=np.float32)
    b = np.array([1.0, 1.0, 0.0, -3.0], dtype=np.float32)
    check(lambda lib, x, y: getattr(lib, name)(x, y), a, b, grad=False)
    check(lambda lib, x, y: getattr(x, name)(y), a, b, grad=False, noncontig=True)
    if name.startswith("logical"):  # tensors only, as torch
        behaves_like_torch(lambda lib, x: getattr(lib, name)(x, 1), a)
    else:
        check(lambda lib, x: (getattr(lib, name)(x, 1), getattr(x, name)(0.0)), a, grad=False)
    check(lambda lib, x, y: getattr(lib, name)(x, y), np.array([[1, 0, 3]]), np.array([True, False, True]), grad=False)
    behaves_like_torch(lambda lib, x, y: getattr(x.clone(), name + "_")(y), a, b)
    behaves_like_torch(lambda lib, x, y: getattr(x.clone(), name + "_")(y), np.array([1, 0, 3]), b[:3])
    behaves_like_torch(lambda lib, x, y: getattr(x.clone(), name + "_")(y), np.array([True, False, True]),
                       np.array([1, 0, 3]))


def test_comparison_inplace_on_grad_tensor_gives_zero_gradient():
    def fn(lib, x, y):
        z = x * 1
        z.lt_(y)
        return z * x
    check(fn, sample("real", (3,)), sample("real", (3,)))


BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]


@pytest.mark.parametrize("name", BITWISE)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_])
def test_bitwise_match_torch(name, dtype):
    a = np.array([[5, -8, 0, 127], [3, 1, 64, -1]]).astype(dtype)
    b = np.array([3, 1, 70, 2]).astype(dtype) if dtype != np.bool_ else np.array([True, False, True, True])
    behaves_like_torch(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
    behaves_like_torch(lambda lib, x, y: getattr(lib, name)(x, 2), a, b)
    behaves_like_torch(lambda lib, x, y: getattr(x.clone(), name + "_")(y), a, b)
    behaves_like_torch(lambda lib, x: (~x, lib.bitwise_not(x), lib.logical_not(x)), a)


def test_bitwise_shift_out_of_range_and_operators():
    a = np.array([-8, 8, 1, -1], dtype=np.int64)
    b = np.array([70, 1, -1, 64], dtype=np.int64)
    check(lambda lib, x, y: (x << y, x >> y, 2 << y.abs() % 8, x & 6, 3 | x, x ^ True), a, b, grad=False)
    check(lambda lib, x, y: (x & y, x | y, x ^ y, ~x), np.array([True, False, True]), np.array([True, True, False]),
          grad=False)


def test_bitwise_on_float_raises_like_torch():
    f = np.array([1.0, 2.0], dtype=np.float32)
    for fn in (lambda lib, x: x & x, lambda lib, x: lib.bitwise_or(x, 1), lambda lib, x: lib.bitwise_not(x),
               lambda lib, x: x << 1, lambda lib, x: x.bitwise_xor_(x)):
        behaves_like_torch(fn, f)
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
        ember.tensor([1.0]) & ember.tensor([1.0])
    with pytest.raises(TypeError, match=re.escape("~ (operator.invert) is only implemented on integer and Boolean")):
        ~ember.tensor([1.0])


def test_isnan_isinf_isfinite_integer_inputs():
    check(lambda lib, x: (lib.isnan(x), lib.isinf(x), lib.isfinite(x), x.isnan()), np.array([1, 2]), grad=False)


# ---- clamp / where / lerp / addcmul / addcdiv ---------------------------------------------------
CLAMPS = [
    lambda lib, x, lo, hi: lib.clamp(x, -1, 1),
    lambda lib, x, lo, hi: lib.clamp(x, min=-0.5),
    lambda lib, x, lo, hi: x.clamp(max=0.5),
    lambda lib, x, lo, hi: lib.clip(x, -1.5, 0.25),
    lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
    lambda lib, x, lo, hi: lib.clamp(x, min=lo),
    lambda lib, x, lo, hi: lib.clamp(x, max=hi),
    lambda lib, x, lo, hi: lib.clamp(x, hi, lo),  # min > max: max wins, as torch
    lambda lib, x, lo, hi: (lib.clamp_min(x, 0.2), lib.clamp_max(x, -0.2), x.clamp_min(lo), x.clamp_max(hi)),
]


@pytest.mark.parametrize("k", range(len(CLAMPS)))
def test_clamp_matches_torch(k):
    fn = CLAMPS[k]
    x = sample("real", (3, 4))
    lo, hi = sample("unit", (4,)) - 0.5, sample("unit", (3, 1)) + 1.0
    check(fn, x, lo, hi)
    check(fn, x, lo, hi, noncontig=True)
    gradcheck_fd(fn, x.astype(np.float64), lo.astype(np.float64), hi.astype(np.float64))


def test_clamp_nodes_dtypes_nan_and_inplace():
    x = ember.tensor([1.0, -2.0], requires_grad=True)
    names = [f(x).grad_fn.name() for f in (lambda t: t.clamp(0, 1), lambda t: t.clamp(ember.zeros(2)),
                                                   lambda t: t.clamp_min(0), lambda t: t.clamp_max(ember.ones(2)))]
    assert names == ["ClampBackward1", "ClampBackward0", "ClampMinBackward0", "ClampMaxBackward1"]
    check(lambda lib, x: (lib.clamp(x, 0.5), lib.clamp(x, 0, 1), lib.clip(x, max=1)), np.array([1, 2, -3]),
          grad=False)
    check(lambda lib, x: (lib.clamp(x, 0, 0.5), lib.clamp(x, min=float("nan"))),
          np.array([np.nan, 1.0, -1.0], dtype=np.float32), grad=False)
    check(lambda lib, x: ((x * 1).clamp_(-0.5, 0.5), (x * 1).clamp_min_(0.1), (x * 1).clamp_max_(-0.1),
                          (x * 1).clip_(max=0.3)), sample("real", (3, 4)))
    behaves_like_torch(lambda lib, x: x.clamp_(0.5), np.array([1, 2]))
    behaves_like_torch(lambda lib, x: lib.clamp(x, True, True), np.array([True, False]))


def test_clamp_requires_a_bound():
    with pytest.raises(RuntimeError, match="torch.clamp: At least one of 'min' or 'max' must not be None"):
        ember.clamp(ember.ones(2))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        ember.ones(2).clamp_()


def test_where_matches_torch():
    c = np.array([[True, False, True, False]])
    a, b = sample("real", (3, 4)), sample("real", (3, 1))
    check(lambda lib, k, x, y: lib.where(k, x, y), c, a, b)
    check(lambda lib, k, x, y: (lib.where(k, x, 0.0), lib.where(k, 1.5, y), x.where(k, y), x.where(k, -1)), c, a, b)
    check(lambda lib, k, x, y: lib.where(k, x, y), c, a, b, noncontig=True)
    gradcheck_fd(lambda lib, k, x, y: lib.where(k, x, y), c, a.astype(np.float64), b.astype(np.float64))
    for x, y in ((np.array([1, 2, 3, 4]), 2.0), (np.array([1, 2, 3, 4]), np.array([1.0, 2.0, 3.0, 4.0])),
                 (np.array([1, 2, 3, 4], dtype=np.int32), 7)):
        behaves_like_torch(lambda lib, k, x: lib.where(k, x, y if not isinstance(y, np.ndarray) else lib.tensor(y)),
                           c, x)
    behaves_like_torch(lambda lib, k: lib.where(k, 1, 2), c)
    behaves_like_torch(lambda lib, k: lib.where(k, 1.0, 2), c)


def test_where_errors():
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, but got a tensor with dtype Long"):
        ember.where(ember.tensor([1, 0]), ember.ones(2), ember.zeros(2))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(3\)"):
        ember.where(ember.tensor([True, False]), ember.ones(3), ember.zeros(2))


def test_lerp_matches_torch():
    s, e, w = sample("real", (3, 4)), sample("real", (4,)), sample("unit", (3, 1)) + 0.3
    for fn in (lambda lib, s, e, w: lib.lerp(s, e, 0.3), lambda lib, s, e, w: lib.lerp(s, e, 0.8),
               lambda lib, s, e, w: s.lerp(e, w), lambda lib, s, e, w: (s * 1).lerp_(e, w),
               lambda lib, s, e, w: (s * 1).lerp_(e, 0.25)):
        check(fn, s, e, w)
        gradcheck_fd(fn, s.astype(np.float64), e.astype(np.float64), w.astype(np.float64))


def test_lerp_errors():
    f = ember.ones(2)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        ember.lerp(f, f.double(), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `weight` but got dtype long int"):
        ember.lerp(f, f, ember.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"lerp_kernel_scalar\" not implemented for 'Long'"):
        ember.lerp(ember.tensor([1]), ember.tensor([2]), 0.5)


def test_addcmul_addcdiv_match_torch():
    a, t1, t2 = sample("real", (3, 4)), sample("real", (4,)), sample("nonzero", (3, 1))
    for fn in (lambda lib, a, x, y: lib.addcmul(a, x, y), lambda lib, a, x, y: lib.addcdiv(a, x, y, value=0.5),
               lambda lib, a, x, y: a.addcmul(x, y, value=-2), lambda lib, a, x, y: (a * 1).addcdiv_(x, y, value=3),
               lambda lib, a, x, y: (a * 1).addcmul_(x, y)):
        check(fn, a, t1, t2)
        gradcheck_fd(fn, a.astype(np.float64), t1.astype(np.float64), t2.astype(np.float64))
    check(lambda lib, a, x, y: lib.addcmul(a, x, y, value=2), np.array([1, 2]), np.array([3, 4]), np.array([5, 6]),
          grad=False)
    behaves_like_torch(lambda lib, a, x, y: lib.addcdiv(a, x, y), np.array([1.0], dtype=np.float32), np.array([3]),
                       np.array([2]))


# ---- isclose / allclose / equal -----------------------------------------------------------------
def test_isclose_allclose_equal():
    a = np.array([1.0, np.nan, np.inf, 1.0, 0.0], dtype=np.float32)
    b = np.array([1.0 + 1e-7, np.nan, np.inf, 1.1, 1e-9], dtype=np.float32)
    check(lambda lib, x, y: (lib.isclose(x, y), lib.isclose(x, y, equal_nan=True), x.isclose(y, rtol=0.2),
                             lib.isclose(x, y, atol=0.0, rtol=0.0)), a, b, grad=False)
    check(lambda lib, x, y: lib.isclose(x, y, rtol=0.5), np.array([1, 4, 10]), np.array([1, 5, 20]), grad=False)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.2}):
        assert ember.allclose(ember.tensor(a), ember.tensor(b), **kw) == torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
    assert ember.tensor([1.0, 2.0]).allclose(ember.tensor([1.0, 2.0 + 1e-9]))
    assert ember.equal(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0], dtype=ember.float64))
    assert not ember.equal(ember.tensor([1.0, 2.0]), ember.tensor([1.0]))
    assert not ember.equal(ember.tensor([float("nan")]), ember.tensor([float("nan")]))
    assert ember.tensor([1, 2]).equal(ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Bool did not match Long"):
        ember.isclose(ember.tensor([True]), ember.tensor([1]))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got -1"):
        ember.isclose(ember.ones(1), ember.ones(1), rtol=-1)
    with pytest.raises(RuntimeError, match="atol must be greater than or equal to zero"):
        ember.allclose(ember.ones(1), ember.ones(1), atol=-1)


# ---- in-place semantics -------------------------------------------------------------------------
INPLACE = [
    lambda lib, x, y: x.add_(y, alpha=2), lambda lib, x, y: x.sub_(y), lambda lib, x, y: x.mul_(y),
    lambda lib, x, y: x.div_(y), lambda lib, x, y: x.div_(y, rounding_mode="floor"),
    lambda lib, x, y: x.remainder_(y), lambda lib, x, y: x.fmod_(y), lambda lib, x, y: x.abs_().pow_(y),
    lambda lib, x, y: x.atan2_(y), lambda lib, x, y: x.mul_(2.5), lambda lib, x, y: x.sub_(1, alpha=2),
    lambda lib, x, y: x.true_divide_(y), lambda lib, x, y: x.mul_(y).sigmoid_(),
    lambda lib, x, y: x.clamp_(y - 1, y), lambda lib, x, y: x.lerp_(y.expand(3, 4), 0.3),
]


@pytest.mark.parametrize("k", range(len(INPLACE)))
def test_inplace_binary_autograd_matches_torch(k):
    fn = INPLACE[k]

    def run(lib, x, y):
        z = x * 1
        r = fn(lib, z, y)
        assert r is z
        return z
    check(run, sample("nonzero", (3, 4)), sample("nonzero", (4,)))


def test_inplace_exp_then_backward_like_torch():
    check(lambda lib, x: (lambda y: (y.exp_(), y)[1])(x * 2), sample("real", (3,)))
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v = y._version
    y.exp_()
    assert y._version == v + 1
    assert y.grad_fn.name() == "ExpBackward0"


def test_inplace_mul_by_tensor_that_requires_grad_uses_old_value():
    def fn(lib, x, y):
        z = x * 1
        z.mul_(y)
        z.mul_(y)
        return z
    check(fn, sample("real", (3, 4)), sample("real", (3, 4)))


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(2, requires_grad=True)
    for op in (lambda t: t.add_(1), lambda t: t.exp_(), lambda t: t.clamp_(0), lambda t: t.mul_(2),
               lambda t: t.relu_(), lambda t: t.pow_(2)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            op(x)
    with ember.no_grad():
        x.mul_(3)
    np.testing.assert_array_equal(x.detach().numpy(), [3.0, 3.0])


def test_inplace_dtype_errors():
    cases = [
        (lambda lib, x: x.add_(1.5), np.array([1, 2])),
        (lambda lib, x: x.div_(2), np.array([1, 2])),
        (lambda lib, x: x.exp_(), np.array([1, 2])),
        (lambda lib, x: x.add_(1), np.array([True, False])),
        (lambda lib, x: x.mul_(lib.tensor([1.5, 2.0])), np.array([1, 2], dtype=np.int32)),
        (lambda lib, x: x.sigmoid_(), np.array([1, 2])),
    ]
    for fn, a in cases:
        behaves_like_torch(fn, a)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        ember.tensor([1, 2]).add_(0.5)
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        ember.tensor([True]).add_(1)


def test_inplace_broadcast_shape_error():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        ember.ones(3).add_(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]"):
        ember.ones(3, 1).clamp_(ember.zeros(4))


def test_inplace_memory_overlap_like_torch():
    x = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    for fn in (lambda lib, y: y.add_(y), lambda lib, y: y.add_(y.t()), lambda lib, y: y.add_(y.t().t()),
               lambda lib, y: y.mul_(y), lambda lib, y: y.clamp_(y.t(), y),
               lambda lib, y: y.reshape(1, 9).expand(3, 9).add_(1), lambda lib, y: y.t().exp_()):
        behaves_like_torch(lambda lib, y: (fn(lib, y), y)[1], x)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor refer to a single"):
        y = ember.ones(3, 3)
        y.add_(y.t())


def test_inplace_mixed_dtype_computes_in_result_type():
    check(lambda lib, x, y: (x.clone().add_(y), x.clone().mul_(y), x.clone().sub_(y)),
          np.array([1.1, 2.2, 3.3], dtype=np.float32), np.array([1e-9 + 1, 2.0, 3.0], dtype=np.float64), grad=False)
    check(lambda lib, x, y: (x.clone().add_(y), x.clone().floor_divide_(y), x.clone().remainder_(y)),
          np.array([200, 7, 9], dtype=np.uint8), np.array([-3, 2, -4], dtype=np.int8), grad=False)


def test_inplace_returns_self_and_bumps_version_once():
    x = ember.ones(3)
    for op in (lambda t: t.add_(1), lambda t: t.mul_(2.0), lambda t: t.clamp_(0, 5), lambda t: t.exp_(),
               lambda t: t.lt_(100), lambda t: t.relu_()):
        v = x._version
        assert op(x) is x
        assert x._version == v + 1


def test_saved_tensor_modified_in_place_is_detected():
    for second in (lambda y: y.add_(1), lambda y: y.log_(), lambda y: y.mul_(2)):
        for first in (lambda x: x.exp(), lambda x: (x * 1).exp_(), lambda x: (x * 1).sigmoid_()):
            x = ember.ones(3, requires_grad=True)
            y = first(x)
            second(y)
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()


# ---- errors -------------------------------------------------------------------------------------
def test_bool_arithmetic_errors_like_torch():
    b = np.array([True, False])
    for fn in (lambda lib, x: -x, lambda lib, x: x - x, lambda lib, x: lib.sub(x.long(), x), lambda lib, x: x.abs(),
               lambda lib, x: x.relu(), lambda lib, x: x.floor(), lambda lib, x: x.frac(), lambda lib, x: x.neg_(),
               lambda lib, x: x % x, lambda lib, x: x // x, lambda lib, x: lib.fmod(x, x), lambda lib, x: x ** x,
               lambda lib, x: lib.div(x, x, rounding_mode="trunc")):
        behaves_like_torch(fn, b)


def test_div_rounding_mode_error():
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'bad'"):
        ember.div(ember.ones(2), 2, rounding_mode="bad")
    with pytest.raises(RuntimeError, match="but found 'round'"):
        ember.ones(2).div_(2, rounding_mode="round")


def test_shape_mismatch_error_names_sizes():
    for fn in (lambda x, y: x * y, lambda x, y: ember.maximum(x, y), lambda x, y: ember.eq(x, y),
               lambda x, y: ember.pow(x, y), lambda x, y: ember.clamp(x, y)):
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\)"):
            fn(ember.ones(3), ember.ones(4))


def test_round_frac_integer_errors():
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        ember.round(ember.tensor([1, 2]), decimals=1)
    with pytest.raises(NotImplementedError, match="\"frac_cpu\" not implemented for 'Long'"):
        ember.tensor([1]).frac()
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        ember.relu(ember.tensor([True]))


# ---- property test: random broadcastable shapes -------------------------------------------------
@st.composite
def broadcastable_pair(draw):
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 4)) for _ in range(rank)]
    other = [1 if draw(st.booleans()) else s for s in shape]
    drop = draw(st.integers(0, rank))
    other = other[drop:]
    if draw(st.booleans()):
        shape, other = other, shape
    return tuple(shape), tuple(other)


@settings(max_examples=25, deadline=None)
@given(broadcastable_pair(), st.sampled_from([0, 2, 3, 5, 11, 12]))
def test_broadcasting_random_shapes(shapes, k):
    fn = BINARY[k][1]
    rng = np.random.RandomState(sum(shapes[0]) + 7 * len(shapes[1]))
    sa, sb = shapes
    a = sample(BINARY[k][2], sa or (1,), rng=rng)
    b = sample(BINARY[k][3], sb or (1,), rng=rng)
    check(lambda lib, x, y: fn(lib, x.reshape(sa), y.reshape(sb)), a, b)
    c = rng.rand(*(sb or (1,))) > 0.5
    check(lambda lib, k, x, y: lib.where(k.reshape(sb), x.reshape(sa), y), c, a, b)


def test_large_tensor_parallel_path_matches_torch():
    a = sample("real", (300, 257), np.float64)
    b = sample("real", (257,), np.float64)
    check(lambda lib, x, y: (lib.sigmoid(x), lib.tanh(x) * y, lib.exp(x), x + y, lib.maximum(x, y)), a, b)
    check(lambda lib, x: lib.clamp(x, -1, 1), a, noncontig=True)
    t = ember.tensor(a)
    assert_close(ember.relu(t), torch.relu(torch.tensor(a)))

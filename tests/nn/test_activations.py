"""Activation functions and modules against torch: values, gradients (first and second order),
in-place forms, float64 finite-difference gradchecks, reprs and errors."""
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd, same_error

# name -> fn(lib, x): the functional forms of every activation with non-default arguments too.
ACTIVATIONS = {
    "relu": lambda L, x: L.nn.functional.relu(x),
    "relu6": lambda L, x: L.nn.functional.relu6(x),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "elu_alpha": lambda L, x: L.nn.functional.elu(x, alpha=0.3),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "celu": lambda L, x: L.nn.functional.celu(x, alpha=1.7),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "leaky_relu_slope": lambda L, x: L.nn.functional.leaky_relu(x, 0.2),
    "gelu": lambda L, x: L.nn.functional.gelu(x),
    "gelu_tanh": lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "mish": lambda L, x: L.nn.functional.mish(x),
    "sigmoid": lambda L, x: L.nn.functional.sigmoid(x),
    "tanh": lambda L, x: L.nn.functional.tanh(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
    "hardtanh_bounds": lambda L, x: L.nn.functional.hardtanh(x, -0.5, 1.5),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "softplus_beta": lambda L, x: L.nn.functional.softplus(x, beta=2.0, threshold=1.0),
    "softsign": lambda L, x: L.nn.functional.softsign(x),
    "tanhshrink": lambda L, x: L.nn.functional.tanhshrink(x),
    "threshold": lambda L, x: L.nn.functional.threshold(x, 0.3, -2.0),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "hardshrink": lambda L, x: L.nn.functional.hardshrink(x, 0.7),
    "softshrink": lambda L, x: L.nn.functional.softshrink(x, 0.7),
    "glu": lambda L, x: L.nn.functional.glu(x, 0),
    "rrelu_eval": lambda L, x: L.nn.functional.rrelu(x, 0.1, 0.3, training=False),
    "softmax": lambda L, x: L.nn.functional.softmax(x, 1),
    "softmin": lambda L, x: L.nn.functional.softmin(x, -1),
    "log_softmax": lambda L, x: L.nn.functional.log_softmax(x, 0),
    "softmax_dtype": lambda L, x: L.nn.functional.softmax(x, 1, dtype=L.float64),
}

# Activations with a C++ kernel of their own (gradchecked in float64).
KERNELS = ["elu", "elu_alpha", "selu", "celu", "leaky_relu", "gelu", "gelu_tanh", "silu", "mish", "hardtanh_bounds",
           "hardsigmoid", "hardswish", "softplus", "softplus_beta", "threshold", "logsigmoid", "hardshrink",
           "softshrink", "relu6"]


def data(shape=(4, 6), seed=0, scale=3.0):
    """Values spread over the kinks of every activation, away from them by more than gradcheck's eps."""
    x = np.random.RandomState(seed).uniform(-scale, scale, size=shape)
    for kink in (0.0, 0.3, 0.7, -0.7, 3.0, -3.0, 1.0, -1.0, 1.5, -0.5, 6.0):
        x[np.abs(x - kink) < 1e-3] += 2e-3
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_backward_against_torch(name):
    check(ACTIVATIONS[name], data().astype(np.float32))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float64_and_noncontiguous(name):
    check(ACTIVATIONS[name], data((6, 4), seed=1), noncontig=True)


@pytest.mark.parametrize("name", KERNELS)
def test_gradcheck_float64(name):
    gradcheck_fd(ACTIVATIONS[name], data((3, 4), seed=2))


# (torch has no double backward for hardsigmoid)
@pytest.mark.parametrize("name", [k for k in KERNELS if k != "hardsigmoid"] + ["softsign", "tanhshrink"])
def test_double_backward_against_torch(name):
    # create_graph runs the composite backward; its gradient must match torch's second derivative.
    x = data((3, 5), seed=3)
    u = np.random.RandomState(4).standard_normal((3, 5))
    results = []
    for L in (ember, torch):
        xt = L.tensor(x, requires_grad=True)
        y = ACTIVATIONS[name](L, xt)
        (g,) = L.autograd.grad((y * L.tensor(u)).sum(), xt, create_graph=True)
        if g.requires_grad:
            (g * g).sum().backward()
        # Piecewise-linear activations: ember's gradient does not depend on x at all (torch
        # records a node with a zero derivative).
        results.append((g.detach().numpy(), xt.grad.numpy() if xt.grad is not None else np.zeros_like(x)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", KERNELS)
def test_grad_fn_names(name):
    xe = ember.tensor(data(), requires_grad=True)
    xt = torch.tensor(data(), requires_grad=True)
    assert ACTIVATIONS[name](ember, xe).grad_fn.name() == ACTIVATIONS[name](torch, xt).grad_fn.name()


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4),
       name=st.sampled_from(sorted(set(KERNELS) | {"softsign", "tanhshrink"})))
def test_random_shapes(shape, name):
    check(ACTIVATIONS[name], data(tuple(shape), seed=5).astype(np.float32))


INPLACE = {
    "relu": lambda L, x: L.nn.functional.relu(x, inplace=True),
    "relu_": lambda L, x: L.nn.functional.relu_(x),
    "relu6": lambda L, x: L.nn.functional.relu6(x, inplace=True),
    "elu": lambda L, x: L.nn.functional.elu(x, 0.5, inplace=True),
    "elu_": lambda L, x: L.nn.functional.elu_(x, 0.5),
    "selu": lambda L, x: L.nn.functional.selu(x, inplace=True),
    "selu_": lambda L, x: L.nn.functional.selu_(x),
    "celu": lambda L, x: L.nn.functional.celu(x, 2.0, inplace=True),
    "celu_": lambda L, x: L.nn.functional.celu_(x, 2.0),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.1, inplace=True),
    "leaky_relu_": lambda L, x: L.nn.functional.leaky_relu_(x, 0.1),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x, -0.5, 0.5, inplace=True),
    "hardtanh_": lambda L, x: L.nn.functional.hardtanh_(x, -0.5, 0.5),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x, inplace=True),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x, inplace=True),
    "silu": lambda L, x: L.nn.functional.silu(x, inplace=True),
    "mish": lambda L, x: L.nn.functional.mish(x, inplace=True),
    "threshold": lambda L, x: L.nn.functional.threshold(x, 0.3, 5.0, inplace=True),
    "threshold_": lambda L, x: L.nn.functional.threshold_(x, 0.3, 5.0),
    "rrelu_eval": lambda L, x: L.nn.functional.rrelu(x, inplace=True),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_forms(name):
    # Applied to a non-leaf (x * 1) so that gradients flow back through the in-place op.
    def fn(L, x):
        y = x * 1
        out = INPLACE[name](L, y)
        assert out is y
        return y
    check(fn, data().astype(np.float32))


@pytest.mark.parametrize("name", ["hardtanh", "relu6", "threshold"])
def test_integer_inputs_keep_dtype(name):
    x = np.array([[-3, -1, 0, 1, 2, 7]], dtype=np.int64)
    check(ACTIVATIONS[name], x, grad=False)
    check(lambda L, x: L.nn.functional.hardtanh(x, 1.5, 2.5), x, grad=False)
    check(lambda L, x: L.nn.functional.threshold(x, 1.5, 0.5), x, grad=False)


@pytest.mark.parametrize("name", ["elu", "gelu", "silu", "mish", "leaky_relu", "hardsigmoid", "hardswish",
                                  "softplus", "logsigmoid", "hardshrink", "softshrink", "selu", "celu"])
def test_integer_inputs_not_implemented(name):
    msg = None
    with pytest.raises(NotImplementedError) as t_err:
        ACTIVATIONS[name](torch, torch.tensor([1, 2]))
    msg = str(t_err.value)
    with pytest.raises(NotImplementedError, match=re.escape(msg)):
        ACTIVATIONS[name](ember, ember.tensor([1, 2]))


def test_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 50.0, -50.0], dtype=np.float32)
    for name in KERNELS:
        # torch's gelu gives NaN at +inf; ember gives the limit, inf.
        check(ACTIVATIONS[name], x[[0, 3, 4, 5, 6]] if name.startswith("gelu") else x, grad=False)


def test_extreme_values_are_stable():
    x = np.array([-1e4, -100.0, 100.0, 1e4], dtype=np.float64)
    for name in ["softplus", "logsigmoid", "mish", "silu", "gelu", "elu", "selu"]:
        check(ACTIVATIONS[name], x)


def test_prelu_functional():
    x = data((2, 3, 4)).astype(np.float32)
    check(lambda L, x, w: L.nn.functional.prelu(x, w), x, np.array([0.1, -0.2, 0.3], np.float32))
    check(lambda L, x, w: L.nn.functional.prelu(x, w), x, np.array([0.25], np.float32))
    check(lambda L, x, w: L.prelu(x, w), data((5,)).astype(np.float32), np.array([0.3], np.float32))
    check(lambda L, x, w: x.prelu(w), data((2, 3)), np.array([0.1, 0.2, 0.3]))
    gradcheck_fd(lambda L, x, w: L.nn.functional.prelu(x, w), data((2, 3, 2)), np.array([0.1, -0.2, 0.3]))


def test_rrelu_training_draws_slopes_in_range():
    ember.manual_seed(0)
    x = ember.tensor(-np.linspace(0.5, 2.0, 1000).astype(np.float32), requires_grad=True)
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    ratio = (y / x).detach().numpy()
    assert ratio.min() >= 0.1 and ratio.max() <= 0.3 and ratio.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ratio, rtol=1e-6)
    pos = ember.tensor([1.0, 2.0])
    assert ember.nn.functional.rrelu(pos, training=True).tolist() == [1.0, 2.0]


def test_softmax_implicit_dim_warns_like_torch():
    for ndim in range(5):
        x = data((2,) * ndim + (3,) if ndim else ()).astype(np.float32)
        for fn in ("softmax", "softmin", "log_softmax"):
            with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn} has been deprecated"):
                e = getattr(ember.nn.functional, fn)(ember.tensor(x))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = getattr(torch.nn.functional, fn)(torch.tensor(x))
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)


def test_softmax_module_without_dim_warns():
    x = data((2, 3, 4)).astype(np.float32)
    for cls in ("Softmax", "Softmin", "LogSoftmax"):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            e = getattr(ember.nn, cls)()(ember.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = getattr(torch.nn, cls)()(torch.tensor(x))
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)


# ---- modules --------------------------------------------------------------------------------------

# (class name, args, kwargs) covering default and non-default arguments.
MODULES = [
    ("Threshold", (0.1, 20), {}), ("Threshold", (0.5, -1.0), {"inplace": True}),
    ("ReLU", (), {}), ("ReLU", (True,), {}),
    ("RReLU", (), {}), ("RReLU", (0.2, 0.4, True), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 3.0), {"inplace": True}),
    ("ReLU6", (), {}), ("ReLU6", (True,), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Hardsigmoid", (), {}), ("Hardsigmoid", (True,), {}),
    ("Hardswish", (), {}), ("Hardswish", (True,), {}),
    ("SiLU", (), {}), ("SiLU", (True,), {}),
    ("Mish", (), {}), ("Mish", (True,), {}),
    ("ELU", (), {}), ("ELU", (0.5, True), {}),
    ("CELU", (), {}), ("CELU", (2.0,), {"inplace": True}),
    ("SELU", (), {}), ("SELU", (True,), {}),
    ("GLU", (), {}), ("GLU", (0,), {}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}),
    ("Hardshrink", (), {}), ("Hardshrink", (0.3,), {}),
    ("Softshrink", (), {}), ("Softshrink", (0.3,), {}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}),
    ("LogSigmoid", (), {}),
    ("Softplus", (), {}), ("Softplus", (2, 5), {}),
    ("PReLU", (), {}), ("PReLU", (4, 0.1), {}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Softmin", (1,), {}), ("Softmax", (-1,), {}), ("LogSoftmax", (0,), {}),
    ("Softmax", (), {}), ("Softmax2d", (), {}),
]


def _ids(m):
    return f"{m[0]}{m[1]}{m[2] or ''}"


@pytest.mark.parametrize("spec", MODULES, ids=_ids)
def test_module_repr_and_state_dict(spec):
    name, args, kwargs = spec
    e, t = getattr(ember.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(e) == repr(t)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]


@pytest.mark.parametrize("spec", [m for m in MODULES if m[0] not in ("RReLU", "Softmax2d") and m[1] != ()
                                  or m[0] in ("Sigmoid", "Tanh", "PReLU", "GELU", "SELU", "LogSigmoid")],
                         ids=_ids)
def test_module_forward_backward(spec):
    name, args, kwargs = spec
    x = data((2, 4, 3)).astype(np.float32)
    t_mod = getattr(torch.nn, name)(*args, **kwargs)
    e_mod = getattr(ember.nn, name)(*args, **kwargs)
    if name == "PReLU":
        with torch.no_grad():
            t_mod.weight.uniform_(-0.5, 0.5)
        e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    outs = []
    for L, mod in ((ember, e_mod), (torch, t_mod)):
        xt = L.tensor(x, requires_grad=True)
        y = mod(xt * 1)
        y.backward(L.tensor(np.random.RandomState(7).standard_normal(tuple(y.shape)).astype(np.float32)))
        grads = [p.grad.numpy() for p in mod.parameters()]
        outs.append((y.detach().numpy(), xt.grad.numpy(), grads))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
    for ge, gt in zip(outs[0][2], outs[1][2]):
        np.testing.assert_allclose(ge, gt, rtol=1e-5, atol=1e-5)


def test_rrelu_module_train_and_eval():
    x = ember.tensor(-np.ones(100, np.float32))
    m = ember.nn.RReLU(0.1, 0.3)
    y = m(x).numpy()
    assert (y <= -0.1).all() and (y >= -0.3).all() and y.std() > 0
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)


def test_prelu_default_init():
    for n in (1, 5):
        m = ember.nn.PReLU(n)
        assert m.weight.shape == (n,) and np.all(m.weight.detach().numpy() == np.float32(0.25))
    assert np.all(ember.nn.PReLU(3, init=-0.5).weight.detach().numpy() == -0.5)
    assert ember.nn.PReLU(dtype=ember.float64).weight.dtype == ember.float64


def test_softmax2d():
    check(lambda L, x: L.nn.Softmax2d()(x), data((2, 3, 4, 2)).astype(np.float32))
    check(lambda L, x: L.nn.Softmax2d()(x), data((3, 4, 2)).astype(np.float32))


# ---- errors ----------------------------------------------------------------------------------------



@pytest.mark.parametrize("fn", [
    lambda L: L.nn.functional.hardtanh(L.ones(2), 2.0, 1.0),
    lambda L: L.nn.functional.gelu(L.ones(2), approximate="fast"),
    lambda L: L.nn.functional.celu(L.ones(2), alpha=0.0),
    lambda L: L.nn.functional.softshrink(L.ones(2), -1.0),
    lambda L: L.nn.functional.softshrink(L.ones(2, dtype=L.float64), -1.0),
    lambda L: L.nn.functional.softmax(L.ones(2, 3), 2),
    lambda L: L.nn.functional.log_softmax(L.ones(2, 3), -3),
    lambda L: L.nn.functional.softmin(L.ones(2, 3), 5),
    lambda L: L.nn.functional.prelu(L.ones(2, 4), L.ones(3)),
    lambda L: L.nn.functional.prelu(L.ones(4), L.ones(4)),
    lambda L: L.nn.functional.prelu(L.ones(2, 4), L.ones(2, 2)),
    lambda L: L.nn.functional.hardtanh(L.tensor([True])),
    lambda L: L.nn.functional.threshold(L.tensor([True]), 0, 1),
    lambda L: L.nn.functional.glu(L.ones(3), 0),
    lambda L: L.nn.functional.glu(L.ones(()), 0),
    lambda L: L.nn.Softmax2d()(L.ones(2, 3)),
    lambda L: L.nn.Hardtanh(1.0, 1.0),
    lambda L: L.nn.functional.relu(L.ones(2, requires_grad=True), inplace=True),
    lambda L: L.nn.functional.elu_(L.ones(2, requires_grad=True)),
])
def test_errors_match_torch(fn):
    same_error(fn)


def test_leaf_inplace_error_message():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        ember.nn.ReLU(inplace=True)(ember.ones(2, requires_grad=True))


def test_elu_inplace_on_integer_is_not_implemented():
    with pytest.raises(NotImplementedError, match="\"elu_cpu\" not implemented for 'Long'"):
        ember.nn.functional.elu_(ember.tensor([1, 2]))


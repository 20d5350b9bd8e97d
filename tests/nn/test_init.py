"""nn.init against torch.nn.init.

Random initialisers are checked by their distributions (bounds, moments, orthogonality)
against the formulas torch uses, since ember and torch draw different random streams.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


def param(*shape, dtype=None):
    return nn.Parameter(ember.zeros(*shape, dtype=dtype))


def values(t):
    return t.detach().numpy().astype(np.float64)


# ---- gains and fans ---------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_matches_torch(nonlinearity):
    assert nn.init.calculate_gain(nonlinearity) == torch.nn.init.calculate_gain(nonlinearity)


@pytest.mark.parametrize("slope", [None, 0, 1, 0.2, -0.5, math.sqrt(5)])
def test_calculate_gain_leaky_relu_slope(slope):
    assert nn.init.calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain("leaky_relu", slope)


@pytest.mark.parametrize("args", [("leaky_relu", True), ("leaky_relu", "0.1"), ("softmax",), ("Relu",)])
def test_calculate_gain_errors(args):
    with pytest.raises(ValueError) as t_err:
        torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError) as e_err:
        nn.init.calculate_gain(*args)
    assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape", [(2, 3), (4, 3, 5), (6, 2, 3, 3), (1, 1, 2, 2, 2), (3, 0)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert nn.init._calculate_fan_in_and_fan_out(ember.zeros(shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


@pytest.mark.parametrize("shape", [(3,), ()])
def test_fan_needs_two_dims(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(ember.zeros(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(ember.zeros(shape))


# ---- deterministic fills ----------------------------------------------------------------

@pytest.mark.parametrize("fill", [
    lambda init, t: init.constant_(t, 2.5),
    lambda init, t: init.ones_(t),
    lambda init, t: init.zeros_(t),
    lambda init, t: init.eye_(t),
])
def test_deterministic_fills_match_torch_and_keep_leaf(fill):
    tp = torch.nn.Parameter(torch.full((3, 4), 9.0))
    ep = nn.Parameter(ember.full((3, 4), 9.0))
    assert fill(nn.init, ep) is ep
    fill(torch.nn.init, tp)
    np.testing.assert_array_equal(ep.detach().numpy(), tp.detach().numpy())
    assert ep.requires_grad and ep.is_leaf and ep.grad_fn is None


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eye_matches_torch(shape, dtype):
    e = nn.init.eye_(ember.full(shape, 3.0, dtype=getattr(ember, dtype)))
    t = torch.nn.init.eye_(torch.full(shape, 3.0, dtype=getattr(torch, dtype)))
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.dtype == getattr(ember, dtype)


def test_eye_needs_two_dims():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.eye_(ember.zeros(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((4, 4, 3, 3), 1), ((4, 2, 3, 3), 2), ((6, 2, 3, 4), 3),
                                          ((2, 3, 3, 3, 3), 1), ((2, 5, 2, 2), 1), ((4, 2, 5), 4)])
def test_dirac_matches_torch(shape, groups):
    e = nn.init.dirac_(ember.full(shape, 7.0), groups)
    t = torch.nn.init.dirac_(torch.full(shape, 7.0), groups)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("shape,groups,match", [((3, 3), 1, "3, 4, or 5 dimensions"),
                                                ((3, 2, 2), 2, "dim 0 must be divisible by groups")])
def test_dirac_errors(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        torch.nn.init.dirac_(torch.zeros(shape), groups)
    with pytest.raises(ValueError, match=match):
        nn.init.dirac_(ember.zeros(shape), groups)


# ---- random fills -----------------------------------------------------------------------

def test_uniform_and_normal_fill_in_place_under_no_grad():
    p = param(200, 100)
    assert nn.init.uniform_(p, -0.5, 2.0) is p
    v = values(p)
    assert p.grad_fn is None and p.requires_grad
    assert v.min() >= -0.5 and v.max() < 2.0 and v.min() < -0.45 and v.max() > 1.95
    assert abs(v.mean() - 0.75) < 0.02
    assert nn.init.normal_(p, 1.0, 0.5) is p
    v = values(p)
    assert abs(v.mean() - 1.0) < 0.01 and abs(v.std() - 0.5) < 0.01


def _torch_bound(fn, shape, **kwargs):
    """The bound torch's uniform initialiser uses, from torch's own fan and gain helpers."""
    t = torch.zeros(shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    if fn == "xavier_uniform_":
        return kwargs.get("gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out))
    fan = torch.nn.init._calculate_correct_fan(t, kwargs.get("mode", "fan_in"))
    gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
    return gain * math.sqrt(3.0 / fan)


@pytest.mark.parametrize("fn,shape,kwargs", [
    ("xavier_uniform_", (300, 200), {}),
    ("xavier_uniform_", (64, 32, 3, 3), {"gain": 2.0}),
    ("kaiming_uniform_", (300, 200), {}),
    ("kaiming_uniform_", (300, 200), {"a": math.sqrt(5)}),
    ("kaiming_uniform_", (300, 200), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform_", (32, 16, 5, 5), {"mode": "FAN_IN", "nonlinearity": "tanh"}),
])
def test_uniform_initialisers_use_torch_bounds(fn, shape, kwargs):
    bound = _torch_bound(fn, shape, **kwargs)
    p = param(*shape)
    assert getattr(nn.init, fn)(p, **kwargs) is p
    v = values(p)
    assert np.abs(v).max() <= bound * (1 + 1e-6)
    assert np.abs(v).max() > 0.99 * bound
    # The torch sample of the same shape has the same spread.
    tv = getattr(torch.nn.init, fn)(torch.zeros(shape), **kwargs).numpy()
    assert abs(v.std() - tv.std()) < 0.03 * tv.std()


@pytest.mark.parametrize("fn,shape,kwargs,std", [
    ("xavier_normal_", (300, 200), {}, math.sqrt(2.0 / 500)),
    ("xavier_normal_", (64, 32, 3, 3), {"gain": 0.5}, 0.5 * math.sqrt(2.0 / (96 * 9))),
    ("kaiming_normal_", (300, 200), {}, math.sqrt(2.0 / 200)),
    ("kaiming_normal_", (300, 200), {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2.0 / 300)),
    ("kaiming_normal_", (300, 200), {"a": 0.3}, math.sqrt(2.0 / (1 + 0.09)) / math.sqrt(200)),
])
def test_normal_initialisers_std(fn, shape, kwargs, std):
    p = param(*shape)
    assert getattr(nn.init, fn)(p, **kwargs) is p
    v = values(p)
    tv = getattr(torch.nn.init, fn)(torch.zeros(shape), **kwargs).numpy()
    assert abs(tv.std() - std) < 0.02 * std  # the formula is torch's
    assert abs(v.std() - std) < 0.02 * std
    assert abs(v.mean()) < 0.02 * std * 10


def test_kaiming_errors_and_zero_element_warning():
    with pytest.raises(ValueError, match="Mode fan_avg not supported, please use one of"):
        nn.init.kaiming_uniform_(param(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.kaiming_normal_(param(3, 3), nonlinearity="gelu")
    for fn in (nn.init.kaiming_uniform_, nn.init.kaiming_normal_):
        z = param(0, 3)
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fn(z) is z


@pytest.mark.parametrize("shape,gain", [((3, 5), 1.0), ((5, 3), 1.0), ((6, 6), 2.0), ((4, 2, 3), 1.0),
                                        ((10, 3, 2, 2), 0.5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal(shape, gain, dtype):
    p = nn.Parameter(ember.zeros(shape, dtype=getattr(ember, dtype)))
    assert nn.init.orthogonal_(p, gain=gain) is p
    assert p.dtype == getattr(ember, dtype) and p.requires_grad and p.grad_fn is None
    w = values(p).reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5 * max(1, gain ** 2))


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        nn.init.orthogonal_(ember.zeros(4))
    z = ember.zeros(0, 3)
    assert nn.init.orthogonal_(z) is z


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.5, 3.0),
                                          (0.0, 1.0, -0.1, 0.1)])
def test_trunc_normal_matches_torch_distribution(mean, std, a, b):
    shape = (400, 250)
    p = param(*shape)
    assert nn.init.trunc_normal_(p, mean, std, a, b) is p
    v = values(p)
    assert v.min() >= a and v.max() <= b
    tv = torch.nn.init.trunc_normal_(torch.zeros(shape), mean, std, a, b).double().numpy()
    assert abs(v.mean() - tv.mean()) < 0.02 * (b - a)
    assert abs(v.std() - tv.std()) < 0.03 * tv.std()
    # Same shape of distribution: deciles agree.
    np.testing.assert_allclose(np.quantile(v, np.linspace(0.1, 0.9, 9)),
                               np.quantile(tv, np.linspace(0.1, 0.9, 9)), atol=0.02 * (b - a))


def test_trunc_normal_far_mean_warns_and_float64():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        nn.init.trunc_normal_(param(10, 10), mean=10.0, std=1.0, a=-2.0, b=2.0)
    t = ember.zeros(50, 40, dtype=ember.float64)
    nn.init.trunc_normal_(t, a=-1.0, b=1.5)
    assert t.dtype == ember.float64 and values(t).min() >= -1.0 and values(t).max() <= 1.5


def test_sparse():
    p = param(10, 30)
    assert nn.init.sparse_(p, 0.35, std=0.1) is p
    v = values(p)
    assert ((v == 0).sum(axis=0) == math.ceil(0.35 * 10)).all()
    assert abs(v[v != 0].std() - 0.1) < 0.03
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.sparse_(param(3), 0.5)


# ---- generators, determinism, deprecated names ------------------------------------------

@pytest.mark.parametrize("fn,kwargs", [
    ("uniform_", {}), ("normal_", {}), ("xavier_uniform_", {}), ("xavier_normal_", {}), ("kaiming_uniform_", {}),
    ("kaiming_normal_", {}), ("orthogonal_", {}), ("trunc_normal_", {}), ("sparse_", {"sparsity": 0.5}),
])
def test_generator_makes_initialisers_reproducible(fn, kwargs):
    def draw(seed):
        g = ember.Generator().manual_seed(seed)
        return values(getattr(nn.init, fn)(param(6, 5), generator=g, **kwargs))

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    ember.manual_seed(11)
    first = values(getattr(nn.init, fn)(param(6, 5), **kwargs))
    ember.manual_seed(11)
    np.testing.assert_array_equal(values(getattr(nn.init, fn)(param(6, 5), **kwargs)), first)


@pytest.mark.parametrize("old", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                                 "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"])
def test_deprecated_aliases_warn(old):
    args = {"constant": (1.0,), "sparse": (0.1,)}.get(old, ())
    shape = (2, 2, 3) if old == "dirac" else (3, 3)
    with pytest.warns(FutureWarning, match=f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"):
        getattr(nn.init, old)(ember.zeros(shape), *args)


def test_init_of_a_module_tree():
    """The usual loop: re-initialise every weight of a model in place."""
    m = nn.Sequential(nn.Module(), nn.Module())
    m[0].weight = param(8, 4)
    m[1].weight = param(2, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, p in m.named_parameters():
            nn.init.kaiming_uniform_(p, a=math.sqrt(5))
    for p in m.parameters():
        bound = 1.0 / math.sqrt(p.shape[1])  # kaiming_uniform_ with a=sqrt(5): 1/sqrt(fan_in)
        assert np.abs(values(p)).max() <= bound * (1 + 1e-6)

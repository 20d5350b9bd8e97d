"""nn.Conv1d/2d/3d and nn.ConvTranspose1d/2d/3d against torch: parameters, initialisation,
repr, forward/backward with copied weights, padding modes, output_size, errors."""
import math

import numpy as np
import pytest
import torch

import ember
from nn_helpers import as_ember_text, copy_params
from oracle import assert_close

MODULES = [
    ("Conv1d", (4, 6, 3), dict()),
    ("Conv1d", (4, 6, 3), dict(bias=False, dilation=2, padding="same")),
    ("Conv2d", (4, 6, 3), dict()),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=(1, 2), groups=2, padding_mode="circular")),
    ("Conv2d", (4, 6, 3), dict(padding="valid", bias=False)),
    ("Conv2d", (3, 3, 4), dict(padding="same", padding_mode="reflect", groups=3)),
    ("Conv2d", (2, 4, 3), dict(padding=1, padding_mode="replicate")),
    ("Conv3d", (4, 6, (3, 2, 1)), dict()),
    ("Conv3d", (2, 2, 2), dict(padding=1, padding_mode="reflect", stride=(1, 2, 1))),
    ("ConvTranspose1d", (4, 6, 3), dict(output_padding=1, stride=2, dilation=2, groups=2, bias=False)),
    ("ConvTranspose2d", (4, 6, 3), dict(output_padding=1, stride=2)),
    ("ConvTranspose2d", (4, 2, (2, 3)), dict(padding=(1, 0), dilation=(2, 1))),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2, output_padding=(1, 0, 1))),
]


def _input(name, n_in, spatial=5, batch=2):
    nd = int(name[-2])
    return np.random.standard_normal((batch, n_in) + (spatial,) * nd).astype(np.float32)


@pytest.mark.parametrize("name,args,kw", MODULES)
def test_module_matches_torch(name, args, kw):
    mt = getattr(torch.nn, name)(*args, **kw)
    me = getattr(ember.nn, name)(*args, **kw)
    assert repr(me) == repr(mt)
    assert [(k, tuple(v.shape)) for k, v in me.named_parameters()] == \
           [(k, tuple(v.shape)) for k, v in mt.named_parameters()]
    copy_params(mt, me)
    x_np = _input(name, args[0])
    xe, xt = ember.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt, rtol=1e-4, atol=1e-4)
    u = np.random.standard_normal(tuple(yt.shape)).astype(np.float32)
    (ye * ember.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)
    for (k, pe), (_, pt) in zip(me.named_parameters(), mt.named_parameters()):
        assert_close(pe.grad, pt.grad, rtol=1e-4, atol=1e-4, msg=k)
    # unbatched input
    assert_close(me(ember.tensor(x_np[0])), mt(torch.tensor(x_np[0])), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,args,kw", [MODULES[2], MODULES[9], MODULES[10]])
def test_default_init_bounds(name, args, kw):
    m = getattr(ember.nn, name)(*args, **kw)
    w = m.weight.detach().numpy()
    fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias share this bound
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.25)
    if m.bias is not None:
        b = m.bias.detach().numpy()
        assert np.abs(b).max() <= bound
    ember.manual_seed(3)
    a = getattr(ember.nn, name)(*args, **kw).weight.detach().numpy().copy()
    ember.manual_seed(3)
    assert np.array_equal(a, getattr(ember.nn, name)(*args, **kw).weight.detach().numpy())


def test_conv2d_float64_module():
    m = ember.nn.Conv2d(2, 3, 3, dtype=ember.float64)
    assert m.weight.dtype == ember.float64 and m.bias.dtype == ember.float64
    assert m(ember.zeros(1, 2, 4, 4, dtype=ember.float64)).dtype == ember.float64


@pytest.mark.parametrize("output_size", [(12, 12), (11, 11), (2, 3, 12, 11), [11, 12]])
def test_conv_transpose_output_size(output_size):
    mt = torch.nn.ConvTranspose2d(4, 3, 3, stride=2)
    me = ember.nn.ConvTranspose2d(4, 3, 3, stride=2)
    copy_params(mt, me)
    x = np.random.standard_normal((2, 4, 5, 5)).astype(np.float32)
    assert_close(me(ember.tensor(x), output_size=output_size), mt(torch.tensor(x), output_size=output_size),
                 rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("output_size", [(13, 13), (10, 11), (1, 11, 11)])
def test_conv_transpose_bad_output_size(output_size):
    errs = []
    for lib in (torch, ember):
        m = lib.nn.ConvTranspose2d(4, 3, 3, stride=2)
        with pytest.raises(ValueError) as e:
            m(lib.zeros(2, 4, 5, 5), output_size=output_size)
        errs.append(str(e.value))
    assert errs[1] == as_ember_text(errs[0])


@pytest.mark.parametrize("ctor", [
    lambda nn: nn.Conv2d(4, 3, 3, padding="same", stride=2),
    lambda nn: nn.Conv2d(4, 3, 3, padding_mode="foo"),
    lambda nn: nn.Conv2d(4, 3, 3, groups=3),
    lambda nn: nn.Conv2d(4, 4, 3, groups=0),
    lambda nn: nn.Conv2d(4, 6, 3, groups=4),
    lambda nn: nn.Conv2d(4, 3, 3, padding="foo"),
    lambda nn: nn.ConvTranspose2d(4, 3, 3, padding_mode="reflect"),
])
def test_constructor_errors(ctor):
    with pytest.raises(ValueError) as t_err:
        ctor(torch.nn)
    with pytest.raises(ValueError) as e_err:
        ctor(ember.nn)
    if "padding_mode must be one of" in str(t_err.value):  # a set: its order varies between runs
        assert str(e_err.value).endswith(", but got padding_mode='foo'")
    else:
        assert str(e_err.value) == str(t_err.value)


def test_layer_errors_match_torch():
    for shape in [(1, 4, 1, 5)]:
        errs = []
        for lib in (torch, ember):
            with pytest.raises(RuntimeError) as e:
                lib.nn.Conv2d(4, 3, 3, padding_mode="reflect", padding=1)(lib.zeros(shape))
            errs.append(str(e.value))
        assert errs[1] == as_ember_text(errs[0])
    errs = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as e:
            lib.nn.Conv2d(4, 3, 3)(lib.zeros(2, 3, 5, 5))
        errs.append(str(e.value))
    assert errs[1] == as_ember_text(errs[0])


def test_state_dict_round_trip():
    me = ember.nn.Conv2d(2, 4, 3)
    other = ember.nn.Conv2d(2, 4, 3)
    other.load_state_dict(me.state_dict())
    x = ember.randn(1, 2, 5, 5)
    assert np.array_equal(me(x).detach().numpy(), other(x).detach().numpy())
    assert list(me.state_dict().keys()) == ["weight", "bias"]

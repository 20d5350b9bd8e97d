"""Instance norm, group norm, layer norm over image shapes and local response norm against
torch: functional forms and modules, outputs, gradients, running statistics, double backward,
float64 gradcheck, reprs and errors."""
import warnings

import numpy as np
import pytest
import torch

import ember
from nn_helpers import copy_params
from oracle import assert_close, check, gradcheck_fd, same_error

rng = np.random.RandomState(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)




# ---- instance norm -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 2, 4, 3), (2, 2, 2, 3, 2), (1, 4, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_functional(shape, affine):
    c = shape[1]

    def fn(lib, x, w, b):
        return lib.nn.functional.instance_norm(x, weight=w if affine else None, bias=b if affine else None)
    check(fn, randn(*shape), randn(c), randn(c))


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_stats(use_input_stats):
    rm_np, rv_np = randn(3) * 0.3, rng.rand(3).astype(np.float32) + 0.5

    def fn(lib, x, w, b):
        rm, rv = lib.tensor(rm_np), lib.tensor(rv_np)
        out = lib.nn.functional.instance_norm(x, rm, rv, w, b, use_input_stats=use_input_stats, momentum=0.3)
        return out, rm, rv
    check(fn, randn(4, 3, 6), randn(3), randn(3))
    check(fn, randn(2, 3, 3, 4), randn(3), randn(3), noncontig=True)


def test_instance_norm_grad_fn_and_gradcheck():
    y = ember.nn.functional.instance_norm(ember.randn(2, 3, 4, requires_grad=True))
    assert y.grad_fn.name() == "ViewBackward0"
    gradcheck_fd(lambda lib, x, w, b: lib.nn.functional.instance_norm(x, weight=w, bias=b),
                 randn(2, 2, 3), randn(2), randn(2))


INSTANCE_MODULES = [
    ("InstanceNorm1d", {}, (3, 4, 5)),
    ("InstanceNorm1d", {"affine": True}, (4, 6)),
    ("InstanceNorm2d", {"affine": True, "track_running_stats": True}, (2, 4, 3, 3)),
    ("InstanceNorm2d", {"track_running_stats": True, "momentum": None}, (4, 3, 5)),
    ("InstanceNorm3d", {"affine": True}, (2, 4, 2, 3, 2)),
    ("InstanceNorm3d", {"track_running_stats": True}, (4, 2, 3, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", INSTANCE_MODULES)
def test_instance_norm_modules(name, kwargs, shape):
    tm, em = getattr(torch.nn, name)(4, **kwargs), getattr(ember.nn, name)(4, **kwargs)
    assert repr(em) == repr(tm)
    assert list(em.state_dict().keys()) == list(tm.state_dict().keys())
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-0.5, 0.5)
    copy_params(tm, em)
    for step in range(2):
        x_np = randn(*shape) * (step + 1)
        xt, xe = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
        yt, ye = tm(xt), em(xe)
        assert_close(ye, yt)
        u = randn(*shape)
        (yt * torch.tensor(u)).sum().backward()
        (ye * ember.tensor(u)).sum().backward()
        assert_close(xe.grad, xt.grad)
        for (tn, tp), (_, ep) in zip(tm.named_parameters(), em.named_parameters()):
            assert_close(ep.grad, tp.grad, msg=tn)
        for (tn, tb), (en, eb) in zip(tm.named_buffers(), em.named_buffers()):
            assert tn == en
            assert_close(eb, tb, msg=tn)
    tm.eval()
    em.eval()
    x_np = randn(*shape)
    assert_close(em(ember.tensor(x_np)), tm(torch.tensor(x_np)))


def test_instance_norm_num_features_warning():
    em = ember.nn.InstanceNorm1d(3)
    with pytest.warns(UserWarning, match=r"input's size at dim=1 does not match num_features"):
        em(ember.randn(2, 4, 5))


INSTANCE_ERRORS = [
    lambda lib: lib.nn.InstanceNorm1d(3)(lib.randn(3)),
    lambda lib: lib.nn.InstanceNorm2d(3)(lib.randn(2, 3)),
    lambda lib: lib.nn.InstanceNorm3d(3)(lib.randn(2, 3, 4)),
    lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.randn(2, 4, 5)),
    lambda lib: lib.nn.functional.instance_norm(lib.randn(2, 3, 1)),
    lambda lib: lib.nn.functional.instance_norm(lib.randn(2, 3, 4), use_input_stats=False),
    lambda lib: lib.nn.functional.instance_norm(lib.randn(4, 3, 5), lib.zeros(4), lib.ones(4)),
    lambda lib: lib.nn.functional.instance_norm(lib.randn(4, 3, 5), None, None, lib.ones(4)),
]


@pytest.mark.parametrize("call", INSTANCE_ERRORS)
def test_instance_norm_errors(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(call)


# ---- group norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("groups", [1, 2, 3, 6])
@pytest.mark.parametrize("shape", [(2, 6), (3, 6, 5), (2, 6, 3, 4), (1, 6, 2, 2, 3)])
def test_group_norm_functional(groups, shape):
    # one value per group normalises to 0: its input gradient is rounding noise
    atol = 1e-4 if len(shape) == 2 and groups == 6 else None
    check(lambda lib, x, w, b: lib.nn.functional.group_norm(x, groups, w, b, eps=1e-4), randn(*shape), randn(6),
          randn(6), atol=atol)


def test_group_norm_options():
    x = randn(3, 4, 5, 2)
    check(lambda lib, x: lib.nn.functional.group_norm(x, 2), x)
    check(lambda lib, x, w: lib.nn.functional.group_norm(x, 4, w), x, randn(4), noncontig=True)
    # torch's backward fails for a bias without weight: compare with an explicit unit weight there
    check(lambda lib, x, b: lib.nn.functional.group_norm(x, 1, None if lib is ember else lib.ones(4), b), x,
          randn(4))
    check(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 2, w, b), x.astype(np.float64),
          randn(4, dtype=np.float64), randn(4, dtype=np.float64))


def test_group_norm_gradcheck_and_double_backward():
    gradcheck_fd(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 2, w, b), randn(2, 4, 3), randn(4), randn(4))
    x_np, w_np = randn(2, 4, 3, dtype=np.float64), randn(4, dtype=np.float64)
    grads = {}
    for lib in (ember, torch):
        x, w = lib.tensor(x_np, requires_grad=True), lib.tensor(w_np, requires_grad=True)
        y = lib.nn.functional.group_norm(x, 2, w)
        gx, = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        gx.pow(2).sum().backward()
        grads[lib.__name__] = (x.grad, w.grad)
    for e, t in zip(grads["ember"], grads["torch"]):
        assert_close(e, t)
    y = ember.nn.functional.group_norm(ember.randn(2, 4, requires_grad=True), 2)
    assert y.grad_fn.name() == "NativeGroupNormBackward0"


def test_group_norm_thread_count_independent():
    x_np = randn(4, 8, 64, 64)
    results = []
    for threads in (1, 2):
        prev = ember.get_num_threads()
        ember.set_num_threads(threads)
        try:
            x = ember.tensor(x_np, requires_grad=True)
            w = ember.ones(8, requires_grad=True)
            y = ember.nn.functional.group_norm(x, 4, w)
            (y * y).sum().backward()
            results.append([t.numpy().copy() for t in (y.detach(), x.grad, w.grad)])
        finally:
            ember.set_num_threads(prev)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("args,kwargs", [((2, 6), {}), ((3, 6), {"affine": False}), ((1, 4), {"eps": 1e-3}),
                                         ((2, 4), {"bias": False})])
def test_group_norm_module(args, kwargs):
    tm, em = torch.nn.GroupNorm(*args, **kwargs), ember.nn.GroupNorm(*args, **kwargs)
    assert repr(em) == repr(tm)
    assert list(em.state_dict().keys()) == list(tm.state_dict().keys())
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
    copy_params(tm, em)
    x_np = randn(3, args[1], 4, 2)
    xt, xe = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
    yt, ye = tm(xt), em(xe)
    assert_close(ye, yt)
    yt.pow(2).sum().backward()
    ye.pow(2).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)
    for (tn, tp), (_, ep) in zip(tm.named_parameters(), em.named_parameters()):
        assert_close(ep.grad, tp.grad, rtol=1e-4, atol=1e-4, msg=tn)


GROUP_ERRORS = [
    lambda lib: lib.nn.GroupNorm(2, 3),
    lambda lib: lib.nn.functional.group_norm(lib.randn(4, 3, 5), 2),
    lambda lib: lib.nn.functional.group_norm(lib.randn(4, 3, 5), 3, lib.ones(4)),
    lambda lib: lib.nn.functional.group_norm(lib.randn(4, 3, 5), 3, lib.ones(3, 1)),
    lambda lib: lib.nn.functional.group_norm(lib.randn(4, 3, 5), 3, lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.nn.functional.group_norm(lib.randn(3), 1),
    lambda lib: lib.nn.functional.group_norm(lib.randn(1, 3), 3),
    lambda lib: lib.nn.functional.group_norm(lib.randn(4, 3, 5), 0),
    lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4, dtype=lib.int64), 2),
]


@pytest.mark.parametrize("call", GROUP_ERRORS)
def test_group_norm_errors(call):
    same_error(call)


def test_group_norm_core_errors():
    # (torch's message names the weight's shape here)
    with pytest.raises(RuntimeError, match=r"Expected bias to be a vector .* got bias of shape \[2\] and input of "
                                           r"shape \[4, 3, 5\]"):
        ember.nn.functional.group_norm(ember.randn(4, 3, 5), 3, None, ember.ones(2))
    with pytest.raises(RuntimeError, match="num groups to be greater than 0, got 0"):
        ember.group_norm(ember.randn(2, 4), 0)
    with pytest.raises(RuntimeError, match=r"Expected input of shape \(2, 4, \.\.\.\)"):
        ember.native_group_norm(ember.randn(2, 4, 3), None, None, 2, 4, 5, 2, 1e-5)


# ---- layer norm over image shapes ----------------------------------------------------------------

@pytest.mark.parametrize("normalized", [(3, 4, 5), (4, 5), (5,)])
def test_layer_norm_image_shapes(normalized):
    x = randn(2, 3, 4, 5)
    check(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, normalized, w, b), x, randn(*normalized),
          randn(*normalized))
    check(lambda lib, x: lib.nn.functional.layer_norm(x, normalized), x, noncontig=True)
    tm, em = torch.nn.LayerNorm(normalized), ember.nn.LayerNorm(normalized)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
    copy_params(tm, em)
    assert repr(em) == repr(tm)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))


def test_layer_norm_image_gradcheck():
    gradcheck_fd(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (2, 2, 3), w, b), randn(2, 2, 2, 3),
                 randn(2, 2, 3), randn(2, 2, 3))


# ---- local response norm -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 6, 3, 3), (1, 4, 2, 3, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_local_response_norm(shape, size):
    check(lambda lib, x: lib.nn.functional.local_response_norm(x, size, alpha=0.5, beta=0.6, k=2.0),
          randn(*shape) * 2)
    # (torch's own implementation cannot take a non-contiguous input of more than 4 dims)
    check(lambda lib, x: lib.nn.functional.local_response_norm(x, size), randn(*shape), noncontig=len(shape) < 5)


def test_local_response_norm_module_and_gradcheck():
    tm, em = torch.nn.LocalResponseNorm(3, alpha=0.1), ember.nn.LocalResponseNorm(3, alpha=0.1)
    assert repr(em) == repr(tm)
    x = randn(2, 4, 3, 3)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    gradcheck_fd(lambda lib, x: lib.nn.functional.local_response_norm(x, 3, alpha=0.3, k=1.5), randn(2, 4, 3))
    empty = ember.zeros(0, 3, 4)
    assert ember.nn.functional.local_response_norm(empty, 2).shape == (0, 3, 4)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.local_response_norm(lib.randn(2, 3), 2),
    lambda lib: lib.nn.functional.local_response_norm(lib.randn(2, 3, 4), 0),
    lambda lib: lib.nn.functional.local_response_norm(lib.randn(2, 3, 4, 4), 0),
])
def test_local_response_norm_errors(call):
    same_error(call)

"""Batch norm against torch: F.batch_norm in training and eval (outputs, running statistics,
input/weight/bias gradients, double backward), float64 finite-difference gradcheck, the
BatchNorm1d/2d/3d modules over several training steps (momentum, cumulative average, untracked
statistics), repr, state_dict, errors and thread-count independence."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from nn_helpers import copy_params
from oracle import assert_close, check, gradcheck_fd, same_error

rng = np.random.RandomState(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def running_stats(c, dtype=np.float32):
    return (rng.standard_normal(c).astype(dtype) * 0.5, (rng.rand(c) + 0.5).astype(dtype))


SHAPES = [(4, 3), (5, 3, 7), (2, 3, 4, 5), (3, 2, 3, 2, 4), (1, 4, 9), (6, 1, 2, 2)]


def bn_fn(training, momentum=0.1, eps=1e-5, affine=True, stats=True, c=None, shift=0.0, dtype=np.float32):
    rm_np, rv_np = running_stats(c, dtype) if stats else (None, None)

    def fn(lib, x, w=None, b=None):
        rm = lib.tensor(rm_np) if stats else None
        rv = lib.tensor(rv_np) if stats else None
        out = lib.nn.functional.batch_norm(x + shift, rm, rv, w if affine else None, b if affine else None,
                                           training=training, momentum=momentum, eps=eps)
        return (out, rm, rv) if stats else out
    return fn


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_functional(shape, training, affine):
    c = shape[1]
    check(bn_fn(training, affine=affine, c=c), randn(*shape), randn(c), randn(c))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_noncontiguous_and_float64(training):
    check(bn_fn(training, c=5, dtype=np.float64), randn(3, 5, 4, dtype=np.float64), randn(5, dtype=np.float64),
          randn(5, dtype=np.float64), noncontig=True)
    x = randn(6, 3, 4, 5)
    fn = bn_fn(training, c=3)
    check(lambda lib, x, w, b: fn(lib, x.permute(0, 1, 3, 2), w, b), x, randn(3), randn(3))


def test_batch_norm_without_running_stats_and_options():
    x = randn(4, 3, 6)
    check(bn_fn(True, stats=False), x, randn(3), randn(3))
    check(bn_fn(True, momentum=0.5, eps=1e-3, c=3), x, randn(3), randn(3))
    check(bn_fn(True, momentum=0.0, c=3), x, randn(3), randn(3))
    check(bn_fn(False, eps=0.0, c=3), x, randn(3), randn(3))
    # a large offset: the variance is computed about the mean, not as E[x^2] - E[x]^2
    check(bn_fn(True, c=3, shift=1000.0), x, randn(3), randn(3), rtol=1e-4, atol=1e-3)


def test_batch_norm_weight_only_and_bias_only():
    x = randn(5, 4, 3)
    check(lambda lib, x, w: lib.nn.functional.batch_norm(x, None, None, w, None, training=True), x, randn(4))
    check(lambda lib, x, b: lib.nn.functional.batch_norm(x, None, None, None, b, training=True), x, randn(4))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 4), c=st.integers(1, 5), spatial=st.lists(st.integers(1, 4), max_size=3),
       training=st.booleans(), noncontig=st.booleans())
def test_batch_norm_random_shapes(n, c, spatial, training, noncontig):
    shape = (n, c, *spatial)
    check(bn_fn(training, c=c), randn(*shape), randn(c), randn(c), noncontig=noncontig)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    rm, rv = running_stats(3, np.float64)

    def fn(lib, x, w, b):
        return lib.nn.functional.batch_norm(x, lib.tensor(rm), lib.tensor(rv), w, b, training=training)
    gradcheck_fd(fn, randn(3, 3, 2), randn(3), randn(3))
    gradcheck_fd(lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True), randn(4, 2))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_double_backward(training):
    x_np, w_np, b_np = randn(4, 3, 5, dtype=np.float64), randn(3, dtype=np.float64), randn(3, dtype=np.float64)
    rm, rv = running_stats(3, np.float64)
    u = randn(4, 3, 5, dtype=np.float64)
    grads = {}
    for lib in (ember, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        y = lib.nn.functional.batch_norm(x, lib.tensor(rm), lib.tensor(rv), w, b, training=training)
        gx, gw = lib.autograd.grad((y * lib.tensor(u)).sum(), (x, w), create_graph=True)
        (gx.pow(2).sum() + gw.pow(2).sum()).backward()
        grads[lib.__name__] = [t.grad for t in (x, w, b)]
    for e, t in zip(grads["ember"], grads["torch"]):
        assert_close(e, t)


def test_batch_norm_grad_fn_and_stats_outputs():
    x = ember.randn(4, 3, 5, requires_grad=True)
    y = ember.nn.functional.batch_norm(x, None, None, training=True)
    assert y.grad_fn.name() == "NativeBatchNormBackward0"
    out, mean, invstd = ember.native_batch_norm(x.detach(), None, None, None, None, True, 0.1, 1e-5)
    xt = torch.tensor(x.detach().numpy())
    _, tm, ti = torch.native_batch_norm(xt, None, None, None, None, True, 0.1, 1e-5)
    assert_close(mean, tm)
    assert_close(invstd, ti)


def test_batch_norm_running_update_in_place():
    rm, rv = ember.zeros(3), ember.ones(3)
    ref_m, ref_v = rm, rv
    x = ember.randn(8, 3, 4)
    ember.nn.functional.batch_norm(x, rm, rv, training=True)
    assert rm is ref_m and rv is ref_v
    xt = torch.tensor(x.numpy())
    assert_close(rm, 0.1 * xt.mean((0, 2)))
    assert_close(rv, 0.9 + 0.1 * xt.var((0, 2), unbiased=True))
    # non-contiguous running buffers are updated through their strides
    rm2 = ember.zeros(3, 2)[:, 0]
    rv2 = ember.ones(3, 2)[:, 1]
    ember.nn.functional.batch_norm(x, rm2, rv2, training=True)
    assert_close(rm2, rm)
    assert_close(rv2, rv)


def test_batch_norm_thread_count_independent():
    x_np = randn(8, 16, 32, 32)
    results = []
    for threads in (1, 2, 3):
        prev = ember.get_num_threads()
        ember.set_num_threads(threads)
        try:
            x = ember.tensor(x_np, requires_grad=True)
            w = ember.ones(16, requires_grad=True)
            rm, rv = ember.zeros(16), ember.ones(16)
            y = ember.nn.functional.batch_norm(x, rm, rv, w, None, training=True)
            (y * y).sum().backward()
            results.append([t.numpy().copy() for t in (y.detach(), x.grad, w.grad, rm, rv)])
        finally:
            ember.set_num_threads(prev)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---- errors --------------------------------------------------------------------------------------



BAD_CALLS = [
    lambda lib: lib.nn.functional.batch_norm(lib.randn(1, 3), lib.zeros(3), lib.ones(3), training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(1, 3, 1), None, None, training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None, training=False),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(3), None, training=False),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(3), None, training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(4), lib.ones(3), training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(3), lib.ones(2), training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None, lib.ones(4), training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None, None, lib.ones(2), training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None, lib.ones(3, dtype=lib.float64),
                                             training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3, dtype=lib.float64), lib.zeros(3), lib.ones(3),
                                             training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.ones(4, 3, dtype=lib.int64), None, None, training=True),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None, training=True, eps=0.0),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(3), lib.ones(3), eps=-1.0),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(3)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(2, 3, 4, 4)),
    lambda lib: lib.nn.BatchNorm2d(3)(lib.randn(2, 3, 4)),
    lambda lib: lib.nn.BatchNorm3d(3)(lib.randn(2, 3, 4, 4)),
    lambda lib: lib.nn.BatchNorm2d(3)(lib.randn(1, 3, 1, 1)),
    lambda lib: lib.nn.BatchNorm2d(4)(lib.randn(2, 3, 2, 2)),
]


@pytest.mark.parametrize("call", BAD_CALLS)
def test_batch_norm_errors(call):
    same_error(call)


def test_batch_norm_core_rank_error():
    with pytest.raises(RuntimeError, match=r"at least 2 dimensions .* size \[3\]"):
        ember.batch_norm(ember.randn(3), None, None, None, None, True, 0.1, 1e-5)


# ---- modules -------------------------------------------------------------------------------------

MODULES = [
    ("BatchNorm1d", {}, (6, 4)),
    ("BatchNorm1d", {"momentum": None}, (5, 4, 3)),
    ("BatchNorm2d", {}, (3, 4, 5, 2)),
    ("BatchNorm2d", {"momentum": None, "eps": 1e-3}, (2, 4, 3, 3)),
    ("BatchNorm2d", {"affine": False}, (2, 4, 3, 3)),
    ("BatchNorm2d", {"track_running_stats": False}, (2, 4, 3, 3)),
    ("BatchNorm2d", {"bias": False, "momentum": 0.3}, (2, 4, 3, 3)),
    ("BatchNorm3d", {}, (2, 4, 2, 3, 2)),
    ("BatchNorm3d", {"affine": False, "track_running_stats": False}, (2, 4, 2, 2, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", MODULES)
def test_batch_norm_module_training_steps(name, kwargs, shape):
    tm = getattr(torch.nn, name)(4, **kwargs)
    em = getattr(ember.nn, name)(4, **kwargs)
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            if tm.bias is not None:
                tm.bias.uniform_(-0.5, 0.5)
    copy_params(tm, em)
    for step in range(3):
        x_np = randn(*shape) * (step + 1) + step
        xt, xe = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
        yt, ye = tm(xt), em(xe)
        assert_close(ye, yt)
        u = randn(*shape)
        (yt * torch.tensor(u)).sum().backward()
        (ye * ember.tensor(u)).sum().backward()
        assert_close(xe.grad, xt.grad)
        for (tn, tp), (en, ep) in zip(tm.named_parameters(), em.named_parameters()):
            assert tn == en
            assert_close(ep.grad, tp.grad, msg=tn)
        for (tn, tb), (en, eb) in zip(tm.named_buffers(), em.named_buffers()):
            assert tn == en
            assert_close(eb, tb, msg=tn)
    tm.eval()
    em.eval()
    x_np = randn(*shape)
    assert_close(em(ember.tensor(x_np)), tm(torch.tensor(x_np)))
    if not tm.track_running_stats:
        assert em.running_mean is None and em.running_var is None and em.num_batches_tracked is None
    else:
        assert em.num_batches_tracked.dtype == ember.int64 and em.num_batches_tracked.shape == ()
        assert int(em.num_batches_tracked) == 3


@pytest.mark.parametrize("name,kwargs,_", MODULES)
def test_batch_norm_module_repr_and_state_dict(name, kwargs, _):
    tm = getattr(torch.nn, name)(4, **kwargs)
    em = getattr(ember.nn, name)(4, **kwargs)
    assert repr(em) == repr(tm)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(esd.keys()) == list(tsd.keys())
    for k in tsd:
        assert tuple(esd[k].shape) == tuple(tsd[k].shape), k
        assert str(esd[k].dtype).split(".")[1] == str(tsd[k].dtype).split(".")[1], k
        np.testing.assert_array_equal(esd[k].numpy(), tsd[k].numpy())


def test_batch_norm_load_torch_state_dict():
    tm = torch.nn.BatchNorm2d(3)
    tm(torch.randn(4, 3, 2, 2) * 3 + 1)
    tm(torch.randn(4, 3, 2, 2))
    em = ember.nn.BatchNorm2d(3)
    copy_params(tm, em)
    assert int(em.num_batches_tracked) == 2
    assert_close(em.running_var, tm.running_var)
    # a checkpoint without num_batches_tracked (saved before it existed) still loads
    sd = {k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items() if k != "num_batches_tracked"}
    em2 = ember.nn.BatchNorm2d(3)
    em2.load_state_dict(sd)
    assert int(em2.num_batches_tracked) == 0
    assert_close(em2.running_mean, tm.running_mean)


def test_batch_norm_module_reset_and_dtype():
    em = ember.nn.BatchNorm1d(3, dtype=ember.float64)
    assert em.weight.dtype == ember.float64 and em.running_mean.dtype == ember.float64
    em(ember.randn(4, 3, dtype=ember.float64) + 2)
    assert em.running_mean.requires_grad is False
    assert int(em.num_batches_tracked) == 1
    em.reset_running_stats()
    np.testing.assert_array_equal(em.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(em.running_var.numpy(), np.ones(3))
    assert int(em.num_batches_tracked) == 0
    with ember.no_grad():
        em.weight.fill_(3)
    em.reset_parameters()
    np.testing.assert_array_equal(em.weight.detach().numpy(), np.ones(3))
    assert set(dict(em.named_parameters())) == {"weight", "bias"}


def test_batch_norm_eval_without_running_stats_uses_batch_stats():
    tm, em = torch.nn.BatchNorm2d(3, track_running_stats=False), ember.nn.BatchNorm2d(3, track_running_stats=False)
    tm.eval()
    em.eval()
    x = randn(2, 3, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))

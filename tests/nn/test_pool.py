"""Pooling against torch: max / avg / adaptive / lp pooling and max_unpool, forward, backward,
indices, double backward, float64 finite differences, modules and errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd, same_error_matching as same_error


def F(lib):
    return lib.nn.functional


def rand(*shape, dtype=np.float32, seed=0):
    return np.random.RandomState(seed).standard_normal(shape).astype(dtype)




# ---- max pooling --------------------------------------------------------------------------------

MAX2D = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 1), 1, False),
    (3, 1, 1, 2, False), (2, 3, 1, (2, 1), True), (3, 3, 0, 1, True), (1, 1, 0, 1, False),
]


@pytest.mark.parametrize("k,s,p,d,ceil", MAX2D)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 2, 5, 5), (3, 6, 9)])
def test_max_pool2d(k, s, p, d, ceil, shape):
    x = rand(*shape)
    check(lambda lib, x: F(lib).max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True), x)


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, None, 0, 1, False), (3, 2, 1, 1, True), (3, 2, 1, 2, False),
                                          (4, 3, 2, 1, True)])
def test_max_pool1d(k, s, p, d, ceil):
    x = rand(2, 3, 11)
    check(lambda lib, x: F(lib).max_pool1d(x, k, s, p, d, ceil_mode=ceil), x)
    check(lambda lib, x: F(lib).max_pool1d(x, k, s, p, d, ceil_mode=ceil, return_indices=True), x[0])


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, None, 0, 1, False), (3, 2, 1, 1, True), ((1, 2, 3), (1, 2, 2), (0, 1, 1), 1, False),
                                          (2, 1, 1, 2, True)])
def test_max_pool3d(k, s, p, d, ceil):
    x = rand(2, 2, 5, 6, 7)
    check(lambda lib, x: F(lib).max_pool3d(x, k, s, p, d, ceil_mode=ceil, return_indices=True), x)
    check(lambda lib, x: F(lib).max_pool3d(x, k, s, p, d, ceil_mode=ceil), x[0])


def test_max_pool_noncontiguous_and_grad_fn():
    x = rand(2, 3, 6, 7)
    check(lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1), x, noncontig=True)
    check(lambda lib, x: F(lib).max_pool2d(x.permute(0, 2, 1, 3), 2), x)
    xe = ember.tensor(x, requires_grad=True)
    assert F(ember).max_pool2d(xe, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F(ember).max_pool3d(xe, 2).grad_fn.name() == "MaxPool3DWithIndicesBackward0"
    assert F(ember).max_pool1d(xe[0], 2).grad_fn.name() == "SqueezeBackward1"
    assert F(ember).max_pool2d(xe, 2, return_indices=True)[1].dtype == ember.int64


def test_max_pool_ties_nan_inf_and_ints():
    x = np.zeros((1, 2, 4, 4), np.float32)
    x[0, 1] = -np.inf
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 2, 3] = np.nan
    check(lambda lib, x: F(lib).max_pool2d(x, 2, 1, return_indices=True), x, grad=False)
    xi = np.random.RandomState(1).randint(-5, 5, (2, 2, 5, 5)).astype(np.int64)
    check(lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1, return_indices=True), xi, grad=False)
    # overlapping windows that share their maximum accumulate its gradient
    check(lambda lib, x: F(lib).max_pool2d(x, 3, 1, 1), np.ones((1, 1, 4, 4), np.float32))


def test_max_pool_double_backward():
    x = rand(2, 2, 5, 5, dtype=np.float64)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        out = F(lib).max_pool2d(xt, 3, 2, 1)
        g = lib.ones(out.shape, dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(out, xt, g, create_graph=True)
        (gg,) = lib.autograd.grad((gx * xt).sum(), g)
        res.append((gx.detach().numpy(), gg.detach().numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


def test_max_pool_gradcheck():
    x = rand(1, 2, 5, 6, dtype=np.float64)
    gradcheck_fd(lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1, ceil_mode=True), x)
    gradcheck_fd(lambda lib, x: F(lib).max_pool3d(x, 2, 1), rand(1, 1, 3, 4, 4, dtype=np.float64))
    gradcheck_fd(lambda lib, x: F(lib).max_pool1d(x, 3, 2, 1), x[0])


def test_max_pool_thread_count_independent():
    x = ember.tensor(rand(8, 16, 40, 40), requires_grad=True)
    outs = []
    prev = ember.get_num_threads()
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            x.grad = None
            y = F(ember).avg_pool2d(x, 3, 2, 1) + F(ember).max_pool2d(x, 3, 2, 1)
            y.backward(ember.ones(y.shape))
            outs.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
    finally:
        ember.set_num_threads(prev)
    assert np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1])


# ---- average pooling -------------------------------------------------------------------------------

AVG2D = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, None, 0, False, True, None), (3, 2, 1, False, True, None), (3, 2, 1, True, False, None),
    ((2, 3), (2, 1), (1, 1), True, True, None), (3, 2, 1, True, True, None), (2, 2, 1, False, False, 3),
    (3, 3, 0, True, True, None),
]


@pytest.mark.parametrize("k,s,p,ceil,cip,div", AVG2D)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 5, 6)])
def test_avg_pool2d(k, s, p, ceil, cip, div, shape):
    x = rand(*shape)
    check(lambda lib, x: F(lib).avg_pool2d(x, k, s, p, ceil, cip, div), x)


@pytest.mark.parametrize("k,s,p,ceil,cip", [(2, None, 0, False, True), (3, 2, 1, True, False), (4, 3, 2, True, True)])
def test_avg_pool1d(k, s, p, ceil, cip):
    x = rand(2, 3, 10)
    check(lambda lib, x: F(lib).avg_pool1d(x, k, s, p, ceil, cip), x)
    check(lambda lib, x: F(lib).avg_pool1d(x, k, s, p, ceil, cip), x[0], noncontig=True)


@pytest.mark.parametrize("k,s,p,ceil,cip,div", [(2, None, 0, False, True, None), (3, 2, 1, True, False, None),
                                                ((1, 2, 3), (1, 2, 2), (0, 1, 1), False, True, 4)])
def test_avg_pool3d(k, s, p, ceil, cip, div):
    x = rand(2, 2, 5, 6, 7)
    check(lambda lib, x: F(lib).avg_pool3d(x, k, s, p, ceil, cip, div), x)


def test_avg_pool_grad_fn_double_backward_gradcheck():
    xe = ember.tensor(rand(1, 2, 4, 4), requires_grad=True)
    assert F(ember).avg_pool2d(xe, 2).grad_fn.name() == "AvgPool2DBackward0"
    assert F(ember).adaptive_avg_pool2d(xe, 3).grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    x = rand(1, 2, 5, 6, dtype=np.float64)
    gradcheck_fd(lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, True, False), x)
    gradcheck_fd(lambda lib, x: F(lib).avg_pool1d(x, 3, 2, 1), x[0])
    # double backward: grad of sum(gx * w) with respect to the upstream gradient
    res = []
    w = rand(*x.shape, dtype=np.float64, seed=3)
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        out = F(lib).avg_pool2d(xt, 3, 2, 1, ceil_mode=True)
        g = lib.ones(out.shape, dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(out, xt, g, create_graph=True)
        (gg,) = lib.autograd.grad((gx * lib.tensor(w)).sum(), g)
        res.append(gg.detach().numpy())
    np.testing.assert_allclose(res[0], res[1])


# ---- adaptive pooling --------------------------------------------------------------------------------

@pytest.mark.parametrize("out", [1, 3, (2, 5), (4, None), (7, 9)])
def test_adaptive_pool2d(out):
    x = rand(2, 3, 7, 9)
    check(lambda lib, x: F(lib).adaptive_avg_pool2d(x, out), x)
    check(lambda lib, x: F(lib).adaptive_max_pool2d(x, out, return_indices=True), x)
    check(lambda lib, x: F(lib).adaptive_max_pool2d(x, out), x[0], noncontig=True)


@pytest.mark.parametrize("out", [1, 4, 6, 13])
def test_adaptive_pool1d(out):
    x = rand(2, 3, 10)
    check(lambda lib, x: F(lib).adaptive_avg_pool1d(x, out), x)
    check(lambda lib, x: F(lib).adaptive_max_pool1d(x, out, return_indices=True), x)
    check(lambda lib, x: F(lib).adaptive_max_pool1d(x, out), x[0])


def test_adaptive_pool3d_and_gradcheck():
    x = rand(1, 2, 4, 5, 6)
    check(lambda lib, x: F(lib).adaptive_avg_pool3d(x, (2, 3, 4)), x)
    check(lambda lib, x: F(lib).adaptive_max_pool3d(x, (3, 2, 4), return_indices=True), x)
    xd = rand(1, 2, 5, 7, dtype=np.float64)
    gradcheck_fd(lambda lib, x: F(lib).adaptive_avg_pool2d(x, (3, 4)), xd)
    gradcheck_fd(lambda lib, x: F(lib).adaptive_max_pool2d(x, (2, 3)), xd)
    xe = ember.tensor(xd, requires_grad=True)
    assert F(ember).adaptive_max_pool2d(xe, 2).grad_fn.name() == "AdaptiveMaxPool2DBackward0"


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), ceil=st.booleans(),
       oh=st.integers(1, 6))
def test_pool_random_shapes(h, w, k, s, ceil, oh):
    x = rand(1, 2, h, w, seed=h * 10 + w)
    p = k // 2
    if (h + 2 * p - k) // s + 1 >= 1 and (w + 2 * p - k) // s + 1 >= 1:
        check(lambda lib, x: F(lib).max_pool2d(x, k, s, p, ceil_mode=ceil, return_indices=True), x)
        check(lambda lib, x: F(lib).avg_pool2d(x, k, s, p, ceil_mode=ceil), x)
    check(lambda lib, x: F(lib).adaptive_avg_pool2d(x, (oh, 3)), x)


# ---- lp pooling ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [2, 1.5, 3])
def test_lp_pool(p):
    x = np.abs(rand(2, 3, 6, 7)) + 0.1
    check(lambda lib, x: F(lib).lp_pool2d(x, p, 2), x, rtol=1e-4)
    check(lambda lib, x: F(lib).lp_pool2d(x, p, (3, 2), 2, ceil_mode=True), x, rtol=1e-4)
    check(lambda lib, x: F(lib).lp_pool1d(x[0], p, 3, 2), x[0], rtol=1e-4)
    check(lambda lib, x: F(lib).lp_pool2d(x, float("inf"), 2), x)
    check(lambda lib, x: F(lib).lp_pool3d(x[None], p, (1, 2, 2)), x, rtol=1e-4)


# ---- max unpooling ---------------------------------------------------------------------------------------

def test_max_unpool():
    x = rand(2, 3, 6, 8)
    for out_size in (None, (6, 8), (2, 3, 7, 8)):
        def fn(lib, x, out_size=out_size):
            out, idx = F(lib).max_pool2d(x, 2, return_indices=True)
            return F(lib).max_unpool2d(out, idx, 2, output_size=out_size)
        check(fn, x)
    check(lambda lib, x: F(lib).max_unpool2d(*F(lib).max_pool2d(x, 3, 2, 1, return_indices=True), 3, 2, 1,
                                               output_size=x.shape[-2:]), x)
    check(lambda lib, x: F(lib).max_unpool1d(*F(lib).max_pool1d(x, 2, return_indices=True), 2), x[0])
    x3 = rand(1, 2, 4, 4, 4)
    check(lambda lib, x: F(lib).max_unpool3d(*F(lib).max_pool3d(x, 2, return_indices=True), 2), x3)
    x64 = rand(1, 2, 4, 5, dtype=np.float64)
    idx = ember.tensor(np.array([[[[0, 3], [9, 19]], [[1, 2], [5, 6]]]], np.int64))
    gradcheck_fd(lambda lib, x: F(lib).max_unpool2d(x[:, :, :2, :2], idx, 2, output_size=(4, 5)), x64)
    xe = ember.tensor(rand(1, 1, 2, 2), requires_grad=True)
    idx0 = ember.zeros(1, 1, 2, 2, dtype=ember.int64)
    assert F(ember).max_unpool2d(xe, idx0, 2).grad_fn.name() == "MaxUnpool2DBackward0"


def test_max_unpool_errors():
    x = rand(2, 3, 5, 5)

    def unpool(lib, modify=None, **kw):
        xt = lib.tensor(x)
        o, i = F(lib).max_pool2d(xt, 2, return_indices=True)
        if modify:
            o, i = modify(lib, o, i)
        return F(lib).max_unpool2d(o, i, 2, **kw)
    def one_bad(lib, o, i):  # a single index outside the 4x4 default output
        i = lib.zeros_like(i)
        i[1, 2, 1, 0] = 17
        return o, i
    same_error(lambda lib: unpool(lib, one_bad), RuntimeError)
    same_error(lambda lib: unpool(lib, output_size=(7, 7)), ValueError)
    same_error(lambda lib: unpool(lib, output_size=(5, 5, 5)), ValueError)
    same_error(lambda lib: unpool(lib, lambda lib, o, i: (o, i.float()), output_size=(5, 5)), RuntimeError)
    same_error(lambda lib: unpool(lib, lambda lib, o, i: (o, i[:, :, :1]), output_size=(5, 5)), RuntimeError)
    same_error(lambda lib: unpool(lib, lambda lib, o, i: (o[0, 0], i[0, 0]), output_size=(5, 5)), RuntimeError)
    same_error(lambda lib: unpool(lib, lambda lib, o, i: (o, one_bad(lib, o, i)[1] - 30), output_size=(5, 5)),
               RuntimeError)


# ---- errors --------------------------------------------------------------------------------------------

X4 = rand(2, 3, 5, 5)
X5 = rand(2, 3, 4, 5, 5)


@pytest.mark.parametrize("fn", [
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 6),
    lambda lib: F(lib).max_pool2d(lib.randn(1, 2, 2), 3),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 3, padding=2),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, return_indices=True, padding=2),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 0, 1),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, 0),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, dilation=0),
    lambda lib: F(lib).max_pool2d(lib.randn(2, 2), 3),
    lambda lib: F(lib).max_pool2d(lib.randn(2, 0, 4, 4), 2),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), (2, 2, 2)),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, stride=(1, 2, 3)),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, padding=(1, 2, 3)),
    lambda lib: F(lib).max_pool2d(lib.tensor(X4), 2, dilation=(1, 2, 3)),
    lambda lib: F(lib).max_pool3d(lib.tensor(X5), 6),
    lambda lib: F(lib).max_pool3d(lib.tensor(X4[0]), 2),
    lambda lib: F(lib).max_pool3d(lib.tensor(X5), 2, padding=2),
    lambda lib: F(lib).max_pool3d(lib.tensor(X5), 0, 1),
    lambda lib: F(lib).max_pool3d(lib.tensor(X5), 2, dilation=0),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 7),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 0),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 2, padding=2),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 2, stride=0),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 2, dilation=0),
    lambda lib: F(lib).max_pool1d(lib.randn(5), 2),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), (2, 2)),
    lambda lib: F(lib).max_pool1d(lib.tensor(X4[0]), 7, return_indices=True),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), 7),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), 2, padding=2),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), 0, 1),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), 2, 0),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), 2, divisor_override=0),
    lambda lib: F(lib).avg_pool2d(lib.randn(2, 2, 2, 2, 2), 3),
    lambda lib: F(lib).avg_pool2d(lib.randn(2, 2, 0, 4), 2),
    lambda lib: F(lib).avg_pool2d(lib.tensor(X4), (1, 2, 3)),
    lambda lib: F(lib).avg_pool3d(lib.tensor(X5), 2, padding=2),
    lambda lib: F(lib).avg_pool3d(lib.tensor(X5), 0, 1),
    lambda lib: F(lib).avg_pool1d(lib.tensor(X4[0]), 7),
    lambda lib: F(lib).avg_pool1d(lib.randn(5), 2),
    lambda lib: F(lib).avg_pool1d(lib.tensor(X4[0]), (2, 2)),
    lambda lib: F(lib).adaptive_avg_pool2d(lib.tensor(X4), (2, 2, 2)),
    lambda lib: F(lib).adaptive_avg_pool2d(lib.tensor(X4), (-1, 2)),
    lambda lib: F(lib).adaptive_avg_pool2d(lib.randn(5, 5), 2),
    lambda lib: F(lib).adaptive_avg_pool2d(lib.randn(2, 2, 0, 4), 2),
    lambda lib: F(lib).adaptive_max_pool2d(lib.randn(5, 5), 2),
    lambda lib: F(lib).adaptive_max_pool2d(lib.tensor(X4), (2, 2, 2)),
    lambda lib: F(lib).adaptive_max_pool2d(lib.tensor(X4), (-1, 2)),
    lambda lib: F(lib).adaptive_max_pool2d(lib.randn(2, 2, 0, 4), 2),
    lambda lib: F(lib).adaptive_avg_pool1d(lib.randn(5), 2),
    lambda lib: F(lib).adaptive_max_pool1d(lib.randn(5), 2),
    lambda lib: F(lib).adaptive_avg_pool1d(lib.tensor(X4[0]), (2, 2)),
    lambda lib: F(lib).adaptive_max_pool1d(lib.tensor(X4[0]), (2, 2)),
])
def test_pool_errors(fn):
    same_error(fn, RuntimeError)


def test_pool_dtype_errors():
    same_error(lambda lib: F(lib).adaptive_avg_pool2d(lib.ones(1, 2, 4, 4, dtype=lib.int64), 2), NotImplementedError)
    with pytest.raises(NotImplementedError, match="avg_pool2d"):
        F(ember).avg_pool2d(ember.ones(1, 2, 4, 4, dtype=ember.int64), 2)


def test_empty_batch():
    x = np.zeros((0, 2, 4, 4), np.float32)
    check(lambda lib, x: F(lib).max_pool2d(x, 2), x, grad=False)
    check(lambda lib, x: F(lib).avg_pool2d(x, 2), x, grad=False)


# ---- modules -------------------------------------------------------------------------------------------

MODULES = [
    ("MaxPool2d", (2,), {}), ("MaxPool1d", (3, 2, 1), {"return_indices": True}), ("MaxPool3d", ((2, 2, 2),), {}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True}),
    ("AvgPool1d", (2,), {}), ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1), {"ceil_mode": True}),
    ("AvgPool3d", (2,), {"divisor_override": 2}),
    ("AdaptiveAvgPool1d", (2,), {}), ("AdaptiveAvgPool2d", ((2, None),), {}), ("AdaptiveAvgPool3d", (2,), {}),
    ("AdaptiveMaxPool1d", (2,), {}), ("AdaptiveMaxPool2d", (2, True), {}), ("AdaptiveMaxPool3d", (2,), {}),
    ("LPPool2d", (2, 3), {}), ("LPPool1d", (2, 3), {}), ("LPPool3d", (2, 2), {}), ("MaxUnpool2d", (2,), {}), ("MaxUnpool1d", (2, 1, 0), {}),
    ("MaxUnpool3d", (2,), {}),
]


@pytest.mark.parametrize("name,args,kw", MODULES)
def test_module_repr(name, args, kw):
    assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("name,args,kw,shape", [
    ("MaxPool2d", (3, 2, 1), {"ceil_mode": True}, (2, 3, 7, 7)), ("MaxPool1d", (3, 2, 1), {"return_indices": True}, (2, 3, 9)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)), ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}, (2, 3, 7, 7)),
    ("AvgPool1d", (3,), {}, (2, 3, 9)), ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)), ("AdaptiveMaxPool2d", (3, True), {}, (2, 3, 7, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)), ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("LPPool2d", (2, 3), {}, (2, 3, 7, 7)), ("LPPool3d", (1.5, 2), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, (1, 2, 4, 5, 6)), ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 4, 5, 6)),
])
def test_module_forward(name, args, kw, shape):
    x = np.abs(rand(*shape)) + 0.1
    check(lambda lib, x: getattr(lib.nn, name)(*args, **kw)(x), x, rtol=1e-4)


def test_max_unpool_module():
    x = rand(2, 3, 6, 6)

    def fn(lib, x):
        out, idx = lib.nn.MaxPool2d(2, return_indices=True)(x)
        return lib.nn.MaxUnpool2d(2)(out, idx, output_size=x.size())
    check(fn, x)

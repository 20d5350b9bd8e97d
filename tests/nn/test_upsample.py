"""interpolate / Upsample and pixel (un)shuffle against torch: forward, backward, double
backward, float64 finite differences, modules and errors."""

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




SIZES = [dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=0.6), dict(size=7), dict(size=3),
         dict(scale_factor=2.3, recompute_scale_factor=True), dict(size=5)]


@pytest.mark.parametrize("kw", SIZES)
def test_nearest(kw):
    for shape in [(2, 3, 5), (2, 3, 5, 6), (1, 2, 3, 4, 5)]:
        x = rand(*shape)
        check(lambda lib, x: F(lib).interpolate(x, **kw), x)


def test_nearest_index_rules():
    # out == in and out == 2 * in with a scale factor: torch's 2-d kernel and every backward
    # copy / halve the index, its 1-d and 3-d forward kernels use floor(dst / scale)
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=1.25), rand(1, 2, 3))
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=2.1), rand(1, 2, 6))
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=(1.5, 2.3)), rand(2, 2, 2, 3))
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=(1, 1.25)), rand(1, 2, 2, 3))
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=(1, 1, 1.25)), rand(1, 1, 2, 2, 3))
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=1.25), rand(1, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("kw", SIZES + [dict(scale_factor=(2, 0.75)), dict(size=(4, 9))])
@pytest.mark.parametrize("align", [False, True])
def test_bilinear(kw, align):
    x = rand(2, 3, 5, 6)
    check(lambda lib, x: F(lib).interpolate(x, mode="bilinear", align_corners=align, **kw), x)


@pytest.mark.parametrize("kw", SIZES)
@pytest.mark.parametrize("align", [False, True])
def test_linear_and_trilinear(kw, align):
    x = rand(2, 3, 6)
    check(lambda lib, x: F(lib).interpolate(x, mode="linear", align_corners=align, **kw), x)
    x = rand(1, 2, 3, 4, 3)
    check(lambda lib, x: F(lib).interpolate(x, mode="trilinear", align_corners=align, **kw), x)


def test_area_noncontiguous_and_grad_fn():
    x = rand(2, 3, 6, 7)
    check(lambda lib, x: F(lib).interpolate(x, size=(3, 4), mode="area"), x)
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=0.5, mode="area"), x)
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=2, mode="bilinear"), x, noncontig=True)
    check(lambda lib, x: F(lib).interpolate(x, scale_factor=3), x, noncontig=True)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for kw in (dict(scale_factor=2), dict(scale_factor=2, mode="bilinear")):
        assert F(ember).interpolate(xe, **kw).grad_fn.name() == F(torch).interpolate(xt, **kw).grad_fn.name()
    assert F(ember).interpolate(xe[0], size=4, mode="linear").grad_fn.name() == "UpsampleLinear1DBackward0"


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), oh=st.integers(1, 12), ow=st.integers(1, 12),
       align=st.booleans(), sf=st.floats(0.3, 3.5))
def test_random_sizes(h, w, oh, ow, align, sf):
    x = rand(1, 2, h, w, seed=h * 10 + w)
    check(lambda lib, x: F(lib).interpolate(x, size=(oh, ow), mode="bilinear", align_corners=align), x)
    check(lambda lib, x: F(lib).interpolate(x, size=(oh, ow)), x)
    if int(h * sf) >= 1 and int(w * sf) >= 1:
        check(lambda lib, x: F(lib).interpolate(x, scale_factor=sf), x)
        check(lambda lib, x: F(lib).interpolate(x, scale_factor=sf, mode="bilinear"), x)


def test_gradcheck_and_double_backward():
    x = rand(1, 2, 3, 4, dtype=np.float64)
    gradcheck_fd(lambda lib, x: F(lib).interpolate(x, size=(5, 3), mode="bilinear"), x)
    gradcheck_fd(lambda lib, x: F(lib).interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True), x)
    gradcheck_fd(lambda lib, x: F(lib).interpolate(x, scale_factor=2.5), x)
    gradcheck_fd(lambda lib, x: F(lib).interpolate(x[0], size=7, mode="linear"), x)
    w = rand(*x.shape, dtype=np.float64, seed=3)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        out = F(lib).interpolate(xt, scale_factor=1.5, mode="bilinear")
        g = lib.ones(out.shape, dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(out, xt, g, create_graph=True)
        (gg,) = lib.autograd.grad((gx * lib.tensor(w)).sum(), g)
        res.append(gg.detach().numpy())
    np.testing.assert_allclose(res[0], res[1])


def test_interpolate_errors():
    x = lambda lib: lib.tensor(rand(2, 3, 5, 5))  # noqa: E731
    same_error(lambda lib: F(lib).interpolate(x(lib), size=(3,)), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=(3, 3), scale_factor=2), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib)), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib), scale_factor=(2, 2, 2)), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=3, mode="linear"), NotImplementedError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=3, mode="bicubicx"), NotImplementedError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=3, mode="nearest", align_corners=True), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=0), RuntimeError)
    same_error(lambda lib: F(lib).interpolate(x(lib), scale_factor=0.1), RuntimeError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=0, mode="bilinear"), RuntimeError)
    same_error(lambda lib: F(lib).interpolate(x(lib)[0, 0], size=3), NotImplementedError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=3, recompute_scale_factor=True), ValueError)
    same_error(lambda lib: F(lib).interpolate(x(lib), size=(2.5, 3)), TypeError)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F(ember).interpolate(x(ember), size=3, mode="bicubic")


def test_upsample_modules():
    cases = [("Upsample", (), dict(scale_factor=2)), ("Upsample", (), dict(size=3, mode="bilinear")),
             ("Upsample", (), dict(size=(3, 4), mode="bilinear", align_corners=True)),
             ("Upsample", (), dict(scale_factor=(2, 1.5), mode="nearest")),
             ("Upsample", (), dict(scale_factor=2.0, recompute_scale_factor=True)),
             ("UpsamplingNearest2d", (), dict(scale_factor=2)), ("UpsamplingBilinear2d", (), dict(size=3)),
             ("UpsamplingBilinear2d", (), dict(scale_factor=1.5))]
    x = rand(2, 3, 4, 5)
    for name, args, kw in cases:
        assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))
        check(lambda lib, x: getattr(lib.nn, name)(*args, **kw)(x), x)


# ---- pixel shuffle --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 2, 4, 2, 2), 2), ((1, 5, 2, 2), 1)])
def test_pixel_shuffle(shape, r):
    x = rand(*shape)
    check(lambda lib, x: F(lib).pixel_shuffle(x, r), x)
    check(lambda lib, x: F(lib).pixel_shuffle(x, r), x, noncontig=True)
    check(lambda lib, x: F(lib).pixel_unshuffle(F(lib).pixel_shuffle(x, r), r), x)
    check(lambda lib, x: lib.nn.PixelUnshuffle(r)(lib.nn.PixelShuffle(r)(x)), x)
    y = rand(*shape[:-3], shape[-3], shape[-2] * r, shape[-1] * r)
    check(lambda lib, y: lib.pixel_unshuffle(y, r), y)
    assert repr(ember.nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(ember.nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))
    gradcheck_fd(lambda lib, x: F(lib).pixel_shuffle(x, 2), rand(1, 4, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("fn", [
    lambda lib: F(lib).pixel_shuffle(lib.randn(1, 5, 2, 2), 2),
    lambda lib: F(lib).pixel_shuffle(lib.randn(4, 2), 2),
    lambda lib: F(lib).pixel_shuffle(lib.randn(4, 4, 4), 0),
    lambda lib: F(lib).pixel_shuffle(lib.randn(4, 4, 4), -1),
    lambda lib: F(lib).pixel_unshuffle(lib.randn(1, 1, 3, 4), 2),
    lambda lib: F(lib).pixel_unshuffle(lib.randn(1, 1, 4, 3), 2),
    lambda lib: F(lib).pixel_unshuffle(lib.randn(4, 2), 2),
    lambda lib: F(lib).pixel_unshuffle(lib.randn(4, 4, 4), 0),
])
def test_pixel_shuffle_errors(fn):
    same_error(fn, RuntimeError)

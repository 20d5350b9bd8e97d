"""Channel-wise dropout (dropout1d/2d/3d, feature_alpha_dropout) and its modules: whole channels
dropped, the kept ones scaled, drop rate, eval identity, gradients through the same mask,
in-place forms, seeding, and torch's warnings and errors for wrong ranks."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import same_error

F = ember.nn.functional
SELU_ALPHA_SCALE = 1.7580993408473766


def channel_values(y, x, dims):
    """Per-(n, c) slice multipliers y / x (x has no zeros), asserting each slice is uniform."""
    ratio = y / x
    flat = ratio.reshape(ratio.shape[:dims] + (-1,))
    np.testing.assert_allclose(flat, flat[..., :1].repeat(flat.shape[-1], -1), rtol=1e-6)
    return flat[..., 0]


@pytest.mark.parametrize("fn,shape,batch_dims", [
    ("dropout1d", (8, 16, 5), 2), ("dropout1d", (16, 5), 1), ("dropout2d", (8, 16, 3, 4), 2),
    ("dropout3d", (4, 16, 2, 3, 2), 2), ("dropout3d", (16, 2, 3, 2), 1),
])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_whole_channels_dropped_and_scaled(fn, shape, batch_dims, p):
    x_np = np.random.rand(*shape).astype(np.float32) + 0.5
    x = ember.tensor(x_np, requires_grad=True)
    y = getattr(F, fn)(x, p=p, training=True)
    assert y.shape == x.shape and y.grad_fn is not None
    mult = channel_values(y.detach().numpy(), x_np, batch_dims)
    kept = mult != 0
    np.testing.assert_allclose(mult[kept], 1 / (1 - p), rtol=1e-6)
    assert 0 < kept.sum() < kept.size
    # the gradient goes through the same mask
    u = np.random.rand(*shape).astype(np.float32)
    (y * ember.tensor(u)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), u * y.detach().numpy() / x_np, rtol=1e-5)


def test_drop_rate_statistics():
    x = ember.ones(200, 100, 2)
    for p in (0.1, 0.5, 0.8):
        y = F.dropout1d(x, p=p).numpy()[:, :, 0]
        rate = float((y == 0).mean())
        # 20000 channels: the standard deviation of the rate is below 0.004
        assert abs(rate - p) < 0.02, (p, rate)
        assert np.allclose(y[y != 0], 1 / (1 - p))


def test_eval_and_p0_are_identity_p1_zeros():
    x_np = np.random.rand(2, 3, 4, 4).astype(np.float32)
    x = ember.tensor(x_np, requires_grad=True)
    for fn in (F.dropout2d, F.feature_alpha_dropout):
        np.testing.assert_array_equal(fn(x, 0.5, False).detach().numpy(), x_np)
    np.testing.assert_array_equal(F.dropout2d(x, 0.0, True).detach().numpy(), x_np)
    for fn in (F.dropout2d, F.feature_alpha_dropout):
        y = fn(x, 1.0, True)
        np.testing.assert_array_equal(y.detach().numpy(), np.zeros_like(x_np))
        assert y.grad_fn.name() == "MulBackward0"
    assert F.dropout2d(x, 0.5, True).grad_fn.name() == "MulBackward0"
    assert F.feature_alpha_dropout(x, 0.5, True).grad_fn.name() == "AddBackward0"


def test_seeded_masks_repeat():
    x = ember.ones(4, 32, 3)
    ember.manual_seed(7)
    a = F.dropout1d(x).numpy()
    b = F.dropout1d(x).numpy()
    ember.manual_seed(7)
    c = F.dropout1d(x).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_inplace():
    x_np = np.random.rand(4, 8, 3, 3).astype(np.float32) + 0.5
    x = ember.tensor(x_np)
    y = F.dropout2d(x, 0.5, True, inplace=True)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    mult = channel_values(x.numpy(), x_np, 2)
    assert set(np.unique(mult).round(5)) <= {0.0, 2.0}
    # unbatched dropout1d in place keeps the input's shape
    z_np = np.random.rand(8, 5).astype(np.float32) + 0.5
    z = ember.tensor(z_np)
    r = F.dropout1d(z, 0.5, True, inplace=True)
    assert z.shape == (8, 5) and r.shape == (8, 5)
    channel_values(z.numpy()[None], z_np[None], 2)
    # in place through a non-leaf: the gradient still uses the mask
    w = ember.tensor(x_np, requires_grad=True)
    h = w * 1
    F.dropout3d(h, 0.5, True, inplace=True)
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), h.detach().numpy() / x_np, rtol=1e-6)


def test_feature_alpha_dropout_values():
    p = 0.3
    x_np = np.random.rand(6, 40, 5).astype(np.float32) + 0.5
    x = ember.tensor(x_np, requires_grad=True)
    y = F.feature_alpha_dropout(x, p, True)
    a = 1 / np.sqrt((SELU_ALPHA_SCALE ** 2 * p + 1) * (1 - p))
    yv = y.detach().numpy()
    kept_val, dropped_val = x_np * a + SELU_ALPHA_SCALE * a * p, np.full_like(x_np, SELU_ALPHA_SCALE * a * (p - 1))
    kept = np.isclose(yv, kept_val, rtol=1e-5)
    dropped = np.isclose(yv, dropped_val, rtol=1e-5)
    assert np.all(kept | dropped)
    assert np.all(kept.all(-1) | dropped.all(-1))  # whole channels
    assert 0 < dropped.all(-1).sum() < 240
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0), rtol=1e-6)
    z = ember.tensor(x_np)
    F.feature_alpha_dropout(z, p, True, inplace=True)
    assert not np.array_equal(z.numpy(), x_np)


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"])
def test_modules(name):
    tm, em = getattr(torch.nn, name)(0.3, inplace=True), getattr(ember.nn, name)(0.3, inplace=True)
    assert repr(em) == repr(tm)
    assert repr(getattr(ember.nn, name)()) == repr(getattr(torch.nn, name)())
    shape = {"Dropout1d": (3, 8, 4), "Dropout2d": (3, 8, 4, 4), "Dropout3d": (3, 8, 2, 2, 2)}.get(name, (3, 8, 4))
    m = getattr(ember.nn, name)(0.5)
    x = ember.ones(*shape)
    assert not np.array_equal(m(x).numpy(), x.numpy())
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        getattr(ember.nn, name)(1.5)




@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.dropout1d(lib.randn(2, 3, 4, 5)),
    lambda lib: lib.nn.functional.dropout1d(lib.randn(3)),
    lambda lib: lib.nn.functional.dropout2d(lib.randn(2, 3, 4, 5), p=-0.1),
    lambda lib: lib.nn.functional.dropout3d(lib.randn(2, 3, 4, 5, 2), p=1.1),
    lambda lib: lib.nn.functional.feature_alpha_dropout(lib.randn(2, 3), p=2.0),
    lambda lib: lib.nn.functional.feature_alpha_dropout(lib.randn(3), 0.5, True),
    lambda lib: lib.nn.functional.dropout2d(lib.ones(2, 3, 4, 5, dtype=lib.int64), 0.5),
])
def test_errors(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(call)


@pytest.mark.parametrize("fn,shape,messages", [
    ("dropout2d", (2, 3, 4), ["Received a 3D input to dropout2d"]),
    ("dropout2d", (2, 3), ["Received a 2-D input to dropout2d"]),
    ("dropout3d", (2, 3, 4), ["Received a 3-D input to dropout3d"]),
    ("dropout2d", (2, 3, 4, 5, 6), ["Received a 5-D input to dropout2d"]),
])
def test_rank_warnings(fn, shape, messages):
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            getattr(lib.nn.functional, fn)(lib.ones(*shape), 0.5)
        got = [str(x.message) for x in w]
        assert len(got) == len(messages) and all(m in g for m, g in zip(messages, got)), got


def test_dropout2d_3d_input_is_per_channel_of_ncl():
    x_np = np.random.rand(4, 16, 6).astype(np.float32) + 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = F.dropout2d(ember.tensor(x_np), 0.5).numpy()
    channel_values(y, x_np, 2)

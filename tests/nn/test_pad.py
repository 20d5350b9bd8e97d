"""F.pad's reflect / replicate / circular modes and the padding layers against torch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from nn_helpers import as_ember_text
from oracle import check, gradcheck_fd

F_OF = {ember: ember.nn.functional, torch: torch.nn.functional}
MODES = ["reflect", "replicate", "circular"]


def rand(*shape, dtype=np.float32):
    return np.random.standard_normal(shape).astype(dtype)


CASES = [
    ((2, 3, 5), (2, 1)),
    ((3, 6), (0, 3)),  # unbatched
    ((2, 3, 5), (-2, 2)),  # crop then pad
    ((2, 3, 5), (3, -1)),
    ((1, 2, 4, 5), (1, 2, 3, 0)),
    ((2, 4, 5), (2, 2, 1, 3)),
    ((1, 2, 4, 5), (-1, 2, 1, -2)),
    ((1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2)),
    ((2, 3, 4, 3), (0, 2, 1, 1, 2, 1)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pad", CASES)
def test_pad_matches_torch(mode, shape, pad):
    check(lambda lib, x: F_OF[lib].pad(x, pad, mode=mode), rand(*shape))


@pytest.mark.parametrize("mode", MODES)
def test_pad_noncontiguous_and_float64(mode):
    check(lambda lib, x: F_OF[lib].pad(x, (1, 2, 2, 1), mode=mode), rand(2, 3, 4, 5), noncontig=True)
    check(lambda lib, x: F_OF[lib].pad(x, (2, 1), mode=mode), rand(2, 3, 4, dtype=np.float64))


@pytest.mark.parametrize("mode", MODES)
def test_pad_integer_dtypes_and_empty_batch(mode):
    for dt in (np.int64, np.int32, np.uint8):
        check(lambda lib, x: F_OF[lib].pad(x, (2, 1), mode=mode), np.arange(24).reshape(2, 3, 4).astype(dt),
              grad=False)
    check(lambda lib, x: F_OF[lib].pad(x, (1, 1, 1, 1), mode=mode), rand(0, 3, 4, 4))


def test_circular_pads_bool():
    check(lambda lib, x: F_OF[lib].pad(x, (1, 2), mode="circular"), rand(2, 3, 4) > 0, grad=False)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.data())
def test_pad_random_shapes(k, data):
    batched = data.draw(st.booleans())
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=k, max_size=k)))
    lead = (2, 3) if batched else (3,)
    mode = data.draw(st.sampled_from(MODES))
    pad = []
    for n in reversed(shape):
        limit = n - 1 if mode == "reflect" else n
        pad += [data.draw(st.integers(0, limit)), data.draw(st.integers(0, limit))]
    check(lambda lib, x: F_OF[lib].pad(x, tuple(pad), mode=mode), rand(*lead, *shape))


@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck_and_double_backward(mode):
    gradcheck_fd(lambda lib, x: F_OF[lib].pad(x, (2, 1, 1, 2), mode=mode), rand(1, 2, 3, 3))
    x_np = rand(2, 3, 4, dtype=np.float64)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(x_np, requires_grad=True)
        y = F_OF[lib].pad(x, (3, 2), mode=mode)
        (g,) = lib.autograd.grad((y * y * y).sum(), (x,), create_graph=True)
        (g * g).sum().backward()
        res.append((g.detach().numpy(), x.grad.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10)


def test_pad_grad_fn_names():
    x = ember.randn(1, 2, 4, 4, requires_grad=True)
    t = torch.randn(1, 2, 4, 4, requires_grad=True)
    for mode, pad in [("reflect", (1, 1)), ("reflect", (1, 1, 1, 1)), ("replicate", (1, 1, 1, 1)),
                      ("replicate", (1, 1, 1, 1, 1, 1)), ("circular", (1, 1, 1, 1))]:
        xe, xt = (x, t) if len(pad) == 6 else (x[0], t[0])
        # torch's circular padding is slice copies: torch::autograd::CopySlices
        assert F_OF[ember].pad(xe, pad, mode=mode).grad_fn.name() == F_OF[torch].pad(xt, pad, mode=mode) \
            .grad_fn.name().split("::")[-1]


@pytest.mark.parametrize("mode,shape,pad,err", [
    ("reflect", (2, 4, 5), (5, 0), RuntimeError),
    ("reflect", (2, 4, 5), (1, 1, 4, 1), RuntimeError),
    ("reflect", (4, 5, 5, 5), (1, 1, 1, 1, 5, 1), RuntimeError),
    ("reflect", (2, 4, 5), (-3, -3), RuntimeError),
    ("replicate", (2, 4, 5), (-3, -3), RuntimeError),
    ("reflect", (2, 0, 4), (1, 1), RuntimeError),
    ("replicate", (2, 3, 0), (1, 1), RuntimeError),
    ("replicate", (3, 0, 4, 4), (1, 1, 1, 1), RuntimeError),
    ("circular", (2, 4, 5), (6, 0), RuntimeError),
    ("circular", (2, 4, 5), (-3, -3), RuntimeError),
    ("circular", (2, 4, 5), (1, 1, -3, -3), RuntimeError),
    ("reflect", (1, 2, 4, 5), (1, 1), NotImplementedError),
    ("replicate", (5,), (1, 1), NotImplementedError),
    ("circular", (1, 2, 3, 4, 5, 6), (1, 1), NotImplementedError),
    ("reflect", (2, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), RuntimeError),
    ("replicate", (2, 2, 2, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), NotImplementedError),
    ("circular", (2, 4, 5), (1, 2, 3), RuntimeError),
    ("foo", (2, 4, 5), (1, 1), NotImplementedError),
])
def test_pad_errors_match_torch(mode, shape, pad, err):
    with pytest.raises(err) as t_err:
        torch.nn.functional.pad(torch.zeros(shape), pad, mode=mode)
    with pytest.raises(err) as e_err:
        ember.nn.functional.pad(ember.zeros(shape), pad, mode=mode)
    assert str(e_err.value) == as_ember_text(str(t_err.value))


def test_pad_errors_with_ember_messages():
    with pytest.raises(NotImplementedError, match="\"reflection_pad1d\" not implemented for 'Bool'"):
        ember.nn.functional.pad(ember.zeros(2, 3, 4, dtype=ember.bool), (1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match=r"input \(H: 4, W: 5\) is too small. Calculated output H: -2 W: -1"):
        ember.nn.functional.pad(ember.zeros(2, 4, 5), (-3, -3, -3, -3), mode="replicate")
    with pytest.raises(RuntimeError, match=r"padding \(2, -4\) of a dimension of size 5 is not supported"):
        ember.nn.functional.pad(ember.zeros(1, 1, 5), (2, -4), mode="circular")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        ember.nn.functional.pad(ember.zeros(1, 1, 5), (2, 2), mode="circular", value=2)


# ---- layers ---------------------------------------------------------------------------------

LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4)), ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", ((1, 2), 3.5), (3, 4)), ("ConstantPad2d", (1, -1.0), (1, 2, 3, 3)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 2.0), (2, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (2, 3, 4)), ("ReflectionPad2d", ((1, 0, 2, 1),), (2, 3, 4, 4)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), (3, 4)), ("ReplicationPad2d", (2,), (1, 2, 3, 3)),
    ("ReplicationPad3d", ((1, 2, 0, 1, 1, 0),), (2, 2, 2, 2)),
    ("CircularPad1d", (2,), (2, 3, 4)), ("CircularPad2d", ((1, 2, 2, 0),), (1, 2, 3, 3)),
    ("CircularPad3d", (1,), (2, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,shape", LAYERS)
def test_padding_layers_match_torch(name, args, shape):
    layer_e, layer_t = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(layer_e) == repr(layer_t)
    assert layer_e.padding == layer_t.padding
    check(lambda lib, x: (layer_e if lib is ember else layer_t)(x), rand(*shape))


def test_circular_layer_checks_rank():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
            lib.nn.CircularPad2d(1)(lib.zeros(3, 3))

"""F.unfold / F.fold (im2col / col2im) and nn.Unfold / nn.Fold against torch."""
import numpy as np
import pytest
import torch

import ember
from nn_helpers import as_ember_text
from oracle import check, gradcheck_fd

F_OF = {ember: ember.nn.functional, torch: torch.nn.functional}


def rand(*shape, dtype=np.float32):
    return np.random.standard_normal(shape).astype(dtype)


UNFOLD_CASES = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((1, 2, 7, 6), dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3))),
    ((3, 5, 5), dict(kernel_size=3, padding=1)),  # unbatched
    ((0, 3, 4, 4), dict(kernel_size=2)),
    ((2, 1, 4, 4), dict(kernel_size=1, stride=2)),
]


@pytest.mark.parametrize("shape,kw", UNFOLD_CASES)
def test_unfold_matches_torch(shape, kw):
    check(lambda lib, x: F_OF[lib].unfold(x, **kw), rand(*shape))
    check(lambda lib, x: (ember.nn.Unfold(**kw) if lib is ember else torch.nn.Unfold(**kw))(x), rand(*shape))


FOLD_CASES = [
    ((2, 12, 20), dict(output_size=(5, 6), kernel_size=2)),
    ((1, 12, 9), dict(output_size=(7, 6), kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3))),
    ((18, 9), dict(output_size=3, kernel_size=3, padding=1, stride=1)),  # unbatched
    ((0, 4, 9), dict(output_size=(4, 4), kernel_size=2)),
]


@pytest.mark.parametrize("shape,kw", FOLD_CASES)
def test_fold_matches_torch(shape, kw):
    check(lambda lib, x: F_OF[lib].fold(x, **kw), rand(*shape))
    check(lambda lib, x: (ember.nn.Fold(**kw) if lib is ember else torch.nn.Fold(**kw))(x), rand(*shape))


def test_unfold_noncontiguous_float64_and_roundtrip():
    check(lambda lib, x: F_OF[lib].unfold(x, 2, stride=2), rand(2, 3, 4, 6), noncontig=True)
    check(lambda lib, x: F_OF[lib].fold(x, (4, 4), 2), rand(1, 8, 9, dtype=np.float64), noncontig=True)
    # fold(unfold(x)) counts how many blocks cover each pixel.
    x = ember.ones(1, 1, 4, 4)
    counts = ember.nn.functional.fold(ember.nn.functional.unfold(x, 2), (4, 4), 2)
    expected = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]], np.float32)
    assert np.array_equal(counts.numpy()[0, 0], expected)


def test_fold_unfold_gradcheck_and_double_backward():
    gradcheck_fd(lambda lib, x: F_OF[lib].unfold(x, (2, 3), padding=1, stride=2), rand(1, 2, 3, 4))
    gradcheck_fd(lambda lib, x: F_OF[lib].fold(x, (3, 4), 2, dilation=(1, 2)), rand(1, 4, 4))
    x_np = rand(1, 2, 4, 4, dtype=np.float64)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(x_np, requires_grad=True)
        y = F_OF[lib].unfold(x, 3, padding=1)
        (g,) = lib.autograd.grad((y ** 3).sum(), (x,), create_graph=True)
        (g ** 2).sum().backward()
        res.append((g.detach().numpy(), x.grad.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10)


def test_grad_fn_names():
    x = ember.randn(1, 2, 4, 4, requires_grad=True)
    assert ember.nn.functional.unfold(x, 2).grad_fn.name() == "Im2ColBackward0"
    assert ember.nn.functional.fold(ember.randn(1, 4, 9, requires_grad=True), (4, 4), 2).grad_fn.name() == \
        "Col2ImBackward0"


def test_repr():
    for args, kw in [(((4, 5), 2), {}), ((4, (2, 3)), dict(dilation=2, padding=1, stride=(1, 2)))]:
        assert repr(ember.nn.Fold(*args, **kw)) == repr(torch.nn.Fold(*args, **kw))
    assert repr(ember.nn.Unfold(3, dilation=2, padding=1, stride=2)) == \
        repr(torch.nn.Unfold(3, dilation=2, padding=1, stride=2))


@pytest.mark.parametrize("call", [
    lambda F, lib: F.unfold(lib.zeros(2, 3, 4, 5, 6), 2),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), 7),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), 0),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), 2, stride=0),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), 2, padding=-1),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), 2, dilation=0),
    lambda F, lib: F.unfold(lib.zeros(2, 3, 5, 6), (2, 2, 2)),
    lambda F, lib: F.unfold(lib.zeros(2, 0, 5, 6), 2),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (6, 7), 2),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (6, 7), 3),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (0, 7), 2),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (1, 1), 2),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (6, 7), 0),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (6, 7), 2, stride=0),
    lambda F, lib: F.fold(lib.zeros(20), (6, 7), 2),
    lambda F, lib: F.fold(lib.zeros(2, 2, 3, 4), (6, 7), 2),
    lambda F, lib: F.fold(lib.zeros(2, 12, 20), (6, 7, 1), 2),
    lambda F, lib: F.fold(lib.zeros(2, 0, 20), (6, 7), 2),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as t_err:
        call(torch.nn.functional, torch)
    with pytest.raises(RuntimeError) as e_err:
        call(ember.nn.functional, ember)
    assert str(e_err.value) == as_ember_text(str(t_err.value))


def test_integer_input_raises():
    with pytest.raises(NotImplementedError, match="\"im2col\" not implemented for 'Long'"):
        ember.nn.functional.unfold(ember.zeros(1, 2, 4, 4, dtype=ember.int64), 2)

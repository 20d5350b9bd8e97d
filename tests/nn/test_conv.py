"""F.conv1d/2d/3d and F.conv_transpose1d/2d/3d against torch: values, gradients (input,
weight, bias), double backward, float64 finite differences, thread-count determinism, errors."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, gradcheck_fd, same_error

F_OF = {ember: ember.nn.functional, torch: torch.nn.functional}
TOL = dict(rtol=1e-4, atol=1e-4)


def rand(*shape, dtype=np.float32):
    return np.random.standard_normal(shape).astype(dtype)


def conv(nd, transposed=False):
    return f"conv_transpose{nd}d" if transposed else f"conv{nd}d"


# ---- forward and backward against torch ------------------------------------------------------

CONV_CASES = [
    # nd, N, C, Co, spatial, kernel, kwargs
    (1, 2, 3, 4, (9,), (3,), dict()),
    (1, 3, 4, 6, (10,), (2,), dict(stride=2, padding=1, dilation=2, groups=2)),
    (1, 1, 2, 2, (7,), (4,), dict(padding="same")),
    (1, 2, 3, 5, (8,), (3,), dict(padding="valid", stride=(3,))),
    (2, 2, 3, 4, (7, 6), (3, 2), dict()),
    (2, 1, 4, 6, (8, 9), (3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    (2, 3, 4, 4, (6, 7), (3, 3), dict(groups=4, padding=1)),  # depthwise
    (2, 2, 3, 8, (5, 5), (1, 1), dict()),  # pointwise: a GEMM on the input itself
    (2, 2, 3, 2, (6, 5), (1, 1), dict(stride=2)),
    (2, 2, 2, 3, (6, 7), (4, 2), dict(padding="same", dilation=(1, 3))),  # asymmetric 'same'
    (2, 9, 3, 4, (5, 6), (2, 3), dict(stride=2, padding=(0, 1))),  # more samples than slots
    (3, 2, 2, 4, (4, 5, 3), (2, 3, 2), dict(padding=(1, 0, 1))),
    (2, 20, 4, 36, (5, 5), (3, 3), dict()),  # small images batched into one GEMM, wide weight gradient
    (2, 2, 32, 40, (32, 30), (3, 3), dict(padding=1, groups=2)),  # large image: im2col by blocks of rows
    (3, 1, 8, 4, (6, 10, 12), (3, 3, 3), dict(padding=1)),  # row blocks across depth slices
    (3, 1, 4, 2, (5, 4, 6), (3, 2, 3), dict(stride=(2, 1, 2), dilation=(1, 2, 1), groups=2)),
]


@pytest.mark.parametrize("nd,N,C,Co,spatial,kernel,kw", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_torch(nd, N, C, Co, spatial, kernel, kw, bias):
    groups = kw.get("groups", 1)
    x, w = rand(N, C, *spatial), rand(Co, C // groups, *kernel)
    arrays = (x, w, rand(Co)) if bias else (x, w)
    check(lambda lib, *t: getattr(F_OF[lib], conv(nd))(*t, **kw), *arrays, **TOL)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_unbatched(nd):
    spatial, kernel = (5, 6, 4)[:nd], (2, 3, 2)[:nd]
    check(lambda lib, x, w, b: getattr(lib, conv(nd))(x, w, b, padding=1), rand(3, *spatial),
          rand(4, 3, *kernel), rand(4), **TOL)


def test_conv_noncontiguous_inputs():
    check(lambda lib, x, w, b: lib.conv2d(x, w, b, stride=2, padding=1), rand(2, 3, 6, 7), rand(4, 3, 3, 2),
          rand(4), noncontig=True, **TOL)
    check(lambda lib, x, w: lib.conv_transpose2d(x, w, stride=2), rand(2, 3, 4, 5), rand(3, 2, 3, 3),
          noncontig=True, **TOL)
    # A channels-last view of the input.
    x = rand(2, 5, 6, 3)
    check(lambda lib, x, w: lib.conv2d(x.permute(0, 3, 1, 2), w), x, rand(4, 3, 2, 2), **TOL)


def test_conv_float64_and_empty():
    out = check(lambda lib, x, w, b: lib.conv2d(x, w, b, padding=1), rand(2, 3, 4, 4, dtype=np.float64),
                rand(2, 3, 3, 3, dtype=np.float64), rand(2, dtype=np.float64))
    assert out[0].dtype == ember.float64
    check(lambda lib, x, w, b: lib.conv2d(x, w, b), rand(0, 3, 4, 4), rand(2, 3, 3, 3), rand(2))
    check(lambda lib, x, w, b: lib.conv_transpose2d(x, w, b), rand(0, 3, 4, 4), rand(3, 2, 3, 3), rand(2))


TRANSPOSED_CASES = [
    # nd, N, C, Co, spatial, kernel, kwargs (weight is [C, Co / groups, *kernel])
    (1, 2, 3, 4, (6,), (3,), dict()),
    (1, 2, 4, 6, (5,), (3,), dict(stride=3, padding=1, output_padding=2, groups=2, dilation=2)),
    (2, 2, 3, 2, (4, 5), (3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, 1, 4, 4, (3, 4), (2, 3), dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1), groups=4)),
    (2, 3, 2, 3, (5, 5), (1, 1), dict()),
    (2, 9, 2, 2, (3, 3), (3, 2), dict(stride=2, output_padding=(1, 0))),
    (3, 2, 2, 3, (3, 2, 3), (2, 2, 2), dict(stride=2, padding=(1, 0, 0), output_padding=(1, 1, 0))),
]


@pytest.mark.parametrize("nd,N,C,Co,spatial,kernel,kw", TRANSPOSED_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose_matches_torch(nd, N, C, Co, spatial, kernel, kw, bias):
    groups = kw.get("groups", 1)
    x, w = rand(N, C, *spatial), rand(C, Co // groups, *kernel)
    arrays = (x, w, rand(Co)) if bias else (x, w)
    check(lambda lib, *t: getattr(F_OF[lib], conv(nd, True))(*t, **kw), *arrays, **TOL)


def test_conv_transpose_unbatched():
    check(lambda lib, x, w, b: lib.conv_transpose1d(x, w, b, stride=2), rand(3, 5), rand(3, 2, 3), rand(2), **TOL)


def test_conv_positional_arguments_as_torch():
    # conv2d(input, weight, bias, stride, padding, dilation, groups);
    # conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation).
    check(lambda lib, x, w: lib.conv2d(x, w, None, 2, 1, 1, 2), rand(1, 4, 6, 6), rand(2, 2, 3, 3), **TOL)
    check(lambda lib, x, w: lib.conv_transpose2d(x, w, None, 2, 1, 1, 2, 1), rand(1, 4, 3, 3), rand(4, 1, 3, 3),
          **TOL)
    check(lambda lib, x, w: F_OF[lib].conv2d(x, w, padding=[1, 0], stride=[1, 2]), rand(1, 2, 5, 5),
          rand(3, 2, 3, 3), **TOL)


# ---- finite differences and double backward -------------------------------------------------

def test_gradcheck_conv_float64():
    gradcheck_fd(lambda lib, x, w, b: lib.conv2d(x, w, b, stride=2, padding=1, groups=2), rand(1, 2, 4, 3),
                 rand(2, 1, 2, 2), rand(2))
    gradcheck_fd(lambda lib, x, w, b: lib.conv1d(x, w, b, padding="same", dilation=2), rand(2, 2, 5),
                 rand(1, 2, 2), rand(1))
    gradcheck_fd(lambda lib, x, w: lib.conv3d(x, w, padding=(1, 0, 0)), rand(1, 1, 2, 3, 2), rand(2, 1, 2, 2, 1))


def test_gradcheck_conv_transpose_float64():
    gradcheck_fd(lambda lib, x, w, b: lib.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                 rand(1, 2, 2, 3), rand(2, 1, 3, 2), rand(1))
    gradcheck_fd(lambda lib, x, w: lib.conv_transpose1d(x, w, stride=2, groups=2, dilation=2), rand(2, 2, 3),
                 rand(2, 1, 2))


@pytest.mark.parametrize("transposed", [False, True])
def test_double_backward_matches_torch(transposed):
    name = conv(2, transposed)
    kw = dict(stride=2, padding=1, groups=2)
    x_np = rand(2, 4, 5, 4, dtype=np.float64)
    w_np = rand(4, 2, 3, 2, dtype=np.float64)
    b_np = rand(4 if transposed else 4, dtype=np.float64)
    results = []
    for lib in (ember, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        out = getattr(lib, name)(x, w, b, **kw)
        gx, gw, gb = lib.autograd.grad((out * out).sum(), (x, w, b), create_graph=True)
        second = (gx * gx).sum() + (gw * gw).sum() + (gb * gb).sum() * 0.5
        second.backward()
        results.append([t.detach().numpy() for t in (gx, gw, gb, x.grad, w.grad, b.grad)])
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-9)


def test_grad_fn_names():
    x = ember.randn(1, 2, 5, 5, requires_grad=True)
    assert ember.conv2d(x, ember.randn(3, 2, 3, 3)).grad_fn.name() == "ConvolutionBackward0"
    assert ember.conv_transpose2d(x, ember.randn(2, 3, 3, 3)).grad_fn.name() == "ConvolutionBackward0"
    assert ember.conv1d(ember.randn(2, 5), ember.randn(1, 2, 2, requires_grad=True)).grad_fn is not None
    assert ember.conv2d(ember.randn(1, 2, 5, 5), ember.randn(3, 2, 3, 3)).grad_fn is None


# ---- threads --------------------------------------------------------------------------------

@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("channels", [8, 40])  # 40: wide enough for the weight gradient's transposed GEMM
def test_results_do_not_depend_on_thread_count(transposed, channels):
    c = channels
    x_np, w_np, b_np = rand(16, c, 12, 12), rand(c, c, 3, 3), rand(c)
    u = rand(16, c, 10, 10) if not transposed else rand(16, c, 14, 14)
    runs = []
    before = ember.get_num_threads()
    try:
        for threads in (1, 2, 3):
            ember.set_num_threads(threads)
            x, w, b = (ember.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
            out = (ember.conv_transpose2d if transposed else ember.conv2d)(x, w, b)
            (out * ember.tensor(u)).sum().backward()
            runs.append([t.detach().numpy().copy() for t in (out, x.grad, w.grad, b.grad)])
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a, b)


# ---- errors ---------------------------------------------------------------------------------



X4 = np.zeros((2, 4, 5, 5), np.float32)


def t_(lib, shape, dtype=np.float32):
    return lib.tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("call", [
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 3, 3, 3))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (5, 2, 3, 3)), groups=2),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 7, 7))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), dilation=3),
    lambda lib: lib.conv2d(t_(lib, (4, 5)), t_(lib, (6, 4, 3, 3))),
    lambda lib: lib.conv1d(t_(lib, (4, 5, 5, 5)), t_(lib, (6, 4, 3))),
    lambda lib: lib.conv3d(t_(lib, (4, 5)), t_(lib, (6, 4, 3, 3, 3))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5)), t_(lib, (6, 4, 3, 3))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), padding="same", stride=2),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), padding="foo"),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), stride=0),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), stride=0, padding=-1),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), dilation=0),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), groups=0),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), t_(lib, (5,))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), t_(lib, (6, 1))),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), stride=(1, 1, 1)),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), padding=(1, 2, 3)),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), dilation=(1, 2, 3)),
    lambda lib: lib.conv2d(t_(lib, (2, 4, 5, 5)), t_(lib, (6, 4, 3, 3)), t_(lib, (6,), np.float64)),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), output_padding=2),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), stride=2, output_padding=2),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (3, 3, 3, 3))),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), groups=3),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), t_(lib, (4,))),
    lambda lib: lib.conv_transpose2d(t_(lib, (4, 5)), t_(lib, (4, 3, 3, 3))),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), stride=0),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), padding=-1),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), output_padding=-1),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), output_padding=(1, 2, 3)),
    lambda lib: lib.conv_transpose2d(t_(lib, (2, 4, 5, 5)), t_(lib, (4, 3, 3, 3)), padding="same"),
])
def test_errors_match_torch(call):
    same_error(call)


def test_errors_with_ember_messages():
    x = ember.zeros(2, 4, 5, 5)
    with pytest.raises(TypeError, match="conv2d\\(\\): argument 'stride' must be tuple of ints, not str"):
        ember.conv2d(x, ember.zeros(6, 4, 3, 3), stride="2")
    with pytest.raises(TypeError, match="argument 'dilation' must be tuple of ints, but found element of type float"):
        ember.conv2d(x, ember.zeros(6, 4, 3, 3), dilation=(1, 1.5))
    with pytest.raises(RuntimeError, match=r"Input type \(ember.FloatTensor\) and weight type "
                                           r"\(ember.DoubleTensor\) should be the same"):
        ember.conv2d(x, ember.zeros(6, 4, 3, 3, dtype=ember.float64))
    with pytest.raises(NotImplementedError, match="\"conv2d\" not implemented for 'Long'"):
        ember.conv2d(x.long(), ember.zeros(6, 4, 3, 3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"Expected 4-dimensional input for 3-dimensional weight \[6, 4, 3\]"):
        ember.conv2d(x, ember.zeros(6, 4, 3), stride=(1, 1))
    with pytest.raises(RuntimeError, match=r"Given input size per channel: \(5 x 5\). Calculated output size per "
                                           r"channel: \(-3 x -3\). Output size is too small"):
        ember.conv_transpose2d(x, ember.zeros(4, 3, 3, 3), padding=5)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation, but got "
                                           "output_padding_depth: 1 output_padding_height: 1"):
        ember.conv_transpose3d(ember.zeros(1, 1, 2, 2, 2), ember.zeros(1, 1, 2, 2, 2), output_padding=1)

"""Creation ops against torch: values, dtypes and shapes, and every error path."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import assert_close


def dtype_name(dt):
    return repr(dt).split(".")[1]


def same(e, t, exact=True):
    """e (ember) equals t (torch) in dtype, shape and values (floats to rounding: torch's vectorised
    kernels round differently from element to element)."""
    assert isinstance(e, ember.Tensor)
    assert dtype_name(e.dtype) == dtype_name(t.dtype), f"dtype {e.dtype} vs {t.dtype}"
    assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} vs {tuple(t.shape)}"
    if exact and not e.dtype.is_floating_point:
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    else:
        assert_close(e, t)


def both(expr, exact=True, **env):
    same(eval(expr, dict(lib=ember, np=np, **env)), eval(expr, dict(lib=torch, np=np, **env)), exact)


# ---- filled tensors ----------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "lib.zeros(2, 3)", "lib.zeros((2, 3))", "lib.zeros([4])", "lib.zeros(())", "lib.zeros(2, 0)",
    "lib.zeros(2, dtype=lib.int32)", "lib.ones(3, 1, dtype=lib.bool)", "lib.ones((2,), dtype=lib.float64)",
    "lib.ones(lib.Size([2, 2]))", "lib.full((2, 2), 1.5)", "lib.full((3,), 7)", "lib.full((2,), True)",
    "lib.full((2,), 2.5, dtype=lib.int64)", "lib.full((), -1)", "lib.full((2,), np.float32(1))",
    "lib.full((2,), np.int32(3))", "lib.zeros_like(lib.ones(2, 3, dtype=lib.int8))",
    "lib.ones_like(lib.zeros(2, 3), dtype=lib.int64)", "lib.full_like(lib.zeros(3, dtype=lib.int32), 4.7)",
    "lib.full_like(lib.zeros(3), 2, dtype=lib.float64)", "lib.scalar_tensor(3)", "lib.scalar_tensor(2.5, dtype=lib.float64)",
    "lib.zeros(2, 3, requires_grad=True)", "lib.ones(2, dtype=lib.float64, requires_grad=True)",
])
def test_filled_match_torch(expr):
    both(expr)
    e = eval(expr, dict(lib=ember, np=np))
    t = eval(expr, dict(lib=torch, np=np))
    assert e.requires_grad == t.requires_grad


@pytest.mark.parametrize("expr", ["lib.empty(2, 3)", "lib.empty((4,), dtype=lib.int16)", "lib.empty(0)",
                                  "lib.empty_like(lib.zeros(2, 2, dtype=lib.float64))",
                                  "lib.empty_like(lib.zeros(3), dtype=lib.bool)", "lib.empty(2, requires_grad=True)"])
def test_empty_shape_dtype(expr):
    e = eval(expr, dict(lib=ember))
    t = eval(expr, dict(lib=torch))
    assert dtype_name(e.dtype) == dtype_name(t.dtype) and tuple(e.shape) == tuple(t.shape)
    assert e.requires_grad == t.requires_grad


def test_filled_default_dtype_follows_set_default_dtype():
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.zeros(2).dtype == ember.float64
        assert ember.full((2,), 1.5).dtype == ember.float64
        assert ember.tensor([1.5]).dtype == ember.float64
        assert ember.arange(0, 1, 0.5).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda lib: lib.zeros(-1, 2), RuntimeError, "zeros: Dimension size must be non-negative"),
    (lambda lib: lib.ones(-1), RuntimeError, r"negative dimension -1: \[-1\]"),
    (lambda lib: lib.empty((2, -3)), RuntimeError, r"negative dimension -3: \[2, -3\]"),
    (lambda lib: lib.full((-1,), 2.), RuntimeError, r"negative dimension -1"),
    (lambda lib: lib.full(3, 1.0), TypeError, "must be tuple of ints"),
    (lambda lib: lib.zeros(2.5), TypeError, "must be tuple of ints"),
    (lambda lib: lib.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda lib: lib.eye(2, -1), RuntimeError, "m must be greater or equal to 0, got -1"),
])
def test_filled_errors_match_torch(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(ember)


def test_zeros_with_device():
    assert ember.zeros(2, device="cpu").shape == (2,)
    with pytest.raises(RuntimeError, match="device 'cuda'"):
        ember.zeros(2, device="cuda")


# ---- ember.tensor / as_tensor ------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "lib.tensor([1, 2, 3])", "lib.tensor([1.5, 2])", "lib.tensor([True, False])", "lib.tensor([True, 1])",
    "lib.tensor([[1, 2], [3, 4]])", "lib.tensor(((1., 2.), (3., 4.)))", "lib.tensor(3.5)", "lib.tensor(7)",
    "lib.tensor(False)", "lib.tensor([])", "lib.tensor([[]])", "lib.tensor([[], []])",
    "lib.tensor(np.arange(6, dtype=np.int32).reshape(2, 3))", "lib.tensor(np.ones(3, dtype=np.float64))",
    "lib.tensor(np.ones((2, 3), dtype=np.float32).T)", "lib.tensor(np.arange(5)[::2])",
    "lib.tensor(np.float64(1.5))", "lib.tensor(np.int32(4))", "lib.tensor([np.float64(1), 2.0])",
    "lib.tensor([np.float32(1), 2])", "lib.tensor([np.int32(4)])", "lib.tensor([np.int16(1), np.int8(2)])",
    "lib.tensor([lib.tensor(1, dtype=lib.int32), 2])", "lib.tensor([lib.tensor(1.5, dtype=lib.float64), 2])",
    "lib.tensor([lib.tensor(1.5), lib.tensor(2.5)])", "lib.tensor([2, lib.tensor(1)])", "lib.tensor([1, 2], dtype=lib.float64)",
    "lib.tensor([1.7, -2.7], dtype=lib.int64)", "lib.tensor([0, 2], dtype=lib.bool)", "lib.tensor(np.array([True, False]))",
    "lib.tensor([2**62, -2**62])", "lib.tensor([[1, 2.5], [True, 4]])",
])
def test_tensor_inference_matches_torch(expr):
    both(expr)


def test_tensor_copies_and_requires_grad():
    a = np.array([1., 2.])
    t = ember.tensor(a)
    a[0] = 9
    assert t.tolist() == [1., 2.]
    t = ember.tensor([1., 2.], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_tensor_from_tensor_warns_and_copies():
    src = ember.tensor([1., 2.], requires_grad=True)
    with pytest.warns(UserWarning, match="recommended to use sourceTensor.detach"):
        t = ember.tensor(src)
    assert not t.requires_grad
    t.fill_(0)
    assert src.tolist() == [1., 2.]


@pytest.mark.parametrize("data, exc, match", [
    ([[1, 2], [3]], ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ([[[1], [2]], [[3]]], ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ([[1, 2], 3], TypeError, "not a sequence"),
    ([1, [2]], TypeError, "'list' object cannot be interpreted as an integer"),
    ([2**63], ValueError, "Overflow when unpacking long"),
    ("abc", TypeError, r"new\(\): invalid data type 'str'"),
    ([1, None], RuntimeError, "Could not infer dtype of NoneType"),
    (np.zeros(2, dtype=np.uint16), TypeError, "can't convert np.ndarray of type uint16"),
    (np.zeros(2, dtype=np.complex64), TypeError, "can't convert np.ndarray of type complex64"),
])
def test_tensor_errors(data, exc, match):
    with pytest.raises(exc, match=match):
        ember.tensor(data)


def test_tensor_errors_agree_with_torch_types():
    for data in ([[1, 2], [3]], [[1, 2], 3], [1, None], "abc"):
        with pytest.raises(Exception) as et:
            torch.tensor(data)
        with pytest.raises(Exception) as ee:
            ember.tensor(data)
        assert type(ee.value) is type(et.value), data


def test_as_tensor_shares_memory_with_numpy_and_tensors():
    a = np.arange(4.)
    t = ember.as_tensor(a)
    a[1] = 10
    assert t.tolist()[1] == 10
    assert ember.as_tensor(t) is t
    c = ember.as_tensor(a, dtype=ember.float32)   # conversion copies
    a[2] = 20
    assert c.dtype == ember.float32 and c.tolist()[2] == 2
    same(ember.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    same(ember.as_tensor(t, dtype=ember.int64), torch.as_tensor(torch.tensor(a), dtype=torch.int64))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(-1000, 1000), st.floats(-1e3, 1e3, allow_nan=False), st.booleans()),
                         min_size=3, max_size=3), min_size=0, max_size=4))
def test_tensor_nested_lists_property(data):
    e = ember.tensor(data)
    t = torch.tensor(data)
    same(e, t)


# ---- ranges -------------------------------------------------------------------------------

@pytest.mark.parametrize("expr", [
    "lib.arange(5)", "lib.arange(2, 9)", "lib.arange(-5, 5, 3)", "lib.arange(10, 0, -3)", "lib.arange(0, 5, 1.0)",
    "lib.arange(1, 2.5, 0.5)", "lib.arange(5.)", "lib.arange(0.5, 3, dtype=lib.int64)", "lib.arange(0, 10, dtype=lib.uint8)",
    "lib.arange(0, 10, 3, dtype=lib.float64)", "lib.arange(lib.tensor(3))", "lib.arange(True)", "lib.arange(0, 3, True)",
    "lib.arange(0)", "lib.arange(3, 3)", "lib.arange(-1., 1., 0.1)", "lib.arange(0, 1, 0.1)", "lib.arange(1, 0, -0.3)",
    "lib.arange(np.int32(4))", "lib.arange(2.**24 - 3, 2.**24 + 2., dtype=lib.float32)", "lib.arange(-3, 4, 2, dtype=lib.int8)",
    "lib.arange(5, requires_grad=False)", "lib.arange(start=1, end=4)",
])
def test_arange_matches_torch(expr):
    both(expr)


@settings(max_examples=25, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(0.05, 7) | st.floats(-7, -0.05))
def test_arange_length_property(start, end, step):
    if (step > 0 and end < start) or (step < 0 and end > start):
        return
    for dtype in (None, "float64"):
        kw = {} if dtype is None else {"dtype": getattr(ember, dtype)}
        kt = {} if dtype is None else {"dtype": getattr(torch, dtype)}
        same(ember.arange(start, end, step, **kw), torch.arange(start, end, step, **kt), exact=False)


@settings(max_examples=25, deadline=None)
@given(st.integers(-100, 100), st.integers(-100, 100), st.integers(1, 9), st.booleans())
def test_arange_int_property(start, end, step, neg):
    if neg:
        step = -step
    if (step > 0 and end < start) or (step < 0 and end > start):
        return
    same(ember.arange(start, end, step), torch.arange(start, end, step))


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((0, 5, 0), {}, RuntimeError, "step must be nonzero"),
    ((5, 0, 1), {}, RuntimeError, "upper bound and lower bound inconsistent with step sign"),
    ((0, 5, -1), {}, RuntimeError, "upper bound and lower bound inconsistent with step sign"),
    ((0.0, 5.0, 0.0), {}, RuntimeError, "step must be nonzero"),
    ((float("inf"),), {}, RuntimeError, "unsupported range: 0 -> inf"),
    ((1e20,), {}, RuntimeError, "invalid size, possible overflow"),
    ((3,), {"dtype": "bool"}, NotImplementedError, "not implemented for 'Bool'"),
])
def test_arange_errors_match_torch(args, kwargs, exc, match):
    for lib in (torch, ember):
        kw = {k: getattr(lib, v) for k, v in kwargs.items()}
        with pytest.raises(exc, match=match):
            lib.arange(*args, **kw)


@pytest.mark.parametrize("expr", [
    "lib.linspace(0, 1, 5)", "lib.linspace(3, 1, 4)", "lib.linspace(-1, 1, 1)", "lib.linspace(0, 1, 0)",
    "lib.linspace(0, 10, 5, dtype=lib.int64)", "lib.linspace(-1, 1, 5, dtype=lib.int64)", "lib.linspace(0., 1., 7, dtype=lib.float64)",
    "lib.linspace(lib.tensor(0.), 1, 3)", "lib.linspace(-5.5, 9.25, 100)", "lib.linspace(0, 255, 7, dtype=lib.uint8)",
    "lib.logspace(0, 2, 3)", "lib.logspace(0, 2, 3, base=2, dtype=lib.int64)", "lib.logspace(-2, 2, 9, dtype=lib.float64)",
    "lib.logspace(0, 1, 4, base=3.)", "lib.logspace(1, 1, 1)",
    "lib.eye(3)", "lib.eye(2, 3)", "lib.eye(4, 2, dtype=lib.int64)", "lib.eye(2, 3, dtype=lib.bool)", "lib.eye(0)", "lib.eye(3, 0)",
    "lib.eye(2, requires_grad=True)",
])
def test_linspace_logspace_eye_match_torch(expr):
    both(expr, exact=False)


def test_linspace_endpoints_exact():
    t = ember.linspace(-3.3, 7.1, 13)
    assert t.tolist()[0] == np.float32(-3.3) and t.tolist()[-1] == np.float32(7.1)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda lib: lib.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda lib: lib.logspace(0, 1, -2), RuntimeError, "number of steps must be non-negative"),
    (lambda lib: lib.linspace(0, 1, 2.5), TypeError, "steps"),
])
def test_linspace_errors_match_torch(fn, exc, match):
    for lib in (torch, ember):
        with pytest.raises(exc, match=match):
            fn(lib)


def test_large_arange_parallel_is_thread_independent():
    n = 200_000
    prev = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        a = ember.arange(0, n, 0.5).numpy().copy()
        ember.set_num_threads(2)
        b = ember.arange(0, n, 0.5).numpy()
    finally:
        ember.set_num_threads(prev)
    np.testing.assert_array_equal(a, b)
    same(ember.arange(0, n, 0.5), torch.arange(0, n, 0.5))


def test_range_deprecated_inclusive():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(ember.range(1, 4), torch.range(1, 4))
        same(ember.range(0, 1, 0.25, dtype=ember.float64), torch.range(0, 1, 0.25, dtype=torch.float64), exact=False)


def test_tensor_copies_negative_stride_arrays():
    # torch refuses these; a copy is well defined, so ember accepts them.
    np.testing.assert_array_equal(ember.tensor(np.arange(5)[::-1]).numpy(), [4, 3, 2, 1, 0])


@pytest.mark.parametrize("expr", [
    "lib.zeros(2, dtype=lib.float64).new_tensor([1, 2])", "lib.zeros(2, dtype=lib.int32).new_tensor([1.5])",
    "lib.zeros(2).new_tensor([1, 2], dtype=lib.int64)", "lib.zeros(2, dtype=lib.int8).new_zeros(2, 3)",
    "lib.zeros(2, dtype=lib.float64).new_ones((3,))", "lib.zeros(2).new_full((2, 2), 7)",
    "lib.zeros(2, dtype=lib.int64).new_full((2,), 2.5)", "lib.zeros(1).new_zeros(2, requires_grad=True)",
    "lib.zeros(1).new_ones(3, dtype=lib.bool)",
])
def test_new_methods_match_torch(expr):
    both(expr)


def test_new_empty_shape_dtype():
    e = ember.zeros(1, dtype=ember.int16).new_empty((2, 5))
    assert e.dtype == ember.int16 and tuple(e.shape) == (2, 5)

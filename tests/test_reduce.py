"""Reductions, scans and softmax against torch: values, dtypes, gradients, errors, determinism."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd

# torch warns when a var/std has no degrees of freedom; the values are still compared.
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")

INF = float("inf")

# Differentiable reductions: name -> fn(lib, x) for a 3-d float input.
DIFF_CASES = {
    "sum_all": lambda lib, x: x.sum(),
    "sum_dim": lambda lib, x: lib.sum(x, 1),
    "sum_dims_keepdim": lambda lib, x: x.sum((0, 2), keepdim=True),
    "sum_neg_dim": lambda lib, x: x.sum(-1),
    "sum_dtype": lambda lib, x: x.sum(1, dtype=lib.float64),
    "mean_all": lambda lib, x: x.mean(),
    "mean_dims": lambda lib, x: lib.mean(x, (0, -1)),
    "mean_keepdim": lambda lib, x: x.mean(1, keepdim=True),
    "prod_all": lambda lib, x: x.prod(),
    "prod_dim": lambda lib, x: lib.prod(x, 1),
    "prod_keepdim": lambda lib, x: x.prod(-1, keepdim=True),
    "amax_all": lambda lib, x: x.amax(),
    "amax_dims": lambda lib, x: lib.amax(x, (0, 2)),
    "amin_keepdim": lambda lib, x: x.amin(1, keepdim=True),
    "max_all": lambda lib, x: x.max(),
    "min_all": lambda lib, x: lib.min(x),
    "max_dim": lambda lib, x: x.max(1),
    "min_dim_keepdim": lambda lib, x: lib.min(x, 0, keepdim=True),
    "max_dim_kw": lambda lib, x: lib.max(x, dim=-1),
    "std_all": lambda lib, x: x.std(),
    "std_dim": lambda lib, x: x.std(1),
    "var_dims_keepdim": lambda lib, x: x.var((0, 2), keepdim=True),
    "var_unbiased_false": lambda lib, x: lib.var(x, 1, False),
    "var_legacy_unbiased": lambda lib, x: x.var(False),
    "std_correction": lambda lib, x: x.std(1, correction=2),
    "std_mean": lambda lib, x: lib.std_mean(x, 1),
    "var_mean": lambda lib, x: lib.var_mean(x, dim=(0, 1), correction=0, keepdim=True),
    "norm_default": lambda lib, x: x.norm(),
    "norm_1": lambda lib, x: x.norm(1),
    "norm_inf": lambda lib, x: x.norm(INF),
    "norm_neg_inf": lambda lib, x: lib.norm(x, -INF, dim=1),
    "norm_3": lambda lib, x: x.norm(3, dim=(0, 2)),
    "norm_0": lambda lib, x: x.norm(0),
    "norm_dim_keepdim": lambda lib, x: x.norm(2, 1, True),
    "norm_fro_dims": lambda lib, x: lib.norm(x, "fro", dim=(0, 1)),
    "logsumexp_dim": lambda lib, x: x.logsumexp(1),
    "logsumexp_dims_keepdim": lambda lib, x: lib.logsumexp(x, (0, 2), keepdim=True),
    "cumsum_0": lambda lib, x: x.cumsum(0),
    "cumsum_last": lambda lib, x: lib.cumsum(x, -1),
    "cumsum_dtype": lambda lib, x: x.cumsum(1, dtype=lib.float64),
    "cumprod_1": lambda lib, x: x.cumprod(1),
    "softmax_0": lambda lib, x: x.softmax(0),
    "softmax_1": lambda lib, x: lib.softmax(x, 1),
    "softmax_last_dtype": lambda lib, x: lib.softmax(x, -1, dtype=lib.float64),
    "log_softmax_1": lambda lib, x: x.log_softmax(1),
    "log_softmax_last": lambda lib, x: lib.log_softmax(x, dim=-1),
}


@pytest.mark.parametrize("name", sorted(DIFF_CASES))
@pytest.mark.parametrize("noncontig", [False, True])
def test_matches_torch_forward_and_backward(name, noncontig):
    x = np.random.randn(3, 4, 5).astype(np.float32)
    check(DIFF_CASES[name], x, noncontig=noncontig, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(DIFF_CASES))
def test_gradcheck_float64(name):
    if name == "norm_0":  # piecewise constant: zero gradient, checked against torch above
        return
    x = np.random.randn(2, 3, 2) + np.sign(np.random.randn(2, 3, 2)) * 0.3  # away from 0 for |x|
    gradcheck_fd(DIFF_CASES[name], x)


@pytest.mark.parametrize("shape", [(7,), (2, 3), (4, 1, 3), (2, 3, 4, 2)])
def test_shapes_every_dim(shape):
    x = np.random.randn(*shape).astype(np.float32)
    for d in range(-len(shape), len(shape)):
        check(lambda lib, t: (t.sum(d), t.mean(d, keepdim=True), t.amax(d), t.max(d), t.std(d), t.softmax(d),
                              t.log_softmax(d), t.cumsum(d), t.logsumexp(d), t.norm(dim=d), t.prod(d)), x,
              rtol=1e-4)


def _zero_dim_ops(lib, t):
    t = t.reshape(())
    return (t.sum(), t.sum(0), t.mean(-1), t.prod(0), t.amax(0), t.max(0), t.argmax(0), t.cumsum(0), t.softmax(0),
            t.log_softmax(-1), t.logsumexp(0), t.norm(dim=0), t.std(), t.cumprod(0), t.all(0))


def test_zero_dim_tensor():
    check(_zero_dim_ops, np.array([1.5], dtype=np.float32))


# ---- integer and bool inputs ---------------------------------------------------------------------
INT_CASES = {
    "sum": lambda lib, x: (x.sum(), x.sum(0), x.sum(1, keepdim=True)),
    "sum_float_dtype": lambda lib, x: x.sum(dtype=lib.float32),
    "prod": lambda lib, x: (x.prod(), x.prod(1)),
    "amax_amin": lambda lib, x: (x.amax(), x.amin(1)),
    "max_min": lambda lib, x: (x.max(), x.min(), x.max(0), x.min(1, keepdim=True)),
    "all_any": lambda lib, x: (x.all(), x.any(), x.all(1), x.any(0, keepdim=True), lib.all(x, (0, 1))),
    "cumsum": lambda lib, x: (x.cumsum(0), x.cumsum(1, dtype=lib.float64)),
    "cumprod": lambda lib, x: x.cumprod(1),
    "logsumexp": lambda lib, x: x.logsumexp(1),
    "softmax_dtype": lambda lib, x: lib.softmax(x, 1, dtype=lib.float32),
    "mean_dtype": lambda lib, x: x.mean(1, dtype=lib.float64),
}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int16])
@pytest.mark.parametrize("name", sorted(INT_CASES))
def test_integer_inputs(name, dtype):
    x = np.random.randint(0, 4, size=(3, 4)).astype(dtype)
    check(INT_CASES[name], x, grad=False)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float32])
def test_argmax_argmin(dtype):
    x = np.random.randint(-3, 4, size=(4, 5)).astype(dtype)  # small range: many ties
    check(lambda lib, t: (t.argmax(), t.argmin(), t.argmax(1), t.argmin(0, keepdim=True), lib.argmax(t, dim=-1),
                          t.argmax(keepdim=True), lib.argmin(t)), x, grad=False)


def test_bool_inputs():
    x = np.random.rand(3, 4) > 0.5
    check(lambda lib, t: (t.sum(), t.sum(1), t.prod(), t.all(1), t.any(), t.amax(0), t.max(1), t.cumsum(0),
                          lib.sum(t, dtype=lib.bool)), x, grad=False)


def test_all_any_float_input():
    x = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    check(lambda lib, t: (t.all(), t.any(), t.all(1), t.any(1), lib.any(t, dim=(0,))), x, grad=False)


# ---- empty tensors ---------------------------------------------------------------------------------
def test_empty_reductions_match_torch():
    e = np.zeros((0, 3), dtype=np.float32)
    check(lambda lib, t: (t.sum(), t.sum(0), t.mean(), t.mean(0), t.prod(), t.prod(1), t.std(1), t.var(0),
                          t.amax(1), t.max(1), t.min(dim=1), t.argmax(1), t.logsumexp(0), t.logsumexp(1), t.norm(),
                          t.norm(dim=0), t.norm(INF, dim=1), t.all(), t.any(), t.all(0), t.cumsum(0),
                          t.softmax(0), t.log_softmax(1)), e, grad=False)


# ---- ties, zeros and special values ----------------------------------------------------------------
def test_max_dim_ties_pick_first_index_and_grad_goes_there():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    out = check(lambda lib, t: (t.max(1), t.min(1), t.argmax(1), t.argmin(1)), x)
    np.testing.assert_array_equal(out[1].numpy(), [1, 0])


def test_amax_max_all_ties_share_gradient():
    x = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]], dtype=np.float32)
    check(lambda lib, t: (t.amax(), t.amin(1), t.max(), t.norm(INF), t.norm(INF, dim=0)), x)


def test_nan_propagates_like_torch():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 0.5]], dtype=np.float32)
    check(lambda lib, t: (t.max(), t.amax(1), t.max(1), t.min(1), t.argmax(1), t.logsumexp(1), t.softmax(1)), x,
          grad=False)


@pytest.mark.parametrize("x", [
    [[1.0, 0.0, 3.0, 2.0], [2.0, 0.0, 0.0, 5.0], [1.5, -2.0, 0.5, 3.0]],
    [[0.0, 2.0], [3.0, 4.0]],
])
def test_prod_and_cumprod_with_zeros(x):
    x = np.array(x, dtype=np.float32)
    check(lambda lib, t: (t.prod(), t.prod(0), t.prod(1, keepdim=True), t.cumprod(1), t.cumprod(0)), x)
    gradcheck_fd(lambda lib, t: (t.prod(1), t.cumprod(1), t.cumprod(0)), x)


def test_norm_gradient_at_zero_is_zero():
    x = np.zeros((2, 3), dtype=np.float32)
    x[1] = [1.0, -2.0, 2.0]
    check(lambda lib, t: (t.norm(), t.norm(dim=1), t.norm(1, dim=1), t.norm(3, dim=1)), x)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0], [-INF, -INF], [INF, 1.0]], dtype=np.float32)
    check(lambda lib, t: t.logsumexp(1), x, grad=False)
    check(lambda lib, t: (t.softmax(1), t.log_softmax(1), t.softmax(0), t.log_softmax(0)), x[:2], grad=False)


def test_std_of_single_element_is_nan_like_torch():
    check(lambda lib, t: (t.std(), t.var(0), t.std(correction=0)), np.array([2.0], dtype=np.float32), grad=False)


# ---- second order ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib, t: (t.softmax(1) * t).sum(),
    lambda lib, t: (t.log_softmax(0) ** 2).sum() if lib is torch else (t.log_softmax(0) * t.log_softmax(0)).sum(),
    lambda lib, t: (t.std(1) * t.sum(1)).sum(),
    lambda lib, t: (t.norm(dim=1) * t.mean(1)).sum(),
    lambda lib, t: (t.logsumexp(1) * t.amax(1)).sum(),
    lambda lib, t: (t.cumsum(1) * t).sum(),
    lambda lib, t: (t.prod(1) * t.sum(1)).sum(),
    lambda lib, t: (t.cumprod(1) * t.sum(1, keepdim=True)).sum(),
])
def test_double_backward_matches_torch(fn):
    a = np.random.rand(3, 4) + 0.5
    results = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = fn(lib, x)
        (g,) = (lib.autograd.grad if lib is torch else ember.autograd.grad)(y, x, create_graph=True)
        (g * g).sum().backward()
        results.append((g.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-8)


def test_double_backward_of_prod_with_zeros_not_implemented():
    x = ember.tensor([[1.0, 0.0, 2.0]], requires_grad=True)
    (g,) = ember.autograd.grad(x.prod(1).sum(), x)  # first order works
    np.testing.assert_allclose(g.numpy(), [[0.0, 2.0, 0.0]])
    with pytest.raises(NotImplementedError, match="double backward of prod"):
        ember.autograd.grad(x.prod(1).sum(), x, create_graph=True)


# ---- return types ----------------------------------------------------------------------------------
def test_max_returns_named_tuple():
    x = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    r = ember.max(x, 1)
    assert isinstance(r, tuple) and type(r).__name__ == "max"
    values, indices = r
    np.testing.assert_array_equal(r.values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(r.indices.numpy(), [1, 0])
    assert values is r[0] and indices is r[1]
    assert indices.dtype == ember.int64
    assert repr(r).startswith("ember.return_types.max(\nvalues=")
    assert type(x.min(dim=0)) is ember.return_types.min


def test_grad_fn_names_match_torch():
    a = np.random.randn(3, 4).astype(np.float32)
    fns = [lambda lib, t: t.sum(), lambda lib, t: t.sum(1), lambda lib, t: t.mean(), lambda lib, t: t.mean(0),
           lambda lib, t: t.prod(), lambda lib, t: t.prod(1), lambda lib, t: t.amax(1), lambda lib, t: t.amin(),
           lambda lib, t: t.max(), lambda lib, t: t.max(1)[0], lambda lib, t: t.min(0)[0], lambda lib, t: t.std(),
           lambda lib, t: t.var(1), lambda lib, t: t.norm(), lambda lib, t: t.logsumexp(1),
           lambda lib, t: t.cumsum(0), lambda lib, t: t.cumprod(1), lambda lib, t: t.softmax(1),
           lambda lib, t: t.log_softmax(0)]
    for fn in fns:
        names = [type(fn(lib, lib.tensor(a, requires_grad=True)).grad_fn).__name__ if lib is torch else
                 fn(lib, lib.tensor(a, requires_grad=True)).grad_fn.name() for lib in (torch, ember)]
        assert names[0] == names[1]


def test_binary_max_min_dispatch_to_maximum_minimum():
    a = np.random.randn(3, 4).astype(np.float32)
    b = np.random.randn(3, 4).astype(np.float32)
    if hasattr(ember, "maximum"):
        check(lambda lib, x, y: (lib.max(x, y), x.min(y)), a, b)
    else:
        with pytest.raises(NotImplementedError, match=r"max\(input, other\) needs ember.maximum"):
            ember.max(ember.tensor(a), ember.tensor(b))
        with pytest.raises(NotImplementedError, match=r"min\(input, other\) needs ember.minimum"):
            ember.tensor(a).min(ember.tensor(b))


# ---- property test -------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_random_shapes_and_dim_subsets(shape, data):
    nd = len(shape)
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                              unique_by=lambda d: d % nd))
    keepdim = data.draw(st.booleans())
    noncontig = data.draw(st.booleans())
    x = np.random.randn(*shape).astype(np.float32)
    check(lambda lib, t: (t.sum(tuple(dims), keepdim=keepdim), lib.mean(t, dims, keepdim),
                          t.amax(tuple(dims), keepdim=keepdim)), x, noncontig=noncontig, rtol=1e-5)


# ---- determinism -----------------------------------------------------------------------------------
DETERMINISM_CASES = [
    lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.sum(1), lambda t: t.mean(), lambda t: t.mean(0),
    lambda t: t.var(), lambda t: t.var(0), lambda t: t.var(1), lambda t: t.softmax(0), lambda t: t.softmax(1),
    lambda t: t.log_softmax(0), lambda t: t.cumsum(0), lambda t: t.cumsum(1), lambda t: t.transpose(0, 1).sum(0),
    lambda t: t.logsumexp(1), lambda t: t.amax(0), lambda t: t.norm(dim=1),
]


def test_results_do_not_depend_on_thread_count():
    a = np.random.randn(300, 400).astype(np.float32)
    x = ember.tensor(a)
    prev = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        one = [fn(x).numpy().copy() for fn in DETERMINISM_CASES]
        ember.set_num_threads(2)
        two = [fn(x).numpy().copy() for fn in DETERMINISM_CASES]
    finally:
        ember.set_num_threads(prev)
    for i, (p, q) in enumerate(zip(one, two)):
        assert p.tobytes() == q.tobytes(), f"case {i} differs between 1 and 2 threads"
    xt = torch.tensor(a)
    for i, fn in enumerate(DETERMINISM_CASES):
        np.testing.assert_allclose(one[i], fn(xt).numpy(), rtol=2e-4, atol=2e-4, err_msg=f"case {i}")


def test_large_sum_matches_float64_reference():
    a = np.random.randn(4_000_003).astype(np.float32)
    s = ember.tensor(a).sum().item()
    assert math.isclose(s, float(a.astype(np.float64).sum()), rel_tol=1e-4, abs_tol=0.5)


# ---- errors ------------------------------------------------------------------------------------
X = lambda: ember.randn(3, 4) if hasattr(ember, "randn") else ember.tensor(np.random.randn(3, 4).astype(np.float32))
I = lambda: ember.tensor(np.arange(12).reshape(3, 4))
E = lambda: ember.zeros((0, 3))

ERROR_CASES = [
    (lambda: X().sum(2), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    (lambda: X().mean(-3), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"),
    (lambda: X().amax(5), IndexError, "Dimension out of range"),
    (lambda: X().max(2), IndexError, "Dimension out of range"),
    (lambda: X().argmax(2), IndexError, "Dimension out of range"),
    (lambda: X().std(2), IndexError, "Dimension out of range"),
    (lambda: X().norm(dim=3), IndexError, "Dimension out of range"),
    (lambda: X().logsumexp(3), IndexError, "Dimension out of range"),
    (lambda: X().all(2), IndexError, "Dimension out of range"),
    (lambda: X().cumsum(2), IndexError, "Dimension out of range"),
    (lambda: X().softmax(5), IndexError, "Dimension out of range"),
    (lambda: X().prod(2), IndexError, "Dimension out of range"),
    (lambda: X().sum((0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: X().mean((1, -1)), RuntimeError, "dim 1 appears multiple times in the list of dims"),
    (lambda: X().amax((0, -2)), RuntimeError, "dim 0 appears multiple times"),
    (lambda: X().std((1, 1)), RuntimeError, "dim 1 appears multiple times"),
    (lambda: I().mean(), RuntimeError, r"mean\(\): could not infer output dtype. Input dtype must be .* Got: Long"),
    (lambda: X().mean(dtype=ember.int64), RuntimeError, r"Optional dtype must be .* Got: Long"),
    (lambda: I().std(), RuntimeError, "std and var only support floating point and complex dtypes"),
    (lambda: I().var(0), RuntimeError, "std and var only support floating point"),
    (lambda: ember.std_mean(I()), RuntimeError, "std and var only support floating point"),
    (lambda: E().max(), RuntimeError, r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0"),
    (lambda: E().min(), RuntimeError, r"min\(\): Expected reduction dim to be specified"),
    (lambda: E().amax(), RuntimeError, r"amax\(\): Expected reduction dim to be specified"),
    (lambda: E().max(0), IndexError, r"max\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda: E().amin(0), IndexError, r"amin\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda: E().argmax(), IndexError, r"argmax\(\): Expected reduction dim to be specified"),
    (lambda: E().argmin(0), IndexError, r"argmin\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda: ember.tensor(np.array([True, False])).argmax(), RuntimeError, r"argmax\(\): does not support bool input"),
    (lambda: I().norm(), RuntimeError, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: X().norm("nuc"), NotImplementedError, "nuclear norm"),
    (lambda: X().norm("fro", dim=(0, 1, 0)), RuntimeError, "dim must be a 2-tuple"),
    (lambda: E().norm(INF), RuntimeError, "cannot compute the inf norm on an empty tensor"),
    (lambda: I().softmax(1), NotImplementedError, "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda: I().log_softmax(0), NotImplementedError, "\"log_softmax_kernel_impl\" not implemented for 'Long'"),
    (lambda: X().requires_grad_().sum(dtype=ember.int64), RuntimeError, "Autograd not support dtype: Long"),
    (lambda: X().requires_grad_().cumsum(0, dtype=ember.int32), RuntimeError, "Autograd not support dtype: Int"),
    (lambda: X().std(0, True, correction=1), TypeError, r"std\(\) received an invalid combination of arguments"),
    (lambda: ember.max(X(), 1.0), TypeError, r"max\(\) received an invalid combination of arguments"),
    (lambda: X().softmax(), TypeError, "dim"),
    (lambda: ember.logsumexp(X()), TypeError, "dim"),
    (lambda: X().cumsum(), TypeError, "dim"),
]


@pytest.mark.parametrize("fn,exc,match", ERROR_CASES, ids=[str(i) for i in range(len(ERROR_CASES))])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()

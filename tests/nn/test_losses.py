"""Loss functions and loss modules against torch: values, input (and target) gradients, every
reduction, the legacy size_average/reduce arguments, float64 gradchecks and the error paths."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd

REDUCTIONS = ["none", "mean", "sum"]
rng = np.random  # seeded before every test (conftest), so each test's data is fixed


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def uniform(*shape, lo=0.05, hi=0.95, dtype=np.float32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def F(lib):
    return lib.nn.functional


def T(lib, arr):
    """A constant (no grad) tensor of lib."""
    return lib.tensor(arr)


# ---- pointwise regression losses --------------------------------------------------------------

REGRESSION = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("smooth_l1_loss", {"beta": 1.0}),
    ("smooth_l1_loss", {"beta": 0.3}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {"delta": 1.0}),
    ("huber_loss", {"delta": 0.4}),
]


@pytest.mark.parametrize("name,kw", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, kw, reduction):
    x, y = randn(4, 5), randn(4, 5)
    check(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, **kw), x, y)
    check(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, **kw), x, y, noncontig=True)


@pytest.mark.parametrize("name,kw", REGRESSION)
def test_regression_broadcast_warns(name, kw):
    x, y = randn(3, 1), randn(3)
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match=r"Using a target size \((ember|torch).Size\(\[3\]\)\) that is different "
                                             r"to the input size \((ember|torch).Size\(\[3, 1\]\)\)"):
            getattr(F(lib), name)(lib.tensor(x), lib.tensor(y), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction="none", **kw), x, y)
        check(lambda lib, a, b: getattr(F(lib), name)(a, b, **kw), x, y)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_elementwise_weight(name, reduction):
    x, y, w = randn(3, 4), randn(3, 4), uniform(3, 4)
    check(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, weight=T(lib, w)), x, y)


def test_regression_weight_errors():
    x = ember.randn(3, 4)
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        ember.nn.functional.mse_loss(x, x, weight=ember.ones(4))
    with pytest.raises(ValueError, match="Invalid reduction mode: foo"):
        ember.nn.functional.l1_loss(x, x, reduction="foo", weight=ember.ones(3, 4))


def test_regression_mixed_dtypes():
    x, y = randn(5), rng.randint(0, 3, 5)
    check(lambda lib, a, b: F(lib).mse_loss(a, b), x, y)
    check(lambda lib, a, b: F(lib).l1_loss(a, b.double()), x, y.astype(np.float64))
    # l1 of integers: integer results for 'none' and 'sum', as torch
    check(lambda lib, a, b: F(lib).l1_loss(a, b, reduction="sum"), y, y[::-1].copy(), grad=False)
    check(lambda lib, a, b: F(lib).l1_loss(a, b, reduction="none"), y, y[::-1].copy(), grad=False)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2), st.sampled_from(REDUCTIONS),
       st.sampled_from(REGRESSION))
def test_regression_random_shapes(shape, drop, reduction, loss):
    name, kw = loss
    x = randn(*shape)
    y = randn(*shape[drop:]) if drop <= len(shape) else randn(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, a, b: getattr(F(lib), name)(a, b, reduction=reduction, **kw), x, y)


def test_regression_errors():
    Fe = ember.nn.functional
    x = ember.randn(3, 2)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(4\) at "
                                           "non-singleton dimension 1"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Fe.mse_loss(x, ember.randn(4))
    ints = ember.ones(3, dtype=ember.int64)
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        Fe.mse_loss(ints, ints)
    with pytest.raises(NotImplementedError, match="\"smooth_l1_cpu\" not implemented for 'Long'"):
        Fe.smooth_l1_loss(ints, ints)
    with pytest.raises(NotImplementedError, match="\"huber_cpu\" not implemented for 'Long'"):
        Fe.huber_loss(ints, ints)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        Fe.l1_loss(ints, ints)
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta."):
        Fe.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta."):
        Fe.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        Fe.mse_loss(x, x, reduction="batchmean")


# ---- binary cross entropy ---------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3,), (4, 3), (4, 1)])
def test_binary_cross_entropy(reduction, weight_shape):
    x, y = uniform(4, 3), uniform(4, 3, lo=0, hi=1)
    w = None if weight_shape is None else uniform(*weight_shape, lo=0.5, hi=2)

    def fn(lib, a, b):
        return F(lib).binary_cross_entropy(a, b, weight=None if w is None else T(lib, w), reduction=reduction)
    check(fn, x, y)  # gradients of input and target
    check(fn, x, y, noncontig=True)


def test_binary_cross_entropy_clamps_log():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5], np.float32)
    out = check(lambda lib, a, b: F(lib).binary_cross_entropy(a, b, reduction="none"), x, y, grad=False)
    assert out[0].tolist()[:2] == [100.0, 100.0]
    check(lambda lib, a: F(lib).binary_cross_entropy(a, T(lib, y), reduction="sum"), x)  # finite gradients at 0 and 1


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape,pos_shape", [(None, None), ((3,), None), (None, (3,)), ((4, 3), (3,)),
                                                    ((4, 1), (4, 3))])
def test_binary_cross_entropy_with_logits(reduction, weight_shape, pos_shape):
    x, y = randn(4, 3) * 4, uniform(4, 3, lo=0, hi=1)
    w = None if weight_shape is None else uniform(*weight_shape, lo=0.5, hi=2)
    pw = None if pos_shape is None else uniform(*pos_shape, lo=0.2, hi=3)

    def fn(lib, a, b):
        return F(lib).binary_cross_entropy_with_logits(
            a, b, weight=None if w is None else T(lib, w), pos_weight=None if pw is None else T(lib, pw),
            reduction=reduction)
    check(fn, x, y)
    check(fn, x, y, noncontig=True)


def test_binary_cross_entropy_with_logits_is_stable():
    x = np.array([-200.0, -30.0, 0.0, 30.0, 200.0], np.float32)
    y = np.array([1.0, 1.0, 0.5, 0.0, 0.0], np.float32)
    out = check(lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a, b, reduction="none"), x, y)
    assert np.isfinite(out[0].detach().numpy()).all()
    check(lambda lib, a: F(lib).binary_cross_entropy_with_logits(a, T(lib, y), pos_weight=T(lib, np.float32(2.0)),
                                                                 reduction="none"), x)


def test_binary_cross_entropy_dtypes():
    x, y = uniform(3), uniform(3)
    check(lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a, b), x, y.astype(np.float64))
    check(lambda lib, a, b: F(lib).binary_cross_entropy(a, b, weight=T(lib, np.ones(3))), x, y)


def test_binary_cross_entropy_errors():
    Fe = ember.nn.functional
    x, y = ember.rand(4, 3), ember.rand(4, 3)
    with pytest.raises(ValueError, match=r"Using a target size \(ember.Size\(\[3\]\)\) that is different to the input "
                                         r"size \(ember.Size\(\[3, 1\]\)\) is deprecated. Please ensure they have "
                                         "the same size."):
        Fe.binary_cross_entropy(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(ValueError, match=r"Target size \(ember.Size\(\[4, 1\]\)\) must be the same as input size "
                                         r"\(ember.Size\(\[4, 3\]\)\)"):
        Fe.binary_cross_entropy_with_logits(x, y[:, :1])
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        Fe.binary_cross_entropy(x * 2, y)
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        Fe.binary_cross_entropy(ember.tensor([float("nan")]), ember.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Found dtype Long but expected Float"):
        Fe.binary_cross_entropy(x, (y > 0.5).long())
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        Fe.binary_cross_entropy(x, y.double())
    with pytest.raises(NotImplementedError, match="\"binary_cross_entropy\" not implemented for 'Long'"):
        Fe.binary_cross_entropy(x.long(), y.long())
    with pytest.raises(RuntimeError, match="must match the size"):
        Fe.binary_cross_entropy(x, y, weight=ember.ones(4))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(4\) must match the size of tensor b \(3\)"):
        Fe.binary_cross_entropy_with_logits(x, y, pos_weight=ember.ones(4))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        Fe.binary_cross_entropy_with_logits(x, (y > 0.5).long())
    with pytest.raises(NotImplementedError, match="\"log_sigmoid_cpu\" not implemented for 'Long'"):
        Fe.binary_cross_entropy_with_logits(x.long(), y)
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="The function 'binary_cross_entropy' is not differentiable with respect "
                                           "to argument 'weight'"):
        Fe.binary_cross_entropy(x, y, weight=w)
    with pytest.raises(RuntimeError, match="'binary_cross_entropy_with_logits' is not differentiable with respect "
                                           "to argument 'pos_weight'"):
        Fe.binary_cross_entropy_with_logits(x, y, pos_weight=w)


# ---- cross entropy and nll --------------------------------------------------------------------

CLASS_SHAPES = [(5,), (6, 5), (3, 4, 5), (2, 3, 4, 2), (2, 3, 2, 2, 2)]


def class_targets(shape, ignore=None):
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.randint(0, C, tshape).astype(np.int64)
    if ignore is not None and t.ndim > 0:
        t.reshape(-1)[::3] = ignore
    return C, t


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices(shape, reduction, weighted, smoothing):
    C, t = class_targets(shape)
    w = uniform(C, lo=0.2, hi=2) if weighted else None
    x = randn(*shape) * 2

    def fn(lib, a):
        return F(lib).cross_entropy(a, T(lib, t), weight=None if w is None else T(lib, w), reduction=reduction,
                                    label_smoothing=smoothing)
    out = check(fn, x)
    if smoothing == 0 and len(shape) > 1:
        assert out[0].grad_fn.name() == ("NllLossBackward0" if len(shape) == 2 else "NllLoss2DBackward0")
    if len(shape) >= 2:
        check(fn, x, noncontig=True)


@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_ignore_index(ignore_index, reduction, smoothing):
    for shape in [(7, 4), (3, 4, 3)]:
        C, t = class_targets(shape, ignore=ignore_index)
        w = uniform(C, lo=0.2, hi=2)
        check(lambda lib, a: F(lib).cross_entropy(a, T(lib, t), weight=T(lib, w), ignore_index=ignore_index,
                                                  reduction=reduction, label_smoothing=smoothing), randn(*shape))


def test_cross_entropy_all_ignored_and_empty():
    t = np.full(4, -100, np.int64)
    check(lambda lib, a: F(lib).cross_entropy(a, T(lib, t)), randn(4, 3))  # nan, as torch
    empty_t = np.zeros(0, np.int64)
    for reduction in REDUCTIONS:
        check(lambda lib, a: F(lib).cross_entropy(a, T(lib, empty_t), reduction=reduction), randn(0, 3))


def test_cross_entropy_uint8_targets_and_float64():
    t = np.array([0, 2, 1, 1], np.uint8)
    check(lambda lib, a: F(lib).cross_entropy(a, T(lib, t)), randn(4, 3))
    check(lambda lib, a: F(lib).cross_entropy(a, T(lib, t.astype(np.int64)), weight=T(lib, np.ones(3) * 0.5)),
          randn(4, 3, dtype=np.float64))


def test_cross_entropy_extreme_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0], [50.0, 50.0, 50.0]], np.float32)
    check(lambda lib, a: F(lib).cross_entropy(a, T(lib, np.array([2, 1, 0])), reduction="none"), x)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_class_probabilities(shape, reduction, smoothing):
    x = randn(*shape)
    y = uniform(*shape, lo=0, hi=1)
    y = y / y.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    C = shape[0] if len(shape) == 1 else shape[1]
    w = uniform(C, lo=0.5, hi=2)
    # gradients of input, target and weight
    check(lambda lib, a, b, c: F(lib).cross_entropy(a, b, weight=c, reduction=reduction, label_smoothing=smoothing),
          x, y, w)
    check(lambda lib, a, b: F(lib).cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing), x, y)


def test_cross_entropy_probabilities_mixed_dtypes():
    x, y = randn(4, 3), uniform(4, 3)
    check(lambda lib, a, b: F(lib).cross_entropy(a, b), x, y.astype(np.float64))


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(shape, reduction):
    C, t = class_targets(shape, ignore=1 if len(shape) > 1 else None)
    w = uniform(C, lo=0.2, hi=2)
    x = randn(*shape)
    check(lambda lib, a: F(lib).nll_loss(a, T(lib, t), reduction=reduction), x)
    check(lambda lib, a: F(lib).nll_loss(a, T(lib, t), weight=T(lib, w), ignore_index=1, reduction=reduction), x)


def test_cross_entropy_double_backward():
    """create_graph: the gradient of the gradient, against torch."""
    x = randn(5, 4)
    t = np.array([0, 3, 1, -100, 2])
    y = uniform(5, 4)
    w = uniform(4)
    cases = [
        lambda lib, a: F(lib).cross_entropy(a, T(lib, t), weight=T(lib, w), label_smoothing=0.1),
        lambda lib, a: F(lib).cross_entropy(a, T(lib, t), reduction="none"),
        lambda lib, a: F(lib).cross_entropy(a, T(lib, y), weight=T(lib, w), label_smoothing=0.2),
        lambda lib, a: F(lib).mse_loss(a, T(lib, y)),
        lambda lib, a: F(lib).smooth_l1_loss(a, T(lib, y), beta=0.5, reduction="sum"),
        lambda lib, a: F(lib).huber_loss(a, T(lib, y), reduction="none"),
        lambda lib, a: F(lib).binary_cross_entropy(a.sigmoid(), T(lib, y)),
        lambda lib, a: F(lib).binary_cross_entropy_with_logits(a, T(lib, y), pos_weight=T(lib, w)),
    ]
    for fn in cases:
        def second(lib, a, fn=fn):
            loss = fn(lib, a)
            u = lib.tensor(np.linspace(0.5, 1.5, loss.numel()).astype(np.float32).reshape(tuple(loss.shape)))
            (g,) = lib.autograd.grad((loss * u).sum(), a, create_graph=True)
            return g
        check(second, x)


def test_gradcheck_kernels():
    x, y = randn(3, 4), uniform(3, 4)
    t = np.array([1, -100, 3])
    w = uniform(4)
    cases = [
        (lambda lib, a: F(lib).cross_entropy(a, T(lib, t), weight=T(lib, w.astype(np.float64)), label_smoothing=0.2,
                                             reduction="none"), (x,)),
        (lambda lib, a: F(lib).cross_entropy(a, T(lib, t), weight=T(lib, w.astype(np.float64))), (x,)),
        (lambda lib, a: F(lib).cross_entropy(a, T(lib, np.array([[1, 0], [2, 2]]))), (randn(2, 3, 2),)),
        (lambda lib, a, b, c: F(lib).cross_entropy(a, b, weight=c, label_smoothing=0.1), (x, y, w)),
        (lambda lib, a: F(lib).nll_loss(a, T(lib, t), weight=T(lib, w.astype(np.float64)), reduction="sum"), (x,)),
        (lambda lib, a, b: F(lib).mse_loss(a, b, reduction="none"), (x, y)),
        (lambda lib, a, b: F(lib).l1_loss(a, b), (x, y)),
        (lambda lib, a, b: F(lib).smooth_l1_loss(a, b, beta=0.7, reduction="sum"), (x, y)),
        (lambda lib, a, b: F(lib).huber_loss(a, b, delta=0.6), (x, y)),
        (lambda lib, a, b: F(lib).binary_cross_entropy(a, b, weight=T(lib, w.astype(np.float64))), (uniform(3, 4), y)),
        (lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(
            a, b, weight=T(lib, w.astype(np.float64)), pos_weight=T(lib, w[::-1].astype(np.float64)),
            reduction="none"), (x, y)),
    ]
    for fn, arrays in cases:
        gradcheck_fd(fn, *arrays)


def test_cross_entropy_errors():
    Fe = ember.nn.functional
    x = ember.randn(4, 3, requires_grad=True)
    t = ember.tensor([0, 1, 2, 1])
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        Fe.cross_entropy(x, ember.tensor([0, 1, 5, 1]))
    with pytest.raises(IndexError, match="Target -3 is out of bounds."):
        Fe.cross_entropy(x, ember.tensor([0, 1, -3, 1]))
    with pytest.raises(IndexError, match="Target 3 is out of bounds."):
        Fe.nll_loss(ember.rand(4, 3, 2, 2), ember.full((4, 2, 2), 3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        Fe.cross_entropy(x, t.float())
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        Fe.nll_loss(x, t.int())
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(3\)\."):
        Fe.cross_entropy(x, ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(0\)\."):
        Fe.nll_loss(x, ember.tensor(1))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 3 classes or no classes "
                                           r"but got weight tensor of shape: \[4\]"):
        Fe.cross_entropy(x, t, weight=ember.ones(4))
    with pytest.raises(RuntimeError, match=r"but got weight tensor of shape: \[3, 1\]"):
        Fe.nll_loss(x, t, weight=ember.ones(3, 1))
    with pytest.raises(RuntimeError, match=r"cross_entropy: weight tensor should be defined either for all 3 classes"):
        Fe.cross_entropy(x, ember.rand(4, 3), weight=ember.ones(4))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all or no classes"):
        Fe.nll_loss(ember.rand(4, 3, 2), ember.zeros(4, 2, dtype=ember.int64), weight=ember.ones(4))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Long"):
        Fe.nll_loss(x, t, weight=ember.ones(3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        Fe.cross_entropy(x.double(), t, weight=ember.ones(3))
    with pytest.raises(ValueError, match="For 1D input, 1D target must have size 1, but got target size: 4"):
        Fe.cross_entropy(x[0], t)
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities, got Long"):
        Fe.cross_entropy(x[0, 0], t[0])
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities, got Long"):
        Fe.cross_entropy(x, ember.zeros(4, 3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"size mismatch \(got input: \[2, 3, 4, 5\] , target: \[2, 4, 6\]"):
        Fe.cross_entropy(ember.randn(2, 3, 4, 5), ember.zeros(2, 4, 6, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="only batches of spatial targets supported \\(3D tensors\\) but got targets "
                                           "of dimension: 2"):
        Fe.cross_entropy(ember.randn(2, 3, 4, 5), ember.zeros(2, 4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"Expected target size \[4, 2\], got \[4\]"):
        Fe.nll_loss(ember.rand(4, 3, 2), ember.zeros(4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        Fe.cross_entropy(x, ember.zeros(4, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        Fe.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.1"):
        Fe.cross_entropy(x, ember.rand(4, 3), label_smoothing=1.1)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        Fe.cross_entropy(x, ember.rand(4, 3), ignore_index=1)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        Fe.cross_entropy(x, t, reduction="foo")
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        Fe.nll_loss(x[0, 0], t[0])
    with pytest.raises(NotImplementedError, match="\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"):
        Fe.cross_entropy(ember.ones(4, 3, dtype=ember.int64), t)
    with pytest.raises(NotImplementedError, match="\"log_softmax_kernel_impl\" not implemented for 'Long'"):
        Fe.cross_entropy(ember.ones(4, 3, 2, dtype=ember.int64), ember.zeros(4, 2, dtype=ember.int64))
    with pytest.raises(NotImplementedError, match="\"nll_loss_out_frame\" not implemented for 'Long'"):
        Fe.nll_loss(ember.ones(4, 3, dtype=ember.int64), t)
    with pytest.raises(RuntimeError, match="The function 'nll_loss_forward' is not differentiable with respect to "
                                           "argument 'weight'"):
        Fe.cross_entropy(x, t, weight=ember.ones(3, requires_grad=True))


def test_errors_match_torch_messages():
    """A sample of the error paths compared message for message with torch."""
    cases = [
        lambda lib: F(lib).cross_entropy(lib.zeros(4, 3), lib.tensor([0, 1, 5, 1])),
        lambda lib: F(lib).cross_entropy(lib.zeros(4, 3), lib.tensor([0, 1, 2])),
        lambda lib: F(lib).nll_loss(lib.zeros(4, 3), lib.zeros(4), weight=lib.ones(4)),
        lambda lib: F(lib).binary_cross_entropy(lib.zeros(3, 1), lib.zeros(3)),
        lambda lib: F(lib).margin_ranking_loss(lib.zeros(4), lib.zeros(4, 3), lib.zeros(4)),
        lambda lib: F(lib).cosine_embedding_loss(lib.zeros(2, 3, 4), lib.zeros(2, 3, 4), lib.tensor([1, -1])),
    ]
    for fn in cases:
        with pytest.raises(Exception) as t_err:
            fn(torch)
        with pytest.raises(type(t_err.value)) as e_err:
            fn(ember)
        assert str(e_err.value) == str(t_err.value).replace("torch", "ember")


# ---- composite losses ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(uniform(4, 5))
    y = uniform(4, 5, lo=0, hi=1)
    y[0, 0] = 0.0  # xlogy(0, 0) == 0
    if log_target:
        y = np.log(y + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, a: F(lib).kl_div(a, T(lib, y), reduction=reduction, log_target=log_target), x)
        if log_target:
            check(lambda lib, a, b: F(lib).kl_div(a, b, reduction=reduction, log_target=True), x, y)


def test_kl_div_warnings_and_errors():
    x, y = ember.rand(3, 2), ember.rand(3, 2)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both the batch size and the "
                                         "support size."):
        ember.nn.functional.kl_div(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.functional.kl_div(x, y, reduction="batchmean")
    with pytest.raises(RuntimeError, match="kl_div: Integral inputs not supported."):
        ember.nn.functional.kl_div(x, y.long(), reduction="sum")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_loss(reduction, margin):
    x1, x2 = randn(5, 4), randn(5, 4)
    t = np.array([1, -1, 1, -1, -1])
    check(lambda lib, a, b: F(lib).cosine_embedding_loss(a, b, T(lib, t), margin=margin, reduction=reduction), x1, x2)
    check(lambda lib, a, b: F(lib).cosine_embedding_loss(a, b, T(lib, np.array(-1)), margin=margin,
                                                         reduction=reduction), x1[0], x2[0])


def test_cosine_embedding_loss_errors():
    Fe = ember.nn.functional
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        Fe.cosine_embedding_loss(ember.rand(4, 3), ember.rand(4, 3), ember.ones(1, 4))
    with pytest.raises(RuntimeError, match=r"1D target tensor expects 2D input tensors, but found inputs with sizes "
                                           r"\[3\] and \[3\]\."):
        Fe.cosine_embedding_loss(ember.rand(3), ember.rand(3), ember.tensor([1]))
    with pytest.raises(RuntimeError, match=r"0D target tensor expects 1D input tensors"):
        Fe.cosine_embedding_loss(ember.rand(2, 3), ember.rand(2, 3), ember.tensor(1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(reduction, margin):
    x1, x2 = randn(6), randn(6)
    t = np.sign(randn(6)).astype(np.float32)
    check(lambda lib, a, b, c: F(lib).margin_ranking_loss(a, b, c, margin=margin, reduction=reduction), x1, x2, t)
    check(lambda lib, a, b: F(lib).margin_ranking_loss(a, b, T(lib, t[:4].reshape(4, 1)), margin=margin,
                                                       reduction=reduction), randn(4, 3), randn(1, 3))


# ---- legacy size_average / reduce ----------------------------------------------------------------

LEGACY = [(None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, False, "none"),
          (True, None, "mean"), (None, True, "mean")]


@pytest.mark.parametrize("size_average,reduce,expected", LEGACY)
def test_legacy_reduction_arguments(size_average, reduce, expected):
    x, y = uniform(4, 3), uniform(4, 3)
    t = np.array([0, 2, 1, 2])
    fns = [
        lambda lib, a, **kw: F(lib).mse_loss(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).l1_loss(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).smooth_l1_loss(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).binary_cross_entropy(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).binary_cross_entropy_with_logits(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).cross_entropy(a, T(lib, t), **kw),
        lambda lib, a, **kw: F(lib).nll_loss(a, T(lib, t), **kw),
        lambda lib, a, **kw: F(lib).kl_div(a, T(lib, y), **kw),
        lambda lib, a, **kw: F(lib).margin_ranking_loss(a, T(lib, y), T(lib, np.sign(y - 0.5)), **kw),
        lambda lib, a, **kw: F(lib).cosine_embedding_loss(a, T(lib, y), T(lib, np.array([1, -1, 1, 1])), **kw),
    ]
    msg = f"size_average and reduce args will be deprecated, please use reduction='{expected}' instead."
    for fn in fns:
        with pytest.warns(UserWarning, match=msg):
            check(lambda lib, a: fn(lib, a, size_average=size_average, reduce=reduce), x)
        # the legacy arguments override reduction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = fn(ember, ember.tensor(x), size_average=size_average, reduce=reduce, reduction="sum")
            plain = fn(ember, ember.tensor(x), reduction=expected)
        np.testing.assert_allclose(legacy.numpy(), plain.numpy())


def test_reduction_module_helpers():
    from ember.nn import _reduction
    assert [_reduction.get_enum(r) for r in ("none", "mean", "sum")] == [0, 1, 2]
    with pytest.warns(UserWarning, match="reduction='elementwise_mean' is deprecated"):
        assert _reduction.get_enum("elementwise_mean") == 1
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        _reduction.get_enum("bad")


# ---- modules ---------------------------------------------------------------------------------

def module_pairs():
    w = uniform(3, lo=0.5, hi=2)
    return [
        ("L1Loss", {}, "reg"), ("MSELoss", {"reduction": "sum"}, "reg"), ("SmoothL1Loss", {"beta": 0.5}, "reg"),
        ("HuberLoss", {"delta": 0.5, "reduction": "none"}, "reg"), ("BCELoss", {"weight": w}, "prob"),
        ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w[::-1].copy()}, "reg"),
        ("CrossEntropyLoss", {"weight": w, "ignore_index": 1, "label_smoothing": 0.1}, "cls"),
        ("CrossEntropyLoss", {}, "cls"), ("NLLLoss", {"weight": w, "reduction": "sum"}, "cls"),
        ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "reg"),
        ("MSELoss", {"size_average": False}, "reg"),
    ]


@pytest.mark.parametrize("name,kw,kind", module_pairs())
def test_loss_modules(name, kw, kind):
    x = uniform(4, 3)
    y = {"reg": uniform(4, 3), "prob": uniform(4, 3), "cls": np.array([0, 1, 2, 1])}[kind]

    def build(lib):
        args = {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(lib.nn, name)(**args)

    mt, me = build(torch), build(ember)
    assert repr(me) == repr(mt)
    assert me.reduction == mt.reduction
    assert sorted(me.state_dict()) == sorted(mt.state_dict())
    check(lambda lib, a: (me if lib is ember else mt)(a, T(lib, y)), x)


def test_loss_modules_two_inputs_and_repr():
    for name in ["CosineEmbeddingLoss", "MarginRankingLoss"]:
        mt, me = getattr(torch.nn, name)(margin=0.2), getattr(ember.nn, name)(margin=0.2)
        assert repr(me) == repr(mt) == f"{name}()"
        t = np.array([1.0, -1.0, 1.0])
        if name == "CosineEmbeddingLoss":
            check(lambda lib, a, b: (me if lib is ember else mt)(a, b, T(lib, t)), randn(3, 4), randn(3, 4))
        else:
            check(lambda lib, a, b: (me if lib is ember else mt)(a, b, T(lib, t)), randn(3), randn(3))
    assert repr(ember.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        assert ember.nn.NLLLoss(reduce=False).reduction == "none"
    assert isinstance(ember.nn.modules.loss.BCELoss(), ember.nn.Module)


def test_training_step_with_cross_entropy_matches_torch():
    """A linear classifier trained a few SGD steps with each library gives the same weights."""
    X, t = randn(64, 10), rng.randint(0, 10, 64)
    W0 = randn(10, 10) * 0.1
    results = []
    for lib in (torch, ember):
        W = lib.tensor(W0.copy(), requires_grad=True)
        loss_fn = lib.nn.CrossEntropyLoss()
        for _ in range(3):
            loss = loss_fn(lib.tensor(X) @ W, lib.tensor(t))
            (g,) = lib.autograd.grad(loss, W)
            with lib.no_grad():
                W -= 0.5 * g
        results.append(W.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)

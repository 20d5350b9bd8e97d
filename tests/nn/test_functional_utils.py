"""nn.functional utilities against torch: pad, one_hot, normalize, cosine_similarity,
pairwise_distance; dropout and alpha dropout by their statistics and contracts."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd

rng = np.random  # seeded before every test (conftest), so each test's data is fixed


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def F(lib):
    return lib.nn.functional


# ---- pad ---------------------------------------------------------------------------------------

PADS = [(1, 2), (0, 0), (2, 0, 1, 1), (-1, 2, 0, -1), (1, 1, 1, 1, 1, 1), (-2, -1), (-2, -2), (3, -1, -2, 2, 1, 0)]


@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("value", [None, 0.0, -1.5])
def test_pad_constant(pad, value):
    x = randn(2, 3, 4)
    check(lambda lib, a: F(lib).pad(a, pad, value=value), x)
    check(lambda lib, a: F(lib).pad(a, pad, mode="constant", value=value), x, noncontig=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_pad_random(shape, data):
    k = data.draw(st.integers(1, len(shape)))
    pad = []
    for i in range(k):
        size = shape[-1 - i]
        left = data.draw(st.integers(-size, 3))
        right = data.draw(st.integers(-(size + min(left, 0)), 3))
        pad += [left, right]
    check(lambda lib, a: F(lib).pad(a, pad, value=0.5), randn(*shape))


def test_pad_dtypes_and_module_function():
    ints = np.arange(6).reshape(2, 3)
    check(lambda lib, a: F(lib).pad(a, (1, 1), value=2.5), ints)  # value truncated to the dtype
    check(lambda lib, a: F(lib).pad(a, [1, 0, 0, 1], value=1), ints.astype(bool))
    check(lambda lib, a: lib.constant_pad_nd(a, (1, -1), 3.0), randn(2, 3))
    check(lambda lib, a: F(lib).pad(a, (1, 1)), randn(0, 3))
    check(lambda lib, a: F(lib).pad(a, ()), randn(2, 3))
    check(lambda lib, a: F(lib).pad(a, (2, 1), value=1.0).sum(), randn(4, dtype=np.float64))


def test_pad_gradcheck():
    gradcheck_fd(lambda lib, a: F(lib).pad(a, (1, -1, -1, 2), value=0.3), randn(3, 4))
    # double backward: the gradient of the padding is a crop, itself differentiable
    x = ember.randn(3, 4, requires_grad=True)
    (g,) = ember.autograd.grad((F(ember).pad(x, (1, 2)) ** 2).sum(), x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 2.0))


def test_pad_errors():
    Fe = ember.nn.functional
    x = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        Fe.pad(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two times the input "
                                           "dimension but got padding length 8 and input of dimension 3"):
        Fe.pad(x, (1,) * 8)
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two times the input "
                                           "dimension but got padding length 2 and input of dimension 0"):
        Fe.pad(ember.tensor(1.0), (1, 1))
    with pytest.raises(RuntimeError, match=r"narrow\(\): length must be non-negative."):
        Fe.pad(x, (-3, -2))
    with pytest.raises(RuntimeError, match=r"narrow\(\): length must be non-negative."):
        Fe.pad(x, (5, -7))
    with pytest.raises(TypeError, match=r"pad\(\): argument 'pad' \(position 2\) must be tuple of ints, but found "
                                        "element of type float at pos 0"):
        Fe.pad(x, [1.5, 1])
    with pytest.raises(RuntimeError, match="Padding mode \"reflect\" doesn't take in value argument"):
        Fe.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        Fe.pad(x, (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match="Length of pad must be even but instead it equals 3"):
        ember.constant_pad_nd(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="Length of pad should be no more than twice the number of dimensions"):
        ember.constant_pad_nd(x, (1,) * 8)


# ---- one_hot -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
@pytest.mark.parametrize("num_classes", [-1, 6])
def test_one_hot(shape, num_classes):
    t = rng.randint(0, 5, shape).astype(np.int64)
    check(lambda lib, a: F(lib).one_hot(a, num_classes), t, grad=False)
    check(lambda lib, a: F(lib).one_hot(a, num_classes=num_classes), t, grad=False)
    check(lambda lib, a: F(lib).one_hot(a, 3), np.zeros((0,), np.int64), grad=False)


def test_one_hot_errors():
    Fe = ember.nn.functional
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        Fe.one_hot(ember.tensor([0, -2, 1]))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        Fe.one_hot(ember.tensor([0, 7, 1]), 5)
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        Fe.one_hot(ember.tensor([0, 2, 1]), 0)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor of type LongTensor."):
        Fe.one_hot(ember.tensor([0, 2, 1], dtype=ember.int32))
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor of type LongTensor."):
        Fe.one_hot(ember.tensor([0.0, 2.0]))
    with pytest.raises(RuntimeError, match="Can not infer total number of classes from empty tensor."):
        Fe.one_hot(ember.zeros(0, dtype=ember.int64))


# ---- normalize / cosine_similarity / pairwise_distance -----------------------------------------

@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [1, 0, -1])
def test_normalize(p, dim):
    # magnitudes away from 0 keep the float32 gradients well conditioned
    x = (np.sign(randn(3, 4, 2)) * rng.uniform(0.5, 2.0, (3, 4, 2))).astype(np.float32)
    x[0, :, 0] = 0.0  # a zero slice: the eps clamp
    check(lambda lib, a: F(lib).normalize(a, p=p, dim=dim), x)
    check(lambda lib, a: F(lib).normalize(a, p=p, dim=dim, eps=0.5), x, noncontig=True)
    gradcheck_fd(lambda lib, a: F(lib).normalize(a, p=2.0, dim=dim), randn(2, 3))


def test_normalize_errors():
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        ember.nn.functional.normalize(ember.ones(2, 3, dtype=ember.int64))
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.nn.functional.normalize(ember.ones(2, 3), dim=5)


@pytest.mark.parametrize("shapes,dim", [(((4, 5), (4, 5)), 1), (((2, 3, 4), (3, 4)), 1), (((3, 1), (1, 4)), 0),
                                        (((5,), (5,)), 0), (((2, 3), (2, 3)), -1)])
def test_cosine_similarity(shapes, dim):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check(lambda lib, x, y: F(lib).cosine_similarity(x, y, dim=dim), a, b)
    check(lambda lib, x, y: F(lib).cosine_similarity(x, y, dim=dim, eps=10.0), a, b)  # the clamp is active
    gradcheck_fd(lambda lib, x, y: F(lib).cosine_similarity(x, y, dim=dim), a, b)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_cosine_similarity_broadcasting(shape, data):
    other = [1 if data.draw(st.booleans()) else s for s in shape][data.draw(st.integers(0, len(shape) - 1)):]
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    # float64: where the vectors are (anti)parallel the gradient is 0 up to rounding
    check(lambda lib, x, y: F(lib).cosine_similarity(x, y, dim=dim), randn(*shape, dtype=np.float64),
          randn(*other, dtype=np.float64))


def test_cosine_similarity_dtypes_and_errors():
    ints = np.arange(6).reshape(2, 3)
    check(lambda lib, x, y: F(lib).cosine_similarity(x, y), ints, randn(2, 3))
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is Long"):
        ember.nn.functional.cosine_similarity(ember.tensor(ints), ember.tensor(ints))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(2\) at "
                                           "non-singleton dimension 1"):
        ember.nn.functional.cosine_similarity(ember.rand(2, 3, 4), ember.rand(2, 4))
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.nn.functional.cosine_similarity(ember.ones(3), ember.ones(3))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    check(lambda lib, x, y: F(lib).pairwise_distance(x, y, p=p, keepdim=keepdim), randn(4, 3), randn(4, 3))
    check(lambda lib, x, y: F(lib).pairwise_distance(x, y, p=p, keepdim=keepdim), randn(2, 4, 3), randn(3))
    check(lambda lib, x, y: F(lib).pairwise_distance(x, y, p=p, eps=0.1), randn(3), randn(3))
    with pytest.raises(RuntimeError, match="must match the size"):
        ember.nn.functional.pairwise_distance(ember.ones(3, 2), ember.zeros(3))


# ---- dropout -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_scaling(p):
    ember.manual_seed(0)
    x = ember.ones(200, 100)
    y = ember.nn.functional.dropout(x, p).numpy()
    kept = y != 0
    # 20000 Bernoulli(1 - p) draws: the kept fraction is within 5 standard deviations
    sd = np.sqrt(p * (1 - p) / y.size)
    assert abs(kept.mean() - (1 - p)) < 5 * sd
    np.testing.assert_allclose(y[kept], np.float32(1) / np.float32(1 - p), rtol=1e-6)
    # rows and columns are independent: no pattern along either axis
    assert abs(kept.mean(axis=1).std() - np.sqrt(p * (1 - p) / 100)) < 0.25 * np.sqrt(p * (1 - p) / 100)


def test_dropout_reproducible_and_advances():
    ember.manual_seed(123)
    a = ember.nn.functional.dropout(ember.ones(1000), 0.5)
    b = ember.nn.functional.dropout(ember.ones(1000), 0.5)
    ember.manual_seed(123)
    a2 = ember.nn.functional.dropout(ember.ones(1000), 0.5)
    assert ember.equal(a, a2)
    assert not ember.equal(a, b)


def test_dropout_gradient_uses_the_mask():
    ember.manual_seed(7)
    x = ember.randn(50, 40, requires_grad=True)
    y = ember.nn.functional.dropout(x, 0.3)
    u = ember.randn(50, 40)
    (y * u).sum().backward()
    scale = np.float32(1) / np.float32(0.7)
    mask = (y.detach().numpy() != 0)
    np.testing.assert_allclose(x.grad.numpy(), np.where(mask, u.numpy() * scale, 0), rtol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), np.where(mask, x.detach().numpy() * scale, 0), rtol=1e-6)
    assert y.grad_fn.name() == "MulBackward0"


def test_dropout_gradcheck_with_fixed_seed():
    def fn(lib, a):
        lib.manual_seed(3)
        return F(lib).dropout(a, 0.4)
    gradcheck_fd(fn, randn(4, 5))

    def alpha(lib, a):
        lib.manual_seed(3)
        return F(lib).alpha_dropout(a, 0.4, training=True)
    gradcheck_fd(alpha, randn(4, 5))


def test_dropout_edge_cases():
    Fe = ember.nn.functional
    x = ember.randn(3, 4, requires_grad=True)
    assert Fe.dropout(x, 0.0) is x
    assert Fe.dropout(x, 0.5, training=False) is x
    assert Fe.alpha_dropout(x, 0.5) is x  # training defaults to False
    z = Fe.dropout(x, 1.0)
    assert z.grad_fn.name() == "MulBackward0"
    assert float(z.abs().sum()) == 0.0
    z.sum().backward()
    assert float(x.grad.abs().sum()) == 0.0
    assert tuple(Fe.dropout(ember.ones(0), 0.5).shape) == (0,)
    xd = ember.ones(1000, dtype=ember.float64)
    assert Fe.dropout(xd, 0.5).dtype == ember.float64
    nc = ember.ones(40, 30).t()
    out = Fe.dropout(nc, 0.5)
    assert tuple(out.shape) == (30, 40) and set(np.unique(out.numpy())) <= {0.0, 2.0}


def test_dropout_inplace():
    Fe = ember.nn.functional
    ember.manual_seed(1)
    x = ember.ones(100, 10)
    out = Fe.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        Fe.dropout(leaf, 0.5, inplace=True)
    h = leaf * 1
    y = Fe.dropout(h, 0.5, inplace=True)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), y.detach().numpy())  # the mask values, scaled


def test_dropout_errors():
    Fe = ember.nn.functional
    x = ember.ones(3)
    for p in (1.3, -0.1):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
            Fe.dropout(x, p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            ember.nn.Dropout(p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            ember.dropout(x, p, True)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        Fe.dropout(ember.ones(3, dtype=ember.int64), 0.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        Fe.alpha_dropout(ember.ones(3, dtype=ember.int64), 0.5, True)


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(0)
    x = ember.randn(400, 250)
    for p in (0.2, 0.5):
        y = ember.nn.functional.alpha_dropout(x, p, training=True).numpy()
        assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    # dropped elements take the same value as torch's formula gives
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * 0.5 + 1) * 0.5)
    y = ember.nn.functional.alpha_dropout(ember.zeros(1000), 0.5, training=True).numpy()
    np.testing.assert_allclose(np.unique(y), sorted([alpha * a * -0.5, alpha * a * 0.5]), rtol=1e-6)
    z = ember.nn.functional.alpha_dropout(ember.ones(10, requires_grad=True), 1.0, training=True)
    assert float(z.abs().sum()) == 0.0
    w = ember.ones(100) * 1
    ember.manual_seed(2)
    ember.nn.functional.alpha_dropout(w, 0.5, training=True, inplace=True)
    ember.manual_seed(2)
    np.testing.assert_allclose(w.numpy(), ember.nn.functional.alpha_dropout(ember.ones(100), 0.5, True).numpy())


def test_dropout_modules():
    for name in ("Dropout", "AlphaDropout"):
        mt, me = getattr(torch.nn, name)(0.3), getattr(ember.nn, name)(0.3)
        assert repr(me) == repr(mt) == f"{name}(p=0.3, inplace=False)"
        x = ember.randn(20, 30)
        me.eval()
        assert ember.equal(me(x), x)
        me.train()
        y = me(x)
        assert not ember.equal(y, x)
    assert repr(ember.nn.Dropout(inplace=True)) == repr(torch.nn.Dropout(inplace=True))


def test_results_do_not_depend_on_the_thread_count():
    """Dropout masks and reduced losses are bitwise identical with 1 and 2 threads."""
    x = ember.tensor(randn(300, 400))
    t = ember.tensor(rng.randint(0, 400, 300))
    y = ember.tensor(rng.uniform(0, 1, (300, 400)).astype(np.float32))
    before = ember.get_num_threads()
    outs = []
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            ember.manual_seed(11)
            xg = x.detach().requires_grad_(True)
            loss = F(ember).cross_entropy(xg, t) + F(ember).mse_loss(xg, y) + F(ember).dropout(xg, 0.3).sum()
            loss.backward()
            outs.append((loss.detach().numpy().copy(), xg.grad.numpy().copy()))
    finally:
        ember.set_num_threads(before)
    assert outs[0][0].tobytes() == outs[1][0].tobytes()
    assert outs[0][1].tobytes() == outs[1][1].tobytes()

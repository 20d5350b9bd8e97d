"""nn.functional's linear, bilinear, layer_norm, embedding and embedding_bag against torch:
values, gradients of every input, float64 gradchecks of the C++ kernels, double backward and
error paths."""
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd, same_error

rng = np.random.RandomState(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)




# ---- linear / bilinear -----------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(4, 3), (3,), (2, 5, 3), (0, 3)])
def test_linear(x_shape):
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), randn(*x_shape), randn(2, 3), randn(2))
    check(lambda L, x, w: L.nn.functional.linear(x, w), randn(*x_shape), randn(2, 3))
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), randn(*x_shape, dtype=np.float64),
          randn(2, 3, dtype=np.float64), randn(2, dtype=np.float64), noncontig=True)


def test_linear_gradcheck():
    gradcheck_fd(lambda L, x, w, b: L.nn.functional.linear(x, w, b), randn(3, 4), randn(2, 4), randn(2))


@pytest.mark.parametrize("shapes", [((4, 3), (4, 5)), ((3,), (5,)), ((2, 3, 3), (2, 3, 5))])
def test_bilinear(shapes):
    s1, s2 = shapes
    check(lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c), randn(*s1), randn(*s2), randn(2, 3, 5),
          randn(2))
    check(lambda L, a, b, w: L.nn.functional.bilinear(a, b, w), randn(*s1, dtype=np.float64),
          randn(*s2, dtype=np.float64), randn(2, 3, 5, dtype=np.float64))


def test_bilinear_gradcheck():
    gradcheck_fd(lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c), randn(2, 3), randn(2, 2),
                 randn(2, 3, 2), randn(2))


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.functional.linear(L.ones(4, 3), L.ones(2, 5)),
    lambda L: L.nn.functional.linear(L.ones(3), L.ones(2, 5), L.ones(2)),
    lambda L: L.nn.functional.linear(L.ones(2, 4, 3), L.ones(2, 5)),
    lambda L: L.nn.functional.linear(L.ones(()), L.ones(2, 5), L.ones(2)),
    lambda L: L.nn.functional.bilinear(L.ones(2, 3), L.ones(2, 4), L.ones(5, 3, 5)),
    lambda L: L.nn.functional.bilinear(L.ones(2, 3), L.ones(2, 4), L.ones(5, 4, 4)),
    lambda L: L.nn.functional.bilinear(L.ones(2, 3), L.ones(3, 4), L.ones(5, 3, 4)),
    lambda L: L.nn.functional.bilinear(L.ones(2, 3), L.ones(2, 4), L.ones(5, 3, 4), L.ones(4)),
    lambda L: L.nn.functional.bilinear(L.ones(2, 3), L.ones(2, 4), L.ones(5, 3)),
])
def test_linear_errors(fn):
    same_error(fn)


# ---- layer_norm --------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape,norm_shape", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((5,), (5,)),
                                                ((0, 3), (3,))])
def test_layer_norm(x_shape, norm_shape):
    x = randn(*x_shape) * 3 + 1
    # (atol: with one element per row torch's gradient is rounding noise around 0)
    check(lambda L, x, w, b: L.nn.functional.layer_norm(x, norm_shape, w, b), x, randn(*norm_shape),
          randn(*norm_shape), atol=1e-4)
    check(lambda L, x, w: L.nn.functional.layer_norm(x, norm_shape, w, None, 1e-3), x, randn(*norm_shape))
    check(lambda L, x, b: L.nn.functional.layer_norm(x, list(norm_shape), bias=b), x, randn(*norm_shape))
    check(lambda L, x: L.nn.functional.layer_norm(x, norm_shape), x.astype(np.float64), noncontig=True)


def test_layer_norm_one_element_rows():
    # Every output is the bias; torch's gradients are rounding noise around zero there.
    check(lambda L, x, w, b: L.nn.functional.layer_norm(x, (1,), w, b), randn(2, 3, 1), randn(1), randn(1),
          grad=False)


def test_layer_norm_many_rows_and_wide_rows():
    # Many rows: the weight/bias gradients sum partials of several row blocks.
    check(lambda L, x, w, b: L.nn.functional.layer_norm(x, (7,), w, b), randn(300, 7), randn(7), randn(7),
          rtol=1e-4, atol=1e-4)
    check(lambda L, x, w, b: L.nn.functional.layer_norm(x, (2000,), w, b), randn(3, 2000), randn(2000),
          randn(2000), rtol=1e-4, atol=1e-4)


def test_layer_norm_results_do_not_depend_on_thread_count():
    x, g = ember.tensor(randn(2000, 64)), ember.tensor(randn(2000, 64))  # several blocks per thread
    results = []
    old = ember.get_num_threads()
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            xe = x.detach().requires_grad_(True)
            w = ember.ones(64, requires_grad=True)
            ember.nn.functional.layer_norm(xe, (64,), w).backward(g)
            results.append((xe.grad.numpy().copy(), w.grad.numpy().copy()))
    finally:
        ember.set_num_threads(old)
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])


def test_layer_norm_gradcheck():
    gradcheck_fd(lambda L, x, w, b: L.nn.functional.layer_norm(x, (2, 3), w, b), randn(2, 2, 3), randn(2, 3),
                 randn(2, 3))
    gradcheck_fd(lambda L, x: L.nn.functional.layer_norm(x, (4,)), randn(3, 4))


def test_layer_norm_double_backward():
    x, w, b, u = randn(3, 4, dtype=np.float64), randn(4, dtype=np.float64), randn(4, dtype=np.float64), \
        randn(3, 4, dtype=np.float64)
    res = []
    for L in (ember, torch):
        xs, ws, bs = (L.tensor(a, requires_grad=True) for a in (x, w, b))
        y = L.nn.functional.layer_norm(xs, (4,), ws, bs)
        gx, gw = L.autograd.grad((y * L.tensor(u)).sum(), (xs, ws), create_graph=True)
        ((gx * gx).sum() + (gw ** 3).sum()).backward()
        res.append([t.detach().numpy() for t in (gx, gw, xs.grad, ws.grad)])
    for a, b_ in zip(*res):
        np.testing.assert_allclose(a, b_, rtol=1e-6, atol=1e-8)


def test_layer_norm_native_and_grad_fn():
    x = randn(2, 3)
    e = ember.native_layer_norm(ember.tensor(x, requires_grad=True), [3], None, None, 1e-5)
    t = torch.native_layer_norm(torch.tensor(x, requires_grad=True), [3], None, None, 1e-5)
    for a, b in zip(e, t):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert e[0].grad_fn.name() == t[0].grad_fn.name()


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3), (4,)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3, 4), (2, 4)),
    lambda L: L.nn.functional.layer_norm(L.ones(3), (2, 3)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3), (3,), L.ones(4)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3), (3,), L.ones(3), L.ones(2)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3, dtype=L.long), (3,)),
    lambda L: L.nn.functional.layer_norm(L.ones(2, 3), ()),
])
def test_layer_norm_errors(fn):
    same_error(fn)


# ---- embedding -----------------------------------------------------------------------------------------

def test_embedding():
    w = randn(6, 3)
    for idx in (np.array([1, 5, 1, 0]), np.array([[0, 2], [2, 2]]), np.array(3), np.array([], dtype=np.int64)):
        check(lambda L, w, i: L.nn.functional.embedding(i, w), w, idx)
        check(lambda L, w, i: L.nn.functional.embedding(i, w, padding_idx=2), w, idx)
        check(lambda L, w, i: L.nn.functional.embedding(i, w, padding_idx=-1, scale_grad_by_freq=True), w, idx)
    check(lambda L, w, i: L.embedding(w, i), w, np.array([[1, 2]], dtype=np.int32))
    check(lambda L, w, i: L.nn.functional.embedding(i, w), w.astype(np.float64), np.array([[4, 0], [1, 1]]),
          noncontig=True)


def test_embedding_grad_fn_and_gradcheck():
    w = ember.tensor(randn(4, 2), requires_grad=True)
    assert ember.nn.functional.embedding(ember.tensor([1]), w).grad_fn.name() == "EmbeddingBackward0"
    idx = np.array([[0, 3, 3], [2, 0, 1]])
    # (padding_idx is left out: its row gets no gradient although the output depends on it)
    gradcheck_fd(lambda L, w, i: L.nn.functional.embedding(i, w), randn(4, 2), idx)


def test_embedding_double_backward():
    # d(grad_w)/d(upstream): the gradient of the embedding backward is an embedding again.
    w, idx, u0 = randn(5, 3, dtype=np.float64), np.array([0, 4, 4, 2]), randn(4, 3, dtype=np.float64)
    res = []
    for L in (ember, torch):
        ws = L.tensor(w, requires_grad=True)
        u = L.tensor(u0, requires_grad=True)
        y = L.nn.functional.embedding(L.tensor(idx), ws, padding_idx=2)
        (gw,) = L.autograd.grad((y * u).sum(), ws, create_graph=True)
        (gw * gw).sum().backward()
        res.append((gw.detach().numpy(), u.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_embedding_max_norm_renormalises_rows_in_place():
    for norm_type in (2.0, 1.0, 3.0, float("inf")):
        w = randn(5, 4) * 3
        idx = np.array([[0, 2], [2, 4]])
        we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        ye = ember.nn.functional.embedding(ember.tensor(idx), we, max_norm=1.5, norm_type=norm_type)
        yt = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.5, norm_type=norm_type)
        np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
        assert np.array_equal(we.detach().numpy()[[1, 3]], w[[1, 3]])  # rows not looked up are untouched


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.functional.embedding(L.tensor([5]), L.ones(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([[0, -1]]), L.ones(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([1.0]), L.ones(5, 3)),
    lambda L: L.nn.functional.embedding(L.tensor([1]), L.ones(5)),
    lambda L: L.nn.functional.embedding(L.tensor([1]), L.ones(5, 3), padding_idx=5),
    lambda L: L.nn.functional.embedding(L.tensor([1]), L.ones(5, 3), padding_idx=-6),
])
def test_embedding_errors(fn):
    same_error(fn)


def test_embedding_max_norm_index_out_of_range():
    with pytest.raises(IndexError, match="index out of range in self"):
        ember.nn.functional.embedding(ember.tensor([7]), ember.ones(5, 3), max_norm=1.0)


def test_embedding_sparse_not_implemented():
    with pytest.raises(NotImplementedError, match="sparse gradients are not supported"):
        ember.nn.functional.embedding(ember.tensor([1]), ember.ones(3, 2), sparse=True)


# ---- embedding_bag ---------------------------------------------------------------------------------------

BAGS = [
    (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4])),
    (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 2, 2, 7])),   # an empty bag
    (np.array([3, 3]), np.array([0])),
    (np.array([], dtype=np.int64), np.array([0, 0])),
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("bag", range(len(BAGS)))
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_1d(mode, bag, padding_idx):
    idx, off = BAGS[bag]
    check(lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, mode=mode, padding_idx=padding_idx),
          randn(10, 3), idx, off)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_and_include_last_offset(mode):
    check(lambda L, w, i: L.nn.functional.embedding_bag(i, w, mode=mode), randn(10, 3),
          np.array([[1, 2, 4], [4, 3, 9]]))
    # (the last offset is the input's length, as documented: torch's mean and max read past a
    # smaller last offset while its sum does not)
    check(lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, mode=mode, include_last_offset=True),
          randn(10, 3), np.array([1, 2, 4, 5, 4, 3]), np.array([0, 1, 3, 6]))
    check(lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, mode=mode), randn(10, 4, dtype=np.float64),
          np.array([1, 2, 4, 5], dtype=np.int32), np.array([0, 3], dtype=np.int32), noncontig=True)


def test_embedding_bag_per_sample_weights_and_freq():
    idx, off = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2])
    check(lambda L, w, i, o, p: L.nn.functional.embedding_bag(i, w, o, mode="sum", per_sample_weights=p),
          randn(6, 3), idx, off, randn(6))
    check(lambda L, w, i, p: L.nn.functional.embedding_bag(i, w, mode="sum", per_sample_weights=p, padding_idx=4),
          randn(6, 3), idx.reshape(2, 3), randn(2, 3))



def test_embedding_bag_scale_grad_by_freq():
    # torch's embedding_bag mis-scales some rows here (row 5 below is halved though it occurs once);
    # the reference is torch's embedding, whose frequency scaling is right, summed per bag.
    idx, w, u = np.array([1, 2, 4, 5, 4, 3]), randn(6, 3), randn(2, 3)
    bag_of = np.array([0, 0, 1, 1, 1, 1])
    for mode in ("sum", "mean"):
        we = ember.tensor(w, requires_grad=True)
        ember.nn.functional.embedding_bag(ember.tensor(idx), we, ember.tensor([0, 2]), mode=mode,
                                          scale_grad_by_freq=True).backward(ember.tensor(u))
        wt = torch.tensor(w, requires_grad=True)
        per_entry = u[bag_of] / (np.array([2, 2, 4, 4, 4, 4])[:, None] if mode == "mean" else 1)
        torch.nn.functional.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True).backward(
            torch.tensor(per_entry.astype(np.float32)))
        np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_bag_max_norm():
    w = randn(6, 3) * 3
    we, wt = ember.tensor(w), torch.tensor(w)
    ye = ember.nn.functional.embedding_bag(ember.tensor([1, 2, 4]), we, ember.tensor([0, 1]), max_norm=1.0)
    yt = torch.nn.functional.embedding_bag(torch.tensor([1, 2, 4]), wt, torch.tensor([0, 1]), max_norm=1.0)
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(we.numpy(), wt.numpy(), rtol=1e-6)


def test_embedding_bag_gradcheck_and_grad_fn():
    idx, off = np.array([1, 2, 4, 3, 4, 0]), np.array([0, 2, 2])
    for mode in ("sum", "mean", "max"):
        gradcheck_fd(lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, mode=mode, padding_idx=3),
                     randn(5, 3), idx, off)
    gradcheck_fd(lambda L, w, i, o, p: L.nn.functional.embedding_bag(i, w, o, mode="sum", per_sample_weights=p),
                 randn(5, 3), idx, off, randn(6))
    w = ember.tensor(randn(5, 3), requires_grad=True)
    out = ember.nn.functional.embedding_bag(ember.tensor(idx), w, ember.tensor(off))
    assert out.grad_fn.name() == "EmbeddingBagBackward0"


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_double_backward(mode):
    # torch has no double backward here: the gradient of sum(grad^2) with respect to the upstream
    # gradient u is checked against finite differences of ember's first-order gradients.
    idx, off = ember.tensor([1, 2, 4, 3, 4, 0]), ember.tensor([0, 2, 2])
    w = ember.tensor(randn(5, 3, dtype=np.float64), requires_grad=True)
    p = ember.tensor(randn(6, dtype=np.float64), requires_grad=True) if mode == "sum" else None
    inputs = (w, p) if p is not None else (w,)
    u0 = randn(3, 3, dtype=np.float64)

    def grads(u, create_graph=False):
        y = ember.nn.functional.embedding_bag(idx, w, off, mode=mode, per_sample_weights=p)
        return ember.autograd.grad((y * u).sum(), inputs, create_graph=create_graph)

    u = ember.tensor(u0, requires_grad=True)
    gs = grads(u, create_graph=True)
    for g, g_plain in zip(gs, grads(ember.tensor(u0))):
        np.testing.assert_allclose(g.detach().numpy(), g_plain.numpy(), rtol=1e-12)
    sum((g * g).sum() for g in gs).backward()
    numeric = np.zeros_like(u0)
    for k in range(u0.size):
        d = np.zeros(u0.size)
        d[k] = 1e-6
        f = [sum(float((g.numpy() ** 2).sum()) for g in grads(ember.tensor(u0 + s * d.reshape(u0.shape))))
             for s in (1, -1)]
        numeric.reshape(-1)[k] = (f[0] - f[1]) / 2e-6
    np.testing.assert_allclose(u.grad.numpy(), numeric, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 4), min_size=1, max_size=5), mode=st.sampled_from(["sum", "mean", "max"]),
       seed=st.integers(0, 1000))
def test_embedding_bag_random_bags(sizes, mode, seed):
    r = np.random.RandomState(seed)
    idx = r.randint(0, 7, size=sum(sizes))
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    check(lambda L, w, i, o: L.nn.functional.embedding_bag(i, w, o, mode=mode), r.standard_normal((7, 3)).astype(
        np.float32), idx, off)


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 7]), L.ones(5, 3), L.tensor([0])),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3)),
    lambda L: L.nn.functional.embedding_bag(L.tensor([[1, 2]]), L.ones(5, 3), L.tensor([0])),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3), L.tensor([0]), mode="foo"),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3), L.tensor([0]), mode="mean",
                                            per_sample_weights=L.ones(2)),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3), L.tensor([0]),
                                            per_sample_weights=L.ones(3)),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2, 3]), L.ones(5, 3), L.tensor([0, 5])),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2, 3]), L.ones(5, 3), L.tensor([[0]])),
    lambda L: L.nn.functional.embedding_bag(L.zeros(1, 1, 1, dtype=L.long), L.ones(5, 3)),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1.0, 2.0]), L.ones(5, 3), L.tensor([0])),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3, 1), L.tensor([0])),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 2]), L.ones(5, 3), L.tensor([0]), mode="max",
                                            scale_grad_by_freq=True),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 4]), L.ones(5, 3), L.tensor([0]), padding_idx=5),
    lambda L: L.nn.functional.embedding_bag(L.tensor([1, 4]), L.ones(5, 3), L.tensor([0]), padding_idx=-6),
])
def test_embedding_bag_errors(fn):
    same_error(fn)


def test_embedding_bag_bad_offsets():
    # torch's messages here carry extra debugging text; ember keeps the informative part.
    with pytest.raises(RuntimeError, match=re.escape("offsets[0] has to be 0, i.e., the first sequence in the "
                                                     "mini-batch has to start from position 0. However, got 1")):
        ember.nn.functional.embedding_bag(ember.tensor([1, 2]), ember.ones(5, 3), ember.tensor([1]))
    with pytest.raises(RuntimeError, match="offsets must be non-decreasing"):
        ember.nn.functional.embedding_bag(ember.tensor([1, 2, 3]), ember.ones(5, 3), ember.tensor([0, 2, 1]))
    with pytest.raises(RuntimeError):
        torch.nn.functional.embedding_bag(torch.tensor([1, 2, 3]), torch.ones(5, 3), torch.tensor([0, 2, 1]))

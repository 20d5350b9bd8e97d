"""Indexing against torch: subscripts (get and set), gather/scatter, masks, sort/topk."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import assert_close, check, gradcheck_fd

A = np.random.RandomState(3).randn(3, 4, 5).astype(np.float32)
MASK34 = np.zeros((3, 4), bool)
MASK34[0, 1] = MASK34[2, 3] = MASK34[1, 0] = True
MASK45 = np.random.RandomState(4).rand(4, 5) > 0.5
POS = A > 0


def _env(lib, x):
    return {"x": x, "T": lib, "np": np, "m": lib.tensor(MASK34), "m45": lib.tensor(MASK45), "pos": lib.tensor(POS)}


# Evaluated as written against ember and torch (T is the library, x a [3, 4, 5] tensor).
GETITEM_CASES = [
    "x[0]", "x[-1]", "x[2, -1]", "x[:, 1]", "x[..., 2]", "x[1:]", "x[:]", "x[:, :]", "x[...]", "x[()]",
    "x[::2]", "x[1::2, 1:3, ::3]", "x[0:100:2]", "x[-100:2]", "x[2:1]", "x[-2:, :-1]", "x[..., 1:, -2]",
    "x[None]", "x[..., None]", "x[..., ...]", "x[None, ..., None, 0]", "x[1, ..., None]", "x[1:, ::2, None, ..., -1]",
    "x[1:2, None, ..., -1]", "x[0][1]", "x[0][1][2]", "x[T.tensor([1])[0]]", "x[T.tensor([-1])[0], 2]",
    "x[True]", "x[False]", "x[True, 0]", "x[0, True]", "x[..., True]", "x[True, False]",
    "x[T.tensor([0, 2])]", "x[[0, 2]]", "x[[2, 0, 2]]", "x[T.tensor([-1, 0])]", "x[[True, False, True]]",
    "x[T.tensor([[0, 1], [1, 2]])]", "x[[0, 1], [1, 2]]", "x[[[0, 1], [1, 2]]]", "x[(0, [0, 1])]",
    "x[[0, slice(None)]]", "x[T.tensor([0]), :, T.tensor([1, 2])]", "x[:, T.tensor([0]), T.tensor([1, 2])]",
    "x[T.tensor([0, 1]), 0, T.tensor([1, 2])]", "x[T.tensor([0, 1]), :, 0]", "x[0, [1, 2], None, 1]",
    "x[[0, 1], None, [1, 2]]", "x[None, [0, 1], [1, 2]]", "x[:, [0, 1], None, [1, 2]]", "x[[[0]], [1, 2]]",
    "x[:, None, T.tensor([0, 1])]", "x[-1:, [0], True]", "x[T.tensor([0, 1], dtype=T.int32)]",
    "x[T.tensor([], dtype=T.int64)]", "x[T.zeros(0, dtype=T.int64), 0]", "x[m]", "x[m, 0]", "x[m, :, None]",
    "x[0, m45]", "x[:, m[0]]", "x[pos]", "x[T.tensor([1], dtype=T.uint8)[0]]", "x[T.tensor([True])[0]]",
    "x[np.array([0, 1])]", "x[np.int64(1)]", "x[np.array([[0, 1], [1, 0]])]", "x[:, 1:3][:, :, [0, 4]]",
    "x.transpose(0, 2)[1, [0, 2]]", "x[[0, 0, 1], 1:3]", "x[1:, [0, 0, 3]]",
]


@pytest.mark.parametrize("expr", GETITEM_CASES)
def test_getitem_matches_torch(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = check(lambda lib, x: eval(expr, _env(lib, x)), A)
        t = eval(expr, _env(torch, torch.tensor(A, requires_grad=True)))
        e = eval(expr, _env(ember, ember.tensor(A, requires_grad=True)))
    assert e.grad_fn.name() == t.grad_fn.name()
    assert out[0].shape == t.shape


@pytest.mark.parametrize("expr", ["x[1]", "x[:, 0]", "x[[1, 0]]", "x[..., [2, 0], 1:]", "x[1:, None, 0]"])
def test_getitem_noncontiguous_input(expr):
    check(lambda lib, x: eval(expr, _env(lib, x)), A, noncontig=True)


def test_basic_indexing_returns_views_sharing_storage():
    x = ember.tensor(A.copy())
    for v, expected_offset in [(x[1], 20), (x[:, 2], 10), (x[1:, ::2], 20), (x[None, 2], 40), (x[..., 3], 3)]:
        assert v.data_ptr() == x.data_ptr() + expected_offset * 4
        assert v._base_is_view
    assert x[:, 2].stride() == (20, 1)
    assert x[1:, ::2].stride() == (20, 10, 1)
    y = x[1]
    y[2, 3] = 100.0
    assert x[1, 2, 3].item() == 100.0
    x[0, 0, 0] = -7.0
    assert x[0][0][0].item() == -7.0
    adv = x[[0, 1]]
    adv[0, 0, 0] = 55.0
    assert x[0, 0, 0].item() == -7.0  # advanced indexing copies


def test_getitem_create_graph_double_backward():
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(A[0].astype(np.float64), requires_grad=True)
        y = x[1:, [0, 2]]
        (g,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        (g * g * x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_getitem_gradcheck_basic_and_advanced():
    a = np.random.randn(3, 4, 2)
    gradcheck_fd(lambda lib, x: (x[1:, ::2, None, ..., -1], x[0, 1], x[..., 0][None]), a)
    gradcheck_fd(lambda lib, x: (x[[0, 2, 0]], x[lib.tensor([[1, 1], [0, 2]]), :, lib.tensor([1, 0])],
                                 x[lib.tensor(MASK34[:, :4])]), a)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_random_slices_match_torch(data):
    shape = data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    arr = np.random.randn(*shape).astype(np.float32)
    key = []
    for size in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "full"]))
        if kind == "int" and size > 0:
            key.append(data.draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            start = data.draw(st.one_of(st.none(), st.integers(-7, 7)))
            stop = data.draw(st.one_of(st.none(), st.integers(-7, 7)))
            step = data.draw(st.one_of(st.none(), st.integers(1, 4)))
            key.append(slice(start, stop, step))
        else:
            key.append(slice(None))
    key = tuple(key)
    check(lambda lib, x: x[key], arr)
    xe, xt = ember.tensor(arr), torch.tensor(arr)
    assert xe[key].stride() == xt[key].stride()
    assert xe[key].storage_offset() == xt[key].storage_offset()


# ---- setitem -----------------------------------------------------------------------------------
# Statements run on y (a non-leaf copy of leaf x of shape [3, 4, 5]) and leaf value v; y is returned.
SETITEM_CASES = [
    ("y[0] = v", (4, 5)), ("y[0] = v", (5,)), ("y[0] = v", (1, 1, 5)), ("y[:, 1] = v", (3, 5)),
    ("y[1:, ::2] = v", (2, 1, 5)), ("y[..., -1] = v", (4,)), ("y[None, 1] = v", ()), ("y[...] = v", (5,)),
    ("y[[0, 2]] = v", (2, 4, 5)), ("y[[0, 2]] = v", (1, 1, 5)), ("y[[0, 1], :, [1, 2]] = v", (2, 4)),
    ("y[:, [0, 2], [1, 1]] = v", (3, 1)), ("y[m] = v", (3, 5)), ("y[m] = v", (5,)), ("y[pos] = v", ()),
    ("y[True] = v", (4, 5)), ("y[False] = v", (5,)), ("y[1:, [0, 3], 2] = v", (2,)), ("y[0, 0, 0] = v", ()),
]


@pytest.mark.parametrize("stmt,vshape", SETITEM_CASES)
def test_setitem_matches_torch(stmt, vshape):
    v = np.asarray(np.random.randn(*vshape), dtype=np.float32)
    if "pos" in stmt:
        v = np.array(2.5, np.float32)

    def fn(lib, x, v):
        env = _env(lib, x)
        env["y"] = x * 1.0
        env["v"] = v
        exec(stmt, env)
        return env["y"]

    check(fn, A, v)
    yt = fn(torch, torch.tensor(A, requires_grad=True), torch.tensor(v, requires_grad=True))
    ye = fn(ember, ember.tensor(A, requires_grad=True), ember.tensor(v, requires_grad=True))
    assert ye.grad_fn.name() == yt.grad_fn.name().split("::")[-1]


@pytest.mark.parametrize("stmt", ["y[1] = 2.5", "y[[0, 2], 1:3] = -1", "y[m] = 7", "y[:, 0] = True", "y[-1, ..., 0] = 3"])
def test_setitem_scalar_values_match_torch(stmt):
    def fn(lib, x):
        env = _env(lib, x)
        env["y"] = x * 1.0
        exec(stmt, env)
        return env["y"]

    check(fn, A)


def test_setitem_casts_to_destination_dtype():
    for lib in (torch, ember):
        yi = lib.zeros(4, dtype=lib.int64)
        yi[0] = 1.7
        yi[[1, 2]] = 3.9
        yi[3:] = lib.tensor([2.5])
        assert yi.tolist() == [1, 3, 3, 2]
        yb = lib.zeros(3, dtype=lib.bool)
        yb[[0]] = 2
        assert yb.tolist() == [True, False, False]


def test_setitem_value_gets_gradient_into_constant_buffer():
    v = np.random.randn(2, 5).astype(np.float32)

    def fn(lib, v):
        buf = lib.zeros(3, 4, 5)
        buf[0, 1:3] = v
        buf[[2, 1], 0] = v * 2
        return buf

    check(fn, v)


def test_setitem_on_int_tensor_without_grad():
    for lib in (torch, ember):
        x = lib.tensor(np.arange(12).reshape(3, 4))
        x[x.shape[0] - 1] = 0
        x[:, [0, 3]] = lib.tensor([[-1, -2]])
        if lib is torch:
            expected = x.numpy().copy()
    np.testing.assert_array_equal(x.numpy(), expected)


def test_augmented_assignment_through_subscripts_matches_torch():
    def fn(lib, x):
        y = x * 1.0
        y[0] += 2.0
        y[[1, 2], 1:] *= x[0, 1:, :]
        y[lib.tensor(MASK34)] -= 1.0
        return y

    check(fn, A)


def test_setitem_errors():
    leaf = ember.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf[0] = 1.0
    y = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"the number of sizes provided \(1\) must be greater or equal"):
        y[0] = ember.ones(2, 4)
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(4\) must match the existing size \(3\)"):
        y[0] = ember.ones(3)
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[3, 4\] cannot be broadcast to indexing result "
                                           r"of shape \[2, 4\]"):
        y[[0, 1]] = ember.ones(3, 4)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got Float "
                                           "for the destination and Long for the source"):
        y[[0, 1]] = ember.tensor([1, 2, 3, 4])
    with pytest.raises(TypeError, match="can't assign a str to a ember.FloatTensor"):
        y[0] = "a"
    with pytest.raises(ValueError, match="step must be greater than zero"):
        y[::-1] = 1.0
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        y[5] = 1.0
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        y[[5]] = 1.0


def test_setitem_into_views_while_recording_matches_torch():
    def fn(lib, x, w):
        z = x * 1.0
        z[0][1] = 2.0
        base = lib.zeros(3, 4)
        base[0][[1]] = w
        return z, base

    check(fn, A, np.ones(1, dtype=np.float32))


# ---- getitem errors ----------------------------------------------------------------------------
GETITEM_ERRORS = [
    ("x[5]", IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("x[-4]", IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ("x[..., 7]", IndexError, "index 7 is out of bounds for dimension 1 with size 5"),
    ("x[None, 0, 7]", IndexError, "index 7 is out of bounds for dimension 2 with size 4"),
    ("x[0, 0, 0, 0]", IndexError, "too many indices for tensor of dimension 3"),
    ("x[[0], [0], [0], [0]]", IndexError, "too many indices for tensor of dimension 3"),
    ("x[::-1]", ValueError, "step must be greater than zero"),
    ("x[::0]", ValueError, "slice step cannot be zero"),
    ("x[1.5]", IndexError, r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or byte Variables "
                           r"are valid indices \(got float\)"),
    ("x[T.tensor([0.0])]", IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    ("x[T.tensor([0], dtype=T.int16)]", IndexError, "tensors used as indices must be long, int, byte or bool"),
    ("x[T.tensor([5])]", IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("x[:, T.tensor([7])]", IndexError, "index 7 is out of bounds for dimension 0 with size 4"),
    ("x[[0], [9]]", IndexError, "index 9 is out of bounds for dimension 1 with size 4"),
    ("x[[-6]]", IndexError, "index -6 is out of bounds for dimension 0 with size 3"),
    ("x[T.tensor([True, False])]", IndexError, r"The shape of the mask \[2\] at index 0 does not match the shape of "
                                               r"the indexed tensor \[3, 4, 5\] at index 0"),
    ("x[:, T.tensor(MASK34.T)]", IndexError, r"The shape of the mask \[4, 3\] at index 1 does not match the shape "
                                             r"of the indexed tensor \[3, 4, 5\] at index 2"),
    ("x[[0, 1], [0, 1, 2]]", IndexError, r"shape mismatch: indexing tensors could not be broadcast together with "
                                         r"shapes \[2\], \[3\]"),
    ("T.tensor([3.0])[0][0]", IndexError, "invalid index of a 0-dim tensor"),
    ("x['a']", TypeError, "invalid data type 'str'"),
]


@pytest.mark.parametrize("expr,exc,msg", GETITEM_ERRORS)
def test_getitem_errors_match_torch(expr, exc, msg):
    for lib in (torch, ember):
        env = _env(lib, lib.tensor(A))
        env["MASK34"] = MASK34
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc, match=msg):
                eval(expr, env)


# ---- ops ---------------------------------------------------------------------------------------
B = np.random.RandomState(5).randn(3, 4).astype(np.float32)
IDX = np.array([[0, 1, 3], [2, 0, 0]])
IDX_ROWS = np.array([[2, 0, 1, 1], [0, 0, 2, 1]])


def test_index_select_matches_torch():
    check(lambda lib, x, i: (lib.index_select(x, 0, i), x.index_select(1, i), x.index_select(-1, i[:1])),
          B, np.array([2, 0, 2]))
    check(lambda lib, x, i: x.index_select(0, i), B, np.array([1, 0], np.int32), noncontig=True)
    check(lambda lib, x: lib.index_select(x[0, 0], 0, lib.tensor([0])), B)
    gradcheck_fd(lambda lib, x: lib.index_select(x, 1, lib.tensor([3, 0, 3])), B)


def test_gather_matches_torch():
    check(lambda lib, x, i: (lib.gather(x, 1, i), x.gather(0, lib.tensor(IDX_ROWS[:, :3]))), B, IDX)
    check(lambda lib, x, i: x.gather(1, i), B, IDX, noncontig=True)
    check(lambda lib, x: x.gather(0, lib.zeros(0, 4, dtype=lib.int64)), B)
    gradcheck_fd(lambda lib, x: lib.gather(x, 1, lib.tensor(IDX)), B)


def test_scatter_and_scatter_add_match_torch():
    src = np.random.randn(2, 3).astype(np.float32)
    idx = np.array([[0, 1, 3], [2, 0, 1]])
    check(lambda lib, x, s: (lib.scatter(x, 1, lib.tensor(idx), s), x.scatter(1, lib.tensor(idx), 2.0),
                             x.scatter(1, lib.tensor(idx), value=-1.0), lib.scatter_add(x, 1, lib.tensor(IDX), s)),
          B, src)
    check(lambda lib, x, s: x.scatter(0, lib.tensor(IDX_ROWS[:, :3]), s, reduce="add"), B, src, grad=False)
    check(lambda lib, x, s: x.scatter(0, lib.tensor(IDX_ROWS[:, :3]), 3.0, reduce="multiply"), B, src, grad=False)
    # A src larger than the index: torch's backward fails there; ember zero-pads the src gradient.
    big_src = np.random.randn(3, 5).astype(np.float32)
    check(lambda lib, x, s: x.scatter_add(1, lib.tensor(IDX), s), B, big_src, grad=False)
    gradcheck_fd(lambda lib, x, s: x.scatter_add(1, lib.tensor(IDX), s), B, big_src)
    gradcheck_fd(lambda lib, x, s: lib.scatter(x, 1, lib.tensor(idx), s), B, src)


def test_inplace_scatter_index_ops_match_torch():
    src = np.random.randn(2, 3).astype(np.float32)

    def fn(lib, x, s):
        y = x * 1.0
        y.scatter_(1, lib.tensor([[0, 1, 3], [2, 0, 1]]), s)
        y.scatter_add_(1, lib.tensor(IDX), s * 2)
        y.index_add_(0, lib.tensor([2, 2]), s[:, :1].expand(2, 4), alpha=3)
        y.index_put_((lib.tensor([0, 0]), lib.tensor([1, 1])), s[0, :2], accumulate=True)
        y.masked_fill_(lib.tensor(B > 0.5), -3.0)
        return y

    check(fn, B, src)


def test_index_add_and_index_put_match_torch():
    s = np.random.randn(3, 4).astype(np.float32)
    check(lambda lib, x, s: (lib.index_add(x, 0, lib.tensor([0, 0]), s[:2], alpha=2),
                             x.index_add(1, lib.tensor([3, 1, 3, 0]), s), x.index_add(0, lib.tensor([1]), s[2:], alpha=0.5)),
          B, s)
    v = np.random.randn(3).astype(np.float32)
    check(lambda lib, x, v: (lib.index_put(x, (lib.tensor([0, 2, 0]), lib.tensor([1, 1, 1])), v, accumulate=True),
                             x.index_put((lib.tensor([0, 2, 1]),), v[:1]),
                             x.index_put((lib.tensor(B > 0),), v.sum())), B, v)


def test_masked_fill_matches_torch():
    mask = np.random.rand(3, 4) > 0.5
    check(lambda lib, x, m: (lib.masked_fill(x, m, 1.5), x.masked_fill(m[0], -2), x.masked_fill(m, True)),
          B, mask)
    check(lambda lib, x, m, v: x.masked_fill(m, v.sum()), B, mask, np.random.randn(2).astype(np.float32))
    check(lambda lib, x, m: lib.masked_fill(x, lib.tensor(np.ones((2, 3, 4), bool)), 0.0), B, mask)
    check(lambda lib, x: x.long().masked_fill(x > 0 if lib is torch else lib.tensor(B > 0), 1.5), B, grad=False)
    check(lambda lib, x, m: x.masked_fill(m, 1.0), B, mask, noncontig=True)
    gradcheck_fd(lambda lib, x, v: lib.masked_fill(x, lib.tensor(mask), v.sum()), B, np.random.randn(2))


def test_masked_select_nonzero_where_take_match_torch():
    mask = np.random.rand(3, 4) > 0.5
    check(lambda lib, x, m: (lib.masked_select(x, m), x.masked_select(m[1]),
                             lib.masked_select(x, lib.tensor(np.random.RandomState(1).rand(2, 3, 4) > 0.5))), B, mask)
    z = B * (np.random.rand(3, 4) > 0.4)
    check(lambda lib, x: (lib.nonzero(x), x.nonzero(), lib.nonzero(x, as_tuple=True), lib.where(x != 0) if lib is torch
                          else lib.where(lib.tensor(z != 0))), z, grad=False)
    check(lambda lib, x: (lib.nonzero(x[0, 0]), lib.nonzero(x[0, 0], as_tuple=True), lib.nonzero(x[:0])), z, grad=False)
    check(lambda lib, x: lib.nonzero(x), np.array([[0, 1, 2], [3, 0, 0]], np.int64), grad=False)
    check(lambda lib, x: (lib.take(x, lib.tensor([[0, 11], [-1, 5]])), x.take(lib.tensor([3, 3]))), B)
    check(lambda lib, x: x.take(lib.tensor([0, 5, 7])), B, noncontig=True)


def test_sort_argsort_topk_match_torch():
    x = np.random.RandomState(6).permutation(60).reshape(3, 4, 5).astype(np.float32)
    check(lambda lib, x: (lib.sort(x), x.sort(0, True), lib.sort(x, dim=1, descending=False, stable=True),
                          lib.argsort(x, 1), x.argsort(dim=-1, descending=True)), x)
    check(lambda lib, x: (lib.topk(x, 2), x.topk(3, dim=0, largest=False), lib.topk(x, 0), x.topk(4, 1, True, True)), x)
    check(lambda lib, x: (x.sort(1), x.topk(2, 0)), x[0], noncontig=True)
    s = np.array([[2, 1, 2, 1, 0], [1, 1, 1, 0, 1]], np.float32)
    check(lambda lib, x: lib.sort(x, stable=True, descending=True), s)
    check(lambda lib, x: (lib.sort(x), lib.topk(x, 2)), np.array([3.0, np.nan, 1.0, 2.0], np.float32), grad=False)
    check(lambda lib, x: (x.sort(), lib.topk(x, 2, largest=False)), np.array([[5, 1, 3], [0, 7, 6]]), grad=False)
    check(lambda lib, x: lib.sort(lib.tensor(s > 1), dim=1, stable=True), s, grad=False)
    check(lambda lib, x: (lib.sort(x[0, 0]), lib.topk(x[0, 0], 1)), x)
    e = ember.sort(ember.tensor([3.0, 1.0]))
    assert e.values.tolist() == [1.0, 3.0] and e.indices.tolist() == [1, 0]
    t = ember.topk(ember.tensor([3.0, 1.0]), 1)
    assert t.values.tolist() == [3.0] and t.indices.tolist() == [0]
    assert type(e).__name__ == "sort" and type(t).__name__ == "topk"
    gradcheck_fd(lambda lib, x: (lib.sort(x, 1)[0], lib.topk(x, 2, 0)[0]), x[0].astype(np.float64) / 7)


# ---- op errors ---------------------------------------------------------------------------------
OP_ERRORS = [
    ("T.index_select(x, 0, T.tensor([[0, 2]]))", IndexError, "index_select\\(\\): Index is supposed to be a vector"),
    ("T.index_select(x, 0, T.tensor([5]))", IndexError, "index out of range in self"),
    ("T.index_select(x, 0, T.tensor([-1]))", IndexError, "index out of range in self"),
    ("T.index_select(x, 0, T.tensor([1.0]))", RuntimeError, "Expected dtype int32 or int64 for index"),
    ("T.index_select(x, 2, T.tensor([0]))", IndexError, "Dimension out of range"),
    ("T.gather(x, 1, T.tensor([[5]]))", RuntimeError, "index 5 is out of bounds for dimension 1 with size 4"),
    ("T.gather(x, 1, T.tensor([[-1]]))", RuntimeError, "index -1 is out of bounds for dimension 1 with size 4"),
    ("T.gather(x, 1, T.tensor([0]))", RuntimeError, "Index tensor must have the same number of dimensions as input"),
    ("T.gather(x, 1, T.zeros(4, 1, dtype=T.int64))", RuntimeError,
     r"Size does not match at dimension 0 expected index \[4, 1\] to be no larger than self \[3, 4\] apart from "
     r"dimension 1"),
    ("T.gather(x, 1, T.zeros(3, 1))", RuntimeError, "gather\\(\\): Expected dtype int32/int64 for index"),
    ("T.scatter(x, 1, T.tensor([[9]]), T.ones(1, 1))", RuntimeError, "index 9 is out of bounds for dimension 1"),
    ("T.scatter(x, 1, T.tensor([[0, 1]]), T.ones(1, 1))", RuntimeError,
     r"Expected index \[1, 2\] to be no larger than self \[3, 4\] apart from dimension 1 and to be no larger size "
     r"than src \[1, 1\]"),
    ("T.scatter(x, 1, T.tensor([[0]]), T.ones(1, 1, dtype=T.float64))", RuntimeError,
     "scatter\\(\\): Expected self.dtype to be equal to src.dtype"),
    ("T.scatter(x, 1, T.tensor([[0]]), T.ones(1, 1), reduce='sum')", RuntimeError,
     "reduce argument must be either add or multiply"),
    ("T.scatter_add(x, 1, T.tensor([0]), T.ones(1, 1))", RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    ("T.index_add(x, 0, T.tensor([0, 0]), T.ones(3, 4))", RuntimeError,
     r"Number of indices \(2\) should be equal to source.size\(dim\): \(3\), for dim: 0"),
    ("T.index_add(x, 0, T.tensor([7]), T.ones(1, 4))", RuntimeError, "index 7 is out of bounds for dimension 0"),
    ("T.index_add(x, 0, T.tensor([0]), T.ones(1, 5))", RuntimeError,
     "source tensor shape must match self tensor shape, excluding the specified dimension"),
    ("T.index_add(x, 0, T.tensor([0]), T.ones(1, 4, dtype=T.int64))", RuntimeError,
     r"self \(Float\) and source \(Long\) must have the same scalar type"),
    ("T.index_put(x, (T.tensor([0]),), T.ones(1, dtype=T.int64))", RuntimeError,
     "Index put requires the source and destination dtypes match"),
    ("T.index_put(x, (T.tensor([0, 1]),), T.ones(3, 4))", RuntimeError,
     r"value tensor of shape \[3, 4\] cannot be broadcast to indexing result of shape \[2, 4\]"),
    ("T.masked_fill(x, x, 1.0)", RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype float"),
    ("T.masked_fill(x, T.ones(3, 4, dtype=T.bool), T.ones(1))", RuntimeError,
     r"only supports a 0-dimensional value tensor, but got tensor with 1 dimension\(s\)"),
    ("x.masked_fill_(T.ones(2, 3, 4, dtype=T.bool), 1.0)", RuntimeError,
     r"output with shape \[3, 4\] doesn't match the broadcast shape \[2, 3, 4\]"),
    ("T.masked_fill(x, T.ones(2, 3, dtype=T.bool), 1.0)", RuntimeError, "must match the size of tensor b"),
    ("T.masked_select(x, x)", RuntimeError, "masked_select: expected BoolTensor for mask"),
    ("T.index_select(x[0, 0], 0, T.tensor([0, 0]))", RuntimeError,
     r"Index to scalar can have only 1 value, got 2 value\(s\)"),
    ("T.index_select(x[0, 0], 0, T.tensor([1]))", IndexError, "index out of range in self"),
    ("T.index_add(x, 0, T.tensor([[0]]), T.ones(1, 4))", IndexError,
     r"index_add_\(\): Index is supposed to be a vector, but got dim: 2 with type: Long and size: \[1, 1\]"),
    ("T.index_add(x, 0, T.tensor([0.0]), T.ones(1, 4))", RuntimeError,
     r"index_add_\(\): Expected dtype int32/int64 for index but got: Float"),
    ("T.scatter(x, 1, T.zeros(3, 1), 1.0)", RuntimeError, r"scatter\(\): Expected dtype int32/int64 for index"),
    ("x.masked_fill(T.ones(3, 4, dtype=T.bool), 'a')", TypeError, "masked_fill"),
    ("x.scatter(0, T.tensor([[0]]))", TypeError, "scatter"),
    ("x[2 ** 70]", ValueError, "Overflow when unpacking long long"),
    ("T.take(x, T.tensor([12]))", IndexError, "out of range: tried to access index 12 on a tensor of 12 elements"),
    ("T.take(x, T.tensor([1], dtype=T.int32))", RuntimeError, "take\\(\\): Expected a long tensor for index, but got Int"),
    ("T.topk(x, 5)", RuntimeError, "selected index k out of range"),
    ("T.topk(x, -1)", RuntimeError, "selected index k out of range"),
    ("T.topk(x, 4, dim=0)", RuntimeError, "selected index k out of range"),
    ("T.topk(x.bool(), 1)", RuntimeError, "topk does not support bool dtypes"),
    ("T.sort(x, dim=3)", IndexError, "Dimension out of range"),
]


@pytest.mark.parametrize("expr,exc,msg", OP_ERRORS)
def test_op_errors_match_torch(expr, exc, msg):
    for lib in (torch, ember):
        with pytest.raises(exc, match=msg):
            eval(expr, {"T": lib, "x": lib.tensor(B)})


def test_scatter_with_reduce_has_no_derivative():
    for lib in (torch, ember):
        x = lib.tensor(B, requires_grad=True)
        y = lib.scatter(x, 1, lib.tensor([[0]]), lib.ones(1, 1), reduce="add")
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            y.sum().backward()


def test_index_put_inplace_on_leaf_requiring_grad_raises():
    x = ember.tensor(B, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.index_put_((ember.tensor([0]),), ember.tensor(1.0))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.masked_fill_(ember.tensor(B > 0), 0.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.scatter_(1, ember.tensor([[0]]), 0.0)


def test_large_advanced_index_and_nonzero_match_numpy():
    # Large enough to cross the parallel grain size.
    rng = np.random.RandomState(7)
    a = rng.randn(300, 257).astype(np.float32)
    idx = rng.randint(-300, 300, size=5000)
    x = ember.tensor(a)
    assert_close(x[ember.tensor(idx)], a[idx])
    assert_close(x[:, ember.tensor(idx[:400] % 257)], a[:, idx[:400] % 257])
    m = a > 0.3
    assert_close(ember.nonzero(ember.tensor(m)), np.argwhere(m))
    assert_close(x[ember.tensor(m)], a[m])

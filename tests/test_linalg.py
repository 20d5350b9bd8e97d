"""Matrix products against torch: values, gradients, double backward, determinism, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd


def arr(*shape, dtype=np.float32):
    return np.random.randn(*shape).astype(dtype)


def linear(lib, x, w, b=None):
    if lib is torch:
        return torch.nn.functional.linear(x, w, b)
    return ember._C._linear(x, w, b)


# (id, op, input shapes): run on contiguous and transposed inputs, forward and backward, and
# gradchecked in float64.
CASES = [
    ("mm", lambda lib, a, b: lib.mm(a, b), [(3, 4), (4, 5)]),
    ("mm_method", lambda lib, a, b: a.mm(b), [(1, 4), (4, 1)]),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), [(2, 3, 4), (2, 4, 5)]),
    ("bmm_method", lambda lib, a, b: a.bmm(b), [(3, 1, 4), (3, 4, 2)]),
    ("matmul_dot", lambda lib, a, b: lib.matmul(a, b), [(4,), (4,)]),
    ("matmul_mv", lambda lib, a, b: a @ b, [(3, 4), (4,)]),
    ("matmul_vm", lambda lib, a, b: a @ b, [(4,), (4, 3)]),
    ("matmul_mm", lambda lib, a, b: a.matmul(b), [(3, 4), (4, 5)]),
    ("matmul_3d_2d", lambda lib, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_4d_1d", lambda lib, a, b: a @ b, [(2, 2, 3, 4), (4,)]),
    ("matmul_1d_3d", lambda lib, a, b: a @ b, [(3,), (2, 3, 4)]),
    ("matmul_2d_3d", lambda lib, a, b: a @ b, [(5, 3), (2, 3, 4)]),
    ("matmul_3d_3d", lambda lib, a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    ("matmul_broadcast", lambda lib, a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]),
    ("matmul_broadcast2", lambda lib, a, b: lib.matmul(a, b), [(1, 3, 4), (2, 1, 4, 5)]),
    ("mv", lambda lib, a, b: lib.mv(a, b), [(3, 4), (4,)]),
    ("dot", lambda lib, a, b: lib.dot(a, b), [(5,), (5,)]),
    ("vdot", lambda lib, a, b: a.vdot(b), [(5,), (5,)]),
    ("outer", lambda lib, a, b: lib.outer(a, b), [(3,), (4,)]),
    ("ger", lambda lib, a, b: a.ger(b), [(3,), (4,)]),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), [(3, 5), (3, 4), (4, 5)]),
    ("addmm_bias", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=-2.0), [(5,), (3, 4), (4, 5)]),
    ("addmm_col", lambda lib, c, a, b: c.addmm(a, b, alpha=3), [(3, 1), (3, 4), (4, 5)]),
    ("addmm_beta0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0), [(3, 5), (3, 4), (4, 5)]),
    ("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=2, alpha=0.5), [(3,), (3, 4), (4,)]),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5, alpha=2), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    ("linear", lambda lib, x, w, b: linear(lib, x, w, b), [(6, 4), (3, 4), (3,)]),
    ("linear_nobias", lambda lib, x, w: linear(lib, x, w), [(6, 4), (3, 4)]),
    ("linear_3d", lambda lib, x, w, b: linear(lib, x, w, b), [(2, 5, 4), (3, 4), (3,)]),
    ("linear_1d", lambda lib, x, w, b: linear(lib, x, w, b), [(4,), (3, 4), (3,)]),
]


@pytest.mark.parametrize("noncontig", [False, True], ids=["contig", "noncontig"])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_linalg_op_matches_torch(name, fn, shapes, noncontig):
    check(fn, *[arr(*s) for s in shapes], noncontig=noncontig)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_linalg_op_gradcheck(name, fn, shapes):
    gradcheck_fd(fn, *[np.random.randn(*s) for s in shapes])


NAMED = [c for c in CASES if c[0] in ("mm", "bmm", "matmul_dot", "matmul_mv", "mv", "dot", "vdot", "addmm", "addmv",
                                      "baddbmm", "outer", "linear")]


@pytest.mark.parametrize("name,fn,shapes", NAMED, ids=[c[0] for c in NAMED])
def test_linalg_node_names_match_torch(name, fn, shapes):
    arrays = [arr(*s) for s in shapes]
    names = []
    for lib in (ember, torch):
        out = fn(lib, *[lib.tensor(a, requires_grad=True) for a in arrays])
        names.append(out.grad_fn.name())
    assert names[0] == names[1]


def test_large_products_use_blocked_gemm():
    # Big enough to be split into row blocks (tall) and column blocks (wide) across threads.
    check(lambda lib, a, b: a @ b, arr(300, 70), arr(70, 20), rtol=1e-4, atol=1e-4)
    check(lambda lib, a, b: a @ b, arr(64, 120), arr(120, 520), rtol=1e-4, atol=1e-4, noncontig=True)
    check(lambda lib, a, b: lib.bmm(a, b), arr(3, 130, 40), arr(3, 40, 90), rtol=1e-4, atol=1e-4)
    check(lambda lib, a, b: a @ b, arr(40, 8, 8), arr(8, 8), rtol=1e-4, atol=1e-4)
    check(lambda lib, a, b: a @ b, arr(300, 8, 8), arr(300, 8, 8), rtol=1e-4, atol=1e-4)


def test_strided_and_broadcast_operands_are_packed():
    a = arr(3, 4, 5)
    b = arr(5, 6)
    # select of the last dim: neither row- nor column-major; expand: stride 0
    check(lambda lib, x, y: x.select(2, 1) @ y.narrow(0, 0, 4), a, b)
    check(lambda lib, x, y: lib.mm(x.select(1, 0).t().expand(5, 3).t(), y), a, b)
    check(lambda lib, x, y: lib.mv(y.t(), x.select(0, 1).select(0, 2).expand(5)), a, b)
    check(lambda lib, x, y: lib.dot(x.select(2, 0).select(1, 1), x.select(2, 3).select(1, 2)), a, b)
    check(lambda lib, x: x @ x.mT, a)
    check(lambda lib, x, y: x.narrow(2, 1, 3) @ y.narrow(0, 2, 3), a, b)


def test_integer_products_match_torch():
    a = np.random.randint(-5, 5, (3, 4))
    b = np.random.randint(-5, 5, (4, 2))
    check(lambda lib, x, y: (lib.mm(x, y), x @ y, lib.mv(x, y.select(1, 0))), a, b)
    check(lambda lib, x, y: (lib.dot(x.select(0, 0), y.select(1, 1)), lib.bmm(x.unsqueeze(0), y.unsqueeze(0)),
                             lib.addmm(x.select(1, 0).unsqueeze(1), x, y, beta=2, alpha=3)), a, b)
    for dt in (np.int32, np.int16, np.int8, np.uint8):
        check(lambda lib, x, y: x @ y, a.astype(dt) % 3, b.astype(dt) % 3)


def test_empty_and_zero_inner_products():
    check(lambda lib, a, b: a @ b, arr(3, 0), arr(0, 4))
    check(lambda lib, a, b: a @ b, arr(0, 3), arr(3, 4))
    check(lambda lib, a, b: a @ b, arr(2, 0, 3), arr(3, 4))
    check(lambda lib, a, b: a @ b, arr(0,), arr(0,))
    check(lambda lib, c, a, b: lib.addmm(c, a, b), arr(3, 4), arr(3, 0), arr(0, 4))
    check(lambda lib, a, b: lib.bmm(a, b), arr(0, 2, 3), arr(0, 3, 4))


def test_matmul_operator_rejects_non_tensors():
    x = ember.ones(2, 2)
    for other in (2, 2.5, [1, 2], "a"):
        with pytest.raises(TypeError, match="unsupported operand type"):
            x @ other
        with pytest.raises(TypeError, match="unsupported operand type"):
            other @ x


def test_rmatmul_is_reflected_product():
    a, b = arr(2, 3), arr(3, 4)
    out = ember.tensor(b).__rmatmul__(ember.tensor(a))
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-6)


def test_linear_matches_torch_functional():
    x, w, b = arr(2, 3, 7), arr(5, 7), arr(5)
    check(lambda lib, x, w, b: linear(lib, x, w, b), x, w, b, noncontig=True)
    check(lambda lib, x, w: linear(lib, x.mT.contiguous().mT, w), x, w)


@pytest.mark.parametrize("product", ["linear", "mm_right", "mm_left"])
def test_gradient_of_a_transposed_operand_arrives_contiguous(product):
    # The gradient of w.t() in a product is computed transposed (so that AccumulateGrad can keep
    # it without a strided copy): values equal torch's and w.grad is contiguous either way.
    x_np, w_np, g_np = arr(6, 7), arr(5, 7), arr(6, 5)
    res = []
    for lib in (ember, torch):
        x, w = lib.tensor(x_np, requires_grad=True), lib.tensor(w_np, requires_grad=True)
        if product == "linear":
            y = lib.nn.Linear(7, 5)
            with lib.no_grad():
                y.weight.copy_(w)
            out, leaf = y(x), y.weight
        elif product == "mm_right":
            out, leaf = lib.mm(x, w.t()), w
        else:
            out, leaf = lib.mm(w.t().t().t().t(), x.t()).t(), w  # w enters as a plain (untransposed) view
        out.backward(lib.tensor(g_np))
        res.append((leaf.grad, x.grad))
    (ew, ex), (tw, tx) = res
    assert ew.is_contiguous()
    np.testing.assert_allclose(ew.numpy(), tw.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ex.numpy(), tx.numpy(), rtol=1e-5, atol=1e-5)


def test_gradient_of_a_transposed_left_operand_matches_torch():
    a_np, b_np, g_np = arr(4, 6), arr(4, 5), arr(6, 5)
    res = []
    for lib in (ember, torch):
        a, b = lib.tensor(a_np, requires_grad=True), lib.tensor(b_np, requires_grad=True)
        lib.mm(a.t(), b).backward(lib.tensor(g_np))
        res.append((a.grad, b.grad))
    for e, t in zip(*res):
        assert e.is_contiguous()
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shapes", [[(3, 4), (4, 5)], [(2, 3, 4), (4, 5)], [(2, 3, 4), (2, 4, 5)], [(4,), (4,)],
                                    [(3, 4), (4,)], [(2, 1, 3, 4), (3, 4, 2)]])
def test_second_derivative_through_matmul(shapes):
    arrays = [np.random.randn(*s) for s in shapes]
    res = []
    for lib in (ember, torch):
        a, b = [lib.tensor(x, requires_grad=True) for x in arrays]
        y = (a @ b).tanh()
        ga, gb = lib.autograd.grad(y.sum(), (a, b), create_graph=True)
        z = (ga * ga).sum() + (gb * gb * gb).sum()
        res.append([t.numpy() for t in lib.autograd.grad(z, (a, b))] + [ga.detach().numpy(), gb.detach().numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)


def test_second_derivative_through_mm_addmm_linear():
    arrays = [np.random.randn(4, 3), np.random.randn(5, 3), np.random.randn(5)]
    res = []
    for lib in (ember, torch):
        x, w, b = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = linear(lib, x, w, b)
        y = lib.mm(y * y, w)
        grads = lib.autograd.grad(y.sum(), (x, w, b), create_graph=True)
        z = sum((g * g).sum() for g in grads)
        res.append([t.numpy() for t in lib.autograd.grad(z, (x, w, b))])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)


def test_matmul_is_bitwise_identical_on_1_and_2_threads():
    a, b = arr(300, 300), arr(300, 300)
    prev = ember.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            x = ember.tensor(a, requires_grad=True)
            y = ember.tensor(b, requires_grad=True)
            out = x @ y.t()
            (out * out).sum().backward()
            bo = ember.bmm(x.view(3, 100, 300), y.view(3, 300, 100))
            results.append([out.detach().numpy().copy(), x.grad.numpy().copy(), y.grad.numpy().copy(),
                            bo.detach().numpy().copy()])
    finally:
        ember.set_num_threads(prev)
    for r1, r2 in zip(*results):
        assert np.array_equal(r1, r2)
    np.testing.assert_allclose(results[0][0], a @ b.T, rtol=1e-4, atol=1e-3)


batch_dims = st.lists(st.integers(1, 3), min_size=0, max_size=2)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), batch_dims, st.data())
def test_matmul_shapes_hypothesis(n, k, m, batch, data):
    # a and b are 1-D..4-D; batch dims of one side may be 1 or missing (broadcast).
    da = data.draw(st.integers(1, 2 + len(batch)))
    db = data.draw(st.integers(1, 2 + len(batch)))

    def shape(ndim, rows, cols, vec):
        if ndim == 1:
            return (vec,)
        b = [s if data.draw(st.booleans()) else 1 for s in batch][len(batch) - (ndim - 2):] if ndim > 2 else []
        return tuple(b) + (rows, cols)
    sa = shape(da, n, k, k)
    sb = shape(db, k, m, k)
    check(lambda lib, a, b: a @ b, arr(*sa), arr(*sb), noncontig=data.draw(st.booleans()), rtol=1e-4, atol=1e-5)


ERRORS = [
    (lambda lib: lib.mm(lib.ones(2, 3), lib.ones(4, 5)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda lib: lib.mm(lib.ones(64, 1408), lib.ones(320, 10)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(64x1408 and 320x10\)"),
    (lambda lib: lib.mm(lib.ones(2, 3), lib.ones(3, 4, dtype=lib.float64)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda lib: lib.mm(lib.ones(2, 3, dtype=lib.long), lib.ones(3, 4)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    (lambda lib: lib.mm(lib.ones(2, 3), lib.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda lib: lib.mm(lib.ones(3), lib.ones(3, 2)), RuntimeError, "self must be a matrix"),
    (lambda lib: lib.mm(lib.ones(2, 3, dtype=lib.bool), lib.ones(3, 2, dtype=lib.bool)), NotImplementedError,
     "not implemented for 'Bool'"),
    (lambda lib: lib.matmul(lib.ones(()), lib.ones(2, 2)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    (lambda lib: lib.ones(2, 2) @ lib.ones(()), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 2D and 0D"),
    (lambda lib: lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64), RuntimeError,
     "expected m1 and m2 to have the same dtype"),
    (lambda lib: lib.ones(2, 2, 3) @ lib.ones(2, 3, 4, dtype=lib.float64), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda lib: lib.ones(3) @ lib.ones(3, dtype=lib.float64), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda lib: lib.ones(2, 3) @ lib.ones(3, dtype=lib.float64), RuntimeError,
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (lambda lib: lib.ones(3) @ lib.ones(4), RuntimeError,
     r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the same number of elements"),
    (lambda lib: lib.ones(2, 3) @ lib.ones(4), RuntimeError, r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (lambda lib: lib.ones(4) @ lib.ones(2, 3), RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(1x4 and 2x3\)"),
    (lambda lib: lib.ones(5, 2, 3) @ lib.ones(4, 5), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(10x3 and 4x5\)"),
    (lambda lib: lib.ones(5, 2, 3) @ lib.ones(4), RuntimeError, r"size mismatch, got input \(10\), mat \(10x3\), vec \(4\)"),
    (lambda lib: lib.ones(5, 2, 3) @ lib.ones(5, 4, 3), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[5, 3\] but got: \[5, 4\]"),
    (lambda lib: lib.ones(4) @ lib.ones(5, 2, 3), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[5, 4\] but got: \[5, 2\]"),
    (lambda lib: lib.ones(5, 2, 3) @ lib.ones(4, 3, 3), RuntimeError,
     r"The size of tensor a \(5\) must match the size of tensor b \(4\) at non-singleton dimension 0"),
    (lambda lib: lib.bmm(lib.ones(5, 2, 3), lib.ones(4, 3, 3)), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[5, 3\] but got: \[4, 3\]"),
    (lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(2, 3)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda lib: lib.bmm(lib.ones(5, 2, 3), lib.ones(2, 3)), RuntimeError, "batch2 must be a 3D tensor"),
    (lambda lib: lib.bmm(lib.ones(5, 2, 3), lib.ones(5, 3, 3, dtype=lib.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda lib: lib.mv(lib.ones(2, 3), lib.ones(2, 3)), RuntimeError, "vector \\+ matrix @ vector expected, got 1, 2, 2"),
    (lambda lib: lib.mv(lib.ones(3), lib.ones(3)), RuntimeError, "vector \\+ matrix @ vector expected, got 1, 1, 1"),
    (lambda lib: lib.dot(lib.ones(2, 2), lib.ones(2, 2)), RuntimeError, "1D tensors expected, but got 2D and 2D tensors"),
    (lambda lib: lib.dot(lib.ones(3, dtype=lib.bool), lib.ones(3, dtype=lib.bool)), NotImplementedError,
     "\"dot\" not implemented for 'Bool'"),
    (lambda lib: lib.vdot(lib.ones(3), lib.ones(4)), RuntimeError, "inconsistent tensor size"),
    (lambda lib: lib.outer(lib.ones(2, 2), lib.ones(3)), RuntimeError, "outer: Expected 1-D argument self, but got 2-D"),
    (lambda lib: lib.outer(lib.ones(2), lib.ones(3, 1)), RuntimeError, "outer: Expected 1-D argument vec2, but got 2-D"),
    (lambda lib: lib.addmm(lib.ones(7), lib.ones(2, 3), lib.ones(3, 4)), RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(7\) at non-singleton dimension 1"),
    (lambda lib: lib.addmm(lib.ones(4, dtype=lib.float64), lib.ones(2, 3), lib.ones(3, 4)), RuntimeError,
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda lib: lib.addmm(lib.ones(4), lib.ones(2, 3), lib.ones(4, 5)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda lib: lib.addmv(lib.ones(3), lib.ones(2, 3), lib.ones(3)), RuntimeError,
     r"size mismatch, got input \(3\), mat \(2x3\), vec \(3\)"),
    (lambda lib: lib.baddbmm(lib.ones(3, 4), lib.ones(5, 2, 3), lib.ones(5, 3, 4)), RuntimeError,
     r"The expanded size of the tensor \(2\) must match the existing size \(3\) at non-singleton dimension 1"),
    (lambda lib: linear(lib, lib.ones(5, 3), lib.ones(4, 2)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(5x3 and 2x4\)"),
    (lambda lib: linear(lib, lib.ones(5, 3), lib.ones(4, 3), lib.ones(5)), RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(5\) at non-singleton dimension 1"),
    (lambda lib: linear(lib, lib.ones(5, 3), lib.ones(3), lib.ones(())), RuntimeError,
     "mat2 must be a matrix, got 1-D tensor"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_linalg_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(ember)
    with pytest.raises(exc, match=msg):
        fn(torch)

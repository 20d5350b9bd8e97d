"""The core GEMM behind every matrix product: edge tiles, operand layouts, alpha/beta, threads.

Sizes straddle the micro-kernel tile (14 or 6 rows, 16 or 32 columns, and the one-register
kernel of a narrow last column panel) and the k block (256/384) so that edge panels and several
k blocks are hit; expected values are numpy
float64 products.
"""
import numpy as np
import pytest

import ember

RNG = np.random.RandomState(7)


def arr(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def tol(dtype, k):
    # float32 products accumulate k roundings of O(sqrt(k)) sized partial sums.
    return dict(rtol=1e-4, atol=1e-5 * max(k, 1)) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12 * max(k, 1))


def ref(a, b):
    return a.astype(np.float64) @ b.astype(np.float64)


SHAPES = [(1, 7, 40), (1, 300, 64), (40, 9, 1), (13, 5, 31), (14, 33, 32), (15, 1, 33), (29, 383, 65),
          (57, 385, 100), (3, 769, 97), (70, 20, 200), (31, 64, 17), (100, 37, 250)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", SHAPES)
def test_mm_edge_shapes(n, k, m, dtype):
    a, b = arr(n, k, dtype=dtype), arr(k, m, dtype=dtype)
    out = ember.mm(ember.tensor(a), ember.tensor(b)).numpy()
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref(a, b), **tol(dtype, k))


# Operand layouts: row-major, transposed (column-major), step-sliced and broadcast (stride 0).
def layouts(x):
    yield "contiguous", ember.tensor(x)
    yield "transposed", ember.tensor(np.ascontiguousarray(x.T)).t()
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    wide[:, ::2] = x
    yield "step", ember.tensor(wide)[:, ::2]
    tall = np.zeros((2 * x.shape[0], x.shape[1]), x.dtype)
    tall[::2] = x
    yield "rowstep", ember.tensor(tall)[::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", [(45, 400, 70), (15, 33, 40), (1, 20, 33)])
def test_mm_operand_layouts(n, k, m, dtype):
    a, b = arr(n, k, dtype=dtype), arr(k, m, dtype=dtype)
    expected = ref(a, b)
    for la, ta in layouts(a):
        for lb, tb in layouts(b):
            out = ember.mm(ta, tb).numpy()
            np.testing.assert_allclose(out, expected, **tol(dtype, k), err_msg=f"a {la}, b {lb}")


def test_mm_broadcast_operands():
    # Every row of a (stride 0 rows) and every column of b (stride 0 columns) the same.
    row, col = arr(1, 50), arr(50, 1)
    a = ember.tensor(row).expand(20, 50)
    b = ember.tensor(col).expand(50, 40)
    expected = np.broadcast_to(row, (20, 50)).astype(np.float64) @ np.broadcast_to(col, (50, 40))
    np.testing.assert_allclose(ember.mm(a, b).numpy(), expected, **tol(np.float32, 50))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", [(20, 30, 40), (33, 400, 65), (5, 3, 1)])
def test_addmm_beta_zero_ignores_nan_input(n, k, m, dtype):
    a, b = arr(n, k, dtype=dtype), arr(k, m, dtype=dtype)
    c = np.full((n, m), np.nan, dtype)
    out = ember.addmm(ember.tensor(c), ember.tensor(a), ember.tensor(b), beta=0, alpha=1.5).numpy()
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, 1.5 * ref(a, b), **tol(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (-1.0, 0.25)])
@pytest.mark.parametrize("n,k,m", [(20, 30, 40), (33, 800, 65), (1, 5, 70)])
def test_addmm_accumulates(n, k, m, beta, alpha, dtype):
    a, b, c = arr(n, k, dtype=dtype), arr(k, m, dtype=dtype), arr(n, m, dtype=dtype)
    out = ember.addmm(ember.tensor(c), ember.tensor(a), ember.tensor(b), beta=beta, alpha=alpha).numpy()
    np.testing.assert_allclose(out, beta * c.astype(np.float64) + alpha * ref(a, b), **tol(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_k_zero(dtype):
    a, b = np.zeros((20, 0), dtype), np.zeros((0, 40), dtype)
    out = ember.mm(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_array_equal(out, np.zeros((20, 40), dtype))
    c = arr(20, 40, dtype=dtype)
    out = ember.addmm(ember.tensor(c), ember.tensor(a), ember.tensor(b), beta=0.5).numpy()
    np.testing.assert_allclose(out, 0.5 * c, rtol=1e-6)
    nan = np.full((20, 40), np.nan, dtype)
    out = ember.addmm(ember.tensor(nan), ember.tensor(a), ember.tensor(b), beta=0).numpy()
    np.testing.assert_array_equal(out, np.zeros((20, 40), dtype))


def test_special_values_propagate():
    a, b = arr(20, 30), arr(30, 40)
    a[3, 7] = np.inf
    b[5, 9] = np.nan
    out = ember.mm(ember.tensor(a), ember.tensor(b)).numpy()
    with np.errstate(invalid="ignore"):
        expected = ref(a, b)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(expected))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_on_1_and_2_threads(dtype):
    # Tall (split by rows) and wide (split by columns) products with several k blocks and edge
    # tiles, with row-major, transposed and step-sliced operands.
    cases = [(arr(300, 800, dtype=dtype), arr(800, 250, dtype=dtype)),
             (arr(40, 500, dtype=dtype), arr(500, 1000, dtype=dtype)),
             (arr(130, 70, dtype=dtype), arr(70, 300, dtype=dtype))]
    prev = ember.get_num_threads()
    results = []
    try:
        for nt in (1, 2):
            ember.set_num_threads(nt)
            res = []
            for a, b in cases:
                ta, tb = ember.tensor(a), ember.tensor(b)
                res.append(ember.mm(ta, tb).numpy().copy())
                res.append(ember.mm(ember.tensor(np.ascontiguousarray(b.T)), ta.t()).numpy().copy())
                res.append(ember.addmm(ember.tensor(np.ones((a.shape[0], b.shape[1]), dtype)), ta[:, ::2],
                                       tb[::2], beta=0.5, alpha=2).numpy().copy())
            results.append(res)
    finally:
        ember.set_num_threads(prev)
    for r1, r2 in zip(*results):
        assert np.array_equal(r1, r2)
    a, b = cases[0]
    np.testing.assert_allclose(results[0][0], ref(a, b), **tol(dtype, 800))

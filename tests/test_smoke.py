"""End-to-end checks of the foundation: ops, broadcasting, autograd engine, oracle helpers."""
import numpy as np
import pytest

import ember
from oracle import check, gradcheck_fd


def test_arithmetic_broadcast_matches_torch():
    a = np.random.randn(3, 4).astype(np.float32)
    b = np.random.randn(4).astype(np.float32)
    check(lambda lib, x, y: (x + y) * x - y / (x * x + 1), a, b)


def test_mm_matches_torch_noncontiguous():
    a = np.random.randn(5, 7).astype(np.float32)
    b = np.random.randn(7, 3).astype(np.float32)
    check(lambda lib, x, y: lib.mm(x, y), a, b, noncontig=True)


def test_sum_mean_dims_match_torch():
    a = np.random.randn(3, 4, 5).astype(np.float32)
    check(lambda lib, x: (x.sum(), x.sum(1), x.mean((0, 2), keepdim=True), x.sum(-1)), a)


def test_exp_log_tanh_gradcheck():
    a = np.random.rand(3, 4) + 0.5
    gradcheck_fd(lambda lib, x: (x.exp(), x.log(), x.tanh()), a)


def test_backward_twice_without_retain_graph_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_leaf_grad_accumulates():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_broadcast_mismatch_names_sizes():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        ember.ones(3) + ember.ones(4)


def test_mm_shape_mismatch_message():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(64x1408 and 320x10\)"):
        ember.mm(ember.ones(64, 1408), ember.ones(320, 10))

"""nn.Parameter and nn.Buffer against torch."""
import copy

import numpy as np
import pytest
import torch

import ember
from ember import nn


def test_parameter_is_a_tensor_subclass_sharing_storage():
    data = ember.zeros(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert type(p) is nn.Parameter
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.shape == (2, 3) and p.dtype == ember.float32
    data.add_(1.5)  # same storage: the parameter sees the change
    np.testing.assert_array_equal(p.detach().numpy(), np.full((2, 3), 1.5, np.float32))
    assert p.data_ptr() == data.data_ptr()
    assert not data.requires_grad


def test_parameter_requires_grad_false_and_default_data():
    p = nn.Parameter(ember.ones(3), requires_grad=False)
    assert not p.requires_grad
    empty = nn.Parameter()
    t_empty = torch.nn.Parameter()
    assert tuple(empty.shape) == tuple(t_empty.shape) == (0,)
    assert empty.dtype == ember.float32 and empty.requires_grad


def test_parameter_of_non_leaf_is_a_detached_leaf():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    p = nn.Parameter(y)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(p.detach().numpy(), [2.0, 2.0])


def test_parameter_rejects_non_tensor_data():
    with pytest.raises(AttributeError, match="'list' object has no attribute 'detach'"):
        torch.nn.Parameter([1.0, 2.0])
    with pytest.raises(AttributeError, match="'list' object has no attribute 'detach'"):
        nn.Parameter([1.0, 2.0])


def test_integer_parameter_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.nn.Parameter(torch.ones(2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ember.ones(2, dtype=ember.int64))
    p = nn.Parameter(ember.ones(2, dtype=ember.int64), requires_grad=False)
    assert p.dtype == ember.int64 and not p.requires_grad


@pytest.mark.parametrize("shape", [(2, 3), (3,), ()])
def test_parameter_repr_matches_torch(shape):
    tp = torch.nn.Parameter(torch.zeros(shape))
    ep = nn.Parameter(ember.zeros(shape))
    assert repr(ep) == repr(tp)
    assert str(ep) == str(tp)
    assert repr(ep).startswith("Parameter containing:\n")


def test_ops_on_parameter_return_plain_tensors_and_grads_accumulate():
    p = nn.Parameter(ember.tensor([1.0, 2.0, 3.0]))
    y = p * p
    assert type(y) is ember.Tensor
    y.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 4.0, 6.0])
    assert type(p.grad) is ember.Tensor
    assert type(p.data) is ember.Tensor and not p.data.requires_grad


def test_parameter_deepcopy_is_independent():
    p = nn.Parameter(ember.tensor([1.0, 2.0]), requires_grad=False)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and not q.requires_grad
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 2.0])
    p.data.add_(1.0)
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 2.0])
    memo = {}
    assert copy.deepcopy([p, p], memo)[0] is memo[id(p)]


def test_buffer_marks_a_tensor_for_registration():
    b = nn.Buffer(ember.ones(2), persistent=False)
    assert isinstance(b, nn.Buffer) and isinstance(b, ember.Tensor)
    assert not isinstance(ember.ones(2), nn.Buffer)
    assert b.persistent is False

    def build(lib):
        m = lib.nn.Module()
        m.kept = lib.nn.Buffer(lib.ones(2))
        m.scratch = lib.nn.Buffer(lib.ones(3), persistent=False)
        return m

    tm, em = build(torch), build(ember)
    assert list(em._buffers) == list(tm._buffers) == ["kept", "scratch"]
    assert list(em.state_dict()) == list(tm.state_dict()) == ["kept"]

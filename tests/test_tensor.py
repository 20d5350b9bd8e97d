"""Tensor attributes, conversions, legacy constructors and dtypes, compared with torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def both(arr):
    return ember.tensor(arr), torch.tensor(arr)


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_names_itemsize_and_flags_match_torch(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == repr(t).replace("torch", "ember")
    assert e.itemsize == t.itemsize
    assert e.is_floating_point == t.is_floating_point
    assert e.is_signed == t.is_signed


def test_dtype_aliases():
    assert ember.float is ember.float32 and ember.double is ember.float64
    assert ember.long is ember.int64 and ember.int is ember.int32 and ember.short is ember.int16


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promote_types_matches_torch(a, b):
    e = ember.promote_types(getattr(ember, a), getattr(ember, b))
    t = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert repr(e) == repr(t).replace("torch", "ember")


def test_attributes_match_torch():
    arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    e, t = both(arr)
    for (x, y) in [(e, t), (e.transpose(0, 2), t.transpose(0, 2)), (e[1] if hasattr(e, "__getitem__") and False else e.permute(1, 0, 2), t.permute(1, 0, 2))]:
        assert tuple(x.shape) == tuple(y.shape)
        assert tuple(x.size()) == tuple(y.size())
        assert x.size(-1) == y.size(-1)
        assert x.dim() == y.dim() and x.ndim == y.ndim
        assert x.numel() == y.numel()
        assert x.stride() == y.stride()
        assert x.stride(0) == y.stride(0)
        assert x.storage_offset() == y.storage_offset()
        assert x.is_contiguous() == y.is_contiguous()
        assert x.element_size() == y.element_size()
    assert str(e.device) == "cpu" and e.device.type == "cpu"
    assert e.shape == (2, 3, 4)
    assert repr(e.shape) == "ember.Size([2, 3, 4])"


def test_item_and_tolist_match_torch():
    for arr in [np.array(3.5, dtype=np.float32), np.array([[1, 2], [3, 4]]), np.array([True, False])]:
        e, t = both(arr)
        assert e.tolist() == t.tolist()
        if arr.size == 1:
            assert e.item() == t.item() and type(e.item()) is type(t.item())


def test_item_on_many_elements_raises():
    with pytest.raises((ValueError, RuntimeError), match="cannot be converted to Scalar"):
        ember.ones(3).item()


@pytest.mark.parametrize("method", ["float", "double", "long", "int", "short", "char", "byte", "bool"])
def test_conversion_methods_match_torch(method):
    arr = np.array([[-1.7, 0.0, 2.5], [3.2, -0.4, 100.9]], dtype=np.float32)
    e, t = both(arr)
    r_e, r_t = getattr(e, method)(), getattr(t, method)()
    assert repr(r_e.dtype) == repr(r_t.dtype).replace("torch", "ember")
    assert_close(r_e, r_t)


def test_to_dtype_type_as_and_copy_semantics():
    e = ember.tensor([1.5, 2.5])
    assert e.to(ember.float32) is e
    assert e.to(ember.float32, copy=True) is not e
    assert e.to(ember.float64).dtype == ember.float64
    assert e.type_as(ember.tensor([1])).dtype == ember.int64
    assert e.to("cpu") is e
    with pytest.raises(RuntimeError, match="cuda"):
        e.to("cuda")


def test_to_dtype_is_differentiable():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == ember.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_clone_detach_contiguous():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.numpy()[0, 0] = 10.0  # detach shares storage
    assert x.detach().numpy()[0, 0] == 10.0
    tt = x.t()
    assert not tt.is_contiguous()
    cc = tt.contiguous()
    assert cc.is_contiguous() and cc.tolist() == [[10.0, 3.0], [2.0, 4.0]]
    assert x.contiguous() is x


def test_legacy_constructors():
    assert ember.Tensor([1, 2]).dtype == ember.float32
    assert tuple(ember.Tensor(2, 3).shape) == (2, 3)
    assert ember.FloatTensor([1, 2]).dtype == ember.float32
    assert ember.LongTensor([1, 2]).dtype == ember.int64
    assert isinstance(ember.LongTensor([1]), ember.LongTensor)
    assert not isinstance(ember.FloatTensor([1]), ember.LongTensor)
    assert isinstance(ember.FloatTensor([1]), ember.Tensor)


def test_tensor_dtype_inference_matches_torch():
    for data in [[1, 2], [1.0, 2], [True, False], 3, 2.5, [[1, 2], [3, 4]], np.array([1, 2], dtype=np.int32)]:
        assert repr(ember.tensor(data).dtype) == repr(torch.tensor(data).dtype).replace("torch", "ember")


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        ember.tensor([1, 2]).requires_grad_()


def test_bool_of_multi_element_tensor_raises():
    with pytest.raises((RuntimeError, ValueError), match="ambiguous"):
        bool(ember.ones(2))


def test_len_and_len_of_scalar():
    assert len(ember.ones(3, 2)) == 3
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))


def test_data_assignment_updates_the_tensor():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad.data
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    assert w.requires_grad and w.is_leaf


def test_set_num_threads_roundtrip():
    n = ember.get_num_threads()
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(n)
    with pytest.raises(ValueError):
        ember.set_num_threads(0)


def test_deepcopy_and_pickle_preserve_values_and_requires_grad():
    import copy
    import pickle
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for y in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert y is not x and y.requires_grad and y.is_leaf
        np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
        y.detach().numpy()[0, 0] = 9.0  # a copy, not a view
        assert x.detach().numpy()[0, 0] == 1.0
    shared = copy.deepcopy({"a": x, "b": [x]})
    assert shared["a"] is shared["b"][0]

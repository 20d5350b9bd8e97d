"""repr/str of tensors, sizes and dtypes, compared string-for-string with torch's."""
import numpy as np
import pytest
import torch

import ember

# Each entry builds a tensor from `lib` (ember or torch) on the same data.
CASES = [
    "lib.tensor([1., 2.])",
    "lib.tensor([1.5, 2.25])",
    "lib.tensor([1e-5, 1.])",
    "lib.tensor([1e10, 1.])",
    "lib.tensor([123456.789, 0.001])",
    "lib.tensor([0., -0., float('nan'), float('inf'), -float('inf')])",
    "lib.tensor([1.5, float('nan'), float('inf')])",
    "lib.tensor([1, 2, 300])",
    "lib.tensor([-7, 12345678901])",
    "lib.tensor([True, False])",
    "lib.tensor(3.5)",
    "lib.tensor(2)",
    "lib.tensor(True)",
    "lib.tensor(1e-8, dtype=lib.float64)",
    "lib.tensor([])",
    "lib.zeros(0, 3)",
    "lib.zeros(2, 0, dtype=lib.int32)",
    "lib.tensor([], dtype=lib.int64)",
    "lib.zeros(0, dtype=lib.float64)",
    "lib.tensor([1., 2.], dtype=lib.float64)",
    "lib.tensor([1, 2], dtype=lib.int32)",
    "lib.tensor([1, 2], dtype=lib.uint8)",
    "lib.tensor([-5, 10000, 3], dtype=lib.int16)",
    "lib.tensor([-5, 3], dtype=lib.int8)",
    "lib.tensor([[1., 2.], [3., 4.]], requires_grad=True)",
    "lib.tensor([[1., 2.], [3., 4.]], requires_grad=True) * 2",
    "lib.tensor([1., 2.], dtype=lib.float64, requires_grad=True).exp()",
    "lib.tensor(np.arange(100.).reshape(10, 10), requires_grad=True)",
    "lib.tensor(np.arange(100.).reshape(10, 10), requires_grad=True).exp()",
    "lib.tensor(np.arange(2000.) / 7)",
    "lib.tensor(np.arange(2000).reshape(40, 50))",
    "lib.tensor(np.arange(1200.).reshape(10, 10, 12) / 3)",
    "lib.tensor(np.arange(1001) % 3 == 0)",
    "lib.tensor(np.arange(24.).reshape(2, 3, 4))",
    "lib.tensor(np.arange(16).reshape(2, 2, 2, 2))",
    "lib.tensor(np.random.RandomState(0).randn(4, 30))",
    "lib.tensor(np.random.RandomState(1).randn(3, 4).astype(np.float32) * 1e-6)",
    "lib.tensor(np.random.RandomState(2).randn(5, 5) * 1e4, dtype=lib.float64)",
    "lib.tensor(np.linspace(-1e-3, 1e3, 17))",
    "lib.tensor([1e20, -1e-20])",
    "lib.tensor([0., 0.])",
    "lib.tensor([float('nan')])",
    "lib.tensor([[True, False, True]] * 3)",
    "lib.tensor(np.arange(60.).reshape(3, 20))",
    "lib.tensor(np.arange(30.).reshape(30, 1) * 1e5)",
]


def _pair(expr):
    t = eval(expr, dict(lib=torch, np=np))
    e = eval(expr, dict(lib=ember, np=np))
    return repr(t).replace("torch.", "ember."), e


@pytest.mark.parametrize("expr", CASES)
def test_repr_matches_torch(expr):
    expected, e = _pair(expr)
    assert repr(e) == expected
    assert str(e) == expected


def test_repr_non_contiguous_and_views():
    a = np.arange(12.).reshape(3, 4)
    expected = repr(torch.tensor(a).t()).replace("torch.", "ember.")
    assert repr(ember.tensor(a).transpose(0, 1)) == expected


def test_repr_with_default_dtype_float64():
    prev = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for expr in ["lib.tensor([1.5, 2.])", "lib.tensor([1.5], dtype=lib.float32)", "lib.tensor([], dtype=lib.float32)"]:
            expected, e = _pair(expr)
            assert repr(e) == expected
    finally:
        ember.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("opts", [
    dict(precision=2), dict(threshold=5), dict(edgeitems=1, threshold=10), dict(linewidth=30),
    dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"), dict(profile="full"),
])
def test_set_printoptions_matches_torch(opts):
    exprs = ["lib.tensor(np.arange(40.).reshape(5, 8) / 3)", "lib.tensor([1e-6, 1.])", "lib.tensor(np.arange(1500))",
             "lib.tensor([1.123456, 2.])"]
    torch.set_printoptions(**opts)
    ember.set_printoptions(**opts)
    try:
        for expr in exprs:
            expected, e = _pair(expr)
            assert repr(e) == expected, expr
    finally:
        torch.set_printoptions(profile="default")
        ember.set_printoptions(profile="default")
    assert ember.get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def test_printoptions_context_restores():
    with ember.printoptions(precision=1):
        assert repr(ember.tensor([1.26])) == "tensor([1.3])"
    assert repr(ember.tensor([1.26])) == "tensor([1.2600])"


def test_size_and_dtype_repr():
    assert repr(ember.Size([2, 3])) == "ember.Size([2, 3])"
    assert repr(ember.Size([])) == repr(torch.Size([])).replace("torch.", "ember.")
    assert str(ember.zeros(2, 3).shape) == "ember.Size([2, 3])"
    for name in ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]:
        assert repr(getattr(ember, name)) == repr(getattr(torch, name)).replace("torch.", "ember.")
    assert repr(ember.long) == "ember.int64" and repr(ember.double) == "ember.float64"


def test_subclass_prefix_is_class_name():
    class MyTensor(ember.Tensor):
        pass

    class MyTorch(torch.Tensor):
        pass

    expected = repr(torch.tensor([1., 2.]).as_subclass(MyTorch)).replace("MyTorch", "MyTensor")
    assert repr(MyTensor(ember.tensor([1., 2.]))) == expected

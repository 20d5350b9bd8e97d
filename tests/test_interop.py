"""numpy and DLPack interop: zero-copy sharing both ways, lifetimes, conversions and errors."""
import gc
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest
import torch

import ember

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def sample(dtype, shape=(3, 4)):
    a = np.arange(int(np.prod(shape))).reshape(shape) % 7 - 2
    return a.astype(dtype)


# ---- numpy ----------------------------------------------------------------------------------

def test_numpy_shares_memory_both_ways():
    t = ember.zeros(2, 3)
    a = t.numpy()
    a[0, 1] = 5
    assert t.tolist()[0][1] == 5
    t.fill_(2)
    assert np.all(a == 2)
    v = t.transpose(0, 1)
    np.testing.assert_array_equal(v.numpy(), a.T)
    assert np.shares_memory(v.numpy(), a)


def test_asarray_shares_memory_and_converts_when_asked():
    t = ember.arange(6.).reshape(2, 3)
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 3)
    a[1, 1] = -1
    assert t.tolist()[1][1] == -1
    b = np.asarray(t, dtype=np.float64)
    b[0, 0] = 100
    assert t.tolist()[0][0] == 0 and b.dtype == np.float64
    c = np.array(t)  # np.array copies by default
    c[0, 0] = 7
    assert t.tolist()[0][0] == 0
    with pytest.raises(ValueError):
        np.asarray(t, dtype=np.float64, copy=False)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        np.asarray(ember.zeros(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        np.asarray(torch.zeros(2, requires_grad=True))
    np.testing.assert_array_equal(ember.zeros(2, requires_grad=True).numpy(force=True), [0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_from_numpy_shares_memory(dtype):
    a = sample(dtype)
    t = ember.from_numpy(a)
    assert repr(t.dtype) == "ember." + dtype and tuple(t.shape) == a.shape
    a[0, 0] = 1
    assert t.tolist()[0][0] == a[0, 0]
    t.zero_()
    assert not a.any()


def test_from_numpy_strided_and_zero_dim():
    a = np.arange(24.).reshape(4, 6)[::2, 1::2]
    t = ember.from_numpy(a)
    assert t.stride() == (12, 2) and t.tolist() == a.tolist()
    a[1, 1] = -3
    assert t.tolist()[1][1] == -3
    z = ember.from_numpy(np.array(2.5))
    assert z.dim() == 0 and z.item() == 2.5
    e = ember.from_numpy(np.zeros((0, 3), dtype=np.int32))
    assert tuple(e.shape) == (0, 3) and e.dtype == ember.int32


def test_from_numpy_errors_match_torch():
    for bad, exc, match in [
        (np.zeros(2, dtype=np.uint16), TypeError, "can't convert np.ndarray of type uint16"),
        (np.zeros(2, dtype=np.complex128), TypeError, "can't convert np.ndarray of type complex128"),
        (np.zeros(3)[::-1], ValueError, "At least one stride in the given numpy array is negative"),
    ]:
        with pytest.raises(exc, match=match):
            ember.from_numpy(bad)
    with pytest.raises(ValueError, match="negative"):
        torch.from_numpy(np.zeros(3)[::-1])
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])


def test_from_numpy_read_only_warns_once_and_shares():
    # The warning is given once per process, as torch does, so count it in a fresh interpreter.
    code = (
        "import warnings, numpy as np, ember\n"
        "a = np.arange(3.); a.flags.writeable = False\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    t = ember.from_numpy(a); ember.from_numpy(a)\n"
        "assert t.tolist() == [0., 1., 2.] and np.shares_memory(t.numpy(), a)\n"
        "print(sum('not writable' in str(x.message) for x in w))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_from_numpy_keeps_array_alive():
    a = np.arange(5.)
    r = weakref.ref(a)
    t = ember.from_numpy(a)
    del a
    gc.collect()
    assert r() is not None and t.tolist() == [0., 1., 2., 3., 4.]
    del t
    gc.collect()
    assert r() is None


@pytest.mark.parametrize("expr", [
    "lib.tensor([[1.5, 2.], [3., 4.]])", "lib.tensor([1, 2], dtype=lib.int32)", "lib.tensor([True, False])",
    "lib.tensor(2.5)", "lib.tensor(7)", "lib.tensor([])", "lib.zeros(2, 0, 3)", "lib.tensor([0.1], dtype=lib.float64)",
    "lib.tensor(np.arange(6).reshape(2, 3)).t()",
])
def test_tolist_and_item_match_torch(expr):
    e = eval(expr, dict(lib=ember, np=np))
    t = eval(expr, dict(lib=torch, np=np))
    le, lt = e.tolist(), t.tolist()
    assert le == lt and repr(le) == repr(lt)
    if t.numel() == 1:
        assert e.item() == t.item() and type(e.item()) is type(t.item())


def test_item_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
            lib.zeros(2).item()
        with pytest.raises(RuntimeError, match="a Tensor with 0 elements cannot be converted to Scalar"):
            lib.zeros(0).item()


# ---- DLPack ---------------------------------------------------------------------------------

def test_dlpack_device():
    assert ember.zeros(2).__dlpack_device__() == (1, 0)
    assert tuple(ember.zeros(2).__dlpack_device__()) == tuple(int(x) for x in torch.zeros(2).__dlpack_device__())


def test_capsule_kinds():
    t = ember.zeros(2)
    assert 'dltensor"' in repr(t.__dlpack__())
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 3)))
    assert 'dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    assert 'dltensor"' in repr(t.__dlpack__(stream=None, max_version=None, dl_device=(1, 0), copy=False))


def _views(lib, dtype):
    base = lib.tensor(sample(dtype, (4, 6)))
    return {
        "contiguous": base,
        "transposed": base.t() if lib is torch else base.transpose(0, 1),
        "zero_dim": lib.tensor(sample(dtype, (1,))[0]),
        "empty": lib.tensor(np.zeros((0, 3), dtype=dtype)),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["object", "legacy", "versioned"])
def test_torch_to_ember(dtype, kind):
    for name, src in _views(torch, dtype).items():
        cap = src if kind == "object" else src.__dlpack__(max_version=None if kind == "legacy" else (1, 0))
        e = ember.from_dlpack(cap)
        assert repr(e.dtype) == "ember." + dtype, name
        assert tuple(e.shape) == tuple(src.shape) and e.stride() == src.stride(), name
        np.testing.assert_array_equal(e.numpy(), src.numpy(), err_msg=name)
        if src.numel():
            assert e.data_ptr() == src.data_ptr(), name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["object", "legacy", "versioned"])
def test_ember_to_torch(dtype, kind):
    for name, src in _views(ember, dtype).items():
        cap = src if kind == "object" else src.__dlpack__(max_version=None if kind == "legacy" else (1, 0))
        t = torch.from_dlpack(cap)
        assert str(t.dtype) == "torch." + dtype, name
        assert tuple(t.shape) == tuple(src.shape) and t.stride() == src.stride(), name
        np.testing.assert_array_equal(t.numpy(), src.numpy(), err_msg=name)
        if src.numel():
            assert t.data_ptr() == src.data_ptr(), name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["object", "legacy", "versioned"])
def test_numpy_to_ember(dtype, kind):
    arrays = {"contiguous": sample(dtype), "strided": sample(dtype, (4, 6))[::2, 1::3], "fortran": np.asfortranarray(sample(dtype)),
              "zero_dim": np.array(sample(dtype, (1,))[0]), "empty": np.zeros((2, 0), dtype=dtype)}
    for name, a in arrays.items():
        cap = a if kind == "object" else a.__dlpack__(max_version=None if kind == "legacy" else (1, 0))
        e = ember.from_dlpack(cap)
        assert tuple(e.shape) == a.shape, name
        np.testing.assert_array_equal(e.numpy(), a, err_msg=name)
        if a.size:
            assert np.shares_memory(e.numpy(), a), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_to_numpy(dtype):
    for name, src in _views(ember, dtype).items():
        a = np.from_dlpack(src)
        assert a.dtype == np.dtype(dtype) and a.shape == tuple(src.shape), name
        np.testing.assert_array_equal(a, src.numpy(), err_msg=name)
        if src.numel():
            assert np.shares_memory(a, src.numpy()), name


def test_writes_are_visible_both_ways():
    e = ember.zeros(3, 4)
    t = torch.from_dlpack(e)
    t[1, 2] = 7
    assert e.tolist()[1][2] == 7
    e.fill_(3)
    assert torch.all(t == 3)
    src = torch.zeros(5)
    e2 = ember.from_dlpack(src)
    e2.numpy()[4] = -1
    assert src[4].item() == -1
    a = np.zeros(4)
    e3 = ember.from_dlpack(a.__dlpack__(max_version=(1, 0)))
    e3.fill_(2)
    assert np.all(a == 2)


def test_ember_round_trip_through_itself():
    e = ember.arange(6.).reshape(2, 3)
    f = ember.from_dlpack(e)
    f.zero_()
    assert e.tolist() == [[0.] * 3] * 2


def test_producer_stays_alive_until_consumer_dies():
    # numpy producer: the array lives while the ember tensor does, and is freed after.
    a = np.arange(10.)
    r = weakref.ref(a)
    e = ember.from_dlpack(a)
    del a
    gc.collect()
    assert r() is not None and e.tolist()[9] == 9.
    del e
    gc.collect()
    assert r() is None
    # ember producer: torch keeps the storage after the ember tensor is gone.
    e = ember.arange(1000.)
    t = torch.from_dlpack(e)
    del e
    gc.collect()
    _ = [ember.ones(1000) for _ in range(10)]  # would reuse freed memory
    np.testing.assert_array_equal(t.numpy(), np.arange(1000.))
    # torch producer: ember keeps it alive.
    src = torch.arange(50.)
    e = ember.from_dlpack(src.__dlpack__(max_version=(1, 0)))
    del src
    gc.collect()
    _ = [torch.ones(50) for _ in range(10)]
    np.testing.assert_array_equal(e.numpy(), np.arange(50.))


def test_unconsumed_capsule_releases_the_tensor():
    a = np.arange(4.)
    r = weakref.ref(a)
    t = ember.from_numpy(a)
    del a
    for kwargs in ({}, {"max_version": (1, 0)}):
        cap = t.__dlpack__(**kwargs)
        del cap
    del t
    gc.collect()
    assert r() is None


def test_consumed_capsules_are_renamed_and_rejected_twice():
    for src, kwargs, used in [(np.zeros(2), {}, "used_dltensor"), (np.zeros(2), {"max_version": (1, 0)}, "used_dltensor_versioned"),
                              (torch.zeros(2), {}, "used_dltensor"), (ember.zeros(2), {"max_version": (1, 0)}, "used_dltensor_versioned")]:
        cap = src.__dlpack__(**kwargs)
        ember.from_dlpack(cap)
        assert f'"{used}"' in repr(cap)
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            ember.from_dlpack(cap)
    cap = ember.zeros(2).__dlpack__()
    torch.from_dlpack(cap)
    with pytest.raises(RuntimeError, match="consumed only once"):
        ember.from_dlpack(cap)


def test_copy_flag_exports_a_copy():
    e = ember.zeros(3)
    a = np.from_dlpack(e, copy=True)
    a[0] = 1
    assert e.tolist() == [0., 0., 0.]
    t = torch.from_dlpack(e.__dlpack__(max_version=(1, 0), copy=True))
    t[1] = 5
    assert e.tolist() == [0., 0., 0.]


def test_read_only_numpy_is_accepted_like_torch():
    a = np.arange(3.)
    a.flags.writeable = False
    e = ember.from_dlpack(a)
    t = torch.from_dlpack(a)
    assert e.tolist() == t.tolist() == [0., 1., 2.]


class _FakeDevice:
    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, **kwargs):
        raise AssertionError("must not be called for a non-CPU device")


def test_export_errors():
    with pytest.raises(BufferError, match="Can't export tensors that require gradient, use tensor.detach\\(\\)"):
        ember.zeros(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
        torch.zeros(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="stream should be None on cpu"):
        ember.zeros(2).__dlpack__(stream=1)
    with pytest.raises(BufferError, match="CPU"):
        ember.zeros(2).__dlpack__(dl_device=(2, 0))
    assert ember.from_dlpack(ember.zeros(2).__dlpack__(stream=-1)).tolist() == [0., 0.]


def test_import_errors():
    with pytest.raises(BufferError, match="only CPU tensors"):
        ember.from_dlpack(_FakeDevice())
    with pytest.raises(BufferError, match="unsupported DLPack dtype"):
        ember.from_dlpack(np.zeros(2, dtype=np.complex64))
    with pytest.raises(BufferError, match="unsupported DLPack dtype"):
        ember.from_dlpack(torch.zeros(2, dtype=torch.float16))
    with pytest.raises(BufferError, match="negative strides"):
        ember.from_dlpack(np.arange(3.)[::-1])
    with pytest.raises(TypeError, match="expected an object with __dlpack__"):
        ember.from_dlpack([1, 2])
    # a rejected capsule stays unconsumed: another consumer can still take it
    cap = np.zeros(2, dtype=np.float16).__dlpack__()
    with pytest.raises(BufferError):
        ember.from_dlpack(cap)
    assert torch.from_dlpack(cap).dtype == torch.float16


class _OldProducer:
    """A producer whose __dlpack__ predates the max_version keyword."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_falls_back_for_producers_without_max_version():
    a = np.arange(3.)
    e = ember.from_dlpack(_OldProducer(a))
    e.fill_(1)
    assert np.all(a == 1)

"""Tensor creation: ember.tensor, zeros, ones, full, empty and their *_like forms."""
import builtins as _b

import numpy as _np

from . import _C

__all__ = ["tensor", "as_tensor", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
           "full_like", "empty_like", "scalar_tensor"]

_NP_TO_DTYPE = {
    _np.dtype("bool"): _C.bool, _np.dtype("uint8"): _C.uint8, _np.dtype("int8"): _C.int8,
    _np.dtype("int16"): _C.int16, _np.dtype("int32"): _C.int32, _np.dtype("int64"): _C.int64,
    _np.dtype("float32"): _C.float32, _np.dtype("float64"): _C.float64,
}
_DTYPE_TO_NP = {v: k for k, v in _NP_TO_DTYPE.items()}


def _size_arg(size, fn):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _infer_array(data, dtype):
    """Nested Python data or an ndarray -> a contiguous ndarray with ember's dtype rules."""
    if isinstance(data, _C.Tensor):
        arr = data.detach().numpy()
        return arr.astype(_DTYPE_TO_NP[dtype]) if dtype is not None else arr.copy()
    if isinstance(data, _np.ndarray):
        arr = data
        if arr.dtype not in _NP_TO_DTYPE:
            raise TypeError(f"can't convert np.ndarray of type {arr.dtype}. The only supported types are: "
                            "float64, float32, int64, int32, int16, int8, uint8, and bool.")
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, _C.Tensor) for x in data):
            data = [x.tolist() if isinstance(x, _C.Tensor) else x for x in data]
        if isinstance(data, str):
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        try:
            arr = _np.array(data)
        except ValueError as e:
            raise ValueError(f"expected sequence of equal-length sequences: {e}") from None
        if arr.dtype == object:
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
        if arr.dtype.kind == "f":
            arr = arr.astype(_DTYPE_TO_NP[_C.get_default_dtype()])
        elif arr.dtype.kind in "iu":
            arr = arr.astype(_np.int64)
        elif arr.dtype.kind != "b":
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    if dtype is not None:
        arr = arr.astype(_DTYPE_TO_NP[dtype])
    return _np.require(arr, requirements="C")  # ascontiguousarray would make 0-d arrays 1-d


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Constructs a tensor with no autograd history by copying ``data``."""
    arr = _infer_array(data, dtype)
    t = _C.from_numpy(arr.copy() if arr.base is not None or not arr.flags.owndata else arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, _C.Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, _np.ndarray) and (dtype is None or _NP_TO_DTYPE.get(data.dtype) == dtype):
        return _C.from_numpy(data)
    return tensor(data, dtype=dtype)


def _dtype_or_default(dtype):
    return _C.get_default_dtype() if dtype is None else dtype


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(_C._full(_size_arg(size, "zeros"), 0, _dtype_or_default(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(_C._full(_size_arg(size, "ones"), 1, _dtype_or_default(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, memory_format=None, pin_memory=False):
    return _finish(_C._empty(_size_arg(size, "empty"), _dtype_or_default(dtype)), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None):
    if dtype is None:
        if isinstance(fill_value, _b.bool):
            dtype = _C.bool
        elif isinstance(fill_value, _b.int):
            dtype = _C.int64
        else:
            dtype = _C.get_default_dtype()
    return _finish(_C._full(tuple(size) if not isinstance(size, _b.int) else (size,), fill_value, dtype), requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return _finish(_C._full((), s, _dtype_or_default(dtype)), requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(_C._full(tuple(input.shape), 0, dtype or input.dtype), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(_C._full(tuple(input.shape), 1, dtype or input.dtype), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(_C._empty(tuple(input.shape), dtype or input.dtype), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(_C._full(tuple(input.shape), fill_value, dtype or input.dtype), requires_grad)

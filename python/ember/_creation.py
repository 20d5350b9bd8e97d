"""Tensor creation: ember.tensor, as_tensor, zeros, ones, full, empty, arange, linspace, logspace,
eye and the *_like forms. Argument handling only; the kernels are C++."""
import builtins as _b
import numbers as _numbers
import warnings as _warnings

import numpy as _np

from . import _C
from ._tensor_str import get_printoptions, printoptions, set_printoptions  # noqa: F401  (ember.set_printoptions)

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor", "as_tensor", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
           "full_like", "empty_like", "scalar_tensor", "arange", "range", "linspace", "logspace", "eye"]

_NP_TO_DTYPE = {
    _np.dtype("bool"): _C.bool, _np.dtype("uint8"): _C.uint8, _np.dtype("int8"): _C.int8,
    _np.dtype("int16"): _C.int16, _np.dtype("int32"): _C.int32, _np.dtype("int64"): _C.int64,
    _np.dtype("float32"): _C.float32, _np.dtype("float64"): _C.float64,
}
_DTYPE_TO_NP = {v: k for k, v in _NP_TO_DTYPE.items()}
_SUPPORTED = "float64, float32, int64, int32, int16, int8, uint8, and bool"


def _check_device(device):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"ember was built without support for device '{device}'")


def _size_arg(size, fn):
    """Sizes given as varargs ints or as one tuple/list/Size."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, _b.bool) or not isinstance(s, (_b.int, _np.integer)) and not hasattr(s, "__index__"):
            raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {size.index(s)}")
    return tuple(s.__index__() for s in size)


# ---- ember.tensor: dtype inference over nested Python data ----------------------------------

def _scalar_kind(x):
    """(rank, dtype) of a leaf: 0 bool, 1 int, 2 float; dtype set for numpy scalars/tensors."""
    if isinstance(x, _b.bool) or isinstance(x, _np.bool_):
        return 0, (_C.bool if isinstance(x, _np.bool_) else None)
    if isinstance(x, _np.generic):
        dt = _NP_TO_DTYPE.get(x.dtype)
        if dt is None:
            raise TypeError(f"can't convert np.ndarray of type {x.dtype}. The only supported types are: {_SUPPORTED}.")
        return (2 if dt.is_floating_point else 1), dt
    if isinstance(x, _b.int):
        return 1, None
    if isinstance(x, _b.float):
        return 2, None
    if isinstance(x, _numbers.Complex):
        raise TypeError("ember does not support complex tensors")
    raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")


# Leaves made only of these Python types need no per-element inspection.
_PLAIN_KINDS = {frozenset({float}): 2, frozenset({int}): 1, frozenset({bool}): 0, frozenset({int, bool}): 1,
                frozenset({float, int}): 2, frozenset({float, bool}): 2, frozenset({float, int, bool}): 2}


def _infer_shape(data):
    """torch's rule: the shape comes from the first element of each level; ragged data raises.
    Returns the shape and the flat list of leaves (None when a tensor/array ends the descent)."""
    shape = []
    level = [data]
    while True:
        first = level[0]
        if isinstance(first, (_C.Tensor, _np.ndarray)):
            shape.extend(first.shape)
            return tuple(shape), None
        if isinstance(first, (list, tuple)):
            n = len(first)
            for seq in level:
                if not isinstance(seq, (list, tuple, _C.Tensor, _np.ndarray)):
                    raise TypeError("not a sequence")
                if len(seq) != n:
                    raise ValueError(f"expected sequence of length {n} at dim {len(shape)} (got {len(seq)})")
            shape.append(n)
            if n == 0:
                return tuple(shape), []
            level = [x for seq in level for x in seq]
            continue
        if not frozenset(map(type, level)) in _PLAIN_KINDS:
            for x in level:
                if isinstance(x, (list, tuple)) or isinstance(x, (_C.Tensor, _np.ndarray)) and x.ndim > 0:
                    raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
        return tuple(shape), level


def _leaf_dtype(data, leaves=None):
    """The dtype torch infers for nested data: int64 for ints, the default dtype for Python
    floats, a numpy scalar's or tensor's own dtype, promoted together."""
    if leaves:
        rank = _PLAIN_KINDS.get(frozenset(map(type, leaves)))
        if rank is not None:
            return (_C.bool, _C.int64, _C.get_default_dtype())[rank]
    best_rank = -1
    stack = [data]
    explicit = []
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if isinstance(x, _C.Tensor):
            explicit.append(x.dtype)
            continue
        if isinstance(x, _np.ndarray):
            dt = _NP_TO_DTYPE.get(x.dtype)
            if dt is None:
                raise TypeError(f"can't convert np.ndarray of type {x.dtype}. The only supported types are: {_SUPPORTED}.")
            explicit.append(dt)
            continue
        rank, dt = _scalar_kind(x)
        if dt is not None:
            explicit.append(dt)
        elif rank > best_rank:
            best_rank = rank
    dtypes = list(explicit)
    if best_rank == 2:
        dtypes.append(_C.get_default_dtype())
    elif best_rank == 1:
        dtypes.append(_C.int64)
    elif best_rank == 0:
        dtypes.append(_C.bool)
    if not dtypes:
        return _C.get_default_dtype()
    out = dtypes[0]
    for d in dtypes[1:]:
        out = _C.promote_types(out, d)
    return out


def _to_array(data, dtype):
    """Nested Python data, a numpy array or a tensor -> a new contiguous ndarray."""
    if isinstance(data, _C.Tensor):
        arr = data.detach().numpy()
        return _np.array(arr, dtype=_DTYPE_TO_NP[dtype or data.dtype], copy=True)
    if isinstance(data, _np.ndarray):
        if data.dtype not in _NP_TO_DTYPE:
            raise TypeError(f"can't convert np.ndarray of type {data.dtype}. The only supported types are: {_SUPPORTED}.")
        return _np.array(data, dtype=_DTYPE_TO_NP[dtype or _NP_TO_DTYPE[data.dtype]], copy=True, order="C")
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if not isinstance(data, (list, tuple)):
        rank, dt = _scalar_kind(data)
        inferred = dt or (_C.get_default_dtype() if rank == 2 else (_C.int64 if rank == 1 else _C.bool))
        return _np.array(data, dtype=_DTYPE_TO_NP[dtype or inferred])
    shape, leaves = _infer_shape(data)
    inferred = _leaf_dtype(data, leaves)
    np_dtype = _DTYPE_TO_NP[dtype or inferred]
    plain = leaves is not None and frozenset(map(type, leaves)) in _PLAIN_KINDS
    if not plain and any(True for _ in _iter_tensors(data)):
        data = _replace_tensors(data)
    try:
        arr = _np.array(data, dtype=np_dtype)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    except (ValueError, TypeError):
        raise TypeError("not a sequence") from None
    if arr.shape != shape:
        raise ValueError(f"expected sequence of equal-length sequences, got shape {arr.shape}")
    return arr


def _iter_tensors(data):
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, _C.Tensor):
            yield x


def _replace_tensors(data):
    if isinstance(data, (list, tuple)):
        return [_replace_tensors(x) for x in data]
    if isinstance(data, _C.Tensor):
        return data.detach().numpy()
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Constructs a tensor with no autograd history by copying ``data``."""
    _check_device(device)
    if isinstance(data, _C.Tensor):
        _warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                       "or sourceTensor.detach().clone().requires_grad_(True), rather than "
                       "ember.tensor(sourceTensor).", UserWarning, stacklevel=2)
    arr = _to_array(data, dtype)
    t = _C.from_numpy(arr if arr.flags.c_contiguous else arr.copy(order="C"))
    return _finish(t, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Shares memory with a tensor or numpy array when no conversion is needed."""
    _check_device(device)
    if isinstance(data, _C.Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, _np.ndarray) and data.dtype in _NP_TO_DTYPE and \
            (dtype is None or _NP_TO_DTYPE[data.dtype] == dtype) and all(s >= 0 for s in data.strides):
        return _C.from_numpy(data)
    return tensor(data, dtype=dtype)


def _dtype_or_default(dtype):
    return _C.get_default_dtype() if dtype is None else dtype


def _finish(t, requires_grad):
    if requires_grad:
        if not t.is_floating_point():  # factories word it differently from requires_grad_()
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


# ---- filled tensors ----------------------------------------------------------------------

def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _check_device(device)
    return _finish(_C._zeros(_size_arg(size, "zeros"), _dtype_or_default(dtype)), requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _check_device(device)
    return _finish(_C._full(_size_arg(size, "ones"), 1, _dtype_or_default(dtype)), requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    _check_device(device)
    return _finish(_C._empty(_size_arg(size, "empty"), _dtype_or_default(dtype)), requires_grad)


def _number(v, fn, name):
    """A Python number from a number, numpy scalar or one-element tensor."""
    if isinstance(v, _C.Tensor):
        return v.item()
    if isinstance(v, (_np.generic,)):
        return v.item()
    if isinstance(v, (_b.bool, _b.int, _b.float)):
        return v
    raise TypeError(f"{fn}(): argument '{name}' must be Number, not {type(v).__name__}")


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    _check_device(device)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    if dtype is None:
        v = fill_value.item() if isinstance(fill_value, (_C.Tensor, _np.generic)) else fill_value
        if isinstance(fill_value, _np.generic) and fill_value.dtype in _NP_TO_DTYPE and \
                fill_value.dtype.kind != "f":
            dtype = _NP_TO_DTYPE[fill_value.dtype] if fill_value.dtype.kind == "b" else _C.int64
        elif isinstance(fill_value, _C.Tensor) and not fill_value.dtype.is_floating_point:
            dtype = fill_value.dtype
        elif isinstance(v, _b.bool):
            dtype = _C.bool
        elif isinstance(v, _b.int):
            dtype = _C.int64
        else:
            dtype = _C.get_default_dtype()
    fill_value = _number(fill_value, "full", "fill_value")
    return _finish(_C._full(_size_arg((size,), "full"), fill_value, dtype), requires_grad)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _check_device(device)
    return _finish(_C._full((), _number(s, "scalar_tensor", "s"), _dtype_or_default(dtype)), requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device)
    return _finish(_C._full(tuple(input.shape), 0, dtype or input.dtype), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device)
    return _finish(_C._full(tuple(input.shape), 1, dtype or input.dtype), requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    _check_device(device)
    return _finish(_C._empty(tuple(input.shape), dtype or input.dtype), requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    _check_device(device)
    return _finish(_C._full(tuple(input.shape), _number(fill_value, "full_like", "fill_value"),
                            dtype or input.dtype), requires_grad)


# ---- ranges ------------------------------------------------------------------------------

def _is_float_arg(v):
    if isinstance(v, _C.Tensor):
        return v.dtype.is_floating_point
    if isinstance(v, _np.generic):
        return v.dtype.kind == "f"
    return isinstance(v, _b.float)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Values from start to end (exclusive) by step; int64 unless an argument is a float."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = _C.get_default_dtype() if any(_is_float_arg(v) for v in (start, end, step)) else _C.int64
    args = [_number(v, "arange", n) for v, n in ((start, "start"), (end, "end"), (step, "step"))]
    return _finish(_C._arange(*args, dtype), requires_grad)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Deprecated in torch: like arange but including end; always the default float dtype."""
    _warnings.warn("ember.range is deprecated and will be removed in a future release because its behavior is "
                   "inconsistent with Python's range builtin. Instead, use ember.arange, which produces values "
                   "in [start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, "range", n) for v, n in ((start, "start"), (end, "end"), (step, "step")))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = int((end - start) // step) + 1
    dtype = _dtype_or_default(dtype)
    t = _C._arange(0, n, 1, dtype if dtype != _C.bool else _C.int64)
    return _finish((t * step + start).to(dtype), requires_grad)


def _steps_arg(steps, fn):
    if isinstance(steps, _C.Tensor):
        steps = steps.item()
    if isinstance(steps, _b.bool) or not isinstance(steps, (_b.int, _np.integer)):
        raise TypeError(f"{fn}(): argument 'steps' must be int, not {type(steps).__name__}")
    return _b.int(steps)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    _check_device(device)
    t = _C._linspace(_number(start, "linspace", "start"), _number(end, "linspace", "end"),
                     _steps_arg(steps, "linspace"), _dtype_or_default(dtype))
    return _finish(t, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    _check_device(device)
    t = _C._logspace(_number(start, "logspace", "start"), _number(end, "logspace", "end"),
                     _steps_arg(steps, "logspace"), _b.float(base), _dtype_or_default(dtype))
    return _finish(t, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _check_device(device)
    return _finish(_C._eye(n, m, _dtype_or_default(dtype)), requires_grad)


# ---- Tensor.new_* (dtype defaults to the tensor's own) ------------------------------------

def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def _new_filler(make):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
        return make(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad, **kwargs)
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(tuple(size), fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


for _name, _fn in (("new_tensor", _new_tensor), ("new_zeros", _new_filler(zeros)), ("new_ones", _new_filler(ones)),
                   ("new_empty", _new_filler(empty)), ("new_full", _new_full)):
    setattr(_C.Tensor, _name, _fn)

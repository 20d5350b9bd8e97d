"""Python-level methods of ember.Tensor (the class itself is defined in C++).

Only methods whose work is argument handling live here; anything per element is C++.
"""
import numpy as _np

from . import _C
from ._C import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor"]


class RemovableHandle:
    """Returned by register_hook; ``remove()`` disables the hook."""

    def __init__(self, hooks_owner=None):
        self._enabled = True

    def remove(self):
        self._enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.remove()


def _register_hook(self, hook):
    """Registers ``hook(grad)`` (it may return a replacement gradient of the same shape)."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    handle = RemovableHandle()
    name = getattr(hook, "__name__", repr(hook))

    def call(grad):
        if not handle._enabled:
            return None
        r = hook(grad)
        if r is not None and tuple(r.shape) != tuple(grad.shape):
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        return r

    self._register_hook_raw(call)
    return handle


def _to(self, *args, **kwargs):
    """to(dtype), to(device), to(device, dtype), to(other), with copy=False."""
    from . import _creation
    dtype = kwargs.get("dtype")
    copy = kwargs.get("copy", False)
    for a in args:
        if isinstance(a, _C.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) or a is None or type(a).__name__ == "device":
            dev = str(a) if a is not None else "cpu"
            if dev.split(":")[0] not in ("cpu",):
                raise RuntimeError(f"ember was built without support for device '{dev}'")
    if dtype is None:
        return self.clone() if copy else self
    return self._to_dtype(dtype, copy)


def _tolist(self):
    return self.detach().numpy().tolist()


def _array(self, dtype=None, copy=None):
    """np.asarray(t): shares t's memory unless a dtype conversion or copy=True asks for a copy."""
    a = self.numpy()  # raises like torch for tensors that require grad
    if dtype is not None and _np.dtype(dtype) != a.dtype:
        if copy is False:
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        return a.astype(dtype)
    return a.copy() if copy else a


def _repr(self):
    from ._tensor_str import tensor_repr
    return tensor_repr(self)


def _device(self):
    from . import device
    return device("cpu")


def _register(name, fn):
    setattr(Tensor, name, fn)


_register("register_hook", _register_hook)
_register("to", _to)
_register("cpu", lambda self: self)
_register("tolist", _tolist)
_register("__array__", _array)
_register("__repr__", _repr)
_register("__str__", _repr)
_register("device", property(_device))
_register("is_sparse", False)
_register("layout", "strided")
_register("__hash__", lambda self: id(self))
_register("__array_priority__", 1000)


def _legacy_new(*args, dtype=None, device=None):
    """ember.Tensor(...) / FloatTensor(...): sizes, a sequence of data, or a tensor to alias."""
    from . import _creation
    dtype = dtype or _C.get_default_dtype()
    if len(args) == 0:
        return _C._empty((0,), dtype)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0].detach()
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return _C._empty(tuple(args), dtype)
    if len(args) == 1 and type(args[0]).__name__ == "Size":
        return _C._empty(tuple(args[0]), dtype)
    if len(args) == 1:
        return _creation.tensor(args[0], dtype=dtype)
    raise TypeError(f"new() received an invalid combination of arguments: {args!r}")


class _LegacyMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls._dtype


def _legacy(name, dt):
    def __new__(cls, *args, **kwargs):
        return _legacy_new(*args, dtype=dt)
    return _LegacyMeta(name, (), {"_dtype": dt, "__new__": __new__})


FloatTensor = _legacy("FloatTensor", _C.float32)
DoubleTensor = _legacy("DoubleTensor", _C.float64)
LongTensor = _legacy("LongTensor", _C.int64)
IntTensor = _legacy("IntTensor", _C.int32)
BoolTensor = _legacy("BoolTensor", _C.bool)
ByteTensor = _legacy("ByteTensor", _C.uint8)


def _deepcopy(self, memo):
    if id(self) in memo:
        return memo[id(self)]
    with _C_no_grad():
        data = self.detach().clone()
    if type(self) is not Tensor:
        new = type(self)(data, requires_grad=self.requires_grad)
    else:
        new = data.requires_grad_(self.requires_grad) if self.is_leaf else data
    if self.grad is not None:
        new.grad = _deepcopy(self.grad, memo)
    memo[id(self)] = new
    return new


class _C_no_grad:
    def __enter__(self):
        self.prev = _C.is_grad_enabled()
        _C._set_grad_enabled(False)

    def __exit__(self, *a):
        _C._set_grad_enabled(self.prev)


def _rebuild_tensor(array, requires_grad):
    t = _C.from_numpy(array)
    return t.requires_grad_(requires_grad) if requires_grad else t


def _reduce_ex(self, protocol):
    if type(self) is not Tensor:
        return (type(self), (_rebuild_tensor(self.detach().numpy().copy(), False), self.requires_grad))
    return (_rebuild_tensor, (self.detach().numpy().copy(), self.requires_grad))


_register("__deepcopy__", _deepcopy)
_register("__reduce_ex__", _reduce_ex)

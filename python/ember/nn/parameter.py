"""nn.Parameter: a Tensor that a Module registers as one of its parameters."""
from collections import OrderedDict

from .. import _C
from .._C import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor, requiring grad by default, that shares the storage of ``data``.

    Assigning a Parameter as a Module attribute registers it in the module's parameters.
    Results of operations on a Parameter are plain Tensors.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _C._empty((0,), _C.get_default_dtype())
        elif not isinstance(data, Tensor):
            # torch fails the same way, reaching for data.detach().
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        # Tensor's one-tensor constructor aliases data's storage as a new leaf.
        super().__init__(data)
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.data, self.requires_grad, OrderedDict()))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return Parameter(data, requires_grad)


class _BufferMeta(type):
    # A Buffer is a plain Tensor marked with ``_is_buffer``; isinstance checks the mark.
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor as a buffer: assigning it as a Module attribute registers it as one
    (persistent or not)."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _C._empty((0,), _C.get_default_dtype())
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t

"""Python-level parts of ember's reduce ops (argument handling only; the work is C++)."""
from . import _C

__all__ = []


def _values_indices_repr(self):
    return f"ember.return_types.{type(self).__name__}(\nvalues={self.values!r},\nindices={self.indices!r})"


for _t in (_C.return_types.max, _C.return_types.min):
    _t.__repr__ = _values_indices_repr

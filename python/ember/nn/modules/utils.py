"""Argument helpers of the layers, as torch.nn.modules.utils: one int for every dim, or one per dim."""
import collections.abc

__all__ = []


def _ntuple(n):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return (x,) * n
    return parse


_single, _pair, _triple, _quadruple = _ntuple(1), _ntuple(2), _ntuple(3), _ntuple(4)


def _reverse_repeat_tuple(t, n):
    """(a, b) -> (b, b, a, a) for n = 2: F.pad's order (last dim first) from per-dim values."""
    return tuple(x for x in reversed(t) for _ in range(n))

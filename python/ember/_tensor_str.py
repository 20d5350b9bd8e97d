"""repr/str of tensors in torch's exact format, and ember.set_printoptions.

Formatting follows torch/_tensor_str.py: one formatter per tensor picks a fixed width, an
integer mode (floats that are all whole numbers print as ``1.``) and a scientific mode (when
the magnitudes span more than 1000x, or exceed 1e8, or go below 1e-4); tensors above
``threshold`` elements print only ``edgeitems`` items at each end of every dimension.
"""
import contextlib
import dataclasses
import math

import numpy as _np

from . import _C

__all__ = ["set_printoptions", "get_printoptions", "printoptions"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Sets the print options (as torch.set_printoptions); profile is 'default', 'short' or 'full'."""
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, 1000, 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 1000, 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, math.inf, 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict that set_printoptions accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily changes the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses the width and mode shared by every element of one tensor."""

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for value in _np.unique(flat).tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        vals = flat[_np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        absvals = _np.abs(vals).astype(_np.float64)
        vmin, vmax = absvals.min(), absvals.max()
        self.int_mode = bool(_np.all(vals == _np.ceil(vals)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        values = vals.tolist()
        if self.sci_mode:
            self.max_width = max(len(f"{v:.{p}e}") for v in values)
        elif self.int_mode:
            self.max_width = max(len(f"{v:.0f}") + 1 for v in values)
        else:
            self.max_width = max(len(f"{v:.{p}f}") for v in values)
        self.max_width = max(self.max_width, 1)

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized(arr):
    """The elements that a summarised print shows (edgeitems at both ends of every dim)."""
    e = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim > 1 and not e:
        return arr[tuple(slice(0, 0) for _ in range(arr.ndim))]
    if arr.shape[0] > 2 * e:
        arr = _np.concatenate([arr[:e], arr[-e:]])  # as torch, e == 0 keeps all
    if arr.ndim == 1:
        return arr
    return _np.stack([_summarized(x) for x in arr]) if len(arr) else arr


def _vector_str(arr, indent, summarize, formatter):
    element_length = formatter.width() + 2
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * e:
        data = ([formatter.format(v) for v in arr[:e].tolist()] + [" ..."] +
                [formatter.format(v) for v in arr[-e:].tolist()])
    else:
        data = [formatter.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr, indent, summarize, formatter):
    dim = arr.ndim
    if dim == 0:
        return formatter.format(arr.item())
    if dim == 1:
        return _vector_str(arr, indent, summarize, formatter)
    e = PRINT_OPTS.edgeitems
    if summarize and arr.shape[0] > 2 * e:
        slices = ([_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter) for i in range(e)] + ["..."] +
                  [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter)
                   for i in range(arr.shape[0] - e, arr.shape[0])])
    else:
        slices = [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter) for i in range(arr.shape[0])]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(arr, indent):
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized(arr) if summarize else arr)
    return _tensor_str_with_formatter(arr, indent, summarize, formatter)


def _add_suffixes(tensor_str, suffixes, indent):
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _grad_fn_name(fn):
    name = getattr(fn, "name", None)
    return name() if callable(name) else type(fn).__name__


def tensor_repr(t):
    cls = type(t)
    prefix = "tensor(" if cls is _C.Tensor or cls.__name__ == "Parameter" else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    arr = t.detach().numpy()
    default = _C.get_default_dtype()
    if arr.size == 0:
        if t.dim() != 1:
            suffixes.append("size=" + str(tuple(t.shape)))
        if t.dtype != default:
            suffixes.append("dtype=" + repr(t.dtype))
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(t.shape)))
        if t.dtype not in (default, _C.int64, _C.bool):
            suffixes.append("dtype=" + repr(t.dtype))
        tensor_str = _tensor_str(arr, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(t.grad_fn)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)

"""Reduction arguments of the losses: names to the core's enum, and the legacy
``size_average`` / ``reduce`` pair mapped to a reduction name, as torch.nn._reduction."""
import warnings

_ENUM = {"none": 0, "mean": 1, "sum": 2}


def get_enum(reduction):
    ret = _ENUM.get(reduction) if isinstance(reduction, str) else None
    if ret is not None:
        return ret
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=2)
        return 1
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_get_string(size_average, reduce, emit_warning=True):
    """The reduction that the deprecated size_average / reduce flags stand for."""
    warning = "size_average and reduce args will be deprecated, please use reduction='{}' instead."
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(warning.format(ret), stacklevel=2)
    return ret


def legacy_get_enum(size_average, reduce, emit_warning=True):
    return get_enum(legacy_get_string(size_average, reduce, emit_warning))

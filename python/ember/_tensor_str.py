"""torch-style repr of tensors (placeholder format until the full printer lands)."""
import numpy as _np


def tensor_repr(t):
    body = _np.array2string(t.detach().numpy(), separator=", ", prefix="tensor(")
    suffix = []
    if t.dtype.__repr__() not in ("ember.float32", "ember.int64", "ember.bool"):
        suffix.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"

"""ember.linalg: the parts of torch.linalg that ember has (vector_norm, matrix_norm('fro'))."""
from . import _C

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x over dim (all elements when dim is None), as torch.linalg.vector_norm."""
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        r = x.reshape(-1).norm(ord, 0)
        return r.reshape([1] * x.dim()) if keepdim else r
    return x.norm(ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if ord != "fro":
        raise NotImplementedError(f"ember.linalg.matrix_norm: ord={ord!r} is not implemented (only 'fro')")
    return vector_norm(A, 2, dim, keepdim, dtype=dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if ord is None or isinstance(ord, (int, float)) and (dim is None or isinstance(dim, int) or len(dim) == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)

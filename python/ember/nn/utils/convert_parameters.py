"""parameters_to_vector / vector_to_parameters."""
from ..._C import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened and concatenated (differentiable)."""
    import ember
    return ember.cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Makes each parameter's data the matching slice of ``vec`` (a view of it, not a copy)."""
    if not isinstance(vec, Tensor):
        from ..modules.module import _typename
        raise TypeError(f"expected ember.Tensor, but got: {_typename(vec)}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view(param.shape).data
        pointer += num_param

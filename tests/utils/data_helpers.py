"""Comparing ember.utils.data results with torch.utils.data results."""
import numpy as np
import torch

import ember


def assert_same(e, t, path="batch"):
    """ember structure ``e`` equals torch (or ember) structure ``t``: containers of the same kind,
    tensors of the same dtype name, shape and values, other leaves equal."""
    if isinstance(t, (torch.Tensor, ember.Tensor)):
        assert isinstance(e, ember.Tensor), f"{path}: {type(e)} is not an ember.Tensor"
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], f"{path}: {e.dtype} != {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{path}: {tuple(e.shape)} != {tuple(t.shape)}"
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy(), err_msg=path)
    elif isinstance(t, dict):
        assert type(e).__name__ == type(t).__name__ and list(e) == list(t), f"{path}: {e!r} != {t!r}"
        for k in t:
            assert_same(e[k], t[k], f"{path}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t), f"{path}: {e!r} != {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert type(e) is type(t) and e == t, f"{path}: {e!r} != {t!r}"


def both(fn, *arrays):
    """fn(lib, data_module, *tensors) for ember and torch, on tensors made from the same arrays."""
    import ember.utils.data as ed
    import torch.utils.data as td
    return (fn(ember, ed, *[ember.tensor(a) for a in arrays]),
            fn(torch, td, *[torch.tensor(a) for a in arrays]))

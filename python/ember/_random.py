"""Random factories: argument handling for rand, randn, randint, randperm, normal and friends.
The generator and every sampler are C++ (ember.Generator, Tensor.uniform_, ...)."""
import builtins as _b

from . import _C
from ._creation import _check_device, _finish, _size_arg, _dtype_or_default

__all__ = ["rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like", "randint_like",
           "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "Generator",
           "default_generator", "bernoulli", "multinomial"]

Generator = _C.Generator
default_generator = _C.default_generator
manual_seed = _C.manual_seed
seed = _C.seed
initial_seed = _C.initial_seed
get_rng_state = _C.get_rng_state
set_rng_state = _C.set_rng_state
bernoulli = _C.bernoulli
multinomial = _C.multinomial


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform samples in [0, 1)."""
    _check_device(device)
    return _finish(_C._rand(_size_arg(size, "rand"), _dtype_or_default(dtype), generator), requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal samples."""
    _check_device(device)
    return _finish(_C._randn(_size_arg(size, "randn"), _dtype_or_default(dtype), generator), requires_grad)


def _int_arg(v, fn, name):
    if isinstance(v, _C.Tensor):
        v = v.item()
    if isinstance(v, _b.bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{fn}(): argument '{name}' must be int, not {type(v).__name__}")
    return v.__index__()


def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """randint(high, size) or randint(low, high, size): integers in [low, high)."""
    _check_device(device)
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError("randint() received an invalid combination of arguments: expected "
                            "(int high, tuple of ints size) or (int low, int high, tuple of ints size)")
        size = args.pop()
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError(f"randint() takes 2 or 3 positional arguments but {len(args) + 1} were given")
    dtype = _C.int64 if dtype is None else dtype
    t = _C._randint(_int_arg(low, "randint", "low"), _int_arg(high, "randint", "high"),
                    _size_arg((size,), "randint"), dtype, generator)
    return _finish(t, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1."""
    _check_device(device)
    t = _C._randperm(_int_arg(n, "randperm", "n"), _C.int64 if dtype is None else dtype, generator)
    return _finish(t, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """normal(mean, std) with tensor and/or float mean and std, or normal(mean, std, size)."""
    _check_device(device)
    mt, st = isinstance(mean, _C.Tensor), isinstance(std, _C.Tensor)
    if mt and st:
        return _C._normal_tensor_tensor(mean, std, generator)
    if mt:
        return _C._normal_tensor_float(mean, _b.float(std), generator)
    if st:
        return _C._normal_float_tensor(_b.float(mean), std, generator)
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: with float mean and std, "
                        "size is required")
    t = _C._normal_float_float(_b.float(mean), _b.float(std), _size_arg((size,), "normal"),
                               _dtype_or_default(dtype), generator)
    return _finish(t, requires_grad)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return rand(tuple(input.shape), generator=generator, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return randn(tuple(input.shape), generator=generator, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                   device=device, requires_grad=requires_grad)

"""ember: a PyTorch-compatible deep-learning library with a compiled C++ core."""
import os as _os

# OpenMP threads that spin while another process holds the cores slow everything down; spin
# briefly, then sleep. libgomp reads these when it loads, so they are set before the core is
# imported, and never over a user's own setting.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "20000"

from . import _C
from ._C import (  # noqa: F401
    Tensor, dtype, bool, uint8, int8, int16, int32, int64, float32, float64,
    get_num_threads, set_num_threads, get_default_dtype, set_default_dtype, promote_types,
    is_grad_enabled, is_inference_mode_enabled, from_numpy, result_type,
)
from ._C import *  # noqa: F401,F403  ops bound directly in C++ (ember.add, ember.sum, ...)

float = float32
double = float64
long = int64
int = int32
short = int16
__version__ = "0.1.0"


class Size(tuple):
    """The shape of a tensor: a tuple of ints, printed as ``ember.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self):
        return f"ember.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


_C._set_size_class(Size)


class device:
    """A device: ember computes on the CPU."""

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if type not in ("cpu",):
            raise RuntimeError(f"ember was built without support for device '{type}'")
        self.type = type
        self.index = index

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type

    def __hash__(self):
        return hash(self.type)


from ._tensor import *  # noqa: F401,F403,E402
from ._creation import *  # noqa: F401,F403,E402
from ._elementwise import *  # noqa: F401,F403,E402
from ._reduce import *  # noqa: F401,F403,E402
from ._shape import *  # noqa: F401,F403,E402
from ._indexing import *  # noqa: F401,F403,E402
from ._random import *  # noqa: F401,F403,E402
from .autograd.grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: E402,F401
from . import autograd  # noqa: E402,F401
from . import optim  # noqa: E402,F401
from . import nn  # noqa: E402,F401
from . import linalg  # noqa: E402,F401
from .serialization import save, load  # noqa: E402,F401
from . import io  # noqa: E402,F401

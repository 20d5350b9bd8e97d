"""The Module base class and the layers built on it."""
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401
from .linear import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .dropout import Dropout, AlphaDropout  # noqa: F401
from .dropout import Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: F401
from .batchnorm import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .lazy import UninitializedParameter  # noqa: F401
from . import linear as _linear, activation as _activation, flatten as _flatten, sparse as _sparse
from . import normalization as _normalization, loss as _loss
from . import batchnorm as _batchnorm, instancenorm as _instancenorm

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
__all__ += (_linear.__all__ + _activation.__all__ + _flatten.__all__ + _sparse.__all__ + _normalization.__all__
            + _loss.__all__ + ["Dropout", "AlphaDropout", "UninitializedParameter"])
__all__ += _batchnorm.__all__ + _instancenorm.__all__ + ["Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]

"""The Module base class and the layers built on it."""
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401
from .linear import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .dropout import Dropout, AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: F401
from .lazy import UninitializedParameter  # noqa: F401
from .rnn import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from . import linear as _linear, activation as _activation, flatten as _flatten, sparse as _sparse
from . import normalization as _normalization, loss as _loss, rnn as _rnn
from . import conv as _conv, padding as _padding, fold as _fold
from . import pooling as _pooling, upsampling as _upsampling, pixelshuffle as _pixelshuffle
from . import batchnorm as _batchnorm, instancenorm as _instancenorm

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
__all__ += (_linear.__all__ + _activation.__all__ + _flatten.__all__ + _sparse.__all__ + _normalization.__all__
            + _loss.__all__ + _rnn.__all__ + _conv.__all__ + _padding.__all__ + _fold.__all__
            + _pooling.__all__ + _upsampling.__all__ + _pixelshuffle.__all__
            + _batchnorm.__all__ + _instancenorm.__all__
            + ["Dropout", "AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout",
               "UninitializedParameter"])

"""The Module base class and the layers built on it."""
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401
from .loss import *  # noqa: F401,F403
from .dropout import Dropout, AlphaDropout  # noqa: F401
from . import loss as _loss

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
__all__ += _loss.__all__ + ["Dropout", "AlphaDropout"]

"""ember.nn: modules, parameters, initialisation and utilities, as torch.nn."""
from .parameter import Parameter, Buffer  # noqa: F401
from .modules import *  # noqa: F401,F403
from . import init, utils  # noqa: F401
from . import functional  # noqa: F401

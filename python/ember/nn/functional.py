"""ember.nn.functional: the stateless functions behind the layers, as torch.nn.functional."""
from ._functional_layers import *  # noqa: F401,F403
from ._functional_losses import *  # noqa: F401,F403
from ._functional_conv import *  # noqa: F401,F403
from ._functional_pool import *  # noqa: F401,F403
from ._functional_norm import *  # noqa: F401,F403

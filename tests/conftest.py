import os
import sys

import pytest

# Tests run against the installed package; a development build may instead put the
# extension next to the sources (see README, "Development") and set EMBER_DEV=1.
if os.environ.get("EMBER_DEV"):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _seed():
    import numpy as np
    np.random.seed(0)
    yield

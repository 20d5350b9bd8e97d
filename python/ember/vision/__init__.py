"""ember.vision: image transforms and datasets with torchvision's names and behaviour.

``from ember.vision import datasets, transforms`` stands in for ``from torchvision import
datasets, transforms``. Pillow is optional and imported only when a PIL image is needed.
"""
from . import datasets, transforms  # noqa: F401

__all__ = ["datasets", "transforms"]

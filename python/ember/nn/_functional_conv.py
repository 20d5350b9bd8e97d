"""Convolutions and unfold/fold of ember.nn.functional.

conv1d ... conv_transpose3d are the C++ functions themselves (bound at top level, as torch's);
unfold and fold are im2col / col2im with their int-or-pair arguments made pairs.
"""
from .. import _C
from .._C import _nn
from .modules.utils import _pair

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "unfold", "fold"]

conv1d = _C.conv1d
conv2d = _C.conv2d
conv3d = _C.conv3d
conv_transpose1d = _C.conv_transpose1d
conv_transpose2d = _C.conv_transpose2d
conv_transpose3d = _C.conv_transpose3d


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a [N, C, H, W] (or [C, H, W]) input as columns
    [N, C * prod(kernel_size), L]."""
    return _nn.im2col(input, _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combines sliding local blocks [N, C * prod(kernel_size), L] into [N, C, *output_size]
    (overlapping values are summed)."""
    return _nn.col2im(input, _pair(output_size), _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))

"""Safetensors files, read and written by the C++ core (byte-compatible with the
``safetensors`` package), so native programs read the same files."""
import os

from . import _C

__all__ = ["save_safetensors", "load_safetensors", "save_safetensors_bytes", "load_safetensors_bytes"]


def save_safetensors(state_dict, path, metadata=None):
    """Writes ``{name: Tensor}`` (and optional ``{str: str}`` metadata) to ``path``.

    Non-contiguous tensors are written as their contiguous copies. The file is written to a
    temporary name in the same folder and renamed into place.
    """
    _C._save_safetensors(_as_dict(state_dict), os.fspath(path), metadata)


def load_safetensors(path, *, return_metadata=False):
    """Reads a safetensors file into ``{name: Tensor}`` (in file order); with
    ``return_metadata=True`` returns ``(tensors, metadata)``."""
    tensors, metadata = _C._load_safetensors(os.fspath(path))
    tensors = dict(tensors)
    return (tensors, metadata) if return_metadata else tensors


def save_safetensors_bytes(state_dict, metadata=None):
    """The bytes of the safetensors file for ``state_dict`` (``safetensors.numpy.save``)."""
    return _C._safetensors_serialize(_as_dict(state_dict), metadata)


def load_safetensors_bytes(data, *, return_metadata=False):
    """Parses safetensors bytes into ``{name: Tensor}`` (``safetensors.numpy.load``)."""
    tensors, metadata = _C._safetensors_deserialize(data)
    tensors = dict(tensors)
    return (tensors, metadata) if return_metadata else tensors


def _as_dict(state_dict):
    if not isinstance(state_dict, dict):
        raise TypeError(f"expected a dict of str to Tensor, got {type(state_dict).__name__}")
    return state_dict

"""Packed sequences, as torch.nn.utils.rnn.

A PackedSequence stores a batch of sequences of different lengths time step by time step:
`data` holds, for t = 0, 1, ..., the rows of the batch_sizes[t] sequences that are at least t+1
long (sequences sorted by length, longest first). `sorted_indices` maps that order back to the
caller's batch order. Packing and padding are each one index_select, so both are differentiable.
"""
from collections import namedtuple

import numpy as np

from ... import _C

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _ember():
    import ember
    return ember


def invert_permutation(permutation):
    """The inverse of a permutation (None stays None)."""
    if permutation is None:
        return None
    ember = _ember()
    perm = np.asarray(permutation.numpy(), dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=np.int64)
    return ember.from_numpy(inverse)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices) of a packed batch of sequences."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes))
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self

    def double(self):
        return self.to(dtype=_ember().float64)

    def float(self):
        return self.to(dtype=_ember().float32)

    def long(self):
        return self.to(dtype=_ember().int64)

    def int(self):
        return self.to(dtype=_ember().int32)

    def short(self):
        return self.to(dtype=_ember().int16)

    def char(self):
        return self.to(dtype=_ember().int8)

    def byte(self):
        return self.to(dtype=_ember().uint8)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _lengths_array(lengths):
    ember = _ember()
    if isinstance(lengths, ember.Tensor):
        if lengths.dim() != 1:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D cpu {_type_name(lengths.dtype)} tensor")
        return np.asarray(lengths.to(ember.int64).numpy(), dtype=np.int64)
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.ndim != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{arr.ndim}D cpu Long tensor")
    return arr


def _type_name(dtype):
    names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "int16": "Short",
             "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    return names.get(str(dtype).split(".")[-1], str(dtype))


def _batch_sizes(lengths):
    """batch_sizes[t] = number of lengths > t, for sorted (decreasing) lengths."""
    steps = np.arange(int(lengths[0]))
    return (lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch [T, B, *] ([B, T, *] with batch_first) of sequences of the given lengths."""
    ember = _ember()
    lengths = _lengths_array(lengths)
    if enforce_sorted:
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = ember.from_numpy(order.astype(np.int64))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if batch_first:
        input = input.transpose(0, 1)
    seq_len, batch_size = input.size(0), input.size(1)
    if lengths.shape[0] != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.shape[0]} "
                           f"(batch_size={batch_size})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if np.any(lengths[:-1] < lengths[1:]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                           "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    if lengths[0] > seq_len:
        raise RuntimeError(f"Length of all samples has to be at most the sequence length {seq_len}, but found an "
                           f"element in 'lengths' that is {int(lengths[0])}")
    batch_sizes = _batch_sizes(lengths)
    # Row t * B + b of the [T*B, *] input for every packed row, step by step.
    mask = np.arange(batch_size)[None, :] < batch_sizes[:, None]
    rows = np.nonzero(mask.reshape(-1))[0].astype(np.int64)
    flat = input.reshape((seq_len * batch_size,) + tuple(input.shape[2:]))
    data = flat.index_select(0, ember.from_numpy(rows))
    return PackedSequence(data, ember.from_numpy(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded [T, B, *] or [B, T, *], lengths)."""
    ember = _ember()
    batch_sizes = np.asarray(sequence.batch_sizes.numpy(), dtype=np.int64)
    max_seq_length = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    batch_size = int(batch_sizes[0])
    n, steps = data.size(0), batch_sizes.shape[0]
    # For every (t, b) of the padded output: its packed row, or n (the padding row).
    mask = np.zeros((max_seq_length, batch_size), dtype=bool)
    mask[:steps] = np.arange(batch_size)[None, :] < batch_sizes[:, None]
    rank = (np.cumsum(mask.reshape(-1)) - 1).reshape(mask.shape)  # packed rows are time-major
    index = np.where(mask, rank, n)
    if batch_first:
        index = index.T
    pad_row = ember.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    source = ember.cat([data, pad_row], 0)
    out_shape = tuple(index.shape) + tuple(data.shape[1:])
    padded = source.index_select(0, ember.from_numpy(np.ascontiguousarray(index).reshape(-1).astype(np.int64)))
    padded = padded.reshape(out_shape)
    lengths = mask.sum(0).astype(np.int64)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = lengths[np.asarray(unsorted.numpy(), dtype=np.int64)]
    return padded, ember.from_numpy(np.ascontiguousarray(lengths))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks sequences [L_i, *] into [max L, B, *] ([B, max L, *] with batch_first), padding each."""
    ember = _ember()
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, ember.Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences[1:]:
        if s.dim() != len(trailing) + 1:
            raise RuntimeError(f"The size of tensor a ({len(trailing) + 1}) must match the size of tensor b "
                               f"({s.dim()}) at non-singleton dimension 0")
        for d, (a, b) in enumerate(zip(trailing, s.shape[1:])):
            if a != b:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                                   f"non-singleton dimension {d + 1}")
    lengths = np.array([s.size(0) for s in sequences], dtype=np.int64)
    batch, max_len = len(sequences), int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    total = int(lengths.sum())
    pos = np.arange(max_len)[None, :]
    if padding_side == "right":
        valid = pos < lengths[:, None]
        src = starts[:, None] + pos
    else:
        shift = max_len - lengths[:, None]
        valid = pos >= shift
        src = starts[:, None] + pos - shift
    index = np.where(valid, src, total)  # [B, max_len]
    if not batch_first:
        index = index.T
    pad_row = ember.full((1,) + trailing, padding_value, dtype=sequences[0].dtype)
    source = ember.cat(sequences + [pad_row], 0)
    out = source.index_select(0, ember.from_numpy(np.ascontiguousarray(index).reshape(-1).astype(np.int64)))
    return out.reshape(tuple(index.shape) + trailing)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences [L_i, *] of a padded batch."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(length)] for seq, length in zip(padded_sequences, lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of sequences [L_i, *] (sorted by decreasing length unless enforce_sorted=False)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

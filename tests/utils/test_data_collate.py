"""default_collate and default_convert against torch's, on the same samples."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as td

import ember
from ember.utils.data import default_collate, default_convert
from data_helpers import assert_same

Point = collections.namedtuple("Point", "x y")

# Each case builds a batch (a list of samples) with a given tensor library.
BATCHES = {
    "tensors": lambda lib: [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
    "scalar tensors": lambda lib: [lib.tensor(1), lib.tensor(2)],
    "ints": lambda lib: [1, 2, 3],
    "floats": lambda lib: [1.5, 2.0],
    "bools": lambda lib: [True, False],
    "numpy scalars": lambda lib: [np.float32(1.5), np.float32(2.5)],
    "numpy int scalars": lambda lib: [np.int64(1), np.int64(3)],
    "numpy arrays": lambda lib: [np.ones((2, 2), np.int32), np.zeros((2, 2), np.int32)],
    "strings": lambda lib: ["a", "bc"],
    "bytes": lambda lib: [b"a", b"b"],
    "dicts": lambda lib: [{"img": lib.zeros(2), "label": 1, "name": "a"}, {"img": lib.ones(2), "label": 0,
                                                                          "name": "b"}],
    "namedtuples": lambda lib: [Point(1, 2.0), Point(3, 4.0)],
    "tuples": lambda lib: [(lib.zeros(3), 1), (lib.ones(3), 2)],
    "lists": lambda lib: [[1, 2.0], [3, 4.0]],
    "nested": lambda lib: [{"a": (np.arange(3), [1, "x"])}, {"a": (np.arange(3) + 1, [2, "y"])}],
    "ordered dict": lambda lib: [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
}


@pytest.mark.parametrize("name", list(BATCHES))
def test_default_collate_matches_torch(name):
    assert_same(default_collate(BATCHES[name](ember)), td.default_collate(BATCHES[name](torch)))


@pytest.mark.parametrize("name", list(BATCHES))
def test_default_convert_matches_torch(name):
    assert_same(default_convert(BATCHES[name](ember)), td.default_convert(BATCHES[name](torch)))


def test_default_convert_keeps_string_arrays():
    arr = np.array(["a", "b"])
    assert default_convert(arr) is arr


def test_collate_stacks_non_contiguous_tensors():
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    mine = default_collate([ember.tensor(base).t(), ember.tensor(base).t()])
    theirs = td.default_collate([torch.tensor(base).t(), torch.tensor(base).t()])
    assert_same(mine, theirs)


def test_collate_inconsistent_tensor_shapes():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[3\] at entry 0 "
                                           r"and \[4\] at entry 1"):
        default_collate([ember.zeros(3), ember.zeros(4)])


def test_collate_inconsistent_sequence_lengths():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])


def test_collate_unsupported_types():
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                                        "or lists; found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                                        "or lists; found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])

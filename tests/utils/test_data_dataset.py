"""ember.utils.data datasets and random_split, against torch.utils.data."""
import numpy as np
import pytest

import ember
from ember.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                              TensorDataset, random_split)
from data_helpers import assert_same, both


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range")
        return i * i


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_base_dataset_getitem_not_implemented():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__"):
        Dataset()[0]


def test_tensor_dataset_matches_torch():
    x = np.random.rand(5, 3).astype(np.float32)
    y = np.arange(5)
    e, t = both(lambda lib, d, a, b: (lambda ds: (len(ds), ds[2], ds[-1], ds[1:3]))(d.TensorDataset(a, b)), x, y)
    assert_same(e, t)


def test_tensor_dataset_size_mismatch():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ember.zeros(3, 2), ember.zeros(4))


def test_concat_dataset_and_add():
    a, b = Squares(3), Squares(4)
    for ds in (ConcatDataset([a, b]), a + b):
        assert isinstance(ds, ConcatDataset)
        assert len(ds) == 7 and ds.cumulative_sizes == [3, 7]
        assert [ds[i] for i in range(7)] == [0, 1, 4, 0, 1, 4, 9]
        assert ds[-1] == 9 and ds[-7] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ConcatDataset([a, b])[-8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([a, Count(0, 2)])


def test_chain_dataset_and_iterable_add():
    ds = Count(0, 2) + Count(5, 7)
    assert isinstance(ds, ChainDataset)
    assert list(ds) == [0, 1, 5, 6] and len(ds) == 4
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([Squares(2)]))


def test_subset():
    s = Subset(Squares(10), [9, 2, 5])
    assert len(s) == 3 and s[0] == 81 and [s[i] for i in range(3)] == [81, 4, 25]
    assert s.__getitems__([2, 0]) == [25, 81]


def test_subset_override_getitem_without_getitems():
    class Bad(Subset):
        def __getitem__(self, idx):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(Squares(3), [0])


def test_stack_dataset_tuple_and_dict():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    e, t = both(lambda lib, d, a: (lambda s: (len(s), s[1], s.__getitems__([2, 0])))(
        d.StackDataset(d.TensorDataset(a), [10, 20, 30])), x)
    assert_same(e, t)
    e, t = both(lambda lib, d, a: (lambda s: (s[0], s.__getitems__([1, 2])))(
        d.StackDataset(img=d.TensorDataset(a), label=[10, 20, 30])), x)
    assert_same(e, t)


def test_stack_dataset_errors():
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(a=[1, 2], b=[1])
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset([1], b=[2])


def test_random_split_lengths_partition_and_reproducible():
    ds = Squares(10)
    parts = random_split(ds, [3, 7], generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = random_split(ds, [3, 7], generator=ember.Generator().manual_seed(1))
    assert [p.indices for p in again] == [p.indices for p in parts]
    other = random_split(ds, [3, 7], generator=ember.Generator().manual_seed(2))
    assert [p.indices for p in other] != [p.indices for p in parts]
    ember.manual_seed(5)
    a = [p.indices for p in random_split(ds, [5, 5])]
    ember.manual_seed(5)
    assert [p.indices for p in random_split(ds, [5, 5])] == a


def test_random_split_fractions_match_torch_lengths():
    import torch.utils.data as td
    for n, fracs in ((10, [0.3, 0.7]), (11, [0.5, 0.25, 0.25]), (7, [1 / 3, 1 / 3, 1 / 3])):
        mine = [len(p) for p in random_split(Squares(n), fracs)]
        theirs = [len(p) for p in td.random_split(list(range(n)), fracs)]
        assert mine == theirs


def test_random_split_errors_and_warning():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(Squares(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(Squares(10), [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Squares(2), [1.0, 0.0])

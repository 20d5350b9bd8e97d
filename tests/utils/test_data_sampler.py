"""ember.utils.data samplers: torch's index sequences where they are deterministic, ember's RNG otherwise."""
import pytest
import torch.utils.data as td

import ember
from ember.utils.data import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                              WeightedRandomSampler)


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == list(td.SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(s) == 5


def test_base_sampler_iter_not_implemented():
    with pytest.raises(NotImplementedError):
        iter(Sampler())


def test_random_sampler_is_a_permutation_and_follows_manual_seed():
    s = RandomSampler(range(20))
    ember.manual_seed(3)
    a = list(s)
    assert sorted(a) == list(range(20)) and a != list(range(20))
    ember.manual_seed(3)
    assert list(s) == a
    assert list(s) != a  # the next epoch draws a new seed
    g = ember.Generator().manual_seed(7)
    b = list(RandomSampler(range(20), generator=g))
    assert list(RandomSampler(range(20), generator=ember.Generator().manual_seed(7))) == b


def test_random_sampler_num_samples_and_replacement():
    ember.manual_seed(0)
    s = RandomSampler(range(4), num_samples=10)
    out = list(s)
    assert len(s) == 10 and len(out) == 10
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]  # whole permutations, then a partial one
    r = list(RandomSampler(range(3), replacement=True, num_samples=70))
    assert len(r) == 70 and set(r) == {0, 1, 2}


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler([])


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    out = list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1)))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 4
    assert list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1))) == out


def test_weighted_random_sampler():
    g = ember.Generator().manual_seed(0)
    out = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50, generator=g))
    assert len(out) == 50 and set(out) == {1, 3}
    assert out.count(3) > out.count(1)
    no_rep = list(WeightedRandomSampler([0.1, 0.9, 0.4, 0.7, 3.0], 5, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3, 4]
    assert len(WeightedRandomSampler([1, 2], 7)) == 7
    assert WeightedRandomSampler([1, 2], 3).weights.dtype == ember.float64


def test_weighted_random_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=True"):
        WeightedRandomSampler([1.0], True)
    with pytest.raises(ValueError, match="replacement should be a boolean value, but got replacement=0"):
        WeightedRandomSampler([1.0], 1, replacement=0)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights have shape \(2, 1\)"):
        WeightedRandomSampler([[1.0], [2.0]], 1)


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    mine = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    theirs = td.BatchSampler(td.SequentialSampler(range(n)), bs, drop_last)
    assert list(mine) == list(theirs)
    assert len(mine) == len(theirs)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=1"):
        BatchSampler(range(3), 2, 1)

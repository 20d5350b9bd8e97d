"""ember.utils.data.DataLoader against torch's DataLoader, in-process and with worker processes."""
import glob
import math
import os
import random
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
import torch
import torch.utils.data as td

import ember
import ember.utils.data as ed
from ember.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info
from data_helpers import assert_same


class DictDataset:
    """A map-style dataset of dict samples, for either library (``lib``, ``data`` module)."""

    def __init__(self, lib, n=10):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} is out of range")
        return {"x": self.lib.full((2,), float(i)), "y": i % 3, "name": f"s{i}"}


def tensor_datasets(n=10):
    x = np.random.rand(n, 1, 3, 3).astype(np.float32)
    y = np.random.randint(0, 10, size=n)
    return (TensorDataset(ember.tensor(x), ember.tensor(y)), td.TensorDataset(torch.tensor(x), torch.tensor(y)))


def shm_files():
    return glob.glob(f"/dev/shm/ember_dl_{os.getpid()}_*")


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=5),
                                dict(batch_size=20), dict(batch_size=None)])
def test_sequential_batches_match_torch(kw):
    mine, theirs = tensor_datasets()
    e, t = DataLoader(mine, **kw), td.DataLoader(theirs, **kw)
    assert len(e) == len(t)
    assert_same(list(e), list(t))
    e, t = DataLoader(DictDataset(ember), **kw), td.DataLoader(DictDataset(torch), **kw)
    assert len(e) == len(t)
    assert_same(list(e), list(t))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_len_and_batches_match_torch_for_any_sizes(n, batch_size, drop_last):
    e = DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    t = td.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(e) == len(t)
    assert_same(list(e), list(t))


def test_batch_sampler_and_collate_fn_match_torch():
    mine, theirs = tensor_datasets()
    batches = [[0, 5], [9, 1, 2], [7]]
    e, t = DataLoader(mine, batch_sampler=batches), td.DataLoader(theirs, batch_sampler=batches)
    assert len(e) == len(t) == 3
    assert_same(list(e), list(t))
    e = DataLoader(DictDataset(ember), batch_size=4, collate_fn=lambda b: [s["y"] for s in b])
    t = td.DataLoader(DictDataset(torch), batch_size=4, collate_fn=lambda b: [s["y"] for s in b])
    assert list(e) == list(t)
    e = DataLoader(mine, sampler=[3, 3, 0], batch_size=2)
    t = td.DataLoader(theirs, sampler=[3, 3, 0], batch_size=2)
    assert_same(list(e), list(t))


class PlainTensorDataset(TensorDataset):
    """A TensorDataset the DataLoader must treat as any other dataset."""

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)


def test_tensor_dataset_batches_equal_per_sample_collate():
    x = ember.tensor(np.random.rand(3, 7, 2).astype(np.float32)).transpose(0, 1)  # non-contiguous, 7 samples
    y = ember.arange(7)
    fast = list(DataLoader(TensorDataset(x, y), batch_size=3, sampler=[6, 0, 3, 3, 1, 5, 2]))
    slow = list(DataLoader(PlainTensorDataset(x, y), batch_size=3, sampler=[6, 0, 3, 3, 1, 5, 2]))
    for a, b in zip(fast, slow):
        assert isinstance(a, list) and len(a) == 2
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape and ta.stride() == tb.stride()
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())
    # Tensors that require grad are collated with autograd, as torch does.
    w = ember.ones(4, 2, requires_grad=True)
    (batch,) = next(iter(DataLoader(TensorDataset(w), batch_size=2)))
    (tbatch,) = next(iter(td.DataLoader(td.TensorDataset(torch.ones(4, 2, requires_grad=True)), batch_size=2)))
    assert batch.grad_fn.name() == tbatch.grad_fn.name() == "StackBackward0"


def test_shuffle_follows_manual_seed_and_generator():
    mine, _ = tensor_datasets(20)
    def order(**kw):
        return [b[1].tolist() for b in DataLoader(mine, batch_size=6, shuffle=True, **kw)]
    ember.manual_seed(1)
    a = order()
    ember.manual_seed(1)
    assert order() == a
    assert sorted(sum(a, [])) == sorted(mine.tensors[1].tolist())
    assert order(generator=ember.Generator().manual_seed(4)) == order(generator=ember.Generator().manual_seed(4))
    assert order(generator=ember.Generator().manual_seed(4)) != order(generator=ember.Generator().manual_seed(5))


@pytest.mark.parametrize("kw,msg", [
    (dict(batch_size=0), "batch_size should be a positive integer value, but got batch_size=0"),
    (dict(shuffle=True, sampler=[0, 1]), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                              "sampler, and drop_last"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching and is mutually "
                                            "exclusive with drop_last"),
    (dict(num_workers=-1), "num_workers option should be non-negative; use num_workers=0 to disable "
                           "multiprocessing."),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(num_workers=1, prefetch_factor=-1), "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="fork"), r"multiprocessing_context can only be used with multi-process loading "
                                           r"\(num_workers > 0\), but got num_workers=0"),
    (dict(num_workers=1, multiprocessing_context="nope"), "multiprocessing_context option should specify a valid "
                                                          "start method"),
])
def test_invalid_arguments_match_torch(kw, msg):
    mine, theirs = tensor_datasets()
    with pytest.raises(ValueError, match=msg):
        DataLoader(mine, **kw)
    with pytest.raises(ValueError, match=msg):
        td.DataLoader(theirs, **kw)


def test_attributes_are_frozen_after_init():
    loader = DataLoader(tensor_datasets()[0], batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3


def test_sampler_longer_than_dataset_raises_index_error():
    mine, theirs = tensor_datasets(4)
    for ds in (mine, DictDataset(ember, 4)):
        with pytest.raises(IndexError, match="out of"):
            list(DataLoader(ds, batch_size=2, sampler=range(6)))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        list(DataLoader(mine, batch_size=2, sampler=range(6)))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        list(td.DataLoader(theirs, batch_size=2, sampler=range(6)))


class Ragged(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return ember.zeros(3 + i)


def test_inconsistent_sample_shapes_raise_collate_error():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[3\] at entry 0 "
                                           r"and \[4\] at entry 1"):
        next(iter(DataLoader(Ragged(), batch_size=2)))


def test_pin_memory_is_accepted():
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        batches = list(DataLoader(tensor_datasets(4)[0], batch_size=2, pin_memory=True))
    assert len(batches) == 2


class _StreamMixin:
    """0..n-1, split into contiguous shards among workers (data module ``d`` gives get_worker_info)."""

    def __init__(self, n, length=None):
        self.n, self.length = n, length

    def __iter__(self):
        info = self.d.get_worker_info()
        if info is None:
            return iter(range(self.n))
        per = math.ceil(self.n / info.num_workers)
        return iter(range(info.id * per, min(self.n, (info.id + 1) * per)))

    def __len__(self):
        return self.n if self.length is None else self.length


class Stream(_StreamMixin, IterableDataset):
    d = ed


class TorchStream(_StreamMixin, td.IterableDataset):
    d = td


def test_iterable_dataset_batches_and_len_match_torch():
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        e, t = DataLoader(Stream(10), **kw), td.DataLoader(TorchStream(10), **kw)
        assert len(e) == len(t)
        assert_same(list(e), list(t))


def test_iterable_dataset_longer_than_its_len_warns():
    loader = DataLoader(Stream(5, length=3), batch_size=None)
    assert len(loader) == 3
    with pytest.warns(UserWarning, match="was reported to be 3"):
        list(loader)


def test_iterable_dataset_rejects_shuffle_and_samplers():
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified shuffle option, but "
                                         "got shuffle=True"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(3), sampler=[0])
    with pytest.raises(ValueError, match="expected unspecified batch_sampler option"):
        DataLoader(Stream(3), batch_sampler=[[0]])


def test_tqdm_wrapping():
    from tqdm import tqdm
    loader = DataLoader(tensor_datasets(10)[0], batch_size=4)
    with open(os.devnull, "w") as devnull:
        bar = tqdm(loader, file=devnull)
        batches = list(bar)
    assert bar.total == len(loader) == 3 and len(batches) == 3 and batches[-1][0].shape[0] == 2


def test_tensors_cross_processes_through_shared_memory():
    from ember.utils.data._utils.shared import SharedMemoryPickler, loads, new_prefix
    pickler = SharedMemoryPickler(new_prefix())
    sample = {"x": ember.rand(64, 1, 28, 28), "y": ember.arange(64)[::2], "empty": ember.zeros(0, 3),
              "w": ember.ones(2, requires_grad=True), "flag": ember.tensor([True, False])}
    payload = pickler.dumps(sample)
    assert len(payload) < 1024  # names and shapes only: the 200 KB of data went to shared memory
    assert len(glob.glob(pickler.prefix + "*")) == 4
    out = loads(payload)
    assert glob.glob(pickler.prefix + "*") == []  # removed as soon as it is mapped
    assert_same(out, sample)
    assert out["w"].requires_grad and not out["x"].requires_grad and out["y"].is_contiguous()
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor which requires_grad"):
        pickler.dumps(sample["w"] * 2)


# ---- worker processes (each case starts two workers: kept few and small) ------------------------

def test_workers_give_the_same_batches_as_in_process_loading():
    mine, _ = tensor_datasets(40)
    results = []
    for num_workers in (0, 2):
        ember.manual_seed(123)
        loader = DataLoader(mine, batch_size=6, shuffle=True, num_workers=num_workers)
        batches = list(loader)
        dicts = list(DataLoader(DictDataset(ember, 9), batch_size=4, num_workers=num_workers))
        results.append((batches, dicts))
    assert_same(results[0], results[1])
    # The batches outlive the workers, and no shared-memory file is left behind.
    assert shm_files() == []
    del loader
    import gc
    gc.collect()
    assert_same(results[0], results[1])


class WorkerProbe(Dataset):
    """Reports which worker fetched each index and what its random generators give."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {"worker": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "same_dataset_type": type(info.dataset) is WorkerProbe, "py": random.random(),
                "np": float(np.random.rand()), "ember": ember.rand(1).item(), "init": os.environ.get("PROBE_INIT", "")}


def _init_fn(worker_id):
    os.environ["PROBE_INIT"] = f"init {worker_id}"


def test_get_worker_info_seeds_and_worker_init_fn():
    assert get_worker_info() is None
    runs = []
    for _ in range(2):
        ember.manual_seed(7)
        runs.append(list(DataLoader(WorkerProbe(), batch_size=2, num_workers=2, worker_init_fn=_init_fn)))
    assert_same(runs[0], runs[1])  # reproducible with the same seed
    batches = runs[0]
    assert [b["worker"].tolist() for b in batches] == [[0, 0], [1, 1], [0, 0], [1, 1]]  # round robin
    assert all(b["num_workers"].tolist() == [2, 2] for b in batches)
    assert all(b["same_dataset_type"].tolist() == [True, True] for b in batches)
    assert [b["init"] for b in batches] == [["init 0"] * 2, ["init 1"] * 2] * 2
    seeds = {b["worker"][0].item(): b["seed"][0].item() for b in batches}
    assert seeds[1] == seeds[0] + 1
    # Each worker has its own streams for random, numpy and ember.
    for key in ("py", "np", "ember"):
        assert batches[0][key].tolist() != batches[1][key].tolist()
    ember.manual_seed(8)
    other = list(DataLoader(WorkerProbe(), batch_size=2, num_workers=2))
    assert other[0]["seed"][0].item() != seeds[0]


def test_iterable_dataset_sharded_across_workers_matches_torch():
    e = DataLoader(Stream(10), batch_size=3, num_workers=2)
    t = td.DataLoader(TorchStream(10), batch_size=3, num_workers=2)
    assert_same(list(e), list(t))


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"bad sample {i}")
        if i == 6:
            return {}["missing key"]
        return i


def test_worker_exception_is_reraised_with_its_traceback():
    with pytest.raises(ValueError) as info:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                          "last):\n")
    assert "in __getitem__" in msg and "ValueError: bad sample 5" in msg
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 1"):
        list(DataLoader(Failing(), batch_sampler=[[0], [6]], num_workers=2))
    assert shm_files() == []


def test_unpicklable_worker_result_is_reported():
    with pytest.raises(AttributeError, match="(?s)Caught AttributeError in DataLoader worker process 0.*Can't pickle"):
        list(DataLoader(range(4), batch_size=2, num_workers=1, collate_fn=lambda batch: lambda: batch))


class Unpicklable(Dataset):
    def __init__(self):
        self.lock = threading.Lock()

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return i


def test_spawn_context_with_unpicklable_dataset_raises_and_cleans_up():
    from ember.utils.data import dataloader
    before = set(dataloader._live_pools)
    with pytest.raises(TypeError, match="cannot pickle '_thread.lock' object"):
        iter(DataLoader(Unpicklable(), num_workers=2, multiprocessing_context="spawn"))
    assert dataloader._live_pools <= before


class Dying(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 4:
            os._exit(1)
        return i


def test_worker_death_raises_runtime_error():
    t0 = time.monotonic()
    loader = DataLoader(Dying(), batch_size=2, num_workers=2)
    it = iter(loader)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(it)
    assert time.monotonic() - t0 < 4  # reported at once, not after a polling interval
    workers = it._workers
    del it
    assert all(not w.is_alive() for w in workers)


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(0.5)
        return i


def test_timeout():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.1 seconds"):
        next(iter(DataLoader(Slow(), num_workers=1, timeout=0.1)))


def test_persistent_workers_and_early_exit():
    mine, _ = tensor_datasets(12)
    loader = DataLoader(mine, batch_size=4, num_workers=2, persistent_workers=True)
    first = list(loader)
    pids = [w.pid for w in loader._iterator._workers]
    second = list(loader)
    assert [w.pid for w in loader._iterator._workers] == pids
    assert_same(first, second)
    assert_same(first, list(DataLoader(mine, batch_size=4)))
    workers = loader._iterator._workers
    del loader
    assert all(not w.is_alive() for w in workers)
    # Leaving an epoch early shuts the workers down and removes the files of batches in flight.
    it = iter(DataLoader(mine, batch_size=1, num_workers=2, prefetch_factor=4))
    next(it)
    workers = it._workers
    del it
    assert all(not w.is_alive() for w in workers)
    assert shm_files() == []

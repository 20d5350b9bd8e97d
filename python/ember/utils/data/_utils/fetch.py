"""Fetchers: turn one entry of the index sampler into one collated batch (or one sample)."""
from .... import Tensor, int64, tensor
from . import collate as _collate


class _BaseDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, possibly_batched_index):
        raise NotImplementedError


class _IterableDatasetFetcher(_BaseDatasetFetcher):
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        super().__init__(dataset, auto_collation, collate_fn, drop_last)
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


class _MapDatasetFetcher(_BaseDatasetFetcher):
    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            if hasattr(self.dataset, "__getitems__") and self.dataset.__getitems__:
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _TensorDatasetFetcher(_MapDatasetFetcher):
    """default_collate over a TensorDataset, done as one gather per tensor.

    ``stack([t[i] for i in batch])`` equals ``t.index_select(0, index_tensor)`` for in-range int indices of tensors
    that do not require grad; anything else (other index types, out-of-range indices, an empty
    batch) takes the general path so values, errors and autograd are exactly default_collate's.
    """

    def fetch(self, possibly_batched_index):
        tensors = self.dataset.tensors
        n = tensors[0].shape[0]
        idx = possibly_batched_index
        if (idx and all(type(i) is int for i in idx) and 0 <= min(idx) and max(idx) < n
                and not any(t.requires_grad for t in tensors)):
            index = tensor(idx, dtype=int64)
            return [t.index_select(0, index) for t in tensors]
        return super().fetch(possibly_batched_index)

    @staticmethod
    def applies(dataset, auto_collation, collate_fn):
        from ..dataset import TensorDataset
        return (auto_collation and collate_fn is _collate.default_collate
                and type(dataset).__getitem__ is TensorDataset.__getitem__
                and getattr(dataset, "__getitems__", None) is None
                and all(type(t) is Tensor for t in getattr(dataset, "tensors", (None,))))


def create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last):
    if is_iterable:
        return _IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
    if _TensorDatasetFetcher.applies(dataset, auto_collation, collate_fn):
        return _TensorDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
    return _MapDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)

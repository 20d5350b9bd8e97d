"""DataLoader: batches from a dataset through a sampler, in this process or in worker processes.

With ``num_workers > 0`` the main process hands (task number, indices) to the workers through
one queue per worker (round robin, at most ``prefetch_factor`` tasks per worker in flight), and
each worker answers on its own pipe. Tensors in the answers travel through shared memory (see
_utils/shared.py). The main process waits on those pipes and on the workers' process sentinels
together, so a worker that dies is reported at once instead of hanging the loop; answers that
arrive early are held until their turn, so batches come out in sampler order.
"""
import itertools
import multiprocessing as python_multiprocessing
import os
import select
import threading
import time
import warnings
from multiprocessing import connection as mp_connection

from ... import empty, int64
from . import _utils
from ._utils import ExceptionWrapper
from ._utils.fetch import create_fetcher
from ._utils.shared import loads as _loads, new_prefix, remove_files
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]

default_collate = _utils.collate.default_collate
default_convert = _utils.collate.default_convert
get_worker_info = _utils.worker.get_worker_info


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        return create_fetcher(kind == _DatasetKind.Iterable, dataset, auto_collation, collate_fn, drop_last)


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: the dataset decides when to stop."""

    def __iter__(self):
        while True:
            yield None


def _cpu_count():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


class DataLoader:
    """Iterates over ``dataset`` in batches of ``batch_size`` samples (torch.utils.data.DataLoader).

    ``shuffle`` / ``sampler`` / ``batch_sampler`` choose the indices, ``collate_fn`` (default:
    default_collate) builds each batch, ``num_workers`` > 0 loads batches in that many worker
    processes. ``pin_memory`` has no effect (there is no accelerator to pin memory for).
    """

    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        elif num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            elif batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                                 "drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, multiprocessing_context):
        if multiprocessing_context is not None:
            if self.num_workers > 0:
                if isinstance(multiprocessing_context, str):
                    valid_start_methods = python_multiprocessing.get_all_start_methods()
                    if multiprocessing_context not in valid_start_methods:
                        raise ValueError("multiprocessing_context option should specify a valid start method in "
                                         f"{valid_start_methods!r}, but got multiprocessing_context="
                                         f"{multiprocessing_context!r}")
                    multiprocessing_context = python_multiprocessing.get_context(multiprocessing_context)
                if not isinstance(multiprocessing_context, python_multiprocessing.context.BaseContext):
                    raise TypeError("multiprocessing_context option should be a valid context object or a string "
                                    f"specifying the start method, but got multiprocessing_context="
                                    f"{multiprocessing_context}")
            else:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
        self.__multiprocessing_context = multiprocessing_context

    def __setattr__(self, attr, val):
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                           "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            # The dataset's own length, in batches; a mis-sharded dataset is warned about when it
            # yields more than this.
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self):
        if not self.num_workers:
            return
        max_num_worker_suggest = _cpu_count()
        if max_num_worker_suggest is None or self.num_workers > max_num_worker_suggest:
            cpuset_checked = hasattr(os, "sched_getaffinity")
            if max_num_worker_suggest is not None:
                suggested = (f"Our suggested max number of worker in current system is {max_num_worker_suggest}"
                             f"{'' if cpuset_checked else ' (`cpuset` is not taken into account)'}, which is "
                             "smaller than what this DataLoader is going to create.")
            else:
                suggested = "DataLoader is not able to compute a suggested max number of worker in current system."
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. {suggested} "
                          "Please be aware that excessive worker creation might get DataLoader running slow or even "
                          "freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                          stacklevel=2)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=2)
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        # The sampler iterator is created before the base seed is drawn, but a RandomSampler draws
        # its own seed only at the first next(): the order of draws is the same with or without workers.
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = empty((), dtype=int64).random_(generator=loader.generator).item()
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        if self._sampler_iter is None:
            self._reset()
        data = self._next_data()
        self._num_yielded += 1
        if (self._dataset_kind == _DatasetKind.Iterable and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            warn_msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                        f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                        f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                warn_msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                             "IterableDataset replica at each worker. Please see "
                             "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")
            warnings.warn(warn_msg, stacklevel=2)
        return data

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._dataset_fetcher = _DatasetKind.create_fetcher(self._dataset_kind, self._dataset, self._auto_collation,
                                                            self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._dataset_fetcher.fetch(self._next_index())


class _WorkerPool:
    """The worker processes of one multi-process iterator and the channels to them.

    Kept reachable from ``_live_pools`` until shut down: when an iterator is garbage collected
    (often in a cycle with an exception's traceback), the queues' own finalizers would otherwise
    run before the iterator's and stop their feeder threads, and the workers would never hear
    that they should exit. Pools still live at interpreter exit are shut down then.
    """

    def __init__(self, ctx, num_workers, worker_args):
        self.owner_pid = os.getpid()
        self.shm_prefix = new_prefix()
        self.done_event = ctx.Event()
        self.index_queues = []
        self.workers = []
        self.result_readers = {}  # connection -> worker id, for the pipes still open
        with _live_pools_lock:
            _live_pools.add(self)
        try:
            for i in range(num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()
                reader, writer = ctx.Pipe(duplex=False)
                w = ctx.Process(target=_utils.worker._worker_loop,
                                args=worker_args(index_queue, writer, self.done_event, i, self.shm_prefix))
                w.daemon = True
                try:
                    w.start()
                finally:
                    # Only the worker keeps its write end: its death then shows as end-of-file here.
                    writer.close()
                self.index_queues.append(index_queue)
                self.workers.append(w)
                self.result_readers[reader] = i
        except BaseException:
            # E.g. a dataset that cannot be pickled for a "spawn" context: stop the ones started.
            self.shutdown(range(len(self.workers)))
            raise

    def shutdown(self, stop_ids):
        """Tells the workers in ``stop_ids`` to exit, waits for all (terminating stragglers) and
        removes the shared-memory files nobody received."""
        if os.getpid() != self.owner_pid:
            # A forked copy (in some worker) of an iterator of the parent: not ours to stop.
            return
        try:
            self.done_event.set()
            for i in stop_ids:
                self.index_queues[i].put(None)
            # Closing our ends unblocks a worker stuck writing a result nobody will read.
            for conn in self.result_readers:
                conn.close()
            self.result_readers.clear()
            deadline = time.monotonic() + _utils.MP_STATUS_CHECK_INTERVAL
            for w in self.workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for q in self.index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            for w in self.workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_utils.MP_STATUS_CHECK_INTERVAL)
            remove_files(self.shm_prefix)
            with _live_pools_lock:
                _live_pools.discard(self)


_live_pools = set()
_live_pools_lock = threading.Lock()


def _shutdown_live_pools():
    with _live_pools_lock:
        pools = tuple(_live_pools)
    for pool in pools:
        pool.shutdown(range(len(pool.workers)))
    _utils._set_python_exit_flag()


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Runs the fetchers in ``num_workers`` processes; batches come back in sampler order."""

    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        ctx = loader.multiprocessing_context or python_multiprocessing.get_context()
        self._worker_init_fn = loader.worker_init_fn
        self._shutdown = False
        self._workers_status = [True] * self._num_workers

        def worker_args(index_queue, result_conn, done_event, worker_id, shm_prefix):
            return (self._dataset_kind == _DatasetKind.Iterable, self._dataset, index_queue, result_conn, done_event,
                    self._auto_collation, self._collate_fn, self._drop_last, self._base_seed, self._worker_init_fn,
                    worker_id, self._num_workers, shm_prefix)

        self._pool = _WorkerPool(ctx, self._num_workers, worker_args)
        self._workers = self._pool.workers
        self._index_queues = self._pool.index_queues
        self._result_readers = self._pool.result_readers
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._send_idx = 0  # next task number to send
        self._rcvd_idx = 0  # next task number to return
        # task number -> (worker id,) while in flight, (worker id, data) once received early
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._poller = None
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            for idx in range(self._num_workers):
                self._index_queues[idx].put(_utils.worker._ResumeIteration())
            resume_iteration_cnt = self._num_workers
            while resume_iteration_cnt > 0:
                return_idx, return_data = self._get_data()
                if isinstance(return_idx, _utils.worker._ResumeIteration):
                    resume_iteration_cnt -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _failed_workers(self):
        failed = []
        for worker_id, w in enumerate(self._workers):
            if self._workers_status[worker_id] and not w.is_alive():
                failed.append(w)
                self._mark_worker_as_unavailable(worker_id)
        return failed

    def _wait(self, timeout):
        """The result pipes and the sentinels of active workers that are ready within ``timeout``."""
        if not hasattr(select, "poll"):
            sentinels = [w.sentinel for i, w in enumerate(self._workers) if self._workers_status[i]]
            return mp_connection.wait(list(self._result_readers) + sentinels, timeout)
        if self._poller is None:
            # One poll object, rebuilt only when the set of watched workers changes.
            self._poller, self._poll_targets = select.poll(), {}
            targets = list(self._result_readers) + [w.sentinel for i, w in enumerate(self._workers)
                                                    if self._workers_status[i]]
            for target in targets:
                fd = target if isinstance(target, int) else target.fileno()
                self._poller.register(fd, select.POLLIN)
                self._poll_targets[fd] = target
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return [self._poll_targets[fd] for fd, _ in self._poller.poll(ms)]

    def _try_get_data(self, timeout=_utils.MP_STATUS_CHECK_INTERVAL):
        """(True, (idx, data)) from any worker, or (False, None) after ``timeout`` seconds.
        Raises RuntimeError when a worker that still had work exited."""
        ready = self._wait(timeout)
        for conn in ready:
            if conn in self._result_readers:
                try:
                    payload = conn.recv_bytes()
                except (EOFError, OSError):
                    # The worker exited; whether that was expected is decided below.
                    del self._result_readers[conn]
                    self._poller = None
                    conn.close()
                    continue
                return True, _loads(payload)
        if ready:
            failed = self._failed_workers()
            if failed:
                pids_str = ", ".join(str(w.pid) for w in failed)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids_str}) exited unexpectedly")
            if not self._result_readers and not any(self._workers_status):
                raise RuntimeError("DataLoader workers exited unexpectedly")
        return False, None

    def _get_data(self):
        if self._timeout > 0:
            success, data = self._try_get_data(self._timeout)
            if success:
                return data
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        while True:
            success, data = self._try_get_data()
            if success:
                return data

    def _next_data(self):
        while True:
            # Skip tasks of workers that became unavailable (an exhausted iterable dataset).
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx, None)
                if info:
                    worker_id = info[0]
                    if len(info) == 2 or self._workers_status[worker_id]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._dataset_kind == _DatasetKind.Iterable:
                if isinstance(data, _utils.worker._IterableDatasetStopIteration):
                    if self._persistent_workers:
                        self._workers_status[data.worker_id] = False
                        self._poller = None
                    else:
                        self._mark_worker_as_unavailable(data.worker_id)
                    self._try_put_index()
                    continue

            if idx != self._rcvd_idx:
                if not self._in_order:
                    worker_id = self._task_info.pop(idx)[0]
                    return self._process_data(data, worker_id)
                self._task_info[idx] += (data,)
            else:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _try_put_index(self):
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                if self._in_order:
                    break
                if self._workers_num_tasks[worker_queue_idx] < max_tasks // sum(self._workers_status):
                    break
        else:
            return
        self._index_queues[worker_queue_idx].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._workers_num_tasks[worker_queue_idx] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _process_data(self, data, worker_idx):
        self._workers_num_tasks[worker_idx] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False):
        # Tells the worker to exit once it has read everything before the None.
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False
        self._poller = None

    def _shutdown_workers(self):
        if _utils is None or _utils.python_exit_status is True or _utils.python_exit_status is None:
            return
        if self._shutdown:
            return
        self._shutdown = True
        self._pool.shutdown([i for i in range(self._num_workers) if self._persistent_workers or self._workers_status[i]])

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._shutdown_workers()


import atexit  # noqa: E402

atexit.register(_shutdown_live_pools)

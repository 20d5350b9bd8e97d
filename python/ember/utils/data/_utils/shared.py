"""Tensors from DataLoader workers to the main process through shared memory.

A worker pickles each result with a pickler whose reduction for ember.Tensor writes the
tensor's bytes to a fresh file in shared memory (/dev/shm where it exists) and pickles only its
name, dtype and shape. The main process opens the file, unlinks it at once and maps it, so the
batch tensor lives in that mapping (ember.from_numpy over it) and the memory is returned to the
system when the tensor is freed. Files a worker wrote that were never received (the loader shut
down with batches in flight, or a worker failed mid-message) all start with the iterator's
prefix and are removed when its workers are shut down.
"""
import copyreg
import glob
import io
import mmap
import os
import pickle
import secrets
import tempfile

import numpy as np

from .... import Tensor, from_numpy

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


def new_prefix():
    """A path prefix that no other live loader uses (pid plus random token)."""
    return os.path.join(_SHM_DIR, f"ember_dl_{os.getpid()}_{secrets.token_hex(6)}_")


def remove_files(prefix):
    """Removes every shared-memory file whose name starts with ``prefix``."""
    for path in glob.glob(glob.escape(prefix) + "*"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _rebuild_shared(path, dtype, shape, requires_grad):
    fd = os.open(path, os.O_RDWR)
    try:
        os.unlink(path)
        nbytes = os.fstat(fd).st_size
        buf = mmap.mmap(fd, nbytes, flags=_MAP_FLAGS)
    finally:
        os.close(fd)
    t = from_numpy(np.frombuffer(buf, dtype=dtype).reshape(shape))
    if requires_grad:
        t.requires_grad_(True)
    return t


class SharedMemoryPickler:
    """Pickles objects with ember tensors moved to shared-memory files named ``prefix<n>``."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.count = 0
        self.dispatch_table = copyreg.dispatch_table.copy()
        self.dispatch_table[Tensor] = self._reduce_tensor

    def _reduce_tensor(self, t):
        if t.grad_fn is not None:
            raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
                               "autograd does not support crossing process boundaries.  If you just want "
                               "to transfer the data, call detach() on the tensor before serializing "
                               "(e.g., putting it on the queue).")
        arr = np.ascontiguousarray(t.detach().numpy())
        if arr.nbytes == 0:
            return t.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        path = f"{self.prefix}{self.count}"
        self.count += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(arr).cast("B")
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
        finally:
            os.close(fd)
        return _rebuild_shared, (path, arr.dtype.str, arr.shape, t.requires_grad)

    def dumps(self, obj):
        f = io.BytesIO()
        p = pickle.Pickler(f, pickle.HIGHEST_PROTOCOL)
        p.dispatch_table = self.dispatch_table
        p.dump(obj)
        return f.getvalue()


loads = pickle.loads

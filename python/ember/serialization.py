"""ember.save / ember.load: PyTorch's checkpoint format, without PyTorch.

A checkpoint is an uncompressed zip archive, as torch.save writes it::

    <name>/data.pkl                 the object, pickled (protocol 2); storages are persistent ids
    <name>/.format_version, <name>/.storage_alignment, <name>/byteorder
    <name>/data/<key>               the raw bytes of one storage, 64-byte aligned in the file
    <name>/version, <name>/.data/serialization_id

A tensor pickles as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` and a storage as the persistent id ``('storage',
torch.FloatStorage, key, 'cpu', numel)``; tensors that share a storage share one record, and
share memory again after loading. Loading goes through an unpickler that resolves only the
names needed to rebuild tensors and containers (torch's ``weights_only=True``), maps torch's
names onto ember's, and never imports torch.
"""
import codecs
import collections
import io as _io
import os
import pickle
import secrets
import struct
import zipfile
import zlib

from . import _C
from ._C import Tensor

__all__ = ["save", "load"]

# ---- names shared with torch ----------------------------------------------------------------

_STORAGE_NAMES = {  # ember dtype name -> torch's legacy storage class
    "float32": "FloatStorage", "float64": "DoubleStorage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}
_DTYPES = {name: getattr(_C, name) for name in _STORAGE_NAMES}


class _TorchGlobal:
    """A torch name written into the pickle (``GLOBAL module name``) without importing torch."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # save_reduce wants a callable; this one is only ever written
        raise TypeError(f"{self.module}.{self.name} is a name for torch files, not callable in ember")


_REBUILD_TENSOR = _TorchGlobal("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchGlobal("torch._utils", "_rebuild_parameter")
_TORCH_SIZE = _TorchGlobal("torch", "Size")
_TORCH_DEVICE = _TorchGlobal("torch", "device")
_STORAGE_GLOBALS = {dt: _TorchGlobal("torch", name) for dt, name in _STORAGE_NAMES.items()}
_DTYPE_GLOBALS = {dt: _TorchGlobal("torch", dt) for dt in _STORAGE_NAMES}

_ALIGNMENT = 64
_ZIP64_LIMIT = 0xFFFFFFFF  # sizes and offsets from here on are written in zip64 fields


def _field32(value):
    """A 32-bit zip field: the value, or 0xFFFFFFFF where the zip64 field holds it."""
    return value if value < _ZIP64_LIMIT else 0xFFFFFFFF
_FORMAT_VERSION = b"1"
_PICKLE_VERSION = b"3\n"


# ---- saving ---------------------------------------------------------------------------------

class _StorageRef:
    """One storage to write: its record key, torch storage type and element count."""

    __slots__ = ("key", "dtype", "numel", "tensor")

    def __init__(self, key, dtype, numel, tensor):
        self.key, self.dtype, self.numel, self.tensor = key, dtype, numel, tensor


class _Pickler(pickle._Pickler):
    # The pure-Python pickler: it lets torch's names be written as globals without importing
    # them, and emits the same opcodes as the C pickler torch uses.
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol):
        super().__init__(file, protocol=protocol)
        self.storages = {}  # storage identity -> _StorageRef
        # reducer_override sees every object: look the classes up once.
        self._parameter, self._size, self._device = _parameter_class(), _size_class(), _device_class()

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return ("storage", _STORAGE_GLOBALS[obj.dtype], obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if isinstance(obj, self._parameter):
                return _REBUILD_PARAMETER, (obj.detach(), obj.requires_grad, collections.OrderedDict())
            return _REBUILD_TENSOR, (self._storage_ref(obj), obj.storage_offset(), tuple(obj.shape),
                                     tuple(obj.stride()), obj.requires_grad, collections.OrderedDict())
        if type(obj) is self._size:
            return _TORCH_SIZE, (tuple(obj),)
        if type(obj) is self._device:
            return _TORCH_DEVICE, ((obj.type,) if obj.index is None else (obj.type, obj.index))
        return NotImplemented

    def _storage_ref(self, t):
        ident, nbytes = _C._storage_info(t)
        dtype = str(t.dtype).split(".")[-1]
        ref = self.storages.get(ident)
        if ref is None:
            itemsize = t.element_size()
            ref = _StorageRef(str(len(self.storages)), dtype, nbytes // itemsize, t)
            self.storages[ident] = ref
        elif ref.dtype != dtype:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different "
                               f"types: {ref.dtype} and {dtype}")
        return ref

    def _save_torch_global(self, obj):
        if self.proto >= 4:  # as pickle writes globals from protocol 4 on
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        self.memoize(obj)

    def _save_dtype(self, obj):
        self.save(_DTYPE_GLOBALS[str(obj).split(".")[-1]])

    dispatch[_TorchGlobal] = _save_torch_global
    dispatch[type(_C.float32)] = _save_dtype


def _parameter_class():
    from .nn.parameter import Parameter
    return Parameter


def _size_class():
    from . import Size
    return Size


def _device_class():
    from . import device
    return device


class _ZipWriter:
    """A stored (uncompressed) zip archive with every record's data 64-byte aligned, padded in
    the local header's extra field as PyTorch's writer does."""

    def __init__(self, file):
        self.file = file
        self.pos = 0
        self.entries = []  # (name, crc, size, header offset)

    def _write(self, data):
        self.file.write(data)
        self.pos += len(data)

    def write_record(self, name, data):
        data = memoryview(data).cast("B")
        name_b = name.encode("utf-8")
        size, offset = len(data), self.pos
        crc = zlib.crc32(data)
        zip64 = b""
        if size >= _ZIP64_LIMIT:
            zip64 = struct.pack("<HHQQ", 1, 16, size, size)
        start = offset + 30 + len(name_b) + len(zip64) + 4
        padding = -start % _ALIGNMENT
        extra = zip64 + struct.pack("<HH", 0x4246, padding) + b"Z" * padding  # 'FB' field
        small = _field32(size)
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0x0800, 0, 0, 0,
                                crc, small, small, len(name_b), len(extra)) + name_b + extra)
        self._write(data)
        self.entries.append((name_b, crc, size, offset))
        return crc

    def finish(self):
        cd_start = self.pos
        for name_b, crc, size, offset in self.entries:
            fields = [v for v in (size, size, offset) if v >= _ZIP64_LIMIT]
            extra = struct.pack("<HH", 1, 8 * len(fields)) + struct.pack(f"<{len(fields)}Q", *fields) if fields else b""
            small, off = _field32(size), _field32(offset)
            self._write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if extra else 20, 45 if extra else 20,
                                    0x0800, 0, 0, 0, crc, small, small, len(name_b), len(extra), 0, 0, 0, 0, off)
                        + name_b + extra)
        cd_size, count = self.pos - cd_start, len(self.entries)
        if count >= 0xFFFF or cd_start >= _ZIP64_LIMIT or cd_size >= _ZIP64_LIMIT:
            eocd64 = self.pos
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        entries = count if count < 0xFFFF and cd_start < _ZIP64_LIMIT else 0xFFFF
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, _field32(cd_size),
                                _field32(cd_start), 0))


def _write_checkpoint(obj, file, archive, protocol):
    data_pkl = _io.BytesIO()
    pickler = _Pickler(data_pkl, protocol)
    pickler.dump(obj)
    writer = _ZipWriter(file)
    crcs = [writer.write_record(f"{archive}/data.pkl", data_pkl.getbuffer())]
    crcs.append(writer.write_record(f"{archive}/.format_version", _FORMAT_VERSION))
    crcs.append(writer.write_record(f"{archive}/.storage_alignment", str(_ALIGNMENT).encode()))
    crcs.append(writer.write_record(f"{archive}/byteorder", b"little"))
    refs = {ref.key: ref for ref in pickler.storages.values()}
    for key in sorted(refs):  # torch's order: keys sorted as strings
        crcs.append(writer.write_record(f"{archive}/data/{key}", _C._storage_bytes(refs[key].tensor)))
    crcs.append(writer.write_record(f"{archive}/version", _PICKLE_VERSION))
    # 40 digits, like torch's: a hash of the record names, then one of their checksums.
    names = "\0".join(e[0].decode("utf-8") for e in writer.entries).encode("utf-8")
    name_hash = int.from_bytes(zlib.crc32(names).to_bytes(4, "little") + zlib.adler32(names).to_bytes(4, "little"),
                               "little")
    crc_hash = 0
    for c in crcs:
        crc_hash = (crc_hash * 1000003 ^ c) & 0xFFFFFFFFFFFFFFFF
    writer.write_record(f"{archive}/.data/serialization_id", f"{name_hash:020d}{crc_hash:020d}".encode())
    writer.finish()


def save(obj, f, pickle_protocol=2):
    """Saves ``obj`` (tensors, parameters, state dicts, optimizer states and containers of them)
    in PyTorch's checkpoint format, readable by ``torch.load(f, weights_only=True)``.

    ``f`` is a path (written atomically: a temporary file in the same folder, fsync, rename) or
    a writable binary file object.
    """
    if not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"ember.save: pickle_protocol must be between 2 and {pickle.HIGHEST_PROTOCOL}, "
                         f"got {pickle_protocol}")
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"ember.save: f must be a path or a writable binary file, got {type(f).__name__}")
        _write_checkpoint(obj, f, "archive", pickle_protocol)
        return
    path = os.fspath(f)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    archive = os.path.splitext(os.path.basename(path))[0] or "archive"
    while True:
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_checkpoint(obj, fh, archive, pickle_protocol)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder):
    # Makes the rename durable; not every platform lets a folder be opened.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading --------------------------------------------------------------------------------

class _StorageType:
    """What ``torch.FloatStorage`` etc. resolve to when loading: the element dtype."""

    __slots__ = ("dtype", "name")

    def __init__(self, dtype, name):
        self.dtype, self.name = dtype, name


class _LoadedStorage:
    """A storage read from the archive: raw bytes (a uint8 tensor) viewed as `dtype`."""

    __slots__ = ("raw", "dtype", "key")

    def __init__(self, raw, dtype, key):
        self.raw, self.dtype, self.key = raw, dtype, key


def _check_ints(value, what, length=None):
    ok = isinstance(value, (tuple, list)) and all(type(v) is int for v in value)
    if not ok or (length is not None and len(value) != length):
        raise RuntimeError(f"ember.load: corrupted checkpoint: tensor {what} {value!r} is not a tuple of ints"
                           + (f" of length {length}" if length is not None else ""))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    if type(storage) is not _LoadedStorage:
        raise pickle.UnpicklingError("ember.load: _rebuild_tensor_v2 expects a storage as its first argument, got "
                                     f"{type(storage).__name__}")
    if type(storage_offset) is not int:
        raise RuntimeError(f"ember.load: corrupted checkpoint: storage offset {storage_offset!r} is not an int")
    _check_ints(size, "size")
    _check_ints(stride, "stride", len(size))
    t = _C._from_storage(storage.raw, storage.dtype, tuple(size), tuple(stride), storage_offset)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"ember.load: _rebuild_parameter expects a tensor, got {type(data).__name__}")
    return _parameter_class()(data, bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    # torch saves a parameter's Python attributes as a dict, or a (dict, slots dict) pair.
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    parts = state if isinstance(state, tuple) else (state,)
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, dict) or not all(isinstance(k, str) and not k.startswith("__") for k in part):
            raise pickle.UnpicklingError("ember.load: a parameter's state must be a dict of attribute names, got "
                                         f"{state!r}")
        for k, v in part.items():
            setattr(param, k, v)
    return param


def _encode(obj, encoding="utf-8", errors="strict"):
    # How protocol 2 spells bytes objects; only the latin-1 form that pickle writes is accepted.
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError("ember.load: _codecs.encode is only allowed as pickle uses it for bytes")
    return codecs.encode(obj, "latin1")


def _safe_globals():
    from . import Size, device
    table = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch", "Size"): Size,
        ("torch", "device"): device,
        ("_codecs", "encode"): _encode,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex,
    }
    for dt, name in _STORAGE_NAMES.items():
        table[("torch", name)] = _StorageType(_DTYPES[dt], name)
        table[("torch", dt)] = _DTYPES[dt]
    return table


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, weights_only, load_storage):
        super().__init__(file)
        self._weights_only = weights_only
        self._load_storage = load_storage
        self._globals = _safe_globals()

    def find_class(self, module, name):
        if module == "__builtin__":
            module = "builtins"
        found = self._globals.get((module, name))
        if found is not None:
            return found
        if self._weights_only:
            raise pickle.UnpicklingError(
                f"ember.load: unsupported global '{module}.{name}' in the checkpoint. With weights_only=True only "
                "tensors, parameters, storages, dtypes, Size, device and containers of them, numbers, strings, "
                "bools and None are loaded. Use weights_only=False only for files you trust: it runs the code "
                "the file names.")
        if module == "torch" or module.startswith("torch."):
            raise pickle.UnpicklingError(f"ember.load: the checkpoint needs '{module}.{name}', a torch object that "
                                         "ember cannot rebuild")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"ember.load: unsupported persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        if type(storage_type) is not _StorageType or not isinstance(key, str) or not isinstance(location, str) \
                or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"ember.load: malformed storage id {pid!r}")
        return self._load_storage(storage_type, key, location, numel)


def _device_error(location):
    return RuntimeError(f"ember.load: the checkpoint has a storage on device '{location}', but ember computes on "
                        "the CPU only; pass map_location='cpu' to load it there")


def _map_location(map_location, storage, location):
    """The device a storage saved at ``location`` is loaded to; only the CPU is accepted."""
    if map_location is None:
        target = location
    elif isinstance(map_location, dict):
        target = map_location.get(location, location)
    elif isinstance(map_location, str) or type(map_location) is _device_class():
        target = map_location
    elif callable(map_location):
        result = map_location(storage, location)
        target = location if result is None else "cpu"
    else:
        raise TypeError(f"ember.load: map_location must be None, a str, a device, a dict or a callable, got "
                        f"{type(map_location).__name__}")
    target = str(target)
    if target.split(":")[0] != "cpu":
        raise _device_error(target)


class _Archive:
    """The records of a checkpoint archive, read and checked on demand."""

    def __init__(self, zf, prefix):
        self.zf, self.prefix = zf, prefix

    def info(self, name):
        try:
            return self.zf.getinfo(f"{self.prefix}/{name}")
        except KeyError:
            raise RuntimeError(f"ember.load: the checkpoint has no record '{self.prefix}/{name}' "
                               "(the file is truncated or corrupted)") from None

    def read_into(self, info, buf):
        try:
            with self.zf.open(info) as r:
                view, done = memoryview(buf).cast("B"), 0
                while done < len(view):
                    n = r.readinto(view[done:])
                    if not n:
                        break
                    done += n
                if done != len(view) or r.read(1):  # reading to the end also checks the CRC
                    raise RuntimeError(f"ember.load: record '{info.filename}' does not have its stated size "
                                       "(the file is corrupted)")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
            raise RuntimeError(f"ember.load: cannot read record '{info.filename}': {e} "
                               "(the file is truncated or corrupted)") from None

    def read(self, name):
        info = self.info(name)
        buf = bytearray(info.file_size)
        self.read_into(info, buf)
        return bytes(buf)


def _open_archive(f):
    """A ZipFile over ``f`` and the folder name its records live in."""
    head = f.read(4)
    f.seek(-len(head), os.SEEK_CUR)
    if head[:1] == b"\x80":
        raise RuntimeError("ember.load: this checkpoint uses torch's legacy (pre-1.6, non-zip) format, which ember "
                           "does not read; re-save it with torch.save(obj, f) from a recent torch")
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise RuntimeError(f"ember.load: not a valid checkpoint ({e}); the file is truncated or corrupted, or was "
                           "not written by ember.save / torch.save") from None
    names = zf.namelist()
    pkls = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
    if len(pkls) != 1:
        zf.close()
        if any(n.endswith("/constants.pkl") for n in names):
            raise RuntimeError("ember.load: this is a TorchScript archive (torch.jit.save), not a checkpoint")
        raise RuntimeError("ember.load: the archive has " + ("no data.pkl record" if not pkls else
                           "several data.pkl records") + " (the file is truncated or not a checkpoint)")
    return zf, pkls[0][:-len("/data.pkl")]


def _load_archive(zf, prefix, map_location, weights_only):
    archive = _Archive(zf, prefix)
    byteorder = "little"
    if f"{prefix}/byteorder" in zf.NameToInfo:
        byteorder = archive.read("byteorder").decode("ascii", "replace")
        if byteorder not in ("little", "big"):
            raise RuntimeError(f"ember.load: unknown byteorder record {byteorder!r}")
    raw_storages = {}  # key -> uint8 tensor holding the record

    def load_storage(storage_type, key, location, numel):
        itemsize = storage_type.dtype.itemsize
        raw = raw_storages.get(key)
        if raw is None:
            info = archive.info(f"data/{key}")
            if info.file_size != numel * itemsize:
                raise RuntimeError(f"ember.load: record '{info.filename}' holds {info.file_size} bytes but the "
                                   f"checkpoint describes {numel} elements of {storage_type.name} "
                                   f"({numel * itemsize} bytes); the file is truncated or corrupted")
            raw = _C._empty((info.file_size,), _C.uint8)
            archive.read_into(info, raw.numpy())
            if byteorder == "big" and itemsize > 1:
                raw.numpy().view(f"u{itemsize}").byteswap(inplace=True)
            raw_storages[key] = raw
        elif raw.numel() < numel * itemsize:
            raise RuntimeError(f"ember.load: storage '{key}' is used with {numel} elements of {storage_type.name}, "
                               f"more than its record's {raw.numel()} bytes (the file is corrupted)")
        if storage_type.dtype == _C.bool and bool((raw.numpy() > 1).any()):
            raise RuntimeError(f"ember.load: record 'data/{key}' of a BoolStorage holds bytes other than 0 and 1 "
                               "(the file is corrupted)")
        storage = _LoadedStorage(raw, storage_type.dtype, key)
        _map_location(map_location, storage, location)
        return storage

    with zf.open(archive.info("data.pkl")) as pkl_file:
        data = _io.BytesIO(pkl_file.read())
    try:
        return _Unpickler(data, weights_only, load_storage).load()
    except pickle.UnpicklingError as e:
        if str(e).startswith("ember.load"):  # a refused name or argument, reported as such
            raise
        raise RuntimeError(f"ember.load: data.pkl is corrupted ({e})") from None
    except (EOFError, ValueError, IndexError, KeyError, struct.error) as e:
        raise RuntimeError(f"ember.load: data.pkl is corrupted ({type(e).__name__}: {e})") from None


def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Loads a checkpoint written by ``ember.save`` or ``torch.save``.

    ``f`` is a path or a readable, seekable binary file. With ``weights_only=True`` (the
    default) only tensors, parameters and containers of them are rebuilt, and any other name
    in the file raises ``pickle.UnpicklingError``. ``map_location`` may be None, 'cpu', a
    device, a dict of locations or a callable ``(storage, location)``; ember loads to the CPU.
    """
    if weights_only is None:
        weights_only = True
    if mmap:
        raise NotImplementedError("ember.load: mmap=True is not supported; the checkpoint is read into memory")
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return load(fh, map_location, weights_only=weights_only)
    if not (hasattr(f, "read") and hasattr(f, "seek")):
        raise TypeError(f"ember.load: f must be a path or a readable, seekable binary file, got {type(f).__name__}")
    zf, prefix = _open_archive(f)
    with zf:
        try:
            return _load_archive(zf, prefix, map_location, weights_only)
        except (zipfile.BadZipFile, zlib.error) as e:
            raise RuntimeError(f"ember.load: the checkpoint is corrupted ({e})") from None

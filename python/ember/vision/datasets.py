"""MNIST, FashionMNIST, CIFAR10 and CIFAR100 with torchvision's names, folder layout, attributes
and reprs.

Files are read defensively: an IDX header is checked (magic, element type, number of
dimensions) and the data must be exactly as long as the header says; CIFAR batches are
unpickled with an unpickler that can build only dicts, lists, strings, numbers and numpy
arrays, then checked for shape, dtype and label range. A bad file raises RuntimeError naming
it, never yields garbage and never runs code from the file.

Items are (image, target): a PIL Image ('L' for MNIST, 'RGB' for CIFAR) when Pillow is
installed, as torchvision returns, else the uint8 numpy array (H, W) or (H, W, 3); either
goes through transforms.ToTensor.
"""
import gzip
import hashlib
import os
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
import zlib

import numpy as np

from .. import _C

try:  # the Dataset base class, when ember.utils.data is available
    from ..utils.data import Dataset as _DatasetBase
except ImportError:
    _DatasetBase = object

__all__ = ["VisionDataset", "StandardTransform", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100",
           "read_idx_file"]


class StandardTransform:
    """Applies transform to the input and target_transform to the target."""

    def __init__(self, transform=None, target_transform=None):
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input, target):
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    def _format_transform_repr(self, transform, head):
        lines = transform.__repr__().splitlines()
        return [f"{head}{lines[0]}"] + ["{}{}".format(" " * len(head), line) for line in lines[1:]]

    def __repr__(self):
        body = [self.__class__.__name__]
        if self.transform is not None:
            body += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(_DatasetBase):
    """Base class: root folder, transforms and torchvision's repr."""

    _repr_indent = 4

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate_transform = transform is not None or target_transform is not None
        if has_transforms and has_separate_transform:
            raise ValueError("Only transforms or transform/target_transform can be passed as argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate_transform:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def __repr__(self):
        head = "Dataset " + self.__class__.__name__
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body += [repr(self.transforms)]
        lines = [head] + [" " * self._repr_indent + line for line in body]
        return "\n".join(lines)

    def extra_repr(self):
        return ""


def _to_image(array):
    """A PIL Image of a uint8 (H, W) or (H, W, 3) array when Pillow is installed, else the array."""
    try:
        from PIL import Image
    except ImportError:
        return np.array(array, copy=True)
    return Image.fromarray(array)


# ----------------------------------------------------------------------------------------------
# downloads

def _md5(path, chunk_size=1 << 20):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_url(url, path, md5=None, timeout=60):
    """Downloads url to path through a temporary file; raises if the md5 differs."""
    partial = path + ".part"
    request = urllib.request.Request(url, headers={"User-Agent": "ember"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as f:
            shutil.copyfileobj(response, f, 1 << 20)
        if md5 is not None and _md5(partial) != md5:
            raise RuntimeError(f"The file downloaded from {url} is corrupted (md5 mismatch, expected {md5})")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _download_from_mirrors(mirrors, filename, folder, md5):
    """Tries each mirror in turn; a RuntimeError listing every failure when none works."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{filename}"
        try:
            _download_url(url, os.path.join(folder, filename), md5)
            return
        except (urllib.error.URLError, OSError) as e:  # no network, HTTP errors, timeouts
            errors.append((mirror, e))
    message = f"Error downloading {filename} (is there a network connection?):\n"
    for mirror, err in errors:
        message += f"Tried {mirror}, got:\n{err}\n"
    raise RuntimeError(message)


def _gunzip(source, destination):
    partial = destination + ".part"
    try:
        with gzip.open(source, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(partial, destination)
    except (OSError, EOFError, zlib.error) as e:
        raise RuntimeError(f"{source} is not a valid gzip file: {e}") from e
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _extract_tar(archive, folder):
    """Extracts regular files and folders only, refusing links and paths leaving folder."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = member.name.replace("\\", "/").split("/")
                if not (member.isfile() or member.isdir()) or os.path.isabs(member.name) or ".." in parts:
                    raise RuntimeError(f"{archive} has an unsafe entry {member.name!r}; not extracting it")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(folder, members, filter="data")
            else:
                tar.extractall(folder, members)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise RuntimeError(f"{archive} is not a valid tar archive: {e}") from e


# ----------------------------------------------------------------------------------------------
# IDX files (MNIST's format: big-endian header, then the array in row-major order)

_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_up_to(f, n, chunk_size=1 << 22):
    """At most n bytes, read in chunks so that a header claiming a huge size allocates nothing."""
    chunks, remaining = [], n
    while remaining > 0:
        chunk = f.read(min(chunk_size, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_idx(f, path):
    header = _read_up_to(f, 4)
    if len(header) < 4:
        raise RuntimeError(f"{path} is not a valid IDX file: it is shorter than the 4-byte magic number")
    if header[0] != 0 or header[1] != 0 or header[2] not in _IDX_DTYPES or header[3] == 0:
        raise RuntimeError(f"{path} is not a valid IDX file: bad magic number 0x{header.hex()} (expected "
                           "0x0000TTNN with element type TT in 08,09,0B,0C,0D,0E and NN >= 1 dimensions)")
    dtype, ndim = _IDX_DTYPES[header[2]], header[3]
    dims_bytes = _read_up_to(f, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise RuntimeError(f"{path} is not a valid IDX file: truncated header ({ndim} dimensions announced)")
    shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    data = _read_up_to(f, expected + 1)
    if len(data) != expected:
        found = f"more than {expected}" if len(data) > expected else str(len(data))
        raise RuntimeError(f"{path} is not a valid IDX file: the header announces shape {list(shape)} of "
                           f"{dtype.name} ({expected} bytes of data) but the file has {found} bytes after the header")
    array = np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx_file(path):
    """The numpy array stored in an IDX file, gzip-compressed or not (detected from its bytes)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == _GZIP_MAGIC
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _read_idx(f, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise RuntimeError(f"{path} is not a valid gzip file: {e}") from e


class MNIST(VisionDataset):
    """The MNIST digits: IDX files under ``root/MNIST/raw`` (as gz or uncompressed), as torchvision
    lays them out. ``data`` is a uint8 tensor (N, 28, 28), ``targets`` an int64 tensor (N,)."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self):
        return {_class: i for i, _class in enumerate(self.classes)}

    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _find(self, name):
        """The path of name or name.gz in the raw folder, or None."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self):
        return all(self._find(name) is not None for name in self._split_files())

    def _load_data(self):
        image_name, label_name = self._split_files()
        image_path, label_path = self._find(image_name), self._find(label_name)
        images, labels = read_idx_file(image_path), read_idx_file(label_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise RuntimeError(f"{image_path} should hold uint8 images of shape (N, H, W), not "
                               f"{images.dtype} of shape {list(images.shape)}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise RuntimeError(f"{label_path} should hold uint8 labels of shape (N,), not "
                               f"{labels.dtype} of shape {list(labels.shape)}")
        if len(images) != len(labels):
            raise RuntimeError(f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            raise RuntimeError(f"{label_path} has label {int(labels.max())}, outside the {len(self.classes)} "
                               "classes of the dataset")
        return _C.from_numpy(images), _C.from_numpy(labels.astype(np.int64))

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        img = _to_image(img.numpy())
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def download(self):
        """Fetches the four gz files (trying each mirror) and unpacks them into raw_folder."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            raw_name = os.path.splitext(filename)[0]
            if os.path.isfile(os.path.join(self.raw_folder, raw_name)):
                continue
            gz_path = os.path.join(self.raw_folder, filename)
            if not os.path.isfile(gz_path):
                _download_from_mirrors(self.mirrors, filename, self.raw_folder, md5)
            _gunzip(gz_path, os.path.join(self.raw_folder, raw_name))

    def extra_repr(self):
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, in MNIST's format under ``root/FashionMNIST/raw``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


# ----------------------------------------------------------------------------------------------
# CIFAR (pickled dicts of numpy arrays)

def _numpy_global(module, name):
    # numpy 2 moved numpy.core to numpy._core; pickles name either.
    import importlib
    for candidate in (module.replace("numpy.core", "numpy._core"), module):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {module}.{name}")


def _latin1_encode(text, encoding="latin1"):
    # Protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, 'latin1').
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler whose only globals rebuild numpy arrays, dtypes and scalars: a pickle that
    names anything else (a function to call, a class to build) is refused before it runs."""

    _NUMPY_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"),
                      ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                      ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                      ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module, name):
        if (module, name) in self._NUMPY_GLOBALS:
            return _numpy_global(module, name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise pickle.UnpicklingError(f"forbidden global '{module}.{name}' in a dataset pickle")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed in a dataset pickle")


def _load_pickle(path):
    try:
        with open(path, "rb") as f:
            return _ArrayUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            UnicodeDecodeError, OverflowError, MemoryError, ImportError) as e:
        raise RuntimeError(f"{path} is not a valid dataset pickle: {type(e).__name__}: {e}") from e


class CIFAR10(VisionDataset):
    """CIFAR-10: the python batches under ``root/cifar-10-batches-py``. ``data`` is a uint8 numpy
    array (N, 32, 32, 3), ``targets`` a list of ints, as torchvision."""

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    _label_keys = ("labels", "fine_labels")

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        self._load_meta()
        batches, self.targets = [], []
        for file_name, _ in (self.train_list if self.train else self.test_list):
            data, labels = self._load_batch(os.path.join(self.root, self.base_folder, file_name))
            batches.append(data)
            self.targets.extend(labels)
        self.data = np.vstack(batches).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))  # to HWC

    def _check_integrity(self, both_splits=False):
        # Presence only (of this split's batches, or of all for download): the md5 sums are
        # checked on download, the contents on load.
        batches = self.train_list + self.test_list if both_splits else (self.train_list if self.train else self.test_list)
        names = [name for name, _ in batches] + [self.meta["filename"]]
        return all(os.path.isfile(os.path.join(self.root, self.base_folder, name)) for name in names)

    def _load_meta(self):
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        meta = _load_pickle(path)
        names = meta.get(self.meta["key"]) if isinstance(meta, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise RuntimeError(f"{path} is not a valid metadata file: expected a dict with a list of class names "
                               f"under {self.meta['key']!r}")
        self.classes = names
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def _load_batch(self, path):
        entry = _load_pickle(path)
        if not isinstance(entry, dict):
            raise RuntimeError(f"{path} is not a valid batch: expected a dict, got {type(entry).__name__}")
        data = entry.get("data")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            desc = (f"{data.dtype} array of shape {list(data.shape)}" if isinstance(data, np.ndarray)
                    else type(data).__name__)
            raise RuntimeError(f"{path} is not a valid batch: 'data' should be a uint8 array of shape (N, 3072), "
                               f"got {desc}")
        key = next((k for k in self._label_keys if k in entry), None)
        labels = entry.get(key) if key is not None else None
        labels = np.asarray(labels) if isinstance(labels, (list, np.ndarray)) else None
        if labels is None or labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
            raise RuntimeError(f"{path} is not a valid batch: expected a list of int labels under "
                               f"{' or '.join(map(repr, self._label_keys))}")
        if len(labels) != len(data):
            raise RuntimeError(f"{path} is not a valid batch: {len(data)} images but {len(labels)} labels")
        outside = (labels < 0) | (labels >= len(self.classes))
        if outside.any():
            raise RuntimeError(f"{path} is not a valid batch: label {int(labels[outside][0])} is outside the "
                               f"{len(self.classes)} classes")
        return data, labels.astype(np.int64).tolist()

    def __getitem__(self, index):
        img, target = self.data[index], self.targets[index]
        img = _to_image(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def download(self):
        """Fetches and unpacks the archive into root (its md5 checked first)."""
        if self._check_integrity(both_splits=True):
            return
        os.makedirs(self.root, exist_ok=True)
        _download_from_mirrors([self.url[: -len(self.filename)]], self.filename, self.root, self.tgz_md5)
        _extract_tar(os.path.join(self.root, self.filename), self.root)

    def extra_repr(self):
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class CIFAR100(CIFAR10):
    """CIFAR-100 (fine labels) under ``root/cifar-100-python``."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
    _label_keys = ("fine_labels",)

"""ember.vision.datasets on small MNIST-style IDX files and CIFAR batches written by the tests."""
import gzip
import hashlib
import io
import os
import pickle
import struct
import sys
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import datasets, transforms as T


def idx_bytes(array, type_code=0x08):
    """An IDX file, written from the format's definition: 0, 0, type, ndim, big-endian dims, data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write(path, payload, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz:
        path += ".gz"
        payload = gzip.compress(payload)
    with open(path, "wb") as f:
        f.write(payload)
    return path


def make_mnist(root, name="MNIST", n_train=7, n_test=3, gz=False, size=(28, 28)):
    raw = os.path.join(root, name, "raw")
    split = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.random.randint(0, 256, size=(n,) + size).astype(np.uint8)
        labels = np.random.randint(0, 10, size=n).astype(np.uint8)
        write(os.path.join(raw, f"{prefix}-images-idx3-ubyte"), idx_bytes(images), gz)
        write(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"), idx_bytes(labels), gz)
        split[prefix] = (images, labels)
    return split


def no_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)


# ---------------------------------------------------------------------------------------------
# MNIST / FashionMNIST

@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loads_raw_and_gzip_idx(tmp_path, gz):
    split = make_mnist(str(tmp_path), gz=gz)
    images, labels = split["train"]
    ds = datasets.MNIST(str(tmp_path), train=True)
    assert len(ds) == 7
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (7, 28, 28)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert ds.targets.dtype == ember.int64
    np.testing.assert_array_equal(ds.targets.numpy(), labels.astype(np.int64))
    img, target = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), images[3])
    assert type(target) is int and target == labels[3]
    img, target = ds[-1]
    np.testing.assert_array_equal(np.asarray(img), images[-1])
    test = datasets.MNIST(str(tmp_path), train=False)
    assert len(test) == 3
    np.testing.assert_array_equal(test.data.numpy(), split["t10k"][0])


def test_mnist_attributes_transforms_and_repr(tmp_path):
    split = make_mnist(str(tmp_path))
    images, labels = split["train"]
    transform = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(str(tmp_path), transform=transform, target_transform=lambda y: y + 100)
    x, y = ds[0]
    expected = (images[0].astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(x.numpy()[0], expected, rtol=1e-6, atol=1e-6)
    assert y == labels[0] + 100
    assert ds.classes[0] == "0 - zero" and len(ds.classes) == 10
    assert ds.class_to_idx["9 - nine"] == 9
    assert ds.raw_folder == os.path.join(str(tmp_path), "MNIST", "raw")
    lines = repr(ds).splitlines()
    assert lines[:6] == ["Dataset MNIST", "    Number of datapoints: 7", f"    Root location: {tmp_path}",
                         "    Split: Train", "    StandardTransform", "Transform: Compose("]
    assert lines[6:9] == ["               ToTensor()", "               Normalize(mean=(0.1307,), std=(0.3081,))",
                          "           )"]
    assert lines[9].startswith("Target transform: <function ")
    plain = datasets.MNIST(str(tmp_path), train=False)
    assert repr(plain) == f"Dataset MNIST\n    Number of datapoints: 3\n    Root location: {tmp_path}\n    Split: Test"


def test_fashion_mnist(tmp_path):
    split = make_mnist(str(tmp_path), name="FashionMNIST", gz=True)
    ds = datasets.FashionMNIST(str(tmp_path))
    np.testing.assert_array_equal(ds.data.numpy(), split["train"][0])
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert repr(ds).startswith("Dataset FashionMNIST\n")
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(tmp_path))  # FashionMNIST files are not MNIST's


def test_mnist_without_pillow_returns_arrays(tmp_path, monkeypatch):
    split = make_mnist(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path), transform=T.ToTensor())
    no_pillow(monkeypatch)
    plain = datasets.MNIST(str(tmp_path))
    img, _ = plain[2]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    np.testing.assert_array_equal(img, split["train"][0][2])
    x, _ = ds[2]
    np.testing.assert_array_equal(x.numpy()[0], split["train"][0][2] / np.float32(255))


def test_mnist_missing_files(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to download it"):
        datasets.MNIST(str(tmp_path))
    make_mnist(str(tmp_path))
    os.remove(os.path.join(str(tmp_path), "MNIST", "raw", "t10k-labels-idx1-ubyte"))
    datasets.MNIST(str(tmp_path), train=True)
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(tmp_path), train=False)


def _corrupt(tmp_path, name, payload, gz=False):
    make_mnist(str(tmp_path))
    raw = os.path.join(str(tmp_path), "MNIST", "raw")
    os.remove(os.path.join(raw, name))
    write(os.path.join(raw, name), payload, gz)


GOOD_IMAGES = np.zeros((7, 28, 28), np.uint8)


@pytest.mark.parametrize("name,payload,message", [
    ("train-images-idx3-ubyte", b"\x01\x00\x08\x03" + idx_bytes(GOOD_IMAGES)[4:], "bad magic number 0x01000803"),
    ("train-images-idx3-ubyte", b"\x00\x00\x0a\x03" + idx_bytes(GOOD_IMAGES)[4:], "bad magic number 0x00000a03"),
    ("train-images-idx3-ubyte", b"\x00\x00\x08\x00", "bad magic number 0x00000800"),
    ("train-images-idx3-ubyte", b"\x00\x00", "shorter than the 4-byte magic number"),
    ("train-images-idx3-ubyte", b"", "shorter than the 4-byte magic number"),
    ("train-images-idx3-ubyte", idx_bytes(GOOD_IMAGES)[:10], r"truncated header \(3 dimensions announced\)"),
    ("train-images-idx3-ubyte", idx_bytes(GOOD_IMAGES)[:-1],
     r"announces shape \[7, 28, 28\] of uint8 \(5488 bytes of data\) but the file has 5487 bytes"),
    ("train-images-idx3-ubyte", idx_bytes(GOOD_IMAGES) + b"\x00",
     "but the file has more than 5488 bytes after the header"),
    ("train-images-idx3-ubyte", b"\x00\x00\x08\x03" + struct.pack(">3I", 2 ** 31, 2 ** 31, 2 ** 31) + b"\x00" * 64,
     "but the file has 64 bytes"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((7, 28, 28), np.int16), 0x0B),
     r"should hold uint8 images of shape \(N, H, W\), not int16"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((7, 784), np.uint8)),
     r"should hold uint8 images of shape \(N, H, W\), not uint8 of shape \[7, 784\]"),
    ("train-labels-idx1-ubyte", idx_bytes(np.zeros((7, 1), np.uint8)), r"should hold uint8 labels of shape \(N,\)"),
    ("train-labels-idx1-ubyte", idx_bytes(np.zeros(6, np.uint8)), "has 7 images but .* has 6 labels"),
    ("train-labels-idx1-ubyte", idx_bytes(np.full(7, 10, np.uint8)), "has label 10, outside the 10 classes"),
], ids=["magic-byte0", "element-type", "zero-dims", "short-magic", "empty", "short-header", "truncated-data",
        "trailing-data", "huge-dims", "int16-images", "2d-images", "2d-labels", "count-mismatch", "label-range"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_corrupted_idx_raises(tmp_path, name, payload, message, gz):
    _corrupt(tmp_path, name, payload, gz)
    with pytest.raises(RuntimeError, match=message):
        datasets.MNIST(str(tmp_path))


def test_mnist_corrupted_gzip_raises(tmp_path):
    good = gzip.compress(idx_bytes(GOOD_IMAGES))
    _corrupt(tmp_path, "train-images-idx3-ubyte", good[: len(good) // 2])  # written raw: cut gzip stream
    with pytest.raises(RuntimeError, match="is not a valid gzip file"):
        datasets.MNIST(str(tmp_path))
    broken = bytearray(good)
    broken[20:40] = b"\xff" * 20
    _corrupt(tmp_path, "train-images-idx3-ubyte", bytes(broken))
    with pytest.raises(RuntimeError, match="is not a valid gzip file"):
        datasets.MNIST(str(tmp_path))


def test_read_idx_file_other_element_types(tmp_path):
    for type_code, values in [(0x09, np.array([-3, 4], np.int8)), (0x0B, np.array([[-300, 2]], np.int16)),
                              (0x0C, np.array([70000, -1], np.int32)), (0x0D, np.array([1.5, -2.25], np.float32)),
                              (0x0E, np.array([[[0.1]]], np.float64))]:
        path = write(str(tmp_path / f"t{type_code}"), idx_bytes(values, type_code))
        out = datasets.read_idx_file(path)
        assert out.dtype == values.dtype.newbyteorder("=") and out.dtype.isnative
        np.testing.assert_array_equal(out, values)


# downloads: urllib is replaced, no test touches the network

def test_mnist_download_without_network_raises_clearly(tmp_path, monkeypatch):
    calls = []

    def offline(request, *args, **kwargs):
        calls.append(request.full_url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading train-images-idx3-ubyte.gz \(is there a network "
                                           r"connection\?\):\nTried https://ossci-datasets.s3.amazonaws.com/mnist/, "
                                           r"got:\n.*Temporary failure in name resolution.*Tried http://yann.lecun"):
        datasets.MNIST(str(tmp_path), download=True)
    assert calls == [m + "train-images-idx3-ubyte.gz" for m in datasets.MNIST.mirrors]
    assert not any(name.endswith(".part") for name in os.listdir(tmp_path / "MNIST" / "raw"))


def _serve(monkeypatch, files):
    """urllib.request.urlopen answering from a dict of url -> bytes."""
    def fake_urlopen(request, *args, **kwargs):
        url = request.full_url
        if url not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(files[url])
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)


def test_mnist_download_checks_md5(tmp_path, monkeypatch):
    payload = gzip.compress(idx_bytes(GOOD_IMAGES))
    _serve(monkeypatch, {m + name: payload for m in datasets.MNIST.mirrors for name, _ in datasets.MNIST.resources})
    with pytest.raises(RuntimeError, match="is corrupted \\(md5 mismatch, expected f68b3c2dcbeaaa9fbdd348bbdeb94873\\)"):
        datasets.MNIST(str(tmp_path), download=True)
    assert os.listdir(tmp_path / "MNIST" / "raw") == []


def test_mnist_download_fetches_and_unpacks(tmp_path, monkeypatch):
    images = np.random.randint(0, 256, size=(4, 5, 6)).astype(np.uint8)
    labels = np.array([1, 2, 3, 4], np.uint8)
    served, resources = {}, []
    for name, array in [("train-images-idx3-ubyte.gz", images), ("train-labels-idx1-ubyte.gz", labels),
                        ("t10k-images-idx3-ubyte.gz", images[:2]), ("t10k-labels-idx1-ubyte.gz", labels[:2])]:
        payload = gzip.compress(idx_bytes(array))
        served[datasets.MNIST.mirrors[1] + name] = payload  # the first mirror answers 404
        resources.append((name, hashlib.md5(payload).hexdigest()))
    _serve(monkeypatch, served)
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    ds = datasets.MNIST(str(tmp_path), download=True)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    raw = sorted(os.listdir(tmp_path / "MNIST" / "raw"))
    assert raw == sorted([n for n, _ in resources] + [n[:-3] for n, _ in resources])
    with open(tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte", "rb") as f:
        assert f.read() == idx_bytes(images[:2])
    monkeypatch.setattr(urllib.request, "urlopen", None)  # present files are not fetched again
    assert len(datasets.MNIST(str(tmp_path), train=False, download=True)) == 2


# ---------------------------------------------------------------------------------------------
# CIFAR

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def dump(path, obj, protocol=pickle.DEFAULT_PROTOCOL):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def make_cifar10(root, n=3, protocol=pickle.DEFAULT_PROTOCOL):
    folder = os.path.join(root, "cifar-10-batches-py")
    dump(os.path.join(folder, "batches.meta"),
         {"num_cases_per_batch": n, "label_names": CIFAR10_CLASSES, "num_vis": 3072}, protocol)
    batches = {}
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        data = np.random.randint(0, 256, size=(n, 3072)).astype(np.uint8)
        labels = np.random.randint(0, 10, size=n).tolist()
        dump(os.path.join(folder, name), {"batch_label": name, "labels": labels, "data": data,
                                          "filenames": [f"img{i}.png" for i in range(n)]}, protocol)
        batches[name] = (data, labels)
    return batches


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_loads_batches(tmp_path, protocol):
    batches = make_cifar10(str(tmp_path), protocol=protocol)
    ds = datasets.CIFAR10(str(tmp_path), train=True)
    train_names = [f"data_batch_{i}" for i in range(1, 6)]
    flat = np.concatenate([batches[name][0] for name in train_names])
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == (15, 32, 32, 3)
    # each row is 1024 red, 1024 green, 1024 blue values in row-major order
    np.testing.assert_array_equal(ds.data[4, 2, 5], flat[4, [2 * 32 + 5, 1024 + 2 * 32 + 5, 2048 + 2 * 32 + 5]])
    assert ds.targets == sum((batches[name][1] for name in train_names), [])
    assert all(type(t) is int for t in ds.targets)
    assert ds.classes == CIFAR10_CLASSES and ds.class_to_idx["truck"] == 9
    img, target = ds[4]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (32, 32)
    np.testing.assert_array_equal(np.asarray(img), flat[4].reshape(3, 32, 32).transpose(1, 2, 0))
    assert target == ds.targets[4]
    test = datasets.CIFAR10(str(tmp_path), train=False, transform=T.ToTensor())
    x, _ = test[1]
    np.testing.assert_array_equal(x.numpy(), batches["test_batch"][0][1].reshape(3, 32, 32) / np.float32(255))
    assert repr(test).splitlines()[:5] == ["Dataset CIFAR10", "    Number of datapoints: 3",
                                           f"    Root location: {tmp_path}", "    Split: Test",
                                           "    StandardTransform"]
    assert repr(test).splitlines()[5] == "Transform: ToTensor()"


def test_cifar10_without_pillow_returns_arrays(tmp_path, monkeypatch):
    batches = make_cifar10(str(tmp_path))
    no_pillow(monkeypatch)
    img, _ = datasets.CIFAR10(str(tmp_path), train=False)[0]
    assert isinstance(img, np.ndarray) and img.shape == (32, 32, 3)
    np.testing.assert_array_equal(img, batches["test_batch"][0][0].reshape(3, 32, 32).transpose(1, 2, 0))


def test_cifar10_missing_files(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True to download it"):
        datasets.CIFAR10(str(tmp_path))
    make_cifar10(str(tmp_path))
    os.remove(tmp_path / "cifar-10-batches-py" / "batches.meta")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR10(str(tmp_path), train=False)


class _Exploit:
    """A pickle payload that would create a folder when unpickled by plain pickle.load."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_cifar10_pickle_cannot_run_code(tmp_path):
    make_cifar10(str(tmp_path))
    target = str(tmp_path / "pwned")
    dump(str(tmp_path / "cifar-10-batches-py" / "test_batch"), {"data": _Exploit(target), "labels": []})
    with pytest.raises(RuntimeError, match=r"test_batch is not a valid dataset pickle: UnpicklingError: "
                                           r"forbidden global '(posix|nt|os)\.mkdir'"):
        datasets.CIFAR10(str(tmp_path), train=False)
    assert not os.path.exists(target)
    # a dotted global through the numpy module is refused too
    dump(str(tmp_path / "cifar-10-batches-py" / "test_batch"), {"data": np.load})
    with pytest.raises(RuntimeError, match="forbidden global 'numpy"):
        datasets.CIFAR10(str(tmp_path), train=False)


def test_cifar10_pickle_codecs_only_latin1(tmp_path):
    make_cifar10(str(tmp_path))
    path = str(tmp_path / "cifar-10-batches-py" / "test_batch")
    # protocol 2: GLOBAL _codecs encode, then ('x', 'rot13') REDUCE
    payload = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R."
    with open(path, "wb") as f:
        f.write(payload)
    with pytest.raises(RuntimeError, match="refusing _codecs.encode with encoding 'rot13'"):
        datasets.CIFAR10(str(tmp_path), train=False)


@pytest.mark.parametrize("entry,message", [
    (None, "expected a dict, got NoneType"),
    ({"labels": [1]}, r"'data' should be a uint8 array of shape \(N, 3072\), got NoneType"),
    ({"data": np.zeros((1, 3072), np.float32), "labels": [1]}, "got float32 array of shape"),
    ({"data": np.zeros((1, 3, 32, 32), np.uint8), "labels": [1]}, r"got uint8 array of shape \[1, 3, 32, 32\]"),
    ({"data": np.zeros((1, 3071), np.uint8), "labels": [1]}, r"shape \[1, 3071\]"),
    ({"data": np.zeros((2, 3072), np.uint8)}, "expected a list of int labels under 'labels' or 'fine_labels'"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": ["a", "b"]}, "expected a list of int labels"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [1.5, 2.0]}, "expected a list of int labels"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [1]}, "2 images but 1 labels"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [1, 10]}, "label 10 is outside the 10 classes"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [-1, 0]}, "label -1 is outside the 10 classes"),
])
def test_cifar10_invalid_batch(tmp_path, entry, message):
    make_cifar10(str(tmp_path))
    dump(str(tmp_path / "cifar-10-batches-py" / "test_batch"), entry)
    with pytest.raises(RuntimeError, match="test_batch is not a valid batch: .*" + message):
        datasets.CIFAR10(str(tmp_path), train=False)


def test_cifar10_truncated_pickle_and_bad_meta(tmp_path):
    make_cifar10(str(tmp_path))
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RuntimeError, match="test_batch is not a valid dataset pickle"):
        datasets.CIFAR10(str(tmp_path), train=False)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(RuntimeError, match="test_batch is not a valid dataset pickle"):
        datasets.CIFAR10(str(tmp_path), train=False)
    dump(str(tmp_path / "cifar-10-batches-py" / "batches.meta"), {"names": CIFAR10_CLASSES})
    with pytest.raises(RuntimeError, match="batches.meta is not a valid metadata file: expected a dict with a list "
                                           "of class names under 'label_names'"):
        datasets.CIFAR10(str(tmp_path), train=True)


def test_cifar10_download_without_network_raises_clearly(tmp_path, monkeypatch):
    def offline(request, *args, **kwargs):
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading cifar-10-python.tar.gz .*Tried "
                                           r"https://www.cs.toronto.edu/~kriz/, got:\n.*Network is unreachable"):
        datasets.CIFAR10(str(tmp_path), download=True)


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_cifar10_download_extracts_archive(tmp_path, monkeypatch):
    source = tmp_path / "source"
    make_cifar10(str(source), n=2)
    folder = source / "cifar-10-batches-py"
    archive = _tar_gz({f"cifar-10-batches-py/{p.name}": p.read_bytes() for p in folder.iterdir()})
    _serve(monkeypatch, {datasets.CIFAR10.url: archive})
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    root = tmp_path / "root"
    ds = datasets.CIFAR10(str(root), train=False, download=True)
    assert len(ds) == 2 and ds.classes == CIFAR10_CLASSES
    assert (root / "cifar-10-batches-py" / "data_batch_5").is_file()


def test_cifar10_download_refuses_unsafe_archive(tmp_path, monkeypatch):
    archive = _tar_gz({"../escaped": b"x"})
    _serve(monkeypatch, {datasets.CIFAR10.url: archive})
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    with pytest.raises(RuntimeError, match="has an unsafe entry '../escaped'"):
        datasets.CIFAR10(str(tmp_path / "root"), download=True)
    assert not (tmp_path / "escaped").exists()


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    names = [f"class{i}" for i in range(100)]
    dump(str(folder / "meta"), {"fine_label_names": names, "coarse_label_names": names[:20]})
    data = np.random.randint(0, 256, size=(4, 3072)).astype(np.uint8)
    dump(str(folder / "test"), {"data": data, "fine_labels": [0, 99, 42, 7], "coarse_labels": [0, 1, 2, 3]})
    ds = datasets.CIFAR100(str(tmp_path), train=False)
    assert ds.targets == [0, 99, 42, 7] and ds.classes == names and len(ds) == 4
    np.testing.assert_array_equal(np.asarray(ds[2][0]), data[2].reshape(3, 32, 32).transpose(1, 2, 0))
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR100(str(tmp_path), train=True)


def test_vision_dataset_transforms_argument_rules():
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform can be passed as argument"):
        datasets.VisionDataset("x", transforms=lambda a, b: (a, b), transform=lambda a: a)
    ds = datasets.VisionDataset("~/data")
    assert ds.root == os.path.expanduser("~/data")
    with pytest.raises(NotImplementedError):
        ds[0]

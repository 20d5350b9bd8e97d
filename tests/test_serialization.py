"""ember.save / ember.load against torch.save / torch.load on the same objects, both ways."""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import ember
import ember.serialization as ser

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _array(dtype, shape=(3, 4)):
    if dtype == "bool":
        return np.random.rand(*shape) > 0.5
    if dtype.startswith("float"):
        return np.random.randn(*shape).astype(dtype)
    info = np.iinfo(dtype)
    return np.random.randint(info.min, info.max, size=shape, dtype=dtype)


def _ember_bytes(obj, **kw):
    buf = io.BytesIO()
    ember.save(obj, buf, **kw)
    return buf.getvalue()


def _torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _to_torch(x):
    return torch.load(io.BytesIO(_ember_bytes(x)), weights_only=True)


def _to_ember(x, **kw):
    return ember.load(io.BytesIO(_torch_bytes(x)), **kw)


def _same(e, t):
    """An ember tensor equals a torch tensor: values, dtype, shape, strides, offset."""
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    assert tuple(e.stride()) == tuple(t.stride())
    assert e.storage_offset() == t.storage_offset()
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    assert e.requires_grad == t.requires_grad


def _zip(records, prefix="archive"):
    """A checkpoint archive built by hand from {name: bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in records.items():
            z.writestr(f"{prefix}/{name}", data)
    return buf.getvalue()


def _records(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    prefix = z.namelist()[0].split("/")[0]
    return {n[len(prefix) + 1:]: z.read(n) for n in z.namelist()}


# ---- tensors of every dtype, both directions -------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_ember_to_torch(dtype):
    a = _array(dtype)
    t = _to_torch(ember.from_numpy(a.copy()))
    assert t.dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_torch_to_ember(dtype):
    a = _array(dtype)
    e = _to_ember(torch.from_numpy(a.copy()))
    assert e.dtype == getattr(ember, dtype)
    np.testing.assert_array_equal(e.numpy(), a)


def test_data_pkl_matches_torch_byte_for_byte():
    # The same structure, with the same key objects, pickles to the same bytes as torch.save.
    a = np.random.randn(3, 4).astype("float32")
    keys = ["w", "view", "p", "n", "i", "big", "neg", "s", "t", "e", "z", "l"]

    def build(lib):
        x = lib.from_numpy(a.copy())
        vals = [x, x[:, 1], lib.nn.Parameter(lib.ones(2)), None, 3, 2 ** 40, -70000, "str", (1, 2.5, True),
                lib.empty(0, 3, dtype=lib.int64), lib.tensor(True), [x, {"k": 1.5}]]
        return collections.OrderedDict(zip(keys, vals))

    e, t = _records(_ember_bytes(build(ember))), _records(_torch_bytes(build(torch)))
    assert e["data.pkl"] == t["data.pkl"]
    assert set(e) == set(t)
    for name in t:
        if name != ".data/serialization_id":
            assert e[name] == t[name], name
    assert len(e[".data/serialization_id"]) == 40 and e[".data/serialization_id"].isdigit()


def test_records_are_64_byte_aligned():
    data = _ember_bytes({"a": ember.ones(5), "b": ember.zeros(3, dtype=ember.int8), "c": ember.ones(1)})
    z = zipfile.ZipFile(io.BytesIO(data))
    names = z.namelist()
    assert names[0] == "archive/data.pkl" and names[-1] == "archive/.data/serialization_id"
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        assert start % 64 == 0, info.filename
        assert data[start:start + info.file_size] == z.read(info)


def test_archive_name_follows_the_file_name(tmp_path):
    ember.save({"x": ember.ones(1)}, tmp_path / "model.ckpt.pt")
    assert zipfile.ZipFile(tmp_path / "model.ckpt.pt").namelist()[0] == "model.ckpt/data.pkl"
    assert torch.equal(torch.load(tmp_path / "model.ckpt.pt")["x"], torch.ones(1))


# ---- views, shapes, parameters ---------------------------------------------------------------

VIEWS = {
    "transpose": lambda x: x.t(),
    "column": lambda x: x[:, 1],
    "step": lambda x: x[1:, ::2],
    "narrow": lambda x: x.narrow(1, 1, 2),
    "expand": lambda x: x[0:1].expand(3, 4),
}


@pytest.mark.parametrize("view", VIEWS)
def test_strided_views_both_ways(view):
    a = np.random.randn(3, 4).astype("float64")
    e = VIEWS[view](ember.from_numpy(a.copy()))
    t = VIEWS[view](torch.from_numpy(a.copy()))
    _same(e, _to_torch(e))
    _same(_to_ember(t), t)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (2, 0, 4)])
def test_zero_dim_and_empty_both_ways(shape):
    a = _array("float32", shape) if shape else np.array(2.5, dtype="float32")
    e, t = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    _same(e, _to_torch(e))
    _same(_to_ember(t), t)


@pytest.mark.parametrize("requires_grad", [True, False])
def test_parameters_both_ways(requires_grad):
    a = np.random.randn(2, 3).astype("float32")
    p = _to_torch(ember.nn.Parameter(ember.from_numpy(a.copy()), requires_grad=requires_grad))
    assert isinstance(p, torch.nn.Parameter) and p.requires_grad == requires_grad
    np.testing.assert_array_equal(p.detach().numpy(), a)
    q = _to_ember(torch.nn.Parameter(torch.from_numpy(a.copy()), requires_grad=requires_grad))
    assert isinstance(q, ember.nn.Parameter) and q.requires_grad == requires_grad and q.is_leaf
    np.testing.assert_array_equal(q.detach().numpy(), a)


def test_tensor_requiring_grad_both_ways():
    x = ember.ones(2, requires_grad=True)
    y = x * 3  # a non-leaf is saved as a leaf that requires grad, as torch does
    r = _to_torch({"x": x, "y": y})
    assert r["x"].requires_grad and r["y"].requires_grad and r["y"].grad_fn is None
    assert torch.equal(r["y"].detach(), torch.full((2,), 3.0))
    e = _to_ember({"x": torch.ones(2, requires_grad=True)})
    assert e["x"].requires_grad and e["x"].is_leaf


def test_nested_containers_both_ways():
    a = np.random.randn(4).astype("float32")

    def build(lib):
        x = lib.from_numpy(a.copy())
        return {"list": [x, 1, -2, 2 ** 70, 1.5, float("inf"), "s", True, False, None],
                "tuple": (x[1:], (), ("é", 0)), "nested": collections.OrderedDict(a={"b": [x.long()]}),
                3: "int key", "set": {1, 2}, "empty": {}}

    def compare(e, t):
        if isinstance(t, torch.Tensor):
            _same(e, t)
        elif isinstance(t, dict):
            assert type(e) is type(t) and list(e) == list(t)
            for k in t:
                compare(e[k], t[k])
        elif isinstance(t, (list, tuple)):
            assert type(e) is type(t) and len(e) == len(t)
            for u, v in zip(e, t):
                compare(u, v)
        else:
            assert type(e) is type(t) and e == t

    compare(build(ember), _to_torch(build(ember)))
    compare(_to_ember(build(torch)), build(torch))


def test_size_dtype_device_objects_map_to_torch_and_back():
    obj = {"size": ember.Size([2, 3]), "dtype": ember.float64, "dtypes": [ember.int8, ember.bool],
           "device": ember.device("cpu")}
    r = _to_torch(obj)
    assert r == {"size": torch.Size([2, 3]), "dtype": torch.float64, "dtypes": [torch.int8, torch.bool],
                 "device": torch.device("cpu")}
    back = _to_ember(r)
    assert isinstance(back["size"], ember.Size) and back["size"] == (2, 3)
    assert back["dtype"] is ember.float64 and back["dtypes"] == [ember.int8, ember.bool]
    assert back["device"] == ember.device("cpu")


def test_bytes_round_trip_both_ways():
    assert _to_torch({"b": b"\x00\xffab"}) == {"b": b"\x00\xffab"}
    assert _to_ember({"b": b"\x00\xffab"}) == {"b": b"\x00\xffab"}


def test_pickle_protocol_4_matches_torch():
    # torch's weights-only unpickler cannot read protocol 4 frames, not even from torch.save.
    data = _ember_bytes({"x": ember.arange(5)}, pickle_protocol=4)
    buf = io.BytesIO()
    torch.save({"x": torch.arange(5)}, buf, pickle_protocol=4)
    assert _records(data)["data.pkl"] == _records(buf.getvalue())["data.pkl"]
    assert torch.equal(torch.load(io.BytesIO(data), weights_only=False)["x"], torch.arange(5))
    np.testing.assert_array_equal(ember.load(io.BytesIO(data))["x"].numpy(), np.arange(5))


# ---- shared storage --------------------------------------------------------------------------

def test_shared_storage_one_record_and_shared_after_ember_round_trip():
    base = ember.arange(12.0).reshape(3, 4)
    obj = {"base": base, "row": base[1], "col": base[:, 2], "other": ember.ones(2)}
    data = _ember_bytes(obj)
    assert sorted(n for n in _records(data) if n.startswith("data/")) == ["data/0", "data/1"]
    r = ember.load(io.BytesIO(data))
    r["row"][2] = 100.0  # base[1, 2] is also col[1]
    assert r["base"][1, 2].item() == 100.0 and r["col"][1].item() == 100.0
    assert r["other"].tolist() == [1.0, 1.0]


def test_shared_storage_ember_to_torch_and_torch_to_ember():
    base = ember.arange(6.0)
    r = _to_torch([base, base[2:], ember.nn.Parameter(base[:3])])
    r[1][0] = -1.0
    assert r[0][2].item() == -1.0 and r[2][2].item() == -1.0
    tb = torch.arange(6.0)
    e = _to_ember([tb.view(2, 3), tb[3:]])
    e[1][0] = -5.0
    assert e[0][1, 0].item() == -5.0


def test_same_tensor_twice_loads_as_one_object():
    x = ember.ones(3)
    r = ember.load(io.BytesIO(_ember_bytes([x, x])))
    assert r[0] is r[1]
    t = _to_torch([x, x])
    assert t[0] is t[1]


def test_views_of_one_storage_with_two_dtypes_cannot_be_saved():
    x = ember.zeros(4)
    as_int = ember._C._from_storage(x, ember.int32, (4,), (1,), 0)
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        ember.save([x, as_int], io.BytesIO())


# ---- modules and optimizers ------------------------------------------------------------------

def _modules(w, b, buf):
    class E(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = ember.nn.Parameter(ember.from_numpy(w.copy()))
            self.bias = ember.nn.Parameter(ember.from_numpy(b.copy()))
            self.register_buffer("running", ember.from_numpy(buf.copy()))

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.from_numpy(w.copy()))
            self.bias = torch.nn.Parameter(torch.from_numpy(b.copy()))
            self.register_buffer("running", torch.from_numpy(buf.copy()))

    return E(), T()


def test_module_state_dict_torch_to_ember_and_back():
    w, b, buf = (np.random.randn(*s).astype("float32") for s in [(3, 2), (2,), (4,)])
    zeros = [np.zeros_like(v) for v in (w, b, buf)]
    em, tm = _modules(*zeros)
    _, src = _modules(w, b, buf)
    sd = _to_ember(src.state_dict())  # carries torch's _metadata attribute
    assert isinstance(sd, collections.OrderedDict) and list(sd) == ["weight", "bias", "running"]
    em.load_state_dict(sd)
    np.testing.assert_array_equal(em.weight.detach().numpy(), w)
    np.testing.assert_array_equal(em.running.numpy(), buf)
    tm.load_state_dict(_to_torch(em.state_dict()))
    for k, v in src.state_dict().items():
        assert torch.equal(tm.state_dict()[k], v)


def _adam_steps(lib, params, grads, opt=None):
    opt = opt or lib.optim.Adam(params, lr=0.1, betas=(0.8, 0.9), weight_decay=0.01)
    for g in grads:
        for p, gp in zip(params, g):
            p.grad = lib.from_numpy(gp.copy())
        opt.step()
    return opt


@pytest.mark.parametrize("direction", ["torch_to_ember", "ember_to_torch"])
def test_adam_state_dict_resumes_across_libraries(direction):
    shapes = [(3, 2), (2,)]
    init = [np.random.randn(*s).astype("float32") for s in shapes]
    grads = [[np.random.randn(*s).astype("float32") for s in shapes] for _ in range(4)]
    src_lib, dst_lib = (torch, ember) if direction == "torch_to_ember" else (ember, torch)
    save_fn, load_fn = (_torch_bytes, ember.load) if src_lib is torch else (_ember_bytes, torch.load)
    # Three steps in the source library, then save params and optimizer state.
    sp = [src_lib.nn.Parameter(src_lib.from_numpy(a.copy())) for a in init]
    sopt = _adam_steps(src_lib, sp, grads[:3])
    ckpt = load_fn(io.BytesIO(save_fn({"params": sp, "optim": sopt.state_dict()})))
    assert ckpt["optim"]["param_groups"][0]["betas"] == (0.8, 0.9)
    # Resume in the other library and take the fourth step in both.
    dp = [dst_lib.nn.Parameter(p.detach().clone()) for p in ckpt["params"]]
    dopt = dst_lib.optim.Adam(dp, lr=0.1, betas=(0.8, 0.9), weight_decay=0.01)
    dopt.load_state_dict(ckpt["optim"])
    _adam_steps(src_lib, sp, grads[3:], sopt)
    _adam_steps(dst_lib, dp, grads[3:], dopt)
    for s, d in zip(sp, dp):
        np.testing.assert_allclose(d.detach().numpy(), s.detach().numpy(), rtol=1e-6, atol=1e-7)
    st = dopt.state_dict()["state"][0]
    assert float(st["step"]) == 4.0


# ---- paths, file objects, atomic saves -------------------------------------------------------

def test_path_str_pathlike_and_file_object(tmp_path):
    x = ember.arange(3)
    ember.save(x, str(tmp_path / "a.pt"))
    ember.save(x, tmp_path / "b.pt")
    with open(tmp_path / "c.pt", "wb") as fh:
        ember.save(x, fh)
    for name in ["a.pt", "b.pt", "c.pt"]:
        assert ember.load(tmp_path / name).tolist() == [0, 1, 2]
        with open(tmp_path / name, "rb") as fh:
            assert ember.load(fh).tolist() == [0, 1, 2]
        assert torch.load(str(tmp_path / name)).tolist() == [0, 1, 2]


def test_failed_save_keeps_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save({"x": ember.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        ember.save({"x": ember.zeros(2), "f": lambda: 0}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_save_overwrites_atomically_with_readable_permissions(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save(ember.ones(1), path)
    ember.save(ember.zeros(1), path)
    assert ember.load(path).tolist() == [0.0]
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_save_errors(tmp_path):
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        ember.save(ember.ones(1), tmp_path / "missing" / "a.pt")
    with pytest.raises(TypeError, match="path or a writable binary file"):
        ember.save(ember.ones(1), 3)
    with pytest.raises(ValueError, match="pickle_protocol must be between 2"):
        ember.save(ember.ones(1), io.BytesIO(), pickle_protocol=1)


def test_zip64_records_load_in_torch_and_ember(monkeypatch):
    # Pretend every size and offset is beyond 4 GiB so the zip64 fields are written and read.
    monkeypatch.setattr(ser, "_ZIP64_LIMIT", 0)
    data = _ember_bytes({"x": ember.arange(10), "y": ember.ones(2, 2)})
    assert torch.equal(torch.load(io.BytesIO(data), weights_only=True)["x"], torch.arange(10))
    r = ember.load(io.BytesIO(data))
    assert r["x"].tolist() == list(range(10)) and r["y"].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_big_endian_checkpoint():
    obj = {"x": torch.tensor([1, 258], dtype=torch.int32), "b": torch.tensor([7], dtype=torch.uint8)}
    recs = _records(_torch_bytes(obj))
    recs["byteorder"] = b"big"
    key = "data/0"
    recs[key] = np.frombuffer(recs[key], "<i4").astype(">i4").tobytes()
    r = ember.load(io.BytesIO(_zip(recs)))
    assert r["x"].tolist() == [1, 258] and r["b"].tolist() == [7]


# ---- map_location ----------------------------------------------------------------------------

def _cuda_checkpoint():
    recs = _records(_ember_bytes({"x": ember.ones(2)}))
    recs["data.pkl"] = recs["data.pkl"].replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    return _zip(recs)


@pytest.mark.parametrize("map_location", ["cpu", ember.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, loc: storage])
def test_map_location_moves_storages_to_cpu(map_location):
    r = ember.load(io.BytesIO(_cuda_checkpoint()), map_location=map_location)
    assert r["x"].tolist() == [1.0, 1.0]


def test_map_location_errors():
    with pytest.raises(RuntimeError, match="storage on device 'cuda:0'.*map_location='cpu'"):
        ember.load(io.BytesIO(_cuda_checkpoint()))
    with pytest.raises(RuntimeError, match="storage on device 'cuda'"):
        ember.load(io.BytesIO(_ember_bytes(ember.ones(1))), map_location={"cpu": "cuda"})
    with pytest.raises(TypeError, match="map_location must be"):
        ember.load(io.BytesIO(_ember_bytes(ember.ones(1))), map_location=3)


# ---- restricted unpickling -------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _pickled_checkpoint(obj):
    return _zip({"data.pkl": pickle.dumps(obj, protocol=2), "byteorder": b"little", "version": b"3\n"})


def test_unknown_global_is_refused_and_never_run():
    data = _pickled_checkpoint({"x": _Evil()})
    with pytest.raises(pickle.UnpicklingError, match=r"unsupported global '(posix|os|nt)\.system'"):
        ember.load(io.BytesIO(data))


def test_weights_only_false_loads_plain_python_objects_but_never_torch():
    import fractions
    data = _pickled_checkpoint({"f": fractions.Fraction(1, 3)})
    with pytest.raises(pickle.UnpicklingError, match="unsupported global 'fractions.Fraction'"):
        ember.load(io.BytesIO(data))
    assert ember.load(io.BytesIO(data), weights_only=False) == {"f": fractions.Fraction(1, 3)}
    torch_module = _torch_bytes(torch.nn.Identity())
    with pytest.raises(pickle.UnpicklingError, match="'torch.nn.modules.linear.Identity', a torch object"):
        ember.load(io.BytesIO(torch_module), weights_only=False)


def test_codecs_encode_only_as_pickle_uses_it():
    payload = (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00base64\x86R.")
    with pytest.raises(pickle.UnpicklingError, match="_codecs.encode is only allowed"):
        ember.load(io.BytesIO(_zip({"data.pkl": payload})))


def test_rebuild_with_a_non_storage_is_refused():
    args = pickle.dumps((0, 0, (1,), (1,), False, {}), protocol=2)[2:-1]
    payload = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R."
    with pytest.raises(pickle.UnpicklingError, match="expects a storage"):
        ember.load(io.BytesIO(_zip({"data.pkl": payload})))


def test_malformed_persistent_id_is_refused():
    payload = b"\x80\x02X\x03\x00\x00\x00abcQ."
    with pytest.raises(pickle.UnpicklingError, match="unsupported persistent id"):
        ember.load(io.BytesIO(_zip({"data.pkl": payload})))


# ---- corrupted and truncated files -----------------------------------------------------------

def _good():
    return _ember_bytes({"x": ember.arange(5.0)})


def test_truncated_file():
    data = _good()
    for cut in [len(data) - 10, len(data) // 2, 3]:
        with pytest.raises(RuntimeError, match="truncated or corrupted"):
            ember.load(io.BytesIO(data[:cut]))


def test_not_a_zip_file():
    with pytest.raises(RuntimeError, match="not a valid checkpoint"):
        ember.load(io.BytesIO(b"hello world, not a checkpoint"))
    with pytest.raises(RuntimeError, match="not a valid checkpoint"):
        ember.load(io.BytesIO(b""))


def test_legacy_format_is_refused_clearly():
    buf = io.BytesIO()
    torch.save(torch.ones(2), buf, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy .*non-zip"):
        ember.load(io.BytesIO(buf.getvalue()))


def test_torchscript_archive_is_refused_clearly():
    with pytest.raises(RuntimeError, match="TorchScript"):
        ember.load(io.BytesIO(_zip({"constants.pkl": b"", "code/x.py": b""})))


def test_missing_data_pkl():
    recs = _records(_good())
    del recs["data.pkl"]
    with pytest.raises(RuntimeError, match="no data.pkl record"):
        ember.load(io.BytesIO(_zip(recs)))


def test_missing_record():
    recs = _records(_good())
    del recs["data/0"]
    with pytest.raises(RuntimeError, match="no record 'archive/data/0'"):
        ember.load(io.BytesIO(_zip(recs)))


def test_record_too_short():
    recs = _records(_good())
    recs["data/0"] = recs["data/0"][:-4]
    with pytest.raises(RuntimeError, match="holds 16 bytes .* 5 elements of FloatStorage"):
        ember.load(io.BytesIO(_zip(recs)))


def test_corrupted_record_fails_its_checksum():
    data = bytearray(_good())
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("archive/data/0")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + 2] ^= 0xFF
    with pytest.raises(RuntimeError, match="CRC"):
        ember.load(io.BytesIO(bytes(data)))


def test_corrupted_data_pkl():
    recs = _records(_good())
    recs["data.pkl"] = recs["data.pkl"][:40]
    with pytest.raises(RuntimeError, match="data.pkl is corrupted"):
        ember.load(io.BytesIO(_zip(recs)))


def test_tensor_geometry_outside_its_storage():
    recs = _records(_good())
    assert recs["data.pkl"].count(b"K\x05\x85") == 1  # the size tuple (5,)
    recs["data.pkl"] = recs["data.pkl"].replace(b"K\x05\x85", b"K\x09\x85")
    with pytest.raises(RuntimeError, match=r"sizes \[9\].*needs more than the storage's 5 elements"):
        ember.load(io.BytesIO(_zip(recs)))


def test_bool_record_with_invalid_bytes():
    recs = _records(_ember_bytes(ember.tensor([True, False])))
    recs["data/0"] = b"\x01\x07"
    with pytest.raises(RuntimeError, match="bytes other than 0 and 1"):
        ember.load(io.BytesIO(_zip(recs)))


def test_load_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="readable, seekable binary file"):
        ember.load(3)
    with pytest.raises(NotImplementedError, match="mmap=True"):
        ember.load(io.BytesIO(_good()), mmap=True)


def test_parameter_attributes_from_torch():
    p = torch.nn.Parameter(torch.ones(2))
    p.tag = "encoder"
    q = _to_ember(p)
    assert isinstance(q, ember.nn.Parameter) and q.tag == "encoder" and q.tolist() == [1.0, 1.0]


def _with_payload(args_pickle, rebuild=b"_rebuild_tensor_v2"):
    """A checkpoint whose data.pkl calls torch._utils.<rebuild>(*args) on the real storage 0."""
    recs = _records(_good())
    recs["data.pkl"] = b"\x80\x02ctorch._utils\n" + rebuild + b"\n" + args_pickle + b"R."
    return io.BytesIO(_zip(recs))


def _args(*args):
    return pickle.dumps(args, protocol=2)[2:-1]


STORAGE_PID = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x05tQ"


def test_malformed_rebuild_arguments():
    def call(offset, size, stride):
        rest = pickle.dumps((offset, size, stride, False, {}), protocol=2)[2:-1]
        # (pid, *rest): open a MARK, push the storage, then the other arguments, close the tuple.
        assert rest[:1] == b"("
        return _with_payload(b"(" + STORAGE_PID + rest[1:])

    assert ember.load(call(1, (2,), (2,))).tolist() == [1.0, 3.0]
    with pytest.raises(RuntimeError, match="storage offset '1' is not an int"):
        ember.load(call("1", (2,), (1,)))
    with pytest.raises(RuntimeError, match="size .* is not a tuple of ints"):
        ember.load(call(0, (2.0,), (1,)))
    with pytest.raises(RuntimeError, match="stride .* is not a tuple of ints of length 1"):
        ember.load(call(0, (2,), (1, 1)))
    with pytest.raises(RuntimeError, match="needs more than the storage's 5 elements"):
        ember.load(call(4, (2,), (1,)))


def test_malformed_parameter_rebuild():
    with pytest.raises(pickle.UnpicklingError, match="_rebuild_parameter expects a tensor, got int"):
        ember.load(_with_payload(_args(1, True, {}), b"_rebuild_parameter"))
    with pytest.raises(pickle.UnpicklingError, match="parameter's state must be a dict of attribute names"):
        tensor = b"ctorch._utils\n_rebuild_tensor_v2\n(" + STORAGE_PID + _args(0, (5,), (1,), False, {})[1:] + b"R"
        rest = b"".join(pickle.dumps(v, protocol=2)[2:-1] for v in (True, {}, {"__class__": 1}))
        ember.load(_with_payload(b"(" + tensor + rest + b"t", b"_rebuild_parameter_with_state"))


def test_malformed_storage_ids():
    not_a_type = STORAGE_PID.replace(b"ctorch\nFloatStorage\n", b"K\x01")
    negative_numel = STORAGE_PID.replace(b"K\x05t", b"J\xff\xff\xff\xfft")
    for pid in [not_a_type + b".", negative_numel + b"."]:
        recs = _records(_good())
        recs["data.pkl"] = b"\x80\x02" + pid
        with pytest.raises(pickle.UnpicklingError, match="malformed storage id"):
            ember.load(io.BytesIO(_zip(recs)))


def test_storage_reused_with_more_elements_than_its_record():
    recs = _records(_good())
    small = STORAGE_PID
    large = STORAGE_PID.replace(b"K\x05t", b"K\x09t")
    recs["data.pkl"] = b"\x80\x02(" + small + large + b"l."
    with pytest.raises(RuntimeError, match="used with 9 elements of FloatStorage, more than its record's 20 bytes"):
        ember.load(io.BytesIO(_zip(recs)))


def test_unknown_byteorder_and_duplicate_archives():
    recs = _records(_good())
    recs["byteorder"] = b"middle"
    with pytest.raises(RuntimeError, match="unknown byteorder record 'middle'"):
        ember.load(io.BytesIO(_zip(recs)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/data.pkl", b"\x80\x02N.")
        z.writestr("b/data.pkl", b"\x80\x02N.")
    with pytest.raises(RuntimeError, match="several data.pkl records"):
        ember.load(io.BytesIO(buf.getvalue()))


def test_loading_never_imports_torch(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "t.pt"
    model = torch.nn.Linear(2, 2)
    torch.save({"model": model.state_dict(), "optim": torch.optim.SGD(model.parameters(), lr=0.1).state_dict()}, path)
    code = ("import sys, ember; r = ember.load(sys.argv[1]); assert r['model']['weight'].shape == (2, 2); "
            "ember.save(r, sys.argv[1] + '.2'); ember.load(sys.argv[1] + '.2', weights_only=False); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(ember.__path__[0]), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=env)

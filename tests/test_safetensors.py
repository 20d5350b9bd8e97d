"""ember.io safetensors files against the safetensors package, and header validation."""
import json
import os
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from safetensors import safe_open

import ember
from ember.io import load_safetensors, load_safetensors_bytes, save_safetensors, save_safetensors_bytes

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _array(dtype, shape=(2, 3)):
    if dtype == "bool":
        return np.random.rand(*shape) > 0.5
    if dtype.startswith("float"):
        return np.random.randn(*shape).astype(dtype)
    info = np.iinfo(dtype)
    return np.random.randint(info.min, info.max, size=shape, dtype=dtype)


def _arrays():
    d = {f"t_{dt}": _array(dt) for dt in DTYPES}
    d.update({"scalar": np.array(1.5, dtype="float32"), "empty": np.zeros((0, 3), "float64"),
              "a.weight": _array("float32", (4,)), "long name é": _array("int64", (1, 1, 2))})
    return d


def _ember(arrays):
    return {k: ember.from_numpy(v.copy()) for k, v in arrays.items()}


def test_ember_file_loads_in_safetensors_numpy_and_torch(tmp_path):
    arrays = _arrays()
    save_safetensors(_ember(arrays), tmp_path / "m.safetensors")
    back = safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))
    assert set(back) == set(arrays)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
    tb = safetensors.torch.load_file(str(tmp_path / "m.safetensors"))
    for k, v in arrays.items():
        assert torch.equal(tb[k], torch.from_numpy(v))


def test_safetensors_file_loads_in_ember(tmp_path):
    arrays = _arrays()
    safetensors.numpy.save_file(arrays, str(tmp_path / "m.safetensors"))
    back = load_safetensors(tmp_path / "m.safetensors")
    assert set(back) == set(arrays)
    for k, v in arrays.items():
        assert str(back[k].dtype) == f"ember.{v.dtype.name}" and tuple(back[k].shape) == v.shape
        np.testing.assert_array_equal(back[k].numpy(), v)


def test_torch_written_file_loads_in_ember(tmp_path):
    tensors = {"w": torch.randn(3, 2), "b": torch.arange(4, dtype=torch.int16)}
    safetensors.torch.save_file(tensors, str(tmp_path / "t.safetensors"))
    back = load_safetensors(str(tmp_path / "t.safetensors"))
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())


@pytest.mark.parametrize("metadata", [None, {"format": "pt"}, {"k\"\\\n\t\x01/é": "v\x1f\x7f\u2028"}])
def test_file_is_byte_identical_to_safetensors(tmp_path, metadata):
    arrays = _arrays()
    save_safetensors(_ember(arrays), tmp_path / "e.safetensors", metadata=metadata)
    safetensors.numpy.save_file(arrays, str(tmp_path / "s.safetensors"), metadata=metadata)
    assert (tmp_path / "e.safetensors").read_bytes() == (tmp_path / "s.safetensors").read_bytes()
    assert save_safetensors_bytes(_ember(arrays), metadata) == safetensors.numpy.save(arrays, metadata=metadata)


def test_metadata_round_trip(tmp_path):
    meta = {"b": "2", "a": "1", "unicode": "\u00e9\U0001F600"}
    save_safetensors({"x": ember.ones(2)}, tmp_path / "m.safetensors", metadata=meta)
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as f:
        assert f.metadata() == meta
    tensors, got = load_safetensors(tmp_path / "m.safetensors", return_metadata=True)
    assert got == meta and tensors["x"].tolist() == [1.0, 1.0]
    tensors, got = load_safetensors_bytes(safetensors.numpy.save({"y": np.ones(1, "i1")}, metadata=meta),
                                          return_metadata=True)
    assert got == meta and tensors["y"].tolist() == [1]


def test_non_contiguous_inputs_are_written_contiguously():
    a = np.random.randn(3, 4).astype("float32")
    x = ember.from_numpy(a.copy())
    data = save_safetensors_bytes({"t": x.t(), "col": x[:, 1], "g": ember.ones(2, requires_grad=True) * 2})
    back = safetensors.numpy.load(data)
    np.testing.assert_array_equal(back["t"], a.T)
    np.testing.assert_array_equal(back["col"], a[:, 1])
    np.testing.assert_array_equal(back["g"], [2.0, 2.0])


def test_loaded_tensors_own_their_memory():
    data = bytearray(safetensors.numpy.save({"x": np.arange(3, dtype="i4")}))
    x = load_safetensors_bytes(bytes(data))["x"]
    x[0] = 7
    assert x.tolist() == [7, 1, 2]


def test_escaped_names_from_other_writers_parse():
    # Python's json escapes non-ASCII as \\u sequences (a surrogate pair for the emoji).
    header = json.dumps({"\u00e9\U0001F600\n": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                         "__metadata__": {"k": "\u2028"}, "extra": {"dtype": "I8", "shape": [], "data_offsets": [2, 3],
                                                                     "unknown_field": [1, {"a": None}, True, -1.5e3]}})
    body = header.encode()
    data = struct.pack("<Q", len(body)) + body + b"\x01\x02\x03"
    tensors, meta = load_safetensors_bytes(data, return_metadata=True)
    assert tensors["\u00e9\U0001F600\n"].tolist() == [1, 2] and tensors["extra"].item() == 3
    assert meta == {"k": "\u2028"}


def test_atomic_save_leaves_only_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors({"x": ember.ones(1)}, path)
    save_safetensors({"x": ember.zeros(1)}, path)
    assert os.listdir(tmp_path) == ["m.safetensors"]
    assert load_safetensors(path)["x"].tolist() == [0.0]


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors({"x": ember.ones(1)}, path)
    with pytest.raises(ValueError, match="reserved"):
        save_safetensors({"__metadata__": ember.ones(1)}, path)
    assert load_safetensors(path)["x"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["m.safetensors"]


# ---- errors ----------------------------------------------------------------------------------

def _file(header, data=b"", raw_header=False):
    body = header if raw_header else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(body)) + body + data


def _f32(name="x", shape=(2,), offsets=(0, 8)):
    return {name: {"dtype": "F32", "shape": list(shape), "data_offsets": list(offsets)}}


BAD_FILES = {
    "short": (b"\x01\x00", "too short to hold the 8-byte header length"),
    "huge_header": (struct.pack("<Q", 2 ** 40) + b"{}", "larger than the limit"),
    "header_past_end": (struct.pack("<Q", 100) + b"{}", "runs past the end"),
    "not_object": (_file(b"[1, 2]", raw_header=True), "must start with '{'"),
    "trailing_garbage": (_file(b"{} x", raw_header=True), "unexpected characters after"),
    "unterminated": (_file(b'{"x": {"dtype": "F32', raw_header=True), "unterminated string"),
    "bad_escape": (_file(b'{"\\q": 1}', raw_header=True), "invalid escape"),
    "lone_surrogate": (_file(b'{"\\ud800": 1}', raw_header=True), "unpaired surrogate"),
    "missing_colon": (_file(b'{"a" 1}', raw_header=True), "expected ':'"),
    "duplicate_key": (_file(b'{"x": {}, "x": {}}', raw_header=True), "duplicate key 'x'"),
    "too_deep": (_file(b"{\"a\":" + b"[" * 100 + b"]" * 100 + b"}", raw_header=True), "nesting is too deep"),
    "unknown_dtype": (_file({"x": {"dtype": "X9", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
                      "unknown dtype 'X9'"),
    "unsupported_dtype": (_file({"x": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}, b"\0\0"),
                          "dtype F16, which ember does not support"),
    "missing_field": (_file({"x": {"dtype": "F32", "shape": [2]}}, b"\0" * 8), "has no 'data_offsets'"),
    "shape_not_array": (_file({"x": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, b"\0" * 8),
                        "shape must be an array"),
    "negative_shape": (_file({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8),
                       "must be a non-negative integer, got -2"),
    "float_offset": (_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8.0]}}, b"\0" * 8),
                     "must be a non-negative integer, got 8.0"),
    "offsets_out_of_range": (_file(_f32(offsets=(0, 8)), b"\0" * 4), r"out of range: the file holds 4 bytes"),
    "begin_after_end": (_file(_f32(offsets=(8, 0)), b"\0" * 8), "with begin after end"),
    "size_mismatch": (_file(_f32(shape=(3,), offsets=(0, 8)), b"\0" * 8), "needs 12 bytes but .* span 8"),
    "overlap": (_file({**_f32("a", (2,), (0, 8)), **_f32("b", (2,), (4, 12))}, b"\0" * 12), "overlaps"),
    "gap": (_file(_f32(offsets=(4, 12)), b"\0" * 12), "leaves a gap"),
    "uncovered_tail": (_file(_f32(), b"\0" * 12), "cover 8 bytes but the file holds 12"),
    "metadata_not_str": (_file({"__metadata__": {"a": 1}}), "value of 'a' must be a string"),
    "tensor_not_object": (_file({"x": [1]}), "must be described by an object"),
    "huge_shape": (_file({"x": {"dtype": "F64", "shape": [2 ** 62, 2 ** 62], "data_offsets": [0, 0]}}), "too large"),
    "bool_byte": (_file({"x": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x05"),
                  "holds the byte 5"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_raise(case, tmp_path):
    data, message = BAD_FILES[case]
    with pytest.raises(RuntimeError, match=message):
        load_safetensors_bytes(data)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(RuntimeError, match=message):
        load_safetensors(path)


def test_save_and_load_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="keys must be strings"):
        save_safetensors_bytes({1: ember.ones(1)})
    with pytest.raises(TypeError, match="value of 'x' must be a Tensor, got ndarray"):
        save_safetensors_bytes({"x": np.ones(1)})
    with pytest.raises(TypeError, match="metadata must be a dict of str to str"):
        save_safetensors_bytes({"x": ember.ones(1)}, {"a": 1})
    with pytest.raises(TypeError, match="expected a dict"):
        save_safetensors_bytes([ember.ones(1)])
    with pytest.raises(RuntimeError, match="cannot open"):
        load_safetensors(tmp_path / "missing.safetensors")
    with pytest.raises(RuntimeError, match="cannot create"):
        save_safetensors({"x": ember.ones(1)}, tmp_path / "no_dir" / "m.safetensors")

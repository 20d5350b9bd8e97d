"""ember.vision.transforms against numpy, Pillow and torch computations of what torchvision does."""
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F


def _uint8(*shape):
    return np.random.randint(0, 256, size=shape).astype(np.uint8)


def _replay_randint(seed, highs):
    """The values ember.randint(0, high, (1,)) gives, in order, after manual_seed(seed)."""
    ember.manual_seed(seed)
    return [ember.randint(0, high, size=(1,)).item() for high in highs]


# ---------------------------------------------------------------------------------------------
# ToTensor / PILToTensor / ToPILImage

def test_to_tensor_uint8_hwc_matches_torch_scaling():
    a = _uint8(5, 7, 3)
    out = T.ToTensor()(a)
    expected = torch.from_numpy(a).permute(2, 0, 1).float().div(255).numpy()
    assert out.dtype == ember.float32 and tuple(out.shape) == (3, 5, 7)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.is_contiguous()


def test_to_tensor_grayscale_and_noncontiguous_arrays():
    a = _uint8(6, 8)
    out = T.ToTensor()(a)
    assert tuple(out.shape) == (1, 6, 8)
    np.testing.assert_array_equal(out.numpy()[0], a.astype(np.float32) / np.float32(255))
    b = _uint8(6, 10, 3)[:, ::2]  # strided view
    np.testing.assert_array_equal(T.ToTensor()(b).numpy(), b.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_to_tensor_non_uint8_arrays_keep_values_and_dtype(dtype):
    a = (np.random.rand(4, 5, 2) * 300).astype(dtype)
    out = T.ToTensor()(a)
    assert out.numpy().dtype == dtype
    np.testing.assert_array_equal(out.numpy(), a.transpose(2, 0, 1))


def test_to_tensor_uses_default_dtype():
    a = _uint8(3, 4, 3)
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        out = T.ToTensor()(a)
    finally:
        ember.set_default_dtype(old)
    assert out.dtype == ember.float64
    np.testing.assert_array_equal(out.numpy(), a.transpose(2, 0, 1) / 255.0)


@pytest.mark.parametrize("mode,channels", [("L", 1), ("RGB", 3), ("RGBA", 4)])
def test_to_tensor_pil_uint8_modes(mode, channels):
    a = _uint8(6, 9, channels)
    img = Image.fromarray(a[:, :, 0] if channels == 1 else a)
    assert img.mode == mode
    out = T.ToTensor()(img)
    assert tuple(out.shape) == (channels, 6, 9) and out.dtype == ember.float32
    np.testing.assert_array_equal(out.numpy(), a.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


def test_to_tensor_pil_float_int_and_bilevel_modes():
    f = np.random.rand(4, 5).astype(np.float32)
    out = T.ToTensor()(Image.fromarray(f))  # mode 'F': values kept
    assert out.dtype == ember.float32
    np.testing.assert_array_equal(out.numpy()[0], f)
    i = np.random.randint(-1000, 1000, size=(4, 5)).astype(np.int32)
    out = T.ToTensor()(Image.fromarray(i))  # mode 'I': int32 kept
    assert out.dtype == ember.int32
    np.testing.assert_array_equal(out.numpy()[0], i)
    bits = np.random.rand(4, 5) > 0.5
    out = T.ToTensor()(Image.fromarray(bits))  # mode '1': 0/1 -> 0.0/1.0
    np.testing.assert_array_equal(out.numpy()[0], bits.astype(np.float32))


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()(ember.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_pil_to_tensor_keeps_bytes():
    a = _uint8(5, 6, 3)
    out = T.PILToTensor()(Image.fromarray(a))
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 5, 6)
    np.testing.assert_array_equal(out.numpy(), a.transpose(2, 0, 1))
    g = _uint8(5, 6)
    np.testing.assert_array_equal(T.PILToTensor()(Image.fromarray(g)).numpy(), g[None])
    with pytest.raises(TypeError, match="pic should be PIL Image. Got"):
        T.PILToTensor()(a)


def test_to_pil_image_round_trip():
    a = _uint8(5, 6, 3)
    img = T.ToPILImage()(T.ToTensor()(a))
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), a)
    g = T.ToPILImage()(ember.from_numpy(_uint8(1, 4, 4)))
    assert g.mode == "L"
    assert repr(T.ToPILImage()) == "ToPILImage()" and repr(T.ToPILImage("RGB")) == "ToPILImage(mode=RGB)"
    with pytest.raises(TypeError, match="pic should be Tensor or ndarray"):
        T.ToPILImage()([1, 2])
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToPILImage()(ember.zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match="Input type float64 with 3 channels is not supported"):
        T.ToPILImage()(np.zeros((2, 2, 3)))  # arrays are not rescaled
    with pytest.raises(TypeError, match="Input type int64 with 1 channels is not supported"):
        T.ToPILImage()(ember.zeros(1, 2, 2, dtype=ember.int64))
    with pytest.raises(ValueError, match=r"Incorrect mode \(RGB\) supplied for input type uint8. Should be L"):
        T.ToPILImage("RGB")(ember.zeros(1, 2, 2, dtype=ember.uint8))
    with pytest.raises(ValueError, match=r"Only modes \['RGB', 'YCbCr', 'HSV'\] are supported for 3D inputs"):
        T.ToPILImage("RGBA")(np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize("array,mode", [
    (np.random.randint(0, 256, (3, 4, 2)).astype(np.uint8), "LA"),
    (np.random.randint(0, 256, (3, 4, 4)).astype(np.uint8), "RGBA"),
    (np.random.randint(-1000, 1000, (3, 4)).astype(np.int32), "I"),
    (np.random.randint(0, 30000, (3, 4)).astype(np.int16), "I;16"),
    (np.random.rand(3, 4).astype(np.float32), "F"),
])
def test_to_pil_image_modes(array, mode):
    img = T.ToPILImage()(array)
    assert img.mode == mode and img.size == (4, 3)
    np.testing.assert_array_equal(np.asarray(img).astype(array.dtype).reshape(array.shape), array)


def test_to_pil_image_float_tensor_truncates():
    x = ember.tensor([[[0.0, 0.5, 1.0, 0.999]]])
    np.testing.assert_array_equal(np.asarray(T.ToPILImage()(x)), [[0, 127, 255, 254]])
    f = T.ToPILImage(mode="F")(x)
    assert f.mode == "F"
    np.testing.assert_array_equal(np.asarray(f), x.numpy()[0])


# ---------------------------------------------------------------------------------------------
# Normalize

def _torch_normalize(x, mean, std):
    """torchvision's F_t.normalize, written with torch ops."""
    t = torch.from_numpy(x).clone()
    m = torch.as_tensor(mean, dtype=t.dtype)
    s = torch.as_tensor(std, dtype=t.dtype)
    if m.ndim == 1:
        m = m.view(-1, 1, 1)
    if s.ndim == 1:
        s = s.view(-1, 1, 1)
    return t.sub_(m).div_(s).numpy()


@pytest.mark.parametrize("shape,mean,std", [
    ((3, 4, 5), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ((1, 6, 6), (0.1307,), (0.3081,)),
    ((2, 3, 4, 4), [0.5, 0.25, 0.125], [0.5, 2.0, 4.0]),  # batched
    ((3, 4, 4), (0.5,), (0.25,)),  # one value for every channel
    ((3, 2, 2), 0.5, 2.0),  # scalars
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_torch(shape, mean, std, dtype):
    x = np.random.rand(*shape).astype(dtype)
    out = T.Normalize(mean, std)(ember.from_numpy(x.copy()))
    np.testing.assert_allclose(out.numpy(), _torch_normalize(x, mean, std), rtol=1e-6, atol=1e-7)
    assert out.numpy().dtype == dtype


def test_normalize_inplace_flag():
    x = np.random.rand(3, 4, 4).astype(np.float32)
    t = ember.from_numpy(x.copy())
    out = T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(t)
    np.testing.assert_array_equal(t.numpy(), x)  # input untouched
    out2 = T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), inplace=True)(t)
    np.testing.assert_array_equal(t.numpy(), out.numpy())  # input overwritten
    assert out2.data_ptr() == t.data_ptr()


def test_normalize_errors():
    x = ember.rand(3, 4, 4)
    with pytest.raises(RuntimeError, match="mean has 2 values but the image has 3 channels"):
        T.Normalize((0.5, 0.5), (0.5, 0.5, 0.5))(x)
    with pytest.raises(RuntimeError, match="std has 4 values but the image has 3 channels"):
        T.Normalize((0.5, 0.5, 0.5), (1, 1, 1, 1))(x)
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to ember.float32"):
        T.Normalize((0.5, 0.5, 0.5), (1.0, 0.0, 1.0))(x)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got ember.uint8"):
        T.Normalize((0.5,), (0.5,))(ember.zeros(1, 2, 2, dtype=ember.uint8))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        T.Normalize((0.5,), (0.5,))(ember.rand(4, 4))
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        T.Normalize((0.5,), (0.5,))(ember.rand(4))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))


def test_normalize_is_a_module_with_torchvision_repr():
    n = T.Normalize(mean=(0.1307,), std=(0.3081,))
    assert isinstance(n, ember.nn.Module)
    assert repr(n) == "Normalize(mean=(0.1307,), std=(0.3081,))"
    assert repr(T.Normalize([0.5, 0.5], [1, 2])) == "Normalize(mean=[0.5, 0.5], std=[1, 2])"


# ---------------------------------------------------------------------------------------------
# Resize

RESIZE_CASES = [((17, 23), (5, 9)), ((8, 8), (16, 13)), ((31, 7), (10, 20)), ((5, 5), (4, 4)),
                ((12, 30), (12, 7)), ((9, 4), (3, 4))]


@pytest.mark.parametrize("in_hw,out_hw", RESIZE_CASES)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_float_tensor_matches_torch_interpolate(in_hw, out_hw, mode, antialias):
    x = np.random.rand(2, 3, *in_hw).astype(np.float32)
    out = T.Resize(out_hw, interpolation=InterpolationMode(mode), antialias=antialias)(ember.from_numpy(x))
    expected = TF.interpolate(torch.from_numpy(x), size=out_hw, mode=mode, align_corners=False,
                              antialias=antialias).numpy()
    assert tuple(out.shape) == (2, 3) + out_hw and out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), expected, atol=3e-6, rtol=0)


@pytest.mark.parametrize("in_hw,out_hw", RESIZE_CASES)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_resize_nearest_matches_torch_exactly(in_hw, out_hw, mode):
    x = _uint8(3, *in_hw)
    out = F.resize(ember.from_numpy(x), list(out_hw), InterpolationMode(mode))
    expected = TF.interpolate(torch.from_numpy(x)[None].float(), size=out_hw, mode=mode)[0].to(torch.uint8)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_resize_2d_and_noncontiguous_tensors():
    x = np.random.rand(10, 12, 3).astype(np.float32)
    t = ember.from_numpy(x).permute(2, 0, 1)  # (3, 10, 12) view with strides of an HWC array
    assert not t.is_contiguous()
    expected = TF.interpolate(torch.from_numpy(x).permute(2, 0, 1)[None], size=(4, 7), mode="bilinear",
                              antialias=True)[0].numpy()
    np.testing.assert_allclose(T.Resize((4, 7))(t).numpy(), expected, atol=3e-6, rtol=0)
    out = T.Resize((4, 7))(ember.from_numpy(x[:, :, 0].copy()))  # (H, W)
    np.testing.assert_allclose(out.numpy(), expected[0], atol=3e-6, rtol=0)


def test_resize_float64_tensor():
    x = np.random.rand(1, 9, 14)
    out = T.Resize((4, 5))(ember.from_numpy(x))
    expected = TF.interpolate(torch.from_numpy(x)[None], size=(4, 5), mode="bilinear", align_corners=False,
                              antialias=True)[0].numpy()
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resize_uint8_tensor_follows_torchvision_float_round_trip(mode):
    x = _uint8(3, 23, 17)
    out = T.Resize((9, 30), interpolation=InterpolationMode(mode))(ember.from_numpy(x))
    # torchvision: interpolate in float32, round, clamp (bicubic), back to uint8
    y = TF.interpolate(torch.from_numpy(x)[None].float(), size=(9, 30), mode=mode, align_corners=False,
                       antialias=True)[0]
    expected = y.round().clamp(0, 255).to(torch.uint8).numpy().astype(int)
    assert out.dtype == ember.uint8
    diff = np.abs(out.numpy().astype(int) - expected)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # only float32 rounding ties may differ


def test_resize_tensor_close_to_pillow():
    a = _uint8(20, 27, 3)
    size = (11, 8)
    pil = np.asarray(Image.fromarray(a).resize(size[::-1], Image.Resampling.BILINEAR)).astype(int)
    out = F.resize(ember.from_numpy(a.transpose(2, 0, 1).copy()), list(size)).numpy().transpose(1, 2, 0)
    # Pillow rounds to bytes between its two passes: within one grey level of the exact result
    assert np.abs(out.astype(int) - pil).max() <= 1


@pytest.mark.parametrize("mode,pil_filter", [(InterpolationMode.BILINEAR, Image.Resampling.BILINEAR),
                                             (InterpolationMode.NEAREST, Image.Resampling.NEAREST),
                                             (InterpolationMode.BICUBIC, Image.Resampling.BICUBIC),
                                             (InterpolationMode.LANCZOS, Image.Resampling.LANCZOS),
                                             (InterpolationMode.BOX, Image.Resampling.BOX)])
def test_resize_pil_uses_pillow(mode, pil_filter):
    img = Image.fromarray(_uint8(20, 30, 3))
    out = T.Resize(10, interpolation=mode)(img)
    assert out.size == (15, 10)  # (width, height): shorter side 10, aspect kept
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize((15, 10), pil_filter)))


@pytest.mark.parametrize("hw,size,max_size,expected", [
    ((20, 30), 10, None, (10, 15)),
    ((30, 20), 10, None, (15, 10)),
    ((7, 10), 4, None, (4, 5)),  # the longer side is truncated: int(4 * 10 / 7) = 5
    ((20, 30), [10], None, (10, 15)),
    ((20, 30), (6, 7), None, (6, 7)),
    ((20, 60), 10, 25, (8, 25)),  # longer side capped by max_size, shorter scaled down
    ((20, 60), 10, 40, (10, 30)),
])
def test_resize_output_size(hw, size, max_size, expected):
    x = ember.rand(1, *hw)
    assert tuple(T.Resize(size, max_size=max_size)(x).shape) == (1,) + expected
    img = Image.fromarray(_uint8(*hw))
    assert T.Resize(size, max_size=max_size)(img).size == expected[::-1]


def test_resize_pil_warns_that_antialias_is_always_on():
    img = Image.fromarray(_uint8(8, 8))
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL Image input"):
        out = T.Resize(4, antialias=False)(img)
    assert out.size == (4, 4)


def test_resize_same_size_returns_input_and_int_interpolation():
    x = ember.rand(3, 8, 8)
    assert T.Resize(8)(x) is x
    r = T.Resize(4, interpolation=3)  # Pillow's BICUBIC constant
    assert r.interpolation is InterpolationMode.BICUBIC


def test_resize_repr():
    assert repr(T.Resize(256)) == "Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)"
    assert (repr(T.Resize((32, 48), interpolation=InterpolationMode.NEAREST, antialias=False))
            == "Resize(size=(32, 48), interpolation=nearest, max_size=None, antialias=False)")


def test_resize_errors():
    with pytest.raises(TypeError, match="Size should be int or sequence. Got <class 'float'>"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="Size must be an int or a 1 or 2 element tuple/list"):
        F.resize(ember.rand(1, 4, 4), [1, 2, 3])
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies the length of the smaller"):
        T.Resize((4, 4), max_size=10)(ember.rand(1, 8, 8))
    with pytest.raises(ValueError, match="max_size = 4 must be strictly greater than the requested size"):
        T.Resize(4, max_size=4)(ember.rand(1, 8, 8))
    with pytest.raises(ValueError, match="Interpolation mode 'box' is unsupported with Tensor input"):
        T.Resize(4, interpolation=InterpolationMode.BOX)(ember.rand(1, 8, 8))
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        F.resize(ember.rand(1, 8, 8), 4, interpolation="bilinear")
    with pytest.raises(ValueError, match="Unknown Pillow interpolation constant 7"):
        T.Resize(4, interpolation=7)
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        T.Resize(4)(ember.rand(8))
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor"):
        T.Resize(4)(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"Resize to an empty image: output size \[0, 3\]"):
        T.Resize((0, 3))(ember.rand(1, 4, 4))
    with pytest.raises(ValueError, match=r"Resize to an empty image: output size \[2, 0\]"):
        T.Resize(1, max_size=2)(ember.rand(1, 100, 1))  # short side int(2 * 1 / 100) = 0


# ---------------------------------------------------------------------------------------------
# crops and padding

@pytest.mark.parametrize("hw,size,top,left", [
    ((5, 6), (2, 3), 2, 2),  # round(1.5) = 2, round(1.5) = 2
    ((6, 6), 3, 2, 2),  # round(1.5) = 2
    ((7, 9), (4, 6), 2, 2),  # round(1.5) = 2, round(1.5) = 2
    ((5, 5), [3], 1, 1),
    ((8, 7), (8, 6), 0, 0),  # round(0.5) = 0 (half to even)
])
def test_center_crop_offsets(hw, size, top, left):
    a = _uint8(3, *hw)
    th, tw = (size, size) if isinstance(size, int) else (size[0], size[-1])
    out = T.CenterCrop(size)(ember.from_numpy(a))
    np.testing.assert_array_equal(out.numpy(), a[:, top:top + th, left:left + tw])
    pil = T.CenterCrop(size)(Image.fromarray(a.transpose(1, 2, 0)))
    np.testing.assert_array_equal(np.asarray(pil), a[:, top:top + th, left:left + tw].transpose(1, 2, 0))


def test_center_crop_larger_than_image_pads_with_zeros():
    a = _uint8(2, 3, 2)
    out = T.CenterCrop((5, 5))(ember.from_numpy(a))
    # padding left (5-2)//2 = 1, top (5-3)//2 = 1, right 2, bottom 1
    np.testing.assert_array_equal(out.numpy(), np.pad(a, ((0, 0), (1, 1), (1, 2))))
    pil = T.CenterCrop((5, 5))(Image.fromarray(a[0]))
    np.testing.assert_array_equal(np.asarray(pil), np.pad(a[0], ((1, 1), (1, 2))))
    # one side larger: width padded, height cropped
    out = T.CenterCrop((1, 4))(ember.from_numpy(a))
    np.testing.assert_array_equal(out.numpy(), np.pad(a, ((0, 0), (0, 0), (1, 1)))[:, 1:2])


def test_center_crop_repr_and_errors():
    assert repr(T.CenterCrop(10)) == "CenterCrop(size=(10, 10))"
    assert repr(T.CenterCrop((4, 6))) == "CenterCrop(size=(4, 6))"
    with pytest.raises(ValueError, match=r"Please provide only two dimensions \(h, w\) for size"):
        T.CenterCrop((1, 2, 3))


@pytest.mark.parametrize("padding,widths", [
    (2, ((2, 2), (2, 2))),
    ((1, 3), ((3, 3), (1, 1))),  # (left/right, top/bottom)
    ([1, 2, 3, 0], ((2, 0), (1, 3))),  # (left, top, right, bottom)
    ((2,), ((2, 2), (2, 2))),
])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_numpy(padding, widths, mode):
    a = _uint8(3, 4, 5)
    kwargs = {"constant_values": 7} if mode == "constant" else {}
    expected = np.pad(a, ((0, 0),) + widths, mode, **kwargs)
    out = T.Pad(padding, fill=7, padding_mode=mode)(ember.from_numpy(a))
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), expected)
    pil = T.Pad(padding, fill=7, padding_mode=mode)(Image.fromarray(a.transpose(1, 2, 0)))
    np.testing.assert_array_equal(np.asarray(pil), expected.transpose(1, 2, 0))


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")])
def test_pad_float_batch_matches_torch_pad(mode, torch_mode):
    x = np.random.rand(2, 3, 4, 5).astype(np.float32)
    out = F.pad(ember.from_numpy(x), [1, 2, 3, 0], fill=0.5, padding_mode=mode)
    kwargs = {"value": 0.5} if mode == "constant" else {}
    expected = TF.pad(torch.from_numpy(x), (1, 3, 2, 0), mode=torch_mode, **kwargs)  # (l, r, t, b)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_pad_negative_crops():
    a = _uint8(1, 6, 6)
    out = F.pad(ember.from_numpy(a), [-1, 2, 1, -2])  # left -1, top 2, right 1, bottom -2
    np.testing.assert_array_equal(out.numpy(), np.pad(a[:, :-2, 1:], ((0, 0), (2, 0), (0, 1))))
    np.testing.assert_array_equal(out.numpy(), TF.pad(torch.from_numpy(a), (-1, 1, 2, -2)).numpy())
    out = F.pad(ember.from_numpy(a), [-1, -1, -1, -1], padding_mode="reflect")
    np.testing.assert_array_equal(out.numpy(), a[:, 1:-1, 1:-1])


def test_pad_pil_fill_per_channel_and_repr():
    a = _uint8(3, 4, 3)
    out = T.Pad(1, fill=(1, 2, 3))(Image.fromarray(a))
    expected = np.stack([np.pad(a[..., c], 1, constant_values=c + 1) for c in range(3)], axis=-1)
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert repr(T.Pad(2, fill=1, padding_mode="edge")) == "Pad(padding=2, fill=1, padding_mode=edge)"


def test_pad_errors():
    x = ember.zeros(1, 3, 3)
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"):
        F.pad(x, [1, 2, 3])
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple"):
        T.Pad([1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        F.pad(x, 1, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding mode should be either"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        F.pad(x, "1")
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        F.pad(x, 1, fill=(1, 2))
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        T.Pad(1, fill="red")
    with pytest.raises(RuntimeError, match=r"Padding size should be less than the corresponding input dimension, "
                                           r"but got: padding \(3, 3\)"):
        F.pad(x, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="Symmetric padding should be at most"):
        F.pad(x, 4, padding_mode="symmetric")
    with pytest.raises(ValueError, match=r"does not match the number of channels of the image \(2 != 3\)"):
        F.pad(Image.fromarray(_uint8(3, 3, 3)), 1, fill=(1, 2))


def test_random_crop_draws_top_then_left_from_ember_rng():
    a = _uint8(3, 9, 11)
    crop = T.RandomCrop((4, 5))
    for seed in range(6):
        top, left = _replay_randint(seed, [9 - 4 + 1, 11 - 5 + 1])
        ember.manual_seed(seed)
        out = crop(ember.from_numpy(a))
        np.testing.assert_array_equal(out.numpy(), a[:, top:top + 4, left:left + 5])
        ember.manual_seed(seed)
        pil = crop(Image.fromarray(a.transpose(1, 2, 0)))
        np.testing.assert_array_equal(np.asarray(pil), a[:, top:top + 4, left:left + 5].transpose(1, 2, 0))


def test_random_crop_covers_every_position():
    a = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    ember.manual_seed(0)
    corners = {int(T.RandomCrop(2)(ember.from_numpy(a))[0, 0, 0]) for _ in range(200)}
    assert corners == {r * 4 + c for r in range(2) for c in range(3)}


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_with_padding(mode):
    a = _uint8(1, 5, 6)
    kwargs = {"constant_values": 9} if mode == "constant" else {}
    padded = np.pad(a, ((0, 0), (2, 2), (2, 2)), mode, **kwargs)
    top, left = _replay_randint(4, [9 - 5 + 1, 10 - 5 + 1])
    ember.manual_seed(4)
    out = T.RandomCrop(5, padding=2, fill=9, padding_mode=mode)(ember.from_numpy(a))
    np.testing.assert_array_equal(out.numpy(), padded[:, top:top + 5, left:left + 5])


def test_random_crop_pad_if_needed():
    a = _uint8(2, 3, 4)
    # width 4 < 6: pad 2 left and right; height 3 < 5: pad 2 top and bottom -> 7 x 8
    padded = np.pad(a, ((0, 0), (2, 2), (2, 2)))
    top, left = _replay_randint(1, [7 - 5 + 1, 8 - 6 + 1])
    ember.manual_seed(1)
    out = T.RandomCrop((5, 6), pad_if_needed=True)(ember.from_numpy(a))
    np.testing.assert_array_equal(out.numpy(), padded[:, top:top + 5, left:left + 6])


def test_random_crop_full_size_draws_nothing():
    ember.manual_seed(0)
    state = ember.get_rng_state()
    x = ember.rand(1, 4, 5)
    ember.set_rng_state(state)
    assert T.RandomCrop.get_params(x, (4, 5)) == (0, 0, 4, 5)
    assert ember.equal(ember.get_rng_state(), state)


def test_random_crop_errors_and_repr():
    with pytest.raises(ValueError, match=r"Required crop size \(5, 6\) is larger than input image size \(3, 4\)"):
        T.RandomCrop((5, 6))(ember.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"Required crop size \(5, 5\) is larger than input image size \(3, 4\)"):
        T.RandomCrop(5)(Image.fromarray(_uint8(3, 4)))
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        T.RandomCrop((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be either"):
        T.RandomCrop(3, padding=1, padding_mode="wrap")
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.RandomCrop((3, 4))) == "RandomCrop(size=(3, 4), padding=None)"


# ---------------------------------------------------------------------------------------------
# flips, Lambda, Compose

def test_random_horizontal_flip_follows_ember_rand():
    a = _uint8(3, 4, 5)
    flip = T.RandomHorizontalFlip(p=0.5)
    ember.manual_seed(7)
    draws = [ember.rand(1).item() < 0.5 for _ in range(20)]
    assert any(draws) and not all(draws)
    ember.manual_seed(7)
    for flipped in draws:
        out = flip(ember.from_numpy(a))
        np.testing.assert_array_equal(out.numpy(), a[..., ::-1] if flipped else a)
    ember.manual_seed(7)
    for flipped in draws:
        out = flip(Image.fromarray(a[0]))
        np.testing.assert_array_equal(np.asarray(out), a[0, :, ::-1] if flipped else a[0])


def test_random_flips_with_p_0_and_1():
    a = _uint8(2, 3, 4)
    x = ember.from_numpy(a)
    for _ in range(5):
        np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x).numpy(), a[..., ::-1])
        np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x).numpy(), a)
        np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x).numpy(), a[:, ::-1])
        np.testing.assert_array_equal(T.RandomVerticalFlip(p=0)(x).numpy(), a)
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(1)(Image.fromarray(a[0]))), a[0, ::-1])
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomVerticalFlip(0.3)) == "RandomVerticalFlip(p=0.3)"
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor"):
        T.RandomHorizontalFlip(1.0)(a)


def test_lambda():
    t = T.Lambda(lambda x: x * 2)
    np.testing.assert_array_equal(t(ember.ones(2)).numpy(), [2.0, 2.0])
    assert repr(t) == "Lambda()"
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_compose_repr_and_pipeline():
    c = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    assert repr(c) == "Compose(\n    ToTensor()\n    Normalize(mean=(0.1307,), std=(0.3081,))\n)"
    a = _uint8(28, 28)
    expected = (torch.from_numpy(a)[None].float().div(255) - 0.1307) / 0.3081
    np.testing.assert_allclose(c(Image.fromarray(a)).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    augment = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                         T.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261))])
    assert repr(augment) == ("Compose(\n    RandomCrop(size=(32, 32), padding=4)\n    RandomHorizontalFlip(p=0.5)\n"
                             "    ToTensor()\n    Normalize(mean=(0.4914, 0.4822, 0.4465), std=(0.247, 0.243, 0.261))\n)")
    out = augment(Image.fromarray(_uint8(32, 32, 3)))
    assert tuple(out.shape) == (3, 32, 32) and out.dtype == ember.float32
    assert repr(T.Compose([])) == "Compose(\n)"


def test_transforms_work_without_pillow():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import ember.vision\n"
        "from ember.vision import transforms as T\n"
        "assert 'PIL' not in sys.modules, 'importing ember.vision imported PIL'\n"
        "sys.modules['PIL'] = None\n"
        "sys.modules['PIL.Image'] = None\n"
        "a = np.full((6, 8, 3), 255, np.uint8)\n"
        "t = T.Compose([T.ToTensor(), T.Resize(3), T.CenterCrop(2), T.RandomHorizontalFlip(), T.Pad(1),\n"
        "               T.RandomCrop(3), T.Normalize((0.5,), (0.5,))])\n"
        "out = t(a)\n"
        "assert tuple(out.shape) == (3, 3, 3), out.shape\n"
        "try:\n"
        "    T.ToPILImage()(out)\n"
        "except ImportError as e:\n"
        "    assert 'needs Pillow' in str(e)\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=_subprocess_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _subprocess_env():
    import os
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    return env

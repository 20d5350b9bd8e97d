"""Image operations behind ember.vision.transforms, with torchvision.transforms.functional's names
and behaviour (available as ``ember.vision.transforms.functional``).

An image is a PIL Image (handled by Pillow itself, exactly as torchvision does) or an ember
tensor of shape (..., C, H, W). Pillow is optional: it is imported only when a PIL image is
converted or created, so tensors and numpy arrays work without it.
"""
import enum
import numbers
import sys
import warnings

import numpy as np

from .. import _C
from .._creation import as_tensor, full
from .._C import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "get_image_num_channels", "get_image_size",
           "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "pad", "crop",
           "center_crop", "hflip", "vflip"]


class InterpolationMode(enum.Enum):
    """Interpolation modes, named as in torchvision; the value is the name printed in reprs."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's integer resampling constants, accepted in place of a mode as torchvision does.
_MODES_FROM_PIL_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                       3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                       5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
_PIL_INT_FROM_MODE = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
                      InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
                      InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
                      InterpolationMode.LANCZOS: 1}


def _interpolation_mode(interpolation):
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        if interpolation not in _MODES_FROM_PIL_INT:
            raise ValueError(f"Unknown Pillow interpolation constant {interpolation}; expected one of "
                             f"{sorted(_MODES_FROM_PIL_INT)}")
        return _MODES_FROM_PIL_INT[interpolation]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding Pillow integer constant")


def _pil_image_module():
    """PIL.Image, imported on first use; a clear error when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("this operation needs Pillow (pip install pillow, or ember[vision])") from e
    return Image


def _is_pil_image(img):
    # Without importing PIL: an object can only be a PIL image if PIL.Image is already loaded.
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(img, module.Image)


def _assert_image_tensor(img):
    if img.dim() < 2:
        raise TypeError("Tensor is not a torch image.")


def _check_image(img):
    if not (isinstance(img, Tensor) or _is_pil_image(img)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def get_image_num_channels(img):
    """The number of channels: PIL bands, or dim -3 of a tensor (1 for a 2-d tensor)."""
    _check_image(img)
    if _is_pil_image(img):
        return len(img.getbands())
    _assert_image_tensor(img)
    return 1 if img.dim() == 2 else img.shape[-3]


def get_dimensions(img):
    """[channels, height, width] of a PIL image or an image tensor."""
    channels = get_image_num_channels(img)
    if _is_pil_image(img):
        width, height = img.size
    else:
        height, width = img.shape[-2], img.shape[-1]
    return [channels, height, width]


def get_image_size(img):
    """[width, height], as torchvision's (deprecated) get_image_size."""
    _, height, width = get_dimensions(img)
    return [width, height]


# numpy dtypes for PIL modes whose pixels are not bytes (torchvision's mode_to_nptype).
_PIL_MODE_DTYPE = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16, "F": np.float32}


def _uint8_to_default_float(img):
    return img.to(_C.get_default_dtype()).div(255)


def to_tensor(pic):
    """PIL image or (H, W[, C]) ndarray to a (C, H, W) tensor; uint8 data is scaled to [0, 1]
    in the default float dtype, any other dtype keeps its values and dtype (as torchvision)."""
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = _C.from_numpy(np.ascontiguousarray(pic.transpose(2, 0, 1)))
        return _uint8_to_default_float(img) if img.dtype == _C.uint8 else img
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    array = np.array(pic, _PIL_MODE_DTYPE.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        array = 255 * array
    width, height = pic.size
    array = array.reshape(height, width, len(pic.getbands()))
    img = _C.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    return _uint8_to_default_float(img) if img.dtype == _C.uint8 else img


def pil_to_tensor(pic):
    """PIL image to a (C, H, W) tensor of its own dtype (no scaling); a permuted view, as torchvision."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    width, height = pic.size
    array = np.array(pic, copy=True).reshape(height, width, len(pic.getbands()))
    return _C.from_numpy(array).permute(2, 0, 1)


_MODES_BY_CHANNELS = {2: ("LA",), 3: ("RGB", "YCbCr", "HSV"), 4: ("RGBA", "CMYK", "RGBX")}
_SINGLE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.int32): "I",
                         np.dtype(np.float32): "F"}


def to_pil_image(pic, mode=None):
    """(C, H, W) tensor or (H, W, C) ndarray to a PIL image (needs Pillow). A float tensor is
    scaled by 255 and truncated to bytes (unless mode='F'); arrays are taken as they are. The
    mode follows from dtype and channels: L/I;16/I/F, LA, RGB, RGBA (or the given mode)."""
    Image = _pil_image_module()
    if isinstance(pic, Tensor):
        if pic.dim() not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.dim()} dimensions.")
        if pic.dim() == 2:
            pic = pic.unsqueeze(0)
        if pic.is_floating_point() and mode != "F":
            pic = pic.mul(255).to(_C.uint8)
        array = pic.detach().permute(1, 2, 0).numpy()
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    array = np.ascontiguousarray(array)
    height, width, channels = array.shape
    if channels == 1:
        array = array[:, :, 0]
        expected_mode = _SINGLE_CHANNEL_MODES.get(array.dtype)
        if mode is not None and mode != expected_mode:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {array.dtype}. Should be {expected_mode}")
        mode = expected_mode
    elif channels in _MODES_BY_CHANNELS and array.dtype == np.uint8:
        permitted = _MODES_BY_CHANNELS[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {list(permitted)} are supported for {channels}D inputs")
        mode = mode or permitted[0]
    else:
        mode = None
    if mode is None:
        raise TypeError(f"Input type {array.dtype} with {channels} channels is not supported")
    if channels == 1 and mode != "I;16":
        return Image.fromarray(array)
    return Image.frombytes(mode, (width, height), array.astype(array.dtype.newbyteorder("<")).tobytes())


def normalize(tensor, mean, std, inplace=False):
    """(tensor - mean) / std per channel of a float (..., C, H, W) tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    _assert_image_tensor(tensor)
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.dim() < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                         f"{tensor.size()}")
    if not inplace:
        tensor = tensor.clone()
    mean = as_tensor(mean, dtype=tensor.dtype)
    std = as_tensor(std, dtype=tensor.dtype)
    if bool((std == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    channels = tensor.shape[-3]
    for name, value in (("mean", mean), ("std", std)):
        # A per-channel list must have one entry per channel (or a single one for all).
        if value.dim() == 1 and value.shape[0] not in (1, channels):
            raise RuntimeError(f"normalize: {name} has {value.shape[0]} values but the image has {channels} "
                               f"channels (tensor.size() = {tensor.size()})")
    if mean.dim() == 1:
        mean = mean.view(-1, 1, 1)
    if std.dim() == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)


# ----------------------------------------------------------------------------------------------
# flips and crops

def hflip(img):
    """Mirror left-right."""
    _check_image(img)
    if _is_pil_image(img):
        return img.transpose(_pil_image_module().Transpose.FLIP_LEFT_RIGHT)
    _assert_image_tensor(img)
    return img.flip(-1)


def vflip(img):
    """Mirror top-bottom."""
    _check_image(img)
    if _is_pil_image(img):
        return img.transpose(_pil_image_module().Transpose.FLIP_TOP_BOTTOM)
    _assert_image_tensor(img)
    return img.flip(-2)


def crop(img, top, left, height, width):
    """The (height, width) window at (top, left); parts outside the image are filled with 0."""
    _check_image(img)
    if _is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - w, 0), max(bottom - h, 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _crop_size(output_size):
    if isinstance(output_size, numbers.Number):
        return int(output_size), int(output_size)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        return output_size[0], output_size[0]
    return output_size


def center_crop(img, output_size):
    """The central crop; an image smaller than the crop is first padded with zeros."""
    crop_height, crop_width = _crop_size(output_size)
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [(crop_width - image_width) // 2 if crop_width > image_width else 0,
                        (crop_height - image_height) // 2 if crop_height > image_height else 0,
                        (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
                        (crop_height - image_height + 1) // 2 if crop_height > image_height else 0]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    # Python's round (half to even) on purpose: torchvision's crop offsets.
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


# ----------------------------------------------------------------------------------------------
# padding

_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _parse_padding(padding):
    """[left, top, right, bottom] from an int or a 1-, 2- or 4-element sequence."""
    if isinstance(padding, numbers.Number) and not isinstance(padding, bool):
        return [int(padding)] * 4
    if not isinstance(padding, (tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return list(padding)


def _parse_fill(fill, img):
    """Pillow's fill argument: one int per band (float for mode 'F'), as torchvision's _parse_fill."""
    channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and channels > 1:
        fill = tuple([fill] * channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * channels
        elif len(fill) != channels:
            raise ValueError("The number of elements in 'fill' does not match the number of channels of the "
                             f"image ({len(fill)} != {channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def _pad_pil(img, left, top, right, bottom, fill, padding_mode):
    if padding_mode == "constant":
        from PIL import ImageOps
        fill = _parse_fill(fill, img)
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=(left, top, right, bottom), fill=fill)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=(left, top, right, bottom), fill=fill)
    # Negative padding crops; the rest is numpy's padding of the pixel array.
    crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in (left, top, right, bottom))
    if crop_l or crop_t or crop_r or crop_b:
        img = img.crop((crop_l, crop_t, img.width - crop_r, img.height - crop_b))
    left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    palette = img.getpalette() if img.mode == "P" else None
    array = np.asarray(img)
    widths = ((top, bottom), (left, right)) + (((0, 0),) if array.ndim == 3 else ())
    out = _pil_image_module().fromarray(np.pad(array, widths, padding_mode))
    if palette is not None:
        out.putpalette(palette)  # turns the 'L' array image back into a palette image
    return out


def _pad_indices(size, before, after, padding_mode, dim, shape):
    """Source row/column of each output row/column for the index-based padding modes."""
    if padding_mode == "reflect" and (before >= size or after >= size):
        raise RuntimeError(f"Padding size should be less than the corresponding input dimension, but got: "
                           f"padding ({before}, {after}) at dimension {dim} of input {list(shape)}")
    if padding_mode == "symmetric" and (before > size or after > size):
        raise RuntimeError(f"Symmetric padding should be at most the corresponding input dimension, but got: "
                           f"padding ({before}, {after}) at dimension {dim} of input {list(shape)}")
    if size == 0:
        raise RuntimeError(f"Cannot pad an empty dimension {dim} of input {list(shape)} with mode '{padding_mode}'")
    return as_tensor(np.pad(np.arange(size, dtype=np.int64), (before, after), padding_mode))


def _pad_tensor(img, left, top, right, bottom, fill, padding_mode):
    _assert_image_tensor(img)
    if fill is None:
        fill = 0
    if not isinstance(fill, (int, float)):
        raise TypeError("Got inappropriate fill arg")
    # Negative padding crops first.
    h, w = img.shape[-2], img.shape[-1]
    img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    if not (left or top or right or bottom):
        return img
    if padding_mode == "constant":
        lead, h, w = tuple(img.shape[:-2]), img.shape[-2], img.shape[-1]
        value = float(fill) if img.is_floating_point() else int(fill)
        parts = [full(lead + (h, left), value, dtype=img.dtype), img, full(lead + (h, right), value, dtype=img.dtype)]
        img = _C.cat(parts, -1)
        width = w + left + right
        parts = [full(lead + (top, width), value, dtype=img.dtype), img,
                 full(lead + (bottom, width), value, dtype=img.dtype)]
        return _C.cat(parts, -2)
    # numpy's modes share torchvision's names: padding an arange gives the source indices.
    rows = _pad_indices(img.shape[-2], top, bottom, padding_mode, img.dim() - 2, img.shape)
    cols = _pad_indices(img.shape[-1], left, right, padding_mode, img.dim() - 1, img.shape)
    return img.index_select(-2, rows).index_select(-1, cols)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: padding is an int (all sides), (left/right, top/bottom) or (left, top,
    right, bottom); modes constant (with fill), edge, reflect (no edge repeat), symmetric."""
    _check_image(img)
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    left, top, right, bottom = _parse_padding(padding)
    if padding_mode not in _PADDING_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if _is_pil_image(img):
        if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        return _pad_pil(img, left, top, right, bottom, fill, padding_mode)
    return _pad_tensor(img, left, top, right, bottom, fill, padding_mode)


# ----------------------------------------------------------------------------------------------
# resizing

def _compute_resized_output_size(image_size, size, max_size=None):
    """[new_h, new_w]: size [s] sets the shorter side to s keeping the aspect ratio (the longer
    side truncated, capped by max_size); size [h, w] is taken as is."""
    if len(size) == 1:
        h, w = image_size
        short, long = (w, h) if w <= h else (h, w)
        requested_new_short = size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for "
                                 f"the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def _cubic_near(x, a):  # |x| < 1
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):  # 1 <= |x| < 2
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _triangle_filter(x):
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _keys_cubic_filter(x):  # a = -0.5, Pillow's and torch's antialiased bicubic
    x = np.abs(x)
    return np.where(x < 1.0, _cubic_near(x, -0.5), np.where(x < 2.0, _cubic_far(x, -0.5), 0.0))


def _resize_matrix(in_size, out_size, mode, antialias):
    """(out_size, in_size) float64 matrix M with out = M @ in along one axis, for torch's
    interpolate(align_corners=False): the antialiased separable filters (Pillow's algorithm:
    triangle / Keys cubic stretched by the downscale factor, weights normalised per output)
    or the plain bilinear / bicubic (a = -0.75, clamped borders) kernels."""
    scale = in_size / out_size
    out_index = np.arange(out_size, dtype=np.float64)
    if antialias:
        interp_size, filter_fn = (2, _triangle_filter) if mode == "bilinear" else (4, _keys_cubic_filter)
        support = interp_size * 0.5 * scale if scale >= 1.0 else interp_size * 0.5
        invscale = 1.0 / scale if scale >= 1.0 else 1.0
        center = scale * (out_index + 0.5)
        # The window [xmin, xmax) truncates toward zero, as the C code's int casts do.
        xmin = np.maximum(np.trunc(center - support + 0.5), 0)[:, None]
        xmax = np.minimum(np.trunc(center + support + 0.5), in_size)[:, None]
        src = np.arange(in_size, dtype=np.float64)[None, :]
        weights = filter_fn((src - center[:, None] + 0.5) * invscale) * ((src >= xmin) & (src < xmax))
        total = weights.sum(axis=1, keepdims=True)
        return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == "bilinear":
        src = np.maximum(scale * (out_index + 0.5) - 0.5, 0.0)
        i0 = src.astype(np.int64)
        lam = src - i0
        i1 = np.minimum(i0 + 1, in_size - 1)
        np.add.at(matrix, (rows, i0), 1.0 - lam)
        np.add.at(matrix, (rows, i1), lam)
        return matrix
    src = scale * (out_index + 0.5) - 0.5
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    coefficients = (_cubic_far(t + 1.0, -0.75), _cubic_near(t, -0.75), _cubic_near(1.0 - t, -0.75),
                    _cubic_far(2.0 - t, -0.75))
    for offset, coefficient in zip((-1, 0, 1, 2), coefficients):
        np.add.at(matrix, (rows, np.clip(i0 + offset, 0, in_size - 1)), coefficient)
    return matrix


def _nearest_indices(in_size, out_size, exact):
    # torch computes the source index in float32: floor(dst * scale) or floor((dst + 0.5) * scale).
    scale = np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0.0))
    return as_tensor(np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1))


_INT_RANGES = {_C.uint8: (0, 255), _C.int8: (-128, 127), _C.int16: (-2 ** 15, 2 ** 15 - 1),
               _C.int32: (-2 ** 31, 2 ** 31 - 1)}


def _resize_tensor(img, out_h, out_w, mode, antialias):
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode '{mode}' is unsupported with Tensor input; use nearest, "
                         "nearest-exact, bilinear or bicubic (or a PIL image)")
    in_h, in_w = img.shape[-2], img.shape[-1]
    if mode.startswith("nearest"):
        exact = mode == "nearest-exact"
        if out_h != in_h:
            img = img.index_select(-2, _nearest_indices(in_h, out_h, exact))
        if out_w != in_w:
            img = img.index_select(-1, _nearest_indices(in_w, out_w, exact))
        return img
    out_dtype = img.dtype
    if not img.is_floating_point():
        img = img.to(_C.float32)
    # Separable: rows then columns, each a matrix product with the 1-d interpolation matrix.
    if out_h != in_h:
        img = as_tensor(_resize_matrix(in_h, out_h, mode, antialias), dtype=img.dtype).matmul(img)
    if out_w != in_w:
        img = img.matmul(as_tensor(_resize_matrix(in_w, out_w, mode, antialias).T, dtype=img.dtype))
    if out_dtype != img.dtype:
        img = img.round()
        if out_dtype in _INT_RANGES:
            img = img.clamp(*_INT_RANGES[out_dtype])
        img = img.to(out_dtype)
    return img


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to size (int or [s]: shorter side, aspect kept; [h, w]: exactly). PIL images go
    through Pillow (always antialiased); tensors through torch's interpolate(align_corners=False)
    algorithms (antialiased bilinear/bicubic by default, nearest, nearest-exact), computed as two
    matrix products; integer tensors are interpolated in float32, rounded and clamped back."""
    interpolation = _interpolation_mode(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} "
                             "element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                             "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    elif not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, image_height, image_width = get_dimensions(img)
    size = [size] if isinstance(size, int) else list(size)
    out_h, out_w = _compute_resized_output_size((image_height, image_width), size, max_size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"Resize to an empty image: output size {[out_h, out_w]} from input size "
                         f"{[image_height, image_width]} and size={size}")
    if [image_height, image_width] == [out_h, out_w]:
        return img
    if _is_pil_image(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return img.resize((out_w, out_h), _PIL_INT_FROM_MODE[interpolation])
    return _resize_tensor(img, out_h, out_w, interpolation.value, antialias)

"""Read PSD/PSB files into a :class:`Document` with psd-tools.

What a designer gets:

* Every pixel layer, with its unicode name, offset, opacity, visibility and
  blend mode. Layers of zero size stay (as 0x0 layers).
* Groups are flattened into the layer list; the group path becomes part of
  the name ("Group/Sub/Layer"). A hidden group hides its layers; group
  opacity multiplies into each layer's; a group with its own (non pass-
  through, non normal) blend mode hands it to children in normal mode. Exact
  for one-layer groups; for overlapping layers inside a faded or blended
  group it is the usual approximation of flattening a group.
* Layer masks (and group masks) are applied into alpha.
* Text, shape and smart-object layers keep the raster Photoshop stored for
  them (what Photoshop shows). Fill layers without pixels, layers with
  enabled effects and pixel layers with vector masks are rasterized by
  psd-tools (``composite``); effects it cannot draw are missing.
* Clipping masks: a clipped layer stays its own layer, its alpha multiplied
  by the alpha of the layer it clips to, and it takes that layer's opacity
  and visibility, as Photoshop does for a clipping group. This is exact
  wherever the base is opaque or empty (the usual case) and approximate on
  its semi-transparent edges.
* Adjustment layers change what is below them; a layer cannot carry that,
  so each becomes a baked layer: psd-tools' composite of everything below
  with the adjustment applied (named "<name> (adjustment, baked)").
* 8/16/32-bit, grayscale, indexed, bitmap, CMYK and PSB files. 32-bit
  (linear) values are shown with gamma 2.2, as Photoshop's 8-bit view does.
* A file with no layers becomes one layer from its merged image.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..document import BlendMode, Document, Layer
from ..errors import InputFileError, QilError
from .files import check_input_path, input_error_from_os
from .limits import DEFAULT_MAX_PIXELS, check_pixels
from .pixels import pil_to_rgba

PSD_TOOLS_MAX_SIDE = 30000  # psd-tools refuses larger layers, even in PSB files
_COLOR_MODES = {0: "Bitmap", 1: "Grayscale", 2: "Indexed", 3: "RGB", 4: "CMYK",
                7: "Multichannel", 8: "Duotone", 9: "Lab"}


@dataclass(frozen=True)
class PsdHeader:
    version: int  # 1 PSD, 2 PSB
    channels: int
    width: int
    height: int
    depth: int
    color_mode: int


def _damaged(path: Path, detail: str = "") -> InputFileError:
    detail = detail.strip().rstrip(".")
    return InputFileError(
        f"{path.name} is a damaged or incomplete Photoshop file"
        + (f" ({detail})." if detail else "."),
        "It may have been cut off while copying or downloading. Get a fresh copy or save it again "
        "from Photoshop.")


def parse_psd_header(path: Path) -> PsdHeader:
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError as exc:
        raise input_error_from_os(path, exc) from None
    if len(head) < 26 or head[:4] != b"8BPS":
        raise _damaged(path, "the file header is cut short")
    version, channels, height, width, depth, mode = struct.unpack(">H6xHIIHH", head[4:26])
    if version not in (1, 2) or not 1 <= channels <= 56 or depth not in (1, 8, 16, 32) \
            or mode not in _COLOR_MODES or width == 0 or height == 0:
        raise _damaged(path, "the file header has impossible values")
    return PsdHeader(version, channels, width, height, depth, mode)


def read_psd_header(path: str | Path):
    """Header facts as a :class:`~qil_editor.io.image_open.SourceInfo`."""
    from .image_open import SourceInfo
    p = check_input_path(path)
    h = parse_psd_header(p)
    mode = _COLOR_MODES[h.color_mode]
    color_channels = {0: 1, 1: 1, 2: 1, 3: 3, 4: 4, 9: 3}.get(h.color_mode, h.channels)
    if h.channels > color_channels and h.color_mode in (1, 3, 4, 9):
        mode += " + alpha"
    return SourceInfo(str(p), "PSB" if h.version == 2 else "PSD", h.width, h.height, mode, h.depth)


# ----- pixels of one psd-tools layer ---------------------------------------------
def _linear_to_display(values: np.ndarray) -> np.ndarray:
    return np.power(np.clip(values, 0.0, 1.0), 1.0 / 2.2)


def _float_to_u8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def _deep_float_rgba(arr: np.ndarray, color_planes: int) -> np.ndarray:
    """32-bit float layer array (color planes + optional alpha) -> RGBA uint8."""
    color = _linear_to_display(arr[..., :color_planes])
    if color_planes == 1:
        color = np.repeat(color, 3, axis=2)
    out = np.empty(arr.shape[:2] + (4,), np.uint8)
    out[..., :3] = _float_to_u8(color[..., :3])
    out[..., 3] = _float_to_u8(arr[..., color_planes]) if arr.shape[2] > color_planes else 255
    return out


def _apply_icc(psd) -> bool:
    # CMYK and Lab need their profile to become RGB; grayscale files are shown
    # as raw gray values (as Photoshop's merged data and most readers do).
    return psd.color_mode in (4, 9)


def _raw_pixels(layer, psd) -> np.ndarray | None:
    """The layer's own stored pixels as RGBA uint8, before masks and opacity."""
    if psd.depth == 32 and psd.color_mode in (1, 3):
        arr = layer.numpy()
        if arr is None:
            return None
        return _deep_float_rgba(np.asarray(arr, np.float32), 1 if psd.color_mode == 1 else 3)
    im = layer.topil(apply_icc=_apply_icc(psd))
    if im is None:
        return None
    rgba = pil_to_rgba(im)
    if im.mode in ("CMYK", "RGB", "L") and _has_transparency(layer):
        from psd_tools.constants import ChannelID
        alpha = layer.topil(channel=ChannelID.TRANSPARENCY_MASK)
        if alpha is not None and alpha.size == im.size:
            rgba[..., 3] = np.asarray(alpha.convert("L"))
    return rgba


def _has_transparency(layer) -> bool:
    try:
        return any(info.id == -1 for info in layer._record.channel_info)
    except AttributeError:
        return False


def _rendered_pixels(layer, psd) -> tuple[np.ndarray, int, int] | None:
    """Rasterize a layer that needs psd-tools' renderer (text, shapes, effects...).

    Rendered over transparency with the layer's own opacity divided back
    out (it stays a layer property); the result is cropped to what is drawn.
    """
    from psd_tools.composite import composite as ps_composite

    l, t, r, b = layer.bbox
    vl, vt, vr, vb = psd.viewbox
    box = (min(l, vl), min(t, vt), max(r, vr), max(b, vb)) if r > l and b > t else psd.viewbox
    color, _shape, alpha = ps_composite(layer, color=0.0, alpha=0.0, viewport=box,
                                        layer_filter=lambda ly: ly is layer)  # not its clip layers
    opacity = layer.opacity / 255.0
    if opacity > 0:
        alpha = np.clip(alpha / opacity, 0.0, 1.0)
    color = np.asarray(color, np.float32)
    if color.ndim == 2:
        color = color[..., None]
    planes = color.shape[2]
    if psd.color_mode == 4 and planes >= 4:  # CMYK values -> RGB with the plain formula
        k = 1.0 - color[..., 3:4]
        color = (1.0 - color[..., :3]) * k
    elif planes == 1:
        color = np.repeat(color, 3, axis=2)
    if psd.depth == 32:
        color = _linear_to_display(color)
    rgba = np.empty(color.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = _float_to_u8(color[..., :3])
    rgba[..., 3] = _float_to_u8(alpha[..., 0] if alpha.ndim == 3 else alpha)
    ys, xs = np.nonzero(rgba[..., 3])
    if ys.size == 0:
        return np.zeros((0, 0, 4), np.uint8), 0, 0
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return np.ascontiguousarray(rgba[y0:y1, x0:x1]), box[0] + int(x0), box[1] + int(y0)


def _mask_alpha(layer, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The layer's enabled pixel mask over ``box`` as float 0..1, or None."""
    if not layer.has_mask():
        return None
    mask = layer.mask
    if mask.disabled:
        return None
    l, t, r, b = box
    out = np.full((b - t, r - l), mask.background_color / 255.0, np.float32)
    im = mask.topil()
    if im is not None:
        m = np.asarray(im.convert("L"), np.float32) / 255.0
        ml, mt = mask.left, mask.top
        il, it = max(l, ml), max(t, mt)
        ir, ib = min(r, ml + m.shape[1]), min(b, mt + m.shape[0])
        if ir > il and ib > it:
            out[it - t:ib - t, il - l:ir - l] = m[it - mt:ib - mt, il - ml:ir - ml]
    return out


def _needs_render(layer) -> bool:
    """Whether psd-tools must draw the layer rather than us reading its stored raster.

    Photoshop stores a finished raster for text, shape and smart-object
    layers, which is exactly what it shows; only effects, a vector mask on a
    plain pixel layer, or a layer with no stored pixels (fill layers) need the
    renderer.
    """
    from psd_tools.api.layers import PixelLayer

    if layer.has_effects(enabled=True):
        return True
    if not layer.has_pixels():
        return not isinstance(layer, PixelLayer)
    return isinstance(layer, PixelLayer) and layer.has_vector_mask()


@dataclass
class _Leaf:
    pixels: np.ndarray
    x: int
    y: int
    name: str
    opacity: float
    visible: bool
    blend: BlendMode
    locked: bool
    source: object  # the psd-tools layer


def _locked(layer) -> bool:
    """Locked when everything, the pixels or the position are protected in Photoshop."""
    locks = layer.locks
    if locks is None:
        return False
    return bool(locks.complete or locks.composite or locks.position)


def _apply_mask_list(pixels: np.ndarray, x: int, y: int, masks: list) -> np.ndarray:
    if not masks or pixels.size == 0:
        return pixels
    box = (x, y, x + pixels.shape[1], y + pixels.shape[0])
    factor = None
    for owner in masks:
        m = _mask_alpha(owner, box)
        if m is not None:
            factor = m if factor is None else factor * m
    if factor is None:
        return pixels
    out = pixels.copy()
    out[..., 3] = np.round(out[..., 3] * factor).astype(np.uint8)
    return out


def _leaf(layer, psd, path: str, opacity: float, visible: bool, group_blend: BlendMode | None,
          masks: list, max_pixels: int | None, file: Path) -> _Leaf:
    check_pixels(file, max(0, layer.width), max(0, layer.height), max_pixels, f"layer '{layer.name}'")
    if max(layer.width, layer.height) > PSD_TOOLS_MAX_SIDE:
        raise InputFileError(
            f"{file.name}: layer '{layer.name}' is {layer.width}x{layer.height} pixels; layers over "
            f"{PSD_TOOLS_MAX_SIDE} pixels a side cannot be read yet.",
            "Crop or scale that layer down in Photoshop, or open a flattened copy.")
    if _needs_render(layer):
        rendered = _rendered_pixels(layer, psd)
        pixels, x, y = rendered if rendered is not None else (np.zeros((0, 0, 4), np.uint8), 0, 0)
        pixels = _apply_mask_list(pixels, x, y, masks)  # group masks; its own is rendered in
    else:
        pixels = _raw_pixels(layer, psd)
        x, y = layer.left, layer.top
        if pixels is None or layer.width <= 0 or layer.height <= 0:
            pixels, x, y = np.zeros((0, 0, 4), np.uint8), layer.left, layer.top
        pixels = _apply_mask_list(pixels, x, y, masks + [layer])
    blend = BlendMode.from_psd_key(layer.blend_mode.value)
    if group_blend is not None and blend == BlendMode.NORMAL:
        blend = group_blend
    return _Leaf(pixels, x, y, path + layer.name, opacity * layer.opacity / 255.0,
                 visible and layer.visible, blend, _locked(layer), layer)


def _baked_adjustment(layer, psd, order: list, path: str, visible: bool) -> _Leaf:
    """An adjustment layer as a snapshot of everything below with it applied."""
    from psd_tools.composite import composite as ps_composite

    allowed = {id(ly) for ly in order}
    allowed.add(id(layer))
    color, _shape, alpha = ps_composite(
        psd, color=0.0, alpha=0.0, viewport=psd.viewbox,
        layer_filter=lambda ly: (ly.is_group() or id(ly) in allowed) and ly.is_visible())
    color = np.asarray(color, np.float32)
    if color.ndim == 2:
        color = color[..., None]
    if color.shape[2] == 1:
        color = np.repeat(color, 3, axis=2)
    elif psd.color_mode == 4 and color.shape[2] >= 4:
        color = (1.0 - color[..., :3]) * (1.0 - color[..., 3:4])
    rgba = np.empty(color.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = _float_to_u8(color[..., :3])
    rgba[..., 3] = _float_to_u8(alpha[..., 0] if alpha.ndim == 3 else alpha)
    # Its own and its groups' opacity are already in the snapshot.
    return _Leaf(rgba, 0, 0, f"{path}{layer.name} (adjustment, baked)", 1.0,
                 visible and layer.visible, BlendMode.NORMAL, False, layer)


def _walk(group, psd, path: str, opacity: float, visible: bool, group_blend: BlendMode | None,
          masks: list, out: list[_Leaf], order: list, max_pixels, file: Path) -> None:
    from psd_tools.api.layers import AdjustmentLayer

    for layer in group:
        if layer.is_group():
            key = layer.blend_mode.value
            own = None if key in (b"pass", b"norm") else BlendMode.from_psd_key(key)
            _walk(layer, psd, f"{path}{layer.name}/", opacity * layer.opacity / 255.0,
                  visible and layer.visible, own or group_blend, masks + [layer], out, order,
                  max_pixels, file)
            continue
        if isinstance(layer, AdjustmentLayer):
            out.append(_baked_adjustment(layer, psd, order, path, visible))
        else:
            out.append(_leaf(layer, psd, path, opacity, visible, group_blend, masks, max_pixels, file))
        order.append(layer)


def _clip_to_bases(leaves: list[_Leaf]) -> None:
    """Give each clipped layer its base's alpha, opacity and visibility.

    The base is the nearest non-clipping layer below in the same group (a
    clipped layer first in its group clips to nothing and stays as it is).
    Group opacity and visibility are already in both, so only the base's own
    values are carried over.
    """
    base: _Leaf | None = None
    for leaf in leaves:
        if not getattr(leaf.source, "clipping", False):
            base = leaf
            continue
        if base is None or base.source.parent is not leaf.source.parent:
            continue
        bx, by, bp = base.x, base.y, base.pixels
        l, t = max(leaf.x, bx), max(leaf.y, by)
        r = min(leaf.x + leaf.pixels.shape[1], bx + bp.shape[1])
        b = min(leaf.y + leaf.pixels.shape[0], by + bp.shape[0])
        if r <= l or b <= t:
            leaf.pixels = np.zeros((0, 0, 4), np.uint8)
        else:
            own = leaf.pixels[t - leaf.y:b - leaf.y, l - leaf.x:r - leaf.x].copy()
            base_alpha = bp[t - by:b - by, l - bx:r - bx, 3].astype(np.uint16)
            own[..., 3] = ((own[..., 3].astype(np.uint16) * base_alpha + 127) // 255).astype(np.uint8)
            leaf.pixels, leaf.x, leaf.y = own, l, t
        leaf.opacity *= base.source.opacity / 255.0
        leaf.visible = leaf.visible and base.source.visible


def _check_merged_complete(psd, header: PsdHeader, file: Path) -> None:
    """The merged image is the file's last section: a file cut short loses it first.

    Its size is known without decoding for raw and RLE data, so a truncated
    file is caught even when we only read the layers. (ZIP data fails to
    inflate instead, which psd-tools reports when it is read.)
    """
    from psd_tools.constants import Compression

    image = psd._record.image_data
    data = image.data
    rows = header.channels * header.height
    if image.compression == Compression.RAW:
        need = rows * ((header.width * header.depth + 7) // 8)
    elif image.compression == Compression.RLE:
        size = 2 if header.version == 1 else 4
        table = np.frombuffer(data[:rows * size], ">u2" if size == 2 else ">u4")
        need = rows * size + int(table.sum(dtype=np.int64)) if table.size == rows else rows * size + 1
    else:
        return
    if len(data) < need:
        raise _damaged(file, f"the merged image is cut short: {len(data)} of {need} bytes")


def _merged_layer(psd, file: Path) -> Layer:
    if psd.depth == 32 and psd.color_mode in (1, 3):
        arr = psd.numpy()
        pixels = _deep_float_rgba(np.asarray(arr, np.float32), 1 if psd.color_mode == 1 else 3)
    else:
        im = psd.topil(apply_icc=_apply_icc(psd))
        if im is None:
            raise _damaged(file, "it has neither layers nor a merged image")
        pixels = pil_to_rgba(im)
    return Layer(pixels, name="Background")


def read_psd(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Document:
    """Open a PSD/PSB as a layered :class:`Document` (see the module docstring)."""
    from psd_tools import PSDImage
    from psd_tools.compression import PSDDecompressionWarning

    file = check_input_path(path)
    header = parse_psd_header(file)
    check_pixels(file, header.width, header.height, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # psd-tools chats about unknown blocks
            warnings.simplefilter("error", PSDDecompressionWarning)  # a cut-off channel is damage
            psd = PSDImage.open(file)
            _check_merged_complete(psd, header, file)
            leaves: list[_Leaf] = []
            _walk(psd, psd, "", 1.0, True, None, [], leaves, [], max_pixels, file)
            _clip_to_bases(leaves)
            if leaves:
                layers = [Layer(lf.pixels, name=lf.name, x=lf.x, y=lf.y, opacity=lf.opacity,
                                visible=lf.visible, blend_mode=lf.blend, locked=lf.locked)
                          for lf in leaves]
            else:
                layers = [_merged_layer(psd, file)]
    except QilError:
        raise
    except MemoryError:
        raise InputFileError(f"{file.name} is too large to open with the memory available.",
                             "Close other programs, or flatten or scale the file down in Photoshop.") from None
    except OSError as exc:
        if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
            raise input_error_from_os(file, exc) from None
        raise _damaged(file, str(exc)) from None
    except Exception as exc:  # psd-tools raises many kinds on a damaged file
        raise _damaged(file, f"{type(exc).__name__}: {exc}") from None
    return Document(header.width, header.height, layers, path=str(file))

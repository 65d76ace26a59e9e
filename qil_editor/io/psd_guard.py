"""Checks a PSD/PSB must pass after its structure is parsed and before any pixel is decoded.

* :func:`damaged_channels`: every layer channel's stored data is checked
  against the size the layer record gives it: RLE row-length tables must
  add up to the channel's data, and the PackBits stream must decode to
  exactly the channel's rows (checked in C by Pillow's decoder, so wrong
  pixels are never shown silently); raw data must be complete; a channel
  cut off by the end of the file is reported. psd-tools itself clips or pads
  such rows without a word.
* :func:`estimate_peak`: what opening the file will cost in memory, from
  the header and layer records only (canvas, every layer and mask, fill and
  shape layers rendered at their own extent, baked adjustment layers, the
  composite), for :func:`limits.check_memory`.
* :func:`solid_fill`: solid-colour fill layers drawn at uint8, without
  psd-tools' float32 canvas of the layer's whole box.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .limits import check_pixels

#: Bytes per pixel psd-tools' renderer holds while drawing (float color, alpha, shape, temporaries).
RENDER_BYTES_PER_PIXEL = 64
#: Bytes per canvas pixel for a baked adjustment layer (a float composite of everything below).
ADJUSTMENT_BYTES_PER_PIXEL = 72


def parse_limits_for(path: Path):
    """psd-tools parse limits for this file: no single read may ask for more than the file holds."""
    try:
        from psd_tools import ParseLimits
    except ImportError:  # an older psd-tools without them
        return None
    try:
        return ParseLimits(max_read_bytes=max(1, os.path.getsize(path)))
    except (OSError, TypeError, ValueError):
        return None


def is_budget_error(exc: BaseException) -> bool:
    """psd-tools refusing an allocation over its byte budget (a size problem, not damage)."""
    text = str(exc)
    return isinstance(exc, ValueError) and ("configured budget" in text or "max_alloc_bytes" in text)


# ----- integrity ------------------------------------------------------------------------------
def _record_name(record) -> str:
    try:
        from psd_tools.constants import Tag
        name = record.tagged_blocks.get_data(Tag.UNICODE_LAYER_NAME) if record.tagged_blocks else None
    except Exception:
        name = None
    return str(name or record.name or "unnamed layer")


def _row_bytes(width: int, depth: int) -> int:
    return (width * depth + 7) // 8


def _packbits_fills_exactly(body: bytes, row_bytes: int, rows: int) -> bool:
    """Whether ``body`` decodes to exactly ``rows`` x ``row_bytes`` bytes (Pillow's C decoder).

    Pillow reports -1 once the image is full: the whole body must fill it,
    and the body without its last byte must not (else it is too long).
    """
    from PIL import Image

    def fills(data: bytes) -> bool:
        decoder = Image._getdecoder("L", "packbits", "L")
        try:
            decoder.setimage(Image.core.new("L", (row_bytes, rows)), (0, 0, row_bytes, rows))
            return decoder.decode(data)[0] < 0
        finally:
            decoder.cleanup()

    return fills(body) and not fills(body[:-1])


def _channel_problem(compression: int, data: bytes, declared: int, width: int, height: int,
                     depth: int, version: int) -> str | None:
    if width <= 0 or height <= 0:
        return None
    if declared is not None and declared - 2 > len(data):
        return "its pixel data is cut short"
    row = _row_bytes(width, depth)
    need = row * height
    if compression == 0:  # raw
        return None if len(data) >= need else "its pixel data is cut short"
    if compression == 1:  # RLE (PackBits), a table of row lengths first
        size = 2 if version == 1 else 4
        table = height * size
        if len(data) < table:
            return "its row-length table is cut short"
        counts = np.frombuffer(data[:table], ">u2" if size == 2 else ">u4")
        if int(counts.sum(dtype=np.int64)) != len(data) - table:
            return "its RLE row lengths do not add up to its data"
        # the longest valid row: literals of one byte each (encoders do split literals:
        # psd-tools' own writes w + w/128 + 1 for a noisy row of a multiple of 128)
        most = 2 * row
        least = 2 * ((row + 127) // 128)  # a row of runs: two bytes per 128
        if counts.size and (int(counts.max()) > most or int(counts.min()) < min(least, most)):
            return "an RLE row length is impossible for its width"
        if not _packbits_fills_exactly(data[table:], row, height):
            return "its RLE rows do not decode to the layer's size"
        return None
    if compression in (2, 3):  # ZIP: inflate cannot expand more than 1032:1
        return None if len(data) * 1032 >= need else "its compressed data is far too short"
    return "it uses an unknown compression"


def damaged_channels(psd, version: int) -> list[tuple[str, str]]:
    """(layer name, what is wrong) for every layer whose stored channel data is inconsistent."""
    try:
        info = psd._record.layer_and_mask_information.layer_info
        records, channel_data = info.layer_records, info.channel_image_data
    except AttributeError:
        return []
    if records is None or channel_data is None:
        return []
    depth = int(psd.depth)
    found: list[tuple[str, str]] = []
    for record, channels in zip(records, channel_data):
        problem = None
        for info_, size, channel in zip(record.channel_info, record.channel_sizes, channels):
            problem = _channel_problem(int(channel.compression), bytes(channel.data or b""),
                                       getattr(info_, "length", None), size[0], size[1], depth, version)
            if problem:
                if int(info_.id) in (-2, -3):
                    problem = "its mask: " + problem
                break
        if problem:
            found.append((_record_name(record), problem))
    return found


# ----- memory ---------------------------------------------------------------------------------
def _area(box) -> int:
    l, t, r, b = box
    return max(0, r - l) * max(0, b - t)


def render_box(layer, psd) -> tuple[int, int, int, int]:
    """Where a layer that psd-tools must draw is drawn: its own extent.

    Effects (shadows, glows) reach past the layer, so a layer with enabled
    effects is drawn over the canvas and its own box together; any other
    layer only over its box, clipped to the canvas when it is a fill layer
    that covers everything.
    """
    l, t, r, b = layer.bbox
    vl, vt, vr, vb = psd.viewbox
    if layer.has_effects(enabled=True):
        return (min(l, vl), min(t, vt), max(r, vr), max(b, vb)) if r > l and b > t else psd.viewbox
    if r <= l or b <= t:
        return (0, 0, 0, 0)
    params = layer.mask.parameters if layer.has_mask() else None
    faded = params is not None and any(d not in (None, 255) for d in (  # density < 100 %:
        params.user_mask_density, params.vector_mask_density))  # some shows outside
    if layer.has_mask() and not layer.mask.disabled and layer.mask.background_color == 0 and not faded:
        ml, mt, mr, mb = layer.mask.bbox  # nothing shows outside a mask with a black background
        l, t, r, b = max(l, ml), max(t, mt), min(r, mr), min(b, mb)
        if r <= l or b <= t:
            return (0, 0, 0, 0)
    return (l, t, r, b)


def estimate_peak(psd, header, file: Path, max_pixels: int | None) -> tuple[int, str]:
    """(bytes, what for) that reading ``psd`` into a Document and compositing it will need at most.

    Layers live side by side in the document, so their final RGBA sizes add
    up; decoding and rendering intermediates exist one layer at a time, so
    only the largest counts. Layers larger than the pixel limit are refused
    here, before the estimate makes a nonsense number of them.
    """
    from psd_tools.api.layers import AdjustmentLayer

    from .psd_read import _needs_render

    canvas = header.width * header.height
    # a CMYK file's layers also keep their stored ink for blending in CMYK (document/cmyk.py):
    # two 4-byte pictures beside each layer's RGBA, and the composite's second pass
    per_px = 4 + (8 if int(header.color_mode) == 4 else 0)
    sample = max(1, header.depth // 8)
    channels = max(1, header.channels)
    kept = 0
    transient = canvas * (channels * sample + 8)  # the merged image, read when there are no layers
    count = 0
    for layer in psd.descendants():
        if layer.is_group():
            continue
        count += 1
        if isinstance(layer, AdjustmentLayer):
            kept += canvas * per_px
            transient = max(transient, canvas * ADJUSTMENT_BYTES_PER_PIXEL)
            continue
        l, t, r, b = layer.bbox
        check_pixels(file, max(0, r - l), max(0, b - t), max_pixels, f"layer '{layer.name}'")
        if _needs_render(layer):
            box = render_box(layer, psd)
            px = _area(box)
            check_pixels(file, box[2] - box[0], box[3] - box[1], max_pixels, f"layer '{layer.name}'")
            kept += px * per_px
            if solid_fill(layer) is not None:  # drawn at uint8: its alpha plane and a cropped copy
                own = px * 5
            else:  # psd-tools' float canvas over the box, then a cropped copy
                own = px * 4 + px * RENDER_BYTES_PER_PIXEL
        else:
            px = _area(layer.bbox)
            kept += px * per_px
            layer_channels = max(1, len(getattr(layer._record, "channel_info", ())))
            own = px * (layer_channels * sample + 8 + (16 if header.depth == 32 else 0))
        masks = 0
        if layer.has_mask():
            mask = layer.mask
            masks = _area(mask.bbox) * 5 + px * 12
        transient = max(transient, own + masks)
    total = kept + transient + canvas * per_px  # the composite every view and save makes
    what = f"a {header.width}x{header.height} canvas and {count} layer{'s' if count != 1 else ''}"
    return total, what


# ----- solid-colour fill layers, drawn without psd-tools' full-size float canvas --------------
def solid_fill(layer) -> tuple[tuple[float, ...], object] | None:
    """(colour as psd-tools reads it, mask or None) when the layer is a plain solid-colour fill.

    psd-tools paints a fill over the layer's whole box in float32 whatever
    viewport it is asked for (3 GB and more for a 16384-pixel canvas), so a
    solid fill without effects, vector mask or mask feather/density is drawn
    here: one colour, its mask, its fill opacity, at uint8. Anything else
    returns None and goes to psd-tools.
    """
    try:
        from psd_tools.api.adjustments import SolidColorFill
        from psd_tools.composite.paint import _get_color
    except ImportError:
        return None
    if not isinstance(layer, SolidColorFill) or layer.has_effects(enabled=True) \
            or layer.has_vector_mask() or layer.has_pixels():
        return None
    mask = None
    if layer.has_mask() and not layer.mask.disabled:
        mask = layer.mask
        params = mask.parameters
        if params is not None and ((params.user_mask_density not in (None, 255))
                                   or params.user_mask_feather):
            return None
    try:
        from psd_tools.constants import Tag
        desc = layer.tagged_blocks.get_data(Tag.SOLID_COLOR_SHEET_SETTING)
        color = tuple(float(v) for v in _get_color(layer._psd.color_mode, desc))
    except Exception:  # no or odd colour descriptor: psd-tools' renderer decides
        return None
    return color, mask


def solid_fill_alpha(layer, mask, box: tuple[int, int, int, int]) -> np.ndarray | int:
    """Coverage of a solid fill over ``box`` (uint8): its mask, decoded at the mask's own size,
    and its fill opacity; a plain int when it is the same everywhere."""
    l, t, r, b = box
    fill = layer.fill_opacity / 255.0 if hasattr(layer, "fill_opacity") else 1.0
    if mask is None:
        return int(round(255 * fill))
    out = np.full((b - t, r - l), mask.background_color, np.uint8)
    im = mask.topil()
    if im is not None:
        plane = np.asarray(im.convert("L"))
        ml, mt = mask.left, mask.top
        il, it = max(l, ml), max(t, mt)
        ir, ib = min(r, ml + plane.shape[1]), min(b, mt + plane.shape[0])
        if ir > il and ib > it:
            out[it - t:ib - t, il - l:ir - l] = plane[it - mt:ib - mt, il - ml:ir - ml]
    if fill < 1.0:
        out = np.round(out * np.float32(fill)).astype(np.uint8)
    return out


def fill_solid(out: np.ndarray, rgb, alpha: np.ndarray | int) -> None:
    """Fill an (H, W, 4) uint8 array with one colour and ``alpha``, as whole 32-bit pixels.

    Writing 3- and 1-byte strided slices of a 16384x16384 array takes tens
    of seconds; one 32-bit store per pixel, in bands, takes well under one.
    """
    r, g, b = (int(v) for v in rgb)
    if isinstance(alpha, (int, np.integer)):
        out.view(np.uint32).fill(np.array([r, g, b, int(alpha)], np.uint8).view(np.uint32)[0])
        return
    if sys.byteorder != "little":
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = r, g, b, alpha
        return
    value = np.uint32(r | (g << 8) | (b << 16))
    words = out.view(np.uint32)[..., 0]
    step = max(1, (1 << 22) // max(1, out.shape[1]))
    for top in range(0, out.shape[0], step):
        band = alpha[top:top + step].astype(np.uint32)
        band <<= np.uint32(24)
        band |= value
        words[top:top + step] = band

"""Write a :class:`Document` as a Photoshop file, the way Photoshop writes one.

RGB colour mode, 8 bits, with real transparency: each layer has a
transparency channel (id -1) next to R, G and B, and the merged image has a
fourth channel holding the composite's alpha (the negative layer count tells
readers so). Channels are RLE (PackBits) compressed with psd-tools'
C-accelerated codec. Per layer we store the name (MacRoman plus a 'luni'
block for unicode), offset (may be negative or beyond the canvas), opacity,
visibility, blend mode and lock ('lspf'). Zero-size layers are written with
empty channels, as Photoshop does.

The merged image (our compositor's result, stored over white as Photoshop
does) and a JPEG thumbnail resource are what ``topil()``, file previews and
thumbnails show. Files over 30000 pixels a side are written as PSB.

The file is produced in one pass with the channel lengths patched in
afterwards, so memory stays at one channel's compressed data at a time.
"""

from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO

import cv2
import numpy as np

from ..document import Document, composite
from .atomic import atomic_write

PSD_MAX_SIDE = 30000
_BLENDING_RANGES = b"\x00\x00\xff\xff" * 10  # composite gray + 4 channels, source and dest: all pass
_CHANNELS = (-1, 0, 1, 2)  # transparency first, as Photoshop orders them


def _pascal_name(name: str) -> bytes:
    raw = name.encode("mac_roman", errors="replace")[:255]
    data = bytes([len(raw)]) + raw
    return data + b"\x00" * (-len(data) % 4)


def _tagged_block(key: bytes, data: bytes) -> bytes:
    data += b"\x00" * (-len(data) % 4)
    return b"8BIM" + key + struct.pack(">I", len(data)) + data


def _unicode_string(text: str) -> bytes:
    units = text.encode("utf-16-be")
    return struct.pack(">I", len(units) // 2) + units


def _resource(res_id: int, data: bytes) -> bytes:
    block = b"8BIM" + struct.pack(">H", res_id) + b"\x00\x00" + struct.pack(">I", len(data)) + data
    return block + b"\x00" * (len(data) % 2)


def _rle_channel(plane: np.ndarray, version: int) -> tuple[bytes, bytes]:
    """PackBits-encode one (H, W) uint8 plane: (row byte counts, row data).

    Rows go through psd-tools' compiled codec; rows of one value (transparent
    areas, flat colour) are encoded once per value and reused.
    """
    try:
        from psd_tools.compression import rle_impl
        encode = rle_impl.encode
    except ImportError:  # pragma: no cover - older psd-tools: its public per-channel API
        from psd_tools.compression import encode_rle
        h, w = plane.shape
        data = encode_rle(np.ascontiguousarray(plane).tobytes(), w, h, 8, version)
        return data[:h * (2 if version == 1 else 4)], data[h * (2 if version == 1 else 4):]
    h = plane.shape[0]
    flat_rows = plane.min(axis=1) == plane.max(axis=1)
    cache: dict[int, bytes] = {}
    rows = []
    for r in range(h):
        if flat_rows[r]:
            value = int(plane[r, 0])
            row = cache.get(value)
            if row is None:
                row = cache[value] = encode(plane[r].tobytes())
        else:
            row = encode(plane[r].tobytes())
        rows.append(row)
    counts = np.fromiter(map(len, rows), np.int64, count=h)
    if version == 1 and counts.max(initial=0) > 0xFFFF:
        raise ValueError("row too long for a PSD")
    return counts.astype(">u2" if version == 1 else ">u4").tobytes(), b"".join(rows)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Colour composited over white, as Photoshop stores the merged image.

    ``c a + 255 (1 - a) = 255 - a (255 - c)``, rounded; OpenCV's scaled
    multiply rounds exactly like ``(c a + 255 (255 - a) + 127) // 255``.
    """
    inv = cv2.bitwise_not(np.ascontiguousarray(rgba[..., :3]))
    alpha = np.ascontiguousarray(rgba[..., 3])
    prod = cv2.multiply(inv, cv2.merge([alpha, alpha, alpha]), scale=1.0 / 255.0)
    return cv2.bitwise_not(prod)


def _thumbnail_resource(color: np.ndarray) -> bytes:
    from PIL import Image

    im = Image.fromarray(color, "RGB")
    im.thumbnail((160, 160))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    jpeg = buf.getvalue()
    w, h = im.size
    row = (w * 24 + 31) // 32 * 4
    head = struct.pack(">IIIIIIHH", 1, w, h, row, row * h, len(jpeg), 24, 1)
    return _resource(1036, head + jpeg)


def _image_resources() -> bytes:
    resolution = struct.pack(">IHHIHH", 72 << 16, 1, 1, 72 << 16, 1, 1)
    version_info = (struct.pack(">IB", 1, 1) + _unicode_string("QIL Editor")
                    + _unicode_string("Adobe Photoshop") + struct.pack(">I", 1))
    return _resource(1005, resolution) + _resource(1057, version_info)


def _mask_block(mask, own_default: bool = True) -> bytes:
    """The layer record's mask data (psd-tools' encoder), empty when there is no mask."""
    if mask is None:
        return struct.pack(">I", 0)
    from psd_tools.psd.layer_and_mask import MaskData, MaskFlags, MaskParameters

    l, t, r, b = mask.bbox
    params = None
    if mask.density < 1.0 or mask.feather > 0.0:
        params = MaskParameters(
            user_mask_density=int(round(mask.density * 255)) if mask.density < 1.0 else None,
            user_mask_feather=mask.feather if mask.feather > 0.0 else None)
    data = MaskData(top=t, left=l, bottom=b, right=r, background_color=mask.default,
                    flags=MaskFlags(mask_disabled=mask.disabled,
                                    parameters_applied=params is not None),
                    parameters=params)
    buf = io.BytesIO()
    data.write(buf)
    return buf.getvalue()


def _layer_channels(layer) -> list[tuple[int, np.ndarray | None]]:
    """(channel id, plane) in Photoshop's order; None for an empty plane."""
    planes = cv2.split(layer.pixels) if layer.width and layer.height else None
    out = [(cid, None if planes is None else planes[3 if cid == -1 else cid]) for cid in _CHANNELS]
    if layer.mask is not None:
        m = layer.mask.pixels
        out.append((-2, m if m.size else None))
    return out


def _layer_record(layer, version: int, layer_id: int, name: str | None = None,
                  opacity: float | None = None) -> tuple[bytes, list[int]]:
    """The layer record; also the byte offsets (within it) of the channel length fields.

    ``name`` and ``opacity`` override the layer's (a layer inside a group
    stores its own values, not the ones shown flattened).
    """
    h, w = layer.height, layer.width
    top, left = layer.y, layer.x
    if w == 0 or h == 0:
        bottom, right = top, left
    else:
        bottom, right = top + h, left + w
    channels = _layer_channels(layer)
    out = bytearray(struct.pack(">iiiiH", top, left, bottom, right, len(channels)))
    length_at = []
    for cid, _plane in channels:
        out += struct.pack(">h", cid)
        length_at.append(len(out))
        out += b"\x00" * (4 if version == 1 else 8)
    flags = 0x08 | (0x00 if layer.visible else 0x02)
    op = layer.opacity if opacity is None else opacity
    out += b"8BIM" + layer.blend_mode.psd_key + struct.pack(
        ">BBBB", int(round(op * 255)), 1 if layer.clipping else 0, flags, 0)
    name = layer.name if name is None else name
    extra = bytearray(_mask_block(layer.mask))
    extra += struct.pack(">I", len(_BLENDING_RANGES)) + _BLENDING_RANGES
    extra += _pascal_name(name)
    extra += _tagged_block(b"luni", _unicode_string(name))
    extra += _tagged_block(b"lyid", struct.pack(">I", layer_id))
    extra += _tagged_block(b"lspf", struct.pack(">I", 0x80000000 if layer.locked else 0))
    if layer.fill_opacity < 1.0:
        extra += _tagged_block(b"iOpa", struct.pack(">B3x", int(round(layer.fill_opacity * 255))))
    out += struct.pack(">I", len(extra)) + extra
    return bytes(out), length_at


def _encode_plane(plane: np.ndarray | None, version: int) -> bytes:
    """One channel's data: compression tag + RLE rows (raw and empty for an empty plane)."""
    if plane is None:
        return struct.pack(">H", 0)
    counts, data = _rle_channel(np.ascontiguousarray(plane), version)
    return struct.pack(">H", 1) + counts + data


def _patch(fh: BinaryIO, pos: int, fmt: str, value: int) -> None:
    here = fh.tell()
    fh.seek(pos)
    fh.write(struct.pack(fmt, value))
    fh.seek(here)


def write_psd(doc: Document, fh: BinaryIO, *, flat: np.ndarray | None = None) -> None:
    """Write ``doc`` to a seekable binary file (see the module docstring)."""
    version = 2 if max(doc.width, doc.height) > PSD_MAX_SIDE else 1
    long_fmt = ">I" if version == 1 else ">Q"
    if flat is None:
        flat = composite(doc)

    fh.write(b"8BPS" + struct.pack(">H6xHIIHH", version, 4, doc.height, doc.width, 8, 3))
    fh.write(struct.pack(">I", 0))  # colour mode data
    color = _over_white(flat)
    resources = _image_resources() + _thumbnail_resource(color)
    fh.write(struct.pack(">I", len(resources)) + resources)

    # ----- layer and mask information ------------------------------------
    section_at = fh.tell()
    fh.write(struct.pack(long_fmt, 0))
    info_at = fh.tell()
    fh.write(struct.pack(long_fmt, 0))
    layers = doc.layers
    fh.write(struct.pack(">h", -len(layers)))  # negative: merged alpha is transparency
    length_fields: list[list[int]] = []
    for i, layer in enumerate(layers):
        record_at = fh.tell()
        record, offsets = _layer_record(layer, version, i + 1)
        fh.write(record)
        length_fields.append([record_at + off for off in offsets])
    for layer, fields in zip(layers, length_fields):
        for (_cid, plane), field_at in zip(_layer_channels(layer), fields):
            data = _encode_plane(plane, version)
            fh.write(data)
            _patch(fh, field_at, long_fmt, len(data))
    info_len = fh.tell() - info_at - (4 if version == 1 else 8)
    if info_len % 4:
        fh.write(b"\x00" * (4 - info_len % 4))
        info_len += 4 - info_len % 4
    _patch(fh, info_at, long_fmt, info_len)
    fh.write(struct.pack(">I", 0))  # global layer mask info
    _patch(fh, section_at, long_fmt, fh.tell() - section_at - (4 if version == 1 else 8))

    # ----- merged image: R, G, B over white, then alpha ---------------------
    fh.write(struct.pack(">H", 1))
    counts_at = fh.tell()
    count_bytes = doc.height * (2 if version == 1 else 4)
    fh.write(b"\x00" * (4 * count_bytes))
    all_counts = []
    for plane in (*cv2.split(color), cv2.extractChannel(flat, 3)):
        counts, data = _rle_channel(plane, version)
        all_counts.append(counts)
        fh.write(data)
    end = fh.tell()
    fh.seek(counts_at)
    fh.write(b"".join(all_counts))
    fh.seek(end)


def save_psd(doc: Document, path: str | os.PathLike) -> None:
    """Save ``doc`` as a PSD (PSB when a side exceeds 30000 px), atomically."""
    with atomic_write(path) as fh:
        write_psd(doc, fh)

"""Write a :class:`Document` as a Photoshop file, the way Photoshop writes one.

RGB colour mode, 8 bits, with real transparency: each layer has a
transparency channel (id -1) next to R, G and B, and the merged image has a
fourth channel holding the composite's alpha (the negative layer count tells
readers so). Channels are RLE (PackBits) compressed with psd-tools'
C-accelerated codec. Per layer we store the name (MacRoman plus a 'luni'
block for unicode), offset (may be negative or beyond the canvas), opacity,
visibility, blend mode, lock ('lspf'), mask, clipping and fill opacity;
document groups become Photoshop groups (a divider record, the children,
then the group's record with its 'lsct' section block). Zero-size layers are written with
empty channels, as Photoshop does.

The merged image (our compositor's result, stored over white as Photoshop
does) and a JPEG thumbnail resource are what ``topil()``, file previews and
thumbnails show. Files over 30000 pixels a side are written as PSB.

The file is produced in one pass with the channel lengths and row counts
patched in afterwards: channels are encoded row by row straight into the
file from views of the layer pixels, and the merged image is composited in
strips of rows into temporary files (one per channel, since a PSD stores it
channel after channel) while the thumbnail is reduced from the same strips.
So saving needs little beyond the document itself, even at the pixel limit.

A document opened from an 8/16-bit RGB PSD (``doc.source``) is instead
written over the file's own parsed records (``_write_from_source``): every
untouched layer and group is the record read, with its channel data (live
text, effects, smart objects, adjustment and fill layers, vector masks,
clipping and blend ranges keep working in Photoshop); a changed layer keeps
its record with only what the user changed re-encoded; file resources and
global blocks stay. ``doc.save_losses()`` names what still becomes pixels.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import tempfile
from typing import BinaryIO, Callable

import numpy as np

from ..document import Document, Group, composite
from ..document.compositing import lone_layer_pixels as _lone_layer_pixels
from .atomic import atomic_write

PSD_MAX_SIDE = 30000
_BLENDING_RANGES = b"\x00\x00\xff\xff" * 10  # composite gray + 4 channels, source and dest: all pass
_CHANNELS = (-1, 0, 1, 2)  # transparency first, as Photoshop orders them
_STRIP_ROWS = 256  # merged image rows composited and encoded at a time (a multiple of BAND_ROWS)


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


def _rle_stream(plane: np.ndarray, write: Callable[[bytes], object]) -> np.ndarray:
    """PackBits-encode the rows of an (H, W) uint8 plane, handing each row's bytes to ``write``;
    returns the row byte counts. The plane may be a strided view (one channel of RGBA pixels):
    only one row is copied at a time.

    Rows go through psd-tools' compiled codec; rows of one value (transparent
    areas, flat colour) are encoded once per value and reused.
    """
    h = plane.shape[0]
    try:
        from psd_tools.compression import rle_impl
        encode = rle_impl.encode
    except ImportError:  # pragma: no cover - older psd-tools: its public per-channel API
        from psd_tools.compression import encode_rle
        w = plane.shape[1]
        data = encode_rle(np.ascontiguousarray(plane).tobytes(), w, h, 8, 2)
        write(data[4 * h:])
        return np.frombuffer(data[:4 * h], ">u4").astype(np.int64)
    counts = np.empty(h, np.int64)
    if h == 0:
        return counts
    flat_rows = plane.min(axis=1) == plane.max(axis=1)
    cache: dict[int, bytes] = {}
    for r in range(h):
        if flat_rows[r]:
            value = int(plane[r, 0])
            row = cache.get(value)
            if row is None:
                row = cache[value] = encode(plane[r].tobytes())
        else:
            row = encode(plane[r].tobytes())
        counts[r] = len(row)
        write(row)
    return counts


def _count_bytes(counts: np.ndarray, version: int) -> bytes:
    """Row byte counts as the file stores them (16-bit in a PSD, 32-bit in a PSB)."""
    if version == 1 and counts.max(initial=0) > 0xFFFF:
        raise ValueError("row too long for a PSD")
    return counts.astype(">u2" if version == 1 else ">u4").tobytes()


def _rle_channel(plane: np.ndarray, version: int) -> tuple[bytes, bytes]:
    """PackBits-encode one (H, W) uint8 plane: (row byte counts, row data), in memory
    (for psd-tools' records; ``write_psd`` streams with ``_rle_stream`` instead)."""
    rows: list[bytes] = []
    counts = _rle_stream(plane, rows.append)
    return _count_bytes(counts, version), b"".join(rows)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Colour composited over white, as Photoshop stores the merged image.

    ``c a + 255 (1 - a) = 255 - a (255 - c)``, rounded; OpenCV's scaled
    multiply rounds exactly like ``(c a + 255 (255 - a) + 127) // 255``.
    """
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    inv = cv2.bitwise_not(np.ascontiguousarray(rgba[..., :3]))
    alpha = np.ascontiguousarray(rgba[..., 3])
    prod = cv2.multiply(inv, cv2.merge([alpha, alpha, alpha]), scale=1.0 / 255.0)
    return cv2.bitwise_not(prod)


class _Thumbnail:
    """The 160 px JPEG preview resource, fed the over-white picture strip by strip.

    Pillow's ``thumbnail`` first box-reduces by whole factors (``reduce``)
    and then resizes bicubically; the reduction is done here on each strip
    (whole blocks of rows), so only the reduced picture is kept and the
    result is the one ``thumbnail`` makes from the whole picture.
    """

    SIZE, GAP = 160, 2.0

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.final = self._final_size(width, height)
        if self.final is None:
            self.fx = self.fy = 1
        else:
            self.fx = int(width / self.final[0] / self.GAP) or 1
            self.fy = int(height / self.final[1] / self.GAP) or 1
        self.parts: list[np.ndarray] = []
        self.pending: np.ndarray | None = None

    @classmethod
    def _final_size(cls, w: int, h: int) -> tuple[int, int] | None:
        """``Image.thumbnail``'s target size (aspect kept), None when the picture fits."""
        x = y = cls.SIZE
        if x >= w and y >= h:
            return None
        aspect = w / h

        def round_aspect(number, key):
            return max(min(math.floor(number), math.ceil(number), key=key), 1)
        if x / y >= aspect:
            x = round_aspect(y * aspect, key=lambda n: abs(aspect - n / y))
        else:
            y = round_aspect(x / aspect, key=lambda n: 0 if n == 0 else abs(aspect - x / n))
        return x, y

    def _reduce(self, rows: np.ndarray) -> np.ndarray:
        from PIL import Image
        if self.fx == 1 and self.fy == 1:
            return rows.copy()
        return np.asarray(Image.fromarray(rows, "RGB").reduce((self.fx, self.fy)))

    def add(self, color: np.ndarray) -> None:
        """The next rows of the (H, W, 3) over-white picture."""
        if self.pending is not None:
            color = np.concatenate([self.pending, color])
            self.pending = None
        whole = color.shape[0] // self.fy * self.fy
        if whole:
            self.parts.append(self._reduce(np.ascontiguousarray(color[:whole])))
        if whole < color.shape[0]:
            self.pending = color[whole:].copy()

    def resource(self) -> bytes:
        from PIL import Image
        if self.pending is not None:  # the last, partial block of rows: reduce averages what is there
            self.parts.append(self._reduce(self.pending))
            self.pending = None
        im = Image.fromarray(np.concatenate(self.parts) if len(self.parts) != 1 else self.parts[0], "RGB")
        self.parts = []
        if self.final is not None and (self.width, self.height) != self.final:
            box = (0, 0, self.width / self.fx, self.height / self.fy)
            im = im.resize(self.final, Image.Resampling.BICUBIC, box=box)
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
    """(channel id, plane) in Photoshop's order; None for an empty plane. The planes are
    views of the layer's pixels (nothing is copied; the encoder copies a row at a time)."""
    px = layer.pixels if layer.width and layer.height else None
    out = [(cid, None if px is None else px[..., 3 if cid == -1 else cid]) for cid in _CHANNELS]
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


def _group_record(group, version: int, layer_id: int, bounding: bool) -> tuple[bytes, list[int], list]:
    """A group's head record (``bounding`` False) or its closing divider, as Photoshop writes
    them: empty channels, a 'lsct' section block (1 open folder, 3 divider) with the blend
    mode, and the group's mask on the head. Returns (record, channel length offsets, planes)."""
    planes: list = [None] * len(_CHANNELS)
    channels = list(_CHANNELS)
    mask = None if bounding else group.mask
    if mask is not None:
        channels.append(-2)
        planes.append(mask.pixels if mask.pixels.size else None)
    out = bytearray(struct.pack(">iiiiH", 0, 0, 0, 0, len(channels)))
    length_at = []
    for cid in channels:
        out += struct.pack(">h", cid)
        length_at.append(len(out))
        out += b"\x00" * (4 if version == 1 else 8)
    key = b"norm" if bounding else (b"pass" if group.blend_mode is None else group.blend_mode.psd_key)
    visible = True if bounding else group.visible
    opacity = 255 if bounding else int(round(group.opacity * 255))
    out += b"8BIM" + key + struct.pack(">BBBB", opacity, 0, 0x08 | (0 if visible else 0x02), 0)
    name = "</Layer group>" if bounding else group.name
    extra = bytearray(_mask_block(mask))
    extra += struct.pack(">I", len(_BLENDING_RANGES)) + _BLENDING_RANGES
    extra += _pascal_name(name)
    extra += _tagged_block(b"luni", _unicode_string(name))
    extra += _tagged_block(b"lyid", struct.pack(">I", layer_id))
    section = struct.pack(">I", 3) if bounding else struct.pack(">I", 1) + b"8BIM" + key
    extra += _tagged_block(b"lsct", section)
    out += struct.pack(">I", len(extra)) + extra
    return bytes(out), length_at, planes


def _empty_groups(doc: Document) -> dict:
    """Groups with no layer anywhere inside, by parent id (they have no place in the layer
    order, so the writers put them at the top of their parent)."""
    used = set()
    for layer in doc.layers:
        used.update(g.id for g in doc.layer_chain(layer))
    out: dict = {}
    for group in doc.groups.values():
        if group.id not in used:
            out.setdefault(group.parent, []).append(group)
    return out


def _plain_items(doc: Document, version: int) -> list[tuple[bytes, list[int], list]]:
    """Every record of a document in file order (bottom first), groups as Photoshop nests them."""
    items = []
    stack: list = []
    next_id = 1

    empty = _empty_groups(doc)

    def empty_top(parent_id):  # groups with no layers: at the top of their parent
        nonlocal next_id
        for group in empty.get(parent_id, ()):
            items.append(_group_record(group, version, next_id, bounding=True))
            next_id += 1
            empty_top(group.id)
            items.append(_group_record(group, version, next_id, bounding=False))
            next_id += 1

    def close():
        nonlocal next_id
        group = stack.pop()
        empty_top(group.id)
        items.append(_group_record(group, version, next_id, bounding=False))
        next_id += 1

    for layer in doc.layers:
        chain = doc.layer_chain(layer) if layer.group is not None else []
        common = 0
        while common < min(len(stack), len(chain)) and stack[common] is chain[common]:
            common += 1
        while len(stack) > common:
            close()
        for group in chain[common:]:
            items.append(_group_record(group, version, next_id, bounding=True))
            next_id += 1
            stack.append(group)
        record, offsets = _layer_record(layer, version, next_id)
        next_id += 1
        items.append((record, offsets, [plane for _cid, plane in _layer_channels(layer)]))
    while stack:
        close()
    empty_top(None)
    return items


def _write_plane(fh: BinaryIO, plane: np.ndarray | None, version: int) -> int:
    """Write one channel's data (compression tag, row counts, RLE rows; raw and empty for an
    empty plane) straight into ``fh``, the counts patched in after the rows; returns its length."""
    if plane is None:
        fh.write(struct.pack(">H", 0))
        return 2
    start = fh.tell()
    fh.write(struct.pack(">H", 1))
    counts_at = fh.tell()
    fh.write(b"\x00" * (plane.shape[0] * (2 if version == 1 else 4)))
    counts = _rle_stream(plane, fh.write)
    end = fh.tell()
    fh.seek(counts_at)
    fh.write(_count_bytes(counts, version))
    fh.seek(end)
    return end - start


def _merged_channels(doc: Document, flat: np.ndarray | None, version: int,
                     thumb: _Thumbnail) -> tuple[list, list[bytes]]:
    """The merged image's R, G, B (over white) and alpha, RLE-encoded into one temporary file
    each, composited ``_STRIP_ROWS`` rows at a time (or sliced from ``flat``); the thumbnail is
    fed the same strips. Returns (files, row counts per channel)."""
    if flat is None:
        flat = _lone_layer_pixels(doc)
    files = [tempfile.TemporaryFile(prefix="qil-merged-") for _ in range(4)]
    try:
        counts: list[list[np.ndarray]] = [[], [], [], []]
        for y0 in range(0, doc.height, _STRIP_ROWS):
            y1 = min(doc.height, y0 + _STRIP_ROWS)
            strip = flat[y0:y1] if flat is not None else composite(doc, (0, y0, doc.width, y1))
            color = _over_white(strip)
            thumb.add(color)
            for c, plane in enumerate((color[..., 0], color[..., 1], color[..., 2], strip[..., 3])):
                counts[c].append(_rle_stream(plane, files[c].write))
            del strip, color
        merged = [np.concatenate(c) if c else np.empty(0, np.int64) for c in counts]
        return files, [_count_bytes(c, version) for c in merged]
    except BaseException:
        for f in files:
            f.close()
        raise


def _patch(fh: BinaryIO, pos: int, fmt: str, value: int) -> None:
    here = fh.tell()
    fh.seek(pos)
    fh.write(struct.pack(fmt, value))
    fh.seek(here)


def write_psd(doc: Document, fh: BinaryIO, *, flat: np.ndarray | None = None) -> None:
    """Write ``doc`` to a seekable binary file (see the module docstring).

    A document opened from an 8/16-bit RGB PSD is written over its parsed
    records instead, keeping every untouched layer as it was read.
    """
    if _lossless_possible(doc):
        _write_from_source(doc, fh, flat)
        return
    version = 2 if max(doc.width, doc.height) > PSD_MAX_SIDE else 1
    # the merged image first (its thumbnail goes in the resources, before the layers)
    thumb = _Thumbnail(doc.width, doc.height)
    merged_files, merged_counts = _merged_channels(doc, flat, version, thumb)
    try:
        _write_plain(doc, fh, version, thumb, merged_files, merged_counts)
    finally:
        for f in merged_files:
            f.close()


def _write_plain(doc: Document, fh: BinaryIO, version: int, thumb: _Thumbnail,
                 merged_files: list, merged_counts: list[bytes]) -> None:
    long_fmt = ">I" if version == 1 else ">Q"
    fh.write(b"8BPS" + struct.pack(">H6xHIIHH", version, 4, doc.height, doc.width, 8, 3))
    fh.write(struct.pack(">I", 0))  # colour mode data
    resources = _image_resources() + thumb.resource()
    fh.write(struct.pack(">I", len(resources)) + resources)

    # ----- layer and mask information ------------------------------------
    section_at = fh.tell()
    fh.write(struct.pack(long_fmt, 0))
    info_at = fh.tell()
    fh.write(struct.pack(long_fmt, 0))
    items = _plain_items(doc, version)
    fh.write(struct.pack(">h", -len(items)))  # negative: merged alpha is transparency
    length_fields: list[list[int]] = []
    for record, offsets, _planes in items:
        record_at = fh.tell()
        fh.write(record)
        length_fields.append([record_at + off for off in offsets])
    for (_record, _offsets, planes), fields in zip(items, length_fields):
        for plane, field_at in zip(planes, fields):
            _patch(fh, field_at, long_fmt, _write_plane(fh, plane, version))
    info_len = fh.tell() - info_at - (4 if version == 1 else 8)
    if info_len % 4:
        fh.write(b"\x00" * (4 - info_len % 4))
        info_len += 4 - info_len % 4
    _patch(fh, info_at, long_fmt, info_len)
    fh.write(struct.pack(">I", 0))  # global layer mask info
    _patch(fh, section_at, long_fmt, fh.tell() - section_at - (4 if version == 1 else 8))

    # ----- merged image: R, G, B over white, then alpha ---------------------
    fh.write(struct.pack(">H", 1))
    fh.write(b"".join(merged_counts))
    for f in merged_files:
        f.seek(0)
        shutil.copyfileobj(f, fh, 1 << 20)


def save_psd(doc: Document, path: str | os.PathLike) -> None:
    """Save ``doc`` as a PSD (PSB when a side exceeds 30000 px), atomically."""
    with atomic_write(path) as fh:
        write_psd(doc, fh)


# ----- writing back a document opened from a PSD ---------------------------------
# Tagged blocks that describe what a layer's pixels *are* (live text, shapes,
# smart objects, effects, fills, adjustments): a layer whose pixels changed
# is written as plain pixels, without them (``source.save_losses`` names it).


def _lossless_possible(doc: Document) -> bool:
    source = getattr(doc, "source", None)
    return source is not None and source.lossless and (
        max(doc.width, doc.height) <= PSD_MAX_SIDE or source.version == 2)


def _plane_data(plane: np.ndarray | None, version: int, depth: int):
    """A psd-tools ChannelData for one uint8 plane at the file's depth."""
    from psd_tools.constants import Compression
    from psd_tools.psd.layer_and_mask import ChannelData

    if plane is None:
        return ChannelData(Compression.RAW, b"")
    if depth == 8:
        counts, data = _rle_channel(plane, version)
        return ChannelData(Compression.RLE, counts + data)
    wide = plane.astype(">u2") * np.uint16(257)
    return ChannelData(Compression.RAW, wide.tobytes())


def _plain_entry(layer, version: int, depth: int, layer_id: int, name: str, opacity: float):
    """A new pixel layer as psd-tools (record, channels), encoded like ``write_psd`` does."""
    from psd_tools.psd.layer_and_mask import ChannelDataList, LayerRecord

    rec_bytes, _offsets = _layer_record(layer, version, layer_id, name=name, opacity=opacity)
    record = LayerRecord.read(io.BytesIO(rec_bytes), encoding="macroman", version=version)
    channels = ChannelDataList([_plane_data(plane, version, depth)
                                for _cid, plane in _layer_channels(layer)])
    return record, channels


def _same_mask_content(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (a.pixels is b.pixels and (a.default, a.density, a.feather, a.disabled)
            == (b.default, b.density, b.feather, b.disabled))


def _shift_live(record, dx: int, dy: int, width: int, height: int) -> None:
    """Move what a record places in document coordinates besides its box:
    the text transform, vector-mask knots and a smart object's corners."""
    from psd_tools.constants import Tag

    blocks = record.tagged_blocks
    text = blocks.get_data(Tag.TYPE_TOOL_OBJECT_SETTING)
    if text is not None:
        t = list(text.transform)
        t[4] += dx
        t[5] += dy
        text.transform = tuple(t)
    for key in (Tag.VECTOR_MASK_SETTING1, Tag.VECTOR_MASK_SETTING2):
        vmask = blocks.get_data(key)
        if vmask is None:
            continue
        for sub in vmask.path:
            for knot in (sub if isinstance(sub, list) or hasattr(sub, "__iter__") else ()):
                for attr_name in ("preceding", "anchor", "leaving"):
                    point = getattr(knot, attr_name, None)
                    if point is not None:
                        setattr(knot, attr_name, (point[0] + dy / height, point[1] + dx / width))
    for key in (Tag.PLACED_LAYER1, Tag.PLACED_LAYER2):
        placed = blocks.get_data(key)
        if placed is not None and getattr(placed, "transform", None):
            placed.transform = tuple(v + (dx if i % 2 == 0 else dy)
                                     for i, v in enumerate(placed.transform))
    for key in (Tag.SMART_OBJECT_LAYER_DATA1, Tag.SMART_OBJECT_LAYER_DATA2):
        so = blocks.get_data(key)
        data = getattr(so, "data", None)
        if data is None:
            continue
        for name in (b"Trnf", b"nonAffineTransform"):
            values = data.get(name) if hasattr(data, "get") else None
            if values is None:
                continue
            for i, v in enumerate(values):
                if hasattr(v, "value"):
                    v.value = float(v.value) + (dx if i % 2 == 0 else dy)


def _changed_entry(layer, origin, source, layer_id: int):
    """A source layer the user changed: its record, edited where the user edited it."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    import copy

    from psd_tools.constants import BlendMode as PsdBlend
    from psd_tools.constants import Clipping, Tag
    from psd_tools.psd.layer_and_mask import ChannelDataList, ChannelInfo

    props = origin.props
    version, depth = source.version, source.depth
    own_name = layer.name[len(origin.prefix):] if (
        origin.prefix and layer.name.startswith(origin.prefix)) else layer.name
    inherited = origin.inherited_opacity
    own_opacity = min(1.0, layer.opacity / inherited) if inherited > 0 else layer.opacity
    pixels_changed = layer.pixels is not origin.pixels
    if pixels_changed and (origin.derived or origin.live):
        # its record describes pixels it no longer has: a plain pixel layer now
        # (a rendered layer's mask is already in its pixels: keep only a mask the user set)
        keep_mask = layer.mask if not origin.derived or not _same_mask_content(
            layer.mask, props["mask"]) else None
        return _plain_entry(layer.copy(mask=keep_mask), version, depth, layer_id, own_name,
                            own_opacity)
    rec = copy.deepcopy(origin.record)
    channels = ChannelDataList(list(origin.channels))
    dx, dy = layer.x - props["x"], layer.y - props["y"]
    if pixels_changed:
        planes = cv2.split(layer.pixels) if layer.width and layer.height else [None] * 4
        keep = [(info, data) for info, data in zip(rec.channel_info, channels) if info.id < -1]
        rec.channel_info = [ChannelInfo(cid, 0) for cid in _CHANNELS] + [i for i, _ in keep]
        channels = ChannelDataList(
            [_plane_data(planes[3 if cid == -1 else cid], version, depth) for cid in _CHANNELS]
            + [d for _, d in keep])
        rec.left, rec.top = layer.x, layer.y
        rec.right = layer.x + layer.width if layer.width and layer.height else layer.x
        rec.bottom = layer.y + layer.height if layer.width and layer.height else layer.y
    elif dx or dy:
        rec.left, rec.right, rec.top, rec.bottom = rec.left + dx, rec.right + dx, rec.top + dy, rec.bottom + dy
        _shift_live(rec, dx, dy, source.width, source.height)
    old_mask, new_mask = props["mask"], layer.mask
    if _same_mask_content(old_mask, new_mask):
        if new_mask is not None and rec.mask_data is not None:
            mdx, mdy = new_mask.x - old_mask.x, new_mask.y - old_mask.y
            md = rec.mask_data
            md.left, md.right, md.top, md.bottom = md.left + mdx, md.right + mdx, md.top + mdy, md.bottom + mdy
            if md.real_flags is not None:
                md.real_left, md.real_right = md.real_left + mdx, md.real_right + mdx
                md.real_top, md.real_bottom = md.real_top + mdy, md.real_bottom + mdy
    else:  # the user replaced the mask: write theirs as the layer's own
        pairs = [(i, d) for i, d in zip(rec.channel_info, channels) if i.id >= -1]
        from psd_tools.psd.layer_and_mask import MaskData
        if new_mask is None:
            rec.mask_data = None
        else:
            rec.mask_data = MaskData.read(io.BytesIO(_mask_block(new_mask)))
            plane = new_mask.pixels if new_mask.pixels.size else None
            pairs.append((ChannelInfo(-2, 0), _plane_data(plane, version, depth)))
        rec.channel_info = [i for i, _ in pairs]
        channels = ChannelDataList([d for _, d in pairs])
    if layer.name != props["name"]:
        try:
            own_name.encode("mac_roman")
            rec.name = own_name[:255]
        except UnicodeEncodeError:
            rec.name = "?"
        rec.tagged_blocks.set_data(Tag.UNICODE_LAYER_NAME, own_name)
    if layer.opacity != props["opacity"]:
        rec.opacity = int(round(own_opacity * 255))
    if layer.visible != props["visible"]:
        rec.flags.visible = bool(layer.visible)
    if layer.blend_mode != props["blend_mode"]:
        rec.blend_mode = PsdBlend(layer.blend_mode.psd_key)
    if layer.clipping != props["clipping"]:
        rec.clipping = Clipping.NON_BASE if layer.clipping else Clipping.BASE
    if layer.fill_opacity != props["fill_opacity"]:
        rec.tagged_blocks.set_data(Tag.BLEND_FILL_OPACITY, int(round(layer.fill_opacity * 255)))
    if layer.locked != props["locked"]:
        rec.tagged_blocks.set_data(Tag.PROTECTED_SETTING, 0x80000000 if layer.locked else 0)
    return rec, channels


def _chains(doc: Document, source) -> list[tuple]:
    """The PSD groups each document layer belongs in: its own, or for a layer
    the user added, those of the nearest source layer below it (else above)."""
    own = [source.origins[ly.id].chain if ly.id in source.origins else None for ly in doc.layers]
    out: list[tuple] = []
    for i, chain in enumerate(own):
        if chain is None:
            below = next((c for c in reversed(own[:i]) if c is not None), None)
            chain = below if below is not None else next((c for c in own[i + 1:] if c is not None), ())
        out.append(chain)
    return out


def _same_group(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] is b[k]) if k == "mask" else a[k] == b[k] for k in a)


def _same_group_structure(doc: Document, source) -> bool:
    """Document groups are the file's, nested as read, each layer in the group it was read in
    (values may differ). True for a flat document."""
    groups = doc.groups
    if set(groups) != set(source.group_origins):
        return False
    if any(g.parent != source.group_origins[gid].props["parent"] for gid, g in groups.items()):
        return False
    return all(ly.group == source.origins[ly.id].props.get("group")
               for ly in doc.layers if ly.id in source.origins)


def _parsed(item, version: int, depth: int):
    """A record built by ``_group_record`` as psd-tools (record, channels)."""
    from psd_tools.psd.layer_and_mask import ChannelDataList, LayerRecord

    rec_bytes, _offsets, planes = item
    record = LayerRecord.read(io.BytesIO(rec_bytes), encoding="macroman", version=version)
    return record, ChannelDataList([_plane_data(p, version, depth) for p in planes])


def _changed_group(group, origin, version: int, depth: int):
    """A file's group the user changed: its head record with the edited fields rewritten."""
    import copy

    from psd_tools.constants import BlendMode as PsdBlend
    from psd_tools.constants import Tag
    from psd_tools.psd.layer_and_mask import ChannelDataList, ChannelInfo, MaskData

    psd_group = origin.psd_group
    rec = copy.deepcopy(psd_group._record)
    channels = ChannelDataList(list(psd_group._channels))
    props = origin.props
    if group.name != props["name"]:
        try:
            group.name.encode("mac_roman")
            rec.name = group.name[:255]
        except UnicodeEncodeError:
            rec.name = "?"
        rec.tagged_blocks.set_data(Tag.UNICODE_LAYER_NAME, group.name)
    if group.opacity != props["opacity"]:
        rec.opacity = int(round(group.opacity * 255))
    if group.visible != props["visible"]:
        rec.flags.visible = bool(group.visible)
    if group.blend_mode != props["blend_mode"]:
        key = b"pass" if group.blend_mode is None else group.blend_mode.psd_key
        rec.blend_mode = PsdBlend(key)
        for tag in (Tag.SECTION_DIVIDER_SETTING, Tag.NESTED_SECTION_DIVIDER_SETTING):
            setting = rec.tagged_blocks.get_data(tag)
            if setting is not None and hasattr(setting, "blend_mode"):
                setting.blend_mode = PsdBlend(key)
                if hasattr(setting, "signature") and setting.signature is None:
                    setting.signature = b"8BIM"
    if group.mask is not props["mask"]:
        pairs = [(i, d) for i, d in zip(rec.channel_info, channels) if i.id >= -1]
        if group.mask is None:
            rec.mask_data = None
        else:
            rec.mask_data = MaskData.read(io.BytesIO(_mask_block(group.mask)))
            plane = group.mask.pixels if group.mask.pixels.size else None
            pairs.append((ChannelInfo(-2, 0), _plane_data(plane, version, depth)))
        rec.channel_info = [i for i, _ in pairs]
        channels = ChannelDataList([d for _, d in pairs])
    return rec, channels


def _write_from_source(doc: Document, fh: BinaryIO, flat: np.ndarray | None) -> None:
    """Write a document opened from a PSD back over the parsed file.

    Every layer and group the user did not change is the very record read
    (its tagged blocks: live text, effects, smart objects, adjustments; and
    its channel data); a changed layer keeps its record with only the edited
    fields changed; new layers are encoded as ``write_psd`` encodes them.
    File-level parts (resources, global blocks such as linked smart-object
    data and patterns) are kept; the merged image is recomposed only when
    something changed.
    """
    import attr
    from psd_tools.constants import Tag
    from psd_tools.psd.layer_and_mask import ChannelImageData, LayerRecords

    source = doc.source
    psd_rec = source.psd._record
    version, depth = source.version, source.depth
    used_ids = [source.origins[i].record.tagged_blocks.get_data(Tag.LAYER_ID, 0)
                for i in source.origins]
    next_id = max([int(v) for v in used_ids if isinstance(v, int)] + [0]) + 1
    untouched = ([ly.id for ly in doc.layers if ly.id not in source.synthetic] == source.order
                 and all(source.unchanged(ly) or ly.id in source.synthetic for ly in doc.layers)
                 and (doc.width, doc.height) == (source.width, source.height))

    records, channel_data = [], []

    def emit(rec, chans):
        records.append(rec)
        channel_data.append(chans)

    doc_groups = bool(doc.groups)

    def layer_entry(layer, chain):
        nonlocal next_id
        origin = source.origins.get(layer.id)
        if origin is not None and source.unchanged(layer):
            return origin.record, origin.channels
        if origin is not None:
            next_id += 1
            return _changed_entry(layer, origin, source, next_id - 1)
        name, opacity = layer.name, layer.opacity
        if not doc_groups:  # flat document: names carry the group path, opacity the groups'
            inherited = 1.0
            for group in chain:
                inherited *= group.opacity / 255.0
            prefix = "".join(f"{g.name}/" for g in chain)
            name = layer.name[len(prefix):] if prefix and layer.name.startswith(prefix) else layer.name
            opacity = min(1.0, layer.opacity / inherited) if inherited > 0 else layer.opacity
        next_id += 1
        return _plain_entry(layer, version, depth, next_id - 1, name, opacity)

    def group_entries(group):
        """((head record, channels), (divider record, channels)) of a chain element."""
        nonlocal next_id
        if not isinstance(group, Group):  # a psd-tools group of a flat document
            return (group._record, group._channels), (group._bounding_record, group._bounding_channels)
        origin = source.group_origins.get(group.id)
        if origin is not None:
            psd_group = origin.psd_group
            bound = (psd_group._bounding_record, psd_group._bounding_channels)
            if _same_group(group.properties(), origin.props):
                return (psd_group._record, psd_group._channels), bound
            return _changed_group(group, origin, version, depth), bound
        next_id += 2
        return (_parsed(_group_record(group, version, next_id - 2, bounding=False), version, depth),
                _parsed(_group_record(group, version, next_id - 1, bounding=True), version, depth))

    written = [ly for ly in doc.layers if ly.id not in source.synthetic]
    kept = [ly.id for ly in written if ly.id in source.origins]
    in_order = (len(kept) == len(written)
                and kept == [i for i in source.order if i in set(kept)]
                and _same_group_structure(doc, source))
    if in_order:
        # same layers in the same order (some may be gone) and the same groups:
        # walk the file's own record list, so groups, even empty ones, stay
        # exactly where they were; a group whose values changed gets them
        by_record = {id(source.origins[ly.id].record): ly for ly in written}
        leaf_records = {id(source.origins[i].record) for i in source.order}
        heads = {id(o.psd_group._record): gid for gid, o in source.group_origins.items()}
        for rec, chans in psd_rec._iter_layers():
            if id(rec) in by_record:
                emit(*layer_entry(by_record[id(rec)], ()))
            elif id(rec) in heads:
                gid = heads[id(rec)]
                group, origin = doc.groups[gid], source.group_origins[gid]
                if _same_group(group.properties(), origin.props):
                    emit(rec, chans)
                else:
                    emit(*_changed_group(group, origin, version, depth))
            elif id(rec) not in leaf_records:
                emit(rec, chans)  # a divider (or what we did not read as a layer)
    else:
        stack: list = []
        chains = ([doc.layer_chain(ly) for ly in doc.layers] if doc_groups
                  else _chains(doc, source))
        empty = _empty_groups(doc) if doc_groups else {}

        def emit_empty(parent_id):  # groups with no layers: at the top of their parent
            for group in empty.get(parent_id, ()):
                head, bound = group_entries(group)
                emit(*bound)
                emit_empty(group.id)
                emit(*head)

        def close():
            group, head = stack.pop()
            if doc_groups:
                emit_empty(group.id)
            emit(*head)

        for layer, chain in zip(doc.layers, chains):
            if layer.id in source.synthetic:
                continue  # its group's record draws it
            common = 0
            while common < min(len(stack), len(chain)) and stack[common][0] is chain[common]:
                common += 1
            while len(stack) > common:
                close()
            for group in chain[common:]:
                head, bound = group_entries(group)
                emit(*bound)
                stack.append((group, head))
            emit(*layer_entry(layer, chain))
        while stack:
            close()
        emit_empty(None)

    lmi = psd_rec.layer_and_mask_information
    old_info = psd_rec._get_layer_info()
    sign = -1 if old_info is None or old_info.layer_count <= 0 else 1
    new_info = attr.evolve(old_info, layer_count=sign * len(records),
                           layer_records=LayerRecords(records),
                           channel_image_data=ChannelImageData(channel_data)) if old_info is not None else None
    blocks = lmi.tagged_blocks
    if blocks is not None and any(k in blocks for k in (Tag.LAYER_16, Tag.LAYER_32)):
        blocks = type(blocks)(blocks.copy())
        key = Tag.LAYER_16 if Tag.LAYER_16 in blocks else Tag.LAYER_32
        blocks[key] = attr.evolve(blocks[key], data=new_info)
        new_lmi = attr.evolve(lmi, tagged_blocks=blocks)
    else:
        if new_info is None:
            from psd_tools.psd.layer_and_mask import LayerInfo
            new_info = LayerInfo(layer_count=-len(records), layer_records=LayerRecords(records),
                                 channel_image_data=ChannelImageData(channel_data))
        new_lmi = attr.evolve(lmi, layer_info=new_info)
    header = attr.evolve(psd_rec.header, width=doc.width, height=doc.height)
    resources = psd_rec.image_resources
    image = psd_rec.image_data
    if not untouched:
        image = _merged_image(doc, psd_rec, header, flat)
        resources = type(resources)(resources.copy())
        for key in list(resources.keys()):  # the stored thumbnail shows the old picture
            if int(key) in (1033, 1036):
                del resources[key]
    out = attr.evolve(psd_rec, header=header, image_resources=resources,
                      layer_and_mask_information=new_lmi, image_data=image)
    out.write(fh)


def _merged_image(doc: Document, psd_rec, header, flat: np.ndarray | None):
    """Our composite as the file's merged image, at its depth; saved selection
    channels are kept when the canvas size did not change."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    import attr

    if header.depth == 8:
        return _merged_image_rle(doc, psd_rec, header, flat)
    if flat is None:
        flat = composite(doc)
    color = _over_white(flat)
    planes = [*cv2.split(color)]
    if header.channels >= 4:
        planes.append(cv2.extractChannel(flat, 3))
    extra = _kept_extra_channels(psd_rec, header, len(planes))
    if header.depth == 16:
        data = [(p.astype(">u2") * np.uint16(257)).tobytes() for p in planes]
    else:
        data = [np.ascontiguousarray(p).tobytes() for p in planes]
    data += list(extra)
    channels = len(data)
    hdr = attr.evolve(header, channels=channels) if channels != header.channels else header
    from psd_tools.constants import Compression
    from psd_tools.psd.image_data import ImageData

    image = ImageData(compression=Compression.RLE if header.depth == 8 else Compression.RAW)
    image.set_data(data, hdr)
    return image


def _kept_extra_channels(psd_rec, header, planes: int) -> list[bytes]:
    """The old merged image's channels past ours (saved selections), raw, when the canvas
    size did not change; none when they cannot be read."""
    old = psd_rec.header
    if header.channels <= planes or (old.width, old.height) != (header.width, header.height):
        return []
    try:
        return list(psd_rec.image_data.get_data(old)[planes:header.channels])
    except Exception:  # an unreadable old merged image: drop the extras
        return []


def _merged_image_rle(doc: Document, psd_rec, header, flat: np.ndarray | None):
    """``_merged_image`` for an 8-bit file: composited ``_STRIP_ROWS`` rows at a time and
    RLE-encoded as it goes (the rows psd-tools' ``set_data`` would make), so only the
    compressed image is held, not the composite and its planes."""
    from psd_tools.constants import Compression
    from psd_tools.psd.image_data import ImageData

    if flat is None:
        flat = _lone_layer_pixels(doc)
    n = 4 if header.channels >= 4 else 3
    rows: list[list[bytes]] = [[] for _ in range(n)]
    counts: list[list[np.ndarray]] = [[] for _ in range(n)]
    for y0 in range(0, doc.height, _STRIP_ROWS):
        y1 = min(doc.height, y0 + _STRIP_ROWS)
        strip = flat[y0:y1] if flat is not None else composite(doc, (0, y0, doc.width, y1))
        color = _over_white(strip)
        for c, plane in enumerate((color[..., 0], color[..., 1], color[..., 2], strip[..., 3])[:n]):
            counts[c].append(_rle_stream(plane, rows[c].append))
        del strip, color
    for raw in _kept_extra_channels(psd_rec, header, n):
        rows.append([])
        counts.append([_rle_stream(np.frombuffer(raw, np.uint8).reshape(doc.height, doc.width),
                                   rows[-1].append)])
    data = bytearray()
    for c in counts:
        data += _count_bytes(np.concatenate(c) if c else np.empty(0, np.int64), header.version)
    for i in range(len(rows)):
        for row in rows[i]:
            data += row
        rows[i] = []
    return ImageData(compression=Compression.RLE, data=data)

"""Qt-free layer operations for the editor's tools: new layers, several layers moved as one
step, align and distribute. Commands reuse the :class:`Command` base (one undo step each).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from .commands import Command, MacroCommand, ReplacePixels
from .document import Document
from .geometry import pixel_centre_map, transformed_bounds, transformed_corners
from .layer import Layer, LayerMask

ALIGN_MODES = ("left", "hcenter", "right", "top", "vcenter", "bottom")
DISTRIBUTE_MODES = ("horizontal", "vertical")


def unique_name(doc: Document, base: str = "Layer") -> str:
    """``base N`` with the next free N (as Photoshop names new layers)."""
    pattern = re.compile(rf"^{re.escape(base)} (\d+)$")
    used = [int(m.group(1)) for ly in doc.layers if (m := pattern.match(ly.name))]
    return f"{base} {max(used, default=0) + 1}"


def empty_layer(doc: Document, name: str | None = None) -> Layer:
    """A transparent layer the size of the canvas."""
    return Layer(np.zeros((doc.height, doc.width, 4), np.uint8), name=name or unique_name(doc))


#: id(pixels) -> (weak reference to them, their alpha bounds): a layer's pixels are replaced, never
#: written, by an edit, so a press of the move or transform tool (snap targets of every layer:
#: ~0.3 s at 4096², 10 layers) scans each array once
_ALPHA_BOUNDS: dict[int, tuple] = {}


def _frozen(array: np.ndarray) -> bool:
    """True when neither the array nor any array it views can be written."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return array is None or isinstance(array, bytes)


def _alpha_bounds(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    import weakref

    frozen = _frozen(pixels)
    hit = _ALPHA_BOUNDS.get(id(pixels))
    if hit is not None and hit[0]() is pixels and frozen:
        return hit[1]
    alpha = pixels[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        bounds = None
    else:
        cols = np.flatnonzero(alpha.any(axis=0))
        bounds = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    if frozen:  # only arrays nobody may change in place are remembered
        if len(_ALPHA_BOUNDS) > 512:
            for key in [k for k, (ref, _b) in _ALPHA_BOUNDS.items() if ref() is None]:
                del _ALPHA_BOUNDS[key]
        try:
            _ALPHA_BOUNDS[id(pixels)] = (weakref.ref(pixels), bounds)
        except TypeError:  # a view or subclass without weak references: not remembered
            pass
    return bounds


def content_box(layer: Layer) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the layer's non-transparent pixels in document coordinates."""
    bounds = _alpha_bounds(layer.pixels)
    if bounds is None:
        return None
    return (layer.x + bounds[0], layer.y + bounds[1], layer.x + bounds[2], layer.y + bounds[3])


class MoveLayers(Command):
    """Move several layers, each by its own (dx, dy), as one step (align, distribute, nudge a
    selection)."""

    def __init__(self, deltas: dict[str, tuple[int, int]], text: str = "Move layers", *,
                 merge: bool = False, group_deltas: dict[str, tuple[int, int]] | None = None) -> None:
        self.deltas = {lid: (int(dx), int(dy)) for lid, (dx, dy) in deltas.items() if (dx, dy) != (0, 0)}
        if not self.deltas:
            raise ValueError("nothing to move")
        #: groups moved with their layers: their masks go along (a group mask stays over its layers)
        self.group_deltas = {gid: (int(dx), int(dy)) for gid, (dx, dy) in (group_deltas or {}).items()
                             if (dx, dy) != (0, 0)}
        self.text = text
        #: the moves of one drag of a selection merge into one step
        self.merge_key = ("moves", tuple(sorted(self.deltas)), tuple(sorted(self.group_deltas))) if merge else None

    def merge_with(self, other):
        if isinstance(other, MoveLayers) and other.merge_key == self.merge_key and self.merge_key is not None:
            for mine, theirs in ((self.deltas, other.deltas), (self.group_deltas, other.group_deltas)):
                for key, (dx, dy) in theirs.items():
                    ox, oy = mine.get(key, (0, 0))
                    mine[key] = (ox + dx, oy + dy)
            return True
        return False

    def _apply(self, doc: Document, sign: int) -> None:
        from dataclasses import replace

        for lid, (dx, dy) in self.deltas.items():
            layer = doc.layer(lid)
            doc.update_layer(lid, x=layer.x + sign * dx, y=layer.y + sign * dy)
        for gid, (dx, dy) in self.group_deltas.items():
            mask = doc.group(gid).mask
            if mask is not None:
                doc.update_group(gid, mask=replace(mask, x=mask.x + sign * dx, y=mask.y + sign * dy))

    def redo(self, doc):
        self._apply(doc, 1)

    def undo(self, doc):
        self._apply(doc, -1)


def _boxes(layers: Iterable[Layer]) -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for layer in layers:
        box = content_box(layer)
        if box is not None:
            out[layer.id] = box
    return out


def _unit_boxes(units: Sequence[Sequence[Layer]]) -> dict[int, tuple[int, int, int, int]]:
    """Each unit's (a group's layers, or one layer) visible content bounds, by unit index."""
    out = {}
    for i, unit in enumerate(units):
        boxes = list(_boxes(unit).values())
        if boxes:
            out[i] = union_box(boxes)
    return out


def union_box(boxes: Iterable[tuple]) -> tuple:
    """The bounds of several (left, top, right, bottom) boxes."""
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _spread(units: Sequence[Sequence[Layer]], unit_deltas: dict[int, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {ly.id: d for i, d in unit_deltas.items() for ly in units[i]}


def align_units(units: Sequence[Sequence[Layer]], mode: str,
                to: tuple[int, int, int, int] | None = None) -> dict[str, tuple[int, int]]:
    """:func:`align_deltas` for units that move as one (a selected group's layers keep their
    layout: the group's bounds are aligned, not each of its layers)."""
    return _spread(units, _align(_unit_boxes(units), mode, to))


def distribute_units(units: Sequence[Sequence[Layer]], mode: str) -> dict[str, tuple[int, int]]:
    """:func:`distribute_deltas` for units that move as one (selected groups)."""
    return _spread(units, _distribute(_unit_boxes(units), mode))


def align_deltas(layers: Sequence[Layer], mode: str,
                 to: tuple[int, int, int, int] | None = None) -> dict[str, tuple[int, int]]:
    """Offsets that align each layer's visible content to ``to`` (left, top, right, bottom):
    the canvas, or by default the selection's own bounds. Empty layers stay where they are."""
    return _align(_boxes(layers), mode, to)


def _align(boxes: dict, mode: str, to) -> dict:
    if mode not in ALIGN_MODES:
        raise ValueError(f"unknown alignment {mode!r}; expected one of {', '.join(ALIGN_MODES)}")
    if not boxes:
        return {}
    if to is None:
        to = (min(b[0] for b in boxes.values()), min(b[1] for b in boxes.values()),
              max(b[2] for b in boxes.values()), max(b[3] for b in boxes.values()))
    left, top, right, bottom = to
    out = {}
    for lid, (x0, y0, x1, y1) in boxes.items():
        if mode == "left":
            d = (left - x0, 0)
        elif mode == "right":
            d = (right - x1, 0)
        elif mode == "hcenter":
            d = (round((left + right - x0 - x1) / 2), 0)
        elif mode == "top":
            d = (0, top - y0)
        elif mode == "bottom":
            d = (0, bottom - y1)
        else:
            d = (0, round((top + bottom - y0 - y1) / 2))
        if d != (0, 0):
            out[lid] = d
    return out


def distribute_deltas(layers: Sequence[Layer], mode: str) -> dict[str, tuple[int, int]]:
    """Offsets that space the layers' visible content evenly (equal gaps) between the outermost
    two, which stay put. Needs three layers with content."""
    return _distribute(_boxes(layers), mode)


def _distribute(boxes: dict, mode: str) -> dict:
    if mode not in DISTRIBUTE_MODES:
        raise ValueError(f"unknown distribution {mode!r}; expected horizontal or vertical")
    if len(boxes) < 3:
        return {}
    axis = 0 if mode == "horizontal" else 1
    order = sorted(boxes, key=lambda lid: (boxes[lid][axis], boxes[lid][axis + 2]))
    start = boxes[order[0]][axis]
    end = max(b[axis + 2] for b in boxes.values())
    sizes = [boxes[lid][axis + 2] - boxes[lid][axis] for lid in order]
    gap = (end - start - sum(sizes)) / (len(order) - 1)
    out = {}
    pos = float(start)
    for lid, size in zip(order, sizes):
        shift = round(pos) - boxes[lid][axis]
        if shift:
            out[lid] = (shift, 0) if axis == 0 else (0, shift)
        pos += size + gap
    return out


__all__ = ["ALIGN_MODES", "ApplyLayerMask", "DISTRIBUTE_MODES", "MoveLayers", "SetLayerMask", "align_deltas",
           "align_units", "content_box", "distribute_deltas", "distribute_units", "empty_layer", "flip_layer",
           "flip_layers", "nearest_snap", "preview_transformed", "replace_pixels_and_mask", "snap_offset", "snap_targets",
           "transform_layer", "transform_layers", "transform_pixels", "union_box", "unique_name"]


# ----- layer masks --------------------------------------------------------------------------------

class SetLayerMask(Command):
    """Give a layer a new mask, or none (add, delete, disable/enable, a brush stroke on it).
    Masks are immutable values, so undo keeps a reference to the old one."""

    def __init__(self, layer_id: str, mask: LayerMask | None, text: str = "Edit layer mask") -> None:
        if mask is not None and not isinstance(mask, LayerMask):
            raise TypeError("mask must be a LayerMask or None")
        self.layer_id, self.mask, self.text = layer_id, mask, text
        self.old: LayerMask | None = None

    def redo(self, doc):
        self.old = doc.layer(self.layer_id).mask
        doc.update_layer(self.layer_id, mask=self.mask)

    def undo(self, doc):
        doc.update_layer(self.layer_id, mask=self.old)


class ApplyLayerMask(MacroCommand):
    """'Apply Layer Mask': what the mask hides leaves the layer's alpha, and the mask goes."""

    def __init__(self, doc: Document, layer_id: str) -> None:
        from .paint import apply_mask

        layer = doc.layer(layer_id)
        if layer.mask is None:
            raise ValueError(f"“{layer.name}” has no layer mask to apply")
        pixels = apply_mask(layer) if not layer.mask.disabled else layer.pixels
        steps = [] if pixels is layer.pixels else [ReplacePixels(layer_id, pixels, text="Apply layer mask")]
        super().__init__(steps + [SetLayerMask(layer_id, None)], text="Apply layer mask")


def replace_pixels_and_mask(layer_id: str, pixels: np.ndarray, x: int, y: int, mask: LayerMask | None,
                            text: str) -> Command:
    """New pixels, offset and mask for a layer as one step (a transform carries the mask along)."""
    return MacroCommand([ReplacePixels(layer_id, pixels, x, y, text=text), SetLayerMask(layer_id, mask, text)],
                        text=text)


def flip_layer(layer: Layer, horizontal: bool) -> tuple[np.ndarray, int, int, LayerMask | None] | None:
    """The layer mirrored about its visible content, exactly (no resampling), its mask mirrored
    about the same line. Returns (pixels, x, y, mask), None when the layer is empty."""
    from .paint import flip_mask

    alpha = layer.pixels[..., 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    content = layer.pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    pixels = np.ascontiguousarray(content[:, ::-1] if horizontal else content[::-1])
    x, y = layer.x + int(cols[0]), layer.y + int(rows[0])
    mask = layer.mask
    if mask is not None:
        # content spans [x, x + w): a document column X goes to (2x + w - 1) - X
        axis_sum = 2 * x + pixels.shape[1] if horizontal else 2 * y + pixels.shape[0]
        mask = flip_mask(mask, axis_sum, horizontal)
    return pixels, x, y, mask


def flip_layers(doc: Document, layer_ids: Sequence[str], group_ids: Sequence[str], horizontal: bool,
                text: str) -> Command | None:
    """Several layers (a group, a selection) mirrored together about their common visible
    bounds, exactly, as one step; their masks and the groups' masks mirrored about the same
    line. None when they are all empty."""
    from .commands import SetGroupProperties
    from .paint import flip_mask

    layers = [doc.layer(lid) for lid in layer_ids]
    boxes = _boxes(layers)
    if not boxes:
        return None
    left, top, right, bottom = union_box(boxes.values())
    axis_sum = left + right if horizontal else top + bottom
    steps: list[Command] = []
    for layer in layers:
        if layer.id not in boxes:
            continue
        x0, y0, x1, y1 = boxes[layer.id]
        content = layer.pixels[y0 - layer.y:y1 - layer.y, x0 - layer.x:x1 - layer.x]
        pixels = np.ascontiguousarray(content[:, ::-1] if horizontal else content[::-1])
        x, y = (axis_sum - x1, y0) if horizontal else (x0, axis_sum - y1)
        steps.append(ReplacePixels(layer.id, pixels, x, y, text=text))
        if layer.mask is not None:
            steps.append(SetLayerMask(layer.id, flip_mask(layer.mask, axis_sum, horizontal), text))
    for gid in group_ids:
        mask = doc.group(gid).mask
        if mask is not None:
            steps.append(SetGroupProperties(gid, mask=flip_mask(mask, axis_sum, horizontal)))
    return MacroCommand(steps, text=text)


def transform_layers(items: Sequence[tuple], group_masks: Sequence[tuple],
                     matrix: Sequence[Sequence[float]]) -> tuple[list, list]:
    """Free transform of several layers together under one document-to-document ``matrix``
    (2x3): ``items`` are (pixels, mask, x, y) and give (pixels, x, y, mask) each; group masks
    (gid, mask) give (gid, mask). Each plane is resampled once. Runs on the task pool."""
    from .paint import transform_mask

    m = np.asarray(matrix, np.float64).reshape(2, 3)
    out = []
    for pixels, mask, x, y in items:
        local = m.copy()  # layer-local -> document: shift by the layer's offset first
        local[:, 2] += m[:, :2] @ np.array([x, y], np.float64)
        out.append(transform_layer(pixels, mask, x, y, local))
    return out, [(gid, transform_mask(mask, m, 0, 0)) for gid, mask in group_masks]


def preview_transformed(layers: Sequence[Layer], groups: dict, layer_ids, group_ids,
                        matrix: Sequence[Sequence[float]], width: int, height: int) -> tuple[list, dict]:
    """A quick look at a free transform for the core compositor (layers it draws that item
    transforms cannot show): the chosen layers warped bilinearly (no premultiplication or exact
    edge, cropped to the canvas), their masks and the groups' masks moved along. Copies only."""
    import cv2

    from .paint import transform_mask

    m = np.asarray(matrix, np.float64).reshape(2, 3)
    chosen = set(layer_ids)
    out = []
    for layer in layers:
        if layer.id not in chosen or layer.pixels.size == 0:
            out.append(layer)
            continue
        local = m.copy()
        local[:, 2] += m[:, :2] @ np.array([layer.x, layer.y], np.float64)
        h, w = layer.pixels.shape[:2]
        corners = transformed_corners(w, h, local)
        left, top = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        right, bottom = np.minimum(np.ceil(corners.max(axis=0)).astype(int), (width, height))
        if right <= left or bottom <= top:
            out.append(layer.copy(pixels=np.zeros((1, 1, 4), np.uint8), mask=None))
            continue
        shifted = local.copy()
        shifted[:, 2] -= (left, top)
        warped = cv2.warpAffine(layer.pixels, pixel_centre_map(shifted), (int(right - left), int(bottom - top)),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        mask = transform_mask(layer.mask, local, layer.x, layer.y) if layer.mask is not None else None
        out.append(layer.copy(pixels=warped, x=int(left), y=int(top), mask=mask))
    groups = dict(groups)
    for gid in group_ids:
        if gid in groups and groups[gid].mask is not None:
            groups[gid] = groups[gid].copy(mask=transform_mask(groups[gid].mask, m, 0, 0))
    return out, groups


def transform_layer(pixels: np.ndarray, mask: LayerMask | None, layer_x: int, layer_y: int,
                    matrix: Sequence[Sequence[float]]) -> tuple[np.ndarray, int, int, LayerMask | None]:
    """Free transform of a layer and its mask together (each resampled once): (pixels, x, y, mask)."""
    from .paint import transform_mask

    out, x, y = transform_pixels(pixels, matrix)
    return out, x, y, (transform_mask(mask, matrix, layer_x, layer_y) if mask is not None else None)


# ----- free transform ------------------------------------------------------------------------------

def _coverage(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """How much of each pixel a convex polygon covers, antialiased over one pixel at its edges
    (distance of the pixel centre to the nearest edge, clamped to 0..1). Computed in row bands
    so a big layer never needs several full-size float planes at once."""
    area = 0.0
    for i in range(4):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % 4]
        area += x0 * y1 - x1 * y0
    orient = 1.0 if area > 0 else -1.0
    edges = []
    for i in range(4):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % 4]
        length = float(np.hypot(x1 - x0, y1 - y0)) or 1.0
        # distance = a * x + b * y + c, positive inside
        a, b = -orient * (y1 - y0) / length, orient * (x1 - x0) / length
        edges.append((a, b, -(a * x0 + b * y0)))
    out = np.empty((height, width), np.float32)
    xs = np.arange(width, dtype=np.float32) + 0.5
    band = max(1, 4_000_000 // max(width, 1))
    for top in range(0, height, band):
        ys = np.arange(top, min(height, top + band), dtype=np.float32)[:, None] + 0.5
        inside = None
        for a, b, c in edges:
            d = (a * xs)[None, :] + (b * ys + c)
            inside = d if inside is None else np.minimum(inside, d)
        np.clip(inside + 0.5, 0.0, 1.0, out=out[top:top + ys.shape[0]])
    return out


def transform_pixels(pixels: np.ndarray, matrix: Sequence[Sequence[float]]) -> tuple[np.ndarray, int, int]:
    """Resample a layer under an affine map, once, from its original pixels.

    ``matrix`` is 2x3 and maps layer-local pixel coordinates (0..w, 0..h, pixel
    corners) to document coordinates. Returns the new pixels and their offset,
    trimmed to the visible pixels. Resampling is done
    on premultiplied colour (no dark fringes at soft edges), bilinear when
    shrinking or rotating, bicubic when enlarging.
    """
    import cv2

    m = np.asarray(matrix, np.float64).reshape(2, 3)
    if not np.all(np.isfinite(m)) or abs(np.linalg.det(m[:, :2])) < 1e-9:
        raise ValueError("the transform squashes the layer to nothing")
    h, w = pixels.shape[:2]
    left, top, out_w, out_h = transformed_bounds(w, h, m, "layer")
    corners = transformed_corners(w, h, m)
    shifted = m.copy()
    shifted[:, 2] -= (left, top)
    rgba = pixels.astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    premul = np.concatenate([rgba[..., :3] * alpha, rgba[..., 3:4]], axis=2)
    enlarge = abs(np.linalg.det(m[:, :2])) > 1.0 + 1e-6
    flags = (cv2.INTER_CUBIC if enlarge else cv2.INTER_LINEAR)
    # the inside is sampled with the edge pixels repeated outward, and the outline comes from
    # the exact polygon, so an opaque layer keeps opaque edges at any scale (no halo)
    warped = cv2.warpAffine(premul, pixel_centre_map(shifted), (out_w, out_h), flags=flags,
                            borderMode=cv2.BORDER_REPLICATE)
    warped *= _coverage(corners[[0, 1, 3, 2]] - (left, top), out_w, out_h)[..., None]
    a = np.clip(warped[..., 3], 0, 255)
    safe = np.where(a > 0, a / 255.0, 1.0)[..., None]
    rgb = np.clip(warped[..., :3] / safe, 0, 255)
    out = np.dstack([rgb, a]).round().astype(np.uint8)
    out[out[..., 3] == 0] = 0
    # trimmed to what is visible (the transparent margins of the source are not kept)
    rows = np.flatnonzero(out[..., 3].any(axis=1))
    if rows.size == 0:
        raise ValueError("the transformed layer has no visible pixels")
    cols = np.flatnonzero(out[..., 3].any(axis=0))
    out = out[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return np.ascontiguousarray(out), int(left + cols[0]), int(top + rows[0])


# ----- snapping -----------------------------------------------------------------------------------

def snap_targets(doc: Document, exclude: Iterable[str]) -> tuple[list[float], list[float]]:
    """Where a moving layer may snap: the canvas edges and centre, and the edges and centres of
    the other visible layers' content (a layer in a hidden group is not visible). Returns
    (x positions, y positions)."""
    skip = set(exclude)
    xs = [0.0, doc.width / 2, float(doc.width)]
    ys = [0.0, doc.height / 2, float(doc.height)]
    for layer in doc.layers:
        if layer.id in skip or not doc.effective(layer)[0]:
            continue
        box = content_box(layer)
        if box is None:
            continue
        left, top, right, bottom = box
        xs += [left, (left + right) / 2, right]
        ys += [top, (top + bottom) / 2, bottom]
    return xs, ys


def snap_offset(box: tuple[float, float, float, float], dx: int, dy: int, xs: Sequence[float],
                ys: Sequence[float], threshold: float) -> tuple[int, int, float | None, float | None]:
    """Adjust a move by (dx, dy) of ``box`` (left, top, right, bottom) so its nearest edge or
    centre lands on a target within ``threshold``; returns (dx, dy, guide x, guide y), a guide
    being the target snapped to (None: no snap on that axis)."""
    def axis(lo: float, hi: float, d: int, targets: Sequence[float]):
        best = nearest_snap((lo + d, (lo + hi) / 2 + d, hi + d), targets, threshold)
        if best is None:
            return d, None
        shift = round(best[0])
        return d + shift, best[1]

    left, top, right, bottom = box
    new_dx, guide_x = axis(left, right, dx, xs)
    new_dy, guide_y = axis(top, bottom, dy, ys)
    return new_dx, new_dy, guide_x, guide_y


def nearest_snap(values: Iterable[float], targets: Sequence[float],
                 threshold: float) -> tuple[float, float] | None:
    """(shift, target) that puts the nearest of ``values`` (edges, a centre) on a target within
    ``threshold``; None when none is that close."""
    best = None
    for value in values:
        for target in targets:
            diff = target - value
            if abs(diff) <= threshold and (best is None or abs(diff) < abs(best[0])):
                best = (diff, target)
    return best

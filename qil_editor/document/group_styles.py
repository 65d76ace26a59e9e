"""A PSD group's layer style (drop shadow, outer glow) that follows the group's layers.

The reader shows a group's style as a read-only synthetic layer "<group> (effects)"
(``PsdSource.group_styles``). Photoshop redraws that style from the group's current
content, so after a member layer moves, changes or is hidden, :func:`redraw_group_styles`
draws it again from the composite alpha of the group's layers as they are now, with the
same effect kernels as the reader (``effects.outer_effects``). When the group is back
exactly as read (an undo), the pixels as read come back, so undo is exact.

The redraw replaces the synthetic layer's pixels directly (``Document.set_pixels``),
never through a command: it is derived from the members, so it adds no undo step and an
undo of the member's edit brings it back by redrawing again.
"""

from __future__ import annotations

import numpy as np

from .compositing import composite_layers
from .effects import outer_effects


def _members(doc, source, style) -> list:
    """The group's own layers now (bottom first), the synthetic ones left out."""
    _name, read_members, group_id = style[:3]
    if group_id is None:  # read flat: the group is only the layers it had
        ids = set(read_members)
        return [ly for ly in doc.layers if ly.id in ids]
    return [ly for ly in doc.layers if ly.id not in source.synthetic
            and group_id in {g.id for g in doc.layer_chain(ly)}]


def _state(doc, source, style) -> tuple[tuple, list]:
    """What the style's look depends on: (comparable key, objects kept alive for the ids)."""
    keep: list = []
    key = []
    for ly in _members(doc, source, style):
        keep += [ly.pixels, ly.mask]
        key.append((ly.id, id(ly.pixels), ly.x, ly.y, ly.visible, ly.opacity, ly.fill_opacity,
                    ly.blend_mode, ly.clipping, id(ly.mask), ly.group))
    group_id = style[2]
    if group_id is not None:
        for g in doc.groups.values():  # subgroups inside the styled group
            if g.id != group_id and group_id in {c.id for c in doc.group_chain(g.id)}:
                keep.append(g.mask)
                key.append((g.id, g.visible, g.opacity, g.blend_mode, id(g.mask), g.parent))
    return tuple(key), keep


def _as_read(doc, source, style) -> bool:
    """The group's layers are exactly the ones read, untouched."""
    read_members = style[1]
    ids = {ly.id for ly in doc.layers}
    if any(m not in ids or not source.unchanged(doc.layer(m)) for m in read_members):
        return False
    return all(ly.id in read_members for ly in _members(doc, source, style))


def draw_group_style(doc, style) -> tuple[np.ndarray, int, int] | None:
    """The style's pixels and offset drawn from the group's layers now, or None when empty.

    The shape is the group's layers composited alone over transparency, the styled
    group and its parents taken as visible, opaque and unmasked (their opacity, mask
    and visibility apply when the group, "(effects)" layer included, is composited).
    """
    return _draw(_snapshot(doc, style))


def _snapshot(doc, style) -> tuple | None:
    """What drawing needs, copied from the document (layers share their read-only
    pixels), so that it can be drawn on another thread while the person edits."""
    members = [ly.copy() for ly in _members(doc, doc.source, style)]
    if not members:
        return None
    group_id = style[2]
    groups = {gid: g.copy() for gid, g in doc.groups.items()}
    if group_id is not None:
        for g in doc.group_chain(group_id):
            groups[g.id] = g.copy(visible=True, opacity=1.0, mask=None)
    return members, groups, doc.width, doc.height, tuple(style[3])


def _draw(snapshot) -> tuple[np.ndarray, int, int] | None:
    if snapshot is None:
        return None
    members, groups, width, height, effects = snapshot
    # only around the layers, as far as the effects reach (the blur sees zeros
    # beyond, as it does over the whole canvas); the canvas bounds it, as at read time
    reach = max(int(np.ceil(abs(e.size) + abs(e.distance))) for e in effects) + 2
    boxes = [ly.bbox for ly in members]
    left = max(0, min(b[0] for b in boxes) - reach)
    top = max(0, min(b[1] for b in boxes) - reach)
    right = min(width, max(b[2] for b in boxes) + reach)
    bottom = min(height, max(b[3] for b in boxes) + reach)
    if right <= left or bottom <= top:
        return None
    premul = composite_layers(members, width, height, (left, top, right, bottom),
                              premultiplied=True, groups=groups or None)
    shape = premul[..., 3]
    if not shape.any():
        return None
    px = outer_effects(effects, shape)
    rows = np.flatnonzero(px[..., 3].any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(px[..., 3].any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return np.ascontiguousarray(px[y0:y1, x0:x1]), left + x0, top + y0


def _drawn(source) -> dict:
    """layer id -> (state key, kept objects, pixels drawn) of the style's last drawing."""
    drawn = getattr(source, "group_style_drawn", None)
    if drawn is None:
        drawn = source.group_style_drawn = {}
    return drawn


class StyleRedraw:
    """One group style to draw again: ``compute()`` may run on another thread, then
    :func:`finish_redraw` (on the document's thread) puts the pixels in."""

    def __init__(self, layer_id: str, key: tuple, keep: list, snapshot, read=None) -> None:
        self.layer_id, self.key, self.keep = layer_id, key, keep
        self.snapshot, self.read = snapshot, read  # read: (pixels, x, y) as read, nothing to draw

    @property
    def pixels(self) -> int:
        """About how many pixels the drawing covers (0 when nothing is drawn)."""
        if self.snapshot is None:
            return 0
        boxes = [ly.bbox for ly in self.snapshot[0]]
        return ((max(b[2] for b in boxes) - min(b[0] for b in boxes))
                * (max(b[3] for b in boxes) - min(b[1] for b in boxes)))

    def compute(self):
        return self.read if self.read is not None else _draw(self.snapshot)


def plan_redraws(doc, skip: dict | None = None) -> list[StyleRedraw]:
    """The group styles whose group's layers changed since drawn (a comparison of the
    members' properties: cheap); ``skip`` (layer id -> key) leaves out those already
    being drawn for the same state."""
    source = getattr(doc, "source", None)
    if source is None or not getattr(source, "group_styles", None):
        return []
    ids = {ly.id for ly in doc.layers}
    drawn = _drawn(source)
    out = []
    for layer_id, style in source.group_styles.items():
        if layer_id not in ids or len(style) < 4 or not style[3]:
            continue
        key, keep = _state(doc, source, style)
        if (layer_id in drawn and drawn[layer_id][0] == key) or (skip or {}).get(layer_id) == key:
            continue
        if _as_read(doc, source, style):
            props, pixels = source.synthetic[layer_id]
            out.append(StyleRedraw(layer_id, key, keep, None, (pixels, props["x"], props["y"])))
        else:
            out.append(StyleRedraw(layer_id, key, keep, _snapshot(doc, style)))
    return out


def finish_redraw(doc, job: StyleRedraw, result) -> bool | None:
    """Put a drawn style in (True: its pixels changed), unless its group changed
    meanwhile (None: plan again).
    Directly, no command: it is derived from the members, so no undo step of its own."""
    source = doc.source
    if job.layer_id not in {ly.id for ly in doc.layers}:
        return True
    style = source.group_styles[job.layer_id]
    if _state(doc, source, style)[0] != job.key:
        return None
    layer = doc.layer(job.layer_id)
    if result is None:  # nothing left to cast a shadow: one clear pixel
        result = (np.zeros((1, 1, 4), np.uint8), layer.x, layer.y)
    changed = result[0] is not layer.pixels or result[1] != layer.x or result[2] != layer.y
    if changed:
        doc.set_pixels(job.layer_id, result[0], result[1], result[2])
    _drawn(source)[job.layer_id] = (job.key, job.keep, layer.pixels)
    return changed


def redraw_group_styles(doc) -> list[str]:
    """Redraw, here and now, every group style whose group's layers changed since drawn;
    returns the ids of the "(effects)" layers whose pixels were replaced. Styles that
    can't be redrawn (no effects kept) are left as they are, and ``save_losses`` says so."""
    return [job.layer_id for job in plan_redraws(doc) if finish_redraw(doc, job, job.compute())]


def style_is_current(doc, layer_id: str) -> bool:
    """Whether the "(effects)" layer shows its group's layers as they are now."""
    source = doc.source
    style = source.group_styles[layer_id]
    drawn = _drawn(source).get(layer_id)
    if drawn is not None and drawn[0] == _state(doc, source, style)[0]:
        return doc.layer(layer_id).pixels is drawn[2]
    return _as_read(doc, source, style) and doc.layer(layer_id).pixels is source.synthetic[layer_id][1]

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
    source = doc.source
    members = _members(doc, source, style)
    if not members:
        return None
    group_id = style[2]
    groups = dict(doc.groups)
    if group_id is not None:
        for g in doc.group_chain(group_id):
            groups[g.id] = g.copy(visible=True, opacity=1.0, mask=None)
    # only around the layers, as far as the effects reach (the blur sees zeros
    # beyond, as it does over the whole canvas); the canvas bounds it, as at read time
    reach = max(int(np.ceil(abs(e.size) + abs(e.distance))) for e in style[3]) + 2
    boxes = [ly.bbox for ly in members]
    left = max(0, min(b[0] for b in boxes) - reach)
    top = max(0, min(b[1] for b in boxes) - reach)
    right = min(doc.width, max(b[2] for b in boxes) + reach)
    bottom = min(doc.height, max(b[3] for b in boxes) + reach)
    if right <= left or bottom <= top:
        return None
    premul = composite_layers(members, doc.width, doc.height, (left, top, right, bottom),
                              premultiplied=True, groups=groups or None)
    shape = premul[..., 3]
    if not shape.any():
        return None
    px = outer_effects(style[3], shape)
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


def redraw_group_styles(doc) -> list[str]:
    """Redraw every group style whose group's layers changed since it was drawn.

    Cheap when nothing changed (a comparison of the members' properties); returns
    the ids of the "(effects)" layers whose pixels were replaced. Styles that can't
    be redrawn (no effects kept) are left as they are, and ``save_losses`` says so.
    """
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
        if layer_id in drawn and drawn[layer_id][0] == key:
            continue
        layer = doc.layer(layer_id)
        if _as_read(doc, source, style):
            props, pixels = source.synthetic[layer_id]
            new = (pixels, props["x"], props["y"])
        else:
            new = draw_group_style(doc, style)
            if new is None:  # nothing left to cast a shadow: one clear pixel
                new = (np.zeros((1, 1, 4), np.uint8), layer.x, layer.y)
        if new[0] is not layer.pixels or new[1] != layer.x or new[2] != layer.y:
            doc.set_pixels(layer_id, new[0], new[1], new[2])
            out.append(layer_id)
        drawn[layer_id] = (key, keep, layer.pixels)
    return out


def style_is_current(doc, layer_id: str) -> bool:
    """Whether the "(effects)" layer shows its group's layers as they are now."""
    source = doc.source
    style = source.group_styles[layer_id]
    drawn = _drawn(source).get(layer_id)
    if drawn is not None and drawn[0] == _state(doc, source, style)[0]:
        return doc.layer(layer_id).pixels is drawn[2]
    return _as_read(doc, source, style) and doc.layer(layer_id).pixels is source.synthetic[layer_id][1]

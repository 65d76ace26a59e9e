"""The canvas: a QGraphicsView over one document.

Layers are items under one *stack* item clipped to the canvas (PSD clips
layers to the canvas). Blending follows the PSD:
- Normal and the modes QPainter implements with the W3C formulas (see
  ``QT_BLEND_MODES``) are drawn by QPainter. When any of those non-normal
  modes is visible, the stack renders through an offscreen transparent
  buffer (a QGraphicsEffect), so layers blend with each other and not with
  the checkerboard, exactly as in a flattened PSD.
- A visible layer with a mode QPainter lacks (linear burn/dodge, hue,
  colour...) is exact only through the core compositor: that layer and all
  layers below it are flattened by ``composite_layers`` on a worker thread
  into one item; layers above stay live items. Editing inside that part
  re-flattens; editing above it stays instant.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (QGraphicsEffect, QGraphicsItem, QGraphicsScene, QGraphicsView,
                               QPinchGesture)
from shiboken6 import isValid

from ..document import DocumentEvent, composite_layers
from ..document.compositing import working_space
from .drag_cache import DragCache
from .layer_item import MIP_BELOW, QT_BLEND_MODES, LayerItem, PictureItem
from .qimage import checker_brush
from .session import DocumentSession
from .tasks import TaskRunner
from .tools import HANDLE_PX, TOOLS, BrushSettings, Tool

HANDLE_MARGIN = HANDLE_PX + 4  # device px around the transform box that its handles may cover

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch
BACKGROUND = QColor("#1e1f22")
FLAT_ID = "__flattened__"


class _IsolateEffect(QGraphicsEffect):
    """Render the layer stack into a transparent buffer, then draw it once."""

    def draw(self, painter: QPainter) -> None:
        offset = QPoint()  # filled in by Qt (an out-parameter in C++)
        pixmap = self.sourcePixmap(Qt.CoordinateSystem.DeviceCoordinates, offset,
                                   QGraphicsEffect.PixmapPadMode.NoPad)
        if pixmap.isNull():
            return
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.drawPixmap(offset, pixmap)
        painter.restore()


class _LayerStack(QGraphicsItem):
    """Parent of the layer items; clips them to the canvas, draws nothing itself."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        pass


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)
    cursorMoved = Signal(int, int)
    toolChanged = Signal(str)

    def __init__(self, session: DocumentSession, tasks: TaskRunner, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.doc = session.doc
        self.tasks = tasks
        self.tools: dict[str, Tool] = {name: cls(self) for name, cls in TOOLS.items()}
        self.tool = "move"
        self._items: dict[str, LayerItem] = {}
        self._gesture_tool: Tool | None = None
        self.pending_transform: str | None = None  # a layer whose transform is being resampled
        self.snap = True  # moving snaps to the canvas and other layers (View > Snap)
        self._guides: tuple[float | None, float | None] = (None, None)  # the tool the left-button press went to
        self._nudge: tuple[str, int, int] | None = None  # (layer, gesture, stack index after it)
        self._drawn_outline: QRectF | None = None  # where the dashed outline was last painted
        self._pan_from: QPoint | None = None
        self._space = False
        self._auto_fit = True
        self._flat_upto = -1  # top index drawn by the core compositor, -1 = none
        self._flat_generation = 0
        self._previews: dict[str, object] = {}
        self._drag_cache: DragCache | None = None
        self.brush = BrushSettings()  # the window shares one between its documents
        #: per layer: (key, array drawn, box) of a masked layer (the pixels with the mask applied)
        self._shown: dict[str, tuple[tuple, np.ndarray, tuple | None]] = {}
        self._stroke_layer: str | None = None  # the layer a brush stroke is painting
        self._ring: QPointF | None = None  # where a brush too big for a cursor is outlined
        # a stroke on a layer the core compositor draws: its region recomposited, patched in
        self._stroke_origin = (0, 0)
        self._stroke_index = -1
        self._stroke_snapshot = None
        self._stroke_token = 0
        self._flat_dirty: tuple | None = None
        self._flat_work: np.ndarray | None = None
        self._flat_busy = False
        #: (layer ids, group ids, 2x3 matrix) while a free transform moves layers the core
        #: compositor draws (item transforms cannot show them); one preview job at a time
        self._transform_preview: tuple | None = None
        self._preview_busy = False
        self._preview_again = False

        self.setScene(QGraphicsScene(self))
        self._stack = _LayerStack()
        self._effect = _IsolateEffect()
        self._effect.setEnabled(False)
        self._stack.setGraphicsEffect(self._effect)
        self.scene().addItem(self._stack)
        self._flat = LayerItem(FLAT_ID, self._stack)
        self._flat.setVisible(False)
        #: a free transform of several layers shows them as one picture (see transform_picture)
        self._picture = PictureItem(self._stack)
        self._picture.setVisible(False)
        self._picture_matrix: QTransform | None = None
        self.zoomChanged.connect(self._redraw_picture)

        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setBackgroundBrush(BACKGROUND)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # file drops go to the main window
        self.viewport().setAcceptDrops(False)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)

        self._checker = checker_brush(8)
        self._unsubscribe = self.doc.subscribe(self._on_event)
        session.currentLayerChanged.connect(self._current_changed)
        session.selectionChanged.connect(self._selection_changed)
        self.zoomChanged.connect(self.refresh_cursor)
        self._sync_structure()

    def _current_changed(self, _layer_id) -> None:
        self.viewport().update()

    def _selection_changed(self) -> None:
        self._update_outline()

    def close_canvas(self) -> None:
        self._unsubscribe()

    # ----- model sync -----------------------------------------------------------------
    def item(self, layer_id: str) -> LayerItem:
        return self._items[layer_id]

    def _on_event(self, event: DocumentEvent) -> None:
        if self._stroke_layer is not None and (event.layer_id == self._stroke_layer
                                               or event.kind in ("reset", "removed", "canvas")):
            self.current_tool.cancel()  # the layer changed under the stroke
        if self.transforming and (event.layer_id in self.tools["transform"].layer_ids
                                  or event.kind in ("reset", "removed", "canvas")
                                  or (event.kind == "group" and self.tools["transform"].group_ids)):
            self.cancel_transform()  # the layer changed under the box (undo, a dialog...)
        if self._drag_cache is not None and not (
                event.kind == "changed" and event.layer_id == self.current_tool.dragged_layer_id
                and set(event.fields) <= {"x", "y"}):
            self._end_drag_cache()
        if event.kind == "changed":
            layer = self.doc.layer(event.layer_id)
            item = self._items.get(event.layer_id)
            if item is None:
                return
            old_rect = self._drawn_outline
            if "x" in event.fields or "y" in event.fields:
                item.setPos(layer.x, layer.y)
            if "opacity" in event.fields:
                item.setOpacity(self.doc.effective(layer)[1])  # its groups' opacity too
            if "blend_mode" in event.fields:
                item.set_blend_mode(layer.blend_mode)
            if "mask" in event.fields:
                item.set_pixels(*self._shown_for(layer))
            if {"visible", "blend_mode", "opacity", "group"} & set(event.fields):
                self._update_modes()
            elif self._flat_upto >= self.doc.index_of(layer.id):
                self._schedule_flatten()
            self._update_outline(old_rect)
        elif event.kind == "pixels":
            layer = self.doc.layer(event.layer_id)
            item = self._items.get(event.layer_id)
            if item is not None:
                item.set_pixels(*self._shown_for(layer))
                item.setPos(layer.x, layer.y)
            if self._flat_upto >= event.index:
                self._schedule_flatten()
            self._update_outline()
        else:  # inserted, removed, moved, reset, canvas, group
            generation = self._flat_generation
            self._sync_structure()
            if event.kind == "group" and self._flat_upto >= 0 and generation == self._flat_generation:
                self._schedule_flatten()  # a group's mask or mode changed what the compositor draws

    def _sync_structure(self) -> None:
        layers = self.doc.layers
        ids = {ly.id for ly in layers}
        for lid in [lid for lid in self._items if lid not in ids]:
            item = self._items.pop(lid)
            self.scene().removeItem(item)
            self._shown.pop(lid, None)
        for index, layer in enumerate(layers):
            item = self._items.get(layer.id)
            if item is None:
                item = self._items[layer.id] = LayerItem(layer.id, self._stack)
            item.set_pixels(*self._shown_for(layer))
            item.setPos(layer.x, layer.y)
            item.setOpacity(layer.opacity)
            item.set_blend_mode(layer.blend_mode)
            item.setZValue(index)
        doc_rect = QRectF(0, 0, self.doc.width, self.doc.height)
        if self._stack.boundingRect() != doc_rect:
            self._stack.set_rect(doc_rect)
            margin = max(self.doc.width, self.doc.height)
            self.setSceneRect(doc_rect.adjusted(-margin, -margin, margin, margin))
        self._update_modes()
        self._update_outline()

    def _update_modes(self) -> None:
        """Choose live items vs. the core-compositor fallback, and whether to isolate."""
        layers = self.doc.layers
        shown = [self.doc.effective(layer) for layer in layers]  # groups' visibility and opacity in
        live_groups = self._live_groups()
        upto = -1
        for index, layer in enumerate(layers):
            if shown[index][0] and shown[index][1] > 0 and (
                    layer.blend_mode not in QT_BLEND_MODES or layer.group not in live_groups
                    or layer.blend_gamma != 1.0 or layer.knockout  # text gamma, knockout: core only
                    or layer.clipping):  # clipped to the layer below: items cannot clip
                upto = index
        if working_space(self.doc) is not None:  # a CMYK file blends in CMYK: core only
            upto = len(layers) - 1
        changed = upto != self._flat_upto
        self._flat_upto = upto
        needs_isolation = False
        for index, layer in enumerate(layers):
            item = self._items[layer.id]
            live = index > upto
            item.setVisible(shown[index][0] and live)
            item.setOpacity(shown[index][1])
            if live and shown[index][0] and item.composition_mode != QPainter.CompositionMode.CompositionMode_SourceOver:
                needs_isolation = True
        if self._picture.isVisible():  # a multi-layer transform draws these as one picture
            for lid in self._picture.layer_ids:
                if lid in self._items:
                    self._items[lid].setVisible(False)
        self._flat.setVisible(upto >= 0)
        self._flat.setZValue(upto)
        self._effect.setEnabled(needs_isolation)
        if upto >= 0 and (changed or self._flat.shown_pixels is None):
            self._schedule_flatten()
        elif changed:
            self._flat_generation += 1

    def _live_groups(self) -> set:
        """Groups whose layers items can draw one by one (with the groups' visibility and opacity
        folded in): pass-through, or Normal holding only Normal layers, at full opacity, without a
        mask, inside such groups. ``None`` (no group) is in the set. Layers of any other group
        are drawn by the core compositor, which knows isolation, group modes and masks."""
        groups = self.doc.groups
        if not groups:
            return {None}
        from ..document import BlendMode

        normal_only = {gid: True for gid in groups}
        for layer in self.doc.layers:
            if layer.blend_mode != BlendMode.NORMAL:
                for g in self.doc.layer_chain(layer):
                    normal_only[g.id] = False

        def simple(g) -> bool:
            return g.opacity >= 1.0 and (g.mask is None or g.mask.disabled) and (
                g.pass_through or (g.blend_mode == BlendMode.NORMAL and normal_only[g.id]))

        return {None} | {gid for gid in groups if all(simple(g) for g in self.doc.group_chain(gid))}

    def _schedule_flatten(self) -> None:
        if self._flat_upto < 0:
            return
        preview = self._transform_preview
        if preview is not None and self._preview_busy:
            self._preview_again = True  # a drag outpaces the pool: only the latest box is drawn
            return
        self._flat_generation += 1
        generation = self._flat_generation
        layers = [ly.copy(pixels=self._previews.get(ly.id, ly.pixels))
                  for ly in self.doc.layers[: self._flat_upto + 1]]
        width, height = self.doc.width, self.doc.height
        groups = {gid: g.copy() for gid, g in self.doc.groups.items()}  # the pool must not see edits
        job = partial(composite_layers, groups=groups, space=working_space(self.doc))
        if preview is not None:
            job = partial(_composite_transformed, groups=groups, space=working_space(self.doc), preview=preview)
            self._preview_busy = True

        def done(result, error):
            if preview is not None:
                self._preview_busy = False
                if self._preview_again:
                    self._preview_again = False
                    self._schedule_flatten()
            if error is not None:
                raise error
            if generation == self._flat_generation and isValid(self._flat):  # the view may be gone
                self._flat.set_pixels(result)

        self.tasks.submit(job, layers, width, height, callback=done)

    def preview_transform(self, layer_ids, group_ids=(), matrix=None) -> None:
        """Show a free transform of layers the core compositor draws (in a masked or blended
        group, a CMYK file...) by recompositing with them warped; None ends it."""
        if layer_ids is None or not any(self.doc.index_of(lid) <= self._flat_upto for lid in layer_ids):
            if self._transform_preview is not None:
                self._transform_preview = None
                self._schedule_flatten()
            return
        self._transform_preview = (tuple(layer_ids), tuple(group_ids), matrix)
        self._schedule_flatten()

    @property
    def flatten_pending(self) -> bool:
        return self._flat_upto >= 0 and self.tasks.busy

    def set_preview(self, layer_id: str, pixels) -> None:
        """Show ``pixels`` for a layer without touching the document (None ends it)."""
        item = self._items.get(layer_id)
        if item is None:
            return
        if pixels is None:
            self._previews.pop(layer_id, None)
        else:
            self._previews[layer_id] = pixels  # the compositor applies the mask itself
            layer = self.doc.layer(layer_id)
            if layer.mask is not None and pixels.shape == layer.pixels.shape:
                from ..document.paint import mask_pixels

                pixels = mask_pixels(pixels, layer.x, layer.y, layer.mask)  # what the mask leaves
        item.set_preview(pixels)
        if self._flat_upto >= self.doc.index_of(layer_id):
            self._schedule_flatten()

    # ----- layer masks and brush strokes ----------------------------------------------------
    @staticmethod
    def _mask_key(pixels, mask, origin: tuple[int, int]) -> tuple:
        # what the masked picture depends on (not the offset: a moved layer moves its mask)
        return (id(pixels), id(mask.pixels), mask.x - origin[0], mask.y - origin[1], mask.default,
                mask.density, mask.feather, mask.disabled, pixels, mask.pixels)

    def _shown_for(self, layer) -> tuple[np.ndarray, tuple | None]:
        """What a layer's item draws: its pixels, or with an enabled mask a copy with the mask
        applied (cached until the pixels or the mask change), and the box to draw."""
        from ..document.paint import masked_pixels
        from .qimage import alpha_bbox

        mask = layer.mask
        if mask is None or mask.disabled or layer.width == 0 or layer.height == 0:
            self._shown.pop(layer.id, None)
            return layer.pixels, None
        key = self._mask_key(layer.pixels, mask, (layer.x, layer.y))
        cached = self._shown.get(layer.id)
        if cached is not None and len(cached[0]) == len(key) and all(
                a is b or (not isinstance(a, np.ndarray) and a == b) for a, b in zip(cached[0], key)):
            return cached[1], cached[2]
        box = alpha_bbox(layer.pixels)
        shown = masked_pixels(layer, box) if box is not None else layer.pixels
        if shown is not layer.pixels:
            shown.flags.writeable = False
        self._shown[layer.id] = (key, shown, box)
        return shown, box

    def shown_array(self, layer, copy: bool = False) -> np.ndarray:
        """The picture the canvas draws for a layer (its pixels, masked when it has a mask);
        ``copy``: a writable copy of it (of its drawn box only, the rest zero)."""
        from ..document.paint import copy_box
        from .qimage import alpha_bbox

        shown, box = self._shown_for(layer)
        if not copy:
            return shown
        box = box or alpha_bbox(layer.pixels) or (0, 0, 0, 0)
        return copy_box(shown, box)

    def remember_shown(self, pixels, mask, shown) -> None:
        """A brush stroke already rendered what the layer will show with these pixels and this
        mask: keep it, so committing the stroke does not compute it again."""
        from .qimage import alpha_bbox

        if self._stroke_layer is not None or mask is None or mask.disabled:
            return
        layer_id = next((lid for lid, item in self._items.items() if item.shown_pixels is shown), None)
        if layer_id is None:
            return
        layer = self.doc.layer(layer_id)
        origin = (layer.x, layer.y) if pixels is layer.pixels else None
        if origin is None:  # new pixels: the item sits where they will be placed
            pos = self._items[layer_id].pos()
            origin = (int(pos.x()), int(pos.y()))
        box = self._items[layer_id].shown_box  # the box the stroke drew: the mip levels stay valid
        self._shown[layer_id] = (self._mask_key(pixels, mask, origin), shown, box or alpha_bbox(pixels))

    def begin_stroke(self, layer_id: str, shown: np.ndarray | None, origin: tuple[int, int], box,
                     snapshot=None, flat_index: int | None = None) -> None:
        """A brush stroke starts: the layer's item draws ``shown`` (placed at ``origin``), which the
        tool writes in place, within ``box``. ``snapshot(region)`` gives the layer (or the group,
        for a stroke on a group's mask: no item, ``shown`` None) as the stroke has it so far over a
        document region, for the part of the stack the core compositor draws; ``flat_index`` is
        the top layer that stroke changes (default: the layer's own index)."""
        item = self._items.get(layer_id)
        if item is None and shown is not None:
            return
        self._end_drag_cache()
        self._stroke_layer = layer_id
        self._stroke_index = self.doc.index_of(layer_id) if flat_index is None else flat_index
        self._stroke_origin = origin
        self._stroke_snapshot = snapshot
        self._stroke_token += 1
        self._flat_dirty = None
        self._flat_work = None
        if item is None:
            return
        same = origin == (int(item.pos().x()), int(item.pos().y()))  # a copy of what it shows
        item.set_pixels(shown, tuple(int(v) for v in box), same_picture=same)
        item.setPos(*origin)

    def refresh_stroke(self, layer_id: str, box: tuple[int, int, int, int]) -> None:
        """The stroke changed ``box`` (the shown array's coordinates): redraw only that."""
        item = self._items.get(layer_id)
        if item is not None:
            item.refresh(box)
        if self._stroke_snapshot is not None and self._flat_upto >= self._stroke_index:
            ox, oy = self._stroke_origin
            doc_box = (max(0, box[0] + ox), max(0, box[1] + oy),
                       min(self.doc.width, box[2] + ox), min(self.doc.height, box[3] + oy))
            if doc_box[2] > doc_box[0] and doc_box[3] > doc_box[1]:
                self._flat_dirty = _add_box(self._flat_dirty or [], doc_box)
                self._flatten_stroke()

    def _flatten_stroke(self) -> None:
        """The painted layer is drawn by the core compositor: recomposite the part the stroke
        changed on the task pool (one job at a time, the changes meanwhile gathered into the next)
        and patch it into the flattened picture."""
        if self._flat_busy or not self._flat_dirty or self._flat.shown_pixels is None:
            return
        regions, self._flat_dirty = self._flat_dirty, None
        token, layer_id = self._stroke_token, self._stroke_layer
        everything = (min(b[0] for b in regions), min(b[1] for b in regions),
                      max(b[2] for b in regions), max(b[3] for b in regions))
        snapshot = self._stroke_snapshot(everything)  # copies: the pool never sees the live arrays
        originals = self.doc.layers[: self._flat_upto + 1]
        layers = [snapshot if ly.id == layer_id else ly.copy(pixels=self._previews.get(ly.id, ly.pixels))
                  for ly in originals]
        groups = {gid: g.copy() for gid, g in self.doc.groups.items()}
        if snapshot.id in groups:  # a stroke on a group's mask
            groups[snapshot.id] = snapshot
        for original, copy in zip(originals, layers):  # the alpha summaries go along (keyed on pixels)
            cached = original.__dict__.get("_alpha_tiles")
            if cached is not None and cached[0] is copy.pixels:
                copy.__dict__["_alpha_tiles"] = cached
        width, height = self.doc.width, self.doc.height
        self._flat_busy = True
        space = working_space(self.doc)

        def work():
            return [composite_layers(layers, width, height, region, groups=groups, space=space)
                    for region in regions]

        def done(results, error):
            self._flat_busy = False
            if error is not None:
                raise error
            for original, copy in zip(originals, layers):  # keep what the pool computed for the next job
                cached = copy.__dict__.get("_alpha_tiles")
                if cached is not None and cached[0] is original.pixels:
                    original.__dict__.setdefault("_alpha_tiles", cached)
            if token != self._stroke_token or self._stroke_layer is None:
                return  # the stroke ended: the document's own flatten follows
            if self._flat_work is None:
                self._flat_work = self._flat.shown_pixels.copy()
                self._flat.set_pixels(self._flat_work, (0, 0, self._flat_work.shape[1], self._flat_work.shape[0]),
                                      same_picture=True)
            for (l, t, r, b), result in zip(regions, results):
                self._flat_work[t:b, l:r] = result
                self._flat.refresh((l, t, r, b))
            self._flatten_stroke()

        self.tasks.submit(work, callback=done)

    def end_stroke(self, layer_id: str, commit: bool = False) -> None:
        self._stroke_layer = None
        self._stroke_snapshot = None
        self._stroke_token += 1
        self._flat_work = None  # drawn until the document's own flatten replaces it

    def show_layer(self, layer_id: str) -> None:
        """Draw the layer as the document has it (after a dropped stroke)."""
        item = self._items.get(layer_id)
        try:
            layer = self.doc.layer(layer_id)
        except KeyError:
            if layer_id in self.doc.groups:  # a dropped stroke on a group's mask
                self._schedule_flatten()
            return
        if item is not None:
            shown, box = self._shown_for(layer)
            item.set_pixels(shown, box if box is not None else alpha_bbox_of(shown))
        if self._flat_upto >= self.doc.index_of(layer_id):
            self._schedule_flatten()  # a live patch of the flattened picture may be showing
            item.setPos(layer.x, layer.y)

    def _ring_region(self, centre: QPointF):
        """The device pixels the brush outline at ``centre`` covers: a thin ring, so moving it
        repaints a band, not the whole disc."""
        from PySide6.QtGui import QRegion

        r = self.brush.size / 2 * self.zoom
        c = self.mapFromScene(centre)
        outer = QRect(round(c.x() - r - 3), round(c.y() - r - 3), round(2 * r + 6), round(2 * r + 6))
        inner = outer.adjusted(6, 6, -6, -6)
        return QRegion(outer, QRegion.RegionType.Ellipse).subtracted(QRegion(inner, QRegion.RegionType.Ellipse))

    def _move_brush_ring(self, pos: QPointF | None) -> None:
        """A brush wider on screen than a cursor may be is outlined on the canvas instead."""
        from .tools import CURSOR_MAX, PaintTool

        tool = self.current_tool
        wanted = (pos if pos is not None and isinstance(tool, PaintTool) and not self._space
                  and self.brush.size * self.zoom > CURSOR_MAX else None)
        if wanted == self._ring:
            return
        if self._ring is not None:
            self.viewport().update(self._ring_region(self._ring))
        self._ring = QPointF(wanted) if wanted is not None else None
        if self._ring is not None:
            self.viewport().update(self._ring_region(self._ring))

    def _draw_brush_ring(self, painter: QPainter) -> None:
        r = self.brush.size / 2
        for color, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 255, 230), 1)):
            pen = QPen(color, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._ring, r, r)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._move_brush_ring(None)
        super().leaveEvent(event)

    # ----- painting -----------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.fillRect(rect, BACKGROUND)
        doc_rect = QRectF(0, 0, self.doc.width, self.doc.height)
        # rounded, not aligned: a partly covered edge pixel would show a checker seam
        device = painter.worldTransform().mapRect(doc_rect).toRect()
        painter.save()
        painter.resetTransform()
        painter.setBrushOrigin(device.topLeft())
        painter.fillRect(device, self._checker)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.save()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # the canvas border sits just outside the canvas, never over its pixels
        device = painter.worldTransform().mapRect(QRectF(0, 0, self.doc.width, self.doc.height))
        painter.save()
        painter.resetTransform()
        painter.setPen(QPen(QColor(0, 0, 0, 220), 1))
        painter.drawRect(device.toRect().adjusted(-1, -1, 0, 0))
        painter.restore()
        outlines = self._outline_rects() if self.current_tool.shows_outline else []
        pen = QPen(QColor("#4aa3ff"), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for rect in outlines:
            painter.drawRect(rect)
        self._drawn_outline = _union(outlines)
        if self.transforming:
            self._draw_transform_box(painter)
        if self._ring is not None:
            self._draw_brush_ring(painter)
        gx, gy = self._guides
        if gx is not None or gy is not None:
            guide = QPen(QColor("#ff3df2"), 1)
            guide.setCosmetic(True)
            painter.setPen(guide)
            visible = self.mapToScene(self.viewport().rect()).boundingRect()
            if gx is not None:
                painter.drawLine(QPointF(gx, visible.top()), QPointF(gx, visible.bottom()))
            if gy is not None:
                painter.drawLine(QPointF(visible.left(), gy), QPointF(visible.right(), gy))
        painter.restore()

    def _draw_transform_box(self, painter: QPainter) -> None:
        box = self.tools["transform"].box
        handles = box.handles()
        corners = [handles[(-1, -1)], handles[(1, -1)], handles[(1, 1)], handles[(-1, 1)]]
        painter.save()
        painter.resetTransform()
        device = [self.mapFromScene(p) for p in corners]
        pen = QPen(QColor("#4aa3ff"), 1)
        painter.setPen(pen)
        for a, b in zip(device, device[1:] + device[:1]):
            painter.drawLine(a, b)
        painter.setBrush(QColor("#ffffff"))
        half = HANDLE_PX // 2
        for point in handles.values():
            p = self.mapFromScene(point)
            painter.drawRect(p.x() - half, p.y() - half, HANDLE_PX, HANDLE_PX)
        painter.restore()

    def _outline_rects(self) -> list[QRectF]:
        """The dashed outlines: every selected visible layer's content."""
        rects = []
        for layer in self.session.selected_layers or ([self.session.current_layer]
                                                      if self.session.current_layer else []):
            item = self._items.get(layer.id)
            if item is None or not layer.visible:
                continue
            rect = item.content_rect()
            if not rect.isEmpty():
                rects.append(rect.translated(layer.x, layer.y))
        return rects

    def _outline_rect(self) -> QRectF | None:
        return _union(self._outline_rects())

    def _update_outline(self, old: QRectF | None = None) -> None:
        """Repaint where the outline was drawn and where it goes (it also lies in the grey
        margin, which no item repaints: without this, undo or a nudge leaves trails)."""
        for rect in (old, self._drawn_outline, self._outline_rect()):
            if rect is not None:
                device = self.mapFromScene(rect).boundingRect().adjusted(-3, -3, 3, 3)
                self.viewport().update(device)

    def _start_drag_cache(self, layer_id: str) -> None:
        mover = self._items.get(layer_id)
        if mover is None or not mover.isVisible():
            return
        live = [it for it in self._items.values() if it is not mover and it.isVisible()]
        if self._flat.isVisible():
            live.append(self._flat)
        cache = DragCache(self, self._stack, live, mover, QRectF(0, 0, self.doc.width, self.doc.height),
                          QPainter.CompositionMode.CompositionMode_SourceOver)
        self._drag_cache = cache if cache.active else None

    def _end_drag_cache(self) -> None:
        if self._drag_cache is not None:
            cache, self._drag_cache = self._drag_cache, None
            cache.release()
            self._update_modes()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self._end_drag_cache()  # the snapshots are in viewport pixels
        super().scrollContentsBy(dx, dy)

    # ----- zoom ---------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return math.hypot(self.transform().m11(), self.transform().m12())

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._end_drag_cache()
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        after = self.mapToScene(anchor.toPoint())
        delta = after - before
        self.translate(delta.x(), delta.y())
        self._auto_fit = False
        self.zoomChanged.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def fit(self) -> None:
        self._end_drag_cache()
        rect = QRectF(0, 0, self.doc.width, self.doc.height)
        margin = 0.04 * max(rect.width(), rect.height())
        self.fitInView(rect.adjusted(-margin, -margin, margin, margin),
                       Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = True
        self.zoomChanged.emit(self.zoom)

    def actual_size(self) -> None:
        self._end_drag_cache()
        center = self.mapToScene(self.viewport().rect().center())
        self.setTransform(QTransform())
        self.centerOn(center)
        self._auto_fit = False
        self.zoomChanged.emit(self.zoom)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._end_drag_cache()
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            notches = event.angleDelta().y() / 120.0
            if notches:
                self.zoom_by(WHEEL_STEP ** notches, event.position())
            event.accept()
            return
        super().wheelEvent(event)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.NativeGesture:
            if event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self.zoom_by(1.0 + event.value(), event.position())
                return True
        elif event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                if pinch.changeFlags() & QPinchGesture.ChangeFlag.ScaleFactorChanged:
                    center = self.viewport().mapFromGlobal(pinch.centerPoint().toPoint())
                    self.zoom_by(pinch.scaleFactor(), QPointF(center))
                event.accept(pinch)
                return True
        return super().viewportEvent(event)

    # ----- tools --------------------------------------------------------------------
    @property
    def current_tool(self) -> Tool:
        return self.tools[self.tool]

    @property
    def auto_select(self) -> bool:
        return self.tools["move"].auto_select

    @auto_select.setter
    def auto_select(self, on: bool) -> None:
        self.tools["move"].auto_select = bool(on)

    def set_tool(self, tool: str) -> None:
        if tool not in self.tools:
            raise ValueError(f"unknown tool {tool!r}")
        changed = tool != self.tool
        self.tool = tool
        self._restore_cursor()
        self._move_brush_ring(self._ring)  # only a paint tool keeps its outline
        self._update_outline()
        self.viewport().update()
        if changed:
            self.toolChanged.emit(tool)

    def set_space(self, down: bool) -> None:
        """Space held (from the canvas or, via the window, from any non-text widget): pan."""
        if self._space != bool(down):
            self._space = bool(down)
            self._restore_cursor()

    def refresh_cursor(self) -> None:
        """The tool's cursor again (the brush circle follows the size and the zoom)."""
        if self._pan_from is None:
            self._restore_cursor()
        if self._ring is not None:  # size or zoom changed: the outline follows, or goes
            ring, self._ring = self._ring, None
            self.viewport().update()
            self._move_brush_ring(ring)

    def _restore_cursor(self) -> None:
        cursor = Qt.CursorShape.OpenHandCursor if self._space else self.current_tool.cursor()
        self.viewport().setCursor(cursor)

    def set_guides(self, x: float | None, y: float | None) -> None:
        """Show the snap guides (a vertical line at x, a horizontal one at y; None hides)."""
        if (x, y) != self._guides:
            self._guides = (x, y)
            self.viewport().update()

    def begin_layer_drag(self, layer_id: str | None) -> None:
        """A tool starts dragging a layer: draw the still layers from snapshots meanwhile
        (None: several layers move, drawn as they are)."""
        self._nudge = None
        if layer_id is not None:
            self._start_drag_cache(layer_id)

    def end_layer_drag(self) -> None:
        self._end_drag_cache()
        self._update_outline()

    # ----- free transform ---------------------------------------------------------------
    @property
    def transforming(self) -> bool:
        return self.tool == "transform" and self.tools["transform"].box is not None

    def begin_transform(self) -> bool:
        """Ctrl+T: transform the current layer, or the selected layers and groups together, with
        handles until applied or cancelled."""
        layers, groups = self._acted_on("transform")
        if not layers:
            return False
        if self.transforming:
            return True
        if self.pending_transform is not None:
            self.session.refused.emit("The last transform is still being applied.")
            return False
        tool = self.tools["transform"]
        previous = self.tool
        if not tool.begin([ly.id for ly in layers], groups):
            return False
        tool.previous_tool = previous
        self.set_tool("transform")
        return True

    def _acted_on(self, action: str) -> tuple[list, list[str]]:
        """What a transform or flip changes: the current layer, or with several layers or a group
        row selected, every selected layer (a group's layers included) and the selected groups
        with the groups inside them (their masks go along). Empty, with the reason said, when
        nothing is selected or a layer among them is locked."""
        session = self.session
        if session.selected_group_ids or len(session.selected_ids) > 1:
            from ..document.tree import subtree_groups

            layers = session.selected_layers
            groups = list(dict.fromkeys(g for gid in session.selected_group_ids if gid in self.doc.groups
                                        for g in sorted(subtree_groups(self.doc, gid))))
            if not layers:
                session.refused.emit(f"The selected group has no layers to {action}.")
                return [], []
            locked = [ly for ly in layers if ly.locked]
            if locked:
                session.refused.emit(f"“{locked[0].name}” is locked. Unlock it to {action} the selection.")
                return [], []
            return layers, groups
        layer = session.current_layer
        if layer is None or not session.check_editable(layer.id, action):
            return [], []
        return [layer], []

    def set_item_transform(self, layer_id: str, transform) -> None:
        item = self._items.get(layer_id)
        if item is None:
            return
        old = item.sceneBoundingRect()
        item.setTransform(transform if transform is not None else QTransform())
        if not item.isVisible() and layer_id in self._picture.layer_ids and self._picture.isVisible():
            return  # drawn as part of the transform picture, which repaints where it moves
        for rect in (old, item.sceneBoundingRect()):
            self.viewport().update(self.mapFromScene(rect.adjusted(-2, -2, 2, 2)).boundingRect()
                                   .adjusted(-HANDLE_MARGIN, -HANDLE_MARGIN, HANDLE_MARGIN, HANDLE_MARGIN))
        self._update_outline()

    def transform_picture(self, layer_ids, matrix: QTransform | None) -> None:
        """Preview a free transform of several layers as one picture moved by ``matrix`` (document
        coordinates) instead of redrawing each big layer transformed on every drag event. Only
        when zoomed out (the picture is drawn at the view's mip level), the layers' items are all
        drawn by QPainter with SourceOver (Normal) and no unselected visible layer lies between
        them; otherwise the items keep drawing themselves (their transforms are set anyway).
        ``None`` ends it and shows the items again."""
        picture = self._picture
        items = []
        if layer_ids is not None and matrix is not None and 0 < self.zoom < MIP_BELOW:
            chosen = set(layer_ids)
            normal = QPainter.CompositionMode.CompositionMode_SourceOver
            shown = [(self.doc.index_of(lid), self._items[lid]) for lid in layer_ids
                     if lid in self._items and (self._items[lid].isVisible() or lid in picture.layer_ids)]
            if shown and all(index > self._flat_upto and item.composition_mode == normal
                             for index, item in shown):
                low, high = min(i for i, _ in shown), max(i for i, _ in shown)
                between = [ly for ly in self.doc.layers[low:high + 1] if ly.id not in chosen
                           and self._items[ly.id].isVisible() and ly.id not in picture.layer_ids]
                if not between and len(shown) >= 2:
                    items = [item for _i, item in sorted(shown, key=lambda pair: pair[0])]
        if not items:
            self._drop_picture()
            return
        factor = 2 ** max(1, int(math.floor(math.log2(1.0 / self.zoom))))
        if picture.factor != factor or picture.layer_ids != tuple(item.layer_id for item in items):
            rect = QRectF()
            for item in items:
                rect = rect.united(item.boundingRect().translated(item.pos()))
            for item in items:
                item.setVisible(True)  # paint() draws regardless; visibility only matters to the scene
            picture.draw(items, rect, factor)
            picture.setZValue(self.doc.index_of(items[-1].layer_id))
        old = picture.sceneBoundingRect() if picture.isVisible() else QRectF()
        for item in items:
            item.setVisible(False)
        picture.setTransform(matrix)
        picture.setVisible(True)
        self._picture_matrix = QTransform(matrix)
        for rect in (old, picture.sceneBoundingRect()):
            if not rect.isEmpty():
                self.viewport().update(self.mapFromScene(rect.adjusted(-2, -2, 2, 2)).boundingRect()
                                       .adjusted(-HANDLE_MARGIN, -HANDLE_MARGIN, HANDLE_MARGIN, HANDLE_MARGIN))
        self._update_outline()

    def _drop_picture(self) -> None:
        picture = self._picture
        if not picture.layer_ids and not picture.isVisible():
            return
        for lid in picture.layer_ids:
            if lid in self._items:
                self._items[lid].setVisible(True)
        if picture.isVisible():
            self.viewport().update(self.mapFromScene(picture.sceneBoundingRect().adjusted(-2, -2, 2, 2))
                                   .boundingRect())
        picture.setVisible(False)
        picture.clear()
        self._picture_matrix = None
        self._update_modes()  # the items' visibility as the document says

    def _redraw_picture(self, _zoom=None) -> None:
        """A zoom during a multi-layer transform: the picture at the new scale (or the items)."""
        if self._picture_matrix is not None and self.transforming:
            self.transform_picture(self.tools["transform"].layer_ids, self._picture_matrix)

    def apply_transform(self) -> bool:
        """Enter: resample once from the original pixels, on the task pool (a big layer takes
        seconds); the preview stays until the result replaces the layers (and the groups'
        masks) as one undo step. Returns True when a resample was started."""
        from ..document import MacroCommand, ReplacePixels, SetGroupProperties
        from ..document.layer_ops import replace_pixels_and_mask, transform_layers

        if not self.transforming:
            return False
        tool = self.tools["transform"]
        t = tool.box.matrix()
        matrix = [[t.m11(), t.m21(), t.dx()], [t.m12(), t.m22(), t.dy()]]
        identity = all(abs(a - b) < 1e-9 for a, b in zip(
            (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()), (1, 0, 0, 1, 0, 0)))
        layers = [self.doc.layer(lid) for lid in tool.layer_ids]
        before = [(ly.id, ly.pixels, ly.x, ly.y, ly.mask) for ly in layers]
        masks = [(gid, self.doc.group(gid).mask) for gid in tool.group_ids
                 if gid in self.doc.groups and self.doc.group(gid).mask is not None]
        previous = tool.previous_tool
        previews = {ly.id: self._items[ly.id].transform() for ly in layers if ly.id in self._items}
        self._end_transform(keep_preview=not identity)  # the preview shows until the pixels arrive
        self.set_tool(previous)
        if identity:
            return False
        for lid, preview in previews.items():
            self.set_item_transform(lid, preview)  # keep showing them until the pixels arrive
        self.pending_transform = layers[0].id

        def done(result, error) -> None:
            self.pending_transform = None
            for lid in previews:
                self.set_item_transform(lid, None)
            if self._transform_preview is not None:
                self._transform_preview = None  # the new pixels (or the old ones) are drawn next
                if error is not None:
                    self._schedule_flatten()
            if error is not None:
                self.session.refused.emit(f"The transform cannot be applied: {error}.")
                return
            try:
                changed = any(self.doc.layer(lid).pixels is not pixels or (self.doc.layer(lid).x, self.doc.layer(lid).y)
                              != (x, y) or self.doc.layer(lid).mask is not mask for lid, pixels, x, y, mask in before)
                changed = changed or any(self.doc.group(gid).mask is not mask for gid, mask in masks)
            except KeyError:
                return
            if changed:
                self._schedule_flatten()
                self.session.refused.emit("The layer changed while the transform was applied; nothing was changed.")
                return
            for lid, *_rest in before:
                if not self.session.check_editable(lid, "transform"):
                    self._schedule_flatten()
                    return
            results, new_masks = result
            steps = []
            for (lid, _p, _x, _y, mask), (pixels, x, y, new_mask) in zip(before, results):
                steps.append(ReplacePixels(lid, pixels, x, y, text="Free transform") if mask is None
                             else replace_pixels_and_mask(lid, pixels, x, y, new_mask, "Free transform"))
            for gid, new_mask in new_masks:
                steps.append(SetGroupProperties(gid, mask=new_mask))
            self.session.push(steps[0] if len(steps) == 1 else MacroCommand(steps, text="Free transform"))

        self.tasks.submit(transform_layers, [(p, m, x, y) for _lid, p, x, y, m in before], masks, matrix,
                          callback=done)
        return True

    def cancel_transform(self) -> None:
        """Esc: the layer as it was."""
        if self.tool != "transform":
            return
        previous = self.tools["transform"].previous_tool
        self._end_transform()
        self.set_tool(previous)

    def _end_transform(self, keep_preview: bool = False) -> None:
        tool = self.tools["transform"]
        box_rect = self._transform_rect()
        tool.end()
        if not keep_preview:
            self.preview_transform(None)
        if box_rect is not None:
            self.viewport().update(box_rect)

    def _transform_rect(self):
        """The device rect the transform box and its handles cover (for repaints)."""
        tool = self.tools["transform"]
        if tool.box is None:
            return None
        points = [self.mapFromScene(p) for p in tool.box.handles().values()]
        xs, ys = [p.x() for p in points], [p.y() for p in points]
        return QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)).toAlignedRect().adjusted(
            -HANDLE_MARGIN, -HANDLE_MARGIN, HANDLE_MARGIN, HANDLE_MARGIN)

    def flip(self, horizontal: bool) -> bool:
        """Flip: inside a free transform it flips the box; otherwise the current layer, or the
        selected layers and groups together about their common bounds, one step."""
        if self.transforming:
            self.tools["transform"].flip(horizontal)
            self.viewport().update()
            return True
        layers, groups = self._acted_on("flip")
        if not layers:
            return False
        from ..document.layer_ops import flip_layers

        # mirrored in place (masks too): exact and instant, no resampling
        cmd = flip_layers(self.doc, [ly.id for ly in layers], groups, horizontal,
                          "Flip horizontal" if horizontal else "Flip vertical")
        if cmd is None:
            return False
        return self.session.push(cmd.commands[0] if len(cmd.commands) == 1 else cmd)

    def nudge(self, dx: int, dy: int) -> bool:
        """Move the current layer by arrow keys; consecutive nudges of one layer with nothing
        else in between are one undo step."""
        session = self.session
        layer_id = session.current_layer_id
        gesture = None
        if self._nudge is not None:
            last_layer, last_gesture, last_index = self._nudge
            if last_layer == layer_id and last_index == session.stack.index():
                gesture = last_gesture
        if gesture is None:
            gesture = session.new_gesture()
        moved = session.move_selection(dx, dy, gesture)
        self._nudge = (layer_id, gesture, session.stack.index()) if moved else None
        return moved

    def _scene_pos(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and (self._space or self.tool == "hand")):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        tool = self.current_tool
        if button == Qt.MouseButton.LeftButton and tool.press(self._scene_pos(event), event.modifiers()):
            self._gesture_tool = tool  # move and release go to it even if the tool is switched meanwhile
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = self._scene_pos(event)
        self.cursorMoved.emit(math.floor(pos.x()), math.floor(pos.y()))
        self._move_brush_ring(pos)
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._gesture_tool is not None and self._gesture_tool.move(pos, event.modifiers()):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                              Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._restore_cursor()
            event.accept()
            return
        if self._gesture_tool is not None and event.button() == Qt.MouseButton.LeftButton:
            tool, self._gesture_tool = self._gesture_tool, None
            tool.release(self._scene_pos(event), event.modifiers())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if self.transforming and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            self.apply_transform() if key != Qt.Key.Key_Escape else self.cancel_transform()
            event.accept()
            return
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.set_space(True)
            event.accept()
            return
        step = nudge_step(event)
        if step is not None:
            self.nudge(*step)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.set_space(False)
            event.accept()
            return
        super().keyReleaseEvent(event)


def _composite_transformed(layers, width: int, height: int, *, groups, space, preview) -> np.ndarray:
    """The flattened picture with a free transform's layers warped (on the pool)."""
    from ..document.layer_ops import preview_transformed

    layer_ids, group_ids, matrix = preview
    layers, groups = preview_transformed(layers, groups, layer_ids, group_ids, matrix, width, height)
    return composite_layers(layers, width, height, groups=groups, space=space)


def _add_box(boxes: list, box: tuple) -> list:
    """Gather a dirty box: merged with the last one when their bounding box wastes little (a
    stroke's boxes overlap), else kept apart (a long diagonal stroke is not one huge rectangle)."""
    if boxes:
        a = boxes[-1]
        union = (min(a[0], box[0]), min(a[1], box[1]), max(a[2], box[2]), max(a[3], box[3]))
        area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
        if area(union) <= 1.5 * (area(a) + area(box)):
            return boxes[:-1] + [union]
    return boxes + [box]


def alpha_bbox_of(pixels: np.ndarray):
    from .qimage import alpha_bbox

    return alpha_bbox(pixels)


def _union(rects: list[QRectF]) -> QRectF | None:
    if not rects:
        return None
    out = QRectF(rects[0])
    for rect in rects[1:]:
        out = out.united(rect)
    return out


_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


def nudge_step(event) -> tuple[int, int] | None:
    """(dx, dy) for an arrow key (Shift: 10 px), None for other keys."""
    direction = _ARROWS.get(event.key())
    if direction is None:
        return None
    step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
    return direction[0] * step, direction[1] * step

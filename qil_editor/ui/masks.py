"""Layer masks, the brush and the eraser in the window: actions, the tool options bar and the
mask thumbnail in the Layers panel.

Actions (Layer > Layer Mask, the panel's context menu): Add (Reveal All),
Disable/Enable, Apply (bake into the alpha), Delete, and "Paint on Mask",
which chooses what the brush paints, like a click on the mask or the layer
thumbnail in Photoshop's panel. Tools: Brush (B), Eraser (E); X swaps
black and white, [ and ] change the size. Each mask edit and each stroke is
one undo step (``document.layer_ops.SetLayerMask`` / ``ApplyLayerMask``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSpinBox, QToolBar, QToolButton

from .brush import BrushSettings, next_brush_size

if TYPE_CHECKING:  # pragma: no cover
    from .app_window import DocumentTab, MainWindow

MASK_GAP = 4  # px between the layer thumbnail and the mask thumbnail
PAINT_TOOLS = ("brush", "eraser")


class MaskActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self.brush = BrushSettings()
        self.options: QToolBar | None = None

    # ----- construction ---------------------------------------------------------------------------
    def build_actions(self) -> None:
        a = self.window._action
        a("add_layer_mask", "Add Layer &Mask", self.add, None, "layer-mask",
          "Add a layer mask that reveals all; paint black on it to hide, white to reveal")
        a("add_layer_mask_hide_all", "Add Layer Mask: &Hide All", lambda: self.add(hide=True), None, None,
          "Add a layer mask that hides all; paint white on it to reveal")
        a("disable_layer_mask", "&Disable Layer Mask", self.toggle_disabled, None, None,
          "Turn the current layer's mask off (and on again) without deleting it", checkable=True)
        a("apply_layer_mask", "A&pply Layer Mask", self.apply, None, None,
          "Bake the mask into the layer's transparency and remove it")
        a("delete_layer_mask", "D&elete Layer Mask", self.delete, None, None,
          "Remove the mask; the layer shows all its pixels again")
        a("edit_layer_mask", "Paint on Mas&k", self.toggle_edit_mask, "Ctrl+\\", None,
          "The brush paints the layer mask (on) or the layer's pixels (off); "
          "in the Layers panel, click the mask or the layer thumbnail", checkable=True)
        a("tool_brush", "&Brush Tool", lambda: self.window.set_tool("brush"), "B", "brush",
          "Brush (B): on a mask black hides and white reveals (X swaps); on pixels it paints", checkable=True)
        a("tool_eraser", "&Eraser Tool", lambda: self.window.set_tool("eraser"), "E", "eraser",
          "Eraser (E): erases the layer's pixels", checkable=True)
        a("swap_colors", "S&wap Black and White", self.swap, "X", None,
          "Swap the brush colours: hide <-> reveal on a mask")
        a("brush_smaller", "Brush S&maller", lambda: self.step_size(False), "[", None, "Smaller brush")
        a("brush_larger", "Brush &Larger", lambda: self.step_size(True), "]", None, "Larger brush")

    def build_menus(self, layer_menu, tools_menu) -> None:
        """Layer > Layer Mask and the paint tools in the Tools menu."""
        A = self.window.actions_by_name
        masks = layer_menu.addMenu("Layer &Mask")
        masks.setObjectName("layerMaskMenu")
        for name in ("add_layer_mask", "add_layer_mask_hide_all", "disable_layer_mask", "apply_layer_mask", "delete_layer_mask", None,
                     "edit_layer_mask"):
            masks.addSeparator() if name is None else masks.addAction(A[name])
        masks.setToolTipsVisible(True)
        tools_menu.insertActions(tools_menu.actions()[2] if len(tools_menu.actions()) > 2 else None,
                                 [A["tool_brush"], A["tool_eraser"]])
        tools_menu.addSeparator()
        for name in ("swap_colors", "brush_smaller", "brush_larger"):
            tools_menu.addAction(A[name])

    def build_toolbar(self, toolbar) -> None:
        """The paint tools in the main toolbar, the tool options bar, the mask actions in the
        Layers panel (its buttons and its context menu)."""
        A = self.window.actions_by_name
        hand = A["tool_hand"]
        toolbar.insertActions(hand, [A["tool_brush"], A["tool_eraser"]])
        self._build_options_bar()
        panel = self.window.layer_panel
        view = getattr(panel, "view", None)
        if view is not None:
            if view.contextMenuPolicy() == Qt.ContextMenuPolicy.DefaultContextMenu:
                view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            view.addActions([A[n] for n in ("add_layer_mask", "add_layer_mask_hide_all", "disable_layer_mask",
                                            "apply_layer_mask", "delete_layer_mask", "edit_layer_mask")])
        panel.add_actions([None, A["add_layer_mask"]])

    def _build_options_bar(self) -> None:
        """Size, hardness and opacity of the brush (and eraser), and the colour swatch."""
        bar = QToolBar("Tool Options")
        bar.setObjectName("toolOptions")
        bar.setMovable(False)
        self.size_box = _spin(bar, "brushSize", "Size", 1, 2500, self.brush.size, " px",
                              "Brush diameter in pixels ([ and ] change it)")
        self.hardness_box = _spin(bar, "brushHardness", "Hardness", 0, 100, round(self.brush.hardness * 100),
                                  " %", "0 % fades from the centre, 100 % is a hard edge")
        self.opacity_box = _spin(bar, "brushOpacity", "Opacity", 1, 100, round(self.brush.opacity * 100), " %",
                                 "How much one stroke paints at most (overlaps in a stroke do not add up)")
        self.size_box.valueChanged.connect(self._options_changed)
        self.hardness_box.valueChanged.connect(self._options_changed)
        self.opacity_box.valueChanged.connect(self._options_changed)
        bar.addSeparator()
        self.swatch = QToolButton()
        self.swatch.setObjectName("brushColors")
        self.swatch.setDefaultAction(self.window.actions_by_name["swap_colors"])
        self.swatch.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        bar.addWidget(self.swatch)
        self.target_label = QLabel()
        self.target_label.setObjectName("brushTarget")
        self.target_label.setContentsMargins(8, 0, 8, 0)
        bar.addWidget(self.target_label)
        self.options = bar
        self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self._show_colors()

    def attach(self, tab: "DocumentTab") -> None:
        """A new document: its canvas uses the shared brush; mask changes repaint the panel; what
        the brush paints (mask or pixels) is remembered per layer, as in Photoshop."""
        session = tab.session
        tab.canvas.brush = self.brush
        remembered: dict[str, bool] = {}

        def target_changed(on: bool) -> None:
            if session.current_layer_id is not None:
                remembered[session.current_layer_id] = on
            self.window.update_actions()

        def current_changed(layer_id) -> None:
            session.set_edit_mask(remembered.get(layer_id, False))

        session.editMaskChanged.connect(target_changed)
        session.currentLayerChanged.connect(current_changed)
        session.doc.subscribe(self._document_event)

    def _document_event(self, event) -> None:
        if event.kind == "changed" and "mask" in event.fields:
            view = getattr(self.window.layer_panel, "view", None)
            if view is not None:
                view.viewport().update()

    # ----- state ----------------------------------------------------------------------------------
    def _current(self):
        """(tab, the current layer, or the current group when a group row is current)."""
        tab = self.window.current
        if tab is None:
            return None, None
        return tab, tab.session.current_layer or getattr(tab.session, "current_group", None)

    @staticmethod
    def _is_group(owner) -> bool:
        if owner is None:  # no document (the empty window): the model need not load
            return False
        from ..document import Group

        return isinstance(owner, Group)

    def _set_mask(self, tab, owner, mask, text: str) -> None:
        """One undo step giving a layer or a group a new mask (or none)."""
        from ..document import SetGroupProperties
        from ..document.layer_ops import SetLayerMask

        if self._is_group(owner):
            cmd = SetGroupProperties(owner.id, mask=mask)
            cmd.text = text.replace("layer mask", "group mask")
        else:
            cmd = SetLayerMask(owner.id, mask, text)
        tab.session.push(cmd)

    def update_actions(self, tab, layer) -> None:
        A = self.window.actions_by_name
        if layer is None and tab is not None:
            layer = getattr(tab.session, "current_group", None)  # a group row: its mask
        group = self._is_group(layer)
        mask = layer.mask if layer is not None else None
        A["add_layer_mask"].setEnabled(layer is not None and mask is None)
        A["add_layer_mask_hide_all"].setEnabled(layer is not None and mask is None)
        for name in ("disable_layer_mask", "delete_layer_mask"):
            A[name].setEnabled(mask is not None)
        A["apply_layer_mask"].setEnabled(mask is not None and not group)  # a group has no pixels to bake into
        A["edit_layer_mask"].setEnabled(mask is not None and not group)  # a group's brush paints its mask
        disabled = A["disable_layer_mask"]
        disabled.setChecked(mask is not None and mask.disabled)
        disabled.setText("&Enable Layer Mask" if mask is not None and mask.disabled else "&Disable Layer Mask")
        editing = self.edits_mask(tab, layer)
        A["edit_layer_mask"].setChecked(editing)
        tool = tab.canvas.tool if tab is not None else None
        A["tool_brush"].setChecked(tool == "brush")
        A["tool_eraser"].setChecked(tool == "eraser")
        if self.options is not None:
            if tool not in ("brush", "eraser"):
                # the bar stays (sizes can be set before picking a tool) but says whose it is
                text = "Brush (B) and Eraser (E) settings"
            elif tool == "eraser":
                text = "Erasing the layer's pixels"
            elif editing:
                text = "Painting on the mask: " + ("black hides" if self.brush.foreground < 128 else "white reveals")
            else:
                text = "Painting the layer's pixels"
            self.target_label.setText(text)

    @classmethod
    def edits_mask(cls, tab, layer) -> bool:
        if cls._is_group(layer):
            return layer.mask is not None
        return tab is not None and layer is not None and layer.mask is not None and tab.session.edit_mask

    def tool_changed(self, tool: str) -> None:
        A = self.window.actions_by_name
        A["tool_brush"].setChecked(tool == "brush")
        A["tool_eraser"].setChecked(tool == "eraser")

    def _options_changed(self) -> None:
        self.brush.size = self.size_box.value()
        self.brush.hardness = self.hardness_box.value() / 100.0
        self.brush.opacity = self.opacity_box.value() / 100.0
        self._refresh_cursors()

    def _refresh_cursors(self) -> None:
        for tab in self.window.docs:
            tab.canvas.refresh_cursor()

    def _show_colors(self) -> None:
        self.swatch.setIcon(_swatch_icon(self.brush.foreground))
        self.swatch.setToolTip(f"Foreground {'black' if self.brush.foreground < 128 else 'white'}: "
                               "click or press X to swap")
        self.window.update_actions()

    # ----- actions ---------------------------------------------------------------------------------
    def add(self, hide: bool = False) -> bool:
        """Reveal All (or Hide All): there is no selection to make a mask from."""
        from ..document.paint import hide_all_mask, reveal_all_mask

        tab, layer = self._current()
        if layer is None or not (self._is_group(layer) or tab.session.check_editable(layer.id, "add a mask to")):
            return False
        if layer.mask is not None:
            tab.session.refused.emit(f"“{layer.name}” already has a mask.")
            return False
        self._set_mask(tab, layer, hide_all_mask() if hide else reveal_all_mask(), "Add layer mask")
        tab.session.set_edit_mask(True)  # as in Photoshop, the new mask is what the brush paints
        if hide and self.brush.foreground < 128:
            self.swap()  # white reveals: what a hidden layer needs first
        self.window.update_actions()
        return True

    def _with_mask(self, action: str):
        tab, layer = self._current()
        if layer is None or not (self._is_group(layer) or tab.session.check_editable(layer.id, action)):
            return None, None
        if layer.mask is None:
            tab.session.refused.emit(f"“{layer.name}” has no mask.")
            return None, None
        return tab, layer

    def toggle_disabled(self) -> bool:
        from dataclasses import replace

        tab, layer = self._with_mask("change the mask of")
        if layer is None:
            self.window.update_actions()
            return False
        on = not layer.mask.disabled
        self._set_mask(tab, layer, replace(layer.mask, disabled=on),
                       "Disable layer mask" if on else "Enable layer mask")
        self.window.update_actions()
        return True

    def apply(self) -> bool:
        from ..document.layer_ops import ApplyLayerMask

        tab, layer = self._with_mask("apply the mask of")
        if layer is None or self._is_group(layer):
            return False
        tab.session.push(ApplyLayerMask(tab.session.doc, layer.id))
        tab.session.set_edit_mask(False)
        self.window.update_actions()
        return True

    def delete(self) -> bool:
        tab, layer = self._with_mask("delete the mask of")
        if layer is None:
            return False
        self._set_mask(tab, layer, None, "Delete layer mask")
        tab.session.set_edit_mask(False)
        self.window.update_actions()
        return True

    def toggle_edit_mask(self) -> None:
        tab, layer = self._current()
        if tab is None:
            return
        if self._is_group(layer):
            tab.session.set_edit_mask(False)  # a group's brush always paints its mask
        elif layer is None or layer.mask is None:
            tab.session.set_edit_mask(False)
            if layer is not None:
                tab.session.refused.emit(f"“{layer.name}” has no layer mask: Layer > Layer Mask > Add adds one.")
        else:
            tab.session.set_edit_mask(not tab.session.edit_mask)
        self.window.update_actions()

    def swap(self) -> None:
        self.brush.swap()
        self._show_colors()

    def step_size(self, up: bool) -> None:
        self.size_box.setValue(next_brush_size(self.brush.size, up))


def _spin(bar: QToolBar, name: str, label: str, low: int, high: int, value: int, suffix: str,
          tip: str) -> QSpinBox:
    caption = QLabel(label)
    caption.setContentsMargins(6, 0, 4, 0)
    bar.addWidget(caption)
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    bar.addWidget(box)
    return box


def _swatch_icon(foreground: int):
    from PySide6.QtGui import QIcon, QPixmap

    pixmap = QPixmap(24, 24)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    fg, bg = QColor(foreground, foreground, foreground), QColor(255 - foreground, 255 - foreground, 255 - foreground)
    painter.setPen(QPen(QColor("#888888"), 1))
    painter.setBrush(bg)
    painter.drawRect(9, 9, 13, 13)
    painter.setBrush(fg)
    painter.drawRect(2, 2, 13, 13)
    painter.end()
    return QIcon(pixmap)


# ----- the mask thumbnail in the Layers panel -------------------------------------------------------

_THUMBS: dict[int, tuple[object, QImage]] = {}


def mask_thumbnail(mask, canvas_w: int, canvas_h: int, box: int) -> QImage:
    """The mask as the panel shows it: the canvas-shaped box, white shows, black hides."""
    cached = _THUMBS.get(id(mask))
    if cached is not None and cached[0] is mask:
        return cached[1]
    import cv2

    scale = box / max(canvas_w, canvas_h, 1)
    w, h = max(1, round(canvas_w * scale)), max(1, round(canvas_h * scale))
    out = np.full((h, w), mask.default, np.uint8)
    if mask.pixels.size:
        l, t = round(mask.x * scale), round(mask.y * scale)
        mw = max(1, round(mask.pixels.shape[1] * scale))
        mh = max(1, round(mask.pixels.shape[0] * scale))
        small = cv2.resize(mask.pixels, (mw, mh), interpolation=cv2.INTER_AREA)
        il, it, ir, ib = max(0, l), max(0, t), min(w, l + mw), min(h, t + mh)
        if ir > il and ib > it:
            out[it:ib, il:ir] = small[it - t:ib - t, il - l:ir - l]
    image = QImage(out.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if len(_THUMBS) > 256:
        _THUMBS.clear()
    _THUMBS[id(mask)] = (mask, image)
    return image


def mask_thumb_rect(thumb: QRect) -> QRect:
    """Where the mask thumbnail goes: right of the layer thumbnail ``thumb``."""
    return QRect(thumb.right() + 1 + MASK_GAP, thumb.top(), thumb.width(), thumb.height())


def paint_mask_thumbnail(painter: QPainter, thumb: QRect, layer, canvas_size, session) -> int:
    """Draw the layer's mask beside its thumbnail (a frame marks what the brush paints, a red
    cross a disabled mask). Returns the width taken (0 without a mask)."""
    mask = getattr(layer, "mask", None)
    if mask is None:
        return 0
    rect = mask_thumb_rect(thumb)
    width, height = canvas_size or (1, 1)
    image = mask_thumbnail(mask, width, height, rect.width())
    frame = QRect(rect.left() + (rect.width() - image.width()) // 2,
                  rect.top() + (rect.height() - image.height()) // 2, image.width(), image.height())
    painter.save()
    painter.drawImage(QRectF(frame), image)
    if mask.disabled:
        painter.setPen(QPen(QColor("#e0463c"), 2))
        painter.drawLine(frame.topLeft(), frame.bottomRight())
        painter.drawLine(frame.topRight(), frame.bottomLeft())
    group = not hasattr(layer, "pixels")  # a group's brush always paints its mask
    current = session is not None and layer.id in (session.current_layer_id,
                                                   getattr(session, "current_group_id", None))
    if current:
        edits_mask = group or bool(getattr(session, "edit_mask", False))
        painter.setPen(QPen(QColor("#ffffff"), 2))
        painter.drawRect((frame if edits_mask else _thumb_frame(thumb, width, height)).adjusted(-2, -2, 1, 1))
    painter.restore()
    return rect.width() + MASK_GAP


def paint_group_mask_thumbnail(painter: QPainter, left: int, row: QRect, group, canvas_size, session) -> int:
    """A group row's mask, drawn from ``left`` (after the folder icon); the width taken (0: none)."""
    from .thumbnails import THUMB_BOX

    if getattr(group, "mask", None) is None:
        return 0
    top = row.top() + (row.height() - THUMB_BOX) // 2
    # paint_mask_thumbnail draws right of a layer thumbnail: give it one that ends just before ``left``
    return paint_mask_thumbnail(painter, QRect(left - MASK_GAP - THUMB_BOX, top, THUMB_BOX, THUMB_BOX), group,
                                canvas_size, session)


def _thumb_frame(thumb: QRect, width: int, height: int) -> QRect:
    scale = thumb.width() / max(width, height, 1)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return QRect(thumb.left() + (thumb.width() - w) // 2, thumb.top() + (thumb.height() - h) // 2, w, h)


def thumbnail_clicked(session, layer, on_mask: bool) -> None:
    """A click on the mask thumbnail makes the brush paint the mask; on the layer thumbnail, the
    pixels. Shift-click on the mask thumbnail turns the mask off or on (Photoshop's shortcut)."""
    from dataclasses import replace

    from PySide6.QtWidgets import QApplication

    from ..document.layer_ops import SetLayerMask

    if session is None or layer is None:
        return
    mask = getattr(layer, "mask", None)
    modifiers = QApplication.keyboardModifiers()
    shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
    if modifiers & Qt.KeyboardModifier.ControlModifier or (shift and not on_mask):
        return  # Ctrl/Shift-click on a row selects several layers: leave the selection to the panel
    if on_mask and mask is not None and shift:
        if session.check_editable(layer.id, "change the mask of"):
            on = not mask.disabled
            session.push(SetLayerMask(layer.id, replace(mask, disabled=on),
                                      "Disable layer mask" if on else "Enable layer mask"))
        return
    if session.current_layer_id != layer.id:
        session.set_current(layer.id)  # first, so the choice is remembered for this layer
    session.set_edit_mask(bool(on_mask) and mask is not None)

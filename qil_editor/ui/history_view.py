"""The History dock: the undo stack's steps, with the undone ones greyed and in italics.

Row 0 is the opened state; row *i* is the *i*-th command; the steps after
the stack's index have been undone (Redo brings them back).
"""

from __future__ import annotations

from PySide6.QtGui import QPalette, QUndoGroup
from PySide6.QtWidgets import QStyledItemDelegate, QUndoView


class _HistoryDelegate(QStyledItemDelegate):
    def __init__(self, view: "HistoryView") -> None:
        super().__init__(view)
        self.view = view

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        if self.view.is_undone(index.row()):
            option.font.setItalic(True)
            color = option.palette.color(QPalette.ColorRole.Text)
            color.setAlpha(110)
            option.palette.setColor(QPalette.ColorRole.Text, color)


class HistoryView(QUndoView):
    def __init__(self, group: QUndoGroup, parent=None) -> None:
        super().__init__(group, parent)
        self.setObjectName("historyView")
        self.group = group
        self.setItemDelegate(_HistoryDelegate(self))
        group.indexChanged.connect(lambda _i: self.viewport().update())
        group.activeStackChanged.connect(lambda _s: self.viewport().update())

    def is_undone(self, row: int) -> bool:
        stack = self.group.activeStack()
        return stack is not None and row > stack.index()

"""Wrap the core's Qt-free commands as QUndoCommands.

The adapter is one-to-one: ``redo``/``undo`` call the command on the
document. Merging follows the command's ``merge_key`` plus a *gesture*
token, so the moves of one mouse drag (or one slider drag) collapse into a
single undo step while two separate drags of the same layer stay two.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtGui import QUndoCommand

from ..document import Command, Document

log = logging.getLogger(__name__)

class MergeIds:
    """Stable small ints for (merge_key, gesture) pairs, as QUndoCommand.id() needs."""

    def __init__(self) -> None:
        self._ids: dict[tuple, int] = {}
        self._gestures = itertools.count(1)

    def new_gesture(self) -> int:
        """A token for one continuous user gesture (drag, slider drag)."""
        return next(self._gestures)

    def id_for(self, key: tuple | None, gesture: int | None) -> int:
        if key is None or gesture is None:
            return -1
        return self._ids.setdefault((key, gesture), len(self._ids) + 1)


class CommandAdapter(QUndoCommand):
    """One core command on the QUndoStack.

    A failing first ``redo`` marks the command obsolete, so ``QUndoStack``
    drops it instead of recording a step that did nothing; the error is
    kept in ``error`` for the caller to report.
    """

    def __init__(self, doc: Document, cmd: Command, merge_id: int = -1) -> None:
        super().__init__(cmd.text)
        self.doc = doc
        self.cmd = cmd
        self.merge_id = merge_id
        self.error: BaseException | None = None
        #: set after the first redo: selects what the command made (a duplicate, a new group)
        #: again on Redo, as the first do did (set by ``DocumentSession.push``)
        self.reselect = None

    def id(self) -> int:  # noqa: A003 - Qt's name
        return -1 if self.error is not None else self.merge_id

    def redo(self) -> None:
        try:
            self.cmd.redo(self.doc)
        except Exception as exc:
            self.error = exc
            self.setObsolete(True)
            return
        if self.reselect is not None:
            self.reselect()

    def undo(self) -> None:
        self.cmd.undo(self.doc)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, CommandAdapter) or other.id() != self.id() or self.id() == -1:
            return False
        if not self.cmd.merge_with(other.cmd):
            return False
        if getattr(self.cmd, "dx", None) == 0 and getattr(self.cmd, "dy", None) == 0:
            self.setObsolete(True)  # dragged back to where it started: no step
        return True

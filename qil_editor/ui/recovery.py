"""Autosave to recovery files and bring them back after a crash.

Each editor instance holds a lock file in the recovery folder; each modified
document is saved there as ``<session>.psd`` (through the core's atomic PSD
save, on the task pool, from a snapshot that shares the immutable layer
pixels) plus a small JSON note. A clean close deletes them. Files whose
owner's lock is no longer held (the process died: QLockFile checks the pid)
are offered on the next start.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, Signal

from .tasks import TaskRunner

if TYPE_CHECKING:  # pragma: no cover
    from ..document import Document  # the model loads with the first document (start-up)
    from .session import DocumentSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryEntry:
    psd: Path
    note: Path
    name: str
    source_path: str | None
    saved_at: float


def _write(doc: Document, psd: Path, note: Path, meta: dict) -> None:
    import json

    from ..io import atomic_write, save_psd  # with the first save, not with the window

    save_psd(doc, psd)
    with atomic_write(note) as fh:
        fh.write(json.dumps(meta).encode("utf-8"))


class RecoveryStore(QObject):
    saved = Signal(str)  # session id

    def __init__(self, folder: Path, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.tasks = tasks
        self.owner = os.urandom(16).hex()  # a random id, as unique as a uuid4
        self._saved_revision: dict[str, int] = {}
        self.lock = QLockFile(str(self._lock_path(self.owner)))
        self.lock.setStaleLockTime(0)  # stale only when the owning process is gone
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.enabled = self.lock.tryLock(0)
        except OSError as exc:
            self.enabled = False
            log.warning("autosave is off: %s", exc)
        if not self.enabled:
            log.warning("autosave is off: cannot write to %s", self.folder)

    def _lock_path(self, owner: str) -> Path:
        return self.folder / f"instance-{owner}.lock"

    def paths(self, session_id: str) -> tuple[Path, Path]:
        return self.folder / f"{session_id}.psd", self.folder / f"{session_id}.json"

    # ----- autosave ----------------------------------------------------------------
    def needs_save(self, session: DocumentSession) -> bool:
        return self.enabled and session.modified and self._saved_revision.get(session.id) != session.doc.revision

    def save(self, session: DocumentSession) -> None:
        """Write a recovery copy in the background (no-op when nothing changed)."""
        if not self.needs_save(session):
            return
        revision = session.doc.revision
        self._saved_revision[session.id] = revision
        psd, note = self.paths(session.id)
        meta = {"owner": self.owner, "name": session.display_name, "source_path": session.source_path,
                "saved_at": time.time(), "pid": os.getpid()}
        snapshot = session.doc.copy()

        def done(_result, error):
            if error is not None:
                self._saved_revision.pop(session.id, None)
                log.error("autosave of %s failed: %s", session.display_name, error)
            else:
                self.saved.emit(session.id)

        self.tasks.submit(_write, snapshot, psd, note, meta, callback=done)

    def discard(self, session_id: str) -> None:
        self._saved_revision.pop(session_id, None)
        for path in self.paths(session_id):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)

    def close(self) -> None:
        """Clean shutdown: release the instance lock."""
        if self.lock.isLocked():
            self.lock.unlock()

    # ----- after a crash -------------------------------------------------------------
    def _owner_alive(self, owner: str) -> bool:
        if owner == self.owner:
            return True
        path = self._lock_path(owner)
        if not path.exists():
            return False
        probe = QLockFile(str(path))
        probe.setStaleLockTime(0)
        if probe.tryLock(0):
            probe.unlock()  # we could take it: the owner is gone
            return False
        return True

    def orphans(self) -> list[RecoveryEntry]:
        import json  # after the first frame (json is not needed to show the window)

        entries = []
        if not self.folder.is_dir():
            return entries
        for note in sorted(self.folder.glob("*.json")):
            psd = note.with_suffix(".psd")
            try:
                meta = json.loads(note.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not psd.is_file() or self._owner_alive(str(meta.get("owner", ""))):
                continue
            entries.append(RecoveryEntry(psd, note, str(meta.get("name") or psd.stem),
                                         meta.get("source_path"), float(meta.get("saved_at") or 0)))
        return entries

    @staticmethod
    def load(entry: RecoveryEntry) -> Document:
        from ..io import open_document

        return open_document(entry.psd)

    @staticmethod
    def remove(entry: RecoveryEntry) -> None:
        for path in (entry.psd, entry.note):
            try:
                path.unlink()
            except OSError:
                pass

"""Atomic saving: the old file survives any failure, and no temporary file outlives us.

We write to a temporary file in the destination folder (so the final rename
stays on one file system), fsync it, then ``os.replace`` it over the target.
Any exception removes the temporary file and leaves the target untouched.

Leftovers: the temporary file is named ``.NAME.qil-PID-XXXXXXXX.part``.
While it exists it is listed in a registry that is emptied (the files
removed) on SIGTERM and SIGHUP (handlers installed by
:func:`install_cleanup_handlers` where the process has none of its own),
on SIGINT (``KeyboardInterrupt`` unwinds through the ``finally``) and at
interpreter exit. Nothing survives SIGKILL, so :func:`clean_stale_parts`
removes our temporary files whose process is gone; it runs before every
save into a folder and when a file in a folder is opened.

Tests simulate a read-only folder or a full disk by monkeypatching
:func:`_open_temp` (raise ``PermissionError``, or return a file whose
``write`` raises ``OSError(errno.ENOSPC)``), as root ignores chmod.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import OutputFileError
from .files import output_error_from_os

#: Our temporary files: ``.NAME.qil-PID-RANDOM.part`` (the PID tells whether the writer is alive).
PART_RE = re.compile(r"^\.(?P<name>.+)\.qil-(?P<pid>\d+)-[a-z0-9_]+\.part$")
#: Names written before the PID was part of them (``.NAME.RANDOM.part``): removed when old.
LEGACY_PART_RE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.part$")
#: A file of a process that still runs (or a PID reused since) is left alone for this long.
LIVE_WRITER_GRACE_S = 24 * 3600
LEGACY_AGE_S = 3600

_live: set[str] = set()
_live_lock = threading.Lock()
_handled: dict[int, object] = {}


def _remove_live() -> None:
    with _live_lock:
        paths = list(_live)
        _live.clear()
    for tmp in paths:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _on_signal(signum, frame) -> None:  # pragma: no cover - exercised in a subprocess test
    """Remove our temporary files, then die of the same signal (the exit status stays honest)."""
    _remove_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_cleanup_handlers() -> None:
    """SIGTERM/SIGHUP remove our temporary files before the process dies.

    Only where the signal still has its default action, and only from the
    main thread (Python allows no other): an application with handlers of
    its own keeps them (and its ``finally`` blocks clean up).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None or sig in _handled:
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
                _handled[sig] = _on_signal
        except (ValueError, OSError):  # not the main interpreter, or not allowed here
            pass


atexit.register(_remove_live)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def clean_stale_parts(folder: str | os.PathLike) -> int:
    """Remove our temporary save files in ``folder`` whose writer is gone; returns how many.

    A file is ours when its name matches ``.NAME.qil-PID-XXXX.part``; it is
    stale when that PID no longer runs (or, for a running PID that may have
    been reused, after a day). Files of this process that are being written
    are kept. Never raises: a folder we cannot list or write is left as is.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    with _live_lock:
        live = set(_live)
    for entry in entries:
        name = entry.name
        if not name.endswith(".part") or not name.startswith("."):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.path in live:
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            m = PART_RE.match(name)
            if m:
                pid = int(m.group("pid"))
                if pid == os.getpid() or (_pid_alive(pid) and age < LIVE_WRITER_GRACE_S):
                    continue
            elif not (LEGACY_PART_RE.match(name) and age > LEGACY_AGE_S):
                continue
            os.unlink(entry.path)
            removed += 1
        except (OSError, ValueError):
            continue
    return removed


def _open_temp(target: Path) -> tuple[BinaryIO, str]:
    """Create the temporary file beside ``target``. Kept separate so tests can make it fail."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.qil-{os.getpid()}-", suffix=".part",
                               dir=target.parent)
    return os.fdopen(fd, "wb"), tmp


def _check_target(target: Path) -> None:
    try:
        is_dir, parent_ok = target.is_dir(), target.parent.is_dir()
    except OSError as exc:  # a symlink loop, a name too long
        raise output_error_from_os(target, exc) from None
    if is_dir:
        raise OutputFileError(f"Could not save {target.name}: a folder with that name already exists.",
                              "Choose a different file name.")
    if not parent_ok:
        raise OutputFileError(f"Could not save {target.name}: the folder {target.parent} does not exist.",
                              "Create the folder first or choose another one.")
    with contextlib.suppress(OSError):
        if target.exists() and not target.is_file():
            raise OutputFileError(f"Could not save {target.name}: it is not a regular file "
                                  "(a device or pipe), which QIL Editor does not overwrite.",
                                  "Choose a regular file name.")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it replaces ``path`` in one step.

    OSErrors (read-only folder, disk full, path is a folder) become
    :class:`OutputFileError`; other exceptions propagate unchanged. Either
    way the temporary file is removed and ``path`` keeps its old contents.
    """
    target = Path(path)
    _check_target(target)
    install_cleanup_handlers()
    clean_stale_parts(target.parent)
    tmp = None
    try:
        fh, tmp = _open_temp(target)
        with _live_lock:
            _live.add(tmp)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():  # keep the permission bits of the file we replace
            with contextlib.suppress(OSError):
                os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            mask = os.umask(0)
            os.umask(mask)
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
        with _live_lock:
            _live.discard(tmp)
        tmp = None
    except OSError as exc:
        raise output_error_from_os(target, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            with _live_lock:
                _live.discard(tmp)

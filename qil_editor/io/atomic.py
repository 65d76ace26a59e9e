"""Atomic saving: the old file survives any failure.

We write to a temporary file in the destination folder (so the final rename
stays on one file system), fsync it, then ``os.replace`` it over the target.
Any exception removes the temporary file and leaves the target untouched.

Tests simulate a read-only folder or a full disk by monkeypatching
:func:`_open_temp` (raise ``PermissionError``, or return a file whose
``write`` raises ``OSError(errno.ENOSPC)``), as root ignores chmod.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import OutputFileError
from .files import output_error_from_os


def _open_temp(target: Path) -> tuple[BinaryIO, str]:
    """Create the temporary file beside ``target``. Kept separate so tests can make it fail."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    return os.fdopen(fd, "wb"), tmp


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise OutputFileError(f"Could not save {target.name}: a folder with that name already exists.",
                              "Choose a different file name.")
    if not target.parent.is_dir():
        raise OutputFileError(f"Could not save {target.name}: the folder {target.parent} does not exist.",
                              "Create the folder first or choose another one.")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it replaces ``path`` in one step.

    OSErrors (read-only folder, disk full, path is a folder) become
    :class:`OutputFileError`; other exceptions propagate unchanged. Either
    way the temporary file is removed and ``path`` keeps its old contents.
    """
    target = Path(path)
    _check_target(target)
    tmp = None
    try:
        fh, tmp = _open_temp(target)
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
        tmp = None
    except OSError as exc:
        raise output_error_from_os(target, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

"""Turn the ways a path can be unreadable into messages a designer understands."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import InputFileError, OutputFileError


def check_input_path(path: str | os.PathLike) -> Path:
    """Fail early (and clearly) on a missing, empty, folder or forbidden input path."""
    p = Path(path)
    name = p.name or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputFileError(f"{name}: file not found ({p}).",
                             "Check the name and folder, or pick the file with File > Open.") from None
    except PermissionError:
        raise InputFileError(f"{name}: permission denied.",
                             "Ask the file's owner for read access or copy it somewhere you can read.") from None
    except OSError as exc:
        raise input_error_from_os(p, exc) from None
    if p.is_dir():
        raise InputFileError(f"{name} is a folder, not an image file.",
                             "Choose an image or PSD file inside it.")
    if st.st_size == 0:
        raise InputFileError(f"{name} is empty (0 bytes); it has no picture in it.",
                             "The file was probably not saved completely. Export it again.")
    return p


def input_error_from_os(path: str | os.PathLike, exc: OSError) -> InputFileError:
    """An InputFileError for an OSError met while reading ``path``."""
    name = Path(path).name or str(path)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return InputFileError(f"{name}: permission denied.",
                              "Ask the file's owner for read access or copy it somewhere you can read.")
    if isinstance(exc, IsADirectoryError):
        return InputFileError(f"{name} is a folder, not an image file.",
                              "Choose an image or PSD file inside it.")
    if isinstance(exc, FileNotFoundError):
        return InputFileError(f"{name}: file not found ({path}).",
                              "Check the name and folder, or pick the file with File > Open.")
    reason = exc.strerror or str(exc)
    return InputFileError(f"{name} could not be read: {reason}.",
                          "Check that the disk or network drive is still connected and try again.")


def output_error_from_os(path: str | os.PathLike, exc: OSError) -> OutputFileError:
    """An OutputFileError for an OSError met while writing ``path``."""
    p = Path(path)
    name = p.name or str(p)
    folder = str(p.parent) or "."
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return OutputFileError(f"Could not save {name}: the disk is full.",
                               f"Free some space on the drive holding {folder} or save somewhere else. "
                               "Nothing was overwritten.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputFileError(f"Could not save {name}: no permission to write in {folder}.",
                               "Choose a folder you can write to (for example your Documents folder).")
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return OutputFileError(f"Could not save {name}: a folder with that name already exists.",
                               "Choose a different file name.")
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
        return OutputFileError(f"Could not save {name}: the folder {folder} does not exist.",
                               "Create the folder first or choose another one.")
    reason = exc.strerror or str(exc)
    return OutputFileError(f"Could not save {name}: {reason}.",
                           "Try another folder or file name. Nothing was overwritten.")

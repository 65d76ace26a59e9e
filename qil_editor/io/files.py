"""Turn the ways a path can be unusable into messages a designer understands.

Every path problem (missing, a folder, a symlink loop, no permission, a
device or named pipe, a name too long) becomes an :class:`InputFileError`
or :class:`OutputFileError` with one sentence and a hint, never an OSError
or a hang: a named pipe is refused before it is opened, because opening one
waits for a writer forever.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import InputFileError, OutputFileError

#: Extensions that name a file we write; an existing folder with such a name is a mistake, not a target.
FILE_SUFFIXES = (".psd", ".psb", ".png", ".zip", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")


def _kind_of(mode: int) -> str | None:
    """What a non-regular, non-folder file is, in words (None for a regular file or folder)."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a regular file"


def check_input_path(path: str | os.PathLike) -> Path:
    """Fail early (and clearly) on a missing, empty, folder, special or forbidden input path."""
    p = Path(path)
    name = p.name or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise InputFileError(f"{name} is a link to a file that does not exist.",
                                 "Open the original file instead.") from None
        raise InputFileError(f"{name}: file not found ({p}).",
                             "Check the name and folder, or pick the file with File > Open.") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise input_error_from_os(p, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"{name} is a folder, not an image file.",
                             "Choose an image or PSD file inside it.")
    kind = _kind_of(st.st_mode)
    if kind:
        raise InputFileError(f"{name} is {kind}, not an image file.",
                             "Choose a picture file saved on disk.")
    if st.st_size == 0:
        raise InputFileError(f"{name} is empty (0 bytes); it has no picture in it.",
                             "The file was probably not saved completely. Export it again.")
    if not os.access(p, os.R_OK):
        raise InputFileError(f"{name}: permission denied.",
                             "Ask the file's owner for read access or copy it somewhere you can read.")
    return p


def input_error_from_os(path: str | os.PathLike, exc: OSError | ValueError) -> InputFileError:
    """An InputFileError for an OSError met while reading ``path``."""
    name = Path(path).name or str(path)
    if isinstance(exc, ValueError):
        return InputFileError(f"{name!r} is not a valid file name.", "Rename the file or pick it in a file dialog.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return InputFileError(f"{name}: permission denied.",
                              "Ask the file's owner for read access or copy it somewhere you can read.")
    if isinstance(exc, IsADirectoryError):
        return InputFileError(f"{name} is a folder, not an image file.",
                              "Choose an image or PSD file inside it.")
    if isinstance(exc, FileNotFoundError):
        return InputFileError(f"{name}: file not found ({path}).",
                              "Check the name and folder, or pick the file with File > Open.")
    if exc.errno == errno.ELOOP:
        return InputFileError(f"{name} is a symbolic link that points back to itself (a link loop).",
                              "Fix or remove the link and open the real file.")
    if exc.errno == errno.ENAMETOOLONG:
        return InputFileError(f"{name[:60]}…: the file name or path is too long.",
                              "Move the file to a shorter path.")
    if exc.errno == errno.ENOTDIR:
        return InputFileError(f"{name}: a part of the path {path} is a file, not a folder.",
                              "Check the path.")
    reason = exc.strerror or "input/output error"
    return InputFileError(f"{name} could not be read: {reason}.",
                          "Check that the disk or network drive is still connected and try again.")


def output_error_from_os(path: str | os.PathLike, exc: OSError | ValueError) -> OutputFileError:
    """An OutputFileError for an OSError met while writing ``path``."""
    p = Path(path)
    name = p.name or str(p)
    folder = str(p.parent) or "."
    if isinstance(exc, ValueError):
        return OutputFileError(f"Could not save {name!r}: not a valid file name.", "Choose another name.")
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
    if exc.errno == errno.ELOOP:
        return OutputFileError(f"Could not save {name}: the path contains a symbolic link loop.",
                               "Fix or remove the link, or save somewhere else.")
    if exc.errno == errno.ENAMETOOLONG:
        return OutputFileError(f"Could not save {name[:60]}…: the file name or path is too long.",
                               "Choose a shorter name or folder.")
    if exc.errno == errno.ENOTDIR:
        return OutputFileError(f"Could not save {name}: a part of the path {folder} is a file, not a folder.",
                               "Check the path.")
    reason = exc.strerror or "input/output error"
    return OutputFileError(f"Could not save {name}: {reason}.",
                           "Try another folder or file name. Nothing was overwritten.")


def check_output_path(path: str | os.PathLike, *, folder_ok: bool = True) -> Path:
    """Refuse, before any work, an output path that cannot become the file asked for.

    An existing folder is accepted only when ``folder_ok`` and its name has
    no file extension (``-o out.psd`` naming a folder is a mistake, not a
    request for layer PNGs); devices, pipes and sockets are never replaced;
    a symlink loop or a missing folder is reported now rather than after a
    long decomposition.
    """
    raw = os.fspath(path)
    p = Path(raw)
    name = p.name or raw
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise OutputFileError(f"Could not save {name}: it is a link to a place that does not exist.",
                                  "Choose another file name.") from None
        st = None
    except (OSError, ValueError) as exc:
        raise output_error_from_os(p, exc) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            if not folder_ok or p.suffix.lower() in FILE_SUFFIXES:
                raise OutputFileError(f"Could not save {name}: a folder with that name already exists.",
                                      "Choose a different file name (or a folder name without an extension).")
            return p
        kind = _kind_of(st.st_mode)
        if kind:
            raise OutputFileError(f"Could not save {name}: it is {kind}, which QIL Editor does not overwrite.",
                                  "Choose a regular file name.")
    parent = p.parent
    try:
        pst = parent.stat()
    except FileNotFoundError:
        if folder_ok and (raw.endswith(("/", os.sep)) or not p.suffix):
            return p  # a new folder for layer PNGs is created, parents included
        raise OutputFileError(f"Could not save {name}: the folder {parent} does not exist.",
                              "Create the folder first or choose another one.") from None
    except (OSError, ValueError) as exc:
        raise output_error_from_os(p, exc) from None
    if not stat.S_ISDIR(pst.st_mode):
        raise OutputFileError(f"Could not save {name}: {parent} is a file, not a folder.",
                              "Check the path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputFileError(f"Could not save {name}: no permission to write in {parent}.",
                              "Choose a folder you can write to (for example your Documents folder).")
    return p


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file; never raises (a loop or missing file is 'no')."""
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError, RuntimeError):
        return False


_PLAIN_DETAILS = (  # decoder messages that are already sentences a person can act on
    ("truncated", "the file is cut short"),
    ("broken data stream", "its compressed data is broken"),
    ("decoder error", "its compressed data is broken"),
    ("crc", "a checksum does not match"),
    ("premature end", "the file is cut short"),
    ("unexpected end", "the file is cut short"),
    ("decompressed length mismatch", "a channel's pixel data does not match its size"),
    ("decompress", "a channel's compressed data is broken"),
    ("not enough image data", "the file is cut short"),
)


def damage_detail(exc: BaseException | None) -> str:
    """A short, human reason for a decoder's exception: never its raw text or repr.

    Library messages are written for programmers (validator reprs, byte
    offsets, class names); this keeps only what a person can use.
    """
    if exc is None:
        return ""
    text = str(exc).lower()
    for needle, plain in _PLAIN_DETAILS:
        if needle in text:
            return plain
    if isinstance(exc, (EOFError, IndexError)) or "struct" in type(exc).__module__ \
            or type(exc).__name__ == "error":
        return "the file ends too early or a section has a wrong length"
    if isinstance(exc, (ValueError, TypeError, KeyError, SyntaxError, AttributeError, AssertionError)):
        return "a value in the file is out of range"
    if isinstance(exc, OSError):
        return "its data cannot be decoded"
    return "its structure is invalid"

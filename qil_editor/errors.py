"""One error family for everything a user can cause.

Every failure a designer can trigger (bad file, missing weights, full disk,
cancel) is raised as a :class:`QilError` with a message written for a person
and an exit code for the CLI, so no caller has to translate tracebacks.
"""

from __future__ import annotations


class QilError(Exception):
    """Base error: ``message`` says what went wrong, ``hint`` what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class UsageError(QilError):
    """Wrong arguments or options."""

    exit_code = 2


class InputFileError(QilError):
    """A file we were asked to read is missing, unreadable, corrupt or too big."""

    exit_code = 3


class OutputFileError(QilError):
    """A file could not be written (read-only folder, full disk, a folder in the way...)."""

    exit_code = 6


class ModelError(QilError):
    """Model weights missing, broken, or the model failed (out of memory...)."""

    exit_code = 4


class OutOfMemoryError(ModelError):
    """The device ran out of memory; ``hint`` names the next memory mode to try."""


class CancelledError(QilError):
    """The user cancelled a job. Nothing was changed."""

    exit_code = 130

    def __init__(self, message: str = "Cancelled.", hint: str = "") -> None:
        super().__init__(message, hint)


#: Every exit status ``qil`` returns itself (README and ``qil --help`` list the same).
#: A process killed by a signal it does not handle reports 128 + the signal number, as usual.
EXIT_CODES = {
    0: "ok",
    1: "internal error (a bug: please report it with the command that caused it)",
    2: "usage (wrong arguments or options)",
    3: "bad input file (missing, unreadable, damaged, too big for the limits)",
    4: "model problem (weights missing or broken, out of memory on the device)",
    5: "model server problem (unreachable, refused, overloaded: server.protocol.ServerError)",
    6: "cannot write the output (folder missing or read-only, disk full, a folder in the way)",
    130: "cancelled (Ctrl+C)",
}

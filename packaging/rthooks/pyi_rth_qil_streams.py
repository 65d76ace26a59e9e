"""PyInstaller runtime hook: give a windowed build real stdout/stderr.

A windowed (no console) build on Windows and macOS starts with
``sys.stdout`` and ``sys.stderr`` set to ``None``; tqdm progress bars,
logging handlers, ``print`` in a library or warnings then raise
AttributeError and take the app down. Point both at a log file in the
user's log folder (so errors can still be read), or at os.devnull when
that folder cannot be written. Runs before any application code.
"""


def _qil_fix_streams():
    import os
    import sys

    if sys.stdout is not None and sys.stderr is not None:
        return

    def log_dir():
        home = os.path.expanduser("~")
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
            return os.path.join(base, "QIL Editor", "Logs")
        if sys.platform == "darwin":
            return os.path.join(home, "Library", "Logs", "QIL Editor")
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
        return os.path.join(base, "qil-editor")

    stream = None
    try:
        folder = log_dir()
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "qil-editor.log")
        # Keep one previous run's log and stop the file from growing forever.
        if os.path.exists(path) and os.path.getsize(path) > 5 * 1024 * 1024:
            os.replace(path, path + ".1")
        stream = open(path, "a", encoding="utf-8", errors="backslashreplace", buffering=1)
    except OSError:
        stream = None
    if stream is None:
        stream = open(os.devnull, "w", encoding="utf-8")

    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream
    # Some libraries (faulthandler users, old tqdm) look at the originals.
    if sys.__stdout__ is None:
        sys.__stdout__ = sys.stdout
    if sys.__stderr__ is None:
        sys.__stderr__ = sys.stderr


_qil_fix_streams()
del _qil_fix_streams

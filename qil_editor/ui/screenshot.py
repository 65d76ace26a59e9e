"""Screenshot mode: open files, decompose through the normal worker, grab the window.

Used for documentation and as an end-to-end smoke test of the GUI:
``python main.py FILE --decompose --engine classical --screenshot OUT.png``.
Errors go to stderr (no dialogs) and become the exit code.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ..errors import OutputFileError, QilError
from .app_window import MainWindow
from .worker import DecomposeRequest

SETTLE_TIMEOUT_S = 30.0


async def _settle(window: MainWindow) -> None:
    """Wait for background work the picture depends on (thumbnails, exact-blend fallback)."""
    loop = asyncio.get_event_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    while window.tasks.busy and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # let the last repaints land


async def screenshot_session(window: MainWindow, files: list[str], out: str,
                             request: DecomposeRequest | None) -> int:
    errors: list[str] = []

    def sink(title: str, message: str, hint: str) -> None:
        errors.append(f"{title}: {message} {hint}".strip())

    def failure(fallback: str) -> QilError:
        return window.last_error or QilError(errors[0] if errors else fallback)

    window.error_sink = sink
    window.last_error = None
    try:
        tabs = window.open_files(files)
        if errors or len(tabs) != len(files):
            raise failure("Could not open the files.")
        if request is not None:
            for tab in tabs:
                task = window.start_decomposition(request, tab)
                if task is None or not await task:
                    raise failure("The decomposition did not finish.")
        if tabs:
            window.tabs.setCurrentWidget(tabs[0].canvas)
            tabs[0].canvas.fit()
        await _settle(window)
        image = window.grab()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            raise OutputFileError(f"Could not write the screenshot {out}.",
                                  "Check that the folder exists and is writable, and use .png.")
    except QilError as err:
        print(f"qil-editor: {err}", file=sys.stderr)  # message and hint
        return err.exit_code
    finally:
        window.error_sink = None
        window.discard_all()  # batch run: the screenshot was the point, nothing to save
        window.close()
    print(f"Screenshot written to {out}")
    return 0

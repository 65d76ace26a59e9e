"""GUI entry point (``qil-editor`` and ``python main.py``).

Starts Qt with the dark Fusion theme and runs everything on a qasync event
loop, so UI code can ``await`` background jobs. The window is built and
painted first: NumPy, Pillow and asyncio (as heavy to import as Qt itself)
are imported by the window's modules but only run once that first frame is
on screen (:mod:`qil_editor.deferred_imports`); then the menus' contents are
built, the document model (which the empty window does not import either),
qasync and the rest start, and the garbage collector (off until then) runs
again. torch and diffusers load later still, inside the engine, on the worker
thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Imported by the window's modules, never called while it is built and first painted.
FIRST_FRAME_DEFERRED = ("numpy", "PIL.Image", "asyncio")


def _layers(value: str):
    from .engines.limits import MAX_LAYERS, MIN_LAYERS

    if value.lower() == "auto":
        return None
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}") from None
    if not MIN_LAYERS <= n <= MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"layer count must be {MIN_LAYERS}..{MAX_LAYERS} or auto")
    return n


def build_parser() -> argparse.ArgumentParser:
    from .engines.limits import MAX_LAYERS, MIN_LAYERS  # not engines.base: no document model yet

    parser = argparse.ArgumentParser(prog="qil-editor", description="QIL Editor: a layer editor that "
                                     "decomposes flat images into editable layers.")
    parser.add_argument("files", nargs="*", help="images or PSD files to open")
    parser.add_argument("--decompose", action="store_true", help="decompose the opened files")
    parser.add_argument("--engine", default=None, help="auto, qwen or classical (default: from settings)")
    parser.add_argument("--layers", type=_layers, default=argparse.SUPPRESS,
                        help=f"layer count {MIN_LAYERS}-{MAX_LAYERS} or auto")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="open FILE, decompose if asked, save a picture of the window and exit")
    parser.add_argument("--settings", metavar="INI", help="use this settings file instead of the user's")
    parser.add_argument("--data-dir", metavar="DIR", help="folder for logs and recovery files")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Packaging check (`qil-editor --smoke-test [--model DIR]`, see qil_editor/smoke.py):
    # headless, handled before any window or event loop exists.
    if "--smoke-test" in argv:
        from .smoke import smoke_test_main
        return smoke_test_main(argv)
    import gc
    import time

    from . import deferred_imports

    deferred_imports.defer(*FIRST_FRAME_DEFERRED)
    args = build_parser().parse_args(argv)
    if args.screenshot and not args.files:
        print("qil-editor: --screenshot needs a FILE to open", file=sys.stderr)
        return 2
    # No cyclic garbage collection until the event loop starts: importing Qt and the window's
    # modules and building it allocate some 200,000 objects that all live as long as the
    # editor, and Python would scan them ~60 times (~8 ms) before the first frame.
    gc.disable()

    from PySide6.QtCore import QSettings, QStandardPaths, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    _spare_pyside_source_scan()
    from .ui.app_window import MainWindow
    from .ui.crash import asyncio_exception_handler, make_excepthook, open_held_log, setup_logging
    from .ui.settings import APPLICATION, ORGANIZATION, AppSettings, user_settings
    from .ui.theme import apply_dark_theme

    app = QApplication.instance()
    fusion_set = app is None  # Qt picks Fusion from the arguments: no QStyle wrapper made in Python
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "qil-editor", "-style", "Fusion"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("qil-editor")
    apply_dark_theme(app, fusion_set=fusion_set)

    data_dir = Path(args.data_dir or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.AppDataLocation))
    log_path = setup_logging(data_dir / "logs", hold=True)  # the file opens after the first frame
    qsettings = QSettings(args.settings, QSettings.Format.IniFormat) if args.settings else user_settings()
    settings = AppSettings(qsettings)
    window = MainWindow(settings, data_dir, menus_later=True)  # their contents: after the first frame

    def show(title: str, message: str, hint: str) -> None:
        if args.screenshot:
            print(f"qil-editor: {message} {hint}".strip(), file=sys.stderr)
            return
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, window)
        box.setInformativeText(hint)
        box.exec()

    hook = make_excepthook(show, log_path)
    sys.excepthook = hook

    if args.screenshot:
        window.resize(1440, 900)
    # The window's application-wide key filter sees every object's events; the first foreign
    # one (Qt's own window class) makes PySide build all its remaining wrapper types (~15 ms).
    # No input is handled before the first frame anyway, so the filter goes on after it.
    window.canvas_keys.detach()
    window.show()
    _wait_for_first_paint(window)
    window.canvas_keys.attach()
    if args.quit_after_show:  # start-up benchmark: the first frame is on screen
        # wall clock for the launch -> shown time, and this process's CPU time so far
        print(f"window shown at {time.time():.6f} cpu {time.process_time():.6f}", flush=True)

    # The rest of the start-up, while the window is already visible (no input is handled
    # before the event loop runs, so every menu is complete before one can be opened).
    window.build_menus()
    deferred_imports.load_all()  # before the event loop and any worker thread
    _load_document_model()
    open_held_log()
    import asyncio

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(asyncio_exception_handler(hook))
    # What start-up made (modules, classes, the window) stays for the whole session: moved out of
    # the collector's generations, later collections do not rescan it (shorter pauses).
    gc.freeze()
    gc.enable()

    request = settings.decompose_request()
    changes = {}
    if args.engine:
        request = type(request)(args.engine, request.options)
    if "layers" in args:
        changes["layers"] = args.layers
    if changes:
        request = type(request)(request.engine, request.options.with_changes(**changes))

    if args.screenshot:
        from .ui.screenshot import screenshot_session

        with loop:
            code = loop.run_until_complete(screenshot_session(
                window, args.files, args.screenshot, request if args.decompose else None))
        return code

    tabs = window.open_files(args.files)
    if args.decompose:
        for tab in tabs:
            window.start_decomposition(request, tab)
    QTimer.singleShot(0, window.offer_recovery)
    QTimer.singleShot(1500, window.prefetch_engines)
    if args.quit_after_show:  # start-up benchmark and smoke runs: report when ready, then leave

        def ready_and_quit() -> None:
            # the event loop is running and the files given are open: the editor takes input
            print(f"ready at {time.time():.6f} cpu {time.process_time():.6f}", flush=True)
            window.close()

        QTimer.singleShot(0, ready_and_quit)
    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    app.lastWindowClosed.connect(quit_event.set)
    with loop:
        loop.run_until_complete(quit_event.wait())
    return 0


def _load_document_model() -> None:
    """Import what the empty window did without: the document model, the engines' base module
    and the document session. Done on the main thread right after the first frame, like
    :func:`deferred_imports.load_all`, so no worker thread (the engine prefetch, a job) is the
    first to import them while the UI thread does the same."""
    import importlib

    from . import document

    for name in document.__all__:
        getattr(document, name)
    for module in ("document.tree", "engines.base", "ui.session", "ui.worker"):
        importlib.import_module(f".{module}", __package__)


def _spare_pyside_source_scan() -> None:
    """Let PySide's import hook skip reading the source of the stdlib's and the editor's modules.

    PySide6 replaces ``__import__``: the first time each module name is imported after Qt,
    it reads that module's whole source to see whether it mentions "PySide6" (so that
    ``from __feature__ import snake_case`` can be switched per module); about 120 modules
    before the first frame, ~18 ms. The answer is known without reading for the standard
    library (never) and for this package (its UI modules and entry points; nothing here
    uses ``__feature__``), so those get it directly; other modules are read as before. A
    PySide6 without that private hook (a later version) is left alone.
    """
    feature = sys.modules.get("shibokensupport.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if not callable(scan) or getattr(scan, "_qil_known", False):
        return
    stdlib = sys.stdlib_module_names
    own_qt = ("qil_editor.ui", "qil_editor.app", "qil_editor.smoke")

    def uses_pyside(module) -> bool:
        name = getattr(module, "__name__", "")
        top = name.partition(".")[0]
        if top in stdlib:
            return False
        if top == "qil_editor":
            return name.startswith(own_qt)
        return scan(module)

    uses_pyside._qil_known = True
    feature._mod_uses_pyside = uses_pyside


def _wait_for_first_paint(window, timeout_ms: int = 1000) -> None:
    """Run Qt's events (not user input) until ``window`` has painted once, or ``timeout_ms``.

    So the frame is on screen before the rest of the start-up (NumPy, qasync) blocks
    the thread; input typed meanwhile waits in the queue for the real event loop.
    """
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    local = QEventLoop()

    class FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                QTimer.singleShot(0, local.quit)  # after this paint (and its flush) is done
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    QTimer.singleShot(timeout_ms, local.quit)
    local.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    window.removeEventFilter(watcher)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

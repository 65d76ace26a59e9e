"""``qil-editor --smoke-test [--model DIR]``: prove an installed or packaged editor works.

A packaged build can start on the build machine and still fail on a clean one
(a Qt plugin, a lazily imported module or a data file left out). This check
runs the real code paths headless: open the bundled sample, decompose it with
the classical engine (and with the model in ``DIR`` when given), save a PSD,
read it back and compare, build the command line, then create the main window
offscreen. ``--open FILE`` (repeatable) also opens each FILE the way the
editor does (a PSD's effects and adjustments use parts of SciPy a trimmed
build could miss) and composites it. It prints one line per step and exits 0,
or prints the reason on stderr and exits non-zero (the QilError exit code
where there is one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

SAMPLE = ("samples", "poster.png")
# Mean absolute difference (0..255, premultiplied RGBA) allowed between a PSD read
# back and the document saved, and between a classical decomposition and its input.
READBACK_TOLERANCE = 1.0
RECONSTRUCTION_TOLERANCE = 2.0
# The tiny random model makes noise; only its shapes and the PSD round trip are checked.
MODEL_OPTIONS = {"layers": 2, "steps": 2, "resolution": 640, "seed": 0, "prompt": "a poster"}


class SmokeFailure(Exception):
    """A check failed; the message says which and why."""


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of premultiplied RGBA, so hidden colour under alpha 0 is ignored."""
    if a.shape != b.shape:
        raise SmokeFailure(f"image sizes differ: {a.shape} vs {b.shape}")

    def premultiplied(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)
        out = x.copy()
        out[..., :3] *= x[..., 3:4] / 255.0
        return out

    return float(np.abs(premultiplied(a) - premultiplied(b)).mean())


class _Steps:
    """Runs named steps, timing each and printing one line per step."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def run(self, name: str, func: Callable[[], str | None]):
        start = time.perf_counter()
        detail = func()
        seconds = time.perf_counter() - start
        print(f"ok  {name} ({seconds:.1f} s){': ' + detail if detail else ''}", file=self.out, flush=True)


def _describe_environment() -> str:
    from . import __version__
    from .resources import build_flavour, resources_dir

    frozen = "packaged" if getattr(sys, "frozen", False) else "source"
    flavour = build_flavour() or "-"
    return (f"QIL Editor {__version__}, {frozen} ({flavour} build), Python {sys.version.split()[0]}, "
            f"{sys.platform}, resources in {resources_dir()}")


def _load_sample() -> np.ndarray:
    from .io import open_image
    from .resources import resource_path

    path = resource_path(*SAMPLE)
    if not path.is_file():
        raise SmokeFailure(f"the bundled sample image is missing: {path}")
    image = open_image(path)
    if image.ndim != 3 or image.shape[2] != 4 or image.dtype != np.uint8:
        raise SmokeFailure(f"opening {path.name} gave {image.dtype} {image.shape}, not RGBA uint8")
    return image


def _decompose(engine_name: str, image: np.ndarray, options):
    from .engines.base import default_registry
    from .engines.jobs import CancelToken

    registry = default_registry()
    if engine_name not in registry.names:
        raise SmokeFailure(f"the {engine_name} engine is not in this build (engines: {registry.names})")
    engine = registry.get(engine_name)
    availability = engine.availability(options)
    if not availability.ok:
        raise SmokeFailure(f"the {engine.label} engine is not available: {availability.reason}")
    doc = engine.decompose(image, options, progress=None, cancel=CancelToken())
    if (doc.width, doc.height) != (image.shape[1], image.shape[0]):
        raise SmokeFailure(f"{engine.label} returned a {doc.width}x{doc.height} canvas "
                           f"for a {image.shape[1]}x{image.shape[0]} image")
    if len(doc.layers) < 2:
        raise SmokeFailure(f"{engine.label} returned {len(doc.layers)} layer(s); expected at least 2")
    return doc


def _round_trip(doc, folder: Path, stem: str) -> str:
    """Save ``doc`` as a PSD, read it back, and compare layer count and composite."""
    from .document import composite
    from .io import open_document, save_psd

    path = folder / f"{stem}.psd"
    save_psd(doc, path)
    if not path.is_file() or path.stat().st_size == 0:
        raise SmokeFailure(f"saving {path} produced no file")
    back = open_document(path)
    if len(back.layers) != len(doc.layers):
        raise SmokeFailure(f"{path.name} has {len(back.layers)} layers after reading it back; "
                           f"{len(doc.layers)} were saved")
    difference = _mean_difference(composite(back), composite(doc))
    if difference > READBACK_TOLERANCE:
        raise SmokeFailure(f"{path.name} read back differs from the saved document "
                           f"(mean difference {difference:.2f} > {READBACK_TOLERANCE})")
    return f"{path.name}, {len(back.layers)} layers, {path.stat().st_size // 1024} KiB, difference {difference:.2f}"


def _open_file(path: Path) -> str:
    """Open ``path`` as the editor's File > Open does and composite it (what the canvas shows).

    The detail ends with a digest of the composite and the layers' pixels, so a packaged build's result can be
    compared with the source tree's (a layer effect silently left unrendered would differ)."""
    import hashlib

    from .document import composite
    from .io import open_document

    doc = open_document(path)
    image = composite(doc)
    digest = hashlib.sha256(np.ascontiguousarray(image).tobytes())
    for layer in doc.layers:
        digest.update(np.ascontiguousarray(layer.pixels).tobytes())
    return f"{len(doc.layers)} layers, {image.shape[1]}x{image.shape[0]}, pixels {digest.hexdigest()[:16]}"


def _check_cli() -> str:
    from .cli import COMMAND_MODULES, build_parser

    build_parser()  # imports every subcommand module by name
    return f"{len(COMMAND_MODULES)} command modules"


def _check_window(folder: Path, document_path: Path) -> str:
    """Create the real main window offscreen and open the saved PSD in it.

    Proves the Qt platform, image-format and icon-engine plugins are in the
    bundle. Settings and autosave go to ``folder``, never to the user's own.
    """
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QImageReader
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "qil-editor"])
    formats = {bytes(f).decode().lower() for f in QImageReader.supportedImageFormats()}
    missing = {"png", "jpeg", "svg"} - formats
    if missing:
        raise SmokeFailure(f"Qt image format plugins missing: {sorted(missing)} (found {sorted(formats)})")

    from .ui.app_window import MainWindow
    from .ui.settings import AppSettings

    settings = AppSettings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, folder / "window-data")
    errors: list[str] = []
    # A message box would wait for a click that never comes offscreen: collect instead.
    window.error_sink = lambda title, message, hint: errors.append(f"{title}: {message} {hint}".strip())
    try:
        window.show()
        app.processEvents()
        if window.windowIcon().isNull():
            raise SmokeFailure("the application icon (resources/icons/qil-editor.png) was not found")
        tab = window.open_path(document_path)
        app.processEvents()
        if errors:
            raise SmokeFailure("the main window reported: " + "; ".join(errors))
        if tab is None:
            raise SmokeFailure(f"the main window did not open {document_path.name}")
        layers = len(tab.session.doc.layers)
        title = window.windowTitle()
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return f"platform {app.platformName()}, {document_path.name} open with {layers} layers, title {title!r}"


def _run(model_dir: str | None, out: TextIO, keep: bool, open_files: tuple[str, ...] = ()) -> None:
    from .engines.base import DecomposeOptions

    steps = _Steps(out)
    print(_describe_environment(), file=out, flush=True)
    folder = Path(tempfile.mkdtemp(prefix="qil-smoke-"))
    succeeded = False
    try:
        state: dict = {}

        def load():
            state["image"] = _load_sample()
            h, w = state["image"].shape[:2]
            return f"{'/'.join(SAMPLE)} {w}x{h}"

        def classical():
            state["doc"] = _decompose("classical", state["image"], DecomposeOptions(layers=4))
            from .document import composite
            difference = _mean_difference(composite(state["doc"]), state["image"])
            if difference > RECONSTRUCTION_TOLERANCE:
                raise SmokeFailure(f"the classical layers do not add up to the input "
                                   f"(mean difference {difference:.2f} > {RECONSTRUCTION_TOLERANCE})")
            return f"{len(state['doc'].layers)} layers, difference to input {difference:.2f}"

        steps.run("open bundled sample", load)
        steps.run("classical decomposition", classical)
        steps.run("PSD save and read back", lambda: _round_trip(state["doc"], folder, "classical"))

        if model_dir is not None:
            if not Path(model_dir).is_dir():
                raise SmokeFailure(f"--model {model_dir}: no such folder")

            def model():
                options = DecomposeOptions(model_dir=str(Path(model_dir).resolve()), device="cpu", **MODEL_OPTIONS)
                state["model_doc"] = _decompose("qwen", state["image"], options)
                return f"{len(state['model_doc'].layers)} layers from {model_dir}"

            steps.run("model decomposition", model)
            steps.run("model PSD save and read back", lambda: _round_trip(state["model_doc"], folder, "model"))

        for name in open_files:
            steps.run(f"open {name}", lambda name=name: _open_file(Path(name)))

        steps.run("command line", _check_cli)
        steps.run("main window (offscreen)", lambda: _check_window(folder, folder / "classical.psd"))
        succeeded = True
    finally:
        if not succeeded and any(folder.iterdir()):
            print(f"files kept in {folder}", file=sys.stderr)
        elif not keep:
            shutil.rmtree(folder, ignore_errors=True)


def run_smoke_test(model_dir: str | None = None, *, out: TextIO | None = None, keep: bool = False,
                   open_files: tuple[str, ...] = ()) -> int:
    """Run every check; 0 when all pass, otherwise print why on stderr and return non-zero."""
    # Before anything imports Qt: the check must work without a display.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out = out or sys.stdout
    from .errors import QilError

    try:
        _run(model_dir, out, keep, tuple(open_files))
    except SmokeFailure as err:
        print(f"smoke test failed: {err}", file=sys.stderr)
        return 1
    except QilError as err:
        print(f"smoke test failed: {err}", file=sys.stderr)
        return err.exit_code or 1
    except Exception as err:  # anything else is a packaging bug: show where
        traceback.print_exc(file=sys.stderr)
        print(f"smoke test failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print("smoke test passed", file=out, flush=True)
    return 0


def smoke_test_main(argv: list[str] | None = None) -> int:
    """Parse ``--smoke-test [--model DIR] [--keep] [--open FILE]...`` (other arguments are ignored)."""
    parser = argparse.ArgumentParser(prog="qil-editor --smoke-test", add_help=False)
    parser.add_argument("--smoke-test", action="store_true")
    parser.add_argument("--model", metavar="DIR", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the saved PSDs")
    parser.add_argument("--open", metavar="FILE", action="append", default=[],
                        help="also open this image or PSD as the editor does (repeatable)")
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    return run_smoke_test(args.model, keep=args.keep, open_files=tuple(args.open))


if __name__ == "__main__":  # python -m qil_editor.smoke [--model DIR]
    sys.exit(smoke_test_main())

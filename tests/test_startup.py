"""Start-up: the first frame without NumPy, Pillow, asyncio or OpenCV; deferred imports behave
like plain ones; the edit engine's package is light to import."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qil_editor import deferred_imports

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=str(tmp_path))


@pytest.fixture
def fake_module(tmp_path, monkeypatch):
    """A module ``qil_fake_heavy`` whose code records each time it runs."""
    (tmp_path / "qil_fake_heavy.py").write_text(textwrap.dedent("""
        import builtins
        builtins.qil_fake_runs = getattr(builtins, "qil_fake_runs", 0) + 1
        LIMIT = 10
        def double(x):
            return 2 * x
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import builtins
    monkeypatch.setattr(builtins, "qil_fake_runs", 0, raising=False)
    yield builtins
    sys.modules.pop("qil_fake_heavy", None)


def test_deferred_module_runs_on_first_use_only(fake_module):
    assert deferred_imports.defer("qil_fake_heavy") == ["qil_fake_heavy"]
    import qil_fake_heavy  # the import statement alone (it reads __spec__) runs nothing

    assert fake_module.qil_fake_runs == 0 and "qil_fake_heavy" in deferred_imports.pending()
    assert qil_fake_heavy.__name__ == "qil_fake_heavy" and fake_module.qil_fake_runs == 0
    assert inspect.getsource(qil_fake_heavy).count("def double") == 1  # PySide's import hook does this
    assert fake_module.qil_fake_runs == 0
    assert qil_fake_heavy.double(21) == 42 and fake_module.qil_fake_runs == 1
    assert type(qil_fake_heavy) is type(sys) and sys.modules["qil_fake_heavy"] is qil_fake_heavy
    assert qil_fake_heavy.double(1) == 2 and fake_module.qil_fake_runs == 1  # ran once
    assert "qil_fake_heavy" not in deferred_imports.pending()


def test_attributes_set_before_the_code_runs_are_applied_after_it(fake_module):
    deferred_imports.defer("qil_fake_heavy")
    import qil_fake_heavy

    qil_fake_heavy.LIMIT = 99  # as the image opener sets Pillow's pixel limit at import
    assert fake_module.qil_fake_runs == 0
    deferred_imports.load_all()
    assert fake_module.qil_fake_runs == 1 and qil_fake_heavy.LIMIT == 99 and deferred_imports.pending() == []


def test_a_failing_module_raises_on_use_and_is_not_left_behind(tmp_path, monkeypatch):
    (tmp_path / "qil_fake_broken.py").write_text("raise ImportError('no such library here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert deferred_imports.defer("qil_fake_broken") == ["qil_fake_broken"]
        with pytest.raises(ImportError, match="no such library"):
            deferred_imports.load_all()
        assert "qil_fake_broken" not in sys.modules
    finally:
        sys.modules.pop("qil_fake_broken", None)


def test_defer_leaves_imported_missing_and_extension_modules_alone():
    import importlib.util

    assert deferred_imports.defer("sys", "json", "qil_no_such_module_anywhere") == []
    extension = next((name for name in ("_testbuffer", "_testcapi", "xxlimited", "_curses", "_dbm", "mmap", "_lzma",
                                        "_bz2", "_decimal", "_ctypes", "_sqlite3", "audioop", "_crypt")
                      if name not in sys.modules and importlib.util.find_spec(name) is not None), None)
    if extension is None:
        pytest.skip("every candidate extension module is imported already")
    assert deferred_imports.defer(extension) == []
    assert extension not in sys.modules  # not even loaded to find out


def test_editor_window_is_painted_before_numpy_pillow_asyncio_or_opencv_run(tmp_path):
    """The real start-up path: at the first frame the heavy modules are still deferred, OpenCV,
    the edit engine, file I/O, the dialogs, the canvas and the document model (no document yet)
    not imported at all, PySide's QStyle type not yet made, the menus empty and no garbage
    collection; right after, everything is a plain module, the model is loaded, the menus are
    built, the collector runs again and the style is Fusion."""
    result = _python(f"""
        import sys
        from qil_editor import app, deferred_imports

        import gc
        paint = app._wait_for_first_paint
        seen = []
        def watched(window, *args):
            paint(window, *args)
            seen.append(window)
            print("MENUS-AT-FRAME", sum(len(m.actions()) for m in window.menus.values()), gc.isenabled(), flush=True)
            print("AT-FRAME", sorted(deferred_imports.pending()), window.isVisible(),
                  sorted(m for m in ("cv2", "scipy", "torch", "qil_editor.engines.edit.engine",
                                     "qil_editor.ui.reprompt_dialog", "qil_editor.io",
                                     "qil_editor.ui.decompose_dialog", "qil_editor.ui.recolor_dialog",
                                     "qil_editor.ui.settings_dialog", "qil_editor.ui.canvas",
                                     "qil_editor.document.document", "qil_editor.document.commands",
                                     "qil_editor.document.compositing", "qil_editor.engines.base",
                                     "qil_editor.engines.jobs", "qil_editor.ui.session",
                                     "qil_editor.ui.worker", "qil_editor.ui.tools", "json",
                                     "qil_editor.ui.recovery")
                         if m in sys.modules),
                  "QStyle" in vars(sys.modules["PySide6.QtWidgets"]), flush=True)
        app._wait_for_first_paint = watched
        code = app.main(["--quit-after-show", "--settings", r"{tmp_path / 's.ini'}",
                         "--data-dir", r"{tmp_path / 'data'}"])
        import numpy, asyncio
        from PIL import Image
        from PySide6.QtWidgets import QApplication
        base = QApplication.instance().style().children()  # the style sheet's style wraps Fusion
        print("AFTER", code, deferred_imports.pending(), type(numpy).__name__, int(numpy.arange(3).sum()),
              Image.MAX_IMAGE_PIXELS is not None, [s.objectName() for s in base])
        print("MENUS-AFTER", sum(len(m.actions()) for m in seen[0].menus.values()) > 40, gc.isenabled())
        print("MODEL", all(m in sys.modules for m in ("qil_editor.document.document", "qil_editor.engines.base",
                                                      "qil_editor.ui.session", "qil_editor.ui.worker")))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "AT-FRAME ['PIL.Image', 'asyncio', 'numpy'] True [] False" in result.stdout
    assert "AFTER 0 [] module 3 True ['fusion']" in result.stdout
    assert "MODEL True" in result.stdout  # loaded on the main thread before the event loop
    # the menus' contents and the garbage collector wait for the first frame, not longer
    assert "MENUS-AT-FRAME 0 False" in result.stdout and "MENUS-AFTER True True" in result.stdout
    lines = result.stdout.splitlines()
    shown = next(i for i, ln in enumerate(lines) if ln.startswith("window shown at "))
    ready = next(i for i, ln in enumerate(lines) if ln.startswith("ready at "))
    assert shown < ready


def test_pillow_limit_survives_the_deferral(tmp_path):
    """The image opener sets Pillow's bomb limit at import, before Pillow's code has run."""
    result = _python("""
        from qil_editor import deferred_imports
        deferred_imports.defer("numpy", "PIL.Image")
        from qil_editor.io import limits
        import qil_editor.io.image_open
        from PIL import Image
        print("LIMIT", Image.MAX_IMAGE_PIXELS == limits.pillow_limit_for(limits.DEFAULT_MAX_PIXELS))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "LIMIT True" in result.stdout


def test_edit_package_import_is_light_and_names_resolve_on_use(tmp_path):
    result = _python("""
        import sys
        import qil_editor.engines.edit as edit
        from qil_editor.engines.edit import ENV_VAR
        light = not any(m in sys.modules for m in ("cv2", "numpy", "qil_editor.engines.edit.engine"))
        print("LIGHT", light, ENV_VAR)
        from qil_editor.engines.edit import QwenLayerEditor, SHAPES, LayerSplit, find_layer
        from qil_editor.engines.edit.engine import QwenLayerEditor as direct
        print("NAMES", QwenLayerEditor is direct, set(edit.__all__) <= set(dir(edit)))
        try:
            edit.no_such_name
        except AttributeError as exc:
            print("MISSING", "no_such_name" in str(exc))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "LIGHT True QIL_EDIT_MODEL_DIR" in result.stdout
    assert "NAMES True True" in result.stdout and "MISSING True" in result.stdout


def test_records_logged_before_the_log_file_opens_are_written_first(tmp_path):
    """The editor opens its log file after the first frame; nothing logged before is lost."""
    import logging

    from qil_editor.ui.crash import open_held_log, setup_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        path = setup_logging(tmp_path / "logs", hold=True)
        logging.getLogger("qil_editor.test").info("early record")
        assert not path.exists()  # held, not written yet
        open_held_log()
        logging.getLogger("qil_editor.test").warning("later record")
        for handler in root.handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
        assert "INFO qil_editor.test: early record" in text
        assert text.index("early record") < text.index("later record")
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def test_document_package_loads_each_module_on_first_use(tmp_path):
    """``qil_editor.document`` names load their module on first use (the empty window needs only
    BlendMode); every public name resolves to its defining module's object; a wrong name fails."""
    result = _python("""
        import sys
        import qil_editor.document as document
        loaded = lambda: sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("qil_editor.document."))
        print("BARE", loaded())
        from qil_editor.document import BlendMode
        print("BLEND", loaded(), BlendMode.__module__)
        from qil_editor.document import *
        import importlib
        same = all(getattr(document, n) is getattr(importlib.import_module("qil_editor.document." + m), n)
                   for n, m in document._LAZY.items())
        print("ALL", set(document.__all__) == set(document._LAZY), same, set(document.__all__) <= set(dir(document)))
        try:
            document.NoSuchThing
        except AttributeError as exc:
            print("MISSING", "NoSuchThing" in str(exc))
        from qil_editor.document import layer_ops  # a submodule still imports as one
        print("SUB", layer_ops.__name__)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "BARE []" in result.stdout
    assert "BLEND ['blend'] qil_editor.document.blend" in result.stdout
    assert "ALL True True True" in result.stdout and "MISSING True" in result.stdout
    assert "SUB qil_editor.document.layer_ops" in result.stdout

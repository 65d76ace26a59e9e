"""What the lite build leaves out beyond the model packages (used by qil_editor.spec and the tests).

Each list names only what the lite build never loads; tests/test_packaging.py
runs the classical engine and the editor's start-up and checks that none of
it is touched, and the bundle's smoke test checks the result.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# SciPy's subpackages that nothing in the lite build loads. psd-tools renders layer effects,
# strokes, shape fills, gradients and curves/brightness adjustments with scipy.interpolate,
# scipy.ndimage and scipy.spatial (psd_tools/composite/*), loaded when a PSD needs them;
# those import linalg, sparse, special, optimize, fft, constants and _lib in turn, so all of
# that stays (measured: every scipy module loaded while the test PSDs open, see
# tests/test_packaging.py). Without it a PSD with effects or adjustments fails to open.
# The classical engine uses none of SciPy (qil_editor.engines.ciede2000, ndimage_subset).
SCIPY_UNUSED = tuple(f"scipy.{name}" for name in (
    "stats", "io", "signal", "integrate", "odr", "cluster", "datasets", "misc", "fftpack",
    "differentiate"))
# SciPy's own subpackages that must stay (what psd-tools' compositing loads and its imports).
SCIPY_KEPT = tuple(f"scipy.{name}" for name in (
    "_lib", "constants", "fft", "interpolate", "linalg", "ndimage", "optimize", "sparse", "spatial",
    "special"))
# scikit-image as a whole: only the re-prompt engine's alpha recovery uses it, and it needs a
# model the lite build cannot run.
SKIMAGE_UNUSED = ("skimage",)
# Pillow's AVIF codec (libavif, 5 MB) and Tk bridge: the editor opens PNG, JPEG, WebP, TIFF,
# BMP, GIF and PSD only (qil_editor.io.image_open.PILLOW_FORMATS), and has no Tk.
PIL_UNUSED = ("PIL._avif", "PIL.AvifImagePlugin", "PIL._imagingtk", "PIL.ImageTk",
              # FreeType/HarfBuzz text drawing: only the evaluation's synthetic designs draw text
              # (ImageFont then says its core is missing)
              "PIL._imagingft")
# Python modules of other packages the editor never imports: Qt's network and D-Bus bindings
# (Qt's own libraries stay where Qt needs them), lxml's objectify/HTML/schema layers
# (python-pptx uses lxml.etree only).
OTHER_UNUSED = ("PySide6.QtNetwork", "PySide6.QtDBus", "lxml.objectify", "lxml.html", "lxml.isoschematron",
                "lxml.cssselect", "lxml.sax")

# Qt plugins and libraries no desktop session of the lite build loads: embedded and
# remote platforms (EGLFS, linuxfb, VNC, Vulkan display), the Wayland compositor side
# and the obsolete wl-shell, printing, network and SQL plugins, Designer and QML
# tooling. xcb and wayland (desktops), offscreen (the smoke test) and minimal stay.
# Qt's translations go too: the editor installs no translator.
QT_UNUSED_FILES = (
    "/plugins/qmltooling/", "/plugins/sqldrivers/", "/plugins/designer/", "/plugins/egldeviceintegrations/",
    "/plugins/generic/", "/plugins/networkinformation/", "/plugins/tls/", "/plugins/printsupport/",
    "/plugins/wayland-graphics-integration-server/", "/plugins/vectorimageformats/",
    "/plugins/platforms/libqeglfs", "/plugins/platforms/libqlinuxfb", "/plugins/platforms/libqminimalegl",
    "/plugins/platforms/libqvkkhrdisplay", "/plugins/platforms/libqvnc",
    "/plugins/wayland-shell-integration/libwl-shell-plugin",
    # the GTK theme plugin pulls in GTK 3, GDK, cairo and pango (~20 MB); the editor draws
    # its own dark Fusion theme, and file dialogs still go through the desktop portal plugin
    "/plugins/platformthemes/libqgtk3",
    "/lib/libQt6EglFSDeviceIntegration", "/lib/libQt6EglFsKmsSupport", "/lib/libQt6WaylandCompositor",
    "/lib/libQt6WaylandEglCompositorHwIntegration", "/lib/libQt6WlShellIntegration",
    "/translations/",
    # Qt's image plugins the editor never needs: it decodes files with Pillow; Qt reads only its
    # own SVG icons, PNG/JPEG/GIF/ICO (kept). TIFF, WebP, ICNS, TGA and WBMP go (1.6 MB).
    "/plugins/imageformats/libqtiff", "/plugins/imageformats/libqwebp", "/plugins/imageformats/libqicns",
    "/plugins/imageformats/libqtga", "/plugins/imageformats/libqwbmp",
    # Wayland shells of automotive (IVI), kiosk (fullscreen-shell) and Qt-compositor sessions;
    # desktops use xdg-shell (kept)
    "/wayland-shell-integration/libivi-shell", "/wayland-shell-integration/libfullscreen-shell-v1",
    "/wayland-shell-integration/libqt-shell",
)


def unused_qt_file(dest: str) -> bool:
    """True for a bundle path (PyInstaller's destination name) of a Qt file the lite build drops."""
    d = "/" + dest.replace("\\", "/")
    return "PySide6/Qt/" in d and any(part in d for part in QT_UNUSED_FILES)


def strip_debug(src: str, target: Path) -> str:
    """``src``, or a copy at ``target`` without debug sections when it has them (Linux ELF files).

    Only debug sections: ``--strip-unneeded`` (the static symbol table too) breaks libraries
    that auditwheel patched (NumPy's OpenBLAS: "ELF load command address/offset not
    page-aligned")."""
    if shutil.which("readelf") is None or shutil.which("strip") is None:
        return src
    sections = subprocess.run(["readelf", "-S", "--wide", src], capture_output=True, text=True)
    if sections.returncode != 0 or ".debug_info" not in sections.stdout:
        return src
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["strip", "--strip-debug", "-o", str(target), src], capture_output=True, text=True)
    return str(target) if done.returncode == 0 else src


def _needed(path: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def orphaned_libraries(before: list[tuple], after: list[tuple]) -> set[str]:
    """Bundle paths of shared libraries that only files dropped between ``before`` and
    ``after`` (PyInstaller binary TOCs) needed, e.g. GTK after its Qt theme plugin went.

    A library goes only when a dropped file led to it and no other kept file does.
    """
    if shutil.which("readelf") is None:
        return set()
    by_name: dict[str, list[str]] = {}
    for dest, _src, _kind in before:
        by_name.setdefault(Path(dest).name, []).append(dest)
    source = {dest: src for dest, src, _kind in before}

    def closure(roots) -> set[str]:
        seen, todo = set(), list(roots)
        while todo:
            dest = todo.pop()
            if dest in seen:
                continue
            seen.add(dest)
            for name in _needed(source[dest]):
                todo.extend(by_name.get(name, []))
        return seen

    kept = {dest for dest, _src, _kind in after}
    dropped = {dest for dest in source if dest not in kept}
    candidates = closure(dropped) - dropped
    return candidates - closure(kept - candidates)


def unneeded_libraries(binaries: list[tuple], replaced: list[str]) -> set[str]:
    """Bundle paths of libraries that the ``replaced`` originals needed and no file in
    ``binaries`` (a PyInstaller TOC, stand-ins in place) needs any more."""
    if shutil.which("readelf") is None:
        return set()
    dropped: set[str] = set()
    while replaced:
        wanted = {name for src in replaced for name in _needed(src)}
        kept = [entry for entry in binaries if entry[0] not in dropped]
        still = {name for _dest, src, _kind in kept for name in _needed(src)}
        newly = {dest for dest, _src, _kind in kept if Path(dest).name in wanted - still}
        replaced = [src for dest, src, _kind in kept if dest in newly]  # what those needed in turn
        dropped |= newly
    return dropped

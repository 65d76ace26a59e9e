"""What the lite build leaves out beyond the model packages (used by qil_editor.spec and the tests).

Each list names only what the lite build never loads; tests/test_packaging.py
runs the classical engine and the editor's start-up and checks that none of
it is touched, and the bundle's smoke test checks the result.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# SciPy and scikit-image parts the lite build never loads: the classical engine uses
# scipy.ndimage and skimage.color/measure/morphology, which pull in scipy linalg, sparse,
# spatial and special. scikit-image's PyInstaller hook collects every subpackage, and
# those would pull in the rest of SciPy.
SCIPY_UNUSED = tuple(f"scipy.{name}" for name in (
    "cluster", "datasets", "differentiate", "fft", "fftpack", "integrate", "interpolate", "io",
    "misc", "odr", "optimize", "signal", "stats",
))
SKIMAGE_UNUSED = tuple(f"skimage.{name}" for name in (
    "data", "feature", "future", "graph", "io", "metrics", "registration", "restoration",
    "segmentation", "transform",
))
# Pillow's AVIF codec (libavif, 5 MB) and Tk bridge: the editor opens PNG, JPEG, WebP, TIFF,
# BMP, GIF and PSD only (qil_editor.io.image_open.PILLOW_FORMATS), and has no Tk.
PIL_UNUSED = ("PIL._avif", "PIL.AvifImagePlugin", "PIL._imagingtk", "PIL.ImageTk")

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
)


def unused_qt_file(dest: str) -> bool:
    """True for a bundle path (PyInstaller's destination name) of a Qt file the lite build drops."""
    d = "/" + dest.replace("\\", "/")
    return "PySide6/Qt/" in d and any(part in d for part in QT_UNUSED_FILES)


def strip_debug(src: str, target: Path) -> str:
    """``src``, or a copy at ``target`` without debug sections when it has them (Linux ELF files)."""
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

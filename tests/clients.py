"""Running the real readers (GIMP, Krita) in tests, and the pictures they are shown.

One place for how each program is started, so every real-client test runs it
the same way: Debian 12's GIMP 2.10 through script-fu batches (gimp-file-load,
gimp-image-get-layers returns (count ids), file-png-save takes 7 options);
Krita 5.1 under xvfb-run, since it ignores QT_QPA_PLATFORM=offscreen and needs
an X server. Krita's layers come from exporting to .kra (a ZIP whose
maindoc.xml lists them), which is headless and needs no scripting.

``need`` is the CI rule: a missing program skips the test locally and fails
it when CI is set (``bash tools/setup.sh --test`` installs them).
"""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pictures import gradient
from qil_editor.document import BlendMode, Document, Layer

PACKAGES = {"soffice": "libreoffice-impress", "rsvg-convert": "librsvg2-bin", "inkscape": "inkscape",
            "krita": "krita", "xvfb-run": "xvfb xauth", "gimp-console": "gimp"}


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        msg = (f"real-client test needs {', '.join(missing)} "
               f"(apt-get install {' '.join(PACKAGES.get(p, p) for p in missing)})")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


# ----- pictures ----------------------------------------------------------------------------------
def client_document() -> Document:
    """Offsets off the canvas, opacity, partial alpha, hidden, empty, two blend modes, a non-ASCII name."""
    w, h = 160, 120
    rng = np.random.default_rng(7)
    semi = gradient(70, 50, 200)
    semi[..., 3] = np.linspace(30, 255, 70).astype(np.uint8)[None, :]
    stamp = np.zeros((40, 70, 4), np.uint8)
    stamp[...] = (250, 40, 30, 170)
    stamp[8:32, 12:58, 3] = 255
    noisy = rng.integers(0, 256, (45, 45, 4), dtype=np.uint8)
    noisy[..., 3] = np.where(noisy[..., 3] > 60, 255, 0)
    layers = [
        Layer(gradient(w, h, 90), name="Background"),
        Layer(semi, name="Semi ✨ transparent", x=-15, y=-8),
        Layer(stamp, name="Multiply", x=110, y=95, opacity=204 / 255, blend_mode=BlendMode.MULTIPLY),
        Layer(noisy, name="Screen", x=40, y=35, opacity=153 / 255, blend_mode=BlendMode.SCREEN),
        Layer(np.zeros((0, 0, 4), np.uint8), name="Empty"),
        Layer(gradient(30, 30, 0), name="Hidden", x=5, y=5, visible=False),
    ]
    return Document(w, h, layers)


def rgba(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))


def assert_same_picture(ours: np.ndarray, theirs: np.ndarray, who: str):
    assert theirs.shape == ours.shape, who
    alpha_err = np.abs(ours[..., 3].astype(int) - theirs[..., 3].astype(int)).max()
    shown = (ours[..., 3] > 0) & (theirs[..., 3] > 0)
    color_err = np.abs(ours[..., :3].astype(int) - theirs[..., :3].astype(int))[shown].max()
    print(f"{who}: max colour error {color_err}, max alpha error {alpha_err}")
    assert alpha_err <= 2 and color_err <= 2, who


# ----- GIMP --------------------------------------------------------------------------------------
GIMP_FLATTEN = """
(define (qil-flatten in out count-file)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (count (car (gimp-image-get-layers image)))
         (port (open-output-file count-file)))
    (write count port)
    (close-output-port port)
    (let ((merged (car (gimp-image-merge-visible-layers image CLIP-TO-IMAGE))))
      (gimp-layer-resize-to-image-size merged)
      (file-png-save RUN-NONINTERACTIVE image merged out out 0 9 0 0 0 0 0))
    (gimp-image-delete image)))"""


def gimp_batch(script: str, cwd, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run one script-fu expression in gimp-console, then quit."""
    return subprocess.run(["gimp-console", "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def gimp_flatten(jobs, cwd, timeout: int = 180) -> subprocess.CompletedProcess:
    """GIMP opens each (source, png, count file), writes its top-level item count and its
    flattened picture; all in one batch (defines do not carry over between batches)."""
    calls = [f'(qil-flatten "{src}" "{png}" "{count}")' for src, png, count in jobs]
    return gimp_batch("(begin " + GIMP_FLATTEN + "\n" + "\n".join(calls) + ")", cwd, timeout)


# ----- Krita -------------------------------------------------------------------------------------
def krita_export(src, dst, cwd):
    """Krita under a fresh virtual display. ``xvfb-run -a`` can hand Krita a display whose
    server did not come up (a race on the display number, seen in CI), so that one
    start-up failure is tried again; any other failure is reported at once."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    for _ in range(3):
        run = subprocess.run(["xvfb-run", "-a", "krita", "--export", "--export-filename", str(dst), str(src)],
                             capture_output=True, text=True, timeout=240, cwd=cwd, env=env)
        if dst.exists() or "could not connect to display" not in run.stderr:
            break
    assert dst.exists(), run.stdout[-2000:] + run.stderr[-2000:]


def kra_root(kra) -> ET.Element:
    """maindoc.xml of a .kra Krita wrote."""
    with zipfile.ZipFile(kra) as zf:
        return ET.fromstring(zf.read("maindoc.xml"))


def krita_layers(src, cwd) -> list:
    """Every layer element of the .kra Krita writes from ``src``, top first."""
    kra = Path(cwd) / (Path(src).stem + ".kra")
    krita_export(src, kra, cwd)
    return [el for el in kra_root(kra).iter() if el.tag.endswith("layer")]


def krita_tree(src, cwd) -> list:
    """The layer tree Krita builds from a file: (name, children), top first (via an exported .kra)."""
    kra = Path(cwd) / (Path(src).stem + ".kra")
    krita_export(src, kra, cwd)

    def tree(el):
        for child in el:
            if child.tag.endswith("layers"):
                return tree(child)
        return [(c.get("name"), tree(c) if c.get("nodetype") == "grouplayer" else [])
                for c in el if c.tag.endswith("layer")]

    return tree(next(el for el in kra_root(kra).iter() if el.tag.endswith("IMAGE")))

"""Packaging: resources found in a bundle, windowed-build streams, the smoke test, and a real lite build.

The slow test builds the lite flavour with PyInstaller and runs its
``--smoke-test`` from a temporary folder with an empty environment (no
project venv on PATH), the way a designer's machine starts it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from qil_editor import resources, smoke

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_HOOK = ROOT / "packaging" / "rthooks" / "pyi_rth_qil_streams.py"
POSTER = ROOT / "resources" / "samples" / "poster.png"
MODEL_PACKAGE_NAMES = ("torch", "triton", "diffusers", "transformers", "accelerate", "safetensors",
                       "tokenizers", "huggingface_hub", "nvidia", "libcudnn", "libcublas", "libnccl",
                       "bitsandbytes", "_raylet")


def test_resource_path_finds_the_source_tree_sample():
    assert resources.resource_path("samples", "poster.png").is_file()
    assert resources.build_flavour() is None  # no build-info file outside a bundle


def test_resource_path_and_build_info_inside_a_bundle(monkeypatch, tmp_path):
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / resources.BUILD_INFO_FILE).write_text(
        json.dumps({"name": "QIL Editor", "version": "9.9", "flavour": "lite"}), encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.build_info.cache_clear()
    try:
        assert resources.resource_path("samples", "poster.png") == tmp_path / "resources" / "samples" / "poster.png"
        assert resources.build_flavour() == "lite"
        assert resources.build_info()["version"] == "9.9"
    finally:
        resources.build_info.cache_clear()


def test_runtime_hook_gives_a_windowed_build_working_streams(tmp_path):
    """With sys.stdout/stderr = None (Windows/macOS windowed), print, logging and tqdm must not crash."""
    code = (
        "import sys, runpy\n"
        "sys.stdout = None; sys.stderr = None\n"
        f"runpy.run_path({str(RUNTIME_HOOK)!r})\n"
        "print('printed line')\n"
        "import logging; logging.getLogger('qil').warning('logged warning')\n"
        "from tqdm import tqdm\n"
        "for _ in tqdm(range(3), desc='progress bar'): pass\n"
        "sys.stdout.flush(); sys.stderr.flush()\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "LOCALAPPDATA": str(tmp_path / "local")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    logs = list(tmp_path.rglob("qil-editor.log"))
    assert len(logs) == 1, f"expected one log file under {tmp_path}, found {logs}"
    text = logs[0].read_text(encoding="utf-8")
    for expected in ("printed line", "logged warning", "progress bar"):
        assert expected in text


def test_runtime_hook_leaves_real_streams_alone(tmp_path):
    code = (f"import runpy, sys; before = sys.stdout; runpy.run_path({str(RUNTIME_HOOK)!r}); "
            "print('same' if sys.stdout is before else 'replaced')")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "same"
    assert not list(tmp_path.rglob("qil-editor.log"))


def test_smoke_test_fails_with_a_reason_when_the_sample_is_missing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(smoke, "SAMPLE", ("samples", "no-such-sample.png"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = io.StringIO()
    assert smoke.run_smoke_test(None, out=out) == 1
    err = capsys.readouterr().err
    assert "smoke test failed" in err and "no-such-sample.png" in err
    assert "smoke test passed" not in out.getvalue()
    assert not list(tmp_path.iterdir()), "nothing was written, so nothing should be kept"


def test_mean_difference_ignores_colour_under_full_transparency():
    import numpy as np

    a = np.zeros((4, 4, 4), np.uint8)
    b = a.copy()
    b[..., :3] = 200  # colour hidden under alpha 0
    assert smoke._mean_difference(a, b) == 0.0
    b[..., 3] = 255
    assert smoke._mean_difference(a, b) > 100


def test_smoke_test_passes_from_the_source_tree(tmp_path):
    """The same checks the packaged app runs, in a fresh interpreter (its own QApplication)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "qil_editor.smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke test passed" in proc.stdout
    assert "ok  classical decomposition" in proc.stdout
    assert "ok  main window (offscreen)" in proc.stdout


def _load_packaging_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"qil_packaging_{name}", ROOT / "packaging" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_PSDS = sorted(p for folder in ("psd-cases", "psd-extra") for p in (ROOT / "tests" / "data" / folder).rglob("*")
                   if p.suffix.lower() in (".psd", ".psb"))
# Test PSDs whose layer effects, strokes or adjustments psd-tools renders with SciPy
# (interpolate, ndimage, spatial): with SciPy left out of the lite build they did not open.
SCIPY_PSDS = [ROOT / "tests" / "data" / name for name in (
    "psd-cases/effects/src.psd", "psd-extra/adjustment-backdrop/src.psd", "psd-extra/clip-adjustment/src.psd",
    "psd-extra/double-stroke-clipped/src.psd")]


def test_lite_trim_keeps_the_scipy_that_psd_tools_loads():
    """Opening every test PSD loads only the SciPy subpackages the lite build keeps, none it
    leaves out; and the four that need SciPy do load it (the check sees real imports)."""
    trim = _load_packaging_module("lite_trim")
    assert all(p.is_file() for p in SCIPY_PSDS) and len(TEST_PSDS) >= 40
    code = (
        "import json, sys\n"
        "from qil_editor.document import composite\n"
        "from qil_editor.io import open_document\n"
        "needs = []\n"
        f"for f in {[str(p) for p in TEST_PSDS]!r}:\n"
        "    before = len([m for m in sys.modules if m.startswith('scipy.')])\n"
        "    composite(open_document(f))\n"
        "    if len([m for m in sys.modules if m.startswith('scipy.')]) > before: needs.append(f)\n"
        "print(json.dumps([sorted(m for m in sys.modules if m.startswith('scipy')), needs]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded, needs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"scipy.interpolate", "scipy.ndimage", "scipy.spatial"} <= set(loaded)
    assert needs, "no test PSD loaded SciPy: the check would not see a regression"
    left_out = [m for m in loaded if any(m == e or m.startswith(e + ".") for e in trim.SCIPY_UNUSED)]
    assert not left_out, f"opening PSDs imports SciPy modules the lite build leaves out: {left_out}"
    import importlib.util

    scipy_dir = Path(importlib.util.find_spec("scipy").submodule_search_locations[0])
    in_subpackages = [m for m in loaded if "." in m and (scipy_dir / m.split(".")[1]).is_dir()]
    unkept = sorted(m for m in in_subpackages if not any(m == k or m.startswith(k + ".") for k in trim.SCIPY_KEPT))
    assert not unkept, f"SciPy modules loaded but not listed in lite_trim.SCIPY_KEPT: {unkept}"


def test_lite_trim_leaves_out_nothing_the_classical_engine_loads(tmp_path):
    """What the lite spec excludes from SciPy/scikit-image is never imported by a classical run."""
    trim = _load_packaging_module("lite_trim")
    code = (
        "import glob, json, sys\n"
        "from qil_editor.engines.base import DecomposeOptions, default_registry\n"
        "from qil_editor.io import open_image, save_document\n"
        "engine = default_registry().resolve('classical')\n"
        f"files = [{str(ROOT / 'resources' / 'samples' / 'poster.png')!r}]"
        f" + sorted(glob.glob({str(ROOT / 'tests' / 'data' / 'psd-cases' / '*' / 'canvas.png')!r}))[:4]\n"
        "for i, f in enumerate(files):\n"
        "    for layers in (None, 3):\n"
        "        doc = engine.decompose(open_image(f), DecomposeOptions(layers=layers))\n"
        f"    save_document(doc, {str(tmp_path)!r} + f'/{{i}}.psd')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('scipy', 'skimage', 'cv2')))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "cv2" in loaded  # the check sees real imports
    excluded = trim.SCIPY_UNUSED + trim.SKIMAGE_UNUSED
    hits = [m for m in loaded if any(m == e or m.startswith(e + ".") for e in excluded)]
    assert not hits, f"the lite build leaves out modules the classical engine imports: {hits}"


def test_lite_trim_drops_only_unused_qt_files():
    trim = _load_packaging_module("lite_trim")
    assert trim.unused_qt_file("PySide6/Qt/plugins/platforms/libqvnc.so")
    assert trim.unused_qt_file("PySide6/Qt/translations/qtbase_de.qm")
    for kept in ("PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms/libqwayland.so",
                 "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/lib/libQt6Widgets.so.6",
                 "PySide6/Qt/plugins/imageformats/libqjpeg.so", "PySide6/Qt/lib/libQt6WaylandClient.so.6",
                 "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so"):
        assert not trim.unused_qt_file(kept), kept


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("readelf") is None, reason="ELF files, readelf")
def test_orphaned_libraries_are_those_only_dropped_files_needed():
    """Dropping FFmpeg's codec and format libraries orphans what only they load (libvpx,
    libswresample, and libssl where the wheel bundles it: OpenCV 4.x did, 5.x does not), not
    what a kept library still needs (libavutil for libswscale)."""
    import cv2

    libs = Path(cv2.__file__).parent.parent / "opencv_python_headless.libs"
    if not libs.is_dir():
        pytest.skip("not the opencv-python-headless wheel layout")
    toc = [(f"libs/{p.name}", str(p), "BINARY") for p in libs.iterdir()
           if p.name.startswith(("libavcodec", "libavformat", "libswresample", "libvpx", "libavutil", "libssl",
                                 "libcrypto", "libdrm", "libswscale"))]
    present = {Path(dest).name.split("-")[0] for dest, _, _ in toc}
    assert {"libavcodec", "libavformat", "libavutil", "libswscale", "libswresample", "libvpx"} <= present
    trim = _load_packaging_module("lite_trim")
    kept = [e for e in toc if not Path(e[0]).name.startswith(("libavcodec", "libavformat"))]
    orphans = {Path(dest).name.split("-")[0] for dest in trim.orphaned_libraries(toc, kept)}
    assert orphans == {"libswresample", "libvpx", "libssl"} & present


def test_the_editor_never_calls_opencv_image_or_video_io():
    """The lite build replaces OpenCV's FFmpeg/AVIF libraries with stand-ins that abort:
    images are read and written with Pillow, never with cv2's codecs."""
    pattern = re.compile(r"\bcv2\.(imread|imreadmulti|imwrite|imencode|imdecode|haveImage\w*|VideoCapture|VideoWriter)\b")
    hits = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "qil_editor").rglob("*.py"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, hits


@pytest.mark.skipif(sys.platform != "linux" or not all(shutil.which(t) for t in ("cc", "nm", "readelf")),
                    reason="the stand-ins are built on Linux with cc, nm and readelf")
def test_opencv_stand_ins_load_cv2_and_abort_loudly_on_video(tmp_path):
    import cv2

    stubs_mod = _load_packaging_module("opencv_stubs")
    real_pkg = Path(cv2.__file__).parent
    real_libs = real_pkg.parent / "opencv_python_headless.libs"
    if not real_libs.is_dir():
        pytest.skip("not the opencv-python-headless wheel layout")
    site = tmp_path / "site"
    shutil.copytree(real_pkg, site / "cv2", ignore=shutil.ignore_patterns("__pycache__"))
    libs = shutil.copytree(real_libs, site / real_libs.name)
    stubs = stubs_mod.build_stubs(next((site / "cv2").glob("cv2*.so")), tmp_path / "stubs")
    assert {Path(n).name.split("-")[0] for n in stubs} >= {"libavcodec", "libavformat", "libavutil"}
    for lib in list(libs.iterdir()):  # what the spec does to the bundle
        if stubs_mod.dropped_name(lib.name):
            lib.unlink()
        elif lib.name in stubs:
            shutil.copy2(stubs[lib.name], lib)
    # the stand-ins are tiny, and none of the dropped libraries is needed any more
    assert all(p.stat().st_size < 200_000 for p in stubs.values())
    env = {**os.environ, "PYTHONPATH": str(site)}
    ok = subprocess.run([sys.executable, "-c",
                         "import cv2, numpy as np; assert cv2.__file__.startswith(%r)\n"
                         "a = np.zeros((40, 40, 4), np.uint8); a[10:20, 10:20] = 255\n"
                         "n, _, stats, _ = cv2.connectedComponentsWithStats(a[..., 3])\n"
                         "print(n, cv2.resize(a, (20, 20), interpolation=cv2.INTER_AREA).shape,"
                         " cv2.GaussianBlur(a, (5, 5), 0).shape)" % str(site)],
                        env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[0] == "2"
    # the classical engine, end to end, with the stand-ins in place
    engine = subprocess.run(
        [sys.executable, "-c",
         "import cv2\n"
         f"assert cv2.__file__.startswith({str(site)!r})\n"
         "from qil_editor.engines.base import DecomposeOptions, default_registry\n"
         "from qil_editor.io import open_image\n"
         f"doc = default_registry().resolve('classical').decompose(open_image({str(POSTER)!r}), DecomposeOptions())\n"
         "print(len(doc.layers))"],
        env={**env, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}, capture_output=True, text=True, timeout=300)
    assert engine.returncode == 0, engine.stderr[-3000:]
    assert int(engine.stdout.split()[-1]) >= 2
    video = subprocess.run([sys.executable, "-c", "import cv2; cv2.VideoCapture('nothing.mp4')"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert video.returncode != 0
    assert "not included in this build" in video.stderr


def _opencv_names_the_editor_uses() -> set[str]:
    import ast

    names = set()
    for path in (ROOT / "qil_editor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "cv2":
                names.add(node.attr)
    return names


def test_slim_opencv_finds_the_exact_source_archive_with_its_checksum():
    slim = _load_packaging_module("slim_opencv")
    page = ('<a href="../../packages/aa/opencv_python_headless-5.0.0.9.tar.gz#sha256=11">x</a>'
            '<a href="https://files.example/p/opencv_python_headless-5.0.0.93-cp37-abi3-manylinux.whl#sha256=22">w</a>'
            '<a href="https://files.example/p/opencv_python_headless-5.0.0.93.tar.gz#sha256=33">s</a>')
    url, sha = slim.sdist_link("5.0.0.93", page, "https://index.example/simple/opencv-python-headless/")
    assert (url, sha) == ("https://files.example/p/opencv_python_headless-5.0.0.93.tar.gz", "33")
    url, _ = slim.sdist_link("5.0.0.9", page, "https://index.example/simple/opencv-python-headless/")
    assert url == "https://index.example/packages/aa/opencv_python_headless-5.0.0.9.tar.gz"
    with pytest.raises(slim.SlimOpenCVError, match="5.0.0.94"):
        slim.sdist_link("5.0.0.94", page, "https://index.example/simple/opencv-python-headless/")
    # a different module list or option is a different build, never a stale cached one
    key = slim.cache_key("5.0.0.93")
    slim.MODULES = (*slim.MODULES, "video")
    assert slim.cache_key("5.0.0.93") != key


def test_slim_opencv_refuses_a_download_whose_checksum_does_not_match(monkeypatch, tmp_path):
    import hashlib

    slim = _load_packaging_module("slim_opencv")
    served = tmp_path / "opencv_python_headless-1.0.tar.gz"
    served.write_bytes(b"not the real source")
    monkeypatch.setattr(slim, "_index_page", lambda url: f'<a href="{served.as_uri()}#sha256={"0" * 64}">s</a>')
    with pytest.raises(slim.SlimOpenCVError, match="SHA-256"):
        slim.fetch_source("1.0", tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*")), "a bad download must leave nothing behind"
    good = hashlib.sha256(served.read_bytes()).hexdigest()
    monkeypatch.setattr(slim, "_index_page", lambda url: f'<a href="{served.as_uri()}#sha256={good}">s</a>')
    assert slim.fetch_source("1.0", tmp_path / "cache").read_bytes() == b"not the real source"


@pytest.fixture(scope="session")
def slim_cv2():
    """The lite build's OpenCV (packaging/slim_opencv.py), built once per machine and cached."""
    if sys.platform != "linux" or not shutil.which("cmake") or not shutil.which("c++"):
        pytest.skip("the slim OpenCV is built on Linux with CMake and a C++ compiler")
    slim = _load_packaging_module("slim_opencv")
    return slim.build(slim.default_cache())


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_slim_opencv_has_what_the_editor_calls_and_decomposes_alike(slim_cv2, tmp_path):
    """Every cv2 name the code uses exists in the slim module, which is a third of the wheel's
    size and links no video or BLAS library, and the classical engine gives the same layers with it."""
    import cv2

    assert slim_cv2.stat().st_size < Path(cv2.__file__).parent.joinpath("cv2.abi3.so").stat().st_size / 2
    needed = subprocess.run(["readelf", "-d", str(slim_cv2)], capture_output=True, text=True).stdout
    assert not re.search(r"NEEDED.*(libav|openblas|libswscale)", needed), needed
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy2(slim_cv2, site / "cv2.abi3.so")
    names = sorted(_opencv_names_the_editor_uses())
    assert len(names) > 40
    script = (
        "import sys, json, cv2\n"
        "assert cv2.__file__ == sys.argv[3], cv2.__file__\n"
        "missing = [n for n in json.loads(sys.argv[1]) if not hasattr(cv2, n)]\n"
        "assert not missing, missing\n"
        "import numpy as np\n"
        "from qil_editor.engines.base import DecomposeOptions, default_registry\n"
        "from qil_editor.io import open_image\n"
        f"doc = default_registry().resolve('classical').decompose(open_image({str(POSTER)!r}), DecomposeOptions())\n"
        "canvas = np.zeros((len(doc.layers), doc.height, doc.width, 4), np.uint8)\n"
        "for i, l in enumerate(doc.layers):\n"
        "    canvas[i, l.y:l.y + l.height, l.x:l.x + l.width] = l.pixels\n"
        "np.save(sys.argv[2], canvas)\n")
    runs = {}
    for which, path, module in (("slim", f"{site}{os.pathsep}{ROOT}", site / "cv2.abi3.so"),
                                ("wheel", str(ROOT), cv2.__file__)):
        out = tmp_path / f"{which}.npy"
        run = subprocess.run([sys.executable, "-c", script, json.dumps(names), str(out), str(module)],
                             env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        runs[which] = np.load(out).astype(np.float64)
    assert runs["slim"].shape == runs["wheel"].shape  # the same layers
    # the wheel's Intel IPP rounds a few filters differently in the last bit; nothing more
    difference = np.abs(runs["slim"] - runs["wheel"])
    print(f"slim vs wheel OpenCV, poster layers: mean {difference.mean():.4f}, max {difference.max():.0f}")
    assert difference.mean() < 0.5


def _clean_run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    """Run like a designer's machine would: no venv, no PYTHONPATH, nothing but a minimal PATH.

    TMPDIR only keeps the smoke test's files inside the test's own folder.
    """
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TMPDIR": str(home)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lite_bundle(tmp_path_factory, slim_cv2):
    """Build the lite flavour once for this module into a temporary folder; removed afterwards."""
    if sys.platform != "linux":
        pytest.skip("the CI build check runs on Linux")
    base = tmp_path_factory.mktemp("lite-build")
    dist, work = base / "dist", base / "build"
    try:
        build = subprocess.run(
            ["bash", str(ROOT / "packaging" / "build.sh"), "lite", "--distpath", str(dist),
             "--workpath", str(work), "--log-level", "WARN"],
            cwd=ROOT, env={**os.environ, "PYTHON": sys.executable},
            capture_output=True, text=True, timeout=1100)
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
        print(build.stdout.strip().splitlines()[-1])  # "Built the lite flavour in Ns: ... (size)"
        (base / "elsewhere").mkdir()
        (base / "home").mkdir()
        yield dist / "qil-editor"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the first test to run may compile the slim OpenCV
def test_lite_bundle_builds_without_torch_and_passes_its_smoke_test(lite_bundle):
    exe = lite_bundle / "qil-editor"
    assert exe.is_file() and os.access(exe, os.X_OK)
    leaked = sorted(str(p.relative_to(lite_bundle)) for p in lite_bundle.rglob("*")
                    if any(name in p.name.lower() for name in MODEL_PACKAGE_NAMES))
    assert not leaked, f"model packages in the lite bundle: {leaked[:20]}"
    info = json.loads((lite_bundle / "_internal" / "resources" / resources.BUILD_INFO_FILE).read_text())
    from qil_editor import __version__
    assert info == {"name": "QIL Editor", "version": __version__, "flavour": "lite"}

    base = lite_bundle.parent.parent
    run = _clean_run([str(exe), "--smoke-test"], base / "elsewhere", base / "home")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "smoke test passed" in run.stdout
    assert "packaged (lite build)" in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the first test to run may compile the slim OpenCV
def test_lite_bundle_opens_every_test_psd(lite_bundle):
    """The trimmed bundle opens what a designer opens: every test PSD, including those whose
    effects, strokes and adjustments psd-tools renders with SciPy (these once failed as "damaged")."""
    base = lite_bundle.parent.parent
    args = [str(lite_bundle / "qil-editor"), "--smoke-test"]
    for path in TEST_PSDS:
        args += ["--open", str(path)]
    run = _clean_run(args, base / "elsewhere", base / "home")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "smoke test passed" in run.stdout and "Traceback" not in run.stderr
    opened = [line for line in run.stdout.splitlines() if line.startswith(f"ok  open {ROOT}")]
    assert len(opened) == len(TEST_PSDS)
    for path in SCIPY_PSDS:  # the same layer pixels as the source tree: effects really rendered
        line = next(line for line in opened if line.startswith(f"ok  open {path} "))
        assert line.endswith(smoke._open_file(path)), line


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the first test to run may compile the slim OpenCV
def test_lite_bundle_says_to_get_the_full_build_for_models(lite_bundle, tmp_path):
    """Model support degrades to a message, not a crash, in the lite build."""
    base = lite_bundle.parent.parent
    run = _clean_run([str(lite_bundle / "qil-editor"), "--smoke-test", "--model", str(tmp_path)],
                     base / "elsewhere", base / "home")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "full build" in run.stderr, run.stderr


_STANDIN_TOOLS = sys.platform == "linux" and all(shutil.which(t) for t in ("cc", "nm", "readelf"))


@pytest.mark.skipif(not _STANDIN_TOOLS, reason="the stand-ins are built on Linux with cc, nm and readelf")
def test_icu_data_standin_keeps_root_collation(tmp_path):
    """The 0.9 MB ICU data stand-in still sorts file names naturally (root collation, numeric mode)."""
    import PySide6

    real = Path(PySide6.__file__).parent / "Qt" / "lib"
    reals = sorted(real.glob("libicudata.so.*"))
    if not reals:
        pytest.skip("PySide6 without its own ICU")
    standin = _load_packaging_module("lib_standins").build_icu_data_standin(reals[0], tmp_path)
    assert standin.stat().st_size < 2_000_000 < reals[0].stat().st_size
    code = ("from PySide6.QtCore import QCollator, QLocale\n"
            "c = QCollator(QLocale('en_US')); c.setNumericMode(True)\n"
            "print(sorted(['file10', 'File2', 'file9', 'a'], key=c.sortKey), c.compare('file9', 'file10') < 0)\n"
            "print(open('/proc/self/maps').read().count(" + repr(str(reals[0])) + "))\n")
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LD_PRELOAD": str(standin)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["['a', 'File2', 'file9', 'file10'] True", "0"], run.stdout + run.stderr
    assert "Could not create collator" not in run.stderr


@pytest.mark.skipif(not _STANDIN_TOOLS, reason="the stand-ins are built on Linux with cc, nm and readelf")
def test_opencv_blas_forwarder_serves_cv2_from_scipys_openblas(tmp_path):
    """cv2's BLAS/LAPACK calls go to SciPy's OpenBLAS through the forwarder, and the classical
    engine's result on the poster stays the same bytes."""
    import cv2

    scipy = pytest.importorskip("scipy")
    cv2_module = next(Path(cv2.__file__).parent.glob("cv2*.so"))
    openblas = next(iter(sorted((cv2_module.parent.parent).glob("opencv_python*.libs/libopenblas*.so*"))), None)
    scipy_blas = next(iter(sorted((Path(scipy.__file__).parent.parent / "scipy.libs").glob("libscipy_openblas*.so*"))),
                      None)
    if openblas is None or scipy_blas is None:
        pytest.skip("not the opencv-python-headless / SciPy wheel layout")
    standins = _load_packaging_module("lib_standins")
    forwarder = standins.build_blas_forwarder(cv2_module, openblas, scipy_blas, tmp_path, rpath=str(scipy_blas.parent))
    assert forwarder.stat().st_size < 100_000
    assert len(standins.blas_symbols(cv2_module, openblas, scipy_blas)) >= 10
    code = (
        "import hashlib, numpy as np, cv2\n"
        "a = np.random.default_rng(1).standard_normal((30, 20))\n"
        "w, u, vt = cv2.SVDecomp(a)\n"
        "print(np.allclose(w.ravel(), np.linalg.svd(a, compute_uv=False)))\n"
        "b = a.T @ a + np.eye(20); x = np.ones((20, 1))\n"
        "print(all(np.allclose(cv2.solve(b, b @ x, flags=f)[1], x) for f in "
        "(cv2.DECOMP_LU, cv2.DECOMP_CHOLESKY, cv2.DECOMP_QR, cv2.DECOMP_SVD)))\n"
        "maps = open('/proc/self/maps').read()\n"
        f"print({os.path.realpath(openblas)!r} in maps, {os.path.realpath(scipy_blas)!r} in maps)\n"
        "from qil_editor.engines.base import DecomposeOptions, default_registry\n"
        "from qil_editor.io import open_image\n"
        f"doc = default_registry().resolve('classical').decompose(open_image({str(POSTER)!r}), DecomposeOptions())\n"
        "print(hashlib.sha256(b''.join(np.ascontiguousarray(l.pixels).tobytes() for l in doc.layers)).hexdigest())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    direct = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    forwarded = subprocess.run([sys.executable, "-c", code], env={**env, "LD_PRELOAD": str(forwarder)},
                               capture_output=True, text=True, timeout=300)
    assert direct.returncode == 0 and forwarded.returncode == 0, direct.stderr[-2000:] + forwarded.stderr[-2000:]
    d, f = direct.stdout.split("\n"), forwarded.stdout.split("\n")
    assert d[:2] == f[:2] == ["True", "True"]
    assert d[2] == "True False" and f[2] == "False True"  # which OpenBLAS served cv2
    assert d[3] == f[3]  # the classical engine's layers, byte for byte

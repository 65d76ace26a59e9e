"""A slim OpenCV for the lite build on Linux: only the modules the editor calls.

The opencv-python-headless wheel is one 70 MB ``cv2`` module holding every
OpenCV module: DNN, G-API, calibration, feature detection, object detection,
stitching, video and image I/O. The editor calls core, imgproc and photo only
(``tests/test_packaging.py`` checks every ``cv2.X`` the code names against this
module), so the lite build compiles those from the same release's source
distribution (~20 MB after stripping) and ships that instead. It needs no
FFmpeg, no OpenBLAS and no stand-ins.

    python packaging/slim_opencv.py [CACHE_DIR]     # builds (or reuses) it, prints its path

The source comes from the package index pip uses (``PIP_INDEX_URL``, else
PyPI) and is checked against the index's SHA-256. The build needs CMake and a
C++ compiler (Ninja when present), takes 7-16 minutes on two cores and is
cached by version and options (``~/.cache/qil-editor/opencv-slim``, or
``QIL_OPENCV_CACHE``), so later builds reuse it. Intel's IPP, which the
official wheel links, is a separate download from GitHub and is left out; a few
filters then round differently in the last bit.
"""

from __future__ import annotations

import hashlib
import html.parser
import importlib.metadata
import os
import re
import shutil
import ssl
import subprocess
import sys
import sysconfig
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

DISTRIBUTION = "opencv-python-headless"
#: the OpenCV modules the editor calls (and the Python bindings)
MODULES = ("core", "imgproc", "photo")
#: everything else off: no I/O back ends, no BLAS, no accelerators the build cannot download
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DBUILD_TESTS=OFF",
    "-DBUILD_PERF_TESTS=OFF", "-DBUILD_DOCS=OFF", "-DBUILD_EXAMPLES=OFF", "-DBUILD_opencv_apps=OFF",
    "-DBUILD_JAVA=OFF", "-DBUILD_opencv_python2=OFF", "-DBUILD_opencv_python3=ON",
    "-DPYTHON3_LIMITED_API=ON", "-DBUILD_ZLIB=ON", "-DCPU_BASELINE=SSE3",
    "-DWITH_IPP=OFF", "-DWITH_LAPACK=OFF", "-DWITH_OPENCL=OFF", "-DWITH_FFMPEG=OFF", "-DWITH_V4L=OFF",
    "-DWITH_GTK=OFF", "-DWITH_QT=OFF", "-DWITH_ITT=OFF", "-DWITH_PROTOBUF=OFF", "-DWITH_EIGEN=OFF",
    "-DWITH_OPENEXR=OFF", "-DWITH_JPEG=OFF", "-DWITH_PNG=OFF", "-DWITH_TIFF=OFF", "-DWITH_WEBP=OFF",
    "-DWITH_OPENJPEG=OFF", "-DWITH_JASPER=OFF", "-DWITH_AVIF=OFF", "-DWITH_IMGCODEC_HDR=OFF",
    "-DWITH_KLEIDICV=OFF", "-DWITH_FASTCV=OFF", "-DWITH_VA=OFF", "-DWITH_1394=OFF",
    "-DWITH_GSTREAMER=OFF", "-DWITH_OBSENSOR=OFF", "-DWITH_CUDA=OFF",
    # putText's Unicode font is a download from GitHub; the editor draws no text with OpenCV
    "-DWITH_UNIFONT=OFF",
)
MODULE_FILE = "cv2.abi3.so"


class SlimOpenCVError(RuntimeError):
    """The slim module could not be made; the message says why."""


def installed_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def cache_key(version: str) -> str:
    options = "\n".join((*MODULES, *CMAKE_OPTIONS, sys.platform, sysconfig.get_platform()))
    return f"{version}-{hashlib.sha256(options.encode()).hexdigest()[:12]}"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def sdist_link(version: str, index_html: str, index_url: str) -> tuple[str, str]:
    """(URL, SHA-256) of the source distribution of ``version`` in a PEP 503 project page."""
    parser = _Links()
    parser.feed(index_html)
    name = f"{DISTRIBUTION.replace('-', '_')}-{version}.tar.gz"
    for href in parser.hrefs:
        url, _, fragment = href.partition("#")
        if url.rsplit("/", 1)[-1] == name and fragment.startswith("sha256="):
            return urllib.parse.urljoin(index_url, url), fragment.split("=", 1)[1]
    raise SlimOpenCVError(f"{name} (with its SHA-256) is not on {index_url}")


def _open(url: str, timeout: float):
    """``urlopen`` trusting what pip is told to trust (``PIP_CERT``, e.g. a company proxy's CA)."""
    cafile = os.environ.get("PIP_CERT")
    context = ssl.create_default_context(cafile=cafile) if cafile and Path(cafile).is_file() else None
    return urllib.request.urlopen(url, timeout=timeout, context=context)


def _index_page(url: str) -> str:
    with _open(url, 60) as reply:
        return reply.read().decode("utf-8", "replace")


def fetch_source(version: str, dest: Path) -> Path:
    """Download and check the source archive once; returns its path."""
    archive = dest / f"{DISTRIBUTION}-{version}.tar.gz"
    if archive.exists():
        return archive
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/") + f"/{DISTRIBUTION}/"
    url, sha256 = sdist_link(version, _index_page(index), index)
    dest.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".part")
    digest = hashlib.sha256()
    with _open(url, 120) as reply, open(partial, "wb") as out:
        while chunk := reply.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        partial.unlink()
        if not any(dest.iterdir()):
            dest.rmdir()
        raise SlimOpenCVError(f"{url}: SHA-256 {digest.hexdigest()} does not match the index's {sha256}")
    partial.replace(archive)
    return archive


def _extract_opencv(archive: Path, dest: Path) -> Path:
    """The archive's ``opencv/`` source tree (the wrapper's packaging files are not needed)."""
    marker = dest / ".complete"
    if not marker.exists():
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if re.match(r"[^/]+/opencv/", m.name)]
            tar.extractall(dest, members=members, filter="data")
        marker.touch()
    found = sorted(dest.glob("*/opencv/CMakeLists.txt"))
    if len(found) != 1:
        raise SlimOpenCVError(f"{archive.name}: expected one opencv/ source tree, found {len(found)}")
    return found[0].parent


def _python_options(python: str) -> list[str]:
    paths = subprocess.run(
        [python, "-c", "import sysconfig as s, numpy; print(s.get_paths()['include']); "
                       "print(s.get_config_var('LIBDIR') or ''); print(s.get_config_var('LDLIBRARY') or '')"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    include, libdir, ldlibrary = (paths + ["", "", ""])[:3]
    options = [f"-DPYTHON3_EXECUTABLE={python}", f"-DPYTHON_DEFAULT_EXECUTABLE={python}",
               f"-DPYTHON3_INCLUDE_DIR={include}"]
    library = Path(libdir) / ldlibrary
    if ldlibrary and library.exists():
        options.append(f"-DPYTHON3_LIBRARY={library}")
    return options


def build(cache: Path, version: str | None = None, python: str = sys.executable,
          jobs: int | None = None, log=print) -> Path:
    """The slim ``cv2`` module for ``version`` (default: the installed one), built once into ``cache``."""
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise SlimOpenCVError(f"building the slim OpenCV needs {tool} on PATH")
    version = version or installed_version()
    key = cache_key(version)
    out = cache / key
    module = out / MODULE_FILE
    if module.exists():
        return module
    source = _extract_opencv(fetch_source(version, cache / "src"), cache / "src" / version)
    work = cache / "build" / key
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    def run(step: list[str]) -> None:
        done = subprocess.run(step, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise SlimOpenCVError(f"slim OpenCV build failed at `{' '.join(step[:3])}`:\n{tail}")

    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    jobs = jobs or os.cpu_count() or 2
    log(f"slim OpenCV {version}: configuring ({', '.join(MODULES)})")
    run(["cmake", *generator, str(source), f"-DBUILD_LIST={','.join(MODULES)},python3,python_bindings_generator",
         *CMAKE_OPTIONS, *_python_options(python)])
    log(f"slim OpenCV {version}: compiling with {jobs} jobs (7-16 minutes on two cores, once)")
    run(["cmake", "--build", ".", "--target", "opencv_python3", "--parallel", str(jobs)])
    built = sorted(work.glob(f"**/{MODULE_FILE}"))
    if len(built) != 1:
        raise SlimOpenCVError(f"slim OpenCV build made {len(built)} {MODULE_FILE} files: {built}")
    out.mkdir(parents=True, exist_ok=True)
    partial = out / (MODULE_FILE + ".part")
    shutil.copy2(built[0], partial)
    if shutil.which("strip") and sys.platform.startswith("linux"):
        subprocess.run(["strip", "--strip-unneeded", str(partial)], check=True)
    partial.replace(module)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(source.parent.parent, ignore_errors=True)  # the unpacked tree; the archive stays
    return module


def default_cache() -> Path:
    """Shared by every clone of the project: the build takes minutes, the result is reusable."""
    if os.environ.get("QIL_OPENCV_CACHE"):
        return Path(os.environ["QIL_OPENCV_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "qil-editor" / "opencv-slim"


def main(argv: list[str]) -> int:
    cache = Path(argv[0]) if argv else default_cache()
    try:
        print(build(cache, log=lambda line: print(line, file=sys.stderr)))
    except (SlimOpenCVError, OSError) as exc:
        print(f"slim_opencv: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Stand-ins for OpenCV's video and AVIF libraries in the lite build (Linux).

opencv-python-headless links its one ``cv2`` module against FFmpeg
(libavcodec, libavformat, libavutil, libswscale) and libavif, which in turn
pull in libaom, libvpx, OpenSSL and more: about 42 MB the lite build never
calls (it reads images with Pillow and uses OpenCV only for array
operations). The dynamic loader still wants those libraries when ``cv2`` is
imported, so each is replaced by a small library with the same soname and
the same versioned symbols ``cv2`` refers to. Every stand-in function writes
one line naming itself to stderr and aborts: a video or AVIF call in a lite
build fails loudly instead of misbehaving. Their own dependencies are then
left out of the bundle.

    python packaging/opencv_stubs.py CV2_SO OUT_DIR     # builds the stand-ins, prints them

Needs ``nm``, ``readelf`` and a C compiler (``cc``), as on any Linux build machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

#: libraries cv2 needs directly that only serve video I/O and AVIF files (name prefixes)
STUBBED = ("libavcodec", "libavformat", "libavutil", "libswscale", "libavif")
#: what only those libraries need; without the real ones nothing loads these
DROPPED = ("libaom", "libvpx", "libssl", "libcrypto", "libdrm", "libswresample", "libdav1d", "libopenjp2")
# (OpenCV's OpenBLAS stays: the classical engine reaches LAPACK's SVD through cv2.)


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def stubbed_name(filename: str) -> bool:
    return Path(filename).name.startswith(STUBBED)


def dropped_name(filename: str) -> bool:
    return Path(filename).name.startswith(DROPPED)


def needed(lib: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", _run("readelf", "-d", str(lib)))


def soname(lib: Path) -> str:
    found = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", _run("readelf", "-d", str(lib)))
    return found.group(1) if found else lib.name


def undefined_symbols(module: Path) -> dict[str, str | None]:
    """{symbol: version or None} that ``module`` expects other libraries to define."""
    out = {}
    for line in _run("nm", "-D", "--undefined-only", str(module)).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2] in ("U", "w", "v"):
            name, _, version = parts[-1].partition("@")
            out[name] = version.lstrip("@") or None
    return out


def defined_symbols(lib: Path) -> dict[str, tuple[str, int]]:
    """{symbol: (nm type letter, size)} defined by ``lib`` (version suffix removed)."""
    out = {}
    for line in _run("nm", "-D", "-S", "--defined-only", str(lib)).splitlines():
        parts = line.split()
        if len(parts) == 4:
            _, size, kind, name = parts
            size = int(size, 16)
        elif len(parts) == 3:
            _, kind, name = parts
            size = 0
        else:
            continue
        out[name.split("@")[0]] = (kind, size)
    return out


def build_stub(real: Path, wanted: dict[str, str | None], out_dir: Path, cc: str = "cc") -> Path:
    """Compile a stand-in for ``real`` defining the ``wanted`` symbols it defines."""
    defined = defined_symbols(real)
    symbols = sorted(name for name in wanted if name in defined)
    name = soname(real)
    lines = ["#include <stdio.h>", "#include <stdlib.h>",
             "static void qil_missing(const char *name) {",
             f'    fprintf(stderr, "QIL Editor lite: %s (from {name}) is not included in this build: '
             'OpenCV video and AVIF support were left out.\\n", name);',
             "    abort();", "}"]
    for sym in symbols:
        kind, size = defined[sym]
        if kind in "TtWwi":
            lines.append(f'void {sym}(void) {{ qil_missing("{sym}"); }}')
        else:  # a data object: same size, zero-filled
            lines.append(f"char {sym}[{max(size, 1)}] __attribute__((aligned(16)));")
    source = out_dir / f"{name}.c"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    versions: dict[str, list[str]] = {}
    for sym in symbols:
        versions.setdefault(wanted[sym] or "", []).append(sym)
    script = out_dir / f"{name}.map"
    unversioned = " ".join(s + ";" for s in versions.pop("", []))
    if versions:  # ld allows no anonymous node beside named ones: the last named one hides the rest
        nodes = [f"{v} {{ global: {' '.join(s + ';' for s in syms)} }};" for v, syms in versions.items()]
        nodes[-1] = nodes[-1][:-3] + f" {unversioned} local: *; }};"
    else:
        nodes = [f"{{ global: {unversioned} local: *; }};"]
    script.write_text("\n".join(nodes) + "\n", encoding="utf-8")
    target = out_dir / name
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(target), str(source),
                    f"-Wl,-soname,{name}", f"-Wl,--version-script={script}"], check=True)
    return target


def build_stubs(cv2_module: Path, out_dir: Path) -> dict[str, Path]:
    """{real library file name: stand-in path} for the libraries cv2 needs only for video/AVIF."""
    if shutil.which("cc") is None:
        raise RuntimeError("a C compiler (cc) is needed to leave OpenCV's video libraries out")
    out_dir.mkdir(parents=True, exist_ok=True)
    libs_dir = cv2_module.parent.parent / "opencv_python_headless.libs"
    wanted = undefined_symbols(cv2_module)
    stubs = {}
    for lib_name in needed(cv2_module):
        real = libs_dir / lib_name
        if stubbed_name(lib_name) and real.is_file():
            stubs[lib_name] = build_stub(real, wanted, out_dir)
    return stubs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    for real, stub in build_stubs(Path(argv[0]), Path(argv[1])).items():
        print(f"{real} -> {stub} ({stub.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

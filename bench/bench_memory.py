"""Peak memory of ``qil info`` / ``qil convert`` on files at the pixel limit (issue #17).

Each case runs in a fresh process; its peak resident memory is the
child's own VmHWM, written at exit (``ru_maxrss`` from ``wait4`` would
also count this process's memory, which Linux folds in at exec after a
vfork; it is used only for a child killed before it could write). The files are
made here, in a temporary folder:

* ``png-rgba``: a 16384x16384 RGBA PNG (1 GiB decoded; ``--side`` for another size), opened
  (``info``) and converted to PSD (``convert``);
* ``jpeg-712b``: a JPEG of a few hundred bytes whose header claims 16384x16384;
* ``psd-fill``: a PSD whose only layer is a solid-colour fill layer on a
  16384x16384 canvas (the layer has no stored pixels: it is rendered);
* ``psd-bad-mask``: the layer-mask test PSD with its mask rectangle made
  30000x30000 (a corrupted mask record).

``--src DIR`` runs another checkout's ``qil_editor`` (for the numbers before
a change: ``git archive <commit> qil_editor | tar -x -C DIR``). Children run
under an address-space cap (``--cap-gb``, default 8) so a runaway case is
stopped by a MemoryError instead of taking the machine down; such a case
shows its exit code and the peak it reached.

    python bench/bench_memory.py                 # all cases, this checkout
    python bench/bench_memory.py --src /tmp/old  # the same cases, an older checkout
    python bench/bench_memory.py --side 8192 --cases "png-rgba info,png-rgba convert"  # smaller
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIDE = 16384


def make_png_rgba(path: Path) -> None:
    """A 16384x16384 RGBA PNG written row by row (the generator stays small)."""
    row = bytearray(SIDE * 4)
    for x in range(SIDE):
        row[4 * x:4 * x + 4] = bytes((x % 256, (x // 64) % 256, 128, 255 - x % 97))
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data
                                + struct.pack(">I", zlib.crc32(kind + data)))
    z = zlib.compressobj(1)
    idat = io.BytesIO()
    for y in range(SIDE):
        idat.write(z.compress(b"\x00" + bytes(row)))
    idat.write(z.flush())
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(chunk(b"IHDR", struct.pack(">IIBBBBB", SIDE, SIDE, 8, 6, 0, 0, 0)))
        fh.write(chunk(b"IDAT", idat.getvalue()))
        fh.write(chunk(b"IEND", b""))


def make_tiny_jpeg(path: Path) -> None:
    """A real 16x16 JPEG whose frame header is patched to say 16384x16384."""
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", SIDE, SIDE)
    path.write_bytes(bytes(data))


def make_fill_psd(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_hostile_memory import craft_fill_psd
    craft_fill_psd(path, SIDE, SIDE)


def make_bad_mask_psd(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_hostile_memory import inflate_mask_rect
    inflate_mask_rect(ROOT / "tests/data/psd-cases/layer-mask/src.psd", path, 30000, 30000)


CASES = {
    "png-rgba info": ("big.png", make_png_rgba, ["info", "{f}"]),
    "png-rgba convert": ("big.png", make_png_rgba, ["convert", "{f}", "-o", "{out}/big.psd"]),
    "jpeg-712b info": ("tiny.jpg", make_tiny_jpeg, ["info", "{f}"]),
    "psd-fill info": ("fill.psd", make_fill_psd, ["info", "{f}"]),
    "psd-bad-mask info": ("mask.psd", make_bad_mask_psd, ["info", "{f}"]),
}


def run_case(src: Path, args: list[str], cap: int) -> tuple[int, int, float]:
    """(exit code, peak RSS bytes, seconds) of ``qil ARGS`` in a fresh process."""
    code = ("import atexit, os, sys\n"
            "def _hwm():\n"  # the child's own peak: ru_maxrss would include this process's (vfork)
            "    with open('/proc/self/status') as f:\n"
            "        kb = next(int(x.split()[1]) for x in f if x.startswith('VmHWM:'))\n"
            "    with open(os.environ['QIL_HWM_FILE'], 'w') as out:\n"
            "        out.write(str(kb * 1024))\n"
            "atexit.register(_hwm)\n"
            "sys.path.insert(0, sys.argv[1]); from qil_editor.cli import main; sys.exit(main(sys.argv[2:]))")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    hwm_file = Path(tempfile.mkstemp(prefix="qil-hwm-")[1])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QIL_HWM_FILE=str(hwm_file))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(src), *args], env=env, preexec_fn=limit,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    last = err.decode(errors="replace").strip().splitlines()
    if proc.returncode not in (0,) and last:
        print(f"    stderr: {last[0][:150]}", file=sys.stderr)
    try:  # killed by the cap before exiting: the kernel's figure is all there is
        peak = int(hwm_file.read_text())
    except ValueError:
        peak = usage.ru_maxrss * 1024
    hwm_file.unlink()
    return proc.returncode, peak, seconds


def main() -> int:
    global SIDE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT, help="checkout whose qil_editor runs [this one]")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    ap.add_argument("--cap-gb", type=float, default=8.0, help="address-space cap per child [8]")
    ap.add_argument("--work", type=Path, help="folder for the generated files (kept) [a temporary one]")
    ap.add_argument("--side", type=int, default=SIDE,
                    help=f"canvas side of the generated files [{SIDE}, the pixel limit]")
    opts = ap.parse_args()
    SIDE = opts.side
    cap = int(opts.cap_gb * 1024 ** 3)
    work = opts.work or Path(tempfile.mkdtemp(prefix="qil-bench-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    out.mkdir(exist_ok=True)
    rgba = SIDE * SIDE * 4
    _, base, _ = run_case(opts.src, ["--version"], cap)
    print(f"src {opts.src}; interpreter + imports baseline {base / 2**20:.0f} MiB; "
          f"{SIDE}x{SIDE}: decoded RGBA {rgba / 2**30:.2f} GiB; cap {opts.cap_gb:g} GiB")
    print(f"{'case':<20} {'exit':>4} {'peak MiB':>9} {'over base / RGBA':>17} {'seconds':>8}")
    for name in opts.cases.split(","):
        file_name, make, args = CASES[name]
        f = work / f"{SIDE}-{file_name}"
        if not f.exists():
            make(f)
        argv = [a.format(f=f, out=out) for a in args]
        code, peak, seconds = run_case(opts.src, argv, cap)
        print(f"{name:<20} {code:>4} {peak / 2**20:>9.0f} {(peak - base) / rgba:>17.2f} {seconds:>8.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time from launching the editor to its window being shown.

Compared in the same run with the time it takes just to start Python and
import Qt's widgets (``python -c "import PySide6.QtWidgets"``), the floor any
PySide6 application pays. The editor prints the wall-clock time once its
window is shown (``--quit-after-show``); the launch time is taken just
before starting the process. Settings and data go to a temporary folder.

On a shared, busy machine wall-clock times swing by a factor of three; the
CPU time each process used (user + system: the baseline's from its rusage, the
editor's as it reports it when the window is shown) is printed too, as the
steadier ratio.

    QT_QPA_PLATFORM=offscreen python bench/bench_startup.py [--runs 5] [--file resources/samples/poster.png]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def baseline() -> tuple[float, float]:
    """(wall s, CPU s) of ``python -c 'import PySide6.QtWidgets'``."""
    c0, t0 = _child_cpu(), time.time()
    subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], check=True)
    return time.time() - t0, _child_cpu() - c0


def editor(folder: Path, files: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) from launch to the editor's window shown."""
    c0, t0 = _child_cpu(), time.time()
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), *files, "--quit-after-show",
                             "--settings", str(folder / "settings.ini"), "--data-dir", str(folder / "data")],
                            check=True, capture_output=True, text=True)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("window shown at "))
    fields = line.split()  # "window shown at WALL cpu CPU": CPU time up to the shown window
    cpu = float(fields[5]) if len(fields) > 5 else _child_cpu() - c0
    return float(fields[3]) - t0, cpu


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", action="append", default=[], help="also open this file at start")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Measure what users get: compiled bytecode cached after the first run (the warm-up
    # below writes it), even where the shell sets PYTHONDONTWRITEBYTECODE.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        baseline(), editor(Path(tmp), [])  # warm the file cache
        base = [baseline() for _ in range(args.runs)]
        empty = [editor(Path(tmp), []) for _ in range(args.runs)]
        with_file = [editor(Path(tmp), args.file) for _ in range(args.runs)] if args.file else []
    b, bc = _medians(base)
    print(f"python -c 'import PySide6.QtWidgets': median {b * 1000:.0f} ms, CPU {bc * 1000:.0f} ms "
          f"({args.runs} runs)")
    e, ec = _medians(empty)
    print(f"editor launch -> window shown:      median {e * 1000:.0f} ms, ratio {e / b:.2f}; "
          f"CPU {ec * 1000:.0f} ms, ratio {ec / bc:.2f}")
    if with_file:
        f, fc = _medians(with_file)
        print(f"  ... opening {', '.join(args.file)}: median {f * 1000:.0f} ms, ratio {f / b:.2f}; "
              f"CPU {fc * 1000:.0f} ms, ratio {fc / bc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

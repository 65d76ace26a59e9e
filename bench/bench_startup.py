"""Time from launching the editor to its window being shown, and to it being ready.

Compared in the same run with the time it takes just to start Python and
import Qt's widgets (``python -c "import PySide6.QtWidgets"``), the floor any
PySide6 application pays. With ``--quit-after-show`` the editor prints the
wall-clock time once its window has painted its first frame ("window shown"),
and again once the rest of the start-up that waits for that frame (NumPy,
Pillow, asyncio, qasync, the files given) is done and the event loop runs
("ready"); the launch time is taken just before starting the process.
Settings and data go to a temporary folder.

Both sides report from inside the process (wall clock and ``time.process_time()``
at their mark), so neither counts its own exit. On a shared, busy machine
wall-clock times swing by a factor of three; the CPU time each process used up
to its mark (user + system, all threads) is printed too, as the steadier ratio.
The two are run in turns (baseline, editor, baseline, ...), so a change in the
machine's load affects both alike; the range of the per-turn CPU ratios is printed
with the medians.

    QT_QPA_PLATFORM=offscreen python bench/bench_startup.py [--runs 5] [--file resources/samples/poster.png]

QT_QPA_PLATFORM=xcb (with DISPLAY set) measures against a real X server, where creating the
application and the first paint cost ~12 ms more than offscreen. The machine's load average
is printed before and after: on a busy machine the CPU times of both sides grow, the editor's
(more code and memory touched) a little more than the baseline's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


#: The floor: start Python, import Qt's widgets, report (same clocks as the editor's marks).
BASELINE = "import time, PySide6.QtWidgets; print(f'imported at {time.time():.6f} cpu {time.process_time():.6f}')"


def baseline() -> tuple[float, float]:
    """(wall s, CPU s) from launch to ``import PySide6.QtWidgets`` done, measured like the
    editor's marks (inside the process, so neither side counts its exit)."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", BASELINE], check=True, capture_output=True, text=True).stdout
    fields = out.split()
    return float(fields[2]) - t0, float(fields[4])


def editor(folder: Path, files: list[str]) -> tuple[tuple[float, float], tuple[float, float]]:
    """((wall s, CPU s) to the window shown, (wall s, CPU s) to ready), from launch."""
    t0 = time.time()
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), *files, "--quit-after-show",
                             "--settings", str(folder / "settings.ini"), "--data-dir", str(folder / "data")],
                            check=True, capture_output=True, text=True)

    def mark(prefix: str) -> tuple[float, float] | None:
        # "window shown at WALL cpu CPU" / "ready at WALL cpu CPU": CPU = the process's so far
        line = next((ln for ln in result.stdout.splitlines() if ln.startswith(prefix)), None)
        if line is None:  # an editor from before the "ready" mark (comparing old trees)
            return None
        fields = line.split()
        return float(fields[-3]) - t0, float(fields[-1])

    return mark("window shown at "), mark("ready at ")


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
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        baseline(), editor(Path(tmp), [])  # warm the file cache
        base, empty = [], []
        for _ in range(args.runs):  # in turns: load changes hit both sides alike
            base.append(baseline())
            empty.append(editor(Path(tmp), []))
        with_file = [editor(Path(tmp), args.file) for _ in range(args.runs)] if args.file else []
    b, bc = _medians(base)
    print(f"platform {os.environ['QT_QPA_PLATFORM']}, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"python -c 'import PySide6.QtWidgets': median {b * 1000:.0f} ms, CPU {bc * 1000:.0f} ms "
          f"({args.runs} runs)")
    e, ec = _medians([r[0] for r in empty])
    print(f"editor launch -> window shown:      median {e * 1000:.0f} ms, ratio {e / b:.2f}; "
          f"CPU {ec * 1000:.0f} ms, ratio {ec / bc:.2f}")
    turns = sorted(shown[1] / base_run[1] for base_run, (shown, _ready) in zip(base, empty))
    print(f"  CPU ratio per turn: {turns[0]:.2f}-{turns[-1]:.2f} "
          f"(each editor run against the baseline run just before it)")
    if all(r[1] is not None for r in empty):
        r, rc = _medians([r[1] for r in empty])
        print(f"editor launch -> ready (event loop): median {r * 1000:.0f} ms, ratio {r / b:.2f}; "
              f"CPU {rc * 1000:.0f} ms, ratio {rc / bc:.2f}")
    if with_file and all(r[1] is not None for r in with_file):
        f, fc = _medians([r[1] for r in with_file])
        print(f"  ... ready with {', '.join(args.file)} open: median {f * 1000:.0f} ms, ratio {f / b:.2f}; "
              f"CPU {fc * 1000:.0f} ms, ratio {fc / bc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

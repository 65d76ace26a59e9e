"""Issue #17's fuzz test: 520 seeded mutants of the repository's own PSDs and images.

Mutations: bit flips, truncation, duplicated chunks, huge header sizes,
layer counts near 65535, corrupted RLE row counts and section lengths. Each
mutant runs through ``qil info`` (every fourth also ``qil convert``)
in-process, through the CLI's own ``main``, inside two worker processes
under a 384 MB memory budget; a few mutants are run again as real
processes to check the exit codes agree. Asserted: no traceback and no raw
exception text, an exit code of the documented input set (0 or 3), no
leftover or half-written file, and each worker's peak memory (its VmHWM)
within the budget above what its imports took.
"""

import json
import os
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
SEED = 1717
MUTANTS = 520
BUDGET = 384 * 2 ** 20
PER_MUTANT_S = 20

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hostile_corruption import rle_tables  # noqa: E402
from test_hostile_memory import _first_record_offset  # noqa: E402


def seed_files() -> list[Path]:
    """The repository's own PSD/PSB files and pictures, small ones (so 520 mutants take seconds)."""
    files = [p for p in sorted((ROOT / "tests" / "data").rglob("*"))
             if p.suffix.lower() in (".psd", ".psb", ".png", ".jpg") and p.stat().st_size < 250_000]
    files.append(ROOT / "resources" / "samples" / "poster.png")
    psds = [p for p in files if p.suffix.lower() in (".psd", ".psb")]
    pictures = [p for p in files if p not in psds]
    return psds + pictures[::4]  # PSDs carry the interesting structure


def _png_fix_crc(data: bytearray, at: int) -> None:
    length = struct.unpack(">I", data[at:at + 4])[0]
    end = at + 8 + length
    if end + 4 <= len(data):
        data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[at + 4:end])))


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    b = bytearray(data)
    psd = b[:4] == b"8BPS"
    if kind == "bitflip":
        span = min(len(b), 2048) if rng.random() < 0.5 else len(b)
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(span)
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del b[rng.randrange(1, len(b)):]
    elif kind == "duplicate":
        i = rng.randrange(len(b))
        chunk = b[i:i + rng.randint(4, 256)]
        j = rng.randrange(len(b))
        b[j:j] = chunk
    elif kind == "huge":
        w, h = rng.choice([16384, 30000, 65535, 300000, 2 ** 31 - 1]), rng.choice([16384, 30000, 1])
        if psd:
            b[14:22] = struct.pack(">II", h, w)
        elif b[:4] == b"\x89PNG":
            b[16:24] = struct.pack(">II", w, h)
            _png_fix_crc(b, 8)
        elif b"\xff\xc0" in b or b"\xff\xc2" in b:
            at = b.find(b"\xff\xc0") if b"\xff\xc0" in b else b.find(b"\xff\xc2")
            b[at + 5:at + 9] = struct.pack(">HH", min(h, 65535), min(w, 65535))
        else:
            return mutate(data, "bitflip", rng)
    elif kind == "layers" and psd:
        at, _version = _first_record_offset(bytes(b))
        b[at - 2:at] = struct.pack(">H", rng.choice([0x7FFF, 0xFFFF, 0x8000, 0xFFFE]))
    elif kind == "rle" and psd and struct.unpack(">H", b[4:6])[0] == 1:
        try:
            tables = rle_tables(bytes(b))
        except (struct.error, AssertionError, IndexError):
            tables = []
        if not tables:
            return mutate(data, "bitflip", rng)
        at, rows = rng.choice(tables)
        row = rng.randrange(rows)
        old = struct.unpack(">H", b[at + 2 * row:at + 2 * row + 2])[0]
        new = rng.choice([old + 1, max(0, old - 1), old + rng.randint(2, 500), rng.randrange(65536)])
        b[at + 2 * row:at + 2 * row + 2] = struct.pack(">H", min(new, 65535))
    elif kind == "section" and psd:
        pos = 26
        for _ in range(rng.randrange(3)):  # colour mode data, resources, layer and mask info
            pos += 4 + struct.unpack(">I", b[pos:pos + 4])[0]
            if pos + 4 > len(b):
                return mutate(data, "truncate", rng)
        old = struct.unpack(">I", b[pos:pos + 4])[0]
        b[pos:pos + 4] = struct.pack(">I", rng.choice([0xFFFFFFF0, old + 2, max(0, old - 2), old * 3]) & 0xFFFFFFFF)
    else:
        return mutate(data, rng.choice(["bitflip", "truncate", "duplicate"]), rng)
    return bytes(b)


KINDS = ["bitflip", "bitflip", "truncate", "duplicate", "huge", "layers", "rle", "rle", "section"]

WORKER = r"""
import contextlib, io, json, os, resource, signal, sys, traceback
from pathlib import Path
from qil_editor.cli import main
import qil_editor.io.psd_read, psd_tools, PIL.Image  # imports count as the baseline
jobs = json.loads(Path(sys.argv[1]).read_text())

def hwm():  # this process's own peak (ru_maxrss would include the spawning pytest's, see vfork)
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) * 1024

base = hwm()

def on_alarm(signum, frame):
    raise TimeoutError("mutant took too long")

signal.signal(signal.SIGALRM, on_alarm)
results = []
for job in jobs:
    err = io.StringIO()
    signal.alarm(int(sys.argv[3]))
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(job["args"])
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        code = "crash"
        err.write("Traceback (in the test worker)\n" + traceback.format_exc())
    finally:
        signal.alarm(0)
    results.append({"path": job["path"], "args": job["args"], "code": code, "err": err.getvalue()})
Path(sys.argv[2]).write_text(json.dumps({"base": base, "peak": hwm(), "results": results}))
"""


def _run_workers(jobs: list[dict], tmp: Path, workers: int = 2) -> list[tuple[dict, int]]:
    procs = []
    for w in range(workers):
        mine = jobs[w::workers]
        jobs_file, out_file = tmp / f"jobs{w}.json", tmp / f"out{w}.json"
        jobs_file.write_text(json.dumps(mine))
        env = dict(os.environ, QIL_MEMORY_BUDGET=str(BUDGET), QT_QPA_PLATFORM="offscreen")
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(jobs_file), str(out_file),
                                 str(PER_MUTANT_S)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append((proc, out_file))
    outputs = []
    for proc, out_file in procs:
        stderr = proc.stderr.read().decode(errors="replace")
        assert proc.wait() == 0, stderr[-3000:]
        output = json.loads(out_file.read_text())
        outputs.append((output, output["peak"]))
    return outputs


RAW_TEXT = ("Traceback", "Attribute(", "object at 0x", "Error:", "Exception:", "errno", "<class ")


def test_fuzz_mutants_fail_cleanly(tmp_path):
    rng = random.Random(SEED)
    seeds = seed_files()
    assert len(seeds) >= 20
    mutants_dir = tmp_path / "mutants"
    out_dir = tmp_path / "out"
    mutants_dir.mkdir()
    out_dir.mkdir()
    jobs = []
    kinds_used = set()
    for i in range(MUTANTS):
        src = seeds[i % len(seeds)]
        kind = KINDS[rng.randrange(len(KINDS))]
        kinds_used.add(kind)
        path = mutants_dir / f"m{i:04d}{src.suffix.lower()}"
        path.write_bytes(mutate(src.read_bytes(), kind, rng))
        jobs.append({"path": str(path), "kind": kind, "args": ["info", str(path)]})
        if i % 4 == 0:
            target = out_dir / f"o{i:04d}.psd"
            jobs.append({"path": str(path), "kind": kind, "args": ["convert", str(path), "-o", str(target)]})
    before = sorted(os.listdir(mutants_dir))
    start = time.perf_counter()
    outputs = _run_workers(jobs, tmp_path)
    elapsed = time.perf_counter() - start

    codes = {}
    for output, peak in outputs:
        assert peak - output["base"] <= BUDGET, (
            f"worker peak {peak / 2**20:.0f} MB, {(peak - output['base']) / 2**20:.0f} MB over its imports")
        for r in output["results"]:
            codes[r["code"]] = codes.get(r["code"], 0) + 1
            assert r["code"] in (0, 3), (r["args"], r["code"], r["err"][-2000:])
            for bad in RAW_TEXT:
                assert bad not in r["err"], (r["args"], r["err"])
            errors = [ln for ln in r["err"].splitlines() if ln.startswith("qil: error")]
            assert len(errors) == (r["code"] != 0), (r["args"], r["err"])
            if r["args"][0] == "convert":
                target = Path(r["args"][-1])
                assert target.exists() == (r["code"] == 0), r["args"]
    assert sorted(os.listdir(mutants_dir)) == before  # nothing written beside the inputs
    assert not [p for p in out_dir.iterdir() if p.name.endswith(".part")]
    assert codes.get(0, 0) > 20 and codes.get(3, 0) > 100, codes  # both outcomes exercised
    assert kinds_used >= set(KINDS)
    over = ", ".join(f"{(peak - out['base']) / 2**20:.0f} MB" for out, peak in outputs)
    print(f"{len(jobs)} runs of {MUTANTS} mutants in {elapsed:.1f} s: {codes}; peak over imports {over}")

    # the same exit codes from real processes, for a few of them
    by_code = {0: [], 3: []}
    for output, _peak in outputs:
        for r in output["results"]:
            if r["args"][0] == "info":
                by_code[r["code"]].append(r)
    sample = by_code[0][:2] + by_code[3][:3]
    code = "import sys; from qil_editor.cli import main; sys.exit(main(sys.argv[1:]))"
    for r in sample:
        proc = subprocess.run([sys.executable, "-c", code, *r["args"]], capture_output=True, text=True,
                              cwd=ROOT, timeout=120, env=dict(os.environ, QIL_MEMORY_BUDGET=str(BUDGET)))
        assert proc.returncode == r["code"] and "Traceback" not in proc.stderr, (r["args"], proc.stderr)

"""A user's clone has nothing beside it: no file of the project may point outside the repository."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a path that climbs out of the repository to a sibling folder, as the first release's tests did
OUTSIDE = re.compile(r"""(\.\./|["']\.\.["']\s*/\s*["'])(shared|testdata)\b|(parents\[\d\]|\.parent)\s*/\s*["']shared["']""")


def tracked_text_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in out.splitlines():
        path = ROOT / name
        if path.suffix in {".py", ".sh", ".toml", ".spec", ".cfg", ".ini", ".yaml", ".yml", ".md", ""} \
                and path.is_file() and path.stat().st_size < 1_000_000:
            yield name, path


def test_nothing_refers_outside_the_repository():
    offenders = []
    for name, path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line) and name != "tests/test_self_contained.py":
                offenders.append(f"{name}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_psd_cases_are_in_the_repository_with_their_license():
    cases = ROOT / "tests" / "data" / "psd-cases"
    assert (cases / "LICENSE-ag-psd").is_file()
    names = [p.name for p in cases.iterdir() if p.is_dir()]
    assert len(names) >= 20
    for name in names:
        # the large-document case is a PSB (src.psb); every other case a PSD
        assert (cases / name / "src.psd").is_file() or (cases / name / "src.psb").is_file(), name

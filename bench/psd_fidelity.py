"""How close our composite of a real PSD is to Photoshop's, next to psd-tools' own.

For each case in tests/data/psd-cases and tests/data/psd-extra (and every
.psd/.psb in folders given on the command line) it composites the file three
ways and compares, on premultiplied RGBA, with Photoshop's merged image:

* ours: ``read_psd`` then our compositor (flat reading, the editor's default);
* ours, groups: ``read_psd(groups=True)``: groups kept and drawn as groups;
* psd-tools: ``PSDImage.composite(ignore_preview=True)`` (it renders the layers).

The reference is canvas.png where a case has one and the file stores a merged
image; for a case saved without one (canvas.png is then a placeholder) it is
the composite of the case's layer PNGs, as in tests/test_psd_cases.py; for a
loose file it is the file's own merged image. Pass = mean <= 1 and max <= 8
levels. Prints a markdown table and a summary line.

    python bench/psd_fidelity.py [FOLDER ...] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MAX_OK, MEAN_OK = 8.0, 1.0


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    a = rgba.astype(np.float64)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], axis=-1)


def errors(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    if ours.shape != ref.shape:
        return float("inf"), float("inf")
    diff = np.abs(premultiplied(ours) - premultiplied(ref))
    return float(diff.max(initial=0.0)), float(diff.mean()) if diff.size else 0.0


def _rgba(im) -> np.ndarray:
    """A PIL picture as RGBA uint8; Lab through a colour transform (Pillow's plain
    convert() copies L*a*b* numbers into RGB)."""
    from qil_editor.io.pixels import pil_to_rgba

    return pil_to_rgba(im)


def psd_tools_rgba(path: Path) -> np.ndarray:
    from psd_tools import PSDImage

    psd = PSDImage.open(path)
    im = psd.composite(ignore_preview=True, color=0.0, alpha=0.0, apply_icc=_icc(psd))
    return _rgba(im)


def _icc(psd) -> bool:
    """Whether the picture goes through the file's profile: not for 8/16-bit grayscale,
    whose merged values are compared as they are (ag-psd's canvas.png and the editor
    show grey numbers raw, as GIMP and most readers do; a Dot Gain profile would make
    them 10-20 levels lighter, in the reference and psd-tools' composite alike)."""
    return not (psd.color_mode == 1 and psd.depth in (8, 16))


def reference(path: Path) -> tuple[np.ndarray | None, str]:
    """Photoshop's picture of the file and where it came from."""
    from psd_tools import PSDImage

    case_dir = path.parent
    psd = PSDImage.open(path)
    canvas = case_dir / "canvas.png"
    if path.stem == "src" and canvas.exists() and psd.has_preview():
        return np.asarray(Image.open(canvas).convert("RGBA")), "canvas.png"
    if path.stem == "src" and (case_dir / "data.json").exists():
        from qil_editor.document import composite_layers
        from qil_editor.io.psd_read import TEXT_GAMMA
        from test_psd_cases import leaf_json, reference_layers

        data, refs = reference_layers(case_dir)
        if refs:
            # Photoshop blends text layers at gamma 1.45 (see Layer.blend_gamma)
            children = [child for _, child, _ in leaf_json(data.get("children", []))]
            layers = [ly.copy(blend_gamma=TEXT_GAMMA) if "text" in children[i] else ly
                      for i, ly in refs.items()]
            return composite_layers(layers, psd.width, psd.height), "layer PNGs"
    if psd.has_preview():
        merged = _rgba(psd.topil(apply_icc=_icc(psd)))
        if merged[..., 3].min() == 255:  # no alpha channel: Photoshop flattened it over white
            return merged, "merged image (opaque)"
        return merged, "merged image"
    return None, "none"


def over_white(rgba: np.ndarray) -> np.ndarray:
    """A picture flattened over white, as Photoshop stores a merged image without alpha."""
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    out = np.empty_like(rgba)
    out[..., :3] = np.round(rgba[..., :3] * a + 255.0 * (1.0 - a)).astype(np.uint8)
    out[..., 3] = 255
    return out


CASE_SETS = ("tests/data/psd-cases", "tests/data/psd-extra")  # ag-psd's real files (MIT)


def files(folders: list[str]) -> list[Path]:
    out = sorted(next(d.glob("src.ps*")) for folder in CASE_SETS for d in (ROOT / folder).iterdir()
                 if d.is_dir() and any(d.glob("src.ps*")))
    for folder in folders:
        out += sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".psd", ".psb"))
    return out


_errors = errors  # main() compares through over_white where the reference is opaque


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*")
    args = parser.parse_args()
    from qil_editor.document import composite
    from qil_editor.io import read_psd

    warnings.simplefilter("ignore")
    rows, ours_ok, grouped_ok, tools_ok, counted = [], 0, 0, 0, 0
    per_set: dict[str, list[int]] = {}  # set -> [ours, grouped, psd-tools, counted]
    t0 = time.perf_counter()
    for path in files(args.folders):
        name = path.parent.name if path.stem == "src" else path.name
        folder = next((f for f in CASE_SETS if (ROOT / f) in path.parents), "given folders")
        ref, kind = reference(path)
        if ref is None:
            rows.append(f"| {name} | no reference | | | | |")
            continue

        def errors(picture, ref=ref, opaque=kind.endswith("(opaque)")):
            return _errors(over_white(picture) if opaque else picture, ref)

        try:
            ours = errors(composite(read_psd(path)), ref)
        except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
            ours = (float("inf"), float("inf"))
            kind += f"; ours failed: {type(exc).__name__}"
        try:
            grouped = errors(composite(read_psd(path, groups=True)), ref)
        except Exception as exc:  # noqa: BLE001
            grouped = (float("inf"), float("inf"))
            kind += f"; ours (groups) failed: {type(exc).__name__}"
        try:
            tools = errors(psd_tools_rgba(path), ref)
        except Exception as exc:  # noqa: BLE001
            tools = (float("inf"), float("inf"))
            kind += f"; psd-tools failed: {type(exc).__name__}"
        ok_a = ours[0] <= MAX_OK and ours[1] <= MEAN_OK
        ok_b = tools[0] <= MAX_OK and tools[1] <= MEAN_OK
        ok_g = grouped[0] <= MAX_OK and grouped[1] <= MEAN_OK
        counted += 1
        ours_ok += ok_a
        grouped_ok += ok_g
        tools_ok += ok_b
        tally = per_set.setdefault(folder, [0, 0, 0, 0])
        for i, ok in enumerate((ok_a, ok_g, ok_b, True)):
            tally[i] += ok
        rows.append(f"| {name} | {kind} | {ours[1]:.3f} / {ours[0]:.0f} {'✓' if ok_a else '✗'} "
                    f"| {grouped[1]:.3f} / {grouped[0]:.0f} {'✓' if ok_g else '✗'} "
                    f"| {tools[1]:.3f} / {tools[0]:.0f} {'✓' if ok_b else '✗'} |")
    print("| file | reference | ours: mean / max | ours, groups | psd-tools: mean / max |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for folder, (a, g, b, n) in per_set.items():
        print(f"{folder}: ours {a}/{n}, ours with groups {g}/{n}, psd-tools {b}/{n}")
    print(f"\nmatched (mean <= {MEAN_OK:g}, max <= {MAX_OK:g}): ours {ours_ok}/{counted}, "
          f"ours with groups {grouped_ok}/{counted}, psd-tools {tools_ok}/{counted}  "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

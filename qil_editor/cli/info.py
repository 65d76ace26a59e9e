"""``qil info FILE [--json]``: what a file holds, as the editor would open it."""

from __future__ import annotations

import json
import sys

from ..io import describe_file, open_document
from . import warn


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="show size, colour mode and layers of an image or PSD",
                              description="Show a file's size, colour mode, bit depth and every "
                                          "layer (index 0 = bottom) as QIL Editor opens it.")
    p.add_argument("file", help="image or PSD/PSB file")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--allow-damaged", action="store_true",
                   help="describe a PSD with damaged layers anyway (listed under 'damaged')")
    p.set_defaults(func=run)


def file_info(path: str, *, allow_damaged: bool = False) -> dict:
    source = describe_file(path)
    doc = open_document(path, allow_damaged=allow_damaged)
    return {
        "file": source.path,
        "format": source.format,
        "width": doc.width,
        "height": doc.height,
        "color_mode": source.color_mode,
        "bit_depth": source.bit_depth,
        "layers": [
            {"index": i, "name": layer.name, "box": list(layer.bbox),
             "opacity": round(layer.opacity, 4), "visible": layer.visible,
             "blend_mode": layer.blend_mode.value, "locked": layer.locked}
            for i, layer in enumerate(doc.layers)
        ],
        "damaged": [{"layer": name, "problem": problem}
                    for name, problem in getattr(doc, "damaged_layers", [])],
    }


def run(args) -> int:
    info = file_info(args.file, allow_damaged=args.allow_damaged)
    for item in info["damaged"]:
        warn(f"layer '{item['layer']}' is damaged ({item['problem']}); it is shown as decoded.")
    if args.json:
        json.dump(info, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(f"{info['file']}: {info['format']}, {info['width']} x {info['height']} px, "
          f"{info['color_mode']}, {info['bit_depth']}-bit, {len(info['layers'])} layer(s)")
    print(f"{'#':>3}  {'left,top,right,bottom':<24} {'opacity':>7}  {'vis':<3}  {'blend':<12} name")
    for layer in reversed(info["layers"]):  # top first, like a layer panel
        box = ",".join(str(v) for v in layer["box"])
        print(f"{layer['index']:>3}  {box:<24} {layer['opacity'] * 100:>6.0f}%  "
              f"{'yes' if layer['visible'] else 'no':<3}  {layer['blend_mode']:<12} {layer['name']}")
    return 0


__all__ = ["register", "run", "file_info"]

"""``qil info FILE [--json]``: what a file holds, as the editor would open it."""

from __future__ import annotations

import json
import sys

from ..document.tree import group_path
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
        "layers": [_layer_info(doc, i, layer) for i, layer in enumerate(doc.layers)],
        "groups": [
            {"name": group_path(doc, group.parent) + group.name, "opacity": round(group.opacity, 4),
             "visible": group.visible,
             "blend_mode": "pass through" if group.pass_through else group.blend_mode.value}
            for group in doc.groups.values()
        ],
        "damaged": [{"layer": name, "problem": problem}
                    for name, problem in getattr(doc, "damaged_layers", [])],
    }


def _layer_info(doc, index: int, layer) -> dict:
    """One layer as seen in the picture: inside a group, its name has the group path
    ("Group/Sub/Layer") and its opacity and visibility are the groups' folded in (a layer in a
    hidden group is hidden); ``own_opacity``/``own_visible`` are the layer's own values."""
    visible, opacity = doc.effective(layer)
    info = {"index": index, "name": group_path(doc, layer.group) + layer.name, "box": list(layer.bbox),
            "opacity": round(opacity, 4), "visible": visible,
            "blend_mode": layer.blend_mode.value, "locked": layer.locked}
    if layer.group is not None:
        info.update(group=group_path(doc, layer.group).rstrip("/"), own_opacity=round(layer.opacity, 4),
                    own_visible=layer.visible)
    return info


def run(args) -> int:
    info = file_info(args.file, allow_damaged=args.allow_damaged)
    for item in info["damaged"]:
        warn(f"layer '{item['layer']}' is damaged ({item['problem']}); it is shown as decoded.")
    if args.json:
        json.dump(info, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(f"{info['file']}: {info['format']}, {info['width']} x {info['height']} px, "
          f"{info['color_mode']}, {info['bit_depth']}-bit, {len(info['layers'])} layer(s)"
          + (f" in {len(info['groups'])} group(s)" if info["groups"] else ""))
    print(f"{'#':>3}  {'left,top,right,bottom':<24} {'opacity':>7}  {'vis':<3}  {'blend':<12} name")
    for layer in reversed(info["layers"]):  # top first, like a layer panel
        box = ",".join(str(v) for v in layer["box"])
        print(f"{layer['index']:>3}  {box:<24} {layer['opacity'] * 100:>6.0f}%  "
              f"{'yes' if layer['visible'] else 'no':<3}  {layer['blend_mode']:<12} {layer['name']}")
    return 0


__all__ = ["register", "run", "file_info"]

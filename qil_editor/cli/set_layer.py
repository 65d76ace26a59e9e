"""``qil set IN.psd --layer NAME|INDEX [changes] -o OUT.psd``: edit one layer's properties headless.

The same path as the editor: the file is opened into a document, the change
is made with the undoable commands the layer panel uses, and the document is
saved with the PSD writer, which writes every untouched layer (and, for a
PSD, the edited layer's live text, effects and mask) back as it was read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..document import BlendMode, History, MoveLayer, SetLayerProperties
from ..errors import UsageError
from ..document.group_styles import redraw_group_styles
from ..document.tree import find_layer
from ..io import open_document, save_psd


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "set", help="change one layer's offset, visibility, opacity, blend mode or name",
        description="Change one layer of a PSD (or any image) and save a PSD. Untouched layers of "
                    "a PSD are written back exactly as they were read (live text, effects, smart "
                    "objects and groups stay).")
    p.add_argument("input", help="PSD/PSB (or any image QIL Editor opens)")
    p.add_argument("--layer", required=True,
                   help="layer index (0 = bottom, negative from the top) or name; a name without "
                        "its group path works when it is unique")
    p.add_argument("--offset", metavar="DX,DY", help="move the layer by DX,DY pixels")
    p.add_argument("--visible", choices=("0", "1"), help="hide (0) or show (1)")
    p.add_argument("--opacity", metavar="PERCENT", type=float, help="opacity, 0-100")
    p.add_argument("--blend", metavar="MODE",
                   help="blend mode, e.g. normal, multiply, screen, overlay, 'soft light'")
    p.add_argument("--name", metavar="NEW", help="new layer name")
    p.add_argument("-o", "--output", required=True, help="PSD/PSB file to write (may be the input)")
    p.set_defaults(func=run)


def _offset(text: str) -> tuple[int, int]:
    try:
        dx, dy = (int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise UsageError(f"--offset {text!r}: expected two whole numbers, DX,DY (e.g. 10,-5).") from None
    return dx, dy


def changes_from_args(args) -> tuple[tuple[int, int] | None, dict]:
    """Validate every option before anything is opened or changed."""
    offset = _offset(args.offset) if args.offset is not None else None
    values: dict = {}
    if args.visible is not None:
        values["visible"] = args.visible == "1"
    if args.opacity is not None:
        if not 0.0 <= args.opacity <= 100.0:
            raise UsageError(f"--opacity {args.opacity:g}: must be between 0 and 100.")
        values["opacity"] = args.opacity / 100.0
    if args.blend is not None:
        try:
            values["blend_mode"] = BlendMode.parse(args.blend)
        except ValueError:
            modes = ", ".join(m.value for m in BlendMode)
            raise UsageError(f"--blend {args.blend!r}: unknown blend mode.", f"One of: {modes}") from None
    if args.name is not None:
        if not args.name.strip():
            raise UsageError("--name: the new name is empty.")
        if len(args.name) > 255:
            raise UsageError("--name: Photoshop layer names are at most 255 characters.")
        values["name"] = args.name
    if offset is None and not values:
        raise UsageError("Nothing to change.",
                         "Give at least one of --offset, --visible, --opacity, --blend, --name.")
    return offset, values


def run(args) -> int:
    if Path(args.output).suffix.lower() not in (".psd", ".psb"):
        raise UsageError(f"{args.output}: qil set writes a PSD; name the output .psd or .psb.")
    offset, values = changes_from_args(args)
    doc = open_document(args.input)
    layer = find_layer(doc, args.layer)
    if "name" in values and "/" in layer.name and "/" not in values["name"]:
        values["name"] = layer.name.rsplit("/", 1)[0] + "/" + values["name"]  # stays in its group
    history = History(doc)
    if offset is not None and offset != (0, 0):
        history.push(MoveLayer(layer.id, *offset, merge=False))
    if values:
        history.push(SetLayerProperties(layer.id, **values))
    redraw_group_styles(doc)  # a styled group's shadow follows its edited layer, as in the editor
    save_psd(doc, args.output)
    print(f"{args.output}: layer {doc.index_of(layer.id)} '{layer.name}' at {layer.x},{layer.y}, "
          f"opacity {layer.opacity * 100:.0f}%, {'visible' if layer.visible else 'hidden'}, "
          f"{layer.blend_mode.value}")
    for loss in doc.save_losses():
        print(f"note: {loss}", file=sys.stderr)
    return 0


__all__ = ["register", "run", "changes_from_args"]

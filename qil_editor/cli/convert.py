"""``qil convert IN -o OUT``: any readable image, PSD or OpenRaster file to our PSD, OpenRaster,
SVG, PowerPoint, a flat PNG, a ZIP or a folder (the format table: ``io/formats.py``)."""

from __future__ import annotations

from ..errors import UsageError
from ..io import open_document
from ..io.files import check_output_path, same_file
from . import save_output, warn


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert an image, PSD or .ora to a clean RGBA PSD "
                                              "(or .ora/.svg/.pptx/PNG/ZIP)",
                              description="Open any supported image, PSD or OpenRaster file and save it "
                                          "as OUT: .psd (layers, RGBA), .ora (OpenRaster layers), .svg "
                                          "(one image per layer), .pptx (one picture per layer), .png "
                                          "(flat picture), .zip (one PNG per layer) or a folder (one PNG "
                                          "per layer). What a format cannot hold (a blend mode, a mask) "
                                          "is baked into the pixels with a warning naming the layer.")
    p.add_argument("input", help="image, PSD/PSB or .ora file to read")
    p.add_argument("-o", "--output", required=True, help="file or folder to write")
    p.add_argument("--allow-damaged", action="store_true",
                   help="open a PSD with damaged layers anyway (warned; they show wrong pixels)")
    p.add_argument("--linked", action="store_true",
                   help="SVG only: write the layer PNGs beside the file (OUT_layers/) instead of inside it")
    p.set_defaults(func=run)


def run(args) -> int:
    if same_file(args.output, args.input):  # never raises, even on a symlink loop
        raise UsageError("The output would overwrite the input file.",
                         "Choose a different output name.")
    check_output_path(args.output)  # before the work: a folder named x.psd, a device, no folder
    doc = open_document(args.input, allow_damaged=args.allow_damaged)
    for name, problem in getattr(doc, "damaged_layers", []):
        warn(f"layer '{name}' is damaged ({problem}); it is kept as decoded.")
    kind = save_output(doc, args.output, linked=args.linked)
    print(f"wrote {args.output} ({kind}, {doc.width} x {doc.height} px, {len(doc.layers)} layer(s))")
    return 0
